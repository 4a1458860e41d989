//! Aggregation as rows arrive against the general path: the same rows through the same window,
//! the way the operator feeds it (in event time, late rows dropped against the watermark),
//! each closed window evaluated from its groups and over its rows; the results must be the
//! same, window for window.

use serde_json::json;

use super::event_time::EventTime;
use super::window::{ClosedWindow, Windower};
use crate::clock::ManualClock;
use crate::sql::{IncrementalPlan, Input, SelectPlan, compile_select};
use crate::value::{Map, Tuple, Value, to_json_string};

use std::sync::Arc;

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;

/// What went through a window: each closed window's results from both paths, and how many
/// windows were evaluated from their groups.
struct Run {
    general: Vec<String>,
    incremental: Vec<String>,
    from_groups: usize,
}

fn row(v: serde_json::Value) -> Tuple {
    match Value::from(&v) {
        Value::Object(map) => Tuple::from(Map::clone(&map)),
        other => panic!("not an object: {other:?}"),
    }
}

/// Feeds `rows` (each with its arrival time) through the statement's window, in event time
/// over `ts` with `late_tolerance` when given, else in processing time; then lets time run on
/// far enough to close every window.
fn run(sql: &str, rows: &[(i64, serde_json::Value)], late_tolerance: Option<i64>) -> Run {
    // Each path with a statement of its own: some keep state (`last_agg_hit_count()`).
    let plan = compile_select(sql).unwrap();
    let own_plan = compile_select(sql).unwrap();
    let incremental = IncrementalPlan::new(&own_plan).map(Arc::new);
    assert!(incremental.is_some(), "{sql}: not taken as rows arrive");
    let clock = ManualClock::new(T0);
    let spec = plan.window.as_ref().unwrap();
    let windower = |incremental: Option<Arc<IncrementalPlan>>| {
        match late_tolerance {
            Some(_) => Windower::event_time(spec),
            None => Windower::new(spec, rows[0].0),
        }
        .with_incremental(incremental)
    };
    let mut general = windower(None);
    let mut fast = windower(incremental.clone());
    let mut event_time = late_tolerance.map(|t| EventTime::new(&[("ts".into(), None)], t));
    let mut closed: (Vec<ClosedWindow>, Vec<ClosedWindow>) = (Vec::new(), Vec::new());
    let take = |w: &mut Windower, into: &mut Vec<ClosedWindow>, now: i64, item: Option<Input>| {
        into.extend(w.advance(now));
        if let Some(item) = item {
            let time = item.time.unwrap_or(now);
            let (windows, errors) = w.add([(time, item)], now, &clock);
            assert!(errors.is_empty(), "{errors:?}");
            into.extend(windows);
        }
    };
    let mut last = T0;
    for (arrival, value) in rows {
        let tuple = row(value.clone());
        let (time, now) = match event_time.as_mut() {
            Some(et) => {
                let time = et.timestamp(0, &tuple).unwrap();
                if et.observe(0, time).is_err() {
                    continue; // late
                }
                (time, et.watermark().unwrap_or(time))
            }
            None => (*arrival, *arrival),
        };
        last = last.max(now);
        let mut input = Input::new(0, tuple);
        input.time = Some(time);
        if !plan.analytics.is_empty() {
            input.analytics = plan.analyze(&input.tuple, &clock).unwrap();
        }
        take(&mut general, &mut closed.0, now, Some(input.clone()));
        take(&mut fast, &mut closed.1, now, Some(input));
    }
    let end = last + 3_600_000;
    take(&mut general, &mut closed.0, end, None);
    take(&mut fast, &mut closed.1, end, None);
    assert_eq!(closed.0.len(), closed.1.len(), "{sql}: windows closed");
    let mut from_groups = 0;
    let mut out = (Vec::new(), Vec::new());
    for (g, f) in closed.0.into_iter().zip(closed.1) {
        assert!(g.groups.is_none());
        out.0.push(show(&plan, None, g, &clock).0);
        let (text, grouped) = show(&own_plan, incremental.as_deref(), f, &clock);
        from_groups += usize::from(grouped);
        out.1.push(text);
    }
    Run {
        general: out.0,
        incremental: out.1,
        from_groups,
    }
}

