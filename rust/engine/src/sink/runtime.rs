//! The runtime between a rule and one action's sinks.
//!
//! Each action has a queue of results and `concurrency` sink instances, each run by one task:
//! take a delivery's worth of results (all that is queued, or a batch), shape them, hand them
//! to the sink, and deal with what failed. A transient failure is retried, in order, every
//! `resendInterval` with capped exponential backoff; anything else is counted, logged and sent
//! to the dead-letter topic when one is set.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map as JsonMap, Value as Json};
use tokio_util::sync::CancellationToken;

use super::conf::{SinkConf, parse_props};
use super::queue::{ActionQueue, Batching};
use super::shape::Shaper;
use super::{Batch, Sink, SinkContext, SinkError, SinkFactory, SinkItem};
use crate::clock::Clock;
use crate::memory_topics::MemoryTopics;
use crate::metrics::OpMetrics;
use crate::value::{Key, Map, Value};

/// The longest wait between two retries.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// One action of a rule, checked when the rule is created.
pub(crate) struct ActionSpec {
    pub index: usize,
    pub key: String,
    pub factory: Arc<dyn SinkFactory>,
    /// Every property of the action, as the sink's `create` receives them.
    pub props: JsonMap<String, Json>,
    pub conf: Arc<SinkConf>,
    pub shaper: Arc<Shaper>,
}

impl ActionSpec {
    /// Reads and checks an action's properties; the error names the property.
    pub fn new(
        index: usize,
        key: &str,
        factory: Arc<dyn SinkFactory>,
        props: &JsonMap<String, Json>,
    ) -> Result<ActionSpec, String> {
        let parsed = parse_props(props, factory.properties())?;
        for warning in &parsed.warnings {
            tracing::warn!(target: "sinkbridge.sink", "actions[{index}] ({key}): {warning}");
        }
        factory.validate(&parsed.own)?;
        let conf = Arc::new(parsed.conf);
        let shaper = Arc::new(Shaper::new(conf.clone(), &parsed.own)?);
        Ok(ActionSpec {
            index,
            key: key.to_string(),
            factory,
            props: props.clone(),
            conf,
            shaper,
        })
    }

    /// The operator id, as eKuiper names it: the key and the action's index.
    pub fn op_id(&self) -> String {
        format!("{}_{}", self.key, self.index)
    }
}

/// One running sink instance of an action.
pub(crate) struct Instance {
    pub sink: Box<dyn Sink>,
    pub env: InstanceEnv,
}

/// Everything about an instance but the sink itself (which need not be `Sync`).
pub(crate) struct InstanceEnv {
    pub ctx: SinkContext,
    pub metrics: Arc<OpMetrics>,
    pub action: Arc<ActionSpec>,
    pub queue: Arc<ActionQueue>,
    pub clock: Arc<dyn Clock>,
    /// Cancelled when the rule stops: retries give up instead of holding the stop.
    pub stopping: CancellationToken,
    pub topics: Arc<MemoryTopics>,
}

impl Instance {
    /// Runs until the queue is closed and drained, then closes the sink.
    pub async fn run(mut self) {
        let env = &self.env;
        let batching = Batching {
            size: env.action.conf.batch_size,
            linger: env.action.conf.linger_interval,
        };
        while let Some(results) = env.queue.pop(batching).await {
            env.metrics.add_in(results.len(), env.clock.now_ms());
            let mut items = Vec::with_capacity(results.len());
            let mut failures = Vec::new();
            for result in results {
                env.action.shaper.shape(result, &mut items, &mut failures);
            }
            for failure in failures {
                env.give_up(&failure, None).await;
            }
            if !items.is_empty() {
                deliver(self.sink.as_mut(), env, items.into()).await;
            }
        }
        if let Err(e) = self.sink.close(&env.ctx).await {
            env.failed(&format!("close failed: {}", e.message));
        }
    }
}

impl InstanceEnv {
    fn failed(&self, message: &str) {
        let now = self.clock.now_ms();
        self.metrics.add_exception(message, now);
        if self.metrics.log_due(now) {
            tracing::warn!(target: "sinkbridge.sink", "rule {} sink {}: {message}", self.ctx.rule_id, self.ctx.op_id);
        }
    }

