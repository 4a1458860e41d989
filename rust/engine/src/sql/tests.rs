//! SQL end to end: compile a statement, run it over rows, check the results.

use serde_json::json;

use super::*;
use crate::clock::SystemClock;
use std::sync::Arc;

use crate::value::{Map, Row, Tuple, Value, to_json_string};

fn row(v: serde_json::Value) -> Row {
    Value::from(&v).as_object().unwrap().clone()
}

/// Runs `sql` over each row (the n-th at event time 1000 + n): the JSON of each result row (a
/// list when there are not exactly one, as `unnest` makes), or `-` for filtered, or the error.
pub(super) fn run(sql: &str, rows: &[serde_json::Value]) -> Vec<String> {
    run_with(sql, rows, false)
}

fn run_with(sql: &str, rows: &[serde_json::Value], send_nil: bool) -> Vec<String> {
    let plan = compile_select(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            let r = Tuple::from(row(r.clone()));
            match plan.run_row(&r, 1000 + i as i64, &SystemClock, send_nil, false) {
                Ok(None) => "-".to_string(),
                Ok(Some(mut rows)) if rows.len() == 1 => to_json_string(&rows.remove(0)),
                Ok(Some(rows)) => to_json_string(&Value::array(rows)),
                Err(RowError::Select(e) | RowError::Where(e)) => e,
            }
        })
        .collect()
}

pub(super) fn one(sql: &str, r: serde_json::Value) -> String {
    run(sql, &[r]).remove(0)
}

pub(super) fn compile_error(sql: &str) -> String {
    compile_select(sql).unwrap_err().to_string()
}