/// A closed window's results, as the operator makes them: from its groups when it has them
/// and they serve, else over its rows; and whether they came from its groups.
fn show(
    plan: &SelectPlan,
    incremental: Option<&IncrementalPlan>,
    mut window: ClosedWindow,
    clock: &ManualClock,
) -> (String, bool) {
    let bounds = Some((window.start, window.end));
    let result = match (window.groups.take(), incremental) {
        (Some(groups), Some(inc)) => inc
            .evaluate(
                groups,
                &window.rows,
                bounds,
                window.end,
                clock,
                false,
                false,
            )
            .map(|r| (r, true)),
        _ => None,
    }
    .unwrap_or_else(|| {
        let r = plan.evaluate(&window.rows, bounds, window.end, clock, false, false);
        (r, false)
    });
    let rows: Vec<Value> = result.0.rows.into_iter().map(Value::object).collect();
    let text = format!(
        "[{} .. {}] {} {:?}",
        window.start - T0,
        window.end - T0,
        to_json_string(&Value::array(rows)),
        result.0.errors
    );
    (text, result.1)
}

/// A deterministic jumble of readings: devices a to d, integer and float values with nulls
/// and missing fields, `ts` a few ms apart with now and then a row out of order (by up to
/// `disorder` ms) and one far behind (late).
fn readings(n: usize, disorder: i64) -> Vec<(i64, serde_json::Value)> {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    let mut rows = Vec::with_capacity(n);
    let mut ts = T0 + 250;
    for _ in 0..n {
        ts += next(40) as i64;
        let time = match next(10) {
            0 if disorder > 0 => ts - next(disorder as u64) as i64,
            1 if disorder > 0 && next(3) == 0 => ts - 10 * disorder,
            _ => ts,
        };
        let device = ["a", "b", "c", "d"][next(4) as usize];
        let temperature = match next(6) {
            0 => json!(null),
            1 => json!(next(30) as i64),
            _ => json!(next(300) as f64 / 10.0 + 0.1),
        };
        let mut reading = json!({"device": device, "temperature": temperature, "ts": time});
        if next(8) != 0 {
            reading["humidity"] = json!(20 + next(70) as i64);
        }
        // Processing time: rows arrive in batches of a few at the same time.
        rows.push((ts - ts % 20, reading));
    }
    rows
}

const STATEMENTS: &[&str] = &[
    "SELECT device, avg(temperature) AS a, max(humidity) AS m, count(*) AS n, \
     count(humidity) AS nh, sum(temperature) AS s, min(temperature) AS lo, \
     window_start() AS ws, window_end() AS we, event_time() AS et \
     FROM s GROUP BY device, TUMBLINGWINDOW(ms, 500)",
    "SELECT device, humidity, count(temperature) AS n, avg(humidity) AS a FROM s \
     GROUP BY device, HOPPINGWINDOW(ms, 600, 200)",
    "SELECT device, humidity, sum(humidity) AS s, max(temperature) - min(temperature) AS r \
     FROM s WHERE temperature > 10 OR humidity IS NULL \
     GROUP BY device, TUMBLINGWINDOW(ms, 300) HAVING count(*) > 1 ORDER BY s DESC LIMIT 3",
    "SELECT count(*) AS n, max(temperature) AS t, last_agg_hit_count() AS h FROM s \
     GROUP BY TUMBLINGWINDOW(ms, 400)",
    "SELECT device, humidity % 3 AS k, avg(temperature + 1) AS a, \
     CASE WHEN sum(humidity) > 100 THEN 'wet' ELSE 'dry' END AS feel \
     FROM s GROUP BY device, humidity % 3, HOPPINGWINDOW(ms, 500, 250)",
    "SELECT *, lag(temperature) AS l, avg(temperature) AS a FROM s \
     GROUP BY device, TUMBLINGWINDOW(ms, 500)",
];

