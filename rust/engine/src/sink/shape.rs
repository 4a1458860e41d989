//! Shaping a rule's results into what a sink receives, in eKuiper's order: `omitIfEmpty`,
//! `sendSingle`, the dynamic properties, `dataTemplate`, `dataField`, then `fields` or
//! `excludeFields`.
//!
//! Templates are minijinja. A template sees the result: with `sendSingle`, the row's fields as
//! variables (`{{ device }}`) and the row as `data`; otherwise the list of rows as `data`
//! (`{{ data[0].device }}`, `{% for row in data %}`). Undefined names are errors, so a template
//! that does not fit a row is counted for that row instead of rendering something wrong.

use std::sync::Arc;

use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map as JsonMap, Value as Json};

use super::SinkItem;
use super::conf::SinkConf;
use crate::value::{JsonDecoder, Key, Map, Value};

const DATA_TEMPLATE: &str = "dataTemplate";

/// Prepares results for one action's sink.
pub struct Shaper {
    conf: Arc<SinkConf>,
    templates: Environment<'static>,
    has_template: bool,
    /// Properties whose values are templates, by their path (`topic`, `headers.X-Id`).
    dynamic: Vec<String>,
    fields: Option<Vec<Key>>,
}

impl std::fmt::Debug for Shaper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shaper")
            .field("dynamic", &self.dynamic)
            .finish()
    }
}

/// Finds the string properties that are templates, with their paths.
fn template_props(props: &JsonMap<String, Json>, prefix: &str, out: &mut Vec<(String, String)>) {
    for (key, value) in props {
        let path = format!("{prefix}{key}");
        match value {
            Json::String(s) if s.contains("{{") || s.contains("{%") => out.push((path, s.clone())),
            Json::Object(nested) => template_props(nested, &format!("{path}."), out),
            _ => {}
        }
    }
}

/// The template context: a row's fields and `data`, or just `data`.
struct Context<'a>(&'a Value);

impl Serialize for Context<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let row = self.0.as_object();
        let mut map = s.serialize_map(None)?;
        if let Some(row) = row {
            for (k, v) in row.iter() {
                map.serialize_entry(k.as_ref(), v)?;
            }
        }
        if row.is_none_or(|r| !r.contains_key("data")) {
            map.serialize_entry("data", self.0)?;
        }
        map.end()
    }
}

impl Shaper {
    /// Compiles the data template and the dynamic properties of an action's own properties;
    /// errors name the property.
    pub fn new(conf: Arc<SinkConf>, own: &JsonMap<String, Json>) -> Result<Shaper, String> {
        let mut templates = Environment::new();
        templates.set_undefined_behavior(UndefinedBehavior::Strict);
        templates.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        let has_template = conf.data_template.is_some();
        if let Some(source) = &conf.data_template {
            templates
                .add_template_owned(DATA_TEMPLATE, source.clone())
                .map_err(|e| format!("dataTemplate: {e}"))?;
        }
        let mut found = Vec::new();
        template_props(own, "", &mut found);
        let mut dynamic = Vec::with_capacity(found.len());
        for (path, source) in found {
            templates
                .add_template_owned(path.clone(), source)
                .map_err(|e| format!("{path}: {e}"))?;
            dynamic.push(path);
        }
        let fields = conf
            .fields
            .as_ref()
            .map(|f| f.iter().map(|n| Key::from(n.as_str())).collect());
        Ok(Shaper {
            conf,
            templates,
            has_template,
            dynamic,
            fields,
        })
    }

    /// Whether a property's value is rendered per item.
    pub fn is_dynamic(&self, path: &str) -> bool {
        self.dynamic.iter().any(|p| p == path)
    }

    fn render(&self, name: &str, unit: &Value) -> Result<String, String> {
        let template = self
            .templates
            .get_template(name)
            .map_err(|e| e.to_string())?;
        template
            .render(minijinja::Value::from(Serde(&Context(unit))))
            .map_err(|e| format!("{name} failed to render: {e}"))
    }