#[test]
fn select_star_columns_and_where() {
    let rows = [
        json!({"device": "dev-1", "temperature": 23.5, "humidity": 61}),
        json!({"device": "dev-2", "temperature": 19.0, "humidity": 40}),
    ];
    assert_eq!(
        run(
            "SELECT device, temperature FROM s WHERE temperature > 20",
            &rows
        ),
        [r#"{"device":"dev-1","temperature":23.5}"#, "-"]
    );
    assert_eq!(
        run("SELECT * FROM s WHERE humidity < 50", &rows),
        [
            "-",
            r#"{"device":"dev-2","temperature":19.0,"humidity":40}"#
        ]
    );
    assert_eq!(
        run(
            "select s.device AS d, humidity * 2 as h2 from s",
            &rows[..1]
        ),
        [r#"{"d":"dev-1","h2":122}"#]
    );
    assert_eq!(
        one("SELECT *, humidity + 1 AS h FROM s", rows[1].clone()),
        r#"{"device":"dev-2","temperature":19.0,"humidity":40,"h":41}"#
    );
    assert_eq!(
        one("SELECT x.* FROM s AS x", rows[1].clone()),
        to_json_string(&row(rows[1].clone()))
    );
}

#[test]
fn ekuiper_lexical_rules() {
    let r = json!({"color": "red", "my col": 3, "Temp": 1});
    assert_eq!(
        one(r#"SELECT `my col` FROM s WHERE color = "red""#, r.clone()),
        r#"{"my col":3}"#
    );
    assert_eq!(
        one("SELECT `my col` FROM s WHERE color = 'blue'", r.clone()),
        "-"
    );
    assert_eq!(
        one(
            "SeLeCt UPPER(color) FrOm s wHeRe COLOR = \"red\"",
            r.clone()
        ),
        r#"{"upper":"RED"}"#
    );
    // Field names fall back to a case-insensitive match, as in eKuiper.
    assert_eq!(one("SELECT temp FROM s", r), r#"{"temp":1}"#);
}

#[test]
fn unnamed_fields_are_named_as_ekuiper_names_them() {
    let r = json!({"a": {"b": [10, 20]}, "x": -2});
    assert_eq!(
        one("SELECT a->b, a->b[1], x + 1, abs(x), 5 FROM s", r),
        r#"{"kuiper_field_0":[10,20],"kuiper_field_1":20,"kuiper_field_2":-1,"abs":2,"kuiper_field_3":5}"#
    );
}

#[test]
fn nested_access() {
    let r = json!({"a": {"b": {"c": 1}, "list": [{"k": "v0"}, {"k": "v1"}]}, "arr": [1, 2, 3]});
    assert_eq!(one("SELECT a->b->c AS c FROM s", r.clone()), r#"{"c":1}"#);
    assert_eq!(
        one("SELECT a->list[1]->k AS k FROM s", r.clone()),
        r#"{"k":"v1"}"#
    );
    assert_eq!(
        one("SELECT arr[0] AS f, arr[-1] AS l FROM s", r.clone()),
        r#"{"f":1,"l":3}"#
    );
    assert_eq!(one("SELECT a.b.c AS c FROM s", r.clone()), r#"{"c":1}"#);
    assert_eq!(one("SELECT a->missing->x AS m FROM s", r.clone()), "{}");
    assert_eq!(
        one("SELECT arr[5] AS m FROM s", r.clone()),
        "run Select error: m: out of index: 5 of 3"
    );
    assert_eq!(
        one("SELECT arr->x AS m FROM s", r),
        "run Select error: m: -> expects an object on its left, found array([1,2,3])"
    );
}

#[test]
fn operators() {
    let r = json!({"i": 7, "f": 2.5, "s": "dev-17", "n": null, "t": true});
    assert_eq!(
        one(
            "SELECT i + 1 AS a, i - f AS b, i * 2 AS c, i / 2 AS d, i % 4 AS e, -i AS g FROM s",
            r.clone()
        ),
        r#"{"a":8,"b":4.5,"c":14,"d":3.5,"e":3,"g":-7}"#
    );
    assert_eq!(
        one(
            "SELECT 1 FROM s WHERE i > 5 AND f < 3 AND NOT t = false",
            r.clone()
        ),
        r#"{"kuiper_field_0":1}"#
    );
    assert_eq!(
        one(
            "SELECT 1 AS x FROM s WHERE i < 5 OR s = 'dev-17'",
            r.clone()
        ),
        r#"{"x":1}"#
    );
    assert_eq!(
        one("SELECT 1 AS x FROM s WHERE i IN (1, 7, 9)", r.clone()),
        r#"{"x":1}"#
    );
    assert_eq!(
        one("SELECT 1 AS x FROM s WHERE i NOT IN (1, 9)", r.clone()),
        r#"{"x":1}"#
    );
    assert_eq!(
        one("SELECT 1 AS x FROM s WHERE f BETWEEN 2 AND 3", r.clone()),
        r#"{"x":1}"#
    );
    assert_eq!(
        one(
            "SELECT 1 AS x FROM s WHERE f NOT BETWEEN 2 AND 3",
            r.clone()
        ),
        "-"
    );
    assert_eq!(
        one("SELECT 1 AS x FROM s WHERE s LIKE 'dev-%'", r.clone()),
        r#"{"x":1}"#
    );
    assert_eq!(
        one("SELECT 1 AS x FROM s WHERE s NOT LIKE 'dev-_'", r.clone()),
        r#"{"x":1}"#
    );
    assert_eq!(
        one(
            "SELECT 1 AS x FROM s WHERE n IS NULL AND missing IS NULL AND i IS NOT NULL",
            r.clone()
        ),
        r#"{"x":1}"#
    );
    assert_eq!(
        one(
            "SELECT CASE WHEN i > 5 THEN 'big' ELSE 'small' END AS size, CASE s WHEN 'x' THEN 1 WHEN 'dev-17' THEN 2 END AS k FROM s",
            r.clone()
        ),
        r#"{"size":"big","k":2}"#
    );
    assert_eq!(
        one("SELECT CASE WHEN i > 50 THEN 1 END AS k FROM s", r.clone()),
        "{}"
    );
}

#[test]
fn nulls_follow_ekuiper() {
    let r = json!({"i": 7});
    // Comparisons with a missing field are false, so WHERE drops the row rather than failing.
    assert_eq!(one("SELECT i FROM s WHERE missing > 20", r.clone()), "-");
    assert_eq!(
        one("SELECT i FROM s WHERE missing IN (1, 2)", r.clone()),
        "-"
    );
    assert_eq!(
        one("SELECT i FROM s WHERE missing LIKE 'a%'", r.clone()),
        "-"
    );
    assert_eq!(
        one("SELECT i FROM s WHERE missing != 3", r.clone()),
        r#"{"i":7}"#
    );
    assert_eq!(
        one(
            "SELECT i FROM s WHERE true AND missing > 1 OR i = 7",
            r.clone()
        ),
        r#"{"i":7}"#
    );
    assert_eq!(
        one("SELECT missing + 1 AS m, i FROM s", r.clone()),
        r#"{"i":7}"#
    );
}

#[test]
fn null_results_are_left_out_unless_send_nil_field() {
    let rows = [json!({"a": 1, "b": null})];
    assert_eq!(run("SELECT a, b, c FROM s", &rows), [r#"{"a":1}"#]);
    assert_eq!(
        run_with("SELECT a, b, c FROM s", &rows, true),
        [r#"{"a":1,"b":null,"c":null}"#]
    );
    // `*` passes the message through as it came, nulls included.
    assert_eq!(run("SELECT * FROM s", &rows), [r#"{"a":1,"b":null}"#]);
}

#[test]
fn runtime_errors_name_the_operands() {
    let r = json!({"s": "abc", "i": 0});
    assert_eq!(
        one("SELECT s FROM s WHERE s > 20", r.clone()),
        "run Where error: invalid operation string(abc) > bigint(20)"
    );
    assert_eq!(
        one("SELECT 10 / i AS q FROM s", r.clone()),
        "run Select error: q: divided by zero"
    );
    assert_eq!(
        one("SELECT s FROM s WHERE s", r.clone()),
        "run Where error: the condition returned string(abc) where a boolean was expected"
    );
    assert_eq!(
        one("SELECT abs(s) AS a FROM s", r),
        "run Select error: a: abs(): expects a number, found string(abc)"
    );
}

#[test]
fn scalar_functions_and_cast() {
    let r = json!({"t": 23.56, "name": "  Dev-7 ", "n": null, "code": "12", "items": [1, 2]});
    assert_eq!(
        one(
            "SELECT round(t) AS r, round(t, 1) AS r1, floor(t) AS f, ceil(t) AS c, abs(-3) AS a, \
             lower(name) AS lo, upper(trim(name)) AS up, concat('a', 1, 'b') AS cc, length(trim(name)) AS len, \
             length(items) AS li, substring(trim(name), 0, 3) AS sub, coalesce(n, 'x') AS co, isnull(n) AS isn FROM s",
            r.clone()
        ),
        r#"{"r":24.0,"r1":23.6,"f":23.0,"c":24.0,"a":3,"lo":"  dev-7 ","up":"DEV-7","cc":"a1b","len":5,"li":2,"sub":"Dev","co":"x","isn":true}"#
    );
    assert_eq!(
        one(
            r#"SELECT cast(code, "bigint") AS a, cast(t, "bigint") AS b, cast(t, 'string') AS c, CAST(code AS FLOAT) AS d, cast(1, "boolean") AS e FROM s"#,
            r.clone()
        ),
        r#"{"a":12,"b":23,"c":"23.56","d":12.0,"e":true}"#
    );
    assert_eq!(
        one(r#"SELECT cast(name, "bigint") AS a FROM s"#, r.clone()),
        "run Select error: a: cannot convert string(  Dev-7 ) to bigint"
    );
    let now = one("SELECT now() AS n FROM s", r);
    assert!(now.starts_with(r#"{"n":"20"#), "{now}");
}

#[test]
fn compile_errors_point_at_the_problem() {
    assert!(compile_error("SELEC * FROM s").starts_with("invalid SQL: "));
    assert!(compile_error("SELECT a FROM s WHERE").contains("invalid SQL"));
    assert_eq!(
        compile_error("SELECT nosuch(a) FROM s"),
        "unknown function nosuch() in nosuch(a)"
    );
    assert_eq!(
        compile_error("SELECT abs(a, b) FROM s"),
        "abs() takes 1 argument, found 2 in abs(a, b)"
    );
    assert!(
        compile_error(r#"SELECT cast(a, "money") FROM s"#).contains("must be one of bigint, float")
    );
    assert!(
        compile_error("SELECT rule_start() FROM s")
            .starts_with("the function rule_start() is not supported yet")
    );
    assert_eq!(
        compile_error("SELECT a FROM s WHERE count(*) > 1"),
        "the aggregate function count() cannot be used in WHERE, found count(*); use HAVING"
    );
    assert_eq!(
        compile_error("SELECT sum(avg(a)) FROM s GROUP BY TUMBLINGWINDOW(ss, 1)"),
        "aggregate functions cannot be nested, found avg(a)"
    );
    assert_eq!(
        compile_error("SELECT TUMBLINGWINDOW(ss, 1) FROM s"),
        "the window tumblingwindow() goes in GROUP BY, found in TUMBLINGWINDOW(ss, 1)"
    );
    assert!(
        compile_error("SELECT a FROM s GROUP BY TUMBLINGWINDOW(ss, 1), COUNTWINDOW(5)")
            .starts_with("a rule has one window, found a second: COUNTWINDOW(5)")
    );
    assert_eq!(
        compile_error("SELECT a FROM s GROUP BY TUMBLINGWINDOW(yy, 1)"),
        "tumblingwindow() takes a time unit first (dd, hh, mi, ss or ms), in TUMBLINGWINDOW(yy, 1)"
    );
    assert_eq!(
        compile_error("SELECT a FROM s GROUP BY HOPPINGWINDOW(ss, 10)"),
        "hoppingwindow takes a time unit, a length and a hop, found 1 number(s), in HOPPINGWINDOW(ss, 10)"
    );
    assert_eq!(
        compile_error("SELECT a FROM s GROUP BY COUNTWINDOW(0)"),
        "countwindow: the count must be more than 0, found 0, in COUNTWINDOW(0)"
    );
    assert_eq!(
        compile_error("SELECT percentile_cont(a) FROM s GROUP BY COUNTWINDOW(2)"),
        "percentile_cont() takes 2 argument(s), found 1 in percentile_cont(a)"
    );
    assert_eq!(
        compile_error("SELECT a FROM s LIMIT a"),
        "LIMIT takes a whole number, found a"
    );
    assert_eq!(
        compile_error("INSERT INTO t VALUES (1)"),
        "a rule's SQL must be a SELECT statement, found INSERT"
    );
    assert!(compile_error("SELECT 1; SELECT 2").contains("exactly one SELECT"));
    assert!(compile_error("SELECT a").contains("no FROM"));
}

#[test]
fn keys_are_shared_not_copied() {
    let plan = compile_select("SELECT device FROM s").unwrap();
    let mut input = Map::new();
    input.insert("device".into(), Value::string("d"));
    let out = plan
        .project(&input.into(), &[], &SystemClock, false, false)
        .unwrap();
    assert_eq!(out.len(), 1);
}

#[test]
fn meta_reads_what_the_source_attached_and_send_meta_passes_it_on() {
    let meta = Arc::new(row(json!({"topic": "sensors/1", "qos": 1})));
    let tuple = Tuple::new(row(json!({"t": 21})), Some(meta));
    let plan = compile_select(
        "SELECT t, meta(topic) AS topic, meta(QOS) AS q, meta(nope) AS n, meta(*) AS m FROM s \
         WHERE meta(topic) = \"sensors/1\"",
    )
    .unwrap();
    assert_eq!(plan.filter(&tuple, &[], &SystemClock), Ok(true));
    let out = plan
        .project(&tuple, &[], &SystemClock, false, true)
        .unwrap();
    assert_eq!(
        to_json_string(&out),
        r#"{"t":21,"topic":"sensors/1","q":1,"m":{"topic":"sensors/1","qos":1},"__meta":{"topic":"sensors/1","qos":1}}"#
    );
    let bare = Tuple::from(row(json!({"t": 1})));
    assert_eq!(plan.filter(&bare, &[], &SystemClock), Ok(false));
    assert!(compile_error("SELECT meta(a, b) FROM s").contains("meta() takes 1 argument"));
    assert!(compile_error("SELECT meta(1) FROM s").contains("metadata key"));
}

/// Runs `sql` over one collection of rows, as a closed window [1000, 2000): the JSON of its
/// result rows and the errors.
pub(super) fn collect(sql: &str, rows: &[serde_json::Value]) -> (String, Vec<String>) {
    let tagged: Vec<(usize, serde_json::Value)> = rows.iter().map(|r| (0, r.clone())).collect();
    collect_from(sql, &tagged)
}

/// Like [`collect`], each row tagged with its stream's index in FROM.
fn collect_from(sql: &str, rows: &[(usize, serde_json::Value)]) -> (String, Vec<String>) {
    let plan = compile_select(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    evaluate(&plan, rows, 2000)
}

/// Runs a compiled statement over one window of rows, [at - 1000, at), each tagged with its
/// stream's index in FROM, their analytic functions computed first; the n-th row's time is
/// at - 1000 + n.
pub(super) fn evaluate(
    plan: &SelectPlan,
    rows: &[(usize, serde_json::Value)],
    at: i64,
) -> (String, Vec<String>) {
    let inputs: Vec<Input> = rows
        .iter()
        .enumerate()
        .map(|(i, (stream, r))| {
            let mut input = Input::new(*stream, Tuple::from(row(r.clone())));
            input.analytics = plan.analyze(&input.tuple, &SystemClock).unwrap();
            input.time = Some(at - 1000 + i as i64);
            input
        })
        .collect();
    let out = plan.evaluate(
        &inputs,
        Some((at - 1000, at)),
        at,
        &SystemClock,
        false,
        false,
    );
    let json = to_json_string(&Value::array(
        out.rows.into_iter().map(Value::object).collect(),
    ));
    let errors = out
        .errors
        .into_iter()
        .map(|(RowError::Where(e) | RowError::Select(e))| e)
        .collect();
    (json, errors)
}

fn readings() -> Vec<serde_json::Value> {
    vec![
        json!({"device": "a", "t": 20, "h": 50}),
        json!({"device": "b", "t": 30, "h": 40}),
        json!({"device": "a", "t": 24, "h": 70}),
        json!({"device": "c", "t": 10, "h": 90}),
        json!({"device": "b", "t": 31}),
    ]
}

#[test]
fn group_by_aggregates_having_order_by_and_limit() {
    let (out, errors) = collect(
        "SELECT device, count(*) AS n, avg(t) AS mean, max(h) AS top, min(t), sum(t), \
         collect(h) AS hs, window_start() AS ws, window_end() AS we \
         FROM s WHERE t > 15 GROUP BY device, TUMBLINGWINDOW(ss, 1) \
         HAVING count(*) > 1 ORDER BY mean DESC",
        &readings(),
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        out,
        r#"[{"device":"b","n":2,"mean":30,"top":40,"min":30,"sum":61,"hs":[40,null],"ws":1000,"we":2000},{"device":"a","n":2,"mean":22,"top":70,"min":20,"sum":44,"hs":[50,70],"ws":1000,"we":2000}]"#
    );
    // Without GROUP BY keys the whole window is one group; a column that is neither grouped
    // nor aggregated takes the group's first row's value, as in eKuiper.
    let (out, _) = collect(
        "SELECT device, count(*) AS n, avg(t * 1.0) AS mean FROM s GROUP BY COUNTWINDOW(5)",
        &readings(),
    );
    assert_eq!(out, r#"[{"device":"a","n":5,"mean":23.0}]"#);
    // A window without aggregates passes its rows on, ordered and limited.
    let (out, _) = collect(
        "SELECT device, t FROM s GROUP BY COUNTWINDOW(5) ORDER BY t ASC, device LIMIT 2",
        &readings(),
    );
    assert_eq!(out, r#"[{"device":"c","t":10},{"device":"a","t":20}]"#);
    // Aliases: a later field, HAVING and ORDER BY may use them.
    let (out, _) = collect(
        "SELECT device, max(t) AS top, top + 1 AS above FROM s GROUP BY device, COUNTWINDOW(5) \
         HAVING top >= 24 ORDER BY above",
        &readings(),
    );
    assert_eq!(
        out,
        r#"[{"device":"a","top":24,"above":25},{"device":"b","top":31,"above":32}]"#
    );
    // Group keys may be expressions.
    let (out, _) = collect(
        "SELECT t > 20 AS hot, count(*) AS n FROM s GROUP BY t > 20, COUNTWINDOW(5) ORDER BY n",
        &readings(),
    );
    assert_eq!(out, r#"[{"hot":false,"n":2},{"hot":true,"n":3}]"#);
}

/// Statements without ORDER BY take a shorter way through HAVING, SELECT and LIMIT; a constant
/// ORDER BY (a stable sort that keeps the groups' order) sends the same statement the general
/// way. Both give the same rows and the same errors in the same order.
#[test]
fn the_short_way_without_order_by_gives_what_the_general_way_gives() {
    let rows = [
        json!({"device": "a", "t": 20, "h": 1}),
        json!({"device": "b", "t": 30, "h": "x"}),
        json!({"device": "c", "t": 0, "h": 3}),
        json!({"device": "a", "t": 24, "h": 4}),
        json!({"device": "d", "t": 31, "h": 5}),
        json!({"device": "e", "t": 5, "h": 6}),
    ];
    for statement in [
        "SELECT device, sum(h) AS s, 100 / min(t) AS q FROM s GROUP BY device, COUNTWINDOW(6)",
        "SELECT device, sum(h) AS s FROM s GROUP BY device, COUNTWINDOW(6) HAVING 10 / min(t) < 1",
        "SELECT device, max(t) AS m FROM s GROUP BY device, COUNTWINDOW(6) HAVING m > 4 LIMIT 2",
        "SELECT device, last_agg_hit_count() AS c FROM s GROUP BY device, COUNTWINDOW(3) \
         HAVING max(t) > 10",
        "SELECT device, t FROM s GROUP BY COUNTWINDOW(6) LIMIT 4",
    ] {
        let (body, limit) =
            statement.split_at(statement.find(" LIMIT ").unwrap_or(statement.len()));
        let short = collect(statement, &rows);
        let general = collect(&format!("{body} ORDER BY window_start(){limit}"), &rows);
        assert_eq!(short, general, "{statement}");
        assert!(!short.0.is_empty(), "{statement}: some rows");
    }
    // The errors are there to compare: a group whose SELECT fails, one whose HAVING does.
    let (_, errors) = collect(
        "SELECT device, sum(h) AS s, 100 / min(t) AS q FROM s GROUP BY device, COUNTWINDOW(6)",
        &rows,
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
}

#[test]
fn failures_in_a_collection_are_reported_and_the_rest_goes_on() {
    let (out, errors) = collect(
        "SELECT device, sum(h) AS s FROM s WHERE t / (t - 10) > 0 GROUP BY device, COUNTWINDOW(5)",
        &[
            json!({"device": "a", "t": 10, "h": 1}),
            json!({"device": "a", "t": 20, "h": "x"}),
            json!({"device": "b", "t": 20, "h": 2}),
        ],
    );
    assert_eq!(out, r#"[{"device":"b","s":2}]"#);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("run Where error"), "{errors:?}");
    assert!(
        errors[1].contains("sum(): expected numbers, found string(x)"),
        "{errors:?}"
    );
}

fn two_streams() -> Vec<(usize, serde_json::Value)> {
    vec![
        (0, json!({"temperature": 30, "timestamp": 1})),
        (1, json!({"temp": 22, "timestamp": 1})),
        (0, json!({"temperature": 20, "timestamp": 2})),
        (1, json!({"temp": 21, "timestamp": 2})),
        (0, json!({"temperature": 25, "timestamp": 3})),
        (1, json!({"temp": 30, "timestamp": 4})),
    ]
}

#[test]
fn the_sink_extension_guides_rule() {
    let (out, errors) = collect_from(
        "SELECT demo.temperature, demo1.temp FROM demo LEFT JOIN demo1 ON demo.timestamp = demo1.timestamp \
         WHERE demo.temperature > demo1.temp GROUP BY demo.temperature, HOPPINGWINDOW(ss, 20, 10)",
        &two_streams(),
    );
    assert!(errors.is_empty(), "{errors:?}");
    // 30 joins 22 (kept), 20 joins 21 (20 > 21 is false), 25 joins nothing (25 > null is
    // false): one group.
    assert_eq!(out, r#"[{"temperature":30,"temp":22}]"#);
}

#[test]
fn every_kind_of_join() {
    let sql = |kind: &str| {
        format!(
            "SELECT d.temperature AS t, e.temp AS u FROM demo AS d {kind} JOIN demo1 AS e \
             ON d.timestamp = e.timestamp GROUP BY COUNTWINDOW(6)"
        )
    };
    let run = |kind: &str| collect_from(&sql(kind), &two_streams()).0;
    assert_eq!(run("INNER"), r#"[{"t":30,"u":22},{"t":20,"u":21}]"#);
    assert_eq!(run("LEFT"), r#"[{"t":30,"u":22},{"t":20,"u":21},{"t":25}]"#);
    assert_eq!(
        run("RIGHT"),
        r#"[{"t":30,"u":22},{"t":20,"u":21},{"u":30}]"#
    );
    assert_eq!(
        run("FULL"),
        r#"[{"t":30,"u":22},{"t":20,"u":21},{"t":25},{"u":30}]"#
    );
    let (cross, _) = collect_from(
        "SELECT count(*) AS n FROM demo CROSS JOIN demo1 GROUP BY COUNTWINDOW(6)",
        &two_streams(),
    );
    assert_eq!(cross, r#"[{"n":9}]"#);
    // `*` takes every stream's fields (the first stream's win a clash); `stream.*` one's.
    let (star, _) = collect_from(
        "SELECT * FROM demo INNER JOIN demo1 ON demo.timestamp = demo1.timestamp \
         GROUP BY COUNTWINDOW(6) LIMIT 1",
        &two_streams(),
    );
    assert_eq!(star, r#"[{"temperature":30,"timestamp":1,"temp":22}]"#);
    let (one, _) = collect_from(
        "SELECT demo1.* FROM demo INNER JOIN demo1 ON demo.timestamp = demo1.timestamp \
         GROUP BY COUNTWINDOW(6) LIMIT 1",
        &two_streams(),
    );
    assert_eq!(one, r#"[{"temp":22,"timestamp":1}]"#);
    assert_eq!(
        compile_error("SELECT * FROM demo INNER JOIN demo1 GROUP BY COUNTWINDOW(2)"),
        "the join of demo1 needs an ON condition"
    );
}

#[test]
fn analytic_functions_keep_state_from_row_to_row() {
    let temps = [
        json!({"ts": 1, "temperature": 23, "humidity": 88}),
        json!({"ts": 2, "temperature": 23, "humidity": 88}),
        json!({"ts": 3, "temperature": 23, "humidity": 88}),
        json!({"ts": 4, "temperature": 25, "humidity": 88}),
        json!({"ts": 5, "temperature": 25, "humidity": 90}),
        json!({"ts": 6, "temperature": 25, "humidity": 91}),
    ];
    // eKuiper's documented examples.
    assert_eq!(
        run(
            "SELECT ts, temperature, humidity FROM demo WHERE HAD_CHANGED(true, temperature, humidity) = true",
            &temps
        ),
        [
            r#"{"ts":1,"temperature":23,"humidity":88}"#,
            "-",
            "-",
            r#"{"ts":4,"temperature":25,"humidity":88}"#,
            r#"{"ts":5,"temperature":25,"humidity":90}"#,
            r#"{"ts":6,"temperature":25,"humidity":91}"#,
        ]
    );
    assert_eq!(
        run(
            "SELECT CHANGED_COL(true, temperature) AS myTemp, CHANGED_COL(true, humidity) AS myHum FROM demo",
            &temps
        ),
        [
            r#"{"myTemp":23,"myHum":88}"#,
            "{}",
            "{}",
            r#"{"myTemp":25}"#,
            r#"{"myHum":90}"#,
            r#"{"myHum":91}"#,
        ]
    );
    // Analytic functions run before WHERE: the filtered rows still feed lag.
    assert_eq!(
        run(
            "SELECT ts, lag(temperature) AS before FROM demo WHERE ts > 3",
            &temps
        ),
        [
            "-",
            "-",
            "-",
            r#"{"ts":4,"before":23}"#,
            r#"{"ts":5,"before":25}"#,
            r#"{"ts":6,"before":25}"#,
        ]
    );
    let a = [json!({"a": 1}), json!({"a": 2}), json!({"a": 3})];
    assert_eq!(
        run(
            "SELECT acc_sum(a) AS s, acc_min(a) AS lo, acc_max(a) AS hi, acc_count(a) AS n, acc_avg(a) AS m FROM demo",
            &a
        ),
        [
            r#"{"s":1,"lo":1,"hi":1,"n":1,"m":1.0}"#,
            r#"{"s":3,"lo":1,"hi":2,"n":2,"m":1.5}"#,
            r#"{"s":6,"lo":1,"hi":3,"n":3,"m":2.0}"#,
        ]
    );
}

#[test]
fn analytic_partitions_when_and_defaults() {
    let rows = [
        json!({"d": "x", "v": 1, "ts": 10}),
        json!({"d": "y", "v": 5, "ts": 11}),
        json!({"d": "x", "v": 2, "ts": 12}),
        json!({"d": "x", "v": null, "ts": 13}),
        json!({"d": "y", "v": 6, "ts": 14}),
    ];
    assert_eq!(
        run(
            "SELECT lag(v, 1, -1) OVER (PARTITION BY d) AS prev, latest(v, 0) AS last, \
             lag(v, 2) AS two FROM demo",
            &rows
        ),
        [
            r#"{"prev":-1,"last":1}"#,
            r#"{"prev":-1,"last":5}"#,
            r#"{"prev":1,"last":2,"two":1}"#,
            r#"{"prev":2,"last":2,"two":5}"#,
            r#"{"prev":5,"last":6,"two":2}"#,
        ]
    );
    // With WHEN, rows where it does not hold keep the state and get the last result again; the
    // documented duration example (a default that is an expression, nulls ignored).
    let status = [
        json!({"ts": 1, "code": "a"}),
        json!({"ts": 2, "code": "a"}),
        json!({"ts": 4, "code": "b"}),
        json!({"ts": 7, "code": "b"}),
        json!({"ts": 9, "code": "a"}),
    ];
    assert_eq!(
        run(
            "SELECT ts - lag(ts, 1, ts, true) OVER (WHEN had_changed(true, code)) AS duration FROM demo",
            &status
        ),
        [
            r#"{"duration":0}"#,
            r#"{"duration":1}"#,
            r#"{"duration":3}"#,
            r#"{"duration":6}"#,
            r#"{"duration":5}"#,
        ]
    );
    assert_eq!(
        compile_error("SELECT lag(a, 0) FROM s"),
        "lag(): the offset must be a whole number above 0, found Literal(Int(0)) in lag(a, 0)"
    );
    assert_eq!(
        compile_error("SELECT changed_col(a) FROM s"),
        "changed_col() takes 2 argument(s), found 1 in changed_col(a)"
    );
}

#[test]
fn star_except_and_replace() {
    let r = json!({"a": 1, "b": 2, "c": 3});
    assert_eq!(
        one("SELECT * EXCEPT (b) FROM s", r.clone()),
        r#"{"a":1,"c":3}"#
    );
    assert_eq!(
        one("SELECT * REPLACE (a * 10 AS a) FROM s", r.clone()),
        r#"{"a":10,"b":2,"c":3}"#
    );
    assert_eq!(
        one("SELECT * EXCEPT (c) REPLACE (b + 1 AS b), c AS d FROM s", r),
        r#"{"a":1,"b":3,"d":3}"#
    );
}

#[test]
fn rule_id_names_the_rule() {
    let plan = compile_rule_select("SELECT rule_id() AS r FROM s", Some("hot")).unwrap();
    let out = plan
        .project(&Tuple::default(), &[], &SystemClock, false, false)
        .unwrap();
    assert_eq!(to_json_string(&out), r#"{"r":"hot"}"#);
    assert!(compile_error("SELECT rule_id(1) FROM s").contains("rule_id() takes no arguments"));
}
