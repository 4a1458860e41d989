//! `/streams` and `/tables`: create, list, describe, replace and drop, with eKuiper's answers.
//! Both kinds live in one namespace, as in eKuiper; each path shows only its own kind.

use std::sync::Arc;

use axum::Json as JsonBody;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map as JsonMap, Value as Json, json};

use super::{ApiError, ApiResult, AppState, Body, Shared, text};

/// eKuiper's statement body: `{"sql": "CREATE STREAM ..."}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Statement {
    sql: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Stream,
    Table,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Stream => "stream",
            Kind::Table => "table",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Kind::Stream => "Stream",
            Kind::Table => "Table",
        }
    }
}

pub fn routes() -> Router<Arc<AppState>> {
    let mut router = Router::new();
    for (kind, base, details) in [
        (Kind::Stream, "/streams", "/streamdetails"),
        (Kind::Table, "/tables", "/tabledetails"),
    ] {
        router = router
            .route(
                base,
                get(move |s: Shared| list(s, kind))
                    .post(move |s: Shared, b: Body<Statement>| create(s, b, kind)),
            )
            .route(details, get(move |s: Shared| details_of(s, kind)))
            .route(
                &format!("{base}/{{name}}"),
                get(move |s: Shared, n: Path<String>| describe(s, n, kind))
                    .put(move |s: Shared, n: Path<String>, b: Body<Statement>| {
                        replace(s, n, b, kind)
                    })
                    .delete(move |s: Shared, n: Path<String>| drop_one(s, n, kind)),
            )
            .route(
                &format!("{base}/{{name}}/schema"),
                get(move |s: Shared, n: Path<String>| schema(s, n, kind)),
            );
    }
    router
}

fn kind_of(description: &Json) -> Kind {
    match description["type"].as_str() {
        Some("table") => Kind::Table,
        _ => Kind::Stream,
    }
}

/// The definitions of one kind, in name order.
fn described(state: &AppState, kind: Kind) -> Vec<Json> {
    let engine = state.managed.engine();
    engine
        .streams()
        .iter()
        .filter_map(|name| engine.describe_stream(name).ok())
        .filter(|d| kind_of(d) == kind)
        .collect()
}

/// The definition of `name`, which must be of `kind`.
fn describe_kind(state: &AppState, name: &str, kind: Kind) -> ApiResult<Json> {
    let description = state
        .managed
        .engine()
        .describe_stream(name)
        .map_err(ApiError::stream)?;
    if kind_of(&description) != kind {
        return Err(ApiError::stream(sinkbridge_engine::Error::Stream(format!(
            "{name} is a {}, not a {}",
            kind_of(&description).word(),
            kind.word()
        ))));
    }
    Ok(description)
}

async fn list(State(state): Shared, kind: Kind) -> JsonBody<Vec<Json>> {
    JsonBody(
        described(&state, kind)
            .into_iter()
            .map(|d| d["name"].clone())
            .collect(),
    )
}

async fn details_of(State(state): Shared, kind: Kind) -> JsonBody<Vec<Json>> {
    JsonBody(
        described(&state, kind)
            .into_iter()
            .map(|d| {
                json!({
                    "name": d["name"],
                    "type": d["options"]["TYPE"],
                    "format": d["options"]["FORMAT"],
                })
            })
            .collect(),
    )
}

async fn create(
    State(state): Shared,
    Body(statement): Body<Statement>,
    kind: Kind,
) -> ApiResult<Response> {
    let name = state
        .managed
        .create_stream(&statement.sql)
        .map_err(ApiError::stream)?;
    let created = state
        .managed
        .engine()
        .describe_stream(&name)
        .map(|d| kind_of(&d))
        .unwrap_or(kind);
    Ok(text(
        StatusCode::CREATED,
        format!("{} {name} is created.", created.title()),
    ))
}

async fn describe(
    State(state): Shared,
    Path(name): Path<String>,
    kind: Kind,
) -> ApiResult<JsonBody<Json>> {
    describe_kind(&state, &name, kind).map(JsonBody)
}

async fn replace(
    State(state): Shared,
    Path(name): Path<String>,
    Body(statement): Body<Statement>,
    kind: Kind,
) -> ApiResult<Response> {
    describe_kind(&state, &name, kind)?;
    state
        .managed
        .replace_stream(&name, &statement.sql)
        .map_err(ApiError::stream)?;
    Ok(text(
        StatusCode::OK,
        format!("{} {name} is replaced.", kind.title()),
    ))
}

async fn drop_one(
    State(state): Shared,
    Path(name): Path<String>,
    kind: Kind,
) -> ApiResult<Response> {
    describe_kind(&state, &name, kind)?;
    state.managed.drop_stream(&name).map_err(ApiError::stream)?;
    Ok(text(
        StatusCode::OK,
        format!("{} {name} is dropped.", kind.title()),
    ))
}

/// The declared fields as a JSON schema's `properties`, as eKuiper's schema endpoint shows
/// them; empty for a schemaless stream.
async fn schema(
    State(state): Shared,
    Path(name): Path<String>,
    kind: Kind,
) -> ApiResult<JsonBody<Json>> {
    let description = describe_kind(&state, &name, kind)?;
    let mut properties = JsonMap::new();
    if let Some(fields) = description["fields"].as_array() {
        for field in fields {
            if let Some(field_name) = field["name"].as_str() {
                properties.insert(field_name.to_string(), json!({"type": field["type"]}));
            }
        }
    }
    Ok(JsonBody(Json::Object(properties)))
}
