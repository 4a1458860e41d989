//! The REST API, with eKuiper's paths, bodies, status codes and messages. It runs on the
//! engine's own runtime, so handlers await the engine's `_async` methods directly.

mod error;
mod metrics;
mod misc;
mod query;
mod rules;
mod streams;

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

pub use error::{ApiError, ApiResult};

use crate::config::ServeSettings;
use crate::managed::ManagedEngine;

/// What the host knows about Python sinks: the Python host lists them and installs eKuiper's
/// portable plugins.
pub trait Plugins: Send + Sync {
    /// The Python sinks found without a key, each as `{"name", "origin", "doc"}`.
    fn sinks(&self) -> Result<Vec<Json>, String>;

    /// Installs an eKuiper portable plugin from a zip file into the plugins folder; returns
    /// the names of the sinks it provides.
    fn install_portable(&self, name: &str, zip: &Path) -> Result<Vec<String>, String>;
}

/// What every handler shares.
pub struct AppState {
    pub managed: ManagedEngine,
    pub settings: ServeSettings,
    pub plugins: Arc<dyn Plugins>,
    pub started: Instant,
    /// The router itself, for `/batch/req`, which runs each request through it.
    router: OnceLock<Router>,
}

pub type Shared = State<Arc<AppState>>;

/// The API's routes, with authentication and the body size limit.
pub fn router(
    managed: ManagedEngine,
    settings: ServeSettings,
    plugins: Arc<dyn Plugins>,
) -> Router {
    let limit = settings.max_body_bytes;
    let state = Arc::new(AppState {
        managed,
        settings,
        plugins,
        started: Instant::now(),
        router: OnceLock::new(),
    });
    let api = Router::new()
        .route("/", get(misc::root))
        .route("/ping", get(misc::ping))
        .route("/metrics", get(metrics::metrics))
        .route("/batch/req", post(misc::batch))
        .route(
            "/metadata/sources/{source_type}/confKeys/{key}",
            get(misc::get_conf_key).put(misc::put_conf_key),
        )
        .route("/plugins/sinks", get(misc::plugin_sinks))
        .route("/query", post(query::query))
        .route("/plugins/portables", post(misc::install_portable))
        .merge(streams::routes())
        .merge(rules::routes())
        .fallback(misc::not_found)
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state.clone());
    let _ = state.router.set(api.clone());
    api
}

/// With a token set, every request but `/ping` must carry `Authorization: Bearer <token>`.
async fn authenticate(State(state): Shared, request: Request, next: Next) -> Response {
    let Some(token) = &state.settings.auth_token else {
        return next.run(request).await;
    };
    if request.uri().path() == "/ping" {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(given) if constant_time_eq(given.as_bytes(), token.as_bytes()) => {
            next.run(request).await
        }
        Some(_) => ApiError::new(
            StatusCode::UNAUTHORIZED,
            error::UNDEFINED,
            "the token is wrong",
        )
        .into_response(),
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            error::UNDEFINED,
            "this server requires a token: send the header Authorization: Bearer <token>",
        )
        .into_response(),
    }
}

/// Compares without stopping at the first difference, so timing does not reveal the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A JSON request body of type `T`; a body that is too large, not JSON, or of the wrong shape
/// is a 400 (413 for the size) whose message names what is wrong.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|r| {
            let status = r.status();
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "invalid body: larger than the server's limit (max_body_bytes)".to_string()
            } else {
                format!("invalid body: {}", r.body_text())
            };
            ApiError::new(status, error::UNDEFINED, message)
        })?;
        parse_body(&bytes).map(Body)
    }
}

pub fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "invalid body: it is empty; send JSON",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))
}

/// A plain-text answer, as eKuiper gives for most changes.
pub fn text(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}
