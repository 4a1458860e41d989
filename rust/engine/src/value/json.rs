//! JSON to [`Value`] and back, straight from bytes with no intermediate `serde_json::Value`.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::{ByPlace, Key, KeyCache, Map, Value, flat_json, format_datetime};

/// The fields of a row a decoder keeps, when the rule it decodes for reads only some: the
/// others are skipped unread, with nothing allocated for them.
#[derive(Debug, Clone)]
pub struct Fields(Arc<[Key]>);

impl Fields {
    pub fn new(names: impl IntoIterator<Item = Key>) -> Fields {
        Fields(names.into_iter().collect())
    }

    /// Names match as a column lookup does: exactly, else ignoring ASCII case. Decoded keys
    /// and compiled names are interned alike, so a kept key is usually found by pointer.
    fn keeps(&self, key: &Key) -> bool {
        self.0.iter().any(|name| Key::same(name, key))
            || self.0.iter().any(|name| name.eq_ignore_ascii_case(key))
    }
}

/// [`Fields`] with each answer remembered by the key's place in the message: messages of a
/// stream mostly have the same keys in the same order, so a key is usually the one seen at its
/// place before (one pointer comparison), and the names are searched only when it is not.
#[derive(Debug)]
struct Keeping {
    fields: Fields,
    previous: ByPlace<bool>,
}

impl Keeping {
    #[inline]
    fn keeps(&mut self, place: usize, key: &Key) -> bool {
        match self.previous.get(place, key) {
            Some(kept) => *kept,
            None => self.judge(place, key),
        }
    }

    #[cold]
    #[inline(never)]
    fn judge(&mut self, place: usize, key: &Key) -> bool {
        let kept = self.fields.keeps(key);
        self.previous.remember(place, key, kept);
        kept
    }
}

/// What a decoder knows of the rows it decodes: the fields it keeps, when not all, and how
/// many the last row had, which is the room a row's map is made with (a map grown from empty
/// would move its entries as it grows; one made for eight would waste half its size on a row
/// of four fields, and that row is held in its window until the window closes).
#[derive(Debug, Default)]
pub(super) struct RowShape {
    keeping: Option<Keeping>,
    pub(super) width: usize,
}

impl RowShape {
    /// Whether a row keeps the field `key`, found at `place` in its message.
    #[inline]
    pub(super) fn keeps(&mut self, place: usize, key: &Key) -> bool {
        self.keeping
            .as_mut()
            .is_none_or(|keeping| keeping.keeps(place, key))
    }
}

/// When to try [`flat_json`] first: after a message it declined, the next
/// [`FlatTries::PAUSE`] go straight to serde_json, so a stream of nested messages pays for
/// the attempt on few of them.
#[derive(Debug, Default)]
pub(super) struct FlatTries {
    pub(super) paused: u32,
}

impl FlatTries {
    const PAUSE: u32 = 63;

    #[inline]
    fn worth_trying(&mut self) -> bool {
        match self.paused {
            0 => true,
            _ => {
                self.paused -= 1;
                false
            }
        }
    }

    fn declined(&mut self) {
        self.paused = Self::PAUSE;
    }
}

/// Decodes JSON messages into values, interning object keys across messages.
#[derive(Debug, Default)]
pub struct JsonDecoder {
    pub(super) keys: KeyCache,
    pub(super) rows: RowShape,
    pub(super) flat: FlatTries,
}

impl JsonDecoder {
    pub fn new() -> JsonDecoder {
        JsonDecoder::default()
    }

    /// A decoder whose rows keep only `fields` (all fields when none are given).
    pub fn keeping(fields: Option<Fields>) -> JsonDecoder {
        JsonDecoder {
            keys: KeyCache::new(),
            rows: RowShape {
                keeping: fields.map(|fields| Keeping {
                    fields,
                    previous: ByPlace::default(),
                }),
                width: 0,
            },
            flat: FlatTries::default(),
        }
    }

    /// Decodes one JSON document, whole.
    pub fn decode(&mut self, bytes: &[u8]) -> Result<Value, serde_json::Error> {
        self.keys.start_message();
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let value = ValueSeed {
            keys: &mut self.keys,
            row: None,
        }
        .deserialize(&mut de)?;
        de.end()?;
        Ok(value)
    }
}

