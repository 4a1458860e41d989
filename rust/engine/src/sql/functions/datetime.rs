//! Date and time functions.
//!
//! A date argument may be a datetime, epoch milliseconds (a number), or text: RFC 3339,
//! `yyyy-MM-dd HH:mm:ss[.fff]`, `yyyy-MM-dd HH:mm` or `yyyy-MM-dd` (text without a zone is
//! UTC, as `cast(x, "datetime")` reads it). Datetimes are UTC instants here, so the parts of a
//! date (`hour`, `format_time`, ...) are UTC ones; eKuiper reads them in its configured zone.
//! The current time (`now` and its synonyms) and `from_unix_time` are local time, as in
//! eKuiper with its default zone, the machine's. Null in, null out.

use chrono::{DateTime, Datelike, Local, NaiveDate, NaiveDateTime, TimeDelta, Timelike, Utc};

use crate::sql::expr::EvalContext;
use crate::value::{Value, convert};

use super::{ScalarFunction, any_null, arg_error, f, int_at, str_at};

pub(super) static FUNCTIONS: &[ScalarFunction] = &[
    f("now", 0, Some(1), |a, ctx| now(a, ctx).map(Value::from)),
    f("current_timestamp", 0, Some(1), |a, ctx| {
        now(a, ctx).map(Value::from)
    }),
    f("local_time", 0, Some(1), |a, ctx| {
        now(a, ctx).map(Value::from)
    }),
    f("local_timestamp", 0, Some(1), |a, ctx| {
        now(a, ctx).map(Value::from)
    }),
    f("cur_date", 0, Some(0), cur_date),
    f("current_date", 0, Some(0), cur_date),
    f("cur_time", 0, Some(1), cur_time),
    f("current_time", 0, Some(1), cur_time),
    f("format_time", 2, Some(2), format_time),
    f("date_calc", 2, Some(2), date_calc),
    f("date_diff", 2, Some(2), date_diff),
    f("day_name", 1, Some(1), |a, _| {
        part(a, |d| Value::from(d.format("%A").to_string()))
    }),
    f("day_of_month", 1, Some(1), |a, _| part(a, |d| int(d.day()))),
    f("day", 1, Some(1), |a, _| part(a, |d| int(d.day()))),
    f("day_of_week", 1, Some(1), |a, _| {
        part(a, |d| int(d.weekday().num_days_from_sunday()))
    }),
    f("day_of_year", 1, Some(1), |a, _| {
        part(a, |d| int(d.ordinal()))
    }),
    f("from_days", 1, Some(1), from_days),
    f("from_unix_time", 1, Some(1), from_unix_time),
    f("hour", 1, Some(1), |a, _| part(a, |d| int(d.hour()))),
    f("last_day", 1, Some(1), last_day),
    f("microsecond", 1, Some(1), |a, _| {
        part(a, |d| int(d.nanosecond() % 1_000_000_000 / 1000))
    }),
    f("minute", 1, Some(1), |a, _| part(a, |d| int(d.minute()))),
    f("month", 1, Some(1), |a, _| part(a, |d| int(d.month()))),
    f("month_name", 1, Some(1), |a, _| {
        part(a, |d| Value::from(d.format("%B").to_string()))
    }),
    f("second", 1, Some(1), |a, _| part(a, |d| int(d.second()))),
];

fn int(n: u32) -> Value {
    Value::Int(i64::from(n))
}

/// The date argument at `i`; see the module's comment for what is taken.
fn datetime_at(a: &[Value], i: usize) -> Result<DateTime<Utc>, String> {
    let parsed = match &a[i] {
        Value::Datetime(dt) => Some(*dt),
        Value::Int(_) | Value::Float(_) => match convert::to_datetime(&a[i]) {
            Ok(Value::Datetime(dt)) => Some(dt),
            _ => None,
        },
        Value::String(s) => match convert::to_datetime(&a[i]) {
            Ok(Value::Datetime(dt)) => Some(dt),
            _ => {
                let s = s.trim();
                NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
                    .ok()
                    .or_else(|| {
                        NaiveDate::parse_from_str(s, "%Y-%m-%d")
                            .ok()
                            .and_then(|d| d.and_hms_opt(0, 0, 0))
                    })
                    .map(|naive| naive.and_utc())
            }
        },
        _ => None,
    };
    parsed.ok_or_else(|| arg_error(a, i, "a datetime"))
}

