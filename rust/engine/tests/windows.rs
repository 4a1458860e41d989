//! Windows in processing time, driven by a manual clock: what each window holds, when it
//! closes, and what the statement makes of it. Expected results are worked out by hand from
//! eKuiper's documented semantics.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Recorder, engine_with_recorder_and, rows};
use serde_json::json;
use sinkbridge_engine::clock::ManualClock;
use sinkbridge_engine::{Engine, EngineConfig};

/// 2026-01-01T00:00:00Z: a whole number of days, so every window boundary lines up with it.
const T0: i64 = 1_767_225_600_000;

struct Bench {
    engine: Engine,
    clock: Arc<ManualClock>,
    recorder: Recorder,
    published: u64,
}

impl Bench {
    /// An engine on a manual clock at `T0 + offset`, with a memory stream `s` and one rule.
    fn new(sql: &str, offset: i64) -> Bench {
        Bench::with(
            r#"CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="in")"#,
            json!({"id": "r", "sql": sql, "actions": [{"recorder": {}}]}),
            offset,
        )
    }

    /// An engine whose rule runs in event time, over the stream's `ts` field (Unix ms).
    fn event_time(sql: &str, late_tolerance: i64) -> Bench {
        Bench::with(
            r#"CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="in", TIMESTAMP="ts")"#,
            json!({"id": "r", "sql": sql, "actions": [{"recorder": {}}],
                   "options": {"isEventTime": true, "lateTolerance": late_tolerance}}),
            0,
        )
    }

    fn with(stream: &str, rule: serde_json::Value, offset: i64) -> Bench {
        let clock = Arc::new(ManualClock::new(T0 + offset));
        let (engine, recorder) = engine_with_recorder_and(EngineConfig {
            clock: clock.clone(),
            ..EngineConfig::default()
        });
        engine.create_stream(stream).unwrap();
        engine.start().unwrap();
        engine.create_rule(&rule).unwrap();
        Bench {
            engine,
            clock,
            recorder,
            published: 0,
        }
    }