#[test]
fn groups_kept_as_rows_arrive_give_the_general_results_in_processing_time() {
    for sql in STATEMENTS {
        let run = run(sql, &readings(400, 0), None);
        assert_eq!(run.incremental, run.general, "{sql}");
        assert_eq!(run.from_groups, run.general.len(), "{sql}: every window");
        assert!(run.general.len() > 10, "{sql}: {:?}", run.general);
    }
}

#[test]
fn groups_kept_as_rows_arrive_give_the_general_results_in_event_time() {
    for sql in STATEMENTS {
        // In order: every window from its groups.
        let run_in_order = run(sql, &readings(400, 0), Some(100));
        assert_eq!(run_in_order.incremental, run_in_order.general, "{sql}");
        assert_eq!(run_in_order.from_groups, run_in_order.general.len());
        // Out of order and late rows: the windows that saw a row out of order in them go the
        // general way; the results are the same all the same.
        let run = run(sql, &readings(400, 150), Some(200));
        assert_eq!(run.incremental, run.general, "{sql}");
        assert!(run.general.len() > 10, "{sql}: {:?}", run.general);
        assert!(
            run.from_groups > 0 && run.from_groups < run.general.len(),
            "{sql}: {} of {} windows from their groups",
            run.from_groups,
            run.general.len()
        );
    }
}

#[test]
fn a_value_an_aggregate_fails_on_sends_its_window_the_general_way() {
    let sql = "SELECT device, sum(v) AS s, max(v) AS m FROM s GROUP BY device, \
               TUMBLINGWINDOW(ms, 100)";
    let rows: Vec<(i64, serde_json::Value)> = [
        json!({"device": "a", "v": 1, "ts": T0 + 10}),
        json!({"device": "a", "v": "x", "ts": T0 + 20}), // sum() fails on it
        json!({"device": "b", "v": 2, "ts": T0 + 30}),
        json!({"device": "a", "v": 9_223_372_036_854_775_807_i64, "ts": T0 + 110}),
        json!({"device": "a", "v": 1, "ts": T0 + 120}), // the integer sum overflows
        json!({"device": "a", "v": 3, "ts": T0 + 210}),
        json!({"device": "a", "v": 4.5, "ts": T0 + 220}),
        json!({"device": "z", "ts": T0 + 500}),
    ]
    .into_iter()
    .map(|v| (0, v))
    .collect();
    let run = run(sql, &rows, Some(0));
    assert_eq!(run.incremental, run.general);
    assert_eq!(run.from_groups, 2);
    assert_eq!(
        run.general,
        [
            r#"[0 .. 100] [{"device":"b","s":2,"m":2}] [Select("run Select error: s: sum(): expected numbers, found string(x)")]"#,
            r#"[100 .. 200] [] [Select("run Select error: s: sum(): the integer sum overflows")]"#,
            r#"[200 .. 300] [{"device":"a","s":7.5,"m":4.5}] []"#,
            r#"[500 .. 600] [{"device":"z"}] []"#,
        ]
    );
}

#[test]
fn statements_that_need_their_rows_are_not_taken_as_rows_arrive() {
    for sql in [
        "SELECT device, median(t) FROM s GROUP BY device, TUMBLINGWINDOW(ss, 1)",
        "SELECT device, collect(t) FROM s GROUP BY device, TUMBLINGWINDOW(ss, 1)",
        "SELECT avg(t) FROM s WHERE t < window_end() GROUP BY TUMBLINGWINDOW(ss, 1)",
        "SELECT avg(t) FROM s GROUP BY tstamp() % 2, TUMBLINGWINDOW(ss, 1)",
        "SELECT sum(event_time()) FROM s GROUP BY TUMBLINGWINDOW(ss, 1)",
        "SELECT avg(t) FROM s GROUP BY SLIDINGWINDOW(ss, 1)",
        "SELECT avg(t) FROM s GROUP BY COUNTWINDOW(5)",
        "SELECT t FROM s GROUP BY TUMBLINGWINDOW(ss, 1)",
        "SELECT count(*) FROM s GROUP BY device",
    ] {
        let plan = compile_select(sql).unwrap();
        assert!(IncrementalPlan::new(&plan).is_none(), "{sql}");
    }
}
