//! Values and rows: the JSON-like data that flows from sources through rules to sinks.
//!
//! A [`Value`] is cheap to clone (strings, arrays and objects are reference counted), so a row
//! decoded once can be shared by every rule that reads its stream. Object keys are [`Key`]s,
//! interned so that a stream of similar messages allocates each key once.

pub mod convert;
mod flat_json;
mod json;
mod json_scan;
mod json_write;
mod key;
mod map;
mod tuple;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};

pub use json::{Fields, JsonDecoder, decode_json_rows, to_json_string};
pub use json_write::{json_text, write_json};
pub use key::{ByPlace, Key, intern};
pub use map::{Column, KeyCache, Map};
pub use tuple::Tuple;

/// A row: one message of a stream, or one row of a rule's result.
pub type Row = Map;

/// A JSON-like value with the two extra types eKuiper streams declare: `datetime` and `bytea`.
#[derive(Clone, Debug, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(Arc<str>),
    Bytes(Arc<[u8]>),
    Datetime(DateTime<Utc>),
    Array(Arc<Vec<Value>>),
    Object(Arc<Map>),
}

impl Value {
    /// The eKuiper type name of this value, used in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "bigint",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Bytes(_) => "bytea",
            Value::Datetime(_) => "datetime",
            Value::Array(_) => "array",
            Value::Object(_) => "struct",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn string(s: &str) -> Value {
        Value::String(Arc::from(s))
    }

    pub fn array(items: Vec<Value>) -> Value {
        Value::Array(Arc::new(items))
    }

    pub fn object(map: Map) -> Value {
        Value::Object(Arc::new(map))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a float, for numeric values only.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => *a as f64 == *b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::Datetime(a), Value::Datetime(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => a == b,
            _ => false,
        }
    }
}

/// Datetimes render as RFC 3339 in UTC, as Go's `time.Time` does in eKuiper's JSON output.
pub fn format_datetime(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl fmt::Display for Value {
    /// Strings display bare; everything else as JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => f.write_str(s),
            Value::Datetime(dt) => f.write_str(&format_datetime(dt)),
            other => f.write_str(&to_json_string(other)),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::string(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::String(Arc::from(v))
    }
}

impl From<&serde_json::Value> for Value {
    fn from(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::string(s),
            serde_json::Value::Array(items) => {
                Value::array(items.iter().map(Value::from).collect())
            }
            serde_json::Value::Object(obj) => {
                let mut map = Map::with_capacity(obj.len());
                for (k, v) in obj {
                    map.insert(Key::from(k.as_str()), Value::from(v));
                }
                Value::object(map)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_and_float_compare_equal_by_value() {
        assert_eq!(Value::Int(1), Value::Float(1.0));
        assert_ne!(Value::Int(1), Value::string("1"));
    }

    #[test]
    fn display_leaves_strings_bare_and_renders_the_rest_as_json() {
        assert_eq!(Value::string("a\"b").to_string(), "a\"b");
        let v = Value::from(&serde_json::json!({"a": [1, 2.5, null, true]}));
        assert_eq!(v.to_string(), r#"{"a":[1,2.5,null,true]}"#);
    }

    #[test]
    fn value_stays_small() {
        assert!(size_of::<Value>() <= 24);
    }
}
