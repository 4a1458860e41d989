//! The sinkbridge engine: streams of JSON-like rows, rules of eKuiper SQL, and sinks.
//!
//! This crate knows nothing of Python or HTTP. Hosts (the pyo3 layer, the server) build an
//! [`Engine`], add sink resolvers to it, and drive streams and rules through its API.

pub mod activity;
pub mod clock;
pub mod duration;
mod engine;
pub mod error;
pub mod memory_topics;
pub mod metrics;
pub mod mqtt;
pub mod rule;
pub mod sink;
pub mod source;
pub mod sql;
pub mod stream;
pub mod value;

pub use engine::{Engine, EngineConfig, RuleMetrics, RuleSummary};
pub use error::{Error, Result};
