//! What the engine's tests share: a sink that records what it receives, and rows from JSON.

#![allow(dead_code, reason = "each test file uses part of it")]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use sinkbridge_engine::sink::{
    ActionProps, Batch, CollectReport, Sink, SinkContext, SinkError, SinkFactory,
};
use sinkbridge_engine::value::{Row, Value, to_json_string};
use sinkbridge_engine::{Engine, EngineConfig};

/// A sink that records what it receives and its lifecycle, shared with the test.
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    events: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    pub fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    pub fn results(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter(|e| e.starts_with('['))
            .collect()
    }

    /// Waits until the results satisfy `done`; fails after a deadline.
    pub fn wait_until(&self, done: impl Fn(&[String]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(&self.results()) {
            assert!(Instant::now() < deadline, "results: {:?}", self.results());
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for `n` results, with a deadline.
    pub fn wait_for(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let results = self.results();
            if results.len() >= n || Instant::now() > deadline {
                return results;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

struct RecordingSink(Recorder);

#[async_trait]
impl SinkFactory for Recorder {
    async fn create(
        &self,
        _: &SinkContext,
        props: ActionProps<'_>,
    ) -> Result<Box<dyn Sink>, SinkError> {
        if props.all.get("fail_open") == Some(&json!(true)) {
            return Err(SinkError::new("configure refused"));
        }
        Ok(Box::new(RecordingSink(self.clone())))
    }

    fn describe(&self) -> String {
        "test recorder".into()
    }
}

#[async_trait]
impl Sink for RecordingSink {
    async fn open(&mut self, ctx: &SinkContext) -> Result<(), SinkError> {
        self.0
            .events
            .lock()
            .unwrap()
            .push(format!("open {} {}", ctx.rule_id, ctx.op_id));
        Ok(())
    }

    async fn collect(&mut self, _: &SinkContext, items: Batch) -> CollectReport {
        let mut events = self.0.events.lock().unwrap();
        events.extend(items.iter().map(|item| to_json_string(&item.data)));
        CollectReport::default()
    }

    async fn close(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        self.0.events.lock().unwrap().push("close".into());
        Ok(())
    }
}

pub fn engine_with_recorder() -> (Engine, Recorder) {
    engine_with_recorder_and(EngineConfig::default())
}

pub fn engine_with_recorder_and(config: EngineConfig) -> (Engine, Recorder) {
    let engine = Engine::new(config).unwrap();
    let recorder = Recorder::default();
    engine
        .register_sink("recorder", Arc::new(recorder.clone()))
        .unwrap();
    (engine, recorder)
}

pub fn rows(v: Json) -> Vec<Row> {
    match Value::from(&v) {
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_object().unwrap().clone())
            .collect(),
        Value::Object(o) => vec![(*o).clone()],
        _ => panic!("rows are objects"),
    }
}
