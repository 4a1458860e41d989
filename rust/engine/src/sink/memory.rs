//! The `memory` sink: publishes each result row to an in-process topic, so that the memory
//! source of another rule (or of the same engine's streams) reads it. This is how rules chain.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map as JsonMap, Value as Json};

use super::{CollectReport, Sink, SinkContext, SinkError, SinkFactory};
use crate::memory_topics::{MemoryTopics, validate_topic};
use crate::value::{Row, Value};

#[derive(Clone)]
pub struct MemorySinkFactory {
    topics: Arc<MemoryTopics>,
}

impl std::fmt::Debug for MemorySinkFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemorySinkFactory")
    }
}

impl MemorySinkFactory {
    pub fn new(topics: Arc<MemoryTopics>) -> MemorySinkFactory {
        MemorySinkFactory { topics }
    }
}

fn topic_of(props: &JsonMap<String, Json>) -> Result<String, String> {
    let topic = match props.get("topic") {
        Some(Json::String(t)) => t.clone(),
        Some(_) => return Err("the memory sink's topic must be a string".into()),
        None => return Err("the memory sink needs a topic property".into()),
    };
    validate_topic(&topic)?;
    Ok(topic)
}

#[async_trait]
impl SinkFactory for MemorySinkFactory {
    fn validate(&self, props: &JsonMap<String, Json>) -> Result<(), String> {
        topic_of(props).map(|_| ())
    }

    async fn create(
        &self,
        _: &SinkContext,
        props: &JsonMap<String, Json>,
    ) -> Result<Box<dyn Sink>, SinkError> {
        Ok(Box::new(MemorySink {
            topics: self.topics.clone(),
            topic: topic_of(props).map_err(SinkError::new)?,
        }))
    }

    fn describe(&self) -> String {
        "built-in: publishes rows to an in-process topic".into()
    }
}

struct MemorySink {
    topics: Arc<MemoryTopics>,
    topic: String,
}

/// Appends the rows of one result: a list of rows, or a single row.
fn push_rows(item: Value, rows: &mut Vec<Row>) -> Result<(), String> {
    match item {
        Value::Object(row) => rows.push(Arc::unwrap_or_clone(row)),
        Value::Array(items) => {
            for v in Arc::unwrap_or_clone(items) {
                push_rows(v, rows)?;
            }
        }
        other => {
            return Err(format!(
                "the memory sink publishes rows, got {}",
                other.type_name()
            ));
        }
    }
    Ok(())
}

#[async_trait]
impl Sink for MemorySink {
    async fn open(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        Ok(())
    }

    async fn collect(&mut self, _: &SinkContext, items: Vec<Value>) -> CollectReport {
        let count = items.len();
        let mut rows = Vec::with_capacity(count);
        let mut report = CollectReport::default();
        for (i, item) in items.into_iter().enumerate() {
            if let Err(e) = push_rows(item, &mut rows) {
                report.failures.push((i, SinkError::new(e)));
            }
        }
        if let Err(e) = self.topics.publish(&self.topic, Arc::new(rows)).await {
            return CollectReport::all_failed(count, SinkError::new(e));
        }
        report
    }

    async fn close(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        Ok(())
    }
}
