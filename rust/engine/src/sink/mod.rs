//! Sinks: the trait every sink implements (Rust or, through the pyo3 layer, Python), the
//! factories that create them, the registry that resolves an action key to a factory, and the
//! runtime between a rule and its sinks (shaping, queueing, batching, retries).

pub mod cache;
pub mod conf;
pub mod encode;
mod file;
mod log;
mod memory;
mod mqtt;
mod nop;
pub(crate) mod queue;
mod registry;
mod rest;
pub(crate) mod runtime;
pub mod shape;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map as JsonMap, Value as Json};

use crate::error::Cause;
use crate::metrics::ConnectionState;
use crate::value::Value;

pub use file::FileSinkFactory;
pub use log::LogSinkFactory;
pub use memory::MemorySinkFactory;
pub use mqtt::MqttSinkFactory;
pub use nop::NopSinkFactory;
pub use registry::{SinkRegistry, SinkResolver};
pub use rest::RestSinkFactory;

/// Identifies one sink instance, as eKuiper's context does.
#[derive(Debug, Clone)]
pub struct SinkContext {
    pub rule_id: String,
    /// The action's operator id: the sink's key and its index in the actions, e.g. `log_0`.
    pub op_id: String,
    pub instance_id: usize,
    /// What the sink reports about its connection to its target in the rule's status.
    pub connection: Arc<ConnectionState>,
}

/// One result as a sink receives it, after shaping.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkItem {
    /// A list of rows, one row (`sendSingle`), or text (what a `dataTemplate` rendered).
    pub data: Value,
    /// The sink's dynamic properties rendered for this item, by property path.
    pub props: Vec<(String, String)>,
}

impl SinkItem {
    pub fn new(data: Value) -> SinkItem {
        SinkItem {
            data,
            props: Vec::new(),
        }
    }

    /// A dynamic property's value for this item, if that property is a template.
    pub fn prop(&self, path: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, v)| v.as_str())
    }
}

/// The items handed to one `collect` call. Shared, so that a retry resends without copying.
pub type Batch = Arc<[SinkItem]>;

/// A failure reported by a sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkError {
    pub message: String,
    /// Transient: the same data may succeed later, so the runtime retries it.
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

    pub fn retryable(message: impl Into<String>) -> SinkError {
        SinkError {
            retryable: true,
            ..SinkError::new(message)
        }
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What became of a batch handed to [`Sink::collect`].
#[derive(Debug, Default)]
pub struct CollectReport {
    /// Items that failed for good, by index: counted and given up on.
    pub failures: Vec<(usize, SinkError)>,
    /// Items that failed transiently, to be retried in this order.
    pub retry: Option<Retry>,
}

/// The items of a batch to deliver again, and why.
#[derive(Debug)]
pub struct Retry {
    pub items: Vec<usize>,
    pub error: SinkError,
}

impl CollectReport {
    /// A transient failure at `index` of a batch of `len`: that item and every later one are
    /// retried. A sink that delivers in order stops at its first transient failure, so that a
    /// retry never reorders what it delivers.
    pub fn retry_from(index: usize, len: usize, error: SinkError) -> CollectReport {
        CollectReport {
            failures: Vec::new(),
            retry: (index < len).then(|| Retry {
                items: (index..len).collect(),
                error,
            }),
        }
    }

    /// Every item of a batch of `len` failed with the same error.
    pub fn all_failed(len: usize, error: SinkError) -> CollectReport {
        if error.retryable {
            return CollectReport::retry_from(0, len, error);
        }
        CollectReport {
            failures: (0..len).map(|i| (i, error.clone())).collect(),
            retry: None,
        }
    }

    /// How many of `len` items were delivered.
    pub fn delivered(&self, len: usize) -> usize {
        let retried = self.retry.as_ref().map_or(0, |r| r.items.len());
        len.saturating_sub(self.failures.len() + retried)
    }
}

/// A sink: receives rule results. `open` is called once before the first `collect`, `close`
/// once at the end of every run that opened it.
#[async_trait]
pub trait Sink: Send {
    async fn open(&mut self, ctx: &SinkContext) -> Result<(), SinkError>;

    async fn collect(&mut self, ctx: &SinkContext, items: Batch) -> CollectReport;

    async fn close(&mut self, ctx: &SinkContext) -> Result<(), SinkError>;
}

/// An action's properties, as a sink factory receives them: read once, when the rule was
/// created, so that no sink parses them again.
#[derive(Debug, Clone, Copy)]
pub struct ActionProps<'a> {
    /// Every property, common ones included, as eKuiper passes them to `Configure`.
    pub all: &'a JsonMap<String, Json>,
    /// The sink's own properties: those that are not common.
    pub own: &'a JsonMap<String, Json>,
    /// The common properties, read.
    pub common: &'a conf::SinkConf,
}

/// Creates the sinks of one action key.
#[async_trait]
pub trait SinkFactory: Send + Sync + fmt::Debug {
    /// The sink's own properties; `None` when it takes any (Python sinks receive every
    /// property). Anything else that is not a common property is an error at rule creation.
    fn properties(&self) -> Option<&'static [&'static str]> {
        None
    }

    /// Whether one instance takes several collects at once (an async Python sink): then the
    /// runtime creates one instance and leaves `concurrency` to it.
    fn concurrent_collects(&self) -> bool {
        false
    }

    /// Checks an action's own properties when the rule is created, before anything runs.
    fn validate(&self, _props: &JsonMap<String, Json>) -> Result<(), String> {
        Ok(())
    }

    /// Creates and configures one sink instance when the rule starts.
    async fn create(
        &self,
        ctx: &SinkContext,
        props: ActionProps<'_>,
    ) -> Result<Box<dyn Sink>, SinkError>;

    /// Where this sink comes from, for listings and messages.
    fn describe(&self) -> String;
}
