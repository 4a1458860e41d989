//! A running rule: its source task, its operator task (WHERE and SELECT), and one task per
//! action, joined by bounded channels of batches.
//!
//! Stopping is a drain, not an abort: cancelling ends the source, the operator task ends when
//! its input closes, and each sink task ends after it has handed over everything queued and
//! closed its sink.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map as JsonMap, Value as Json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::memory_topics::RowBatch;
use crate::metrics::OpMetrics;
use crate::sink::runtime::run_sink;
use crate::sink::{Sink, SinkContext, SinkError, SinkFactory};
use crate::source::{Source, SourceOutput};
use crate::sql::{RowError, SelectPlan};
use crate::stream::{Schema, StreamDef};
use crate::value::{Key, Map, Value};

use super::def::RuleDef;

/// Rows per batch that a channel between two operators holds; `bufferLength` is divided by it.
const ROWS_PER_BATCH: usize = 256;

fn batches_for(buffer_length: usize) -> usize {
    buffer_length.div_ceil(ROWS_PER_BATCH).max(2)
}

/// Everything a rule needs to start, resolved by the engine.
pub(crate) struct RuleParts {
    pub rule: Arc<RuleDef>,
    pub plan: Arc<SelectPlan>,
    pub stream: Arc<StreamDef>,
    pub source: Box<dyn Source>,
    /// One factory per action, in the order of the rule's actions.
    pub sinks: Vec<Arc<dyn SinkFactory>>,
    pub clock: Arc<dyn Clock>,
}

/// A rule that runs.
pub(crate) struct RuleRun {
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    metrics: Vec<Arc<OpMetrics>>,
    /// Set when the rule failed while running (its source gave up).
    failure: Arc<Mutex<Option<String>>>,
}

impl RuleRun {
    /// Creates and opens the sinks, then starts the tasks. A sink that fails to configure or
    /// open fails the start, after the sinks already opened are closed again.
    pub async fn start(parts: RuleParts) -> Result<RuleRun, SinkError> {
        let RuleParts {
            rule,
            plan,
            stream,
            source,
            sinks,
            clock,
        } = parts;
        let source_metrics = Arc::new(OpMetrics::new(format!("source_{}_0", stream.name), true));
        let mut op_index = 0;
        let mut next_op = |name: &str| {
            op_index += 1;
            Arc::new(OpMetrics::new(format!("op_{op_index}_{name}_0"), false))
        };
        let filter_metrics = plan.has_condition().then(|| next_op("filter"));
        let project_metrics = next_op("project");

        let mut opened: Vec<(Box<dyn Sink>, SinkContext, Arc<OpMetrics>)> = Vec::new();
        for (index, (factory, action)) in sinks.iter().zip(&rule.actions).enumerate() {
            let ctx = SinkContext {
                rule_id: rule.id.clone(),
                op_id: format!("{}_{index}", action.sink),
                instance_id: 0,
            };
            let metrics = Arc::new(OpMetrics::new(
                format!("sink_{}_{index}_0", action.sink),
                true,
            ));
            let created = match factory.create(&ctx, &action.props).await {
                Ok(mut sink) => sink.open(&ctx).await.map(|()| sink),
                Err(e) => Err(e),
            };
            match created {
                Ok(sink) => opened.push((sink, ctx, metrics)),
                Err(e) => {
                    for (mut sink, ctx, _) in opened {
                        let _ = sink.close(&ctx).await;
                    }
                    return Err(SinkError {
                        message: format!("actions[{index}] ({}): {}", action.sink, e.message),
                        ..e
                    });
                }
            }
        }

        let cancel = CancellationToken::new();
        let failure = Arc::new(Mutex::new(None));
        let buffer = batches_for(rule.options.buffer_length);
        let mut tasks = Vec::new();
        let mut metrics = vec![source_metrics.clone()];
        metrics.extend(filter_metrics.clone());
        metrics.push(project_metrics.clone());

        let mut sink_txs = Vec::with_capacity(opened.len());
        for ((sink, ctx, sink_metrics), action) in opened.into_iter().zip(&rule.actions) {
            // bufferLength on an action bounds that sink's queue; the rule option is the default.
            let length = action
                .props
                .get("bufferLength")
                .and_then(Json::as_u64)
                .map_or(rule.options.buffer_length, |n| n as usize);
            let (tx, rx) = mpsc::channel(batches_for(length));
            sink_txs.push(tx);
            metrics.push(sink_metrics.clone());
            tasks.push(tokio::spawn(run_sink(
                sink,
                ctx,
                rx,
                sink_metrics,
                clock.clone(),
            )));
        }

        let (source_tx, source_rx) = mpsc::channel::<RowBatch>(buffer);
        let operator = Operator {
            rule_id: rule.id.clone(),
            plan,
            clock: clock.clone(),
            send_nil: rule.options.send_nil_field,
            send_error: rule.options.send_error,
            filter_metrics,
            project_metrics,
        };
        tasks.push(tokio::spawn(operator.run(source_rx, sink_txs)));

        let output = SourceOutput {
            tx: source_tx,
            metrics: source_metrics,
            schema: stream
                .fields
                .as_ref()
                .map(|f| Schema::new(f, stream.options.strict_validation)),
            clock,
            cancel: cancel.clone(),
        };
        let rule_id = rule.id.clone();
        let source_failure = failure.clone();
        tasks.push(tokio::spawn(async move {
            if let Err(e) = source.run(output).await {
                tracing::error!(target: "sinkbridge.rule", "rule {rule_id} stopped: its source failed: {e}");
                if let Ok(mut f) = source_failure.lock() {
                    *f = Some(format!("the source failed: {e}"));
                }
            }
        }));
        Ok(RuleRun {
            cancel,
            tasks,
            metrics,
            failure,
        })
    }

