//! `POST /query` with `{"sql": "SELECT ..."}`: an ad-hoc query, the REST side of the CLI's
//! `query` prompt. The query runs as a temporary rule (not persisted) whose results stream
//! back as JSON lines, one row per line, for as long as the client keeps the response open;
//! when it goes away, the rule is deleted.
//! The rows are the rule's results as a `memory` sink publishes them, so every sink property
//! a rule could give is left at its default.

use std::convert::Infallible;

use axum::body::{Body as HttpBody, Bytes};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde::Deserialize;
use serde_json::json;
use sinkbridge_engine::Engine;

use super::{ApiError, ApiResult, Body, Shared};

const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    sql: String,
}

/// Deletes the query's rule when the response stream is dropped (the client went away).
struct Cleanup {
    engine: Engine,
    id: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (engine, id) = (self.engine.clone(), std::mem::take(&mut self.id));
        self.engine.handle().spawn(async move {
            let _ = engine.delete_rule_async(&id).await;
        });
    }
}

pub async fn query(State(state): Shared, Body(query): Body<Query>) -> ApiResult<Response> {
    let engine = state.managed.engine().clone();
    let id = format!("query_{}", uuid::Uuid::new_v4().simple());
    let topic = format!("sinkbridge/query/{id}");
    let (subscription, rows) = engine.subscribe(&topic, 64).map_err(ApiError::rule)?;
    let rule = json!({
        "id": id,
        "sql": query.sql,
        "actions": [{"memory": {"topic": topic}}],
    });
    if let Err(e) = engine.create_rule_async(&rule).await {
        let _ = engine.delete_rule_async(&id).await;
        return Err(ApiError::rule(e));
    }
    let cleanup = Cleanup { engine, id };
    let lines = stream::unfold(
        (rows, subscription, cleanup),
        |(mut rows, subscription, cleanup)| async move {
            // A client that went away is only noticed on a write: while no rows come, a blank
            // line each second finds out (the CLI skips blank lines).
            let Ok(batch) = tokio::time::timeout(HEARTBEAT, rows.recv()).await else {
                return Some((Ok(Bytes::from_static(b"\n")), (rows, subscription, cleanup)));
            };
            let batch = batch?;
            subscription.activity().end(1);
            let mut text = String::new();
            for tuple in batch.iter() {
                // Rows always serialise: their keys are strings.
                text.push_str(&serde_json::to_string(&tuple.row).unwrap_or_default());
                text.push('\n');
            }
            Some((
                Ok::<_, Infallible>(Bytes::from(text)),
                (rows, subscription, cleanup),
            ))
        },
    );
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        HttpBody::from_stream(lines),
    )
        .into_response())
}
