//! The engine's one error type. Every message is a sentence a user can act on: it names the
//! rule, stream, field or sink at fault. The pyo3 layer maps each kind to one Python exception.

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
    #[error("{0}")]
    Sink(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