/// Decodes one JSON message into rows: an object is one row, an array of objects is several
/// (as eKuiper accepts for a payload). Anything else is an error that says what was found.
pub fn decode_json_rows(
    decoder: &mut JsonDecoder,
    bytes: &[u8],
    mut push: impl FnMut(Map),
) -> Result<(), String> {
    decoder.keys.start_message();
    if decoder.flat.worth_trying() {
        if let Some(row) = flat_json::decode_flat_row(bytes, &mut decoder.keys, &mut decoder.rows) {
            push(row);
            return Ok(());
        }
        decoder.flat.declined();
        decoder.keys.start_message();
    }
    // Checked as UTF-8 once, whole, rather than string by string as the parser would.
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format!("invalid JSON: the message is not UTF-8 text ({e})"))?;
    let mut de = serde_json::Deserializer::from_str(text);
    let outcome = RowsSeed {
        keys: &mut decoder.keys,
        rows: &mut decoder.rows,
        push: &mut push,
    }
    .deserialize(&mut de)
    .and_then(|found| de.end().map(|()| found));
    match outcome {
        Ok(None) => Ok(()),
        Ok(Some(found)) => Err(found),
        Err(e) => Err(format!("invalid JSON: {e}")),
    }
}

/// Decodes a message's top level straight into rows, with no `Value` wrapper around each.
/// Yields `Some(problem)` for JSON that is valid but not rows.
struct RowsSeed<'a, F> {
    keys: &'a mut KeyCache,
    rows: &'a mut RowShape,
    push: &'a mut F,
}

fn not_rows(found: &str, in_array: bool) -> String {
    if in_array {
        format!("expected a JSON object in the array, found {found}")
    } else {
        format!("expected a JSON object, found {found}")
    }
}

impl<'de, F: FnMut(Map)> DeserializeSeed<'de> for RowsSeed<'_, F> {
    type Value = Option<String>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, F: FnMut(Map)> Visitor<'de> for RowsSeed<'_, F> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object or an array of objects")
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error> {
        (self.push)(read_map(self.keys, Some(self.rows), access)?);
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut problem = None;
        while let Some(item) = seq.next_element_seed(ValueSeed {
            keys: &mut *self.keys,
            row: Some(&mut *self.rows),
        })? {
            match item {
                Value::Object(map) => (self.push)(Arc::unwrap_or_clone(map)),
                other => {
                    problem.get_or_insert_with(|| not_rows(other.type_name(), true));
                }
            }
        }
        Ok(problem)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Some(not_rows("boolean", false)))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Some(not_rows("bigint", false)))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Some(not_rows("bigint", false)))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Some(not_rows("float", false)))
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Some(not_rows("string", false)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Some(not_rows("null", false)))
    }
}

/// Reads an object; `row` is given when the object is a row (its fields may not all be kept,
/// and its width is remembered), not for the objects inside it.
fn read_map<'de, A: MapAccess<'de>>(
    keys: &mut KeyCache,
    mut row: Option<&mut RowShape>,
    mut access: A,
) -> Result<Map, A::Error> {
    let width = match &row {
        Some(shape) if shape.width > 0 => shape.width,
        _ => access.size_hint().unwrap_or(8),
    };
    let mut map = Map::with_capacity(width);
    let mut place = 0;
    while let Some(key) = access.next_key_seed(KeySeed { keys: &mut *keys })? {
        let kept = row
            .as_deref_mut()
            .is_none_or(|shape| shape.keeps(place, &key));
        place += 1;
        if !kept {
            access.next_value::<IgnoredAny>()?;
            continue;
        }
        let value = access.next_value_seed(ValueSeed {
            keys: &mut *keys,
            row: None,
        })?;
        // Duplicate keys in one object: the last one wins, as in Go's encoding/json.
        map.insert_interned(key, value);
    }
    if let Some(shape) = row {
        shape.width = map.len();
    }
    Ok(map)
}

struct ValueSeed<'a> {
    keys: &'a mut KeyCache,
    /// Given when this value is a row, if it is an object.
    row: Option<&'a mut RowShape>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(Arc::from(v)))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(ValueSeed {
            keys: &mut *self.keys,
            row: None,
        })? {
            items.push(item);
        }
        Ok(Value::array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Value, A::Error> {
        read_map(self.keys, self.row, access).map(Value::object)
    }
}

struct KeySeed<'a> {
    keys: &'a mut KeyCache,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.keys.intern(v))
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            // JSON has no NaN or infinity; null is what Go and Python's strict encoders agree on.
            Value::Float(f) if !f.is_finite() => s.serialize_unit(),
            Value::Float(f) => s.serialize_f64(*f),
            Value::String(v) => s.serialize_str(v),
            // Go's encoding/json renders []byte as standard base64; eKuiper users expect that.
            Value::Bytes(b) => {
                s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b.as_ref()))
            }
            Value::Datetime(dt) => s.serialize_str(&format_datetime(dt)),
            Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items.iter() {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(map) => map.serialize(s),
        }
    }
}

impl Serialize for Map {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            out.serialize_entry(k.as_ref(), v)?;
        }
        out.end()
    }
}

