//! The fast path of [`decode_json_rows`](super::decode_json_rows) for the messages IoT sensors
//! mostly send: one flat JSON object of short, unescaped strings, plain decimal numbers,
//! booleans and nulls.
//!
//! serde_json spends most of its time on such a message in its general machinery: a visitor
//! call per token, a check for escapes in every string, the key looked up after it was parsed.
//! Here the key is compared in place with the one the previous message had at the same place,
//! and a field the rule does not read is checked but not built. Anything else (escapes,
//! exponents, long numbers, nested values, arrays of rows, bad JSON) is declined, and serde_json
//! decodes the message as before: so the fast path only has to be exact for what it accepts,
//! and it gives there what serde_json gives, which the tests check message by message.

use std::sync::Arc;

use super::json::RowShape;
use super::json_scan::first_special_byte;
use super::{KeyCache, Map, Value};

/// A message's bytes and how far the fast path has read them.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Skips JSON whitespace and returns the next byte, without taking it.
    #[inline]
    fn next_token(&mut self) -> Option<u8> {
        while let Some(b) = self.peek() {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.at += 1;
        }
        None
    }

    /// Takes `byte` as the next token, or declines.
    #[inline]
    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next_token()? == byte).then(|| self.at += 1)
    }

    /// The contents of a string whose opening quote is the next byte, when it has no escape
    /// and no control character.
    #[inline]
    fn string(&mut self) -> Option<&'a [u8]> {
        let start = self.at + 1;
        let rest = self.bytes.get(start..)?;
        let length = first_special_byte(rest)?;
        if rest[length] != b'"' {
            return None;
        }
        self.at = start + length + 1;
        Some(&rest[..length])
    }

    /// A number in the subset kept exact here: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, an integer of
    /// at most [`MAX_INT_DIGITS`] digits or a decimal of at most [`MAX_FLOAT_DIGITS`], and not
    /// `-0` (which serde_json makes a float).
    #[inline]
    fn number(&mut self) -> Option<Value> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let first = self.at;
        let mut mantissa = self.digits(0, MAX_INT_DIGITS)?;
        let digits = self.at - first;
        if digits == 0 || (digits > 1 && self.bytes[first] == b'0') {
            return None;
        }
        let mut decimals = 0;
        if self.peek() == Some(b'.') {
            self.at += 1;
            let start = self.at;
            mantissa = self.digits(mantissa, MAX_FLOAT_DIGITS.checked_sub(digits)?)?;
            decimals = self.at - start;
            if decimals == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            return None;
        }
        if decimals == 0 {
            if negative && mantissa == 0 {
                return None;
            }
            // At most eighteen digits: within i64.
            let int = mantissa as i64;
            return Some(Value::Int(if negative { -int } else { int }));
        }
        // Below 2^53 and divided by an exact power of ten, the quotient is the correctly
        // rounded value (Clinger's fast path), as serde_json computes it.
        let float = mantissa as f64 / POWERS_OF_TEN[decimals];
        Some(Value::Float(if negative { -float } else { float }))
    }

    /// Reads decimal digits onto `value`, at most `most` of them (more declines), eight at a
    /// time while eight are there.
    #[inline]
    fn digits(&mut self, mut value: u64, most: usize) -> Option<u64> {
        let start = self.at;
        while let Some(eight) = self.bytes.get(self.at..self.at + 8)
            && let Some(digits) = eight_digits(eight)
        {
            if self.at + 8 - start > most {
                return None;
            }
            value = value * 100_000_000 + digits;
            self.at += 8;
        }
        while let Some(b @ b'0'..=b'9') = self.peek() {
            if self.at - start == most {
                return None;
            }
            value = value * 10 + u64::from(b - b'0');
            self.at += 1;
        }
        Some(value)
    }

    /// Checks a literal the next bytes must spell.
    #[inline]
    fn literal(&mut self, word: &[u8], value: Value) -> Option<Value> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| {
            self.at = end;
            value
        })
    }

    /// A field's value, built when `keep`, else only checked.
    #[inline]
    fn value(&mut self, keep: bool) -> Option<Value> {
        match self.next_token()? {
            b'"' => {
                // Checked even when not kept: a message that is not UTF-8 is serde_json's to
                // refuse.
                let text = std::str::from_utf8(self.string()?).ok()?;
                Some(match keep {
                    true => Value::String(Arc::from(text)),
                    false => Value::Null,
                })
            }
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal(b"true", Value::Bool(true)),
            b'f' => self.literal(b"false", Value::Bool(false)),
            b'n' => self.literal(b"null", Value::Null),
            _ => None,
        }
    }
}

