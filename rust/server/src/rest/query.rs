//! `POST /query` with `{"sql": "SELECT ..."}`: an ad-hoc query, the REST side of the CLI's
//! `query` prompt. The query runs as a temporary rule (not persisted) whose results stream
//! back as JSON lines, one row per line, for as long as the client keeps the response open;
//! when it goes away, the rule is deleted.

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
            let batch = rows.recv().await?;
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