/// A part of the date argument.
fn part(a: &[Value], get: impl Fn(&DateTime<Utc>) -> Value) -> Result<Value, String> {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    Ok(get(&datetime_at(a, 0)?))
}

/// `now([fsp])`: the local time as `yyyy-MM-dd HH:mm:ss[.fff]`, with `fsp` (0-6) fraction digits.
fn now(a: &[Value], ctx: &EvalContext<'_>) -> Result<String, String> {
    let digits = match a.first() {
        None => 0,
        Some(Value::Int(d)) if (0..=6).contains(d) => *d as usize,
        Some(_) => return Err(arg_error(a, 0, "a bigint from 0 to 6 (fsp)")),
    };
    let local = ctx.clock.now().with_timezone(&Local);
    let mut text = local.format("%Y-%m-%d %H:%M:%S").to_string();
    if digits > 0 {
        let micros = format!("{:06}", local.nanosecond() / 1000 % 1_000_000);
        text.push('.');
        text.push_str(&micros[..digits]);
    }
    Ok(text)
}

/// `cur_date()`: the local date as `yyyy-MM-dd`.
fn cur_date(_: &[Value], ctx: &EvalContext<'_>) -> Result<Value, String> {
    let local = ctx.clock.now().with_timezone(&Local);
    Ok(Value::from(local.format("%Y-%m-%d").to_string()))
}

/// `cur_time([fsp])`: the local time of day as `HH:mm:ss[.fff]`.
fn cur_time(a: &[Value], ctx: &EvalContext<'_>) -> Result<Value, String> {
    let now = now(a, ctx)?;
    Ok(Value::from(
        now.split_once(' ').map_or(now.as_str(), |(_, t)| t),
    ))
}

/// `format_time(date, pattern)`: the date as text in eKuiper's Java-like pattern.
fn format_time(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    let dt = datetime_at(a, 0)?;
    format_pattern(&dt, str_at(a, 1)?).map(Value::from)
}

