//! Hashing functions: the digest of the argument's text (a bytea's bytes) as lowercase hex,
//! as eKuiper prints it with `%x`. Null in, null out.

use std::borrow::Cow;
use std::fmt::Write as _;

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::value::Value;

use super::{ScalarFunction, f, text};

pub(super) static FUNCTIONS: &[ScalarFunction] = &[
    f("md5", 1, Some(1), |a, _| Ok(digest::<Md5>(&a[0]))),
    f("sha1", 1, Some(1), |a, _| Ok(digest::<Sha1>(&a[0]))),
    f("sha256", 1, Some(1), |a, _| Ok(digest::<Sha256>(&a[0]))),
    f("sha384", 1, Some(1), |a, _| Ok(digest::<Sha384>(&a[0]))),
    f("sha512", 1, Some(1), |a, _| Ok(digest::<Sha512>(&a[0]))),
    f("crc32", 1, Some(1), |a, _| {
        Ok(match input(&a[0]) {
            None => Value::Null,
            // `%x` of a uint32: no leading zeros.
            Some(bytes) => Value::from(format!("{:x}", crc32fast::hash(&bytes))),
        })
    }),
];

/// The bytes a hash is taken of: a bytea's own, any other value's text.
fn input(v: &Value) -> Option<Cow<'_, [u8]>> {
    match v {
        Value::Null => None,
        Value::Bytes(b) => Some(Cow::Borrowed(b)),
        other => Some(match text(other) {
            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        }),
    }
}

fn digest<D: Digest>(v: &Value) -> Value {
    let Some(bytes) = input(v) else {
        return Value::Null;
    };
    let mut hex = String::with_capacity(2 * <D as Digest>::output_size());
    for byte in D::digest(&bytes).iter() {
        let _ = write!(hex, "{byte:02x}");
    }
    Value::from(hex)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::testing::*;
    use super::*;

    #[test]
    fn digests_of_abc_are_the_standard_test_vectors() {
        assert_eq!(
            call("md5", &[s("abc")]),
            Ok(s("900150983cd24fb0d6963f7d28e17f72"))
        );
        assert_eq!(
            call("sha1", &[s("abc")]),
            Ok(s("a9993e364706816aba3e25717850c26c9cd0d89d"))
        );
        assert_eq!(
            call("sha256", &[s("abc")]),
            Ok(s(
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            ))
        );
        assert_eq!(
            call("sha384", &[s("abc")]),
            Ok(s(
                "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
                 8086072ba1e7cc2358baeca134c825a7"
            ))
        );
        assert_eq!(
            call("sha512", &[s("abc")]),
            Ok(s(
                "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                 2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
            ))
        );
        assert_eq!(call("crc32", &[s("abc")]), Ok(s("352441c2")));
    }

    #[test]
    fn crc32_has_no_leading_zeros_and_null_stays_null() {
        // crc32("hello world") is 0x0d4a1185: printed without its leading zero, as Go's %x.
        assert_eq!(call("crc32", &[s("hello world")]), Ok(s("d4a1185")));
        for name in ["md5", "sha1", "sha256", "sha384", "sha512", "crc32"] {
            assert_eq!(call(name, &[Value::Null]), Ok(Value::Null), "{name}");
        }
    }

    #[test]
    fn numbers_hash_as_their_text_and_bytes_as_themselves() {
        assert_eq!(call("md5", &[i(1)]), call("md5", &[s("1")]));
        assert_eq!(call("md5", &[fl(2.0)]), call("md5", &[s("2")]));
        assert_eq!(
            call("md5", &[Value::Bytes(Arc::from(&b"abc"[..]))]),
            Ok(s("900150983cd24fb0d6963f7d28e17f72"))
        );
    }
}
