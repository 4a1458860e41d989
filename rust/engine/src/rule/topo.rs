//! A rule's operators and how they connect, as eKuiper's `GET /rules/{id}/topo` shows them:
//! `{"sources": ["source_demo"], "edges": {"source_demo": ["op_1_project"], ...}}`.
//! The names are the ones the rule's status keys use (see `runtime`), without the instance.

use std::sync::Arc;

use serde_json::{Map as JsonMap, Value as Json};

use crate::sink::runtime::ActionSpec;
use crate::sql::SelectPlan;

pub(crate) fn topo(plan: &SelectPlan, actions: &[Arc<ActionSpec>]) -> Json {
    let sources: Vec<String> = plan.streams.iter().map(|s| format!("source_{s}")).collect();
    let mut ops = Vec::new();
    if plan.collects() {
        ops.push("window");
    } else if plan.has_condition() {
        ops.push("filter");
    }
    ops.push("project");
    let ops: Vec<String> = ops
        .iter()
        .enumerate()
        .map(|(i, name)| format!("op_{}_{name}", i + 1))
        .collect();
    let sinks: Vec<Json> = actions
        .iter()
        .map(|a| Json::String(format!("sink_{}", a.op_id())))
        .collect();

    let mut edges = JsonMap::new();
    let first = Json::Array(vec![Json::String(ops[0].clone())]);
    for source in &sources {
        edges.insert(source.clone(), first.clone());
    }
    for pair in ops.windows(2) {
        edges.insert(
            pair[0].clone(),
            Json::Array(vec![Json::String(pair[1].clone())]),
        );
    }
    if let Some(last) = ops.last() {
        edges.insert(last.clone(), Json::Array(sinks));
    }
    serde_json::json!({"sources": sources, "edges": edges})
}