    /// Shapes one rule result (a list of rows) into zero or more items; a unit that fails is
    /// reported in `failures` and left out.
    pub fn shape(&self, result: Value, items: &mut Vec<SinkItem>, failures: &mut Vec<String>) {
        let conf = &self.conf;
        if conf.omit_if_empty && matches!(&result, Value::Array(rows) if rows.is_empty()) {
            return;
        }
        match (conf.send_single, result) {
            (true, Value::Array(rows)) => {
                // Rows are moved out of a result no one else holds (the usual case), not copied.
                for row in Arc::unwrap_or_clone(rows) {
                    if conf.omit_if_empty && row.as_object().is_some_and(Map::is_empty) {
                        continue;
                    }
                    self.shape_unit(row, items, failures);
                }
            }
            (_, result) => self.shape_unit(result, items, failures),
        }
    }

    fn shape_unit(&self, unit: Value, items: &mut Vec<SinkItem>, failures: &mut Vec<String>) {
        match self.transform(unit) {
            Ok(item) => items.push(item),
            Err(e) => failures.push(e),
        }
    }

    fn transform(&self, unit: Value) -> Result<SinkItem, String> {
        let mut props = Vec::with_capacity(self.dynamic.len());
        for path in &self.dynamic {
            props.push((path.clone(), self.render(path, &unit)?));
        }
        let mut data = match self.has_template {
            true => Value::from(self.render(DATA_TEMPLATE, &unit)?),
            false => unit,
        };
        let conf = &self.conf;
        let selects =
            conf.data_field.is_some() || self.fields.is_some() || conf.exclude_fields.is_some();
        if selects {
            if let (true, Value::String(text)) = (self.has_template, &data) {
                data = JsonDecoder::new().decode(text.as_bytes()).map_err(|e| {
                    format!(
                        "dataTemplate did not render JSON, which dataField and fields need: {e}"
                    )
                })?;
            }
        }
        if let Some(field) = &conf.data_field {
            data = data_field(&data, field)?;
        }
        if let Some(fields) = &self.fields {
            data = map_rows(data, |row| {
                let mut picked = Map::with_capacity(fields.len());
                for f in fields {
                    picked.insert(f.clone(), row.get(f).cloned().unwrap_or_default());
                }
                picked
            })?;
        } else if let Some(excluded) = &conf.exclude_fields {
            data = map_rows(data, |row| {
                let mut kept = row.clone();
                for f in excluded {
                    kept.remove(f);
                }
                kept
            })?;
        }
        Ok(SinkItem { data, props })
    }
}

/// `dataField`: a field of the row, or of the first row of a list (as eKuiper reads it).
fn data_field(data: &Value, field: &str) -> Result<Value, String> {
    match data {
        Value::Object(row) => Ok(row.get(field).cloned().unwrap_or_default()),
        Value::Array(items) => match items.first() {
            None => Ok(Value::Null),
            Some(Value::Object(row)) => Ok(row.get(field).cloned().unwrap_or_default()),
            Some(other) => Err(format!(
                "dataField {field:?} needs rows, found {}",
                other.type_name()
            )),
        },
        other => Err(format!(
            "dataField {field:?} needs a row or rows, found {}",
            other.type_name()
        )),
    }
}

