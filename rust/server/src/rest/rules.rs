//! `/rules`: create, list, describe, replace, delete, start, stop, restart, status, topology
//! and validation, with eKuiper's answers.

use std::sync::Arc;

use axum::Json as JsonBody;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map as JsonMap, Value as Json, json};
use sinkbridge_engine::sql::compile_rule_select;

use super::error::UNDEFINED;
use super::{ApiError, ApiResult, AppState, Body, Shared, text};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/rules", get(list).post(create))
        .route("/rules/validate", post(validate))
        .route("/rules/status/all", get(all_status))
        .route("/rules/{id}", get(describe).put(replace).delete(delete))
        .route("/rules/{id}/start", post(start))
        .route("/rules/{id}/stop", post(stop))
        .route("/rules/{id}/restart", post(restart))
        .route("/rules/{id}/status", get(status))
        .route("/rules/{id}/topo", get(topo))
}

/// Action keys of the `package.module:Class` form import code, so over REST they are refused
/// unless their top-level package is in the `allowed_modules` setting. Every other kind of
/// sink (built-in, registered, plugins folder, entry point) is always allowed.
fn check_module_paths(rule: &Json, allowed: &[String]) -> ApiResult<()> {
    let Some(actions) = rule.get("actions").and_then(Json::as_array) else {
        return Ok(());
    };
    for (i, action) in actions.iter().enumerate() {
        let Some(action) = action.as_object() else {
            continue;
        };
        for key in action.keys().filter(|k| k.contains(':')) {
            let package = key.split([':', '.']).next().unwrap_or_default();
            if !allowed.iter().any(|a| a == package) {
                let allowed = if allowed.is_empty() {
                    "none".to_string()
                } else {
                    allowed.join(", ")
                };
                return Err(ApiError::bad_request(format!(
                    "actions[{i}]: {key} is a module path, which imports code when the rule is \
                     created; over REST, module paths are allowed only from the packages in the \
                     allowed_modules setting (now: {allowed}). Put the sink in the plugins \
                     folder or register it as an entry point, or allow {package}"
                )));
            }
        }
    }
    Ok(())
}

fn rule_body(state: &AppState, body: Json) -> ApiResult<Json> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "invalid body: expected a rule, a JSON object with id, sql and actions",
        ));
    }
    check_module_paths(&body, &state.settings.allowed_modules)?;
    Ok(body)
}

async fn list(State(state): Shared) -> JsonBody<Vec<Json>> {
    JsonBody(
        state
            .managed
            .engine()
            .rules()
            .into_iter()
            .map(|r| json!({"id": r.id, "name": r.name, "status": r.status, "tags": r.tags}))
            .collect(),
    )
}

async fn create(State(state): Shared, Body(body): Body<Json>) -> ApiResult<Response> {
    let rule = rule_body(&state, body)?;
    let (id, start_error) = state
        .managed
        .create_rule(&rule)
        .await
        .map_err(ApiError::rule)?;
    // Created, but its start failed: it exists, stopped, with the reason in its status.
    let message = match start_error {
        None => format!("Rule {id} was created successfully."),
        Some(e) => format!("Rule {id} was created, but it failed to start: {e}"),
    };
    Ok(text(StatusCode::CREATED, message))
}

async fn describe(State(state): Shared, Path(id): Path<String>) -> ApiResult<JsonBody<Json>> {
    state
        .managed
        .engine()
        .rule_json(&id)
        .map(JsonBody)
        .map_err(ApiError::rule)
}

async fn replace(
    State(state): Shared,
    Path(id): Path<String>,
    Body(body): Body<Json>,
) -> ApiResult<Response> {
    let mut rule = rule_body(&state, body)?;
    match rule.get("id") {
        None => {
            if let Json::Object(map) = &mut rule {
                map.insert("id".into(), Json::String(id.clone()));
            }
        }
        Some(Json::String(given)) if *given == id => {}
        Some(given) => {
            return Err(ApiError::bad_request(format!(
                "id: the body names the rule {given}, the path {id}; they must agree"
            )));
        }
    }
    state
        .managed
        .replace_rule(&rule)
        .await
        .map_err(ApiError::rule)?;
    Ok(text(
        StatusCode::OK,
        format!("Rule {id} was updated successfully."),
    ))
}

async fn delete(State(state): Shared, Path(id): Path<String>) -> ApiResult<Response> {
    state
        .managed
        .delete_rule(&id)
        .await
        .map_err(ApiError::rule)?;
    Ok(text(StatusCode::OK, format!("Rule {id} is dropped.")))
}

async fn start(State(state): Shared, Path(id): Path<String>) -> ApiResult<Response> {
    state
        .managed
        .start_rule(&id)
        .await
        .map_err(ApiError::rule)?;
    Ok(text(StatusCode::OK, format!("Rule {id} was started")))
}

async fn stop(State(state): Shared, Path(id): Path<String>) -> ApiResult<Response> {
    state.managed.stop_rule(&id).await.map_err(ApiError::rule)?;
    Ok(text(StatusCode::OK, format!("Rule {id} was stopped.")))
}

async fn restart(State(state): Shared, Path(id): Path<String>) -> ApiResult<Response> {
    state
        .managed
        .restart_rule(&id)
        .await
        .map_err(ApiError::rule)?;
    Ok(text(StatusCode::OK, format!("Rule {id} was restarted")))
}

async fn status(State(state): Shared, Path(id): Path<String>) -> ApiResult<JsonBody<Json>> {
    state
        .managed
        .engine()
        .rule_status(&id)
        .map(|s| JsonBody(Json::Object(s)))
        .map_err(ApiError::rule)
}

async fn all_status(State(state): Shared) -> JsonBody<Json> {
    let engine = state.managed.engine();
    let mut all = JsonMap::new();
    for rule in engine.rules() {
        if let Ok(status) = engine.rule_status(&rule.id) {
            all.insert(rule.id, Json::Object(status));
        }
    }
    JsonBody(Json::Object(all))
}

async fn topo(State(state): Shared, Path(id): Path<String>) -> ApiResult<JsonBody<Json>> {
    state
        .managed
        .engine()
        .rule_topo(&id)
        .map(JsonBody)
        .map_err(ApiError::rule)
}

/// Checks a rule as creating it would, without creating it: `{"valid": true, "sources": [...]}`,
/// or 422 with the reason, as eKuiper answers.
async fn validate(State(state): Shared, Body(body): Body<Json>) -> Response {
    let checked = rule_body(&state, body).and_then(|rule| {
        let def = state
            .managed
            .engine()
            .validate_rule(&rule)
            .map_err(ApiError::rule)?;
        let plan = compile_rule_select(&def.sql, Some(&def.id))
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        Ok(plan.streams)
    });
    match checked {
        Ok(sources) => JsonBody(json!({"valid": true, "sources": sources})).into_response(),
        Err(e) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, UNDEFINED, e.message).into_response()
        }
    }
}
