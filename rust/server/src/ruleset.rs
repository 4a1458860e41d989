//! eKuiper's ruleset format: `{"streams": {name: "CREATE STREAM ..."}, "rules": {id: rule}}`,
//! where a rule is its JSON object or the same as a string, plus `sourceConfig`, eKuiper's
//! source property sets by source type (`{"file": {"confKey": {...}}}`, or that as a string).

use serde_json::{Map as JsonMap, Value as Json};
use sinkbridge_engine::rule::json_type_name;
use sinkbridge_engine::{Engine, Error};

/// Reads a ruleset's text; the error names the part at fault.
pub fn parse(text: &str) -> Result<JsonMap<String, Json>, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let Json::Object(top) = json else {
        return Err(format!(
            "expected a JSON object with streams and rules, found {}",
            json_type_name(&json)
        ));
    };
    for key in top.keys() {
        if !matches!(key.as_str(), "streams" | "rules" | "sourceConfig") {
            return Err(format!(
                "{key}: unknown section; a ruleset has streams, rules and sourceConfig"
            ));
        }
    }
    Ok(top)
}

/// Parses a value that eKuiper's exports may hold either as JSON or as a string of JSON.
fn json_or_string(value: &Json, place: &str) -> Result<Json, String> {
    match value {
        Json::String(text) => {
            serde_json::from_str(text).map_err(|e| format!("{place}: invalid JSON: {e}"))
        }
        other => Ok(other.clone()),
    }
}

fn section<'a>(
    top: &'a JsonMap<String, Json>,
    name: &str,
) -> Result<Option<&'a JsonMap<String, Json>>, String> {
    match top.get(name) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Object(map)) => Ok(Some(map)),
        Some(other) => Err(format!(
            "{name}: expected an object, found {}",
            json_type_name(other)
        )),
    }
}

/// Loads a ruleset into an engine: source properties, then streams, then rules (not started).
pub fn load(engine: &Engine, top: &JsonMap<String, Json>) -> Result<(), String> {
    if let Some(confs) = section(top, "sourceConfig")? {
        for (source_type, keys) in confs {
            let place = format!("sourceConfig.{source_type}");
            let keys = json_or_string(keys, &place)?;
            let Json::Object(keys) = keys else {
                return Err(format!(
                    "{place}: expected an object of conf keys, found {}",
                    json_type_name(&keys)
                ));
            };
            for (key, props) in keys {
                let Json::Object(props) = props else {
                    return Err(format!(
                        "{place}.{key}: expected an object of properties, found {}",
                        json_type_name(&props)
                    ));
                };
                engine
                    .set_source_conf(source_type, &key, props)
                    .map_err(|e| format!("{place}.{key}: {e}"))?;
            }
        }
    }
    if let Some(streams) = section(top, "streams")? {
        for (name, sql) in streams {
            let Json::String(sql) = sql else {
                return Err(format!(
                    "streams.{name}: expected a CREATE STREAM statement as a string, found {}",
                    json_type_name(sql)
                ));
            };
            let created = engine
                .create_stream(sql)
                .map_err(|e| format!("streams.{name}: {e}"))?;
            if created != *name {
                return Err(format!(
                    "streams.{name}: the statement creates a stream named {created}"
                ));
            }
        }
    }
    if let Some(rules) = section(top, "rules")? {
        for (id, rule) in rules {
            let place = format!("rules.{id}");
            let mut rule = json_or_string(rule, &place)?;
            if let Json::Object(obj) = &mut rule {
                match obj.get("id") {
                    None => {
                        obj.insert("id".into(), Json::String(id.clone()));
                    }
                    Some(Json::String(inner)) if inner != id => {
                        return Err(format!(
                            "{place}: the rule's id is {inner:?}; it must match its key"
                        ));
                    }
                    Some(_) => {}
                }
            }
            engine
                .create_rule(&rule)
                .map_err(|e| format!("{place}: {}", strip_rule_prefix(&e)))?;
        }
    }
    Ok(())
}

/// The engine's messages start with `rule "id": `, which the ruleset's place already says.
fn strip_rule_prefix(e: &Error) -> String {
    let text = e.to_string();
    match text.strip_prefix("rule \"") {
        Some(rest) => match rest.find("\": ") {
            Some(end) => rest[end + 3..].to_string(),
            None => text,
        },
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sinkbridge_engine::EngineConfig;

    fn load_text(text: &str) -> Result<Engine, String> {
        let engine = Engine::new(EngineConfig::default()).unwrap();
        load(&engine, &parse(text)?)?;
        Ok(engine)
    }

    #[test]
    fn rules_as_objects_or_strings_and_ids_from_keys() {
        let ruleset = json!({
            "streams": {"s": "CREATE STREAM s () WITH (TYPE=\"memory\", DATASOURCE=\"s\")"},
            "rules": {
                "a": {"sql": "SELECT * FROM s", "actions": [{"log": {}}]},
                "b": "{\"id\": \"b\", \"sql\": \"SELECT * FROM s\", \"actions\": [{\"nop\": {}}]}"
            },
            "sourceConfig": {"file": "{\"slow\": {\"interval\": 100}}"}
        });
        let engine = load_text(&ruleset.to_string()).unwrap();
        let ids: Vec<String> = engine.rules().into_iter().map(|r| r.id).collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn errors_name_the_rule_or_stream_and_the_field() {
        let err = |v: Json| load_text(&v.to_string()).err().unwrap();
        assert_eq!(
            err(json!({"streams": {"s": "CREATE STREAM s () WITH (TYPE=\"memory\")"}})),
            "streams.s: stream s: option DATASOURCE is required (the topic or file the stream reads)"
        );
        assert_eq!(
            err(
                json!({"streams": {"s": "CREATE STREAM s () WITH (TYPE=\"memory\", DATASOURCE=\"s\")"},
                       "rules": {"r": {"sql": "SELECT * FROM s", "actions": [{"log": {}}], "options": {"bogus": 1}}}})
            ),
            "rules.r: options.bogus: unknown option; the options are isEventTime, lateTolerance, concurrency, bufferLength, sendMetaToSink, sendError, sendNilField, qos, checkpointInterval and restartStrategy"
        );
        assert_eq!(
            err(json!({"rules": {"r": {"id": "x", "sql": "s", "actions": []}}})),
            "rules.r: the rule's id is \"x\"; it must match its key"
        );
        assert_eq!(
            err(json!({"tables": {}})),
            "tables: unknown section; a ruleset has streams, rules and sourceConfig"
        );
        assert!(load_text("{").unwrap_err().starts_with("invalid JSON: EOF"));
        assert_eq!(
            err(json!({"streams": {"s": 1}})),
            "streams.s: expected a CREATE STREAM statement as a string, found number"
        );
    }
}
