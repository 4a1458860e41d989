//! A compiled SELECT and how it turns one input row into zero or one result row.

use std::cmp::Ordering;

use crate::clock::Clock;
use crate::value::{Key, Map, Row, Tuple, Value, intern};

use std::sync::Arc;

use super::analytic::AnalyticCall;
use super::changed_cols::ChangedCols;
use super::expr::{EvalContext, Expr, RowInfo};
use super::group_key::{GroupIndex, GroupKey};
use super::hits::Hits;
use super::numbering::Numbering;
use super::window::WindowSpec;

/// One item of the select list.
#[derive(Debug, Clone)]
pub enum SelectField {
    /// `*` or `stream.*`: every field of the input row, as it came.
    Wildcard,
    /// `stream.*` in a rule that joins streams: that stream's fields (its index in FROM).
    StreamWildcard(usize),
    /// `* EXCEPT (...) REPLACE (...)`: the row's fields but some, and some computed anew.
    WildcardExcept {
        except: Vec<Key>,
        replace: Vec<(Key, Expr)>,
    },
    Expr {
        name: Key,
        expr: Expr,
    },
    /// `unnest(array)`: one result row per element (an object's keys become columns).
    Unnest {
        name: Key,
        expr: Expr,
    },
    /// `changed_cols(prefix, ignoreNull, ...)`: the columns that changed since the last result.
    ChangedCols(Arc<ChangedCols>),
}

/// A rule's compiled statement.
#[derive(Debug, Clone)]
pub struct SelectPlan {
    pub sql: String,
    /// The streams read: the one in FROM, then one per JOIN.
    pub streams: Vec<String>,
    /// How each stream after the first joins the ones before it.
    pub joins: Vec<Join>,
    pub fields: Vec<SelectField>,
    pub condition: Option<Expr>,
    /// Whether a `*` is among the fields, which sizes the result row.
    pub has_wildcard: bool,
    /// The columns the statement reads, of any of its streams, when it reads only named
    /// columns (no `*`): a source that decodes for this rule alone may skip the other fields.
    pub columns_read: Option<Vec<Key>>,
    /// Whether the select list is only named expressions with distinct names: a result row
    /// is then built without looking for a name already set.
    pub distinct_names: bool,
    /// The window in GROUP BY, if any.
    pub window: Option<WindowSpec>,
    /// GROUP BY's other expressions.
    pub group_by: Vec<Expr>,
    /// Whether rows are grouped: GROUP BY keys, or an aggregate in the select list or HAVING
    /// (then all of a window's rows are one group).
    pub aggregate: bool,
    pub having: Option<Expr>,
    /// ORDER BY: expressions, descending or not.
    pub order_by: Vec<(Expr, bool)>,
    pub limit: Option<usize>,
    /// The analytic calls, in the order they are computed (inner calls first).
    pub analytics: Vec<Arc<AnalyticCall>>,
    /// The counts behind `last_hit_*` (rows that passed WHERE) or `last_agg_hit_*` (groups
    /// that passed HAVING), when the statement reads them.
    pub hits: Option<Arc<Hits>>,
    /// Whether `event_time()` is read: rows then need their time.
    pub reads_event_time: bool,
    /// `row_number() OVER (...)`: how results are numbered, when not in their order.
    pub numbering: Option<Numbering>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
    Cross,
}

#[derive(Debug, Clone)]
pub struct Join {
    pub kind: JoinKind,
    /// ON; none for CROSS JOIN.
    pub on: Option<Expr>,
}

/// A row as a rule's statement takes it in: its stream's index in FROM, the row, and its
/// analytic function results, computed when it arrived (before WHERE and any window).
#[derive(Debug, Clone)]
pub struct Input {
    pub stream: usize,
    pub tuple: Tuple,
    pub analytics: Vec<Value>,
    /// The row's time (its timestamp in event time, else its arrival), for `event_time()`;
    /// none for a table's rows.
    pub time: Option<i64>,
}

impl Input {
    pub fn new(stream: usize, tuple: Tuple) -> Input {
        Input {
            stream,
            tuple,
            analytics: Vec::new(),
            time: None,
        }
    }
}

