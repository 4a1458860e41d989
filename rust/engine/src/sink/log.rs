//! The `log` sink: writes each result to the engine's log, as eKuiper's does:
//! `sink result for rule <id>: <json>`.

use async_trait::async_trait;
use serde_json::{Map as JsonMap, Value as Json};

use super::{CollectReport, Sink, SinkContext, SinkError, SinkFactory};
use crate::value::{Value, to_json_string};

#[derive(Debug, Default)]
pub struct LogSinkFactory;

struct LogSink;

#[async_trait]
impl SinkFactory for LogSinkFactory {
    async fn create(
        &self,
        _: &SinkContext,
        _: &JsonMap<String, Json>,
    ) -> Result<Box<dyn Sink>, SinkError> {
        Ok(Box::new(LogSink))
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

    async fn collect(&mut self, ctx: &SinkContext, items: Vec<Value>) -> CollectReport {
        for item in &items {
            tracing::info!(target: "sinkbridge.sink.log", "sink result for rule {}: {}", ctx.rule_id, to_json_string(item));
        }
        CollectReport::default()
    }

    async fn close(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        Ok(())
    }
}
