//! The `memory` source: a stream over an in-process topic (`DATASOURCE` is the topic, with `+`
//! and `#` wildcards), fed by `Engine::publish` and by other rules' memory sinks.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map as JsonMap, Value as Json};
use tokio::sync::mpsc;

use super::shared::Lease;
use super::{Source, SourceOutput, SourceType};
use crate::memory_topics::{MemoryTopics, RowBatch, Subscription, validate_filter};
use crate::stream::StreamDef;
use crate::value::Fields;

/// Batches a subscriber may hold before publishers wait.
const SUBSCRIPTION_BATCHES: usize = 4;

pub struct MemorySourceType {
    topics: Arc<MemoryTopics>,
}

impl MemorySourceType {
    pub fn new(topics: Arc<MemoryTopics>) -> MemorySourceType {
        MemorySourceType { topics }
    }
}

fn reject_props(props: &JsonMap<String, Json>) -> Result<(), String> {
    match props.keys().next() {
        Some(key) => Err(format!(
            "the memory source has no properties, found {key:?}"
        )),
        None => Ok(()),
    }
}

impl SourceType for MemorySourceType {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn validate(&self, def: &StreamDef, props: &JsonMap<String, Json>) -> Result<(), String> {
        validate_filter(&def.options.datasource)?;
        reject_props(props)
    }

    fn open(
        &self,
        def: &StreamDef,
        props: &JsonMap<String, Json>,
        // Rows published in the process are values already: there is nothing to skip.
        _: Option<Fields>,
    ) -> Result<Box<dyn Source>, String> {
        reject_props(props)?;
        // Subscribe now, not when the task first runs: rows published right after the rule
        // starts must reach it.
        let (subscription, rx) = self
            .topics
            .subscribe(&def.options.datasource, SUBSCRIPTION_BATCHES)?;
        Ok(Box::new(MemorySource {
            _subscription: subscription,
            rx,
            _lease: None,
        }))
    }
}

/// Feeds a rule from a subscription to in-process topics: a memory stream's topic, or the
/// feed of a shared stream (then the lease keeps that stream's source running).
pub(super) struct MemorySource {
    pub(super) _subscription: Subscription,
    pub(super) rx: mpsc::Receiver<RowBatch>,
    pub(super) _lease: Option<Lease>,
}

impl Drop for MemorySource {
    fn drop(&mut self) {
        // Batches delivered but never taken are done with too.
        self.rx.close();
        while self.rx.try_recv().is_ok() {
            self._subscription.activity().end(1);
        }
    }
}

#[async_trait]
impl Source for MemorySource {
    async fn run(mut self: Box<Self>, out: SourceOutput) -> Result<(), String> {
        loop {
            let batch = tokio::select! {
                biased;
                _ = out.stopped() => return Ok(()),
                batch = self.rx.recv() => match batch {
                    Some(batch) => batch,
                    None => return Ok(()),
                },
            };
            out.received(batch.len());
            let going_on = out.emit(batch).await;
            self._subscription.activity().end(1);
            if !going_on {
                return Ok(());
            }
        }
    }
}