/// One input of the statement: a row, or a row of a join (a row, or none, per stream).
#[derive(Debug, Clone, Copy)]
pub struct Unit<'a> {
    /// The row; for a join, the first stream's row that is there.
    pub tuple: &'a Tuple,
    pub parts: Option<&'a [Option<&'a Tuple>]>,
    /// The row's analytic function results, computed when it arrived.
    pub analytics: &'a [Value],
    /// The row's time, when it is known.
    pub time: Option<i64>,
}

impl<'a> Unit<'a> {
    pub(super) fn context(
        &self,
        clock: &'a dyn Clock,
        window: Option<(i64, i64)>,
        info: RowInfo,
    ) -> EvalContext<'a> {
        EvalContext {
            row: &self.tuple.row,
            meta: self.tuple.meta.as_deref(),
            clock,
            parts: self.parts,
            group: None,
            window,
            analytics: self.analytics,
            info,
        }
    }
}

/// Where a row failed, for the metrics of the operator at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowError {
    Where(String),
    Select(String),
}

/// What one window produced: its result rows, and the rows or groups that failed.
#[derive(Debug, Default)]
pub struct WindowResult {
    pub rows: Vec<Row>,
    pub errors: Vec<RowError>,
}

impl SelectPlan {
    pub fn has_condition(&self) -> bool {
        self.condition.is_some()
    }

    /// Whether results come from collections of rows (a window, or groups) rather than one row
    /// at a time.
    pub fn collects(&self) -> bool {
        self.window.is_some() || self.aggregate || !self.joins.is_empty()
    }

    /// The row's analytic function results, updating their state: for every row, before WHERE.
    pub fn analyze(&self, tuple: &Tuple, clock: &dyn Clock) -> Result<Vec<Value>, RowError> {
        let mut values = Vec::with_capacity(self.analytics.len());
        for call in &self.analytics {
            let ctx =
                EvalContext::row(&tuple.row, tuple.meta.as_deref(), clock).with_analytics(&values);
            let value = call.compute(&ctx).map_err(|e| {
                RowError::Where(format!("run Analytic error: {}(): {e}", call.name))
            })?;
            values.push(value);
        }
        Ok(values)
    }

    /// Whether the WHERE clause lets `row` through (`analytics`: its analytic results), outside
    /// a rule: the rule's counts and the row's time are for [`SelectPlan::run_row`].
    pub fn filter(
        &self,
        tuple: &Tuple,
        analytics: &[Value],
        clock: &dyn Clock,
    ) -> Result<bool, RowError> {
        self.filter_in(
            &EvalContext::row(&tuple.row, tuple.meta.as_deref(), clock).with_analytics(analytics),
        )
    }

    fn filter_in(&self, ctx: &EvalContext<'_>) -> Result<bool, RowError> {
        match &self.condition {
            None => Ok(true),
            Some(cond) => cond
                .eval_condition(ctx)
                .map_err(|e| RowError::Where(format!("run Where error: {e}"))),
        }
    }

    /// Builds the result row. Null results are left out unless `send_nil` (the rule option
    /// `sendNilField`) is set; fields taken by `*` pass through as they came, as in eKuiper.
    /// With `send_meta` (the rule option `sendMetaToSink`), the tuple's metadata goes along
    /// under `__meta`, as in eKuiper.
    pub fn project(
        &self,
        tuple: &Tuple,
        analytics: &[Value],
        clock: &dyn Clock,
        send_nil: bool,
        send_meta: bool,
    ) -> Result<Row, RowError> {
        let ctx =
            EvalContext::row(&tuple.row, tuple.meta.as_deref(), clock).with_analytics(analytics);
        let unit = Unit {
            tuple,
            parts: None,
            analytics,
            time: None,
        };
        self.project_in(&ctx, unit, send_nil, send_meta)
    }

