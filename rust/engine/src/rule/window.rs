//! A rule's window: which rows each window holds and when it closes.
//!
//! The window keeps the rows it may still need, each with its time, in time order, and says
//! when it next needs time to pass. In processing time a row's time is when it arrived and time
//! is the clock's; in event time a row's time is its timestamp and time is the watermark. Rows
//! are handed to it with their time, and time as it passes; it answers with the windows that
//! closed. It knows nothing of SQL beyond the window itself: WHERE, GROUP BY and the rest run
//! over each closed window afterwards, except for statements that aggregate as rows arrive
//! ([`IncrementalPlan`]): then a tumbling or hopping window also hands each row to the groups
//! of every window it falls in, and a closed window carries its groups along with its rows.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::clock::Clock;
use crate::sql::expr::{EvalContext, Expr, RowInfo};
use crate::sql::hits::Hits;
use crate::sql::window::{WindowKind, WindowSpec};
use crate::sql::{IncrementalPlan, Input, PartialGroups};

/// A window that closed: its rows, and its start and end (Unix ms; end exclusive for time
/// windows, the last row's time for count and sliding windows).
#[derive(Debug)]
pub struct ClosedWindow {
    pub start: i64,
    pub end: i64,
    pub rows: Vec<Item>,
    /// Its groups, when the statement aggregates as rows arrive.
    pub groups: Option<PartialGroups>,
}

/// A row in a window, with the index of its stream in the rule's FROM and its analytic
/// function results.
pub type Item = Input;

#[derive(Debug)]
pub struct Windower {
    kind: WindowKind,
    filter: Option<Expr>,
    /// Sliding windows: only rows that meet it close a window.
    trigger: Option<Expr>,
    /// The rows that met the trigger, for `last_hit_count()` and `last_hit_time()` in it.
    trigger_hits: Option<Arc<Hits>>,
    /// State windows: the begin and emit conditions, and whether one is open.
    state: Option<(Expr, Expr)>,
    state_open: bool,
    /// Rows that a window may still need, with their arrival time, oldest first.
    rows: VecDeque<(i64, Item)>,
    /// When the next time window closes (tumbling, hopping), or the pending sliding triggers.
    next_end: Option<i64>,
    sliding_due: VecDeque<i64>,
    /// The open session: its first row's time.
    session_start: Option<i64>,
    /// Rows since the last count window.
    counted: usize,
    /// Event time: rows may come out of order, and every window waits for the watermark.
    event_time: bool,
    /// Aggregation as rows arrive (tumbling and hopping windows), and the groups of each
    /// window with rows, by its end, earliest first.
    incremental: Option<Arc<IncrementalPlan>>,
    partials: VecDeque<(i64, PartialGroups)>,
    /// How many groups the last window closed had: room to make for the next.
    groups_seen: usize,
}

/// The first multiple of `step` after `now`: time windows align to natural time.
fn next_boundary(now: i64, step: i64) -> i64 {
    (now.div_euclid(step) + 1) * step
}

impl Windower {
    /// A window in processing time, from `now` on.
    pub fn new(spec: &WindowSpec, now: i64) -> Windower {
        let mut windower = Windower::event_time(spec);
        windower.event_time = false;
        windower.next_end = windower.first_end(now);
        windower
    }

    /// A window in event time: its first window is the one of the first row.
    pub fn event_time(spec: &WindowSpec) -> Windower {
        Windower {
            kind: spec.kind.clone(),
            filter: spec.filter.clone(),
            trigger: spec.trigger.clone(),
            trigger_hits: spec.trigger_hits.clone(),
            state: spec.state.clone(),
            state_open: false,
            rows: VecDeque::new(),
            next_end: None,
            sliding_due: VecDeque::new(),
            session_start: None,
            counted: 0,
            event_time: true,
            incremental: None,
            partials: VecDeque::new(),
            groups_seen: 0,
        }
    }

    /// Aggregates as rows arrive, as `plan` says (tumbling and hopping windows only).
    pub fn with_incremental(mut self, plan: Option<Arc<IncrementalPlan>>) -> Windower {
        if matches!(
            self.kind,
            WindowKind::Tumbling { .. } | WindowKind::Hopping { .. }
        ) {
            self.incremental = plan;
        }
        self
    }

