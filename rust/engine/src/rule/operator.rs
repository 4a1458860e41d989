//! A rule's operators between its source and its sinks: WHERE and SELECT row by row, or, for
//! a rule that collects rows (a window, GROUP BY, aggregates), the window and then WHERE, GROUP
//! BY, HAVING, SELECT, ORDER BY and LIMIT over each collection.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;

use super::event_time::EventTime;
use super::table::Table;
use super::window::{ClosedWindow, Windower};
use crate::activity::Activity;
use crate::clock::{Clock, Sleep};
use crate::memory_topics::RowBatch;
use crate::metrics::OpMetrics;
use crate::sink::queue::ActionQueue;
use crate::sql::{IncrementalPlan, Input, RowError, SelectPlan};
use crate::value::{Key, Map, Tuple, Value};

pub(crate) struct Operator {
    pub rule_id: String,
    pub plan: Arc<SelectPlan>,
    pub clock: Arc<dyn Clock>,
    pub send_nil: bool,
    pub send_meta: bool,
    pub send_error: bool,
    pub window_metrics: Option<Arc<OpMetrics>>,
    pub filter_metrics: Option<Arc<OpMetrics>>,
    pub project_metrics: Arc<OpMetrics>,
    /// Each batch received is work in progress until its results are queued for the sinks.
    pub activity: Arc<Activity>,
    /// Per stream of FROM: its table, when it is one.
    pub tables: Vec<Option<Table>>,
    /// Set when windows run in event time.
    pub event_time: Option<EventTimeSpec>,
}

/// Where rows keep their event time: each stream's `TIMESTAMP` field and format, and the
/// rule's `lateTolerance`.
pub(crate) struct EventTimeSpec {
    pub fields: Vec<(String, Option<String>)>,
    pub late_tolerance: i64,
}

impl Operator {
    pub async fn run(
        mut self,
        input: mpsc::Receiver<(usize, RowBatch)>,
        sinks: Vec<Arc<ActionQueue>>,
    ) {
        if self.plan.collects() {
            self.run_collections(input, &sinks).await;
        } else {
            self.run_rows(input, &sinks).await;
        }
        for queue in &sinks {
            queue.close();
        }
    }