/// Applies a row transformation to a row or to each row of a list.
fn map_rows(data: Value, f: impl Fn(&Map) -> Map) -> Result<Value, String> {
    match data {
        Value::Object(row) => Ok(Value::object(f(&row))),
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Object(row) => Ok(Value::object(f(row))),
                other => Err(format!("fields need rows, found {}", other.type_name())),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::array),
        other => Err(format!(
            "fields need a row or rows, found {}",
            other.type_name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::conf::parse_props;
    use crate::value::to_json_string;
    use serde_json::json;

    fn shaper(props: Json) -> Shaper {
        let parsed = parse_props(props.as_object().unwrap(), None).unwrap();
        Shaper::new(Arc::new(parsed.conf), &parsed.own).unwrap()
    }

    fn result(rows: Json) -> Value {
        Value::from(&rows)
    }

    /// The JSON of each item (with its dynamic properties), and each failure.
    fn run(props: Json, rows: Json) -> (Vec<String>, Vec<String>) {
        let s = shaper(props);
        let (mut items, mut failures) = (Vec::new(), Vec::new());
        s.shape(result(rows), &mut items, &mut failures);
        let shown = items
            .iter()
            .map(|i| {
                let props: Vec<String> = i.props.iter().map(|(k, v)| format!(" {k}={v}")).collect();
                format!("{}{}", to_json_string(&i.data), props.concat())
            })
            .collect();
        (shown, failures)
    }

    const ROWS: &str = r#"[{"device":"a","t":1,"h":2},{"device":"b","t":3,"h":4}]"#;

    fn rows() -> Json {
        serde_json::from_str(ROWS).unwrap()
    }

    #[test]
    fn by_default_the_result_passes_whole() {
        assert_eq!(run(json!({}), rows()).0, [ROWS]);
    }

    #[test]
    fn send_single_splits_rows_and_omit_if_empty_drops_empty_ones() {
        assert_eq!(
            run(json!({"sendSingle": true}), rows()).0,
            [
                r#"{"device":"a","t":1,"h":2}"#,
                r#"{"device":"b","t":3,"h":4}"#
            ]
        );
        assert_eq!(
            run(json!({"omitIfEmpty": true}), json!([])).0,
            Vec::<String>::new()
        );
        assert_eq!(run(json!({}), json!([])).0, ["[]"]);
        assert_eq!(
            run(
                json!({"sendSingle": true, "omitIfEmpty": true}),
                json!([{}, {"a": 1}])
            )
            .0,
            [r#"{"a":1}"#]
        );
    }

    #[test]
    fn fields_exclude_fields_and_data_field() {
        assert_eq!(
            run(json!({"fields": ["t", "x"]}), rows()).0,
            [r#"[{"t":1,"x":null},{"t":3,"x":null}]"#]
        );
        assert_eq!(
            run(json!({"excludeFields": ["h"], "sendSingle": true}), rows()).0[0],
            r#"{"device":"a","t":1}"#
        );
        assert_eq!(run(json!({"dataField": "device"}), rows()).0, [r#""a""#]);
        let nested = json!([{"payload": {"a": 1, "b": 2}}]);
        assert_eq!(
            run(json!({"dataField": "payload", "fields": ["b"]}), nested).0,
            [r#"{"b":2}"#]
        );
    }

    #[test]
    fn templates_see_a_row_or_the_list_and_feed_data_field_and_fields() {
        let (out, _) = run(
            json!({"sendSingle": true, "dataTemplate": "{{device}}:{{t}}"}),
            rows(),
        );
        assert_eq!(out, [r#""a:1""#, r#""b:3""#]);
        let (out, _) = run(
            json!({"dataTemplate": "{% for r in data %}{{r.device}};{% endfor %}"}),
            rows(),
        );
        assert_eq!(out, [r#""a;b;""#]);
        let template = r#"{"id": "{{device}}", "v": {{t * 10}}, "x": 0}"#;
        let (out, _) = run(
            json!({"sendSingle": true, "dataTemplate": template, "fields": ["v"]}),
            rows(),
        );
        assert_eq!(out, [r#"{"v":10}"#, r#"{"v":30}"#]);
    }

    #[test]
    fn dynamic_properties_render_per_item() {
        let (out, _) = run(
            json!({"sendSingle": true, "topic": "devices/{{device}}", "headers": {"X-T": "{{t}}", "Fixed": "x"}}),
            rows(),
        );
        assert_eq!(
            out,
            [
                r#"{"device":"a","t":1,"h":2} topic=devices/a headers.X-T=1"#,
                r#"{"device":"b","t":3,"h":4} topic=devices/b headers.X-T=3"#
            ]
        );
    }

    #[test]
    fn a_template_that_fails_fails_only_its_row() {
        let (out, failures) = run(
            json!({"sendSingle": true, "topic": "d/{{zone}}"}),
            json!([{"zone": "n"}, {"other": 1}]),
        );
        assert_eq!(out, [r#"{"zone":"n"} topic=d/n"#]);
        assert_eq!(failures.len(), 1);
        assert!(
            failures[0].starts_with("topic failed to render: undefined value"),
            "{}",
            failures[0]
        );
    }

    #[test]
    fn a_bad_template_is_an_error_at_creation() {
        let parsed =
            parse_props(json!({"dataTemplate": "{{ x"}).as_object().unwrap(), None).unwrap();
        let err = Shaper::new(Arc::new(parsed.conf), &parsed.own).unwrap_err();
        assert!(err.starts_with("dataTemplate: syntax error"), "{err}");
    }
}
