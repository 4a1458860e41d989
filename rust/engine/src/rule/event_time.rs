//! Event time: each row's timestamp (its stream's `TIMESTAMP` field) and the watermark: the
//! minimum over the rule's streams of the latest timestamp seen, less `lateTolerance`. Until
//! every stream has had a row there is no watermark. A row older than the watermark is late:
//! it is dropped and counted.

use chrono::{DateTime, NaiveDateTime};

use crate::value::{Column, Tuple, Value, convert, intern};

/// Where one stream keeps its rows' time.
#[derive(Debug)]
struct Stamp {
    field: Column,
    /// `TIMESTAMP_FORMAT`, translated to chrono's notation.
    format: Option<String>,
    latest: Option<i64>,
    /// A table's rows update it rather than move time: it does not count in the watermark.
    counted: bool,
}

#[derive(Debug)]
pub struct EventTime {
    streams: Vec<Stamp>,
    late_tolerance: i64,
    /// Worked out again whenever a stream's latest timestamp moves: it is read for every row.
    watermark: Option<i64>,
}

impl EventTime {
    /// `fields`: each stream's `TIMESTAMP` field and `TIMESTAMP_FORMAT`, in FROM's order.
    pub fn new(fields: &[(String, Option<String>)], late_tolerance: i64) -> EventTime {
        EventTime {
            streams: fields
                .iter()
                .map(|(field, format)| Stamp {
                    field: Column::new(intern(field)),
                    format: format.as_deref().map(chrono_format),
                    latest: None,
                    counted: true,
                })
                .collect(),
            late_tolerance,
            watermark: None,
        }
    }

    /// Leaves a stream (a table) out of the watermark.
    pub fn ignore(&mut self, stream: usize) {
        if let Some(stamp) = self.streams.get_mut(stream) {
            stamp.counted = false;
        }
        self.watermark = self.work_out_watermark();
    }

    /// Rows older than this are late.
    #[inline]
    pub fn watermark(&self) -> Option<i64> {
        self.watermark
    }

    fn work_out_watermark(&self) -> Option<i64> {
        self.streams
            .iter()
            .filter(|s| s.counted)
            .map(|s| s.latest)
            .min()
            .flatten()
            .map(|t| t.saturating_sub(self.late_tolerance))
    }

    /// The row's timestamp, in Unix milliseconds; `stream` is its stream's index in FROM.
    pub fn timestamp(&self, stream: usize, tuple: &Tuple) -> Result<i64, String> {
        let Some(stamp) = self.streams.get(stream) else {
            return Err(format!("no timestamp field for stream {stream}"));
        };
        let field = &stamp.field;
        let name = field.key();
        let value = tuple
            .row
            .find(field)
            .ok_or_else(|| format!("the row has no timestamp field {name}"))?;
        match (value, &stamp.format) {
            (Value::Int(ms), _) => Ok(*ms),
            (Value::Float(ms), _) => Ok(*ms as i64),
            (Value::Datetime(dt), _) => Ok(dt.timestamp_millis()),
            (Value::String(s), Some(format)) => parse_with(s, format)
                .ok_or_else(|| format!("timestamp {name}: {s:?} does not match TIMESTAMP_FORMAT")),
            (other, _) => match convert::to_datetime(other) {
                Ok(Value::Datetime(dt)) => Ok(dt.timestamp_millis()),
                _ => Err(format!("timestamp {name}: cannot read {other} as a time")),
            },
        }
    }

    /// Takes a row's timestamp into account; `Err` with a message when the row is late.
    pub fn observe(&mut self, stream: usize, timestamp: i64) -> Result<(), String> {
        if let Some(watermark) = self.watermark()
            && timestamp < watermark
        {
            return Err(format!(
                "late row dropped: its event time {timestamp} is before the watermark {watermark}"
            ));
        }
        if let Some(stamp) = self.streams.get_mut(stream)
            && stamp.latest.is_none_or(|latest| timestamp > latest)
        {
            stamp.latest = Some(timestamp);
            self.watermark = self.work_out_watermark();
        }
        Ok(())
    }
}

fn parse_with(text: &str, format: &str) -> Option<i64> {
    DateTime::parse_from_str(text, format)
        .map(|dt| dt.timestamp_millis())
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, format)
                .ok()
                .map(|naive| naive.and_utc().timestamp_millis())
        })
}

/// eKuiper's time formats (`yyyy-MM-dd HH:mm:ss.SSS`, Java-style) in chrono's notation.
pub fn chrono_format(java: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = java.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // Quoted text is literal; '' is a quote.
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                out.push(chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        let piece = match (c, run) {
            ('y', 2) => "%y".to_string(),
            ('y', _) => "%Y".to_string(),
            ('M', 1) => "%-m".to_string(),
            ('M', _) => "%m".to_string(),
            ('d', 1) => "%-d".to_string(),
            ('d', _) => "%d".to_string(),
            ('H', 1) => "%-H".to_string(),
            ('H', _) => "%H".to_string(),
            ('h', _) => "%I".to_string(),
            ('m', 1) => "%-M".to_string(),
            ('m', _) => "%M".to_string(),
            ('s', 1) => "%-S".to_string(),
            ('s', _) => "%S".to_string(),
            ('S', n) => format!("%{}f", n.min(9)),
            ('a', _) => "%p".to_string(),
            ('Z', _) => "%z".to_string(),
            ('X', _) => "%:z".to_string(),
            ('%', _) => "%%".repeat(run),
            (other, n) => other.to_string().repeat(n),
        };
        out.push_str(&piece);
        i += run;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Map;

    fn tuple(ts: Value) -> Tuple {
        let mut row = Map::new();
        row.insert(intern("ts"), ts);
        Tuple::from(row)
    }

    #[test]
    fn timestamps_and_late_rows() {
        assert_eq!(
            chrono_format("yyyy-MM-dd HH:mm:ss.SSS"),
            "%Y-%m-%d %H:%M:%S.%3f"
        );
        assert_eq!(
            chrono_format("yyyy-MM-dd'T'HH:mm:ssZ"),
            "%Y-%m-%dT%H:%M:%S%z"
        );
        let fields = [
            ("ts".to_string(), Some("yyyy-MM-dd HH:mm:ss".to_string())),
            ("ts".to_string(), None),
        ];
        let mut et = EventTime::new(&fields, 1_000);
        assert_eq!(et.timestamp(0, &tuple(Value::Int(5_000))), Ok(5_000));
        assert_eq!(
            et.timestamp(0, &tuple(Value::string("1970-01-01 00:00:07"))),
            Ok(7_000)
        );
        assert!(
            et.timestamp(0, &tuple(Value::string("7 o'clock")))
                .unwrap_err()
                .contains("TIMESTAMP_FORMAT")
        );
        assert!(
            et.timestamp(0, &Tuple::default())
                .unwrap_err()
                .contains("no timestamp field ts")
        );
        assert_eq!(
            et.timestamp(1, &tuple(Value::string("1970-01-01T00:00:01Z"))),
            Ok(1_000)
        );
        // No watermark until every stream has had a row; then the least of them.
        et.observe(0, 10_000).unwrap();
        assert_eq!(et.watermark(), None);
        et.observe(1, 20_000).unwrap();
        assert_eq!(et.watermark(), Some(9_000));
        et.observe(0, 9_500).unwrap(); // out of order, within the tolerance
        assert_eq!(et.watermark(), Some(9_000));
        assert!(
            et.observe(1, 8_999)
                .unwrap_err()
                .contains("late row dropped")
        );
        et.observe(0, 30_000).unwrap();
        assert_eq!(et.watermark(), Some(19_000));
    }
}