    /// Counts a failure that will not be retried, and sends the item (if any) to the dead
    /// letter topic with the error.
    async fn give_up(&self, error: &str, item: Option<&SinkItem>) {
        self.failed(error);
        self.metrics.add_dead_letters(1);
        let Some(topic) = &self.action.conf.dead_letter else {
            return;
        };
        let mut row = Map::with_capacity(4);
        row.insert(Key::from("error"), Value::string(error));
        row.insert(Key::from("rule"), Value::string(&self.ctx.rule_id));
        row.insert(Key::from("sink"), Value::string(&self.ctx.op_id));
        if let Some(item) = item {
            row.insert(Key::from("data"), item.data.clone());
        }
        if let Err(e) = self.topics.publish(topic, Arc::new(vec![row])).await {
            self.failed(&format!(
                "the dead letter topic {topic} refused an item: {e}"
            ));
        }
    }

    async fn abandon(&self, items: &[SinkItem], why: &str) {
        for item in items {
            self.give_up(why, Some(item)).await;
        }
    }
}

/// Hands items to the sink; retries what failed transiently, in order, until it lands,
/// the retry limit is reached, or the rule stops.
async fn deliver(sink: &mut dyn Sink, env: &InstanceEnv, mut batch: Batch) {
    let conf = env.action.conf.clone();
    let mut backoff = conf.resend_interval;
    let mut retries = 0u32;
    loop {
        let started = Instant::now();
        env.metrics.set_in_flight(Some(env.clock.now_ms()));
        let report = sink.collect(&env.ctx, batch.clone()).await;
        env.metrics.set_in_flight(None);
        env.metrics.set_latency(started.elapsed(), batch.len());
        env.metrics.add_out(report.delivered(batch.len()));
        for (i, error) in &report.failures {
            env.give_up(&error.message, batch.get(*i)).await;
        }
        let Some((from, error)) = report.retry_from else {
            return;
        };
        let remaining: Batch = batch[from.min(batch.len())..].into();
        if remaining.is_empty() {
            return;
        }
        env.failed(&error.message);
        if conf.retry_limit.is_some_and(|limit| retries >= limit) {
            return env
                .abandon(
                    &remaining,
                    &format!("gave up after {retries} retries: {}", error.message),
                )
                .await;
        }
        let stopped = tokio::select! {
            _ = env.stopping.cancelled() => true,
            _ = tokio::time::sleep(backoff) => false,
        };
        if stopped {
            return env
                .abandon(
                    &remaining,
                    &format!("the rule stopped while retrying: {}", error.message),
                )
                .await;
        }
        retries += 1;
        env.metrics.add_retry();
        backoff = (backoff * 2).min(MAX_BACKOFF.max(conf.resend_interval));
        batch = remaining;
    }
}

/// Creates, configures and opens the instances of one action; closes what it opened if one
/// fails.
pub(crate) async fn open_instances(
    action: &Arc<ActionSpec>,
    rule_id: &str,
    queue: &Arc<ActionQueue>,
) -> Result<Vec<(Box<dyn Sink>, SinkContext, Arc<OpMetrics>)>, SinkError> {
    let mut opened: Vec<(Box<dyn Sink>, SinkContext, Arc<OpMetrics>)> = Vec::new();
    for instance_id in 0..action.conf.concurrency {
        let ctx = SinkContext {
            rule_id: rule_id.to_string(),
            op_id: action.op_id(),
            instance_id,
        };
        let metrics = Arc::new(OpMetrics::for_sink(
            format!("sink_{}_{instance_id}", action.op_id()),
            queue.gauge(),
            action.conf.enable_cache,
        ));
        let created = match action.factory.create(&ctx, &action.props).await {
            Ok(mut sink) => sink.open(&ctx).await.map(|()| sink),
            Err(e) => Err(e),
        };
        match created {
            Ok(sink) => opened.push((sink, ctx, metrics)),
            Err(e) => {
                for (mut sink, ctx, _) in opened {
                    let _ = sink.close(&ctx).await;
                }
                return Err(e);
            }
        }
    }
    Ok(opened)
}
