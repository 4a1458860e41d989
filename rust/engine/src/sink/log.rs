//! The `log` sink: writes each result to the engine's log, as eKuiper's does:
//! `sink result for rule <id>: <payload>`, the payload encoded by the `format` property.

use async_trait::async_trait;

use super::encode::Encoder;
use super::{ActionProps, Batch, CollectReport, Sink, SinkContext, SinkError, SinkFactory};

#[derive(Debug, Default)]
pub struct LogSinkFactory;

struct LogSink {
    encoder: Encoder,
}

#[async_trait]
impl SinkFactory for LogSinkFactory {
    fn properties(&self) -> Option<&'static [&'static str]> {
        Some(&[])
    }

    async fn create(
        &self,
        _: &SinkContext,
        props: ActionProps<'_>,
    ) -> Result<Box<dyn Sink>, SinkError> {
        let conf = props.common;
        Ok(Box::new(LogSink {
            encoder: Encoder::new(conf.format.clone(), conf.fields.as_deref()),
        }))
    }

    fn describe(&self) -> String {
        "built-in: writes results to the log".into()
    }
}

#[async_trait]
impl Sink for LogSink {
    async fn open(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        Ok(())
    }

    async fn collect(&mut self, ctx: &SinkContext, items: Batch) -> CollectReport {
        for item in items.iter() {
            let payload = self.encoder.encode(item);
            tracing::info!(target: "sinkbridge.sink.log", "sink result for rule {}: {payload}", ctx.rule_id);
        }
        CollectReport::default()
    }

    async fn close(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        Ok(())
    }
}
