//! Sinks: the trait every sink implements (Rust or, through the pyo3 layer, Python), the
//! factories that create them, and the registry that resolves an action key to a factory.

mod log;
mod memory;
mod nop;
mod registry;
pub(crate) mod runtime;

use std::fmt;

use async_trait::async_trait;
use serde_json::{Map as JsonMap, Value as Json};

use crate::error::Cause;
use crate::value::Value;

pub use log::LogSinkFactory;
pub use memory::MemorySinkFactory;
pub use nop::NopSinkFactory;
pub use registry::{SinkRegistry, SinkResolver};

/// Identifies one sink instance, as eKuiper's context does.
#[derive(Debug, Clone)]
pub struct SinkContext {
    pub rule_id: String,
    /// The action's operator id: the sink's key and its index in the actions, e.g. `log_0`.
    pub op_id: String,
    pub instance_id: usize,
}

/// A failure reported by a sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkError {
    pub message: String,
    /// Transient: the same data may succeed later (used by the retry runtime).
    pub retryable: bool,
    /// The host's original error, if any.
    pub cause: Option<Cause>,
}

impl SinkError {
    pub fn new(message: impl Into<String>) -> SinkError {
        SinkError {
            message: message.into(),
            retryable: false,
            cause: None,
        }
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What became of a batch handed to [`Sink::collect`]: the items that failed, by index.
#[derive(Debug, Default)]
pub struct CollectReport {
    pub failures: Vec<(usize, SinkError)>,
}

impl CollectReport {
    /// Every item of a batch of `len` failed with the same error.
    pub fn all_failed(len: usize, error: SinkError) -> CollectReport {
        CollectReport {
            failures: (0..len).map(|i| (i, error.clone())).collect(),
        }
    }
}

/// A sink: receives rule results. `open` is called once before the first `collect`, `close`
/// once at the end of every run that opened it.
///
/// Each item is one rule result: a list of rows (an array of objects).
#[async_trait]
pub trait Sink: Send {
    async fn open(&mut self, ctx: &SinkContext) -> Result<(), SinkError>;

    async fn collect(&mut self, ctx: &SinkContext, items: Vec<Value>) -> CollectReport;

    async fn close(&mut self, ctx: &SinkContext) -> Result<(), SinkError>;
}

/// Creates the sinks of one action key.
#[async_trait]
pub trait SinkFactory: Send + Sync + fmt::Debug {
    /// Checks an action's properties when the rule is created, before anything runs.
    fn validate(&self, _props: &JsonMap<String, Json>) -> Result<(), String> {
        Ok(())
    }

    /// Creates and configures one sink instance when the rule starts.
    async fn create(
        &self,
        ctx: &SinkContext,
        props: &JsonMap<String, Json>,
    ) -> Result<Box<dyn Sink>, SinkError>;

    /// Where this sink comes from, for listings and messages.
    fn describe(&self) -> String;
}
