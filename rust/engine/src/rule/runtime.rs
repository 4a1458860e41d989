//! A running rule: its source task, its operator task (WHERE and SELECT), and one task per
//! action, joined by bounded channels of batches.
//!
//! Stopping is a drain, not an abort: cancelling ends the source, the operator task ends when
//! its input closes, and each sink task ends after it has handed over everything queued and
//! closed its sink.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map as JsonMap, Value as Json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::activity::Activity;
use crate::clock::Clock;
use crate::memory_topics::MemoryTopics;
use crate::memory_topics::RowBatch;
use crate::metrics::{ConnectionState, OpMetrics};
use crate::sink::SinkError;
use crate::sink::cache::{CacheKey, SinkCache};
use crate::sink::queue::ActionQueue;
use crate::sink::runtime::{ActionCache, ActionSpec, Instance, InstanceEnv, open_instances};
use crate::source::{Source, SourceOutput};
use crate::sql::SelectPlan;
use crate::stream::{Schema, StreamDef};

use super::def::RuleDef;
use super::operator::{EventTimeSpec, Operator};
use super::table::Table;

/// Rows per batch that a channel between two operators holds; `bufferLength` is divided by it.
const ROWS_PER_BATCH: usize = 256;

fn batches_for(buffer_length: usize) -> usize {
    buffer_length.div_ceil(ROWS_PER_BATCH).max(2)
}

/// Where a rule's rows come from.
pub(crate) struct SourceFeed {
    pub source: Box<dyn Source>,
    /// The connection state the source keeps (shared with other rules for a shared stream).
    pub connection: Arc<ConnectionState>,
    /// False when the rows arrive checked against the stream's schema already (shared
    /// streams check them once for every rule).
    pub apply_schema: bool,
}

/// Everything a rule needs to start, resolved by the engine.
pub(crate) struct RuleParts {
    pub rule: Arc<RuleDef>,
    pub plan: Arc<SelectPlan>,
    /// The streams the rule reads (FROM, then each JOIN), with their sources, in order.
    pub streams: Vec<(Arc<StreamDef>, SourceFeed)>,
    /// The rule's actions, in order.
    pub actions: Vec<Arc<ActionSpec>>,
    pub clock: Arc<dyn Clock>,
    pub topics: Arc<MemoryTopics>,
    /// The engine's sink cache, when it has a data directory.
    pub cache: Option<SinkCache>,
    pub activity: Arc<Activity>,
}

/// A rule that runs.
pub(crate) struct RuleRun {
    cancel: CancellationToken,
    /// Cancelled when a stop has waited long enough: sinks still retrying give up.
    stopping: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    metrics: Vec<Arc<OpMetrics>>,
    /// Set when the rule failed while running (its source gave up).
    failure: Arc<Mutex<Option<String>>>,
}

/// How long sinks still retrying get to close after they were told to give up.
const GIVE_UP_GRACE: Duration = Duration::from_secs(1);

