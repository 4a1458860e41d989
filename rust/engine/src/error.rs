//! The engine's one error type. Every message is a sentence a user can act on: it names the
//! rule, stream, field or sink at fault. The pyo3 layer maps each kind to one Python exception.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// The original error behind a failure, attached by a host so that it can chain it (the pyo3
/// layer attaches the Python exception, which becomes `__cause__`). Opaque to the engine.
#[derive(Clone)]
pub struct Cause(pub Arc<dyn Any + Send + Sync>);

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cause(..)")
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Cause) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Cause {}

/// Errors from the engine's API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A statement that does not parse or compile.
    #[error("{0}")]
    Sql(String),
    /// A rule definition that is wrong, or an operation on a rule that cannot be done.
    #[error("{0}")]
    Rule(String),
    /// No rule has this id.
    #[error("rule {0:?} not found")]
    RuleNotFound(String),
    /// A stream definition that is wrong, or an operation on a stream that cannot be done.
    #[error("{0}")]
    Stream(String),
    /// No stream has this name.
    #[error("stream {0:?} not found")]
    StreamNotFound(String),
    /// A sink that cannot be resolved, configured or opened.
    #[error("{message}")]
    Sink {
        message: String,
        cause: Option<Cause>,
    },
}

impl Error {
    pub fn sink(message: impl Into<String>) -> Error {
        Error::Sink {
            message: message.into(),
            cause: None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
