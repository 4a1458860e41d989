//! The endpoints around streams and rules: server information, source property sets, batch
//! requests and plugins.

use axum::Json as JsonBody;
use axum::body::Body as HttpBody;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map as JsonMap, Value as Json, json};
use tower::ServiceExt;

use super::{ApiError, ApiResult, Body, Shared, text};

/// `GET /`: the version and how long the server has run.
pub async fn root(State(state): Shared) -> JsonBody<Json> {
    JsonBody(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "upTimeSeconds": state.started.elapsed().as_secs(),
    }))
}

pub async fn ping() -> StatusCode {
    StatusCode::OK
}

pub async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(format!(
        "{} {} is not an endpoint of this server",
        request.method(),
        request.uri().path()
    ))
}

pub async fn get_conf_key(
    State(state): Shared,
    Path((source_type, key)): Path<(String, String)>,
) -> ApiResult<JsonBody<Json>> {
    match state
        .managed
        .engine()
        .source_conf(&source_type, &key)
        .map_err(ApiError::stream)?
    {
        Some(props) => Ok(JsonBody(Json::Object(props))),
        None => Err(ApiError::not_found(format!(
            "the {source_type} source has no property set {key}"
        ))),
    }
}

pub async fn put_conf_key(
    State(state): Shared,
    Path((source_type, key)): Path<(String, String)>,
    Body(props): Body<JsonMap<String, Json>>,
) -> ApiResult<StatusCode> {
    state
        .managed
        .set_source_conf(&source_type, &key, props)
        .map_err(ApiError::stream)?;
    Ok(StatusCode::OK)
}

/// One request of `/batch/req`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EachRequest {
    method: String,
    path: String,
    #[serde(default)]
    body: Option<String>,
}

/// `POST /batch/req`: runs each request in order through the API itself and answers with
/// `[{"code": status, "response": body}]`, as eKuiper does.
pub async fn batch(
    State(state): Shared,
    headers: HeaderMap,
    Body(requests): Body<Vec<EachRequest>>,
) -> ApiResult<JsonBody<Vec<Json>>> {
    let Some(router) = state.router.get().cloned() else {
        return Err(ApiError::bad_request("the server is still starting"));
    };
    let mut answers = Vec::with_capacity(requests.len());
    for (i, each) in requests.into_iter().enumerate() {
        let method = Method::from_bytes(each.method.to_uppercase().as_bytes()).map_err(|_| {
            ApiError::bad_request(format!(
                "[{i}].method: {:?} is not an HTTP method",
                each.method
            ))
        })?;
        if !each.path.starts_with('/') || each.path.starts_with("/batch/") {
            return Err(ApiError::bad_request(format!(
                "[{i}].path: {:?} must be a path of this API (and not /batch/req)",
                each.path
            )));
        }
        let mut request = Request::builder().method(method).uri(&each.path);
        if let Some(auth) = headers.get(header::AUTHORIZATION) {
            request = request.header(header::AUTHORIZATION, auth);
        }
        let request = request
            .body(HttpBody::from(each.body.unwrap_or_default()))
            .map_err(|e| ApiError::bad_request(format!("[{i}]: {e}")))?;
        let response = match router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        let code = response.status().as_u16();
        let limit = state.settings.max_body_bytes.max(1 << 20);
        let bytes = axum::body::to_bytes(response.into_body(), limit * 16)
            .await
            .unwrap_or_default();
        answers.push(json!({"code": code, "response": String::from_utf8_lossy(&bytes)}));
    }
    Ok(JsonBody(answers))
}

/// `GET /plugins/sinks`: the Python sinks found, with where each came from and its docstring.
pub async fn plugin_sinks(State(state): Shared) -> ApiResult<Response> {
    let plugins = state.plugins.clone();
    let listed = tokio::task::spawn_blocking(move || plugins.sinks())
        .await
        .map_err(|e| ApiError::bad_request(format!("listing the sinks failed: {e}")))?
        .map_err(ApiError::bad_request)?;
    Ok(JsonBody(listed).into_response())
}

/// `POST /plugins/portables` with `{"name": ..., "file": "file:///path/plugin.zip"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Portable {
    name: String,
    file: String,
    /// eKuiper's optional shell script, run after unpacking; refused here, since it would run
    /// arbitrary commands.
    #[serde(rename = "shellParas", default)]
    shell_paras: Option<Json>,
}

pub async fn install_portable(
    State(state): Shared,
    Body(portable): Body<Portable>,
) -> ApiResult<Response> {
    if portable.shell_paras.is_some() {
        return Err(ApiError::bad_request(
            "shellParas: install scripts are not run; install the plugin's dependencies into \
             the server's Python environment",
        ));
    }
    let Some(path) = portable.file.strip_prefix("file://") else {
        return Err(ApiError::bad_request(format!(
            "file: {:?} must be a file:// URL of a zip on this machine (the server downloads \
             nothing)",
            portable.file
        )));
    };
    let (plugins, name, path) = (
        state.plugins.clone(),
        portable.name.clone(),
        path.to_string(),
    );
    let sinks = tokio::task::spawn_blocking(move || {
        plugins.install_portable(&name, std::path::Path::new(&path))
    })
    .await
    .map_err(|e| ApiError::bad_request(format!("installing the plugin failed: {e}")))?
    .map_err(ApiError::bad_request)?;
    Ok(text(
        StatusCode::CREATED,
        format!(
            "portable plugin {} is created; its sinks: {}",
            portable.name,
            sinks.join(", ")
        ),
    ))
}
