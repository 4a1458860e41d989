//! Rule definitions: eKuiper's rule JSON, validated field by field so that every error names
//! the field at fault.

use std::time::Duration;

use serde_json::{Map as JsonMap, Value as Json};

use crate::duration::parse_duration;
use crate::error::{Error, Result};

/// A rule: one SQL statement and the actions that receive its results.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDef {
    pub id: String,
    pub name: String,
    pub sql: String,
    pub actions: Vec<Action>,
    pub options: RuleOptions,
    /// Whether the rule runs when created (and when the engine starts).
    pub triggered: bool,
    pub tags: Vec<String>,
}

/// One action: the sink it names and that sink's properties.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub sink: String,
    pub props: JsonMap<String, Json>,
}

/// Rule options with eKuiper's names and defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleOptions {
    pub is_event_time: bool,
    pub late_tolerance: Duration,
    pub concurrency: usize,
    pub buffer_length: usize,
    pub send_meta_to_sink: bool,
    pub send_error: bool,
    pub send_nil_field: bool,
    pub qos: u8,
    pub checkpoint_interval: Duration,
    pub restart_strategy: RestartStrategy,
}

impl Default for RuleOptions {
    fn default() -> RuleOptions {
        RuleOptions {
            is_event_time: false,
            late_tolerance: Duration::from_millis(1000),
            concurrency: 1,
            buffer_length: 1024,
            send_meta_to_sink: false,
            send_error: false,
            send_nil_field: false,
            qos: 0,
            checkpoint_interval: Duration::from_millis(300_000),
            restart_strategy: RestartStrategy::default(),
        }
    }
}

/// How a rule that fails while running is restarted, as in eKuiper.
#[derive(Debug, Clone, PartialEq)]
pub struct RestartStrategy {
    pub attempts: u32,
    pub delay: Duration,
    pub multiplier: f64,
    pub max_delay: Duration,
    pub jitter_factor: f64,
}

impl Default for RestartStrategy {
    fn default() -> RestartStrategy {
        RestartStrategy {
            attempts: 0,
            delay: Duration::from_millis(1000),
            multiplier: 2.0,
            max_delay: Duration::from_millis(30_000),
            jitter_factor: 0.1,
        }
    }
}

/// The JSON type of a value, for error messages.
pub fn json_type_name(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// Errors while reading one rule, all prefixed with the rule's id once it is known.
struct Reader {
    id: Option<String>,
}

impl Reader {
    fn error(&self, field: &str, problem: impl std::fmt::Display) -> Error {
        match &self.id {
            Some(id) => Error::Rule(format!("rule {id:?}: {field}: {problem}")),
            None => Error::Rule(format!("rule: {field}: {problem}")),
        }
    }

    fn wrong_type(&self, field: &str, expected: &str, found: &Json) -> Error {
        self.error(
            field,
            format!("expected {expected}, found {}", json_type_name(found)),
        )
    }

    fn string(&self, field: &str, v: &Json) -> Result<String> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| self.wrong_type(field, "a string", v))
    }

    fn bool(&self, field: &str, v: &Json) -> Result<bool> {
        v.as_bool()
            .ok_or_else(|| self.wrong_type(field, "true or false", v))
    }

    fn count(&self, field: &str, v: &Json, min: u64) -> Result<u64> {
        match v.as_u64() {
            Some(n) if n >= min => Ok(n),
            _ if v.is_number() => Err(self.error(
                field,
                format!("expected an integer of at least {min}, found {v}"),
            )),
            _ => Err(self.wrong_type(field, "an integer", v)),
        }
    }

    fn duration(&self, field: &str, v: &Json) -> Result<Duration> {
        parse_duration(v).map_err(|e| self.error(field, e))
    }

    fn float(&self, field: &str, v: &Json) -> Result<f64> {
        v.as_f64()
            .ok_or_else(|| self.wrong_type(field, "a number", v))
    }
}

impl RuleDef {
    /// Reads a rule from its JSON text.
    pub fn from_json_str(text: &str) -> Result<RuleDef> {
        let json: Json = serde_json::from_str(text)
            .map_err(|e| Error::Rule(format!("rule: invalid JSON: {e}")))?;
        RuleDef::from_json(&json)
    }

