//! Values written as compact JSON, straight into a byte buffer.
//!
//! This is what sinks spend a result's time on, so it is written here rather than through
//! serde: no visitor call per value, and a string with nothing to escape (almost every key
//! and value) is found so eight bytes at a time and copied whole. The output is serde_json's
//! to the byte (integers by itoa, floats by zmij, the same escapes), which the tests check.

use base64::Engine as _;

use super::json_scan::first_special_byte;
use super::{Map, Value, format_datetime};

/// Appends `value` as compact JSON.
pub fn write_json(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        // JSON has no NaN or infinity; null is what Go and Python's strict encoders agree on.
        Value::Float(f) if !f.is_finite() => out.extend_from_slice(b"null"),
        Value::Float(f) => out.extend_from_slice(zmij::Buffer::new().format_finite(*f).as_bytes()),
        Value::String(s) => write_str(s, out),
        // Go's encoding/json renders []byte as standard base64; eKuiper users expect that.
        Value::Bytes(b) => write_str(
            &base64::engine::general_purpose::STANDARD.encode(b.as_ref()),
            out,
        ),
        Value::Datetime(dt) => write_str(&format_datetime(dt), out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => write_map(map, out),
    }
}

/// `value` as compact JSON text.
pub fn json_text(value: &Value) -> String {
    let mut out = Vec::new();
    write_json(value, &mut out);
    // Only whole strings and ASCII were written: this is UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// Appends `map` as a compact JSON object.
fn write_map(map: &Map, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(key, out);
        out.push(b':');
        write_json(value, out);
    }
    out.push(b'}');
}

/// Appends a JSON string, escaped as serde_json escapes.
fn write_str(text: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let mut rest = text.as_bytes();
    while let Some(at) = first_special_byte(rest) {
        out.extend_from_slice(&rest[..at]);
        let byte = rest[at];
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0xf)]);
            }
        }
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;
    use crate::value::Key;

    fn random_text(rng: &mut StdRng) -> String {
        const PIECES: &[&str] = &[
            "a",
            "device",
            " ",
            "\"",
            "\\",
            "/",
            "\n",
            "\r",
            "\t",
            "\u{8}",
            "\u{c}",
            "\u{0}",
            "\u{1f}",
            "\u{7f}",
            "ü",
            "€",
            "😀",
            "\u{2028}",
            "0123456789",
        ];
        (0..rng.random_range(0..12))
            .map(|_| PIECES[rng.random_range(0..PIECES.len())])
            .collect()
    }

    fn random_value(rng: &mut StdRng, depth: u32) -> Value {
        match rng.random_range(0..if depth > 2 { 9 } else { 11 }) {
            0 => Value::Null,
            1 => Value::Bool(rng.random_range(0..2) == 0),
            2 => Value::Int(match rng.random_range(0..3) {
                0 => rng.random_range(-1000..1000),
                1 => i64::MIN,
                _ => rng.random_range(i64::MIN..=i64::MAX),
            }),
            3 => Value::Float(f64::from_bits(rng.random_range(0..=u64::MAX))),
            4 => Value::Float(
                [
                    0.0,
                    -0.0,
                    1.0,
                    26.5,
                    1e21,
                    1e-7,
                    0.1 + 0.2,
                    f64::NAN,
                    f64::INFINITY,
                ][rng.random_range(0..9)],
            ),
            5 => Value::Float(rng.random_range(-1e6..1e6)),
            6 | 7 => Value::from(random_text(rng)),
            8 => Value::Bytes(Arc::from(random_text(rng).as_bytes())),
            9 => Value::array(
                (0..rng.random_range(0..4))
                    .map(|_| random_value(rng, depth + 1))
                    .collect(),
            ),
            _ => {
                let mut map = Map::new();
                for _ in 0..rng.random_range(0..5) {
                    map.insert(
                        Key::from(random_text(rng).as_str()),
                        random_value(rng, depth + 1),
                    );
                }
                Value::object(map)
            }
        }
    }

    /// The writer's output is serde_json's, byte for byte, whatever the value.
    #[test]
    fn writes_what_serde_json_writes() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut out = Vec::new();
        for _ in 0..50_000 {
            let value = random_value(&mut rng, 0);
            out.clear();
            write_json(&value, &mut out);
            let expected = serde_json::to_string(&value).unwrap();
            assert_eq!(String::from_utf8_lossy(&out), expected, "{value:?}");
        }
        let dt = chrono::DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        out.clear();
        write_json(&Value::Datetime(dt), &mut out);
        assert_eq!(out, br#""2023-11-14T22:13:20.123Z""#);
    }
}
