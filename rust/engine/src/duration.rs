//! Durations as eKuiper rules and properties write them: an integer is milliseconds, a string
//! is a duration such as `"300ms"`, `"5s"` or `"1m30s"`.

use std::time::Duration;

/// Parses a JSON duration value; `Err` says what was wrong with it.
pub fn parse_duration(value: &serde_json::Value) -> Result<Duration, String> {
    match value {
        serde_json::Value::Number(n) => match n.as_u64() {
            Some(ms) => Ok(Duration::from_millis(ms)),
            None => Err(format!(
                "expected a non-negative integer of milliseconds or a duration string such as \"5s\", found {n}"
            )),
        },
        serde_json::Value::String(s) => parse_duration_str(s),
        other => Err(format!(
            "expected milliseconds or a duration string such as \"5s\", found {}",
            crate::rule::json_type_name(other)
        )),
    }
}

/// Parses `"300ms"`, `"5s"`, `"1m30s"`, or a bare number of milliseconds.
pub fn parse_duration_str(s: &str) -> Result<Duration, String> {
    let trimmed = s.trim();
    if let Ok(ms) = trimmed.parse::<u64>() {
        return Ok(Duration::from_millis(ms));
    }
    humantime::parse_duration(trimmed).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integers_are_milliseconds_and_strings_are_durations() {
        assert_eq!(parse_duration(&json!(250)), Ok(Duration::from_millis(250)));
        assert_eq!(
            parse_duration(&json!("300ms")),
            Ok(Duration::from_millis(300))
        );
        assert_eq!(parse_duration(&json!("5s")), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration(&json!("1m30s")), Ok(Duration::from_secs(90)));
        assert_eq!(
            parse_duration(&json!("1500")),
            Ok(Duration::from_millis(1500))
        );
    }

    #[test]
    fn bad_durations_say_why() {
        assert!(
            parse_duration(&json!(-1))
                .unwrap_err()
                .contains("non-negative")
        );
        assert!(
            parse_duration(&json!("soon"))
                .unwrap_err()
                .contains("invalid duration \"soon\"")
        );
        assert!(
            parse_duration(&json!(true))
                .unwrap_err()
                .contains("found boolean")
        );
    }
}