    /// Reads a rule from JSON: eKuiper's fields with their defaults; an unknown key, a missing
    /// `id`, `sql` or `actions`, or a wrong type is an error that names the field.
    pub fn from_json(json: &Json) -> Result<RuleDef> {
        let mut r = Reader { id: None };
        let obj = json
            .as_object()
            .ok_or_else(|| r.wrong_type("the rule", "a JSON object", json))?;
        let id = match obj.get("id") {
            None => return Err(r.error("id", "is required")),
            Some(v) => r.string("id", v)?,
        };
        validate_id(&id).map_err(|e| r.error("id", e))?;
        r.id = Some(id.clone());
        for key in obj.keys() {
            if ![
                "id",
                "name",
                "sql",
                "actions",
                "options",
                "triggered",
                "tags",
            ]
            .contains(&key.as_str())
            {
                let hint = if key == "graph" {
                    " (graph rules are not supported; write the rule as sql and actions)"
                } else {
                    ""
                };
                return Err(r.error(
                    key,
                    format!("unknown field; a rule has id, name, sql, actions, options, triggered and tags{hint}"),
                ));
            }
        }
        let sql = match obj.get("sql") {
            None => return Err(r.error("sql", "is required")),
            Some(v) => r.string("sql", v)?,
        };
        if sql.trim().is_empty() {
            return Err(r.error("sql", "must not be empty"));
        }
        let actions = match obj.get("actions") {
            None => return Err(r.error("actions", "is required")),
            Some(v) => read_actions(&r, v)?,
        };
        let name = obj
            .get("name")
            .map(|v| r.string("name", v))
            .transpose()?
            .unwrap_or_default();
        let triggered = obj
            .get("triggered")
            .map(|v| r.bool("triggered", v))
            .transpose()?
            .unwrap_or(true);
        let tags = match obj.get("tags") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, t)| r.string(&format!("tags[{i}]"), t))
                .collect::<Result<_>>()?,
            Some(other) => return Err(r.wrong_type("tags", "an array of strings", other)),
        };
        let options = match obj.get("options") {
            None | Some(Json::Null) => RuleOptions::default(),
            Some(v) => read_options(&r, v)?,
        };
        Ok(RuleDef {
            id,
            name,
            sql,
            actions,
            options,
            triggered,
            tags,
        })
    }
}

fn validate_id(id: &str) -> std::result::Result<(), String> {
    if id.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if id.chars().any(|c| c == '/' || c.is_control()) {
        return Err(format!("{id:?} must not contain '/' or control characters"));
    }
    Ok(())
}

fn read_actions(r: &Reader, v: &Json) -> Result<Vec<Action>> {
    let items = v
        .as_array()
        .ok_or_else(|| r.wrong_type("actions", "an array", v))?;
    if items.is_empty() {
        return Err(r.error("actions", "must name at least one sink"));
    }
    let mut actions = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("actions[{i}]");
        let obj = item
            .as_object()
            .ok_or_else(|| r.wrong_type(&field, "an object such as {\"log\": {}}", item))?;
        if obj.is_empty() {
            return Err(r.error(&field, "names no sink; write {\"log\": {}}"));
        }
        for (sink, props) in obj {
            let props = match props {
                Json::Null => JsonMap::new(),
                Json::Object(p) => p.clone(),
                other => {
                    return Err(r.wrong_type(
                        &format!("{field}.{sink}"),
                        "an object of properties",
                        other,
                    ));
                }
            };
            actions.push(Action {
                sink: sink.clone(),
                props,
            });
        }
    }
    Ok(actions)
}

fn read_options(r: &Reader, v: &Json) -> Result<RuleOptions> {
    let obj = v
        .as_object()
        .ok_or_else(|| r.wrong_type("options", "an object", v))?;
    let mut o = RuleOptions::default();
    for (key, value) in obj {
        let field = format!("options.{key}");
        let f = field.as_str();
        match key.as_str() {
            "isEventTime" => o.is_event_time = r.bool(f, value)?,
            "lateTolerance" => o.late_tolerance = r.duration(f, value)?,
            "concurrency" => o.concurrency = r.count(f, value, 1)? as usize,
            "bufferLength" => o.buffer_length = r.count(f, value, 1)? as usize,
            "sendMetaToSink" => o.send_meta_to_sink = r.bool(f, value)?,
            "sendError" => o.send_error = r.bool(f, value)?,
            "sendNilField" => o.send_nil_field = r.bool(f, value)?,
            "qos" => {
                let qos = r.count(f, value, 0)?;
                o.qos = u8::try_from(qos)
                    .ok()
                    .filter(|q| *q <= 2)
                    .ok_or_else(|| r.error(f, format!("must be 0, 1 or 2, found {qos}")))?;
            }
            "checkpointInterval" => o.checkpoint_interval = r.duration(f, value)?,
            "restartStrategy" => o.restart_strategy = read_restart(r, f, value)?,
            _ => {
                return Err(r.error(
                    f,
                    "unknown option; the options are isEventTime, lateTolerance, concurrency, \
                     bufferLength, sendMetaToSink, sendError, sendNilField, qos, \
                     checkpointInterval and restartStrategy",
                ));
            }
        }
    }
    Ok(o)
}

