//! Conversions between value types, shared by `cast()` and by streams that declare a schema.
//! Each returns an error that names the value it could not convert.

use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, NaiveDateTime, Utc};

use super::Value;
use crate::sql::ops::describe;

fn cannot(v: &Value, to: &str) -> String {
    format!("cannot convert {} to {to}", describe(v))
}

/// To an integer: floats truncate toward zero, strings parse (with a `0x`, `0o` or `0b` prefix
/// allowed), booleans are 1 or 0, datetimes become epoch milliseconds.
pub fn to_bigint(v: &Value) -> Result<Value, String> {
    Ok(Value::Int(match v {
        Value::Null => return Ok(Value::Null),
        Value::Int(i) => *i,
        Value::Float(f) if f.is_finite() && f.abs() < 9.2e18 => f.trunc() as i64,
        Value::String(s) => parse_int(s.trim()).ok_or_else(|| cannot(v, "bigint"))?,
        Value::Bool(b) => i64::from(*b),
        Value::Datetime(dt) => dt.timestamp_millis(),
        _ => return Err(cannot(v, "bigint")),
    }))
}

fn parse_int(s: &str) -> Option<i64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let lower = digits.to_ascii_lowercase();
    let magnitude = if let Some(hex) = lower.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = lower.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if let Some(bin) = lower.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else {
        lower.parse::<i64>().ok()?
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// To a float: numbers, numeric strings, and booleans as 1 or 0.
pub fn to_float(v: &Value) -> Result<Value, String> {
    Ok(Value::Float(match v {
        Value::Null => return Ok(Value::Null),
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::String(s) => s.trim().parse::<f64>().map_err(|_| cannot(v, "float"))?,
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => return Err(cannot(v, "float")),
    }))
}

/// To a string: numbers as Go's `%v` prints them (`1.0` is `"1"`), bytes as UTF-8, datetimes
/// as RFC 3339, arrays and objects as JSON.
pub fn to_string(v: &Value) -> Result<Value, String> {
    Ok(match v {
        Value::Null => Value::Null,
        Value::String(_) => v.clone(),
        Value::Bytes(b) => Value::from(String::from_utf8_lossy(b).into_owned()),
        other => Value::from(display_plain(other)),
    })
}

/// The text of a value where SQL functions want text: strings bare, floats without a needless
/// `.0`, null as the empty string, everything else as JSON.
pub fn display_plain(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Float(f) => f.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => other.to_string(),
    }
}

/// To a boolean: numbers are true when not zero; strings as Go's `strconv.ParseBool` reads them.
pub fn to_bool(v: &Value) -> Result<Value, String> {
    Ok(Value::Bool(match v {
        Value::Null => return Ok(Value::Null),
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Float(f) => *f != 0.0,
        Value::String(s) => match s.as_ref() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
            "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
            _ => return Err(cannot(v, "boolean")),
        },
        _ => return Err(cannot(v, "boolean")),
    }))
}

/// To a datetime: numbers are epoch milliseconds; strings are RFC 3339, or
/// `yyyy-MM-dd HH:mm:ss[.fff]` read as UTC.
pub fn to_datetime(v: &Value) -> Result<Value, String> {
    Ok(Value::Datetime(match v {
        Value::Null => return Ok(Value::Null),
        Value::Datetime(dt) => *dt,
        Value::Int(ms) => {
            DateTime::from_timestamp_millis(*ms).ok_or_else(|| cannot(v, "datetime"))?
        }
        Value::Float(ms) => {
            DateTime::from_timestamp_millis(*ms as i64).ok_or_else(|| cannot(v, "datetime"))?
        }
        Value::String(s) => parse_datetime(s).ok_or_else(|| cannot(v, "datetime"))?,
        _ => return Err(cannot(v, "datetime")),
    }))
}

fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|naive| naive.and_utc())
}

/// To bytes: strings must be base64, as in eKuiper.
pub fn to_bytes(v: &Value) -> Result<Value, String> {
    match v {
        Value::Null | Value::Bytes(_) => Ok(v.clone()),
        Value::String(s) => base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map(|b| Value::Bytes(Arc::from(b)))
            .map_err(|_| format!("illegal string {s:?}: a bytea must be base64 encoded")),
        _ => Err(cannot(v, "bytea")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::string(v)
    }

    #[test]
    fn bigint_from_every_kind() {
        assert_eq!(to_bigint(&Value::Float(12.9)), Ok(Value::Int(12)));
        assert_eq!(to_bigint(&Value::Float(-1.5)), Ok(Value::Int(-1)));
        assert_eq!(to_bigint(&s("12")), Ok(Value::Int(12)));
        assert_eq!(to_bigint(&s("0x1A")), Ok(Value::Int(26)));
        assert_eq!(to_bigint(&s("-7")), Ok(Value::Int(-7)));
        assert_eq!(to_bigint(&Value::Bool(true)), Ok(Value::Int(1)));
        assert_eq!(
            to_bigint(&s("12.5")),
            Err("cannot convert string(12.5) to bigint".into())
        );
        assert_eq!(to_bigint(&Value::Null), Ok(Value::Null));
    }

    #[test]
    fn strings_print_numbers_as_go_does() {
        assert_eq!(to_string(&Value::Float(1.0)), Ok(s("1")));
        assert_eq!(to_string(&Value::Float(1.5)), Ok(s("1.5")));
        assert_eq!(to_string(&Value::Int(-3)), Ok(s("-3")));
        assert_eq!(to_string(&Value::Bool(false)), Ok(s("false")));
    }

    #[test]
    fn booleans_floats_datetimes_and_bytes() {
        assert_eq!(to_bool(&s("T")), Ok(Value::Bool(true)));
        assert_eq!(to_bool(&Value::Int(0)), Ok(Value::Bool(false)));
        assert!(to_bool(&s("yes")).is_err());
        assert_eq!(to_float(&s(" 2.5 ")), Ok(Value::Float(2.5)));
        let dt = to_datetime(&Value::Int(1_700_000_000_123)).unwrap();
        assert_eq!(dt.to_string(), "2023-11-14T22:13:20.123Z");
        assert_eq!(to_datetime(&s("2023-11-14T22:13:20.123Z")), Ok(dt.clone()));
        assert_eq!(to_datetime(&s("2023-11-14 22:13:20.123")), Ok(dt));
        assert_eq!(
            to_bytes(&s("aGk=")),
            Ok(Value::Bytes(Arc::from(&b"hi"[..])))
        );
        assert!(to_bytes(&s("not base64!")).unwrap_err().contains("base64"));
    }
}