    pub(super) fn project_in(
        &self,
        ctx: &EvalContext<'_>,
        unit: Unit<'_>,
        send_nil: bool,
        send_meta: bool,
    ) -> Result<Row, RowError> {
        let row = &unit.tuple.row;
        let capacity = match self.has_wildcard {
            true => self.fields.len() + row.len(),
            false => self.fields.len(),
        };
        let mut out = Map::with_capacity(capacity);
        for field in &self.fields {
            match field {
                SelectField::Wildcard => match unit.parts {
                    None => {
                        for (k, v) in row.iter() {
                            out.insert(k.clone(), v.clone());
                        }
                    }
                    // Over a join, every stream's fields; the first stream's win a clash.
                    Some(parts) => {
                        for part in parts.iter().flatten() {
                            for (k, v) in part.row.iter() {
                                if out.get(k).is_none() {
                                    out.insert(k.clone(), v.clone());
                                }
                            }
                        }
                    }
                },
                SelectField::WildcardExcept { except, replace } => {
                    let fields = match unit.parts {
                        None => vec![unit.tuple],
                        Some(parts) => parts.iter().flatten().copied().collect(),
                    };
                    for (k, v) in fields.iter().flat_map(|t| t.row.iter()) {
                        if except.iter().any(|e| e.eq_ignore_ascii_case(k)) || out.get(k).is_some()
                        {
                            continue;
                        }
                        match replace
                            .iter()
                            .find(|(name, _)| name.eq_ignore_ascii_case(k))
                        {
                            Some((_, expr)) => {
                                let value = expr.eval(ctx).map_err(|e| {
                                    RowError::Select(format!("run Select error: {k}: {e}"))
                                })?;
                                out.insert(k.clone(), value);
                            }
                            None => out.insert(k.clone(), v.clone()),
                        }
                    }
                }
                SelectField::StreamWildcard(stream) => {
                    let part = match unit.parts {
                        None => Some(unit.tuple),
                        Some(parts) => parts.get(*stream).copied().flatten(),
                    };
                    for (k, v) in part.iter().flat_map(|t| t.row.iter()) {
                        out.insert(k.clone(), v.clone());
                    }
                }
                SelectField::Expr { name, expr } | SelectField::Unnest { name, expr } => {
                    let value = expr
                        .eval(ctx)
                        .map_err(|e| RowError::Select(format!("run Select error: {name}: {e}")))?;
                    match (send_nil || !value.is_null(), self.distinct_names) {
                        (false, _) => {}
                        (true, true) => out.push_unique(name.clone(), value),
                        (true, false) => out.insert(name.clone(), value),
                    }
                }
                SelectField::ChangedCols(changed) => changed
                    .project(ctx, unit, &mut out, send_nil)
                    .map_err(|e| {
                        RowError::Select(format!("run Select error: changed_cols: {e}"))
                    })?,
            }
        }
        if send_meta && let Some(meta) = &unit.tuple.meta {
            out.insert(intern(META_KEY), Value::Object(meta.clone()));
        }
        Ok(out)
    }

    /// Runs the statement over a window's rows (or one batch of rows grouped without a
    /// window), each tagged with its stream's index: JOIN, WHERE, GROUP BY, HAVING, SELECT,
    /// ORDER BY, LIMIT, in eKuiper's order. A row that fails WHERE, or a group that fails, is
    /// left out and reported.
    /// `at` is the collection's event time: its window's end, or its one row's time.
    pub fn evaluate(
        &self,
        rows: &[Input],
        window: Option<(i64, i64)>,
        at: i64,
        clock: &dyn Clock,
        send_nil: bool,
        send_meta: bool,
    ) -> WindowResult {
        let mut result = WindowResult::default();
        let info = RowInfo {
            event_time: Some(at),
            ..RowInfo::default()
        };
        let output = Output {
            window,
            info,
            clock,
            send_nil,
            send_meta,
        };
        if self.joins.is_empty() {
            let units: Vec<Unit<'_>> = rows
                .iter()
                .map(|input| Unit {
                    tuple: &input.tuple,
                    parts: None,
                    analytics: &input.analytics,
                    time: input.time,
                })
                .collect();
            self.evaluate_units(&units, &output, &mut result);
        } else {
            let joined = self.join(rows, window, clock, &mut result.errors);
            let units: Vec<Unit<'_>> = joined
                .iter()
                .filter_map(|(parts, first)| {
                    let tuple = parts.iter().flatten().next()?;
                    Some(Unit {
                        tuple,
                        parts: Some(parts.as_slice()),
                        analytics: first.map_or(&[], |f| f.analytics.as_slice()),
                        time: first.and_then(|f| f.time),
                    })
                })
                .collect();
            self.evaluate_units(&units, &output, &mut result);
        }
        result
    }