/// Renders `dt` with eKuiper's pattern letters: `YYYY`/`yyyy` and `YY`/`yy` year, `M` to
/// `MMMM` month, `d`/`dd` day, `EEE`/`EEEE` weekday, `HH` hour, `h`/`hh` 12-hour hour, `a`
/// AM/PM, `m`/`mm` minute, `s`/`ss` second, a run of `S` a decimal point and that many digits
/// of the fraction, `G` era, `z` zone name, `Z`, `X`, `XX`, `XXX` offsets; `\x` and `'text'`
/// are literal, `''` a quote. Any other character stands for itself.
pub(super) fn format_pattern(dt: &DateTime<Utc>, pattern: &str) -> Result<String, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let invalid = |what: &str| format!("invalid time format {pattern:?}: {what}");
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        let mut used = run;
        match (c, run) {
            ('Y' | 'y', 4) => out.push_str(&format!("{:04}", dt.year())),
            ('Y' | 'y', 2) => out.push_str(&format!("{:02}", dt.year().rem_euclid(100))),
            ('Y' | 'y', _) => return Err(invalid("a year is yyyy or yy")),
            ('G', _) => {
                out.push_str(&"AD".repeat(run));
            }
            ('M', 1) => out.push_str(&dt.month().to_string()),
            ('M', 2) => out.push_str(&format!("{:02}", dt.month())),
            ('M', 3) => out.push_str(&dt.format("%b").to_string()),
            ('M', 4) => out.push_str(&dt.format("%B").to_string()),
            ('d', 1) => out.push_str(&dt.day().to_string()),
            ('d', 2) => out.push_str(&format!("{:02}", dt.day())),
            ('E', 3) => out.push_str(&dt.format("%a").to_string()),
            ('E', 4) => out.push_str(&dt.format("%A").to_string()),
            ('E', _) => return Err(invalid("a weekday is EEE or EEEE")),
            ('H', 2) => out.push_str(&format!("{:02}", dt.hour())),
            ('H', _) => return Err(invalid("only HH is supported for the hour of day")),
            ('h', 1) => out.push_str(&dt.hour12().1.to_string()),
            ('h', 2) => out.push_str(&format!("{:02}", dt.hour12().1)),
            ('a', _) => {
                let half = if dt.hour12().0 { "PM" } else { "AM" };
                out.push_str(&half.repeat(run));
            }
            ('m', 1) => out.push_str(&dt.minute().to_string()),
            ('m', 2) => out.push_str(&format!("{:02}", dt.minute())),
            ('s', 1) => out.push_str(&dt.second().to_string()),
            ('s', 2) => out.push_str(&format!("{:02}", dt.second())),
            ('S', 1..=9) => {
                let nanos = format!("{:09}", dt.nanosecond() % 1_000_000_000);
                out.push('.');
                out.push_str(&nanos[..run]);
            }
            ('S', _) => return Err(invalid("at most 9 digits of a second (S)")),
            ('z', _) => out.push_str(&"UTC".repeat(run)),
            ('Z', _) => out.push_str(&"+0000".repeat(run)),
            ('X', 1) => out.push_str("+00"),
            ('X', 2) => out.push_str("+0000"),
            ('X', 3) => out.push_str("+00:00"),
            ('M' | 'd' | 'h' | 'm' | 's' | 'X', _) => {
                return Err(invalid(&format!("{run} {c} in a row")));
            }
            ('\\', _) => {
                let next = chars.get(i + 1).ok_or_else(|| invalid("it ends with \\"))?;
                out.push(*next);
                used = 2;
            }
            ('\'', _) if chars.get(i + 1) == Some(&'\'') => {
                out.push('\'');
                used = 2;
            }
            ('\'', _) => {
                let literal: String = chars[i + 1..].iter().take_while(|&&x| x != '\'').collect();
                used = literal.chars().count() + 2;
                out.push_str(&literal);
            }
            _ => {
                out.push(c);
                used = 1;
            }
        }
        i += used;
    }
    Ok(out)
}

/// `date_calc(date, duration)`: the date moved by a Go duration (`1h30m`, `-24h`, `500ms`),
/// as `yyyy-MM-dd HH:mm:ss` text.
fn date_calc(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    let dt = datetime_at(a, 0)?;
    let duration = match &a[1] {
        Value::String(s) => parse_go_duration(s)?,
        _ => return Err(arg_error(a, 1, "a duration string such as \"1h30m\"")),
    };
    let moved = dt
        .checked_add_signed(duration)
        .ok_or_else(|| "the date is out of range".to_string())?;
    Ok(Value::from(moved.format("%Y-%m-%d %H:%M:%S").to_string()))
}

/// `date_diff(date1, date2)`: `date2 - date1` in nanoseconds, as eKuiper's implementation
/// gives (a Go duration); its page says days.
fn date_diff(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    let (first, second) = (datetime_at(a, 0)?, datetime_at(a, 1)?);
    (second - first)
        .num_nanoseconds()
        .map(Value::Int)
        .ok_or_else(|| "the difference is too large for nanoseconds".to_string())
}

/// `from_days(n)`: day `n` counted from 1970-01-01 as day 1, as `yyyy-MM-dd`; null for 0.
fn from_days(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let days = int_at(a, 0)?;
    if days == 0 {
        return Ok(Value::Null);
    }
    let date = TimeDelta::try_days(days - 1)
        .and_then(|d| NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(d))
        .ok_or_else(|| format!("{days} days is out of range"))?;
    Ok(Value::from(date.format("%Y-%m-%d").to_string()))
}