/// Renders a value as compact JSON.
pub fn to_json_string<T: Serialize + ?Sized>(value: &T) -> String {
    // Serialising our own types cannot fail: keys are strings and there are no custom errors.
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_json_type() {
        let mut d = JsonDecoder::new();
        let v = d
            .decode(br#"{"s":"x","i":-3,"f":2.5,"b":true,"n":null,"a":[1,{"k":"v"}],"big":18446744073709551615}"#)
            .unwrap();
        let m = v.as_object().unwrap();
        assert_eq!(m.get("s"), Some(&Value::string("x")));
        assert!(matches!(m.get("i"), Some(Value::Int(-3))));
        assert!(matches!(m.get("f"), Some(Value::Float(f)) if *f == 2.5));
        assert_eq!(m.get("b"), Some(&Value::Bool(true)));
        assert_eq!(m.get("n"), Some(&Value::Null));
        assert!(matches!(m.get("big"), Some(Value::Float(_))));
        assert_eq!(
            to_json_string(&v),
            r#"{"s":"x","i":-3,"f":2.5,"b":true,"n":null,"a":[1,{"k":"v"}],"big":1.8446744073709552e+19}"#
        );
    }

    #[test]
    fn keys_are_shared_between_messages() {
        let mut d = JsonDecoder::new();
        let a = d.decode(br#"{"device":"a"}"#).unwrap();
        let b = d.decode(br#"{"device":"b"}"#).unwrap();
        let ka = a.as_object().unwrap().keys().next().unwrap().clone();
        let kb = b.as_object().unwrap().keys().next().unwrap().clone();
        assert!(Key::same(&ka, &kb));
    }

    #[test]
    fn rows_from_object_or_array_and_clear_errors_otherwise() {
        let mut d = JsonDecoder::new();
        let mut rows = Vec::new();
        decode_json_rows(&mut d, br#"[{"a":1},{"a":2}]"#, |r| rows.push(r)).unwrap();
        decode_json_rows(&mut d, br#"{"a":3}"#, |r| rows.push(r)).unwrap();
        assert_eq!(rows.len(), 3);
        let err = decode_json_rows(&mut d, b"42", |_| ()).unwrap_err();
        assert_eq!(err, "expected a JSON object, found bigint");
        let err = decode_json_rows(&mut d, br#"{"a":"#, |_| ()).unwrap_err();
        assert!(err.starts_with("invalid JSON: EOF while parsing"), "{err}");
        let err = decode_json_rows(&mut d, b"{} x", |_| ()).unwrap_err();
        assert!(err.contains("trailing characters"), "{err}");
        let err = decode_json_rows(&mut d, b"{\"a\":\"\xff\"}", |_| ()).unwrap_err();
        assert!(
            err.starts_with("invalid JSON: the message is not UTF-8"),
            "{err}"
        );
    }

    #[test]
    fn a_decoder_for_some_fields_keeps_only_those_at_the_top_level() {
        let fields = Fields::new(["temperature", "Device"].map(crate::value::intern));
        let mut d = JsonDecoder::keeping(Some(fields));
        let mut rows = Vec::new();
        let message = br#"[{"device":"a","temperature":1.5,"humidity":[1,{"x":2}],"ts":3},
                           {"temperature":{"device":1,"ts":2},"ts":"x"}]"#;
        decode_json_rows(&mut d, message, |r| rows.push(r)).unwrap();
        assert_eq!(
            to_json_string(&rows),
            r#"[{"device":"a","temperature":1.5},{"temperature":{"device":1,"ts":2}}]"#
        );
        // Each key is judged by its name, not by the place it had in the messages before.
        rows.clear();
        for message in [
            br#"{"ts":1,"humidity":2,"device":"b","temperature":3}"#.as_slice(),
            br#"{"temperature":4,"device":"c","ts":5,"humidity":6}"#,
            br#"{"humidity":7,"ts":8,"temperature":9}"#,
        ] {
            decode_json_rows(&mut d, message, |r| rows.push(r)).unwrap();
        }
        assert_eq!(
            to_json_string(&rows),
            r#"[{"device":"b","temperature":3},{"temperature":4,"device":"c"},{"temperature":9}]"#
        );
        // Skipped fields are still checked: the message must be valid JSON.
        let err = decode_json_rows(&mut d, br#"{"ts":[1,}"#, |_| ()).unwrap_err();
        assert!(err.starts_with("invalid JSON"), "{err}");
    }

    #[test]
    fn bytes_and_datetimes_render_as_go_does() {
        let dt = chrono::DateTime::from_timestamp_millis(1_700_000_000_123).unwrap();
        let v = Value::array(vec![
            Value::Bytes(Arc::from(&b"hi"[..])),
            Value::Datetime(dt),
        ]);
        assert_eq!(to_json_string(&v), r#"["aGk=","2023-11-14T22:13:20.123Z"]"#);
    }
}
