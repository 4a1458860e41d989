//! Transform functions (eKuiper's "transform" page, less `cast`, which the compiler handles):
//! characters, base64, compression, rounding to decimals and hexadecimal text. Null in, null
//! out.

use std::io::{Read, Write};
use std::sync::Arc;

use base64::Engine as _;
use flate2::Compression;
use flate2::read::{DeflateDecoder, GzDecoder, ZlibDecoder};
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};

use crate::sql::expr::EvalContext;
use crate::sql::ops::describe;
use crate::value::Value;

use super::{ScalarFunction, any_null, arg_error, f, int_at, num_at, str_at};

pub(super) static FUNCTIONS: &[ScalarFunction] = &[
    f("chr", 1, Some(1), chr),
    f("compress", 2, Some(2), |a, _| compression(a, true)),
    f("dec2hex", 1, Some(1), dec2hex),
    f("decode", 2, Some(2), decode),
    f("decompress", 2, Some(2), |a, _| compression(a, false)),
    f("encode", 2, Some(2), encode),
    f("hex2dec", 1, Some(1), hex2dec),
    f("trunc", 2, Some(2), trunc),
];

/// `chr(n)`: the character with code point `n`, as a string. A one-character string is
/// returned as it is.
fn chr(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    let code = match &a[0] {
        Value::Null => return Ok(Value::Null),
        Value::String(s) if s.chars().count() == 1 => return Ok(a[0].clone()),
        Value::String(_) => {
            return Err(format!(
                "expects a bigint, or a string of one character, found {}",
                describe(&a[0])
            ));
        }
        Value::Float(x) => x.trunc() as i64,
        _ => int_at(a, 0)?,
    };
    u32::try_from(code)
        .ok()
        .and_then(char::from_u32)
        .map(|c| Value::from(c.to_string()))
        .ok_or_else(|| format!("{code} is not a character code"))
}

/// The encoding named by the second argument: only `base64`, in any case.
fn base64_only(a: &[Value]) -> Result<(), String> {
    let scheme = str_at(a, 1)?;
    if scheme.eq_ignore_ascii_case("base64") {
        Ok(())
    } else {
        Err(format!("only base64 is supported, found {scheme:?}"))
    }
}

/// `encode(s, 'base64')`: standard base64 of a string's UTF-8 (or of a bytea's bytes).
fn encode(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    base64_only(a)?;
    let bytes: &[u8] = match &a[0] {
        Value::String(s) => s.as_bytes(),
        Value::Bytes(b) => b,
        _ => return Err(arg_error(a, 0, "a string")),
    };
    Ok(Value::from(
        base64::engine::general_purpose::STANDARD.encode(bytes),
    ))
}

/// `decode(s, 'base64')`: the bytes of standard base64 text, a bytea.
fn decode(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    base64_only(a)?;
    let text = str_at(a, 0)?;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map(|b| Value::Bytes(Arc::from(b)))
        .map_err(|e| format!("cannot decode base64 text: {e}"))
}

/// `compress(x, method)` / `decompress(x, method)` with zlib, gzip or flate (raw deflate);
/// `x` is a string's UTF-8 or a bytea, the result a bytea.
fn compression(a: &[Value], compress: bool) -> Result<Value, String> {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let input: &[u8] = match &a[0] {
        Value::String(s) => s.as_bytes(),
        Value::Bytes(b) => b,
        _ => return Err(arg_error(a, 0, "a string or bytea")),
    };
    let method = str_at(a, 1)?;
    let io = |e: std::io::Error| format!("{method}: {e}");
    let output = if compress {
        let level = Compression::default();
        match method {
            "zlib" => write_all(ZlibEncoder::new(Vec::new(), level), input, |e| e.finish()),
            "gzip" => write_all(GzEncoder::new(Vec::new(), level), input, |e| e.finish()),
            "flate" => write_all(DeflateEncoder::new(Vec::new(), level), input, |e| {
                e.finish()
            }),
            _ => return Err(unsupported(method)),
        }
    } else {
        let mut out = Vec::new();
        match method {
            "zlib" => ZlibDecoder::new(input).read_to_end(&mut out),
            "gzip" => GzDecoder::new(input).read_to_end(&mut out),
            "flate" => DeflateDecoder::new(input).read_to_end(&mut out),
            _ => return Err(unsupported(method)),
        }
        .map(|_| out)
    };
    output.map(|b| Value::Bytes(Arc::from(b))).map_err(io)
}

fn write_all<W: Write>(
    mut encoder: W,
    input: &[u8],
    finish: impl FnOnce(W) -> std::io::Result<Vec<u8>>,
) -> std::io::Result<Vec<u8>> {
    encoder.write_all(input)?;
    finish(encoder)
}

fn unsupported(method: &str) -> String {
    format!("unsupported compression method {method:?}: zlib, gzip and flate are supported")
}

/// `trunc(x, d)`: `x` to `d` decimal places, rounding half away from zero as eKuiper's
/// implementation does (its page says it truncates; it rounds).
fn trunc(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if any_null(a) {
        return Ok(Value::Null);
    }
    let x = num_at(a, 0)?;
    let digits = match &a[1] {
        Value::Int(d) => i32::try_from(*d).map_err(|_| format!("{d} decimal places"))?,
        _ => return Err(arg_error(a, 1, "a bigint")),
    };
    let scale = 10f64.powi(digits);
    Ok(Value::Float((x * scale).round() / scale))
}

