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

use super::cache::{CacheKey, SinkCache};
use super::conf::{SinkConf, parse_props};
use super::queue::{ActionQueue, Batching};
use super::shape::Shaper;
use super::{ActionProps, Batch, Retry, Sink, SinkContext, SinkError, SinkFactory, SinkItem};
use crate::clock::Clock;
use crate::memory_topics::MemoryTopics;
use crate::metrics::{ConnectionState, OpMetrics};
use crate::value::{Key, Map, Value};

/// The longest wait between two retries.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// One action of a rule, checked when the rule is created.
pub(crate) struct ActionSpec {
    pub index: usize,
    pub key: String,
    pub factory: Arc<dyn SinkFactory>,
    /// Every property of the action.
    pub props: JsonMap<String, Json>,
    /// The sink's own properties (those that are not common).
    pub own: JsonMap<String, Json>,
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
            own: parsed.own,
            conf,
            shaper,
        })
    }

    /// The properties as the sink's factory receives them.
    pub fn factory_props(&self) -> ActionProps<'_> {
        ActionProps {
            all: &self.props,
            own: &self.own,
            common: &self.conf,
        }
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
    /// This instance's part of the disk cache, when the action caches.
    pub cache: Option<ActionCache>,
}

impl Instance {
    /// Runs until the queue is closed and drained, then closes the sink.
    pub async fn run(mut self) {
        match self.env.cache.clone() {
            None => self.run_direct().await,
            Some(cache) => self.run_cached(&cache).await,
        }
        let env = &self.env;
        if let Err(e) = self.sink.close(&env.ctx).await {
            env.failed(&format!("close failed: {}", e.message));
        }
    }

    /// Without a cache: deliver, retrying transient failures in place.
    async fn run_direct(&mut self) {
        let env = &self.env;
        while let Some(results) = env.queue.pop(env.batching()).await {
            let taken = results.len();
            let items = env.shape(results).await;
            if !items.is_empty() {
                deliver(self.sink.as_mut(), env, items.into()).await;
            }
            env.queue.done(taken);
        }
    }

    /// With a cache: deliver directly while the target takes what it gets. Once it fails
    /// transiently, what failed and everything that arrives after it is written to the cache
    /// first, and resent from there, oldest first, until the cache is empty again. What is in
    /// the cache when the rule stops stays there for the next start (unless `cleanCacheAtStop`).
    async fn run_cached(&mut self, cache: &ActionCache) {
        let env = &self.env;
        let conf = env.action.conf.clone();
        let mut failing = cache.length(env) > 0;
        let mut backoff = conf.resend_interval;
        let mut next_attempt = tokio::time::Instant::now();
        loop {
            if !failing {
                let Some(results) = env.queue.pop(env.batching()).await else {
                    break;
                };
                let taken = results.len();
                let items = env.shape(results).await;
                if let Some((remaining, _)) = attempt(self.sink.as_mut(), env, items.into()).await {
                    cache.append(env, &remaining);
                    failing = true;
                    backoff = conf.resend_interval;
                    next_attempt = tokio::time::Instant::now() + backoff;
                }
                env.queue.done(taken);
                continue;
            }
            // Failing: whatever arrived goes to the cache before anything else happens to it.
            let (results, closed) = env.queue.try_take(usize::MAX);
            if !results.is_empty() {
                let taken = results.len();
                let items = env.shape(results).await;
                match conf.resend_priority {
                    // New data first: it is tried at once, and cached only if that fails.
                    -1 => {
                        if let Some((remaining, _)) =
                            attempt(self.sink.as_mut(), env, items.into()).await
                        {
                            cache.append(env, &remaining);
                        }
                    }
                    _ => cache.append(env, &items),
                }
                env.queue.done(taken);
            }
            if closed {
                break;
            }
            if tokio::time::Instant::now() >= next_attempt {
                let oldest = cache.oldest(env, conf.memory_cache_threshold);
                if oldest.is_empty() {
                    failing = false;
                    continue;
                }
                let (seqs, items): (Vec<i64>, Vec<SinkItem>) = oldest.into_iter().unzip();
                let items: Vec<SinkItem> = items
                    .into_iter()
                    .map(|i| mark_resent(i, conf.resend_indicator_field.as_deref()))
                    .collect();
                // Every resend is a retry, as a delivery retried in place is, whatever its outcome.
                env.metrics.add_retry();
                let report = collect(self.sink.as_mut(), env, items.into()).await;
                // What is left to retry stays in the cache; the rest was delivered (or given
                // up on) and goes.
                let retried: Vec<usize> =
                    report.as_ref().map(|r| r.items.clone()).unwrap_or_default();
                let done: Vec<i64> = seqs
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !retried.contains(i))
                    .map(|(_, seq)| *seq)
                    .collect();
                cache.remove(env, &done);
                if report.is_some() {
                    next_attempt = tokio::time::Instant::now() + backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF.max(conf.resend_interval));
                } else {
                    backoff = conf.resend_interval;
                }
                continue;
            }
            tokio::select! {
                _ = env.queue.arrival() => {}
                _ = tokio::time::sleep_until(next_attempt) => {}
            }
        }
        if conf.clean_cache_at_stop {
            cache.clear(env);
        }
    }
}

/// Sets `resendIndicatorField` to true on every row of an item resent from the cache.
fn mark_resent(mut item: SinkItem, field: Option<&str>) -> SinkItem {
    let Some(field) = field else {
        return item;
    };
    let mark = |row: &Map| {
        let mut row = row.clone();
        row.insert(Key::from(field), Value::Bool(true));
        Value::object(row)
    };
    item.data = match &item.data {
        Value::Object(row) => mark(row),
        Value::Array(rows) => Value::array(
            rows.iter()
                .map(|r| match r {
                    Value::Object(row) => mark(row),
                    other => other.clone(),
                })
                .collect(),
        ),
        _ => return item,
    };
    item
}