    /// Stops the rule, letting queued results reach the sinks, for at most `timeout`.
    /// Returns false when some task did not finish in time (a sink stuck in a call).
    pub async fn stop(self, timeout: Duration) -> (bool, Vec<Arc<OpMetrics>>) {
        self.cancel.cancel();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut all_done = true;
        for task in self.tasks {
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                all_done = false;
            }
        }
        (all_done, self.metrics)
    }

    /// Why the rule stopped by itself, if it did.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }

    pub fn write_metrics(&self, out: &mut JsonMap<String, Json>) {
        for m in &self.metrics {
            m.write_status(out);
        }
    }
}

/// The rule's operators: WHERE, then SELECT, for each row of each batch.
struct Operator {
    rule_id: String,
    plan: Arc<SelectPlan>,
    clock: Arc<dyn Clock>,
    send_nil: bool,
    send_error: bool,
    filter_metrics: Option<Arc<OpMetrics>>,
    project_metrics: Arc<OpMetrics>,
}

impl Operator {
    async fn run(self, mut input: mpsc::Receiver<RowBatch>, sinks: Vec<mpsc::Sender<Vec<Value>>>) {
        let error_key: Key = Key::from("error");
        while let Some(batch) = input.recv().await {
            let started = Instant::now();
            let now = self.clock.now_ms();
            let mut results = Vec::with_capacity(batch.len());
            let mut passed = 0;
            if let Some(m) = &self.filter_metrics {
                m.add_in(batch.len(), now);
            }
            for row in batch.iter() {
                let outcome = self.plan.filter(row, self.clock.as_ref()).and_then(|keep| {
                    if !keep {
                        return Ok(None);
                    }
                    passed += 1;
                    self.plan
                        .project(row, self.clock.as_ref(), self.send_nil)
                        .map(Some)
                });
                match outcome {
                    Ok(Some(out)) => results.push(Value::array(vec![Value::object(out)])),
                    Ok(None) => {}
                    Err(error) => {
                        let (metrics, message) = match &error {
                            RowError::Where(m) => (self.filter_metrics.as_ref(), m),
                            RowError::Select(m) => (Some(&self.project_metrics), m),
                        };
                        if let Some(metrics) = metrics {
                            metrics.add_exception(message, now);
                            if metrics.log_due(now) {
                                tracing::warn!(target: "sinkbridge.rule", "rule {}: {message}", self.rule_id);
                            }
                        }
                        if self.send_error {
                            let mut row = Map::with_capacity(1);
                            row.insert(error_key.clone(), Value::string(message));
                            results.push(Value::array(vec![Value::object(row)]));
                        }
                    }
                }
            }
            if let Some(m) = &self.filter_metrics {
                m.add_out(passed);
                m.set_latency(started.elapsed(), batch.len());
            }
            self.project_metrics.add_in(passed, now);
            self.project_metrics.add_out(results.len());
            self.project_metrics
                .set_latency(started.elapsed(), batch.len());
            if results.is_empty() {
                continue;
            }
            let last = sinks.len().saturating_sub(1);
            for (i, tx) in sinks.iter().enumerate() {
                let items = if i == last {
                    std::mem::take(&mut results)
                } else {
                    results.clone()
                };
                // A sink task that is gone has been abandoned by a stop; nothing to do.
                let _ = tx.send(items).await;
            }
        }
    }
}
