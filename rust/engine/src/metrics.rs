//! Per-operator metrics with eKuiper's names, updated once per batch with relaxed atomics.

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use chrono::DateTime;
use serde_json::{Map as JsonMap, Value as Json};

/// eKuiper's `last_invocation` format: no zone, microseconds.
fn format_time(ms: i64) -> String {
    if ms == 0 {
        return String::new();
    }
    DateTime::from_timestamp_millis(ms)
        .map(|dt| dt.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
        .unwrap_or_default()
}

/// The state of an action's queue, shared by the queue (which updates it) and the metrics of
/// the action's sink instances (which report it).
#[derive(Debug, Default)]
pub struct QueueGauge {
    pub length: AtomicUsize,
    /// Results dropped by the buffer-full policy.
    pub dropped: AtomicU64,
}

/// eKuiper's connection status values.
pub const CONNECTED: i64 = 1;
pub const CONNECTING: i64 = 0;
pub const DISCONNECTED: i64 = -1;

/// The state of a source's or sink's connection to its external system, shared by whatever
/// manages the connection (which updates it) and the metrics that report it. Times are wall
/// clock: they tell an operator when something happened.
#[derive(Debug)]
pub struct ConnectionState {
    status: AtomicI64,
    last_connected_ms: AtomicI64,
    last_disconnected_ms: AtomicI64,
    last_try_ms: AtomicI64,
    last_disconnect_message: Mutex<String>,
}

impl ConnectionState {
    /// A connection that is up until told otherwise: what sinks and sources without an
    /// external connection report.
    pub fn new() -> Arc<ConnectionState> {
        Self::with_status(CONNECTED)
    }

    /// A connection that is still to be made.
    pub fn connecting() -> Arc<ConnectionState> {
        Self::with_status(CONNECTING)
    }

    fn with_status(status: i64) -> Arc<ConnectionState> {
        Arc::new(ConnectionState {
            status: AtomicI64::new(status),
            last_connected_ms: AtomicI64::new(0),
            last_disconnected_ms: AtomicI64::new(0),
            last_try_ms: AtomicI64::new(0),
            last_disconnect_message: Mutex::new(String::new()),
        })
    }

    pub fn status(&self) -> i64 {
        self.status.load(Relaxed)
    }

    /// An attempt to connect starts.
    pub fn trying(&self) {
        self.last_try_ms.store(wall_clock_ms(), Relaxed);
        // A connection that failed stays "disconnected" while it retries, so status keeps
        // saying why.
        let _ = self
            .status
            .compare_exchange(CONNECTED, CONNECTING, Relaxed, Relaxed);
    }

    pub fn connected(&self) {
        self.last_connected_ms.store(wall_clock_ms(), Relaxed);
        self.status.store(CONNECTED, Relaxed);
    }

    pub fn disconnected(&self, message: &str) {
        self.last_disconnected_ms.store(wall_clock_ms(), Relaxed);
        if let Ok(mut last) = self.last_disconnect_message.lock() {
            message.clone_into(&mut last);
        }
        self.status.store(DISCONNECTED, Relaxed);
    }

    /// Why the connection was last lost, or could not be made.
    pub fn last_disconnect_message(&self) -> String {
        self.last_disconnect_message
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    fn write_status(&self, put: &mut impl FnMut(&str, Json)) {
        put("connection_status", self.status().into());
        put(
            "connection_last_connected_time",
            self.last_connected_ms.load(Relaxed).into(),
        );
        put(
            "connection_last_disconnected_time",
            self.last_disconnected_ms.load(Relaxed).into(),
        );
        put(
            "connection_last_disconnected_message",
            self.last_disconnect_message().into(),
        );
        put(
            "connection_last_try_time",
            self.last_try_ms.load(Relaxed).into(),
        );
    }
}

fn wall_clock_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// What only sinks count.
#[derive(Debug)]
struct SinkCounters {
    queue: Arc<QueueGauge>,
    retries: AtomicU64,
    dead_letters: AtomicU64,
    /// When the call in progress started; 0 when the sink is idle.
    in_flight_since_ms: AtomicI64,
    /// `Some` when the action caches on disk.
    cache: Option<CacheCounters>,
}

#[derive(Debug, Default)]
struct CacheCounters {
    length: AtomicU64,
    dropped: AtomicU64,
}

/// The upper bounds, in microseconds, of the latency histogram's buckets.
pub const LATENCY_BUCKETS_US: [u64; 12] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 50_000, 250_000, 1_000_000, 10_000_000,
];

/// How long an operator took per batch, in buckets that exporters turn into a histogram.
#[derive(Debug, Default)]
struct LatencyHistogram {
    /// Not cumulative: observations whose latency fell in each bucket (the last holds those
    /// above every bound).
    buckets: [AtomicU64; LATENCY_BUCKETS_US.len() + 1],
    sum_us: AtomicU64,
}

impl LatencyHistogram {
    fn observe(&self, us: u64) {
        let bucket = LATENCY_BUCKETS_US.partition_point(|&bound| bound < us);
        self.buckets[bucket].fetch_add(1, Relaxed);
        self.sum_us.fetch_add(us, Relaxed);
    }
}

/// An operator's counters at one moment, for exporters.
#[derive(Debug, Clone, PartialEq)]
pub struct OpSnapshot {
    /// `source`, `op` or `sink`.
    pub kind: String,
    /// The operator id: the stream name for a source, `1_filter` for an operator, the action's
    /// `key_index` for a sink.
    pub op: String,
    pub instance: String,
    pub records_in: u64,
    pub records_out: u64,
    pub exceptions: u64,
    pub buffer_length: u64,
    /// Sinks only.
    pub buffer_dropped: u64,
    pub retries: u64,
    /// Sources and sinks only: 1 connected, 0 connecting, -1 disconnected.
    pub connection_status: Option<i64>,
    /// Observations per bucket of [`LATENCY_BUCKETS_US`] (not cumulative), then one more for
    /// those above every bound.
    pub latency_buckets: Vec<u64>,
    pub latency_count: u64,
    pub latency_sum_us: u64,
}

/// The metrics of one operator instance: a source, an operator of the rule, or a sink.
#[derive(Debug)]
pub struct OpMetrics {
    /// The status key prefix, such as `source_demo_0`, `op_1_filter_0` or `sink_log_0_0`.
    prefix: String,
    records_in: AtomicU64,
    records_out: AtomicU64,
    exceptions: AtomicU64,
    process_latency_us: AtomicU64,
    latency: LatencyHistogram,
    last_invocation_ms: AtomicI64,
    last_exception_ms: AtomicI64,
    last_exception: Mutex<String>,
    /// Only sources and sinks have a connection.
    connection: Option<Arc<ConnectionState>>,
    last_logged_ms: AtomicI64,
    sink: Option<SinkCounters>,
}

impl OpMetrics {
    pub fn new(prefix: String, has_connection: bool) -> OpMetrics {
        OpMetrics {
            prefix,
            records_in: AtomicU64::new(0),
            records_out: AtomicU64::new(0),
            exceptions: AtomicU64::new(0),
            process_latency_us: AtomicU64::new(0),
            latency: LatencyHistogram::default(),
            last_invocation_ms: AtomicI64::new(0),
            last_exception_ms: AtomicI64::new(0),
            last_exception: Mutex::new(String::new()),
            connection: has_connection.then(ConnectionState::new),
            last_logged_ms: AtomicI64::new(i64::MIN),
            sink: None,
        }
    }

    /// The metrics of a source, reporting a connection that may be shared (by the rules that
    /// read a shared stream).
    pub fn for_source(prefix: String, connection: Arc<ConnectionState>) -> OpMetrics {
        OpMetrics {
            connection: Some(connection),
            ..OpMetrics::new(prefix, false)
        }
    }

    /// The connection this operator reports, if it has one.
    pub fn connection(&self) -> Option<&Arc<ConnectionState>> {
        self.connection.as_ref()
    }

    /// The metrics of a sink instance, which also report its action's queue and, when the
    /// action caches, the cache.
    pub fn for_sink(prefix: String, queue: Arc<QueueGauge>, caches: bool) -> OpMetrics {
        OpMetrics {
            sink: Some(SinkCounters {
                queue,
                retries: AtomicU64::new(0),
                dead_letters: AtomicU64::new(0),
                in_flight_since_ms: AtomicI64::new(0),
                cache: caches.then(CacheCounters::default),
            }),
            ..OpMetrics::new(prefix, true)
        }
    }

    pub fn add_in(&self, n: usize, now_ms: i64) {
        self.records_in.fetch_add(n as u64, Relaxed);
        self.last_invocation_ms.store(now_ms, Relaxed);
    }

    pub fn add_out(&self, n: usize) {
        self.records_out.fetch_add(n as u64, Relaxed);
    }

    /// Records how long a batch took: its average per record for the status, the whole
    /// batch's time for the histogram.
    pub fn set_latency(&self, elapsed: std::time::Duration, records: usize) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.process_latency_us
            .store(us / records.max(1) as u64, Relaxed);
        self.latency.observe(us);
    }

    /// The counters as they stand, for exporters.
    pub fn snapshot(&self) -> OpSnapshot {
        // The prefix is `{kind}_{op}_{instance}`; an op id may itself hold underscores.
        let (kind, rest) = self.prefix.split_once('_').unwrap_or((&self.prefix, ""));
        let (op, instance) = rest.rsplit_once('_').unwrap_or((rest, "0"));
        let buckets: Vec<u64> = self
            .latency
            .buckets
            .iter()
            .map(|b| b.load(Relaxed))
            .collect();
        OpSnapshot {
            kind: kind.to_string(),
            op: op.to_string(),
            instance: instance.to_string(),
            records_in: self.records_in.load(Relaxed),
            records_out: self.records_out.load(Relaxed),
            exceptions: self.exceptions.load(Relaxed),
            buffer_length: self
                .sink
                .as_ref()
                .map_or(0, |s| s.queue.length.load(Relaxed) as u64),
            buffer_dropped: self
                .sink
                .as_ref()
                .map_or(0, |s| s.queue.dropped.load(Relaxed)),
            retries: self.sink.as_ref().map_or(0, |s| s.retries.load(Relaxed)),
            connection_status: self.connection.as_ref().map(|c| c.status()),
            latency_count: buckets.iter().sum(),
            latency_buckets: buckets,
            latency_sum_us: self.latency.sum_us.load(Relaxed),
        }
    }

    pub fn add_exception(&self, message: &str, now_ms: i64) {
        self.exceptions.fetch_add(1, Relaxed);
        self.last_exception_ms.store(now_ms, Relaxed);
        if let Ok(mut last) = self.last_exception.lock() {
            message.clone_into(&mut last);
        }
    }

    /// Whether a failure should be logged now: at most one log line per operator every ten
    /// seconds, so a rule failing on every row does not flood the log (the metrics count all).
    pub fn log_due(&self, now_ms: i64) -> bool {
        let last = self.last_logged_ms.load(Relaxed);
        if now_ms.saturating_sub(last) < 10_000 {
            return false;
        }
        self.last_logged_ms
            .compare_exchange(last, now_ms, Relaxed, Relaxed)
            .is_ok()
    }

    /// A sink call starts (`Some(now)`) or ends (`None`).
    pub fn set_in_flight(&self, since_ms: Option<i64>) {
        if let Some(s) = &self.sink {
            s.in_flight_since_ms.store(since_ms.unwrap_or(0), Relaxed);
        }
    }

    pub fn add_retry(&self) {
        if let Some(s) = &self.sink {
            s.retries.fetch_add(1, Relaxed);
        }
    }

    pub fn add_dead_letters(&self, n: usize) {
        if let Some(s) = &self.sink {
            s.dead_letters.fetch_add(n as u64, Relaxed);
        }
    }

    pub fn set_cache_length(&self, n: usize) {
        if let Some(c) = self.sink.as_ref().and_then(|s| s.cache.as_ref()) {
            c.length.store(n as u64, Relaxed);
        }
    }

    pub fn add_cache_dropped(&self, n: usize) {
        if let Some(c) = self.sink.as_ref().and_then(|s| s.cache.as_ref()) {
            c.dropped.fetch_add(n as u64, Relaxed);
        }
    }

    /// Appends this operator's keys to a rule's status.
    pub fn write_status(&self, out: &mut JsonMap<String, Json>, now_ms: i64) {
        let p = &self.prefix;
        let mut put = |metric: &str, v: Json| {
            out.insert(format!("{p}_{metric}"), v);
        };
        put("records_in_total", self.records_in.load(Relaxed).into());
        put("records_out_total", self.records_out.load(Relaxed).into());
        put(
            "process_latency_us",
            self.process_latency_us.load(Relaxed).into(),
        );
        let queued = self
            .sink
            .as_ref()
            .map_or(0, |s| s.queue.length.load(Relaxed));
        put("buffer_length", queued.into());
        put(
            "last_invocation",
            format_time(self.last_invocation_ms.load(Relaxed)).into(),
        );
        put("exceptions_total", self.exceptions.load(Relaxed).into());
        let last = self
            .last_exception
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default();
        put("last_exception", last.into());
        put(
            "last_exception_time",
            self.last_exception_ms.load(Relaxed).into(),
        );
        if let Some(c) = &self.connection {
            c.write_status(&mut put);
        }
        if let Some(s) = &self.sink {
            put("buffer_dropped_total", s.queue.dropped.load(Relaxed).into());
            put("retries_total", s.retries.load(Relaxed).into());
            put("dead_letter_total", s.dead_letters.load(Relaxed).into());
            let since = s.in_flight_since_ms.load(Relaxed);
            let in_flight = if since == 0 {
                0
            } else {
                (now_ms - since).max(0)
            };
            put("collect_in_flight_ms", in_flight.into());
            if let Some(c) = &s.cache {
                put("cache_length", c.length.load(Relaxed).into());
                put("cache_dropped_total", c.dropped.load(Relaxed).into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_keys_follow_ekuiper() {
        let queue = Arc::new(QueueGauge::default());
        queue.length.store(4, Relaxed);
        let m = OpMetrics::for_sink("sink_log_0_0".into(), queue, false);
        m.add_in(3, 1_700_000_000_123);
        m.add_out(2);
        m.add_exception("boom", 1_700_000_000_456);
        m.set_in_flight(Some(1_700_000_000_000));
        let mut out = JsonMap::new();
        m.write_status(&mut out, 1_700_000_000_250);
        assert_eq!(out["sink_log_0_0_records_in_total"], 3);
        assert_eq!(out["sink_log_0_0_records_out_total"], 2);
        assert_eq!(out["sink_log_0_0_exceptions_total"], 1);
        assert_eq!(out["sink_log_0_0_last_exception"], "boom");
        assert_eq!(
            out["sink_log_0_0_last_exception_time"],
            1_700_000_000_456i64
        );
        assert_eq!(
            out["sink_log_0_0_last_invocation"],
            "2023-11-14T22:13:20.123000"
        );
        assert_eq!(out["sink_log_0_0_connection_status"], 1);
        assert_eq!(out["sink_log_0_0_buffer_length"], 4);
        assert_eq!(out["sink_log_0_0_collect_in_flight_ms"], 250);
        assert!(!out.contains_key("sink_log_0_0_cache_length"));
    }

    #[test]
    fn snapshots_name_the_operator_and_bucket_latency() {
        let m = OpMetrics::new("op_1_filter_0".into(), false);
        m.set_latency(std::time::Duration::from_micros(30), 1);
        m.set_latency(std::time::Duration::from_micros(700), 7);
        m.set_latency(std::time::Duration::from_secs(20), 1);
        let snap = m.snapshot();
        assert_eq!((snap.kind.as_str(), snap.op.as_str()), ("op", "1_filter"));
        assert_eq!(snap.instance, "0");
        assert_eq!(snap.connection_status, None);
        // 30 µs: <= 50 µs; 700 µs: <= 1 ms; 20 s: above every bound.
        let mut expected = vec![0; LATENCY_BUCKETS_US.len() + 1];
        expected[0] = 1;
        expected[4] = 1;
        expected[LATENCY_BUCKETS_US.len()] = 1;
        assert_eq!(snap.latency_buckets, expected);
        assert_eq!(snap.latency_count, 3);
        assert_eq!(snap.latency_sum_us, 20_000_730);
        let sink = OpMetrics::for_sink("sink_my_sink_0_1".into(), Arc::default(), false);
        let snap = sink.snapshot();
        assert_eq!(
            (snap.kind.as_str(), snap.op.as_str()),
            ("sink", "my_sink_0")
        );
        assert_eq!(
            (snap.instance.as_str(), snap.connection_status),
            ("1", Some(1))
        );
    }
}
