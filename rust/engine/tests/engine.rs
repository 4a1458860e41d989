//! The engine's runtime from its Rust API: sources, rules, sinks, status.

mod common;

use std::time::{Duration, Instant};

use common::{engine_with_recorder, rows};
use serde_json::{Map as JsonMap, json};
use sinkbridge_engine::Error;

#[test]
fn memory_stream_through_a_rule_into_a_sink() {
    let (engine, recorder) = engine_with_recorder();
    engine
        .create_stream(r#"CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="sensors/+")"#)
        .unwrap();
    engine.start().unwrap();
    engine
        .create_rule(
            &json!({"id": "hot", "sql": "SELECT device, temperature FROM s WHERE temperature > 20",
                             "actions": [{"recorder": {}}]}),
        )
        .unwrap();
    let n = engine
        .publish(
            "sensors/a",
            rows(json!([{"device": "a", "temperature": 25}, {"device": "b", "temperature": 15}, {"device": "c", "temperature": 21.5}])),
        )
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        recorder.wait_for(2),
        [
            r#"[{"device":"a","temperature":25}]"#,
            r#"[{"device":"c","temperature":21.5}]"#
        ]
    );
    let status = engine.rule_status("hot").unwrap();
    assert_eq!(status["status"], "running");
    assert_eq!(status["source_s_0_records_in_total"], 3);
    assert_eq!(status["op_1_filter_0_records_out_total"], 2);
    assert_eq!(status["sink_recorder_0_0_records_out_total"], 2);
    engine.stop_rule("hot").unwrap();
    assert_eq!(recorder.events().last().map(String::as_str), Some("close"));
    let status = engine.rule_status("hot").unwrap();
    assert_eq!(status["status"], "stopped");
    assert_eq!(status["message"], "canceled manually");
    // The last run's metrics stay visible after the stop.
    assert_eq!(status["sink_recorder_0_0_records_in_total"], 2);
}

