//! Errors as eKuiper's server returns them: a status and `{"error": code, "message": ...}`,
//! with the codes of its handlers: 1000 for a bad request about a rule (or anything without a
//! more precise code), 1002 for something that does not exist, 3000 for a bad or unknown
//! stream or table.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sinkbridge_engine::Error;

pub const UNDEFINED: u32 = 1000;
pub const NOT_FOUND: u32 = 1002;
pub const STREAM_TABLE: u32 = 3000;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: u32,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: u32, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, UNDEFINED, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, NOT_FOUND, message)
    }

    /// An engine error from a rule endpoint: an unknown rule is 404, anything else 400.
    pub fn rule(error: Error) -> ApiError {
        match error {
            Error::RuleNotFound(_) => ApiError::not_found(error.to_string()),
            other => ApiError::bad_request(other.to_string()),
        }
    }

    /// An engine error from a stream or table endpoint: 400 with 3000, unknown ones included,
    /// as eKuiper answers.
    pub fn stream(error: Error) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, STREAM_TABLE, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": self.code, "message": self.message});
        (self.status, Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