fn read_restart(r: &Reader, field: &str, v: &Json) -> Result<RestartStrategy> {
    let obj = v
        .as_object()
        .ok_or_else(|| r.wrong_type(field, "an object", v))?;
    let mut s = RestartStrategy::default();
    for (key, value) in obj {
        let sub = format!("{field}.{key}");
        let f = sub.as_str();
        match key.as_str() {
            "attempts" => s.attempts = u32::try_from(r.count(f, value, 0)?).unwrap_or(u32::MAX),
            "delay" => s.delay = r.duration(f, value)?,
            "multiplier" => s.multiplier = r.float(f, value)?,
            "maxDelay" => s.max_delay = r.duration(f, value)?,
            "jitterFactor" => s.jitter_factor = r.float(f, value)?,
            _ => {
                return Err(r.error(
                    f,
                    "unknown field; restartStrategy has attempts, delay, multiplier, maxDelay and jitterFactor",
                ));
            }
        }
    }
    if s.multiplier < 1.0 {
        return Err(r.error(&format!("{field}.multiplier"), "must be at least 1"));
    }
    if !(0.0..1.0).contains(&s.jitter_factor) {
        return Err(r.error(
            &format!("{field}.jitterFactor"),
            "must be at least 0 and below 1",
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Json) -> String {
        RuleDef::from_json(&v).unwrap_err().to_string()
    }

    #[test]
    fn defaults_follow_ekuiper() {
        let rule = RuleDef::from_json(
            &json!({"id": "r1", "sql": "SELECT * FROM s", "actions": [{"log": {}}]}),
        )
        .unwrap();
        assert!(rule.triggered);
        assert_eq!(rule.options, RuleOptions::default());
        assert_eq!(rule.options.buffer_length, 1024);
        assert_eq!(rule.options.late_tolerance, Duration::from_secs(1));
        assert_eq!(
            rule.actions,
            vec![Action {
                sink: "log".into(),
                props: JsonMap::new()
            }]
        );
    }

    #[test]
    fn options_and_durations_parse() {
        let rule = RuleDef::from_json(&json!({
            "id": "r1", "name": "Hot", "sql": "SELECT * FROM s", "triggered": false, "tags": ["a"],
            "actions": [{"log": null, "nop": {"x": 1}}],
            "options": {"sendNilField": true, "lateTolerance": "5s", "qos": 1, "bufferLength": 8,
                        "restartStrategy": {"attempts": 3, "delay": "2s"}}
        }))
        .unwrap();
        assert_eq!(rule.actions.len(), 2);
        assert_eq!(rule.actions[1].props.get("x"), Some(&json!(1)));
        assert!(rule.options.send_nil_field);
        assert_eq!(rule.options.late_tolerance, Duration::from_secs(5));
        assert_eq!(rule.options.restart_strategy.attempts, 3);
        assert_eq!(rule.options.restart_strategy.delay, Duration::from_secs(2));
        assert_eq!(
            rule.options.restart_strategy.max_delay,
            Duration::from_secs(30)
        );
        assert!(!rule.triggered);
        assert_eq!(rule.tags, ["a"]);
    }

    #[test]
    fn every_error_names_the_field() {
        assert_eq!(
            err(json!({"sql": "x", "actions": []})),
            "rule: id: is required"
        );
        assert_eq!(
            err(json!({"id": 7})),
            "rule: id: expected a string, found number"
        );
        assert_eq!(
            err(json!({"id": "r", "actions": []})),
            "rule \"r\": sql: is required"
        );
        assert_eq!(
            err(json!({"id": "r", "sql": "s"})),
            "rule \"r\": actions: is required"
        );
        assert_eq!(
            err(json!({"id": "r", "sql": "s", "actions": [1]})),
            "rule \"r\": actions[0]: expected an object such as {\"log\": {}}, found number"
        );
        assert!(
            err(json!({"id": "r", "sql": "s", "actions": [{"log": {}}], "bogus": 1}))
                .starts_with("rule \"r\": bogus: unknown field")
        );
        assert!(err(json!({"id": "r", "sql": "s", "actions": [{"log": {}}], "options": {"sendNil": true}}))
            .starts_with("rule \"r\": options.sendNil: unknown option"));
        assert_eq!(
            err(
                json!({"id": "r", "sql": "s", "actions": [{"log": {}}], "options": {"bufferLength": "big"}})
            ),
            "rule \"r\": options.bufferLength: expected an integer, found string"
        );
        assert_eq!(
            err(json!({"id": "r", "sql": "s", "actions": [{"log": {}}], "options": {"qos": 3}})),
            "rule \"r\": options.qos: must be 0, 1 or 2, found 3"
        );
        assert!(err(json!({"id": "r", "sql": "s", "actions": [{"log": {}}], "options": {"lateTolerance": "soon"}}))
            .contains("options.lateTolerance: invalid duration"));
        assert!(
            err(json!({"id": "a/b", "sql": "s", "actions": []})).contains("must not contain '/'")
        );
    }
}
