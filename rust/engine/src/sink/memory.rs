//! The `memory` sink: publishes each result row to an in-process topic, so that the memory
//! source of another rule reads it. This is how rules chain. The `topic` may be a template,
//! rendered per result (`"alerts/{{device}}"` with `sendSingle`); a `dataTemplate` must render
//! a JSON object (a row) or an array of them.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map as JsonMap, Value as Json};

use super::{ActionProps, Batch, CollectReport, Sink, SinkContext, SinkError, SinkFactory};
use crate::memory_topics::{MemoryTopics, validate_topic};
use crate::value::{JsonDecoder, Row, Value, decode_json_rows};

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
    if !topic.contains("{{") {
        validate_topic(&topic)?;
    }
    Ok(topic)
}

#[async_trait]
impl SinkFactory for MemorySinkFactory {
    fn properties(&self) -> Option<&'static [&'static str]> {
        Some(&["topic"])
    }

    fn validate(&self, props: &JsonMap<String, Json>) -> Result<(), String> {
        topic_of(props).map(|_| ())
    }

    async fn create(
        &self,
        _: &SinkContext,
        props: ActionProps<'_>,
    ) -> Result<Box<dyn Sink>, SinkError> {
        Ok(Box::new(MemorySink {
            topics: self.topics.clone(),
            topic: topic_of(props.own).map_err(SinkError::new)?,
            decoder: JsonDecoder::new(),
        }))
    }

    fn describe(&self) -> String {
        "built-in: publishes rows to an in-process topic".into()
    }
}

struct MemorySink {
    topics: Arc<MemoryTopics>,
    topic: String,
    decoder: JsonDecoder,
}

impl MemorySink {
    /// The rows of one item: a row, a list of rows, or the JSON a template rendered.
    fn rows(&mut self, data: &Value) -> Result<Vec<Row>, String> {
        let mut rows = Vec::new();
        match data {
            Value::Object(row) => rows.push((**row).clone()),
            Value::Array(items) => {
                for item in items.iter() {
                    match item {
                        Value::Object(row) => rows.push((**row).clone()),
                        other => {
                            return Err(format!(
                                "the memory sink publishes rows, got {}",
                                other.type_name()
                            ));
                        }
                    }
                }
            }
            Value::String(text) => {
                decode_json_rows(&mut self.decoder, text.as_bytes(), |row| rows.push(row)).map_err(
                    |e| {
                        format!("the memory sink publishes rows, and the dataTemplate rendered {e}")
                    },
                )?
            }
            other => {
                return Err(format!(
                    "the memory sink publishes rows, got {}",
                    other.type_name()
                ));
            }
        }
        Ok(rows)
    }
}

#[async_trait]
impl Sink for MemorySink {
    async fn open(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        Ok(())
    }

    async fn collect(&mut self, _: &SinkContext, items: Batch) -> CollectReport {
        let mut report = CollectReport::default();
        for (i, item) in items.iter().enumerate() {
            let topic = item.prop("topic").unwrap_or(&self.topic).to_string();
            let published = match self.rows(&item.data) {
                Ok(rows) => self.topics.publish(&topic, rows).await,
                Err(e) => Err(e),
            };
            if let Err(e) = published {
                report.failures.push((i, SinkError::new(e)));
            }
        }
        report
    }

    async fn close(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        Ok(())
    }
}
