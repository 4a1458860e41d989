//! What a statement knows of the rule around a row: `event_time()`, the `last_hit_*` and
//! `last_agg_hit_*` counts, and `deduplicate()` over a window; analytic functions over windows.
//! Expected results are worked by hand from eKuiper's documentation and its rule tests.

use serde_json::json;

use super::compile_select;
use super::tests::{collect, compile_error, evaluate, run};

#[test]
fn last_hit_counts_the_rows_that_passed_where_before() {
    // eKuiper's TestStateFunc, on rows whose event times are 1000, 1001, ...: WHERE reads the
    // counts as they stood before the row; a row that passes is counted at its event time.
    let rows = [
        json!({"size": 3}),
        json!({"size": 2}),
        json!({"size": 5}),
        json!({"size": 1}),
        json!({"size": 1}),
    ];
    assert_eq!(
        run(
            "SELECT *, last_hit_time() AS lt, last_hit_count() AS lc, event_time() AS et \
             FROM demo WHERE size < 3 AND lc < 2",
            &rows
        ),
        [
            "-",
            r#"{"size":2,"lt":0,"lc":0,"et":1001}"#,
            "-",
            r#"{"size":1,"lt":1001,"lc":1,"et":1003}"#,
            "-",
        ]
    );
    assert_eq!(
        run("SELECT last_hit_count() AS n FROM demo", &rows[..3]),
        [r#"{"n":0}"#, r#"{"n":1}"#, r#"{"n":2}"#]
    );
    assert_eq!(
        compile_error("SELECT last_hit_count() FROM s GROUP BY COUNTWINDOW(2)"),
        "last_hit_count() and last_hit_time() count the rows of a rule without a window or \
         GROUP BY; in this rule, use last_agg_hit_count() and last_agg_hit_time(), which count \
         the groups that pass HAVING"
    );
    // In a sliding window's WHEN they count the rows that met it (see tests/windows.rs).
    assert!(
        compile_select(
            "SELECT count(*) FROM s GROUP BY SLIDINGWINDOW(ss, 10) OVER (WHEN last_hit_count() < 3)"
        )
        .is_ok()
    );
    assert_eq!(
        compile_error("SELECT last_hit_count(1) FROM s"),
        "last_hit_count() takes no arguments, found last_hit_count(1)"
    );
}

#[test]
fn last_agg_hit_counts_the_groups_that_passed_having_before() {
    // After eKuiper's TestEventWindowRule1: event_time() of a window is its end.
    let plan = compile_select(
        "SELECT count(*) AS n, last_agg_hit_time() AS lt, last_agg_hit_count() AS lc, \
         event_time() AS et FROM s GROUP BY COUNTWINDOW(2) HAVING lc < 2",
    )
    .unwrap();
    let pair = [(0, json!({"a": 1})), (0, json!({"a": 2}))];
    let windows: Vec<String> = (1..=3)
        .map(|k| evaluate(&plan, &pair, k * 1000).0)
        .collect();
    assert_eq!(
        windows,
        [
            r#"[{"n":2,"lt":0,"lc":0,"et":1000}]"#,
            r#"[{"n":2,"lt":1000,"lc":1,"et":2000}]"#,
            "[]",
        ]
    );
    // Each group that passes is one hit.
    assert_eq!(
        collect(
            "SELECT d, last_agg_hit_count() AS lc FROM s GROUP BY d, COUNTWINDOW(3)",
            &[json!({"d": "x"}), json!({"d": "y"}), json!({"d": "x"})]
        )
        .0,
        r#"[{"d":"x","lc":0},{"d":"y","lc":1}]"#
    );
    assert_eq!(
        compile_error("SELECT a FROM s WHERE last_agg_hit_count() > 1"),
        "last_agg_hit_count() counts the groups that pass HAVING, so it cannot be used in WHERE \
         or GROUP BY; use last_hit_count() or last_hit_time() in a rule without a window"
    );
    assert!(
        compile_error("SELECT last_hit_count() AS a, last_agg_hit_count() AS b FROM s")
            .starts_with("a rule counts rows")
    );
}

#[test]
fn event_time_is_the_rows_time_or_its_windows_end() {
    assert_eq!(
        run(
            "SELECT event_time() AS et FROM s",
            &[json!({"a": 1}), json!({"a": 2})]
        ),
        [r#"{"et":1000}"#, r#"{"et":1001}"#]
    );
    assert_eq!(
        collect(
            "SELECT count(*) AS n, event_time() AS et FROM s GROUP BY COUNTWINDOW(2)",
            &[json!({}), json!({})]
        )
        .0,
        r#"[{"n":2,"et":2000}]"#
    );
    // WHERE, and rows without aggregates, see each row's own time.
    assert_eq!(
        collect(
            "SELECT a, event_time() AS et FROM s WHERE event_time() > 1000 GROUP BY COUNTWINDOW(3)",
            &[json!({"a": 1}), json!({"a": 2}), json!({"a": 3})]
        )
        .0,
        r#"[{"a":2,"et":1001},{"a":3,"et":1002}]"#
    );
    assert_eq!(
        compile_error("SELECT event_time(ts) FROM s"),
        "event_time() takes no arguments, found event_time(ts)"
    );
}

#[test]
fn deduplicate_keys_a_windows_rows_on_a_column() {
    let rows = [
        json!({"a": 1, "b": "x"}),
        json!({"a": 2, "b": "y"}),
        json!({"a": 1.0, "b": "z"}),
    ];
    assert_eq!(
        collect(
            "SELECT deduplicate(a, true) AS r FROM s GROUP BY COUNTWINDOW(3)",
            &rows
        )
        .0,
        r#"[{"r":[{"a":1,"b":"x"},{"a":2,"b":"y"}]}]"#
    );
    // Without all: the last row if its key is new; a duplicate leaves an empty result row.
    assert_eq!(
        collect(
            "SELECT deduplicate(a, false) AS r FROM s GROUP BY COUNTWINDOW(3)",
            &rows
        )
        .0,
        "[{}]"
    );
    assert_eq!(
        collect(
            "SELECT deduplicate(a, false)->b AS r FROM s GROUP BY COUNTWINDOW(2)",
            &rows[..2]
        )
        .0,
        r#"[{"r":"y"}]"#
    );
    assert_eq!(
        compile_error("SELECT deduplicate(a) FROM s GROUP BY COUNTWINDOW(2)"),
        "deduplicate() takes 2 argument(s), found 1 in deduplicate(a)"
    );
    assert_eq!(
        compile_error("SELECT deduplicate(a, 1) FROM s GROUP BY COUNTWINDOW(2)"),
        "deduplicate(): the second argument (all) must be true or false, in deduplicate(a, 1)"
    );
}

#[test]
fn analytic_functions_run_per_row_before_the_window() {
    // lag runs as each row arrives, before WHERE and the window: the first window's filtered
    // row still feeds the second row's lag.
    let plan = compile_select(
        "SELECT t, lag(t) AS prev, acc_sum(t) AS total FROM s WHERE t > 1 GROUP BY COUNTWINDOW(2)",
    )
    .unwrap();
    let first = evaluate(&plan, &[(0, json!({"t": 1})), (0, json!({"t": 2}))], 1000).0;
    let second = evaluate(&plan, &[(0, json!({"t": 3})), (0, json!({"t": 4}))], 2000).0;
    assert_eq!(first, r#"[{"t":2,"prev":1,"total":3}]"#);
    assert_eq!(
        second,
        r#"[{"t":3,"prev":2,"total":6},{"t":4,"prev":3,"total":10}]"#
    );
    // In a group, an analytic result outside an aggregate is the first row's; inside one,
    // each row's.
    assert_eq!(
        collect(
            "SELECT d, sum(acc_count(d)) AS s, lag(d) AS p FROM s GROUP BY d, COUNTWINDOW(3)",
            &[json!({"d": "x"}), json!({"d": "y"}), json!({"d": "x"})]
        )
        .0,
        r#"[{"d":"x","s":4},{"d":"y","s":2,"p":"x"}]"#
    );
}