    /// The groups of the window that ends at `end`, which closes now; those of windows that
    /// ended before, had there been any, are of no more use.
    fn take_groups(&mut self, end: i64) -> Option<PartialGroups> {
        while let Some((e, groups)) = self.partials.pop_front() {
            if e == end {
                self.groups_seen = groups.len();
                return Some(groups);
            }
            if e > end {
                self.partials.push_front((e, groups));
                break;
            }
        }
        None
    }

    /// Hands a row just taken (at `at` among the rows) to the groups of each window that will
    /// hold it: the windows that close from `next_end` on, every `step`, whose span covers its
    /// time (as [`Windower::advance`] will take them).
    fn accumulate(&mut self, at: usize, clock: &dyn Clock) {
        let (Some(plan), Some(next_end)) = (&self.incremental, self.next_end) else {
            return;
        };
        let (length, step) = match self.kind {
            WindowKind::Tumbling { length } => (length, length),
            WindowKind::Hopping { length, hop } => (length, hop),
            _ => return,
        };
        let Some((time, item)) = self.rows.get(at) else {
            return;
        };
        let time = *time;
        let tumbling = matches!(self.kind, WindowKind::Tumbling { .. });
        let mut end = next_end.max(next_boundary(time, step));
        // A tumbling window takes every row before its end; a hopping one those in its span.
        while tumbling || end - length <= time {
            // Usually the latest window: looked at first.
            let slot = match self.partials.back() {
                Some((last, _)) if *last == end => self.partials.len() - 1,
                _ => self.partials.partition_point(|(e, _)| *e < end),
            };
            if self.partials.get(slot).is_none_or(|(e, _)| *e != end) {
                let groups = plan.groups(self.groups_seen);
                self.partials.insert(slot, (end, groups));
            }
            if let Some((_, groups)) = self.partials.get_mut(slot) {
                plan.add(groups, item, time, clock);
            }
            if tumbling {
                break;
            }
            end += step;
        }
    }

    fn first_end(&self, time: i64) -> Option<i64> {
        match self.kind {
            WindowKind::Tumbling { length } => Some(next_boundary(time, length)),
            WindowKind::Hopping { hop, .. } => Some(next_boundary(time, hop)),
            _ => None,
        }
    }

    /// When the window next needs the clock, if it waits on time.
    pub fn deadline(&self) -> Option<i64> {
        match self.kind {
            WindowKind::Tumbling { .. } | WindowKind::Hopping { .. } => self.next_end,
            WindowKind::Sliding { .. } => self.sliding_due.front().copied(),
            WindowKind::Session { max, timeout } => {
                let start = self.session_start?;
                let last = self.rows.back().map_or(start, |(t, _)| *t);
                Some((last + timeout).min(start + max))
            }
            WindowKind::Count { .. } | WindowKind::State => None,
        }
    }

    /// The time is now `now`: the windows that closed by then, oldest first.
    #[inline]
    pub fn advance(&mut self, now: i64) -> Vec<ClosedWindow> {
        // In event time this runs for every row, and a time window is seldom due.
        let time_window = matches!(
            self.kind,
            WindowKind::Tumbling { .. } | WindowKind::Hopping { .. }
        );
        if time_window && self.next_end.is_none_or(|end| end > now) {
            return Vec::new();
        }
        self.close_by(now)
    }