    /// WHERE, then SELECT, for each row of each batch: each result row is one result.
    async fn run_rows(&self, input: mpsc::Receiver<(usize, RowBatch)>, sinks: &[Arc<ActionQueue>]) {
        let mut input = Inbox::new(input);
        let event_time = self
            .event_time
            .as_ref()
            .map(|e| EventTime::new(&e.fields, e.late_tolerance));
        while let Some((_, batch)) = input.next().await {
            let started = Instant::now();
            let now = self.clock.now_ms();
            let mut results = Vec::with_capacity(batch.len());
            let mut passed = 0;
            if let Some(m) = &self.filter_metrics {
                m.add_in(batch.len(), now);
            }
            let clock = self.clock.as_ref();
            for row in batch.iter() {
                // A row's time: its timestamp in event time (read only when the statement
                // asks), else its arrival.
                let at = match (&event_time, self.plan.reads_time()) {
                    (Some(et), true) => match et.timestamp(0, row) {
                        Ok(at) => at,
                        Err(e) => {
                            self.failed(&RowError::Where(e), now, &mut results);
                            continue;
                        }
                    },
                    _ => now,
                };
                let outcome = self
                    .plan
                    .run_row(row, at, clock, self.send_nil, self.send_meta);
                match outcome {
                    Ok(Some(rows)) => {
                        passed += 1;
                        // unnest() of an empty array makes no result at all.
                        if !rows.is_empty() {
                            results.push(Value::array(rows));
                        }
                    }
                    Ok(None) => {}
                    Err(error) => {
                        // A row that fails in SELECT did pass WHERE.
                        if matches!(error, RowError::Select(_)) {
                            passed += 1;
                        }
                        self.failed(&error, now, &mut results);
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
            send(sinks, results).await;
            self.activity.end(1);
        }
    }

    /// Rows go into the window as they arrive; each window that closes is one result: the list
    /// of its result rows. Without a window, each row is a collection of its own.
    async fn run_collections(
        &mut self,
        input: mpsc::Receiver<(usize, RowBatch)>,
        sinks: &[Arc<ActionQueue>],
    ) {
        let mut input = Inbox::new(input);
        let clock = self.clock.clone();
        let clock = clock.as_ref();
        let mut event_time = self.event_time.as_ref().map(|e| {
            let mut et = EventTime::new(&e.fields, e.late_tolerance);
            for (i, table) in self.tables.iter().enumerate() {
                if table.is_some() {
                    et.ignore(i);
                }
            }
            et
        });
        // Aggregates computed as rows arrive, where that gives the same results; a window of
        // a rule that joins tables evaluates over its rows and the tables' as they stand then.
        let incremental = match self.tables.iter().all(Option::is_none) {
            true => IncrementalPlan::new(&self.plan).map(Arc::new),
            false => None,
        };
        let mut windower = self.plan.window.as_ref().map(|w| {
            match event_time {
                Some(_) => Windower::event_time(w),
                None => Windower::new(w, clock.now_ms()),
            }
            .with_incremental(incremental.clone())
        });
        // The timer for the window's next deadline, kept while the deadline stays the same. In
        // event time, time is the watermark: it moves with the rows, not the clock.
        let in_event_time = event_time.is_some();
        let deadline = |w: &Option<Windower>| match in_event_time {
            true => None,
            false => w.as_ref().and_then(Windower::deadline),
        };
        let arm = |at: Option<i64>| at.map(|at| (at, clock.sleep_until(at)));
        let mut timer: Option<(i64, Sleep)> = arm(deadline(&windower));
        loop {
            // A timer's wake-up is work in progress until its results are queued (the token).
            let (batch, _wake) = tokio::select! {
                batch = input.next() => match batch {
                    Some(batch) => (Some(batch), None),
                    // The rule stops: a window still open is not emitted, as in eKuiper.
                    None => break,
                },
                token = async {
                    match timer.as_mut() {
                        Some((_, sleep)) => sleep.as_mut().await,
                        None => std::future::pending().await,
                    }
                } => (None, Some(token)),
            };
            let received = batch.is_some();
            let now = clock.now_ms();
            let mut closed = Vec::new();
            // `sendError` rows for rows that failed on their way into the window.
            let mut results = Vec::new();
            match (&mut windower, batch) {
                (Some(_), Some((emitter, batch))) if self.is_table(emitter) => {
                    if let Some(m) = &self.window_metrics {
                        m.add_in(batch.len(), now);
                    }
                    self.update_table(emitter, batch);
                }
                (Some(w), Some((emitter, batch))) if event_time.is_some() => {
                    if let Some(m) = &self.window_metrics {
                        m.add_in(batch.len(), now);
                    }
                    // Each row moves the watermark first: whatever closes by then closes
                    // without it (a row is never before the watermark: that row is late).
                    if let Some(et) = event_time.as_mut() {
                        for tuple in owned(batch) {
                            let time = match et
                                .timestamp(emitter, &tuple)
                                .and_then(|t| et.observe(emitter, t).map(|()| t))
                            {
                                Ok(time) => time,
                                Err(e) => {
                                    self.failed(&RowError::Where(e), now, &mut results);
                                    continue;
                                }
                            };
                            let watermark = et.watermark().unwrap_or(time);
                            closed.extend(w.advance(watermark));
                            let Some(item) = self.input(emitter, tuple, time, now, &mut results)
                            else {
                                continue;
                            };
                            let (windows, errors) = w.add([(time, item)], watermark, clock);
                            closed.extend(windows);
                            for e in errors {
                                self.failed(&RowError::Where(e), now, &mut results);
                            }
                        }
                        if let Some(watermark) = et.watermark() {
                            closed.extend(w.advance(watermark));
                        }
                    }
                }
                (Some(w), batch) => {
                    closed.extend(w.advance(now));
                    if let Some((emitter, batch)) = batch {
                        if let Some(m) = &self.window_metrics {
                            m.add_in(batch.len(), now);
                        }
                        let mut items = Vec::with_capacity(batch.len());
                        for tuple in owned(batch) {
                            if let Some(item) = self.input(emitter, tuple, now, now, &mut results) {
                                items.push((now, item));
                            }
                        }
                        let (windows, errors) = w.add(items, now, clock);
                        closed.extend(windows);
                        for e in errors {
                            self.failed(&RowError::Where(e), now, &mut results);
                        }
                    }
                }
                (None, Some((emitter, batch))) => {
                    if let Some(m) = &self.window_metrics {
                        m.add_in(batch.len(), now);
                    }
                    if self.is_table(emitter) {
                        self.update_table(emitter, batch);
                    } else {
                        // Each row is a collection of its own, joined with the tables; its
                        // time is its timestamp in event time, else its arrival.
                        for tuple in owned(batch) {
                            let at = match (&event_time, self.plan.reads_time()) {
                                (Some(et), true) => match et.timestamp(emitter, &tuple) {
                                    Ok(at) => at,
                                    Err(e) => {
                                        self.failed(&RowError::Where(e), now, &mut results);
                                        continue;
                                    }
                                },
                                _ => now,
                            };
                            let Some(item) = self.input(emitter, tuple, at, now, &mut results)
                            else {
                                continue;
                            };
                            let mut rows = vec![item];
                            rows.extend(self.table_rows());
                            closed.push(ClosedWindow {
                                start: at,
                                end: at,
                                rows,
                                groups: None,
                            });
                        }
                    }
                }
                (None, None) => {}
            }
            results.extend(self.evaluate(closed, incremental.as_deref(), now));
            send(sinks, results).await;
            // The next timer is set before this round's work counts as done, so that whoever
            // waits for the engine to settle finds it set.
            let next = deadline(&windower);
            if !received || timer.as_ref().map(|(at, _)| *at) != next {
                timer = arm(next);
            }
            if received {
                self.activity.end(1);
            }
            drop(_wake);
        }
    }

    fn is_table(&self, emitter: usize) -> bool {
        matches!(self.tables.get(emitter), Some(Some(_)))
    }

    /// A table's rows update it, and produce nothing.
    fn update_table(&mut self, emitter: usize, batch: RowBatch) {
        if let Some(Some(table)) = self.tables.get_mut(emitter) {
            for tuple in owned(batch) {
                table.update(tuple);
            }
        }
    }

    /// The rows of every table, as they stand, to join with.
    fn table_rows(&self) -> Vec<Input> {
        let mut rows = Vec::new();
        for (i, table) in self.tables.iter().enumerate() {
            if let Some(table) = table {
                rows.extend(table.rows().map(|t| Input::new(i, t.clone())));
            }
        }
        rows
    }

    /// A row of a stream as the statement takes it: with its analytic function results, which
    /// run over the rows of the first stream in FROM as they arrive, before WHERE and the
    /// window, as in eKuiper. A row whose analytic functions fail is reported and left out.
    /// `time` is the row's: its timestamp in event time, else its arrival.
    fn input(
        &self,
        emitter: usize,
        tuple: Tuple,
        time: i64,
        now: i64,
        results: &mut Vec<Value>,
    ) -> Option<Input> {
        let mut input = Input::new(emitter, tuple);
        input.time = Some(time);
        if emitter == 0 && !self.plan.analytics.is_empty() {
            match self.plan.analyze(&input.tuple, self.clock.as_ref()) {
                Ok(values) => input.analytics = values,
                Err(e) => {
                    self.failed(&e, now, results);
                    return None;
                }
            }
        }
        Some(input)
    }

    /// Runs the statement over each closed collection: from its groups when it aggregated as
    /// rows arrived and they are complete, else over its rows.
    fn evaluate(
        &self,
        closed: Vec<ClosedWindow>,
        incremental: Option<&IncrementalPlan>,
        now: i64,
    ) -> Vec<Value> {
        let mut results = Vec::new();
        let windowed = self.plan.window.is_some();
        for mut window in closed {
            let started = Instant::now();
            if let Some(m) = &self.window_metrics {
                m.add_out(window.rows.len());
            }
            self.project_metrics.add_in(window.rows.len(), now);
            if windowed {
                // A window's rows are joined with the tables as they stand when it closes.
                window.rows.extend(self.table_rows());
            }
            let bounds = windowed.then_some((window.start, window.end));
            let from_groups = match (window.groups.take(), incremental) {
                (Some(groups), Some(plan)) => plan.evaluate(
                    groups,
                    &window.rows,
                    bounds,
                    window.end,
                    self.clock.as_ref(),
                    self.send_nil,
                    self.send_meta,
                ),
                _ => None,
            };
            let out = from_groups.unwrap_or_else(|| {
                self.plan.evaluate(
                    &window.rows,
                    bounds,
                    window.end,
                    self.clock.as_ref(),
                    self.send_nil,
                    self.send_meta,
                )
            });
            for error in &out.errors {
                self.failed(error, now, &mut results);
            }
            if !out.rows.is_empty() {
                self.project_metrics.add_out(1);
                // Into a vector of its own: collected in place, the rows' buffer would be
                // reallocated (copied) to the values' smaller size.
                let mut values = Vec::with_capacity(out.rows.len());
                values.extend(out.rows.into_iter().map(Value::object));
                results.push(Value::array(values));
            }
            self.project_metrics
                .set_latency(started.elapsed(), window.rows.len());
        }
        results
    }

    /// Counts a failed row (or group) on the operator at fault, logs it now and then, and with
    /// `sendError` passes `{"error": message}` on.
    fn failed(&self, error: &RowError, now: i64, results: &mut Vec<Value>) {
        let (metrics, message) = match error {
            RowError::Where(m) => (
                self.filter_metrics
                    .as_ref()
                    .or(self.window_metrics.as_ref()),
                m,
            ),
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
            row.insert(Key::from("error"), Value::string(message));
            results.push(Value::array(vec![Value::object(row)]));
        }
    }
}

/// A rule's input, taken a few batches at a time.
///
/// When the source is ahead of the rule, its channel is full and the source waits. Taking one
/// batch frees one place and wakes the source for that one batch, and a source woken on the
/// rule's core takes the core from the rule (bench/README.md: a windowed rule into a Python
/// sink was preempted about once a window). Taking every batch that waits frees every place
/// at once: the source is woken once and fills them in one go.
struct Inbox {
    input: mpsc::Receiver<(usize, RowBatch)>,
    /// Batches taken and not yet handed out, the next one last.
    taken: Vec<(usize, RowBatch)>,
}

impl Inbox {
    /// At most this many batches taken at once.
    const TAKE: usize = 64;

    fn new(input: mpsc::Receiver<(usize, RowBatch)>) -> Inbox {
        Inbox {
            input,
            taken: Vec::new(),
        }
    }

    /// The next batch; `None` once the input is closed and drained. Cancel safe, as
    /// `recv_many` is: a batch is either handed out or kept for the next call.
    async fn next(&mut self) -> Option<(usize, RowBatch)> {
        if self.taken.is_empty() {
            if self.input.recv_many(&mut self.taken, Self::TAKE).await == 0 {
                return None;
            }
            self.taken.reverse();
        } else {
            // A batch taken counts against the task's budget as a batch received would, so
            // that a rule kept busy still lets the tasks beside it (its sinks) run; without
            // this, a windowed rule queued every result it made for its sink before the sink
            // had a turn (peak RSS went from 60 to 113 MB in bench/'s windows scenario).
            // Before the batch is taken, so that the batch stays here if this yields and the
            // caller gives up on it.
            tokio::task::coop::consume_budget().await;
        }
        self.taken.pop()
    }
}

/// The batch's rows to keep: taken as they are when no one else holds the batch (a source's
/// own batches), copied otherwise (a memory topic's, shared with other rules).
fn owned(batch: RowBatch) -> Vec<Tuple> {
    Arc::try_unwrap(batch).unwrap_or_else(|shared| (*shared).clone())
}

/// Hands results to every action's queue (the last one takes them, the others copies).
async fn send(sinks: &[Arc<ActionQueue>], mut results: Vec<Value>) {
    if results.is_empty() {
        return;
    }
    let last = sinks.len().saturating_sub(1);
    for (i, queue) in sinks.iter().enumerate() {
        let items = if i == last {
            std::mem::take(&mut results)
        } else {
            results.clone()
        };
        queue.push(items).await;
    }
}
