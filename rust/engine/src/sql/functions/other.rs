//! eKuiper's "other" functions that are plain scalars: null tests, UUIDs and the clock.
//! (`meta`, `window_start` and `window_end` are compiled specially, not looked up here.)

use crate::value::Value;

use super::{ScalarFunction, f};

pub(super) static FUNCTIONS: &[ScalarFunction] = &[
    f("coalesce", 1, None, |a, _| {
        Ok(a.iter().find(|v| !v.is_null()).cloned().unwrap_or_default())
    }),
    f("isnull", 1, Some(1), |a, _| Ok(Value::Bool(a[0].is_null()))),
    f("newuuid", 0, Some(0), |_, _| {
        Ok(Value::from(uuid::Uuid::new_v4().to_string()))
    }),
    f("tstamp", 0, Some(0), |_, ctx| {
        Ok(Value::Int(ctx.clock.now_ms()))
    }),
];

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn null_handling() {
        assert_eq!(call("coalesce", &[Value::Null, i(2), i(3)]), Ok(i(2)));
        assert_eq!(call("coalesce", &[Value::Null]), Ok(Value::Null));
        assert_eq!(call("isnull", &[Value::Null]), Ok(Value::Bool(true)));
        assert_eq!(call("isNull", &[i(0)]), Ok(Value::Bool(false)));
    }

    #[test]
    fn uuids_are_random_version_4() {
        let one = call("newuuid", &[]).unwrap();
        let two = call("newuuid", &[]).unwrap();
        assert_ne!(one, two);
        let text = one.as_str().unwrap();
        assert_eq!(text.len(), 36);
        assert_eq!(text.matches('-').count(), 4);
        assert_eq!(&text[14..15], "4");
        assert!(uuid::Uuid::parse_str(text).is_ok());
    }

    #[test]
    fn tstamp_is_epoch_milliseconds() {
        let before = chrono::Utc::now().timestamp_millis();
        let Ok(Value::Int(ms)) = call("tstamp", &[]) else {
            panic!("tstamp is a bigint")
        };
        assert!(ms >= before && ms <= before + 60_000);
    }
}