/// An instance's part of the disk cache; its failures are counted, never fatal.
#[derive(Clone)]
pub(crate) struct ActionCache {
    pub cache: SinkCache,
    pub key: CacheKey,
}

impl ActionCache {
    fn length(&self, env: &InstanceEnv) -> usize {
        let length = self.cache.len(&self.key).unwrap_or_else(|e| {
            env.failed(&e);
            0
        });
        env.metrics.set_cache_length(length);
        length
    }

    fn append(&self, env: &InstanceEnv, items: &[SinkItem]) {
        match self
            .cache
            .append(&self.key, items, env.action.conf.max_disk_cache)
        {
            Ok(dropped) => {
                if dropped > 0 {
                    env.metrics.add_cache_dropped(dropped);
                    env.failed(&format!(
                        "the cache is full (maxDiskCache): dropped the {dropped} oldest item(s)"
                    ));
                }
            }
            Err(e) => env.failed(&e),
        }
        self.length(env);
    }

    fn oldest(&self, env: &InstanceEnv, limit: usize) -> Vec<(i64, SinkItem)> {
        self.cache.oldest(&self.key, limit).unwrap_or_else(|e| {
            env.failed(&e);
            Vec::new()
        })
    }

    fn remove(&self, env: &InstanceEnv, seqs: &[i64]) {
        if let Err(e) = self.cache.remove(seqs) {
            env.failed(&e);
        }
        self.length(env);
    }

    fn clear(&self, env: &InstanceEnv) {
        if let Err(e) = self.cache.clear(&self.key) {
            env.failed(&e);
        }
        self.length(env);
    }
}

impl InstanceEnv {
    fn batching(&self) -> Batching {
        Batching {
            size: self.action.conf.batch_size,
            linger: self.action.conf.linger_interval,
        }
    }

    /// Shapes a delivery's results; what cannot be shaped is counted and dead-lettered.
    async fn shape(&self, results: Vec<Value>) -> Vec<SinkItem> {
        self.metrics.add_in(results.len(), self.clock.now_ms());
        let mut items = Vec::with_capacity(results.len());
        let mut failures = Vec::new();
        for result in results {
            self.action.shaper.shape(result, &mut items, &mut failures);
        }
        for failure in failures {
            self.give_up(&failure, None).await;
        }
        items
    }

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
        if let Err(e) = self.topics.publish(topic, vec![row]).await {
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

/// One `collect` call: counts what landed, gives up on what failed for good, and returns what
/// failed transiently (in order) with the error, if anything did.
async fn attempt(sink: &mut dyn Sink, env: &InstanceEnv, batch: Batch) -> Option<(Batch, String)> {
    let retry = collect(sink, env, batch.clone()).await?;
    let remaining: Batch = retry
        .items
        .iter()
        .filter_map(|&i| batch.get(i).cloned())
        .collect();
    (!remaining.is_empty()).then_some((remaining, retry.error.message))
}

/// One `collect` call, counted; returns which items to retry, if any.
async fn collect(sink: &mut dyn Sink, env: &InstanceEnv, batch: Batch) -> Option<Retry> {
    if batch.is_empty() {
        return None;
    }
    let started = Instant::now();
    env.metrics.set_in_flight(Some(env.clock.now_ms()));
    let report = sink.collect(&env.ctx, batch.clone()).await;
    env.metrics.set_in_flight(None);
    env.metrics.set_latency(started.elapsed(), batch.len());
    env.metrics.add_out(report.delivered(batch.len()));
    for (i, error) in &report.failures {
        env.give_up(&error.message, batch.get(*i)).await;
    }
    let retry = report.retry?;
    env.failed(&retry.error.message);
    Some(retry)
}

/// Hands items to the sink; retries what failed transiently, in order, every
/// `resendInterval` with capped exponential backoff, until it lands, the retry limit is
/// reached, or the rule stops.
async fn deliver(sink: &mut dyn Sink, env: &InstanceEnv, batch: Batch) {
    let conf = env.action.conf.clone();
    let mut backoff = conf.resend_interval;
    let mut retries = 0u32;
    let mut pending = batch;
    while let Some((remaining, error)) = attempt(sink, env, pending).await {
        if conf.retry_limit.is_some_and(|limit| retries >= limit) {
            let why = format!("gave up after {retries} retries: {error}");
            return env.abandon(&remaining, &why).await;
        }
        let stopped = tokio::select! {
            _ = env.stopping.cancelled() => true,
            _ = tokio::time::sleep(backoff) => false,
        };
        if stopped {
            let why = format!("the rule stopped while retrying: {error}");
            return env.abandon(&remaining, &why).await;
        }
        retries += 1;
        env.metrics.add_retry();
        backoff = (backoff * 2).min(MAX_BACKOFF.max(conf.resend_interval));
        pending = remaining;
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
    // A sink that takes several collects at once gets one instance and the whole concurrency.
    let instances = if action.factory.concurrent_collects() {
        1
    } else {
        action.conf.concurrency
    };
    for instance_id in 0..instances {
        let metrics = Arc::new(OpMetrics::for_sink(
            format!("sink_{}_{instance_id}", action.op_id()),
            queue.gauge(),
            action.conf.enable_cache,
        ));
        let ctx = SinkContext {
            rule_id: rule_id.to_string(),
            op_id: action.op_id(),
            instance_id,
            connection: metrics
                .connection()
                .cloned()
                .unwrap_or_else(ConnectionState::new),
        };
        let created = match action.factory.create(&ctx, action.factory_props()).await {
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
