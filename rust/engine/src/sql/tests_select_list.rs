//! The select list's own forms: `unnest()`, `changed_cols()`, `row_number()` and `INVISIBLE`
//! fields. Expected results are worked by hand from eKuiper's documentation.

use serde_json::json;

use super::compile_select;
use super::tests::{collect, compile_error, evaluate, one, run};

/// eKuiper's example rows for the change-detection functions.
fn temps() -> Vec<serde_json::Value> {
    [
        (1, 23, 88),
        (2, 23, 88),
        (3, 23, 88),
        (4, 25, 88),
        (5, 25, 90),
        (6, 25, 91),
        (7, 25, 91),
        (8, 25, 91),
    ]
    .iter()
    .map(|(ts, t, h)| json!({"ts": ts, "temperature": t, "humidity": h}))
    .collect()
}

#[test]
fn unnest_makes_a_row_per_element() {
    assert_eq!(
        one(
            "SELECT unnest(a), b FROM demo",
            json!({"a": [1, 2], "b": 3})
        ),
        r#"[{"b":3,"unnest":1},{"b":3,"unnest":2}]"#
    );
    // An object spreads its keys as columns.
    assert_eq!(
        one(
            "SELECT unnest(x), c FROM demo",
            json!({"x": [{"a": 1, "b": 2}, {"a": 3, "b": 4}], "c": 5})
        ),
        r#"[{"c":5,"a":1,"b":2},{"c":5,"a":3,"b":4}]"#
    );
    // LIMIT counts the rows unnest makes; an empty, null or missing array makes none.
    assert_eq!(
        run(
            "SELECT unnest(a) AS v FROM demo LIMIT 2",
            &[
                json!({"a": [1, 2, 3]}),
                json!({"a": []}),
                json!({"a": null}),
                json!({"b": 1})
            ]
        ),
        [r#"[{"v":1},{"v":2}]"#, "[]", "[]", "[]"]
    );
    assert_eq!(
        one("SELECT unnest(a) FROM demo", json!({"a": 5})),
        "run Select error: unnest(): the argument must be an array, found bigint(5)"
    );
    // In a window, each result row makes its rows, after ORDER BY; LIMIT counts those.
    let rows = [json!({"d": "x", "a": [1, 2]}), json!({"d": "y", "a": [3]})];
    assert_eq!(
        collect("SELECT d, unnest(a) FROM s GROUP BY COUNTWINDOW(2)", &rows).0,
        r#"[{"d":"x","unnest":1},{"d":"x","unnest":2},{"d":"y","unnest":3}]"#
    );
    assert_eq!(
        collect(
            "SELECT d, unnest(a) FROM s GROUP BY COUNTWINDOW(2) ORDER BY d DESC LIMIT 2",
            &rows
        )
        .0,
        r#"[{"d":"y","unnest":3},{"d":"x","unnest":1}]"#
    );
    assert_eq!(
        compile_error("SELECT abs(unnest(a)) FROM s"),
        "unnest() makes rows of its own, so it must be a field of the select list by itself, \
         found in unnest(a)"
    );
    assert_eq!(
        compile_error("SELECT unnest(a), unnest(b) FROM s"),
        "a select list takes one unnest(), found a second: unnest(b)"
    );
    assert_eq!(
        compile_error("SELECT unnest(a, b) FROM s"),
        "unnest() takes 1 argument, an array, found 2 in unnest(a, b)"
    );
}

#[test]
fn changed_cols_returns_the_columns_that_changed() {
    let rows = temps();
    assert_eq!(
        run(
            "SELECT CHANGED_COLS(\"\", true, temperature) FROM demo",
            &rows
        ),
        [
            r#"{"temperature":23}"#,
            "{}",
            "{}",
            r#"{"temperature":25}"#,
            "{}",
            "{}",
            "{}",
            "{}"
        ]
    );
    assert_eq!(
        run(
            "SELECT CHANGED_COLS(\"c_\", true, temperature, humidity) FROM demo",
            &rows
        ),
        [
            r#"{"c_temperature":23,"c_humidity":88}"#,
            "{}",
            "{}",
            r#"{"c_temperature":25}"#,
            r#"{"c_humidity":90}"#,
            r#"{"c_humidity":91}"#,
            "{}",
            "{}"
        ]
    );
    // `*` watches every column, ts included; it sits beside other fields.
    assert_eq!(
        run(
            "SELECT ts AS at, CHANGED_COLS(\"c_\", false, *) FROM demo",
            &rows[..5]
        ),
        [
            r#"{"at":1,"c_ts":1,"c_temperature":23,"c_humidity":88}"#,
            r#"{"at":2,"c_ts":2}"#,
            r#"{"at":3,"c_ts":3}"#,
            r#"{"at":4,"c_ts":4,"c_temperature":25}"#,
            r#"{"at":5,"c_ts":5,"c_humidity":90}"#,
        ]
    );
    // With ignoreNull false, a value that turns null is a change (left out of the row, as
    // null columns are); with true, a null is no change.
    let nulls = [json!({"a": 1}), json!({"a": null}), json!({"a": 1})];
    assert_eq!(
        run("SELECT changed_cols(\"\", false, a) FROM s", &nulls),
        [r#"{"a":1}"#, "{}", r#"{"a":1}"#]
    );
    assert_eq!(
        run("SELECT changed_cols(\"\", true, a) FROM s", &nulls),
        [r#"{"a":1}"#, "{}", "{}"]
    );
    // Over windows, each window's result is compared with the last one's: averages of
    // (23, 23), (23, 25), (25, 25), (25, 25).
    let plan = compile_select(
        "SELECT CHANGED_COLS(\"t\", true, avg(temperature)) FROM demo GROUP BY COUNTWINDOW(2)",
    )
    .unwrap();
    let windows: Vec<String> = rows
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            let tagged: Vec<_> = pair.iter().map(|r| (0, r.clone())).collect();
            evaluate(&plan, &tagged, 1000 * (i as i64 + 1)).0
        })
        .collect();
    assert_eq!(
        windows,
        [
            r#"[{"tavg":23}]"#,
            r#"[{"tavg":24}]"#,
            r#"[{"tavg":25}]"#,
            "[{}]"
        ]
    );
    assert_eq!(
        compile_error("SELECT changed_cols(\"c_\", true, a) AS x FROM s"),
        "changed_cols() names its columns prefix + column, so it takes no alias, found AS x in \
         changed_cols(\"c_\", true, a); to name a column, use changed_col(ignoreNull, x) AS name"
    );
    assert!(
        compile_error("SELECT changed_cols(1, true, a) FROM s")
            .starts_with("changed_cols(): the prefix must be a string")
    );
    assert!(
        compile_error("SELECT changed_cols(\"\", \"yes\", a) FROM s")
            .starts_with("changed_cols(): ignoreNull must be true or false")
    );
    assert!(
        compile_error("SELECT changed_cols(\"\", true) FROM s")
            .starts_with("changed_cols() takes a prefix, ignoreNull and at least one column")
    );
    assert!(
        compile_error("SELECT a FROM s WHERE changed_cols(\"\", true, a) = 1")
            .starts_with("changed_cols() makes columns of its own")
    );
}

#[test]
fn row_number_numbers_the_results() {
    assert_eq!(
        one("SELECT row_number() AS n, a FROM s", json!({"a": 7})),
        r#"{"n":1,"a":7}"#
    );
    // Numbered after HAVING, before ORDER BY, as eKuiper does.
    let rows = [json!({"d": "b"}), json!({"d": "a"}), json!({"d": "c"})];
    assert_eq!(
        collect(
            "SELECT d, row_number() FROM s GROUP BY COUNTWINDOW(3) ORDER BY d DESC",
            &rows
        )
        .0,
        r#"[{"d":"c","row_number":3},{"d":"b","row_number":1},{"d":"a","row_number":2}]"#
    );
    assert_eq!(
        collect(
            "SELECT d, row_number() AS n FROM s GROUP BY d, COUNTWINDOW(3) HAVING d != \"a\"",
            &rows
        )
        .0,
        r#"[{"d":"b","n":1},{"d":"c","n":2}]"#
    );
    assert_eq!(
        compile_error("SELECT a FROM s WHERE row_number() = 1"),
        "row_number() numbers the results, so it cannot be used in WHERE or GROUP BY, found \
         row_number()"
    );
    assert_eq!(
        compile_error("SELECT row_number(a) FROM s"),
        "row_number() takes no arguments, found row_number(a)"
    );
    // With OVER: numbered within each partition (partitions in the order of their keys), in
    // its ORDER BY, after eKuiper's windowFunc operator tests; the statement's ORDER BY comes
    // after.
    let rows = [
        json!({"a": 2, "b": 2}),
        json!({"a": 1, "b": 2}),
        json!({"a": 2, "b": 1}),
        json!({"a": 1, "b": 1}),
    ];
    let numbered = "SELECT a, b, row_number() OVER (PARTITION BY a ORDER BY b) AS rn FROM s \
                    GROUP BY COUNTWINDOW(4)";
    assert_eq!(
        collect(numbered, &rows).0,
        r#"[{"a":1,"b":1,"rn":1},{"a":1,"b":2,"rn":2},{"a":2,"b":1,"rn":1},{"a":2,"b":2,"rn":2}]"#
    );
    assert_eq!(
        collect(&format!("{numbered} ORDER BY rn DESC"), &rows).0,
        r#"[{"a":1,"b":2,"rn":2},{"a":2,"b":2,"rn":2},{"a":1,"b":1,"rn":1},{"a":2,"b":1,"rn":1}]"#
    );
    assert_eq!(
        collect(
            "SELECT b, row_number() OVER (ORDER BY b DESC) AS rn FROM s GROUP BY COUNTWINDOW(4)",
            &rows
        )
        .0,
        r#"[{"b":2,"rn":1},{"b":2,"rn":2},{"b":1,"rn":3},{"b":1,"rn":4}]"#
    );
    assert_eq!(
        compile_error("SELECT row_number() AS x, row_number() OVER (ORDER BY a) AS y FROM s"),
        "a rule numbers its results one way: every row_number() takes the same OVER, found \
         row_number() OVER (ORDER BY a)"
    );
    assert_eq!(
        compile_error("SELECT row_number() OVER (WHEN a > 1) FROM s"),
        "row_number() takes OVER (PARTITION BY ... ORDER BY ...), not OVER (WHEN ...)"
    );
}

#[test]
fn invisible_fields_are_used_but_not_emitted() {
    assert_eq!(
        one(
            "SELECT a + 1 AS b INVISIBLE, b * 2 AS c FROM s",
            json!({"a": 1})
        ),
        r#"{"c":4}"#
    );
    let rows = [
        json!({"d": "x", "t": 3}),
        json!({"d": "y", "t": 1}),
        json!({"d": "z", "t": 2}),
    ];
    assert_eq!(
        collect(
            "SELECT d, t * 10 AS k INVISIBLE FROM s GROUP BY COUNTWINDOW(3) ORDER BY k",
            &rows
        )
        .0,
        r#"[{"d":"y"},{"d":"z"},{"d":"x"}]"#
    );
    assert_eq!(
        compile_error("SELECT * INVISIBLE FROM s"),
        "INVISIBLE applies to an expression of the select list, found it after *"
    );
}