    /// Publishes rows and waits until the rule's window has taken them in, so that they
    /// arrive at the clock's current time.
    fn send(&mut self, v: serde_json::Value) {
        let batch = rows(v);
        self.published += batch.len() as u64;
        self.engine.publish("in", batch).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = self.engine.rule_status("r").unwrap();
            if status["op_1_window_0_records_in_total"] == self.published {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the window did not take the rows: {status:?}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Moves the clock to `T0 + offset`.
    fn at(&self, offset: i64) {
        self.clock.advance_to(T0 + offset);
    }

    /// Waits for the results so far to be exactly `expected` (each a window's result rows,
    /// with T0 subtracted from window_start/window_end where the SQL reports them).
    fn expect(&self, expected: &[&str]) {
        let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.recorder.results();
            if got.len() >= expected.len() {
                assert_eq!(got, expected);
                return;
            }
            assert!(Instant::now() < deadline, "results so far: {got:?}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Asserts that nothing more arrives once the operator has caught up with the clock.
    fn expect_no_more(&self, count: usize) {
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            self.recorder.results().len(),
            count,
            "{:?}",
            self.recorder.results()
        );
    }
}

#[test]
fn tumbling_windows_align_to_natural_time() {
    let mut b = Bench::new(
        "SELECT device, count(*) AS n, avg(t) AS a, window_start() - 1767225600000 AS ws, \
         window_end() - 1767225600000 AS we FROM s GROUP BY device, TUMBLINGWINDOW(ss, 10) \
         ORDER BY device",
        3_000,
    );
    b.send(json!([{"device": "x", "t": 10}, {"device": "y", "t": 1}]));
    b.at(9_999);
    b.send(json!({"device": "x", "t": 20}));
    b.expect_no_more(0);
    b.at(10_000); // the first window ends at :10, not 10 s after the rule started
    b.expect(&[
        r#"[{"device":"x","n":2,"a":15,"ws":0,"we":10000},{"device":"y","n":1,"a":1,"ws":0,"we":10000}]"#,
    ]);
    b.at(15_000);
    b.send(json!({"device": "y", "t": 5}));
    b.at(35_000); // [20, 30) was empty: nothing for it
    b.expect(&[
        r#"[{"device":"x","n":2,"a":15,"ws":0,"we":10000},{"device":"y","n":1,"a":1,"ws":0,"we":10000}]"#,
        r#"[{"device":"y","n":1,"a":5,"ws":10000,"we":20000}]"#,
    ]);
    b.expect_no_more(2);
}

#[test]
fn hopping_windows_overlap() {
    let mut b = Bench::new(
        "SELECT collect(n) AS ns, window_end() - 1767225600000 AS we FROM s \
         GROUP BY HOPPINGWINDOW(ss, 10, 5)",
        1_000,
    );
    b.send(json!({"n": 1}));
    b.at(6_000);
    b.send(json!({"n": 2}));
    b.at(12_000);
    b.send(json!({"n": 3}));
    b.at(20_000);
    // Windows end every 5 s and hold the 10 s before: [-5,5), [0,10), [5,15), [10,20).
    b.expect(&[
        r#"[{"ns":[1],"we":5000}]"#,
        r#"[{"ns":[1,2],"we":10000}]"#,
        r#"[{"ns":[2,3],"we":15000}]"#,
        r#"[{"ns":[3],"we":20000}]"#,
    ]);
}

#[test]
fn sliding_windows_close_on_each_row() {
    let mut b = Bench::new(
        "SELECT collect(n) AS ns FROM s GROUP BY SLIDINGWINDOW(ss, 10)",
        0,
    );
    b.send(json!({"n": 1}));
    b.at(4_000);
    b.send(json!({"n": 2}));
    b.at(12_000);
    b.send(json!({"n": 3}));
    // Each row closes the window of the 10 s before it, itself included.
    b.expect(&[r#"[{"ns":[1]}]"#, r#"[{"ns":[1,2]}]"#, r#"[{"ns":[2,3]}]"#]);
}

#[test]
fn sliding_windows_with_a_delay_take_the_rows_that_follow() {
    let mut b = Bench::new(
        "SELECT collect(n) AS ns FROM s GROUP BY SLIDINGWINDOW(ss, 10, 2)",
        0,
    );
    b.send(json!({"n": 1}));
    b.at(1_000);
    b.send(json!({"n": 2}));
    b.expect_no_more(0);
    b.at(2_000);
    b.expect(&[r#"[{"ns":[1,2]}]"#]);
    b.at(3_000);
    b.expect(&[r#"[{"ns":[1,2]}]"#, r#"[{"ns":[1,2]}]"#]);
}

#[test]
fn session_windows_end_after_a_quiet_timeout_or_their_maximum() {
    let mut b = Bench::new(
        "SELECT collect(n) AS ns, window_start() - 1767225600000 AS ws, \
         window_end() - 1767225600000 AS we FROM s GROUP BY SESSIONWINDOW(ss, 10, 3)",
        0,
    );
    b.send(json!({"n": 1}));
    b.at(2_000);
    b.send(json!({"n": 2}));
    b.at(4_999);
    b.expect_no_more(0);
    b.at(5_000); // 3 s after the last row
    b.expect(&[r#"[{"ns":[1,2],"ws":0,"we":5000}]"#]);
    // A busy session ends at its maximum of 10 s.
    for i in 0..6 {
        b.at(20_000 + i * 2_000);
        b.send(json!({"n": 10 + i}));
    }
    b.at(31_000);
    let (first, busy, last) = (
        r#"[{"ns":[1,2],"ws":0,"we":5000}]"#,
        r#"[{"ns":[10,11,12,13,14],"ws":20000,"we":30000}]"#,
        r#"[{"ns":[15],"ws":30000,"we":33000}]"#,
    );
    b.expect(&[first, busy]);
    b.at(33_000);
    b.expect(&[first, busy, last]);
}

#[test]
fn count_windows_with_and_without_an_interval() {
    let mut b = Bench::new("SELECT collect(n) AS ns FROM s GROUP BY COUNTWINDOW(3)", 0);
    b.send(json!([{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]));
    b.send(json!([{"n": 5}, {"n": 6}]));
    b.expect(&[r#"[{"ns":[1,2,3]}]"#, r#"[{"ns":[4,5,6]}]"#]);

    let mut b = Bench::new(
        "SELECT collect(n) AS ns FROM s GROUP BY COUNTWINDOW(3, 2)",
        0,
    );
    b.send(json!([{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}, {"n": 5}]));
    // Every 2 rows, the last 3.
    b.expect(&[r#"[{"ns":[1,2]}]"#, r#"[{"ns":[2,3,4]}]"#]);
}

#[test]
fn a_window_filter_keeps_rows_out_of_the_window() {
    let mut b = Bench::new(
        "SELECT collect(n) AS ns FROM s GROUP BY COUNTWINDOW(2) FILTER (WHERE n > 1)",
        0,
    );
    b.send(json!([{"n": 1}, {"n": 2}, {"n": 0}, {"n": 3}]));
    b.expect(&[r#"[{"ns":[2,3]}]"#]);
}

#[test]
fn event_time_windows_close_on_the_watermark_and_drop_late_rows() {
    let mut b = Bench::event_time(
        "SELECT collect(n) AS ns, window_start() AS ws FROM s GROUP BY TUMBLINGWINDOW(ss, 10)",
        0,
    );
    b.send(json!([{"n": 1, "ts": 1_000}, {"n": 2, "ts": 5_000}]));
    b.expect_no_more(0);
    b.send(json!({"n": 3, "ts": 12_000})); // the watermark passes 10 000: [0, 10 000) closes
    b.expect(&[r#"[{"ns":[1,2],"ws":0}]"#]);
    b.send(json!({"n": 4, "ts": 9_000})); // late: before the watermark
    b.send(json!({"n": 5, "ts": 25_000}));
    b.expect(&[r#"[{"ns":[1,2],"ws":0}]"#, r#"[{"ns":[3],"ws":10000}]"#]);
    let status = b.engine.rule_status("r").unwrap();
    assert_eq!(status["op_1_window_0_exceptions_total"], 1);
    assert!(
        status["op_1_window_0_last_exception"]
            .as_str()
            .unwrap()
            .contains("late row dropped: its event time 9000 is before the watermark 12000"),
        "{status:?}"
    );
    // The clock plays no part.
    b.clock.advance(3_600_000);
    b.expect_no_more(2);
}

#[test]
fn late_tolerance_lets_out_of_order_rows_in() {
    let mut b = Bench::event_time(
        "SELECT collect(n) AS ns FROM s GROUP BY TUMBLINGWINDOW(ss, 10)",
        5_000,
    );
    b.send(json!({"n": 1, "ts": 1_000}));
    b.send(json!({"n": 3, "ts": 12_000})); // watermark 7 000
    b.send(json!({"n": 2, "ts": 9_000})); // out of order, not late
    b.expect_no_more(0);
    b.send(json!({"n": 4, "ts": 16_000})); // watermark 11 000
    b.expect(&[r#"[{"ns":[1,2]}]"#]);
}

#[test]
fn event_time_sessions_and_sliding_windows() {
    let mut b = Bench::event_time(
        "SELECT collect(n) AS ns FROM s GROUP BY SESSIONWINDOW(ss, 60, 5)",
        0,
    );
    b.send(json!([{"n": 1, "ts": 1_000}, {"n": 2, "ts": 3_000}]));
    b.send(json!({"n": 3, "ts": 9_000})); // 6 s after the last: the session ended at 8 000
    b.expect(&[r#"[{"ns":[1,2]}]"#]);

    let mut b = Bench::event_time(
        "SELECT collect(n) AS ns FROM s GROUP BY SLIDINGWINDOW(ss, 5)",
        1_000,
    );
    b.send(json!({"n": 1, "ts": 1_000}));
    b.send(json!({"n": 2, "ts": 4_000})); // watermark 3 000: the window of row 1 closes
    b.send(json!({"n": 3, "ts": 3_500})); // out of order, in time for row 2's window
    b.send(json!({"n": 4, "ts": 10_000}));
    b.expect(&[
        r#"[{"ns":[1]}]"#,
        r#"[{"ns":[1,3]}]"#,
        r#"[{"ns":[1,3,2]}]"#,
    ]);
}

#[test]
fn the_sink_extension_guides_rule_joins_two_streams_in_a_hopping_window() {
    let clock = Arc::new(ManualClock::new(T0));
    let (engine, recorder) = engine_with_recorder_and(EngineConfig {
        clock: clock.clone(),
        ..EngineConfig::default()
    });
    for (name, topic) in [("demo", "a"), ("demo1", "b")] {
        engine
            .create_stream(&format!(
                r#"CREATE STREAM {name} () WITH (TYPE="memory", DATASOURCE="{topic}")"#
            ))
            .unwrap();
    }
    engine.start().unwrap();
    let sql = "SELECT demo.temperature, demo1.temp FROM demo LEFT JOIN demo1 \
               ON demo.timestamp = demo1.timestamp WHERE demo.temperature > demo1.temp \
               GROUP BY demo.temperature, HOPPINGWINDOW(ss, 20, 10)";
    engine
        .create_rule(&json!({"id": "r", "sql": sql, "actions": [{"recorder": {}}]}))
        .unwrap();
    engine
        .publish(
            "a",
            rows(json!([{"temperature": 30, "timestamp": 1}, {"temperature": 20, "timestamp": 2}])),
        )
        .unwrap();
    engine
        .publish(
            "b",
            rows(json!([{"temp": 22, "timestamp": 1}, {"temp": 21, "timestamp": 2}])),
        )
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while engine.rule_status("r").unwrap()["op_1_window_0_records_in_total"] != 4 {
        assert!(
            Instant::now() < deadline,
            "the window did not take the rows"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    let status = engine.rule_status("r").unwrap();
    assert_eq!(status["source_demo_0_records_in_total"], 2);
    assert_eq!(status["source_demo1_0_records_in_total"], 2);
    clock.advance(10_000);
    assert_eq!(recorder.wait_for(1), [r#"[{"temperature":30,"temp":22}]"#]);
    clock.advance(10_000); // the next hop still holds the same rows
    assert_eq!(recorder.wait_for(2).len(), 2);
}

#[test]
fn wait_idle_and_advance_return_once_the_engine_has_caught_up() {
    let clock = Arc::new(ManualClock::new(T0));
    let (engine, recorder) = engine_with_recorder_and(EngineConfig {
        clock: clock.clone(),
        ..EngineConfig::default()
    });
    engine
        .create_stream(r#"CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="in")"#)
        .unwrap();
    engine
        .create_stream(r#"CREATE STREAM mid () WITH (TYPE="memory", DATASOURCE="mid")"#)
        .unwrap();
    engine.start().unwrap();
    // Two rules chained through a memory topic, the second windowed.
    engine
        .create_rule(&json!({"id": "a", "sql": "SELECT n * 10 AS m FROM s",
                             "actions": [{"memory": {"topic": "mid"}}]}))
        .unwrap();
    engine
        .create_rule(&json!({"id": "b", "sql": "SELECT sum(m) AS total FROM mid GROUP BY TUMBLINGWINDOW(ss, 10)",
                             "actions": [{"recorder": {}}]}))
        .unwrap();
    engine
        .publish("in", rows(json!([{"n": 1}, {"n": 2}])))
        .unwrap();
    assert!(engine.wait_idle(Duration::from_secs(10)));
    // Everything has reached the window of rule b: nothing is out yet, no polling needed.
    assert_eq!(
        engine.rule_status("b").unwrap()["op_1_window_0_records_in_total"],
        2
    );
    assert!(recorder.results().is_empty());
    clock.advance(10_000);
    // The timer fired and its result reached the sink before advance returned.
    assert_eq!(recorder.results(), [r#"[{"total":30}]"#]);
}

#[test]
fn a_sliding_window_closes_only_on_rows_that_meet_its_when() {
    let mut b = Bench::new(
        "SELECT collect(t) AS ts FROM s GROUP BY SLIDINGWINDOW(ss, 10) OVER (WHEN t > 30)",
        0,
    );
    b.send(json!({"t": 20}));
    b.at(2_000);
    b.send(json!({"t": 35}));
    b.at(4_000);
    b.send(json!({"t": 25}));
    // Only the row above 30 closed a window, holding the rows of the 10 s before it.
    b.expect(&[r#"[{"ts":[20,35]}]"#]);
    b.expect_no_more(1);
}

#[test]
fn a_state_window_runs_from_its_begin_condition_to_its_emit_condition() {
    let mut b = Bench::new(
        "SELECT collect(n) AS ns FROM s GROUP BY STATEWINDOW(status = \"start\", status = \"end\")",
        0,
    );
    b.send(json!([
        {"n": 1, "status": "idle"},
        {"n": 2, "status": "start"},
        {"n": 3, "status": "run"},
        {"n": 4, "status": "end"},
        {"n": 5, "status": "run"},
        {"n": 6, "status": "start"},
    ]));
    b.send(json!({"n": 7, "status": "end"}));
    // Rows before a begin are left out; the emit row closes the window, itself included.
    b.expect(&[r#"[{"ns":[2,3,4]}]"#, r#"[{"ns":[6,7]}]"#]);
}

#[test]
fn with_send_error_a_late_row_reaches_the_sinks_as_an_error() {
    let mut b = Bench::with(
        r#"CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="in", TIMESTAMP="ts")"#,
        json!({"id": "r", "sql": "SELECT collect(n) AS ns FROM s GROUP BY COUNTWINDOW(5)",
               "actions": [{"recorder": {}}],
               "options": {"isEventTime": true, "lateTolerance": 0, "sendError": true}}),
        0,
    );
    b.send(json!([{"n": 1, "ts": 5_000}, {"n": 2, "ts": 1_000}]));
    b.expect(&[
        r#"[{"error":"late row dropped: its event time 1000 is before the watermark 5000"}]"#,
    ]);
}

#[test]
fn analytic_functions_run_on_each_row_before_the_window() {
    // lag sees every row as it arrives, the ones WHERE then drops included.
    let mut b = Bench::new(
        "SELECT t, lag(t) AS prev FROM s WHERE t > 1 GROUP BY COUNTWINDOW(2)",
        0,
    );
    b.send(json!([{"t": 1}, {"t": 2}]));
    b.send(json!([{"t": 3}, {"t": 4}]));
    b.expect(&[
        r#"[{"t":2,"prev":1}]"#,
        r#"[{"t":3,"prev":2},{"t":4,"prev":3}]"#,
    ]);
}

#[test]
fn a_windows_event_time_is_its_end_and_last_agg_hit_counts_windows() {
    let mut b = Bench::new(
        "SELECT count(*) AS n, event_time() - 1767225600000 AS et, last_agg_hit_time() AS lt, \
         last_agg_hit_count() AS lc FROM s GROUP BY TUMBLINGWINDOW(ss, 10)",
        3_000,
    );
    b.send(json!([{"a": 1}, {"a": 2}]));
    b.at(10_000);
    b.at(15_000);
    b.send(json!({"a": 3}));
    b.at(20_000);
    b.expect(&[
        r#"[{"n":2,"et":10000,"lt":0,"lc":0}]"#,
        r#"[{"n":1,"et":20000,"lt":1767225610000,"lc":1}]"#,
    ]);
}

#[test]
fn in_a_window_without_aggregates_each_row_keeps_its_arrival_as_event_time() {
    let mut b = Bench::new(
        "SELECT a, event_time() - 1767225600000 AS et FROM s GROUP BY TUMBLINGWINDOW(ss, 10)",
        3_000,
    );
    b.send(json!({"a": 1}));
    b.at(5_000);
    b.send(json!({"a": 2}));
    b.at(10_000);
    b.expect(&[r#"[{"a":1,"et":3000},{"a":2,"et":5000}]"#]);
}

#[test]
fn without_a_window_event_time_is_the_rows_timestamp_in_event_time() {
    let b = Bench::event_time(
        "SELECT ts, event_time() AS et, last_hit_time() AS lt, last_hit_count() AS lc FROM s \
         WHERE ts > 1000",
        0,
    );
    b.engine
        .publish(
            "in",
            rows(json!([{"ts": 500}, {"ts": 2000}, {"ts": 3000}, {"other": 1}])),
        )
        .unwrap();
    b.expect(&[
        r#"[{"ts":2000,"et":2000,"lt":0,"lc":0}]"#,
        r#"[{"ts":3000,"et":3000,"lt":2000,"lc":1}]"#,
    ]);
    // A row without its timestamp is refused and counted.
    assert!(b.engine.wait_idle(Duration::from_secs(10)));
    let status = b.engine.rule_status("r").unwrap();
    assert_eq!(status["op_1_filter_0_exceptions_total"], 1, "{status:?}");
}

#[test]
fn last_hit_time_in_a_sliding_windows_when_counts_the_rows_that_met_it() {
    // eKuiper's way to throttle a sliding window: at most one window every 5 s.
    let mut b = Bench::new(
        "SELECT collect(n) AS ns FROM s GROUP BY SLIDINGWINDOW(ss, 10) \
         OVER (WHEN event_time() - last_hit_time() >= 5000)",
        0,
    );
    b.send(json!({"n": 1}));
    b.at(2_000);
    b.send(json!({"n": 2}));
    b.at(6_000);
    b.send(json!({"n": 3}));
    b.at(8_000);
    b.send(json!({"n": 4}));
    b.expect(&[r#"[{"ns":[1]}]"#, r#"[{"ns":[1,2,3]}]"#]);
    b.expect_no_more(2);
}

#[test]
fn grouped_aggregates_in_event_time_with_out_of_order_and_late_rows() {
    // Aggregated as rows arrive where rows come in order, over the window's rows where not:
    // the results are the same either way.
    let mut b = Bench::event_time(
        "SELECT device, count(*) AS n, avg(t) AS a, max(t) AS m FROM s \
         GROUP BY device, TUMBLINGWINDOW(ss, 10)",
        5_000,
    );
    b.send(json!([
        {"device": "x", "t": 1, "ts": 1_000},
        {"device": "y", "t": 4, "ts": 2_000},
        {"device": "x", "t": 3, "ts": 3_000},
    ]));
    b.send(json!({"device": "y", "t": 2.5, "ts": 12_000})); // watermark 7 000
    b.send(json!({"device": "x", "t": 5, "ts": 8_000})); // out of order, within the tolerance
    b.send(json!({"device": "x", "t": 7, "ts": 14_000})); // watermark 9 000
    b.expect_no_more(0);
    b.send(json!({"device": "y", "t": 1, "ts": 16_000})); // watermark 11 000: [0, 10 000) closes
    let first = r#"[{"device":"x","n":3,"a":3,"m":5},{"device":"y","n":1,"a":4,"m":4}]"#;
    b.expect(&[first]);
    b.send(json!({"device": "z", "t": 0, "ts": 9_500})); // late: dropped
    b.send(json!({"device": "x", "t": 0, "ts": 26_000})); // watermark 21 000
    b.expect(&[
        first,
        r#"[{"device":"y","n":2,"a":1.75,"m":2.5},{"device":"x","n":1,"a":7,"m":7}]"#,
    ]);
    b.expect_no_more(2);
}

#[test]
fn grouped_aggregates_in_hopping_windows() {
    let mut b = Bench::new(
        "SELECT device, count(*) AS n, sum(v) AS s, window_end() - 1767225600000 AS we FROM s \
         GROUP BY device, HOPPINGWINDOW(ss, 10, 5)",
        1_000,
    );
    b.send(json!([{"device": "a", "v": 1}, {"device": "b", "v": 2}]));
    b.at(6_000);
    b.send(json!({"device": "a", "v": 3}));
    b.at(12_000);
    b.send(json!({"device": "b", "v": 4}));
    b.at(20_000);
    b.expect(&[
        r#"[{"device":"a","n":1,"s":1,"we":5000},{"device":"b","n":1,"s":2,"we":5000}]"#,
        r#"[{"device":"a","n":2,"s":4,"we":10000},{"device":"b","n":1,"s":2,"we":10000}]"#,
        r#"[{"device":"a","n":1,"s":3,"we":15000},{"device":"b","n":1,"s":4,"we":15000}]"#,
        r#"[{"device":"b","n":1,"s":4,"we":20000}]"#,
    ]);
    b.expect_no_more(4);
}