    fn close_by(&mut self, now: i64) -> Vec<ClosedWindow> {
        let mut closed = Vec::new();
        match self.kind {
            WindowKind::Tumbling { length } => {
                while let Some(end) = self.next_end.filter(|end| *end <= now) {
                    let rows = self.take_before(end);
                    let groups = self.take_groups(end);
                    if !rows.is_empty() {
                        closed.push(ClosedWindow {
                            start: end - length,
                            end,
                            rows,
                            groups,
                        });
                    }
                    // With no rows buffered, skip straight to the window that holds `now`.
                    self.next_end = Some(if self.rows.is_empty() {
                        next_boundary(now, length)
                    } else {
                        end + length
                    });
                }
            }
            WindowKind::Hopping { length, hop } => {
                while let Some(end) = self.next_end.filter(|end| *end <= now) {
                    let start = end - length;
                    let rows: Vec<Item> = self
                        .rows
                        .iter()
                        .filter(|(t, _)| *t >= start && *t < end)
                        .map(|(_, item)| item.clone())
                        .collect();
                    let groups = self.take_groups(end);
                    if !rows.is_empty() {
                        closed.push(ClosedWindow {
                            start,
                            end,
                            rows,
                            groups,
                        });
                    }
                    // Rows before the next window's start are needed no more.
                    let next_start = end + hop - length;
                    while self.rows.front().is_some_and(|(t, _)| *t < next_start) {
                        self.rows.pop_front();
                    }
                    self.next_end = Some(if self.rows.is_empty() {
                        next_boundary(now, hop)
                    } else {
                        end + hop
                    });
                }
            }
            WindowKind::Sliding { length, delay } => {
                while let Some(due) = self.sliding_due.front().copied().filter(|d| *d <= now) {
                    self.sliding_due.pop_front();
                    let trigger = due - delay;
                    closed.push(self.sliding(trigger - length, due));
                }
                self.prune_sliding(length, delay, now);
            }
            WindowKind::Session { .. } => {
                if let Some(end) = self.deadline().filter(|end| *end <= now) {
                    let start = self.session_start.take().unwrap_or(end);
                    let rows = self.take_before(end);
                    if !rows.is_empty() {
                        closed.push(ClosedWindow {
                            start,
                            end,
                            rows,
                            groups: None,
                        });
                    }
                    // Rows after a session that ended at its maximum open the next one.
                    self.session_start = self.rows.front().map(|(t, _)| *t);
                }
            }
            WindowKind::Count { .. } | WindowKind::State => {}
        }
        closed
    }