#[test]
fn rules_chain_through_memory_sinks() {
    let (engine, recorder) = engine_with_recorder();
    engine
        .create_stream(r#"CREATE STREAM raw () WITH (TYPE="memory", DATASOURCE="raw")"#)
        .unwrap();
    engine
        .create_stream(r#"CREATE STREAM hot () WITH (TYPE="memory", DATASOURCE="hot")"#)
        .unwrap();
    engine
        .create_rule(&json!({"id": "second", "sql": "SELECT upper(device) AS d FROM hot", "actions": [{"recorder": {}}]}))
        .unwrap();
    engine
        .create_rule(
            &json!({"id": "first", "sql": "SELECT device FROM raw WHERE t > 1",
                             "actions": [{"memory": {"topic": "hot"}}]}),
        )
        .unwrap();
    engine.start().unwrap();
    engine
        .publish(
            "raw",
            rows(json!([{"device": "x", "t": 2}, {"device": "y", "t": 0}])),
        )
        .unwrap();
    assert_eq!(recorder.wait_for(1), [r#"[{"d":"X"}]"#]);
    engine.stop();
}

#[test]
fn a_schema_converts_and_drops_fields_and_counts_bad_rows() {
    let (engine, recorder) = engine_with_recorder();
    engine
        .create_stream(
            r#"CREATE STREAM s (id bigint, t float) WITH (TYPE="memory", DATASOURCE="s")"#,
        )
        .unwrap();
    engine
        .create_rule(&json!({"id": "r", "sql": "SELECT * FROM s", "actions": [{"recorder": {}}]}))
        .unwrap();
    engine.start().unwrap();
    engine
        .publish(
            "s",
            rows(json!([{"id": "7", "t": 1, "x": true}, {"id": "seven"}, {"id": 8}])),
        )
        .unwrap();
    assert_eq!(
        recorder.wait_for(2),
        [r#"[{"id":7,"t":1.0}]"#, r#"[{"id":8}]"#]
    );
    let status = engine.rule_status("r").unwrap();
    assert_eq!(status["source_s_0_exceptions_total"], 1);
    assert_eq!(
        status["source_s_0_last_exception"],
        "field id: cannot convert string(seven) to bigint"
    );
    engine.stop();
}

#[test]
fn file_sources_read_lines_json_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.jsonl"),
        "{\"v\":1}\n\nnot json\n{\"v\":2}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("b.json"), r#"[{"v":3},{"v":4}]"#).unwrap();
    std::fs::write(dir.path().join("c.csv"), "v,name\n5,five\n6,six\n").unwrap();
    std::fs::write(dir.path().join("d.txt"), "{\"v\":7}\n").unwrap();
    let (engine, recorder) = engine_with_recorder();
    engine
        .set_source_conf(
            "file",
            "txt",
            JsonMap::from_iter([("fileType".to_string(), json!("lines"))]),
        )
        .unwrap();
    let streams = [
        ("a", "a.jsonl", ""),
        ("b", "b.json", ""),
        ("c", "c.csv", ""),
        ("d", "d.txt", r#", CONF_KEY="txt""#),
    ];
    for (name, file, extra) in streams {
        let path = dir.path().join(file);
        engine
            .create_stream(&format!(
                r#"CREATE STREAM {name} () WITH (TYPE="file", DATASOURCE="{}"{extra})"#,
                path.display()
            ))
            .unwrap();
        engine
            .create_rule(&json!({"id": name, "sql": format!("SELECT v FROM {name}"), "actions": [{"recorder": {}}]}))
            .unwrap();
    }
    engine.start().unwrap();
    let mut results = recorder.wait_for(7);
    results.sort();
    assert_eq!(
        results,
        [
            r#"[{"v":"5"}]"#,
            r#"[{"v":"6"}]"#,
            r#"[{"v":1}]"#,
            r#"[{"v":2}]"#,
            r#"[{"v":3}]"#,
            r#"[{"v":4}]"#,
            r#"[{"v":7}]"#
        ]
    );
    let status = engine.rule_status("a").unwrap();
    assert_eq!(
        status["status"], "running",
        "the rule keeps running at the end of the file"
    );
    assert_eq!(status["source_a_0_exceptions_total"], 1);
    assert!(
        status["source_a_0_last_exception"]
            .as_str()
            .unwrap()
            .contains("line 3: invalid JSON")
    );
    engine.stop();
}

#[test]
fn the_file_type_must_be_known_and_the_file_must_exist() {
    let (engine, _) = engine_with_recorder();
    let err = engine
        .create_stream(r#"CREATE STREAM s () WITH (TYPE="file", DATASOURCE="data.txt")"#)
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot tell the type of data.txt"),
        "{err}"
    );
    engine
        .create_stream(r#"CREATE STREAM s () WITH (TYPE="file", DATASOURCE="/no/such/file.jsonl")"#)
        .unwrap();
    engine
        .create_rule(&json!({"id": "r", "sql": "SELECT * FROM s", "actions": [{"log": {}}]}))
        .unwrap();
    let err = engine.start_rule("r").unwrap_err();
    assert!(matches!(err, Error::Rule(_)));
    assert!(
        err.to_string().contains("cannot open /no/such/file.jsonl"),
        "{err}"
    );
    let status = engine.rule_status("r").unwrap();
    assert_eq!(status["status"], "stopped");
    assert!(status["message"].as_str().unwrap().contains("cannot open"));
}

#[test]
fn rule_creation_checks_sql_stream_and_sinks() {
    let (engine, _) = engine_with_recorder();
    engine
        .create_stream(r#"CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="s")"#)
        .unwrap();
    let err = engine
        .create_rule(&json!({"id": "r", "sql": "SELECT * FROM nope", "actions": [{"log": {}}]}))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "rule \"r\": sql: stream nope does not exist; create it first"
    );
    let err = engine
        .create_rule(
            &json!({"id": "r", "sql": "SELECT * FROM s", "actions": [{"log": {}}, {"nosuch": {}}]}),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Sink { .. }));
    assert!(err.to_string().starts_with("rule \"r\": actions[1]: unknown sink \"nosuch\"; searched the built-in sinks (log, nop, memory, mqtt, file, rest)"), "{err}");
    let err = engine
        .create_rule(&json!({"id": "r", "sql": "SELECT * FROM s", "actions": [{"memory": {}}]}))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "rule \"r\": actions[0] (memory): the memory sink needs a topic property"
    );
    let err = engine
        .create_rule(&json!({"id": "r", "sql": "SELECT FROM WHERE", "actions": [{"log": {}}]}))
        .unwrap_err();
    assert!(matches!(err, Error::Sql(_)));
    assert!(
        engine.rules().is_empty(),
        "nothing is created when validation fails"
    );
    engine
        .create_rule(&json!({"id": "r", "sql": "SELECT * FROM s", "actions": [{"log": {}}]}))
        .unwrap();
    let err = engine
        .create_rule(&json!({"id": "r", "sql": "SELECT * FROM s", "actions": [{"log": {}}]}))
        .unwrap_err();
    assert_eq!(err.to_string(), "rule \"r\" already exists");
    assert_eq!(
        engine.drop_stream("s").unwrap_err().to_string(),
        "stream s is read by rules r; delete them first"
    );
    engine.delete_rule("r").unwrap();
    engine.drop_stream("s").unwrap();
    assert!(engine.streams().is_empty());
}

#[test]
fn a_sink_that_fails_to_open_fails_the_start_and_closes_the_others() {
    let (engine, recorder) = engine_with_recorder();
    engine
        .create_stream(r#"CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="s")"#)
        .unwrap();
    engine.start().unwrap();
    let err = engine
        .create_rule(&json!({"id": "r", "sql": "SELECT * FROM s",
                             "actions": [{"recorder": {}}, {"recorder": {"fail_open": true}}]}))
        .unwrap_err();
    assert!(matches!(err, Error::Sink { .. }));
    assert_eq!(
        err.to_string(),
        "rule \"r\" failed to start: actions[1] (recorder): configure refused"
    );
    assert_eq!(recorder.events(), ["open r recorder_0", "close"]);
    assert_eq!(engine.rules()[0].status, "stopped");
}

#[test]
fn triggered_false_waits_for_start_rule_and_engine_start_restarts_rules() {
    let (engine, recorder) = engine_with_recorder();
    engine
        .create_stream(r#"CREATE STREAM s () WITH (TYPE="memory", DATASOURCE="s")"#)
        .unwrap();
    engine.start().unwrap();
    engine
        .create_rule(&json!({"id": "r", "sql": "SELECT * FROM s", "triggered": false, "actions": [{"recorder": {}}]}))
        .unwrap();
    assert_eq!(engine.rules()[0].status, "stopped");
    assert_eq!(
        engine.publish("s", rows(json!({"a": 1}))).unwrap(),
        0,
        "nobody listens yet"
    );
    engine.start_rule("r").unwrap();
    engine.publish("s", rows(json!({"a": 2}))).unwrap();
    assert_eq!(recorder.wait_for(1), [r#"[{"a":2}]"#]);
    engine.stop();
    assert_eq!(engine.rules()[0].status, "stopped");
    engine.start().unwrap();
    assert_eq!(engine.rules()[0].status, "running");
    engine.publish("s", rows(json!({"a": 3}))).unwrap();
    assert_eq!(recorder.wait_for(2).len(), 2);
    engine.stop();
}

#[test]
fn a_shared_stream_subscribes_once_for_all_its_rules() {
    let (engine, recorder) = engine_with_recorder();
    engine
        .create_stream(
            r#"CREATE STREAM s (t bigint) WITH (TYPE="memory", DATASOURCE="in", SHARED="true")"#,
        )
        .unwrap();
    engine
        .create_stream(r#"CREATE STREAM own () WITH (TYPE="memory", DATASOURCE="in")"#)
        .unwrap();
    engine.start().unwrap();
    for id in ["a", "b"] {
        engine
            .create_rule(
                &json!({"id": id, "sql": format!("SELECT t, \"{id}\" AS rule FROM s"),
                                 "actions": [{"recorder": {}}]}),
            )
            .unwrap();
    }
    // One subscription, the shared source's, feeds both rules; the schema applies once.
    assert_eq!(engine.publish("in", rows(json!({"t": "7"}))).unwrap(), 1);
    let mut results = recorder.wait_for(2);
    results.sort();
    assert_eq!(
        results,
        [r#"[{"t":7,"rule":"a"}]"#, r#"[{"t":7,"rule":"b"}]"#]
    );
    assert_eq!(
        engine.rule_status("a").unwrap()["source_s_0_records_in_total"],
        1
    );
    // A stream without SHARED subscribes per rule.
    engine
        .create_rule(&json!({"id": "c", "sql": "SELECT * FROM own", "actions": [{"nop": {}}]}))
        .unwrap();
    assert_eq!(engine.publish("in", rows(json!({"t": 8}))).unwrap(), 2);
    recorder.wait_until(|results| results.iter().filter(|r| r.contains("\"t\":8")).count() == 2);
    // The shared source stops with its last rule, and starts again with the next.
    engine.stop_rule("a").unwrap();
    assert_eq!(engine.publish("in", rows(json!({"t": 9}))).unwrap(), 2);
    engine.stop_rule("b").unwrap();
    // The shared source's own task ends right after its last rule.
    let deadline = Instant::now() + Duration::from_secs(10);
    while engine.publish("in", rows(json!({"t": 10}))).unwrap() != 1 {
        assert!(Instant::now() < deadline, "the shared source did not stop");
        std::thread::sleep(Duration::from_millis(5));
    }
    engine.start_rule("b").unwrap();
    assert_eq!(engine.publish("in", rows(json!({"t": 11}))).unwrap(), 2);
    recorder.wait_until(|results| results.contains(&r#"[{"t":11,"rule":"b"}]"#.to_string()));
}

#[test]
fn sources_config_files_define_property_sets_and_named_sets_override_the_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.yaml");
    std::fs::write(
        &path,
        "default:\n  fileType: lines\n  interval: 0\nreplay:\n  fileType: json\n",
    )
    .unwrap();
    let (engine, recorder) = engine_with_recorder();
    let (source_type, keys) = engine.load_source_conf_file(&path).unwrap();
    assert_eq!(source_type, "file");
    assert_eq!(keys, ["default", "replay"]);
    let data = dir.path().join("rows.txt");
    std::fs::write(&data, "[{\"a\": 1}, {\"a\": 2}]").unwrap();
    // The named set's fileType wins over the default's: the file is read as one JSON array.
    engine
        .create_stream(&format!(
            r#"CREATE STREAM s () WITH (TYPE="file", DATASOURCE="{}", CONF_KEY="replay")"#,
            data.display()
        ))
        .unwrap();
    engine.start().unwrap();
    engine
        .create_rule(&json!({"id": "r", "sql": "SELECT a FROM s", "actions": [{"recorder": {}}]}))
        .unwrap();
    assert_eq!(recorder.wait_for(2), [r#"[{"a":1}]"#, r#"[{"a":2}]"#]);
    let missing = dir.path().join("kafka.yaml");
    std::fs::write(&missing, "default: {}\n").unwrap();
    let err = engine.load_source_conf_file(&missing).unwrap_err();
    assert!(
        err.to_string().contains("TYPE \"kafka\" is not supported"),
        "{err}"
    );
}

#[test]
fn streams_join_tables_as_they_stand() {
    let (engine, recorder) = engine_with_recorder();
    engine
        .create_stream(r#"CREATE STREAM readings () WITH (TYPE="memory", DATASOURCE="readings")"#)
        .unwrap();
    engine
        .create_stream(
            r#"CREATE TABLE devices () WITH (TYPE="memory", DATASOURCE="devices", KIND="lookup", KEY="id")"#,
        )
        .unwrap();
    engine
        .create_stream(
            r#"CREATE TABLE alerts () WITH (TYPE="memory", DATASOURCE="alerts", RETAIN_SIZE="2")"#,
        )
        .unwrap();
    engine.start().unwrap();
    engine
        .create_rule(
            &json!({"id": "r", "sql": "SELECT readings.id, devices.room, readings.t FROM readings \
                              LEFT JOIN devices ON readings.id = devices.id",
                             "actions": [{"recorder": {}}]}),
        )
        .unwrap();
    engine
        .publish("devices", rows(json!([{"id": 1, "room": "hall"}, {"id": 2, "room": "lab"}, {"id": 1, "room": "attic"}])))
        .unwrap();
    assert!(engine.wait_idle(Duration::from_secs(10)));
    engine
        .publish(
            "readings",
            rows(json!([{"id": 1, "t": 20}, {"id": 3, "t": 30}])),
        )
        .unwrap();
    // The lookup table keeps the latest row per id; a table row produces nothing by itself.
    assert_eq!(
        recorder.wait_for(2),
        [
            r#"[{"id":1,"room":"attic","t":20}]"#,
            r#"[{"id":3,"t":30}]"#
        ]
    );

    // A scan table keeps its latest RETAIN_SIZE rows.
    engine
        .create_rule(&json!({"id": "s", "sql": "SELECT count(*) AS n, max(alerts.level) AS top FROM readings \
                              INNER JOIN alerts ON readings.id = alerts.id",
                             "actions": [{"recorder": {}}]}))
        .unwrap();
    engine
        .publish(
            "alerts",
            rows(json!([{"id": 1, "level": 9}, {"id": 1, "level": 2}, {"id": 1, "level": 3}])),
        )
        .unwrap();
    assert!(engine.wait_idle(Duration::from_secs(10)));
    engine
        .publish("readings", rows(json!({"id": 1, "t": 1})))
        .unwrap();
    recorder.wait_until(|r| r.contains(&r#"[{"n":2,"top":3}]"#.to_string()));

    let err = |sql: &str| {
        engine
            .create_rule(&json!({"id": "x", "sql": sql, "actions": [{"nop": {}}]}))
            .unwrap_err()
            .to_string()
    };
    assert!(err("SELECT * FROM devices").contains("FROM names the table devices"));
    assert!(
        err("SELECT * FROM readings JOIN readings AS r2 ON readings.id = r2.id")
            .contains("a JOIN of streams needs a window")
    );

    // In a rule with a window, each window's rows join the table as it stands when it closes
    // (the rule's table holds the rows it has seen: not those before it started).
    engine
        .create_rule(&json!({"id": "w", "sql": "SELECT readings.id, devices.room FROM readings \
                              LEFT JOIN devices ON readings.id = devices.id GROUP BY COUNTWINDOW(2)",
                             "actions": [{"recorder": {}}]}))
        .unwrap();
    engine
        .publish("devices", rows(json!({"id": 2, "room": "cellar"})))
        .unwrap();
    assert!(engine.wait_idle(Duration::from_secs(10)));
    engine
        .publish(
            "readings",
            rows(json!([{"id": 2, "t": 5}, {"id": 1, "t": 6}])),
        )
        .unwrap();
    recorder.wait_until(|r| r.contains(&r#"[{"id":2,"room":"cellar"},{"id":1}]"#.to_string()));
}

#[test]
fn a_rule_that_names_its_columns_still_sees_what_it_reads_of_a_file_stream() {
    // A rule's own source skips the fields the rule does not read: the timestamp, a column
    // named in another case, and whole rows (`*`, `collect(*)`) must still come through.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.jsonl");
    std::fs::write(
        &path,
        concat!(
            "{\"temp\":1,\"extra\":{\"a\":[1,2]},\"ts\":0}\n",
            "{\"temp\":2,\"extra\":\"x\",\"ts\":500}\n",
            "{\"temp\":3,\"extra\":null,\"ts\":1500}\n",
        ),
    )
    .unwrap();
    let (engine, recorder) = engine_with_recorder();
    engine
        .create_stream(&format!(
            r#"CREATE STREAM e () WITH (TYPE="file", DATASOURCE="{}", TIMESTAMP="ts")"#,
            path.display()
        ))
        .unwrap();
    let event_time = json!({"isEventTime": true, "lateTolerance": 0});
    let rules = [
        (
            "named",
            "SELECT TEMP AS t, count(*) AS n FROM e GROUP BY TUMBLINGWINDOW(ss, 1)",
            event_time.clone(),
        ),
        (
            "collected",
            "SELECT collect(*)[0]->extra AS x FROM e GROUP BY TUMBLINGWINDOW(ss, 1)",
            event_time,
        ),
        ("star", "SELECT * FROM e WHERE temp > 2", json!({})),
    ];
    for (id, sql, options) in rules {
        engine
            .create_rule(
                &json!({"id": id, "sql": sql, "options": options, "actions": [{"recorder": {}}]}),
            )
            .unwrap();
    }
    engine.start().unwrap();
    let mut results = recorder.wait_for(3);
    results.sort();
    assert_eq!(
        results,
        [
            r#"[{"t":1,"n":2}]"#,
            r#"[{"temp":3,"extra":null,"ts":1500}]"#,
            r#"[{"x":{"a":[1,2]}}]"#,
        ]
    );
    engine.stop();
}

#[test]
fn file_lines_cut_by_the_read_buffer_and_a_last_line_without_newline_are_read_whole() {
    // 20,000 lines of about 60 bytes: the reader's 256 KB buffer ends inside lines.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.jsonl");
    let lines: Vec<String> = (0..20_000)
        .map(|i| format!(r#"{{"v":{i},"pad":"{}"}}"#, "x".repeat(40 + i % 7)))
        .collect();
    std::fs::write(&path, lines.join("\r\n")).unwrap();
    let (engine, recorder) = engine_with_recorder();
    engine
        .create_stream(&format!(
            r#"CREATE STREAM f () WITH (TYPE="file", DATASOURCE="{}")"#,
            path.display()
        ))
        .unwrap();
    let sql = "SELECT count(*) AS n, sum(v) AS s, max(length(pad)) AS longest FROM f GROUP BY COUNTWINDOW(20000)";
    engine
        .create_rule(&json!({"id": "r", "sql": sql, "actions": [{"recorder": {}}]}))
        .unwrap();
    engine.start().unwrap();
    assert_eq!(
        recorder.wait_for(1),
        [r#"[{"n":20000,"s":199990000,"longest":46}]"#]
    );
    assert_eq!(
        engine.rule_status("r").unwrap()["source_f_0_exceptions_total"],
        0
    );
    engine.stop();
}
