//! The task that runs one sink instance: takes results off the action's queue, hands them to
//! the sink in batches (whatever is queued, so a slow sink gets bigger batches, not more
//! calls), counts, and closes the sink once the queue is closed and drained.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::{Sink, SinkContext};
use crate::clock::Clock;
use crate::metrics::OpMetrics;
use crate::value::Value;

/// The most results handed to one `collect` call.
const MAX_BATCH: usize = 4096;

pub(crate) async fn run_sink(
    mut sink: Box<dyn Sink>,
    ctx: SinkContext,
    mut rx: mpsc::Receiver<Vec<Value>>,
    metrics: Arc<OpMetrics>,
    clock: Arc<dyn Clock>,
) {
    while let Some(mut items) = rx.recv().await {
        while items.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(more) => items.extend(more),
                Err(_) => break,
            }
        }
        metrics.set_buffer_length(rx.len());
        let count = items.len();
        metrics.add_in(count, clock.now_ms());
        let started = Instant::now();
        let report = sink.collect(&ctx, items).await;
        metrics.set_latency(started.elapsed(), count);
        metrics.add_out(count - report.failures.len().min(count));
        for (_, error) in &report.failures {
            metrics.add_exception(&error.message, clock.now_ms());
        }
        if let Some((_, first)) = report
            .failures
            .first()
            .filter(|_| metrics.log_due(clock.now_ms()))
        {
            tracing::warn!(
                target: "sinkbridge.sink",
                "rule {} sink {}: {} of {count} results failed: {}",
                ctx.rule_id, ctx.op_id, report.failures.len(), first.message
            );
        }
    }
    if let Err(e) = sink.close(&ctx).await {
        metrics.add_exception(&e.message, clock.now_ms());
        tracing::warn!(target: "sinkbridge.sink", "rule {} sink {}: close failed: {}", ctx.rule_id, ctx.op_id, e.message);
    }
}