/// `from_unix_time(seconds)`: the local time as `yyyy-MM-dd HH:mm:ss`; null for 0.
fn from_unix_time(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let seconds = int_at(a, 0)?;
    if seconds == 0 {
        return Ok(Value::Null);
    }
    let dt = DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| format!("{seconds} seconds is out of range"))?;
    Ok(Value::from(
        dt.with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
    ))
}

/// `last_day(date)`: the last day of the date's month, as `yyyy-MM-dd`.
fn last_day(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let dt = datetime_at(a, 0)?;
    let (year, month) = if dt.month() == 12 {
        (dt.year() + 1, 1)
    } else {
        (dt.year(), dt.month() + 1)
    };
    let last = NaiveDate::from_ymd_opt(year, month, 1)
        .and_then(|first| first.pred_opt())
        .ok_or_else(|| "the date is out of range".to_string())?;
    Ok(Value::from(last.format("%Y-%m-%d").to_string()))
}

/// A duration as Go's `time.ParseDuration` reads it: an optional sign, then numbers (with an
/// optional fraction) each followed by a unit: `ns`, `us` (or `µs`, `μs`), `ms`, `s`, `m`, `h`.
fn parse_go_duration(text: &str) -> Result<TimeDelta, String> {
    let invalid = || format!("invalid duration {text:?}: expected such as \"1h30m\" or \"-500ms\"");
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Ok(TimeDelta::zero());
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    let mut nanos: i128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(invalid());
        }
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit: i128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(invalid()),
        };
        rest = &rest[unit_len..];
        match number.split_once('.') {
            None => {
                let whole: i128 = number.parse().map_err(|_| invalid())?;
                nanos = whole
                    .checked_mul(unit)
                    .and_then(|n| nanos.checked_add(n))
                    .ok_or_else(invalid)?;
            }
            Some(_) => total += number.parse::<f64>().map_err(|_| invalid())? * unit as f64,
        }
    }
    let nanos = nanos + total.round() as i128;
    let nanos = i64::try_from(if negative { -nanos } else { nanos }).map_err(|_| invalid())?;
    Ok(TimeDelta::nanoseconds(nanos))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const NULL: Value = Value::Null;

    fn dt(text: &str) -> DateTime<Utc> {
        datetime_at(&[s(text)], 0).unwrap()
    }

    #[test]
    fn current_date_and_time() {
        let len = |name: &str, args: &[Value]| match call(name, args) {
            Ok(Value::String(t)) => t.len(),
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(len("now", &[]), "2024-01-01 00:00:00".len());
        assert_eq!(len("now", &[i(3)]), "2024-01-01 00:00:00.000".len());
        assert_eq!(
            len("local_timestamp", &[i(6)]),
            "2024-01-01 00:00:00.000000".len()
        );
        assert_eq!(len("current_timestamp", &[]), "2024-01-01 00:00:00".len());
        assert_eq!(len("local_time", &[]), "2024-01-01 00:00:00".len());
        assert_eq!(len("cur_date", &[]), "2024-01-01".len());
        assert_eq!(len("current_date", &[]), "2024-01-01".len());
        assert_eq!(len("cur_time", &[]), "00:00:00".len());
        assert_eq!(len("current_time", &[i(2)]), "00:00:00.00".len());
        assert!(call("now", &[i(9)]).is_err());
        assert!(call("cur_time", &[s("1")]).is_err());
    }

    #[test]
    fn dates_are_read_from_text_numbers_and_datetimes() {
        let want = NaiveDate::from_ymd_opt(2019, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        assert_eq!(dt("2019-01-01"), want);
        assert_eq!(dt("2019-01-01 00:00:00"), want);
        assert_eq!(dt("2019-01-01 00:00"), want);
        assert_eq!(dt("2019-01-01T00:00:00Z"), want);
        assert_eq!(dt("2019-01-01T08:00:00+08:00"), want);
        assert_eq!(datetime_at(&[i(want.timestamp_millis())], 0), Ok(want));
        assert_eq!(datetime_at(&[Value::Datetime(want)], 0), Ok(want));
        assert_eq!(
            call("hour", &[s("yesterday")]),
            Err("expects a datetime, found string(yesterday)".into())
        );
        assert_eq!(
            call("hour", &[Value::Bool(true)]),
            Err("expects a datetime, found boolean(true)".into())
        );
    }

    #[test]
    fn parts_of_a_date() {
        let d = || s("2019-01-01 01:23:45.123456");
        assert_eq!(call("day_name", &[d()]), Ok(s("Tuesday")));
        assert_eq!(call("day_of_month", &[d()]), Ok(i(1)));
        assert_eq!(call("day", &[d()]), Ok(i(1)));
        // Sunday is 0, as eKuiper's implementation (Go's Weekday) gives.
        assert_eq!(call("day_of_week", &[d()]), Ok(i(2)));
        assert_eq!(call("day_of_week", &[s("2024-06-02")]), Ok(i(0)));
        assert_eq!(call("day_of_year", &[s("2019-02-01")]), Ok(i(32)));
        assert_eq!(call("hour", &[d()]), Ok(i(1)));
        assert_eq!(call("minute", &[d()]), Ok(i(23)));
        assert_eq!(call("second", &[d()]), Ok(i(45)));
        assert_eq!(call("microsecond", &[d()]), Ok(i(123456)));
        assert_eq!(call("month", &[d()]), Ok(i(1)));
        assert_eq!(call("month_name", &[d()]), Ok(s("January")));
        assert_eq!(
            call("last_day", &[s("2019-01-01 01:00:00")]),
            Ok(s("2019-01-31"))
        );
        assert_eq!(call("last_day", &[s("2024-02-10")]), Ok(s("2024-02-29")));
        assert_eq!(call("last_day", &[s("2023-12-31")]), Ok(s("2023-12-31")));
        // Epoch milliseconds are a date too.
        assert_eq!(call("hour", &[i(3_600_000)]), Ok(i(1)));
        for name in ["day_name", "hour", "month", "last_day", "microsecond"] {
            assert_eq!(call(name, &[NULL]), Ok(NULL), "{name}");
        }
    }

    #[test]
    fn days_and_unix_time() {
        assert_eq!(call("from_days", &[i(1)]), Ok(s("1970-01-01")));
        assert_eq!(call("from_days", &[i(100)]), Ok(s("1970-04-10")));
        assert_eq!(call("from_days", &[i(0)]), Ok(NULL));
        assert_eq!(call("from_days", &[NULL]), Ok(NULL));
        assert!(call("from_days", &[s("1")]).is_err());
        let local = DateTime::from_timestamp(1_691_995_105, 0)
            .unwrap()
            .with_timezone(&Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        assert_eq!(call("from_unix_time", &[i(1_691_995_105)]), Ok(s(&local)));
        assert_eq!(call("from_unix_time", &[i(0)]), Ok(NULL));
    }

    #[test]
    fn calc_and_diff() {
        assert_eq!(
            call("date_calc", &[s("2019-01-01 00:00:00"), s("24h")]),
            Ok(s("2019-01-02 00:00:00"))
        );
        assert_eq!(
            call("date_calc", &[s("2019-01-01 00:00:00"), s("-24h")]),
            Ok(s("2018-12-31 00:00:00"))
        );
        assert_eq!(
            call(
                "date_calc",
                &[s("2019-01-01"), s("1h30m10s100ms200us300ns")]
            ),
            Ok(s("2019-01-01 01:30:10"))
        );
        assert_eq!(call("date_calc", &[s("2019-01-01"), NULL]), Ok(NULL));
        assert!(
            call("date_calc", &[s("2019-01-01"), s("1d")])
                .unwrap_err()
                .starts_with("invalid duration")
        );
        assert_eq!(
            call(
                "date_diff",
                &[s("2019-01-01 00:00:00"), s("2019-01-02 00:00:00")]
            ),
            Ok(i(86_400_000_000_000))
        );
        assert_eq!(
            call("date_diff", &[s("2019-01-02"), s("2019-01-01")]),
            Ok(i(-86_400_000_000_000))
        );
        assert_eq!(call("date_diff", &[NULL, s("2019-01-01")]), Ok(NULL));
    }

    #[test]
    fn go_durations() {
        let ns = |t: &str| parse_go_duration(t).map(|d| d.num_nanoseconds().unwrap());
        assert_eq!(ns("0"), Ok(0));
        assert_eq!(ns("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(ns("-1.5h"), Ok(-5_400_000_000_000));
        assert_eq!(ns("300ms"), Ok(300_000_000));
        assert_eq!(ns("2us"), Ok(2_000));
        assert_eq!(ns("2µs"), Ok(2_000));
        assert_eq!(ns("+7ns"), Ok(7));
        for bad in ["", "1", "h", "1x", "1.2.3s", "-", "1h 30m"] {
            assert!(ns(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn format_patterns() {
        let d = dt("2006-01-02T15:04:05.123456789Z");
        let fmt = |p: &str| format_pattern(&d, p);
        assert_eq!(
            fmt("YYYY-MM-dd T HH:mm:ss"),
            Ok("2006-01-02 T 15:04:05".into())
        );
        assert_eq!(
            fmt("YYYY/MM/dd HH:mm:ssSSS XXX"),
            Ok("2006/01/02 15:04:05.123 +00:00".into())
        );
        assert_eq!(fmt("yy M MMM MMMM d"), Ok("06 1 Jan January 2".into()));
        assert_eq!(fmt("EEE EEEE G"), Ok("Mon Monday AD".into()));
        assert_eq!(fmt("h hh a m s"), Ok("3 03 PM 4 5".into()));
        assert_eq!(
            fmt("S SS SSSSSS SSSSSSSSS"),
            Ok(".1 .12 .123456 .123456789".into())
        );
        assert_eq!(fmt("z Z X XX"), Ok("UTC +0000 +00 +0000".into()));
        // As in eKuiper, `''` is a quote only outside quoted text: 'o''clock' is two pieces.
        assert_eq!(
            fmt("'at' HH\\h 'o''clock' ''"),
            Ok("at 15h oclock '".into())
        );
        assert!(fmt("yyy").unwrap_err().contains("yyyy or yy"));
        assert!(fmt("H").unwrap_err().contains("only HH"));
        assert!(fmt("E").is_err());
        assert!(fmt("ddd").is_err());
        assert!(fmt("SSSSSSSSSS").is_err());
        assert!(fmt("x\\").is_err());
    }

    #[test]
    fn format_time_takes_any_date() {
        assert_eq!(
            call(
                "format_time",
                &[s("2019-01-01 01:02:03"), s("yyyy/MM/dd HH-mm-ss")]
            ),
            Ok(s("2019/01/01 01-02-03"))
        );
        assert_eq!(
            call("format_time", &[i(0), s("yyyy-MM-dd")]),
            Ok(s("1970-01-01"))
        );
        assert_eq!(call("format_time", &[NULL, s("yyyy")]), Ok(NULL));
        assert_eq!(
            sql(
                "SELECT format_time(ts, 'yyyy-MM-dd') AS d, date_calc(ts, '-1h') AS c, \
                 day_of_year(ts) AS n FROM s",
                r#"{"ts": 86400000}"#
            ),
            r#"{"d":"1970-01-02","c":"1970-01-01 23:00:00","n":2}"#
        );
    }
}