impl RuleRun {
    /// Creates and opens the sinks, then starts the tasks. A sink that fails to configure or
    /// open fails the start, after the sinks already opened are closed again.
    pub async fn start(parts: RuleParts) -> Result<RuleRun, SinkError> {
        let RuleParts {
            rule,
            plan,
            streams,
            actions,
            clock,
            topics,
            cache,
            activity,
        } = parts;
        let source_metrics: Vec<Arc<OpMetrics>> = streams
            .iter()
            .map(|(stream, feed)| {
                Arc::new(OpMetrics::for_source(
                    format!("source_{}_0", stream.name),
                    feed.connection.clone(),
                ))
            })
            .collect();
        let mut op_index = 0;
        let mut next_op = |name: &str| {
            op_index += 1;
            Arc::new(OpMetrics::new(format!("op_{op_index}_{name}_0"), false))
        };
        // A rule that collects rows (a window, or aggregates) runs WHERE over each collection;
        // its window counts the rows in.
        let window_metrics = plan.collects().then(|| next_op("window"));
        let filter_metrics = (plan.has_condition() && !plan.collects()).then(|| next_op("filter"));
        let project_metrics = next_op("project");

        let mut opened = Vec::with_capacity(actions.len());
        for action in &actions {
            // Room for two batches at least, so that one fills while the sink takes the other.
            let capacity = action.conf.buffer_length.max(2 * action.conf.batch_size);
            let queue = Arc::new(ActionQueue::new(
                capacity,
                action.conf.buffer_full_policy,
                activity.clone(),
            ));
            match open_instances(action, &rule.id, &queue).await {
                Ok(instances) => opened.push((action.clone(), queue, instances)),
                Err(e) => {
                    for (_, _, instances) in opened {
                        for (mut sink, ctx, _) in instances {
                            let _ = sink.close(&ctx).await;
                        }
                    }
                    return Err(SinkError {
                        message: format!(
                            "actions[{}] ({}): {}",
                            action.index, action.key, e.message
                        ),
                        ..e
                    });
                }
            }
        }

        let cancel = CancellationToken::new();
        let stopping = CancellationToken::new();
        let failure = Arc::new(Mutex::new(None));
        let mut tasks = Vec::new();
        let mut metrics = source_metrics.clone();
        metrics.extend(window_metrics.clone());
        metrics.extend(filter_metrics.clone());
        metrics.push(project_metrics.clone());

        let mut queues = Vec::with_capacity(opened.len());
        for (action, queue, instances) in opened {
            for (sink, ctx, sink_metrics) in instances {
                metrics.push(sink_metrics.clone());
                let action_cache =
                    cache
                        .clone()
                        .filter(|_| action.conf.enable_cache)
                        .map(|cache| ActionCache {
                            cache,
                            key: CacheKey {
                                rule: ctx.rule_id.clone(),
                                op: ctx.op_id.clone(),
                                instance: ctx.instance_id,
                            },
                        });
                let instance = Instance {
                    sink,
                    env: InstanceEnv {
                        ctx,
                        metrics: sink_metrics,
                        action: action.clone(),
                        queue: queue.clone(),
                        clock: clock.clone(),
                        stopping: stopping.clone(),
                        topics: topics.clone(),
                        cache: action_cache,
                    },
                };
                tasks.push(tokio::spawn(instance.run()));
            }
            queues.push(queue);
        }

        let (source_tx, source_rx) =
            mpsc::channel::<(usize, RowBatch)>(batches_for(rule.options.buffer_length));
        let operator = Operator {
            rule_id: rule.id.clone(),
            plan,
            clock: clock.clone(),
            send_nil: rule.options.send_nil_field,
            send_meta: rule.options.send_meta_to_sink,
            send_error: rule.options.send_error,
            window_metrics,
            filter_metrics,
            project_metrics,
            activity: activity.clone(),
            tables: streams.iter().map(|(def, _)| Table::for_def(def)).collect(),
            event_time: rule.options.is_event_time.then(|| EventTimeSpec {
                fields: streams
                    .iter()
                    .map(|(stream, _)| {
                        (
                            stream.options.timestamp.clone().unwrap_or_default(),
                            stream.options.timestamp_format.clone(),
                        )
                    })
                    .collect(),
                late_tolerance: rule.options.late_tolerance.as_millis() as i64,
            }),
        };
        tasks.push(tokio::spawn(operator.run(source_rx, queues)));

        for (emitter, ((stream, feed), metrics)) in
            streams.into_iter().zip(source_metrics).enumerate()
        {
            let SourceFeed {
                source,
                connection,
                apply_schema,
            } = feed;
            let output = SourceOutput {
                tx: source_tx.clone(),
                emitter,
                metrics,
                schema: stream
                    .fields
                    .as_ref()
                    .filter(|_| apply_schema)
                    .map(|f| Schema::new(f, stream.options.strict_validation)),
                clock: clock.clone(),
                cancel: cancel.clone(),
                connection,
                activity: activity.clone(),
            };
            let rule_id = rule.id.clone();
            let source_failure = failure.clone();
            let name = stream.name.clone();
            tasks.push(tokio::spawn(async move {
                if let Err(e) = source.run(output).await {
                    tracing::error!(target: "sinkbridge.rule", "rule {rule_id} stopped: the source of stream {name} failed: {e}");
                    if let Ok(mut f) = source_failure.lock() {
                        *f = Some(format!("the source of stream {name} failed: {e}"));
                    }
                }
            }));
        }
        Ok(RuleRun {
            cancel,
            stopping,
            tasks,
            metrics,
            failure,
        })
    }

    /// Stops the rule: the source stops, and queued results reach the sinks. A sink still
    /// retrying when `timeout` is up gives up; one stuck in a call is abandoned. Returns false
    /// when some task did not finish.
    pub async fn stop(self, timeout: Duration) -> (bool, Vec<Arc<OpMetrics>>) {
        self.cancel.cancel();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut pending = Vec::new();
        for task in self.tasks {
            let mut task = task;
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                pending.push(task);
            }
        }
        self.stopping.cancel();
        let grace = tokio::time::Instant::now() + GIVE_UP_GRACE;
        let mut all_done = true;
        for task in pending {
            if tokio::time::timeout_at(grace, task).await.is_err() {
                all_done = false;
            }
        }
        (all_done, self.metrics)
    }

    /// Why the rule stopped by itself, if it did.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }

    /// The metrics of every operator instance: sources, operators, then sinks.
    pub fn metrics(&self) -> &[Arc<OpMetrics>] {
        &self.metrics
    }

    pub fn write_metrics(&self, out: &mut JsonMap<String, Json>, now_ms: i64) {
        for m in &self.metrics {
            m.write_status(out, now_ms);
        }
    }
}
