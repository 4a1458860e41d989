//! The `nop` sink: accepts everything and does nothing, for benchmarks and tests.

use async_trait::async_trait;

use super::{ActionProps, Batch, CollectReport, Sink, SinkContext, SinkError, SinkFactory};

#[derive(Debug, Default)]
pub struct NopSinkFactory;

struct NopSink;

#[async_trait]
impl SinkFactory for NopSinkFactory {
    fn properties(&self) -> Option<&'static [&'static str]> {
        Some(&[])
    }

    async fn create(
        &self,
        _: &SinkContext,
        _: ActionProps<'_>,
    ) -> Result<Box<dyn Sink>, SinkError> {
        Ok(Box::new(NopSink))
    }

    fn describe(&self) -> String {
        "built-in: discards results".into()
    }
}

#[async_trait]
impl Sink for NopSink {
    async fn open(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        Ok(())
    }

    async fn collect(&mut self, _: &SinkContext, _: Batch) -> CollectReport {
        CollectReport::default()
    }

    async fn close(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        Ok(())
    }
}