/// The value of eight ASCII digits, when they are eight digits (the usual bit tricks: each
/// step adds neighbouring digits, pairs, then quads, with their place values).
#[inline]
fn eight_digits(bytes: &[u8]) -> Option<u64> {
    let word = u64::from_le_bytes(bytes.try_into().ok()?);
    let all_digits = word & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030
        && word.wrapping_add(0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0
            == 0x3030_3030_3030_3030;
    if !all_digits {
        return None;
    }
    let word = word - 0x3030_3030_3030_3030;
    let word = (word * 10 + (word >> 8)) & 0x00FF_00FF_00FF_00FF;
    let word = (word * 100 + (word >> 16)) & 0x0000_FFFF_0000_FFFF;
    Some((word * 10_000 + (word >> 32)) & 0xFFFF_FFFF)
}

/// Eighteen decimal digits stay within i64.
const MAX_INT_DIGITS: usize = 18;
/// Fifteen decimal digits stay below 2^53, where every integer is an exact `f64`.
const MAX_FLOAT_DIGITS: usize = 15;
const POWERS_OF_TEN: [f64; MAX_FLOAT_DIGITS + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Decodes `bytes` as one flat object, or declines (`None`) for serde_json to decode it.
pub(super) fn decode_flat_row(
    bytes: &[u8],
    keys: &mut KeyCache,
    shape: &mut RowShape,
) -> Option<Map> {
    let mut cursor = Cursor { bytes, at: 0 };
    cursor.expect(b'{')?;
    let mut map = Map::with_capacity(shape.width.max(1));
    if cursor.next_token()? == b'}' {
        cursor.at += 1;
    } else {
        let mut place = 0;
        // While every key so far was recognised at its place, and those keys differ from one
        // another, no key can repeat one before it.
        let mut unique = keys.guesses_are_distinct();
        loop {
            if cursor.next_token()? != b'"' {
                return None;
            }
            // Usually the key the previous message had here, recognised in place.
            let key = match keys.guessed_in(&bytes[cursor.at + 1..]) {
                Some((key, length)) => {
                    cursor.at += 1 + length;
                    key
                }
                None => {
                    unique = false;
                    keys.intern_bytes(cursor.string()?)?
                }
            };
            cursor.expect(b':')?;
            let keep = shape.keeps(place, &key);
            place += 1;
            let value = cursor.value(keep)?;
            if keep {
                if unique {
                    map.push_unique(key, value);
                } else {
                    // Duplicate keys in one object: the last one wins, as in serde_json's path.
                    map.insert_interned(key, value);
                }
            }
            match cursor.next_token()? {
                b',' => cursor.at += 1,
                b'}' => {
                    cursor.at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    if cursor.next_token().is_some() {
        return None;
    }
    shape.width = map.len();
    Some(map)
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::super::json::{FlatTries, JsonDecoder};
    use super::super::{Fields, decode_json_rows, intern, to_json_string};
    use super::*;

    /// What serde_json alone makes of a message: the rows as JSON (which tells ints from floats
    /// and -0.0 from 0.0), or its error.
    fn by_serde(decoder: &mut JsonDecoder, message: &[u8]) -> Result<String, String> {
        decoder.flat = FlatTries { paused: u32::MAX };
        let mut rows = Vec::new();
        decode_json_rows(decoder, message, |row| rows.push(row)).map(|()| to_json_string(&rows))
    }

    fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
        items[rng.random_range(0..items.len())]
    }

    /// Messages near the flat rows the fast path is for, and just outside them.
    fn message(rng: &mut StdRng) -> Vec<u8> {
        const KEYS: &[&str] = &[
            r#""device""#,
            r#""temperature""#,
            r#""ts""#,
            r#""Device""#,
            r#""Tëmp""#,
            r#""""#,
            r#""a\"b""#,
            r#""\u0041""#,
            r#""x y""#,
            "\"tab\there\"",
            "device",
            r#""h"#,
        ];
        const VALUES: &[&str] = &[
            "0",
            "7",
            "-3",
            "42",
            "26.0",
            "0.001",
            "-12.75",
            "123456789012345",
            "1234567890123456",
            "12345678901234567890123",
            "-9223372036854775808",
            "18446744073709551615",
            "999999999999999999",
            "1700000000000000000",
            "-123456789012345678",
            "12345678",
            "-87654321.5",
            "1234567.123456789",
            "0.12345678901234",
            "00000000",
            "-0",
            "-0.0",
            "0.5",
            "01",
            "1.",
            ".5",
            "-",
            "1e5",
            "2E-3",
            "1.5e+2",
            "99999999999999.9",
            "3.14159265358979",
            "true",
            "false",
            "null",
            "tru",
            "nul",
            "falsey",
            r#""dev-1""#,
            r#""""#,
            r#""ü€😀""#,
            r#""a\nb""#,
            r#""a\"b""#,
            "\"raw\u{1}ctl\"",
            r#""x"#,
            r#"{"x":1}"#,
            "[1,2]",
            "[]",
            "{}",
            "NaN",
            "Infinity",
        ];
        const SPACES: &[&str] = &["", "", "", " ", "\t", "\r\n", "  ", "\u{c}"];
        let mut text = String::from(pick(rng, &["{", "{", "{", " {", "[{", "x{", ""]));
        let fields = rng.random_range(0..6);
        for i in 0..fields {
            if i > 0 {
                text.push_str(pick(rng, &[",", ",", ",", ",", "", ",,"]));
            }
            text.push_str(pick(rng, SPACES));
            text.push_str(pick(rng, KEYS));
            text.push_str(pick(rng, SPACES));
            text.push_str(pick(rng, &[":", ":", ":", ":", "", "="]));
            text.push_str(pick(rng, SPACES));
            text.push_str(pick(rng, VALUES));
            text.push_str(pick(rng, SPACES));
        }
        text.push_str(pick(
            rng,
            &["}", "}", "}", "}", "", ",}", "} x", "}\n", "}]", "}}"],
        ));
        let mut bytes = text.into_bytes();
        // Now and then a byte goes wrong, as on a bad link.
        if !bytes.is_empty() && rng.random_range(0..8) == 0 {
            let at = rng.random_range(0..bytes.len());
            match rng.random_range(0..3) {
                0 => bytes[at] = rng.random_range(0..=255),
                1 => bytes.truncate(at),
                _ => bytes.insert(at, rng.random_range(0..=255)),
            }
        }
        bytes
    }

    /// Every message the fast path accepts, it decodes exactly as serde_json does, whichever
    /// fields are kept and whatever came before it; and it accepts the plain flat rows.
    #[test]
    fn the_fast_path_gives_what_serde_json_gives_or_declines() {
        let mut rng = StdRng::seed_from_u64(7);
        for fields in [None, Some(["temperature", "device", "Device", "h"])] {
            let fields = fields.map(|names| Fields::new(names.map(intern)));
            let mut fast = JsonDecoder::keeping(fields.clone());
            let mut slow = JsonDecoder::keeping(fields);
            let (mut accepted, mut valid) = (0, 0);
            for _ in 0..200_000 {
                let message = message(&mut rng);
                let expected = by_serde(&mut slow, &message);
                fast.keys.start_message();
                let got = decode_flat_row(&message, &mut fast.keys, &mut fast.rows);
                valid += usize::from(expected.is_ok());
                if let Some(row) = got {
                    accepted += 1;
                    let text = String::from_utf8_lossy(&message);
                    assert_eq!(Ok(to_json_string(&[row])), expected, "{text:?}");
                }
            }
            // Declining everything would pass the loop above: most valid messages here are
            // plain flat rows, and those must take the fast path.
            assert!(
                accepted * 2 > valid,
                "{accepted} of {valid} valid messages accepted"
            );
        }
    }

    #[test]
    fn eight_digits_read_as_a_number_and_anything_else_is_not() {
        let mut rng = StdRng::seed_from_u64(5);
        for _ in 0..50_000 {
            let bytes: [u8; 8] = std::array::from_fn(|_| match rng.random_range(0..12) {
                0 => rng.random_range(0..=255),
                _ => rng.random_range(b'0'..=b'9'),
            });
            let expected = bytes
                .iter()
                .all(u8::is_ascii_digit)
                .then(|| std::str::from_utf8(&bytes).unwrap().parse::<u64>().unwrap());
            assert_eq!(eight_digits(&bytes), expected, "{bytes:?}");
        }
    }

    #[test]
    fn plain_rows_take_the_fast_path() {
        let mut keys = KeyCache::new();
        let mut shape = RowShape::default();
        for message in [
            br#"{"device":"dev-409","temperature":26.0,"humidity":55,"ts":1700000000000}"#
                .as_slice(),
            r#" { "a" : -0.5 , "b" : null, "c": true, "d": false, "e": "ü" } "#.as_bytes(),
            b"{}",
        ] {
            keys.start_message();
            assert!(decode_flat_row(message, &mut keys, &mut shape).is_some());
        }
    }

    /// Keys recognised at their places skip the check for duplicates only while they cannot
    /// repeat: a repeated key still leaves one field, the last value, whatever came before.
    #[test]
    fn a_repeated_key_keeps_its_last_value_after_any_previous_message() {
        let mut keys = KeyCache::new();
        let mut shape = RowShape::default();
        let mut decode = |message: &str| {
            keys.start_message();
            let row = decode_flat_row(message.as_bytes(), &mut keys, &mut shape).unwrap();
            to_json_string(&Value::object(row))
        };
        for _ in 0..3 {
            assert_eq!(decode(r#"{"a":1,"b":2}"#), r#"{"a":1,"b":2}"#);
            assert_eq!(decode(r#"{"a":3,"a":4}"#), r#"{"a":4}"#);
            assert_eq!(decode(r#"{"b":5,"b":6}"#), r#"{"b":6}"#);
            assert_eq!(decode(r#"{"b":7,"b":8}"#), r#"{"b":8}"#);
            assert_eq!(decode(r#"{"a":9,"b":10,"a":11}"#), r#"{"a":11,"b":10}"#);
        }
    }
}