/// `hex2dec("0x10")` and `hex2dec("10")` are 16.
fn hex2dec(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let text = str_at(a, 0)?;
    let digits = text.strip_prefix("0x").unwrap_or(text);
    i64::from_str_radix(digits, 16)
        .map(Value::Int)
        .map_err(|_| format!("invalid hexadecimal value {text:?}"))
}

/// `dec2hex(16)` is `"0x10"`; negative numbers keep their sign after the prefix, as Go's
/// `"0x" + strconv.FormatInt(n, 16)` gives.
fn dec2hex(a: &[Value], _: &EvalContext<'_>) -> Result<Value, String> {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let n = int_at(a, 0)?;
    let magnitude = format!("{:x}", n.unsigned_abs());
    Ok(Value::from(if n < 0 {
        format!("0x-{magnitude}")
    } else {
        format!("0x{magnitude}")
    }))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    const NULL: Value = Value::Null;

    fn bytes(b: &[u8]) -> Value {
        Value::Bytes(Arc::from(b))
    }

    #[test]
    fn characters() {
        assert_eq!(call("chr", &[i(65)]), Ok(s("A")));
        assert_eq!(call("chr", &[i(233)]), Ok(s("é")));
        assert_eq!(call("chr", &[fl(66.0)]), Ok(s("B")));
        assert_eq!(call("chr", &[s("C")]), Ok(s("C")));
        assert_eq!(call("chr", &[NULL]), Ok(NULL));
        assert!(call("chr", &[s("CD")]).is_err());
        assert_eq!(
            call("chr", &[i(-1)]),
            Err("-1 is not a character code".into())
        );
    }

    #[test]
    fn base64_both_ways() {
        assert_eq!(
            call("encode", &[s("hello"), s("base64")]),
            Ok(s("aGVsbG8="))
        );
        assert_eq!(call("encode", &[bytes(b"hi"), s("BASE64")]), Ok(s("aGk=")));
        assert_eq!(
            call("decode", &[s("aGVsbG8="), s("base64")]),
            Ok(bytes(b"hello"))
        );
        assert_eq!(call("encode", &[NULL, s("base64")]), Ok(NULL));
        assert_eq!(
            call("encode", &[s("x"), s("hex")]),
            Err("only base64 is supported, found \"hex\"".into())
        );
        assert_eq!(
            call("encode", &[i(1), s("base64")]),
            Err("the first argument must be a string, found bigint(1)".into())
        );
        assert!(
            call("decode", &[s("!!"), s("base64")])
                .unwrap_err()
                .contains("base64")
        );
        assert_eq!(
            sql(
                "SELECT encode(name, 'base64') AS e, decode('aGk=', 'base64') AS d FROM s",
                r#"{"name": "hello"}"#
            ),
            r#"{"e":"aGVsbG8=","d":"aGk="}"#
        );
    }

    #[test]
    fn compression_round_trips() {
        let text = "hello hello hello hello";
        for method in ["zlib", "gzip", "flate"] {
            let packed = call("compress", &[s(text), s(method)]).unwrap();
            assert!(matches!(packed, Value::Bytes(_)), "{method}");
            assert_eq!(
                call("decompress", &[packed, s(method)]),
                Ok(bytes(text.as_bytes())),
                "{method}"
            );
        }
        assert!(
            call("compress", &[s(text), s("zstd")])
                .unwrap_err()
                .contains("unsupported")
        );
        assert!(
            call("decompress", &[bytes(b"junk"), s("gzip")])
                .unwrap_err()
                .starts_with("gzip")
        );
        assert_eq!(call("compress", &[NULL, s("gzip")]), Ok(NULL));
    }

    #[test]
    fn trunc_rounds_to_decimals() {
        assert_eq!(call("trunc", &[fl(1.23456), i(2)]), Ok(fl(1.23)));
        assert_eq!(call("trunc", &[fl(2.675), i(1)]), Ok(fl(2.7)));
        assert_eq!(call("trunc", &[fl(-1.55), i(1)]), Ok(fl(-1.6)));
        assert_eq!(call("trunc", &[i(1234), i(-2)]), Ok(fl(1200.0)));
        assert_eq!(call("trunc", &[NULL, i(2)]), Ok(NULL));
        assert_eq!(
            call("trunc", &[fl(1.5), fl(1.0)]),
            Err("the second argument must be a bigint, found float(1.0)".into())
        );
    }

    #[test]
    fn hexadecimal() {
        assert_eq!(call("hex2dec", &[s("0x10")]), Ok(i(16)));
        assert_eq!(call("hex2dec", &[s("ff")]), Ok(i(255)));
        assert_eq!(call("hex2dec", &[NULL]), Ok(NULL));
        assert!(
            call("hex2dec", &[s("0xzz")])
                .unwrap_err()
                .contains("invalid hexadecimal")
        );
        assert_eq!(
            call("hex2dec", &[i(16)]),
            Err("expects a string, found bigint(16)".into())
        );
        assert_eq!(call("dec2hex", &[i(16)]), Ok(s("0x10")));
        assert_eq!(call("dec2hex", &[i(255)]), Ok(s("0xff")));
        assert_eq!(call("dec2hex", &[i(-16)]), Ok(s("0x-10")));
        assert_eq!(call("dec2hex", &[NULL]), Ok(NULL));
        assert!(call("dec2hex", &[s("16")]).is_err());
    }
}