    /// Rows with their times (in processing time, all `now`; call [`Windower::advance`] with
    /// `now` first): the windows they close (count windows, and sliding windows without delay
    /// in processing time).
    pub fn add(
        &mut self,
        items: impl IntoIterator<Item = (i64, Item)>,
        now: i64,
        clock: &dyn Clock,
    ) -> (Vec<ClosedWindow>, Vec<String>) {
        let mut closed = Vec::new();
        let mut errors = Vec::new();
        for (time, item) in items {
            // Conditions here see the row, its analytic results (computed before the window)
            // and its time.
            let tuple = &item.tuple;
            let analytics = item.analytics.as_slice();
            let info = RowInfo {
                event_time: Some(time),
                ..RowInfo::default()
            };
            let row_ctx = || {
                EvalContext::row(&tuple.row, tuple.meta.as_deref(), clock)
                    .with_analytics(analytics)
                    .with_info(info)
            };
            if let Some(filter) = &self.filter {
                let ctx = row_ctx();
                match filter.eval_condition(&ctx) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        errors.push(format!("run Window Filter error: {e}"));
                        continue;
                    }
                }
            }
            if self.next_end.is_none() {
                self.next_end = self.first_end(time);
            }
            if let Some((begin, emit)) = &self.state {
                let ctx = row_ctx();
                if !self.state_open {
                    match begin.eval_condition(&ctx) {
                        Ok(true) => self.state_open = true,
                        Ok(false) => continue,
                        Err(e) => {
                            errors.push(format!("run State Window begin error: {e}"));
                            continue;
                        }
                    }
                }
                let emits = emit.eval_condition(&ctx);
                self.rows.push_back((time, item));
                match emits {
                    Ok(true) => {
                        self.state_open = false;
                        let start = self.rows.front().map_or(time, |(t, _)| *t);
                        let rows = self.rows.drain(..).map(|(_, item)| item).collect();
                        closed.push(ClosedWindow {
                            start,
                            end: time,
                            rows,
                            groups: None,
                        });
                    }
                    Ok(false) => {}
                    Err(e) => errors.push(format!("run State Window emit error: {e}")),
                }
                continue;
            }
            // A sliding window's WHEN: whether this row closes a window.
            let triggers = match &self.trigger {
                None => true,
                Some(trigger) => {
                    // The trigger reads the hits before this row; a row that meets it is one.
                    let ctx = match &self.trigger_hits {
                        Some(hits) => row_ctx().with_info(hits.before(info)),
                        None => row_ctx(),
                    };
                    let met = trigger.eval_condition(&ctx).unwrap_or_else(|e| {
                        errors.push(format!("run Window Trigger error: {e}"));
                        false
                    });
                    if let (true, Some(hits)) = (met, &self.trigger_hits) {
                        hits.hit(Some(time));
                    }
                    met
                }
            };
            // Rows come in time order, except out-of-order rows in event time.
            let at = match self.rows.back() {
                Some((last, _)) if *last > time => {
                    let at = self.rows.partition_point(|(t, _)| *t <= time);
                    self.rows.insert(at, (time, item));
                    at
                }
                _ => {
                    self.rows.push_back((time, item));
                    self.rows.len() - 1
                }
            };
            self.accumulate(at, clock);
            match self.kind {
                WindowKind::Sliding { length, delay } => {
                    if !triggers {
                        continue;
                    }
                    if delay == 0 && !self.event_time {
                        closed.push(self.sliding(time - length, time));
                    } else {
                        let due = time + delay;
                        let at = self.sliding_due.partition_point(|d| *d <= due);
                        self.sliding_due.insert(at, due);
                    }
                }
                WindowKind::Session { .. } => {
                    let start = self.session_start.get_or_insert(time);
                    *start = (*start).min(time);
                }
                WindowKind::Count { count, interval } => {
                    self.counted += 1;
                    let every = interval.unwrap_or(count);
                    if self.counted >= every {
                        self.counted = 0;
                        while self.rows.len() > count {
                            self.rows.pop_front();
                        }
                        let start = self.rows.front().map_or(time, |(t, _)| *t);
                        let end = self.rows.back().map_or(time, |(t, _)| *t);
                        let rows: Vec<Item> = if interval.is_some() {
                            self.rows.iter().map(|(_, item)| item.clone()).collect()
                        } else {
                            self.rows.drain(..).map(|(_, item)| item).collect()
                        };
                        closed.push(ClosedWindow {
                            start,
                            end,
                            rows,
                            groups: None,
                        });
                    }
                }
                WindowKind::Tumbling { .. } | WindowKind::Hopping { .. } | WindowKind::State => {}
            }
        }
        if let WindowKind::Sliding { length, delay } = self.kind {
            self.prune_sliding(length, delay, now);
        }
        if let WindowKind::Count { count, .. } = self.kind {
            while self.rows.len() > count {
                self.rows.pop_front();
            }
        }
        (closed, errors)
    }

    /// The rows of a sliding window: after `start`, up to and including `end`.
    fn sliding(&self, start: i64, end: i64) -> ClosedWindow {
        ClosedWindow {
            start,
            end,
            groups: None,
            rows: self
                .rows
                .iter()
                .filter(|(t, _)| *t > start && *t <= end)
                .map(|(_, item)| item.clone())
                .collect(),
        }
    }

    /// Keeps the rows a pending or future sliding window may still need.
    fn prune_sliding(&mut self, length: i64, delay: i64, now: i64) {
        let oldest_trigger = self
            .sliding_due
            .front()
            .map_or(now, |due| due.saturating_sub(delay));
        let keep_after = oldest_trigger.min(now).saturating_sub(length);
        while self.rows.front().is_some_and(|(t, _)| *t <= keep_after) {
            self.rows.pop_front();
        }
    }

    /// Removes and returns the rows that arrived before `end`.
    fn take_before(&mut self, end: i64) -> Vec<Item> {
        // Counted first, so that the window's rows are moved once into a vector of their size
        // (pushed one by one, a window of a thousand rows was copied ten times over as it grew).
        let count = self
            .rows
            .iter()
            .position(|(t, _)| *t >= end)
            .unwrap_or(self.rows.len());
        self.rows.drain(..count).map(|(_, item)| item).collect()
    }
}