    /// The rows of the join, in eKuiper's way: the first stream's rows, joined with each next
    /// stream's in turn; each with its first stream's row (its analytic results and time).
    #[allow(
        clippy::type_complexity,
        reason = "a private step of evaluate, named by its parts"
    )]
    fn join<'t>(
        &self,
        rows: &'t [Input],
        window: Option<(i64, i64)>,
        clock: &dyn Clock,
        errors: &mut Vec<RowError>,
    ) -> Vec<(Vec<Option<&'t Tuple>>, Option<&'t Input>)> {
        let of = |emitter: usize| -> Vec<&'t Input> {
            rows.iter()
                .filter(|input| input.stream == emitter)
                .collect()
        };
        let mut joined: Vec<(Vec<Option<&Tuple>>, Option<&Input>)> = of(0)
            .into_iter()
            .map(|input| (vec![Some(&input.tuple)], Some(input)))
            .collect();
        for (i, join) in self.joins.iter().enumerate() {
            let right: Vec<&Tuple> = of(i + 1).into_iter().map(|input| &input.tuple).collect();
            let mut matched_right = vec![false; right.len()];
            let mut next = Vec::new();
            for (left, first) in &joined {
                let first: Option<&Input> = *first;
                let mut matched = false;
                for (j, r) in right.iter().enumerate() {
                    let mut candidate = left.clone();
                    candidate.push(Some(*r));
                    let keep = match &join.on {
                        None => true,
                        Some(on) => {
                            let unit = Unit {
                                tuple: candidate.iter().flatten().next().copied().unwrap_or(r),
                                parts: Some(&candidate),
                                analytics: first.map_or(&[], |f| f.analytics.as_slice()),
                                time: first.and_then(|f| f.time),
                            };
                            let info = RowInfo::default();
                            match on.eval_condition(&unit.context(clock, window, info)) {
                                Ok(keep) => keep,
                                Err(e) => {
                                    errors.push(RowError::Where(format!("run Join error: {e}")));
                                    false
                                }
                            }
                        }
                    };
                    if keep {
                        matched = true;
                        matched_right[j] = true;
                        next.push((candidate, first));
                    }
                }
                if !matched && matches!(join.kind, JoinKind::Left | JoinKind::Full) {
                    let mut row = left.clone();
                    row.push(None);
                    next.push((row, first));
                }
            }
            if matches!(join.kind, JoinKind::Right | JoinKind::Full) {
                for (j, r) in right.iter().enumerate() {
                    if !matched_right[j] {
                        let mut row = vec![None; i + 1];
                        row.push(Some(*r));
                        next.push((row, None));
                    }
                }
            }
            joined = next;
        }
        joined
    }

    fn evaluate_units(&self, units: &[Unit<'_>], out: &Output<'_>, result: &mut WindowResult) {
        let (window, clock, info) = (out.window, out.clock, out.info);
        let mut passed: Vec<Unit<'_>> = Vec::with_capacity(units.len());
        // WHERE, and a window's rows without aggregates, see each row's own time; a group's
        // time is its window's end (or its one row's).
        let own = |unit: &Unit<'_>| RowInfo {
            event_time: unit.time.or(info.event_time),
            ..info
        };
        for unit in units {
            match self.filter_in(&unit.context(clock, window, own(unit))) {
                Ok(true) => passed.push(*unit),
                Ok(false) => {}
                Err(e) => result.errors.push(e),
            }
        }
        // The results to make: a unit (the first row of its group) and, when rows are
        // grouped, its group. A group's time is its window's end, a lone row's its own.
        let groups = match self.aggregate {
            true => self.groups(&passed, clock, window, &mut result.errors),
            false => Vec::new(),
        };
        let members: Vec<Member<'_>> = match self.aggregate {
            true => groups.iter().map(|g| (g[0], Some(g.as_slice()))).collect(),
            false => passed.iter().map(|u| (*u, None)).collect(),
        };
        let context = |i: usize, info: RowInfo| {
            let (first, group) = members[i];
            EvalContext {
                group,
                ..first.context(clock, window, info)
            }
        };
        let firsts: Vec<Unit<'_>> = members.iter().map(|(first, _)| *first).collect();
        self.finish(&firsts, self.aggregate, context, out, result);
    }

    /// HAVING, row_number(), SELECT, ORDER BY, unnest() and LIMIT over a collection's results:
    /// `firsts` holds each result's unit (the first row of its group when `grouped`), and
    /// `context` gives a result's context.
    pub(super) fn finish<'c>(
        &self,
        firsts: &[Unit<'c>],
        grouped: bool,
        context: impl Fn(usize, RowInfo) -> EvalContext<'c>,
        out: &Output<'_>,
        result: &mut WindowResult,
    ) {
        let unnests = self
            .fields
            .iter()
            .any(|f| matches!(f, SelectField::Unnest { .. }));
        if self.order_by.is_empty() && self.numbering.is_none() && !unnests {
            return self.finish_in_order(firsts, grouped, context, out, result);
        }
        let mut kept: Vec<(usize, RowInfo)> = Vec::with_capacity(firsts.len());
        for (i, first) in firsts.iter().enumerate() {
            let passed = kept.len();
            if let Some(info) = self.passes_having(i, first, passed, grouped, &context, out, result)
            {
                kept.push((i, info));
            }
        }
        if let Some(numbering) = &self.numbering {
            kept = numbering.number(kept, &context, &mut result.errors);
        }
        // SELECT, and ORDER BY's keys.
        let mut ordered: Vec<(Vec<Value>, Row)> = Vec::with_capacity(kept.len());
        for (i, info) in kept {
            let ctx = context(i, info);
            let outcome = self
                .project_in(&ctx, firsts[i], out.send_nil, out.send_meta)
                .and_then(|row| {
                    let keys = self
                        .order_by
                        .iter()
                        .map(|(e, _)| e.eval(&ctx))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| RowError::Select(format!("run Order By error: {e}")))?;
                    Ok((keys, row))
                });
            match outcome {
                Ok(out) => ordered.push(out),
                Err(e) => result.errors.push(e),
            }
        }
        if !self.order_by.is_empty() {
            ordered.sort_by(|(a, _), (b, _)| {
                for ((x, y), (_, descending)) in a.iter().zip(b).zip(&self.order_by) {
                    let order = order_values(x, y);
                    if order != Ordering::Equal {
                        return if *descending { order.reverse() } else { order };
                    }
                }
                Ordering::Equal
            });
        }
        // unnest() makes rows of each result row, and LIMIT counts those, as in eKuiper.
        let mut rows = Vec::with_capacity(ordered.len());
        for (_, row) in ordered {
            if !unnests {
                rows.push(row);
                continue;
            }
            match self.unnest(row, out.send_nil) {
                Ok(more) => rows.extend(more),
                Err(e) => result.errors.push(e),
            }
        }
        if let Some(limit) = self.limit {
            rows.truncate(limit);
        }
        result.rows = rows;
    }

    /// [`SelectPlan::finish`] for a statement without ORDER BY, `row_number()` or `unnest()`:
    /// each unit that passes HAVING is projected as it comes, with no lists of survivors and of
    /// projected rows on the way (a window of a thousand groups made two of a thousand entries
    /// each). The same results and the same errors in the same order: HAVING's, then SELECT's.
    fn finish_in_order<'c>(
        &self,
        firsts: &[Unit<'c>],
        grouped: bool,
        context: impl Fn(usize, RowInfo) -> EvalContext<'c>,
        out: &Output<'_>,
        result: &mut WindowResult,
    ) {
        let mut rows = Vec::with_capacity(firsts.len());
        let mut select_errors = Vec::new();
        for (i, first) in firsts.iter().enumerate() {
            let passed = rows.len() + select_errors.len();
            let Some(info) = self.passes_having(i, first, passed, grouped, &context, out, result)
            else {
                continue;
            };
            match self.project_in(&context(i, info), *first, out.send_nil, out.send_meta) {
                Ok(row) => rows.push(row),
                Err(e) => select_errors.push(e),
            }
        }
        result.errors.append(&mut select_errors);
        if let Some(limit) = self.limit {
            rows.truncate(limit);
        }
        result.rows = rows;
    }

    /// HAVING over the `i`-th unit, `passed` units having passed before it, with the hit
    /// counts as they stood before (and row_number() as it would be): its row's information
    /// when it passes (and is counted as a hit), `None` when it does not or fails (reported).
    #[allow(
        clippy::too_many_arguments,
        reason = "finish's state, shared by its two ways"
    )]
    fn passes_having<'c>(
        &self,
        i: usize,
        unit: &Unit<'c>,
        passed: usize,
        grouped: bool,
        context: &impl Fn(usize, RowInfo) -> EvalContext<'c>,
        out: &Output<'_>,
        result: &mut WindowResult,
    ) -> Option<RowInfo> {
        let mut info = RowInfo {
            row_number: Some(passed as i64 + 1),
            ..match grouped {
                true => out.info,
                false => RowInfo {
                    event_time: unit.time.or(out.info.event_time),
                    ..out.info
                },
            }
        };
        if let Some(hits) = &self.hits {
            info = hits.before(info);
        }
        match self.having_in(&context(i, info)) {
            Ok(true) => {
                if let Some(hits) = &self.hits {
                    hits.hit(info.event_time);
                }
                Some(info)
            }
            Ok(false) => None,
            Err(e) => {
                result.errors.push(e);
                None
            }
        }
    }

    fn having_in(&self, ctx: &EvalContext<'_>) -> Result<bool, RowError> {
        match &self.having {
            None => Ok(true),
            Some(cond) => cond
                .eval_condition(ctx)
                .map_err(|e| RowError::Select(format!("run Having error: {e}"))),
        }
    }

    /// The rows by their GROUP BY keys, groups in the order of their first row; all rows in one
    /// group without GROUP BY (none when there are no rows).
    fn groups<'t>(
        &self,
        units: &[Unit<'t>],
        clock: &dyn Clock,
        window: Option<(i64, i64)>,
        errors: &mut Vec<RowError>,
    ) -> Vec<Vec<Unit<'t>>> {
        if self.group_by.is_empty() {
            return if units.is_empty() {
                Vec::new()
            } else {
                vec![units.to_vec()]
            };
        }
        let mut index = GroupIndex::default();
        let mut groups: Vec<Vec<Unit<'t>>> = Vec::new();
        for unit in units {
            let ctx = unit.context(clock, window, RowInfo::default());
            let keys = match self
                .group_by
                .iter()
                .map(|e| e.eval(&ctx))
                .collect::<Result<Vec<_>, _>>()
            {
                Ok(keys) => keys,
                Err(e) => {
                    errors.push(RowError::Select(format!("run Group By error: {e}")));
                    continue;
                }
            };
            let key = GroupKey::new(keys);
            let next = groups.len();
            let slot = *index.entry(key).or_insert(next);
            if slot == next {
                groups.push(Vec::new());
            }
            groups[slot].push(*unit);
        }
        groups
    }
}

/// A result to make: a unit (the first row of its group) and its group, if rows are grouped.
type Member<'a> = (Unit<'a>, Option<&'a [Unit<'a>]>);

/// ORDER BY's order: nulls first, then numbers, strings, booleans and times each among
/// themselves; values of different kinds by kind.
pub(super) fn order_values(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Int(_) | Value::Float(_) => 1,
            Value::String(_) => 2,
            Value::Bool(_) => 3,
            Value::Datetime(_) => 4,
            _ => 5,
        }
    }
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let f = |v: &Value| match v {
                Value::Int(i) => *i as f64,
                Value::Float(f) => *f,
                _ => 0.0,
            };
            f(a).partial_cmp(&f(b)).unwrap_or(Ordering::Equal)
        }
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Datetime(x), Value::Datetime(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// How a collection's results are made: its window, what its rows know, the clock, and the
/// rule options `sendNilField` and `sendMetaToSink`.
pub(super) struct Output<'a> {
    pub window: Option<(i64, i64)>,
    pub info: RowInfo,
    pub clock: &'a dyn Clock,
    pub send_nil: bool,
    pub send_meta: bool,
}

/// Where `sendMetaToSink` puts a row's metadata in the result, as eKuiper does.
const META_KEY: &str = "__meta";
