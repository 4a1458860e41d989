//! The ordered map behind objects and rows, and the key interning that keeps it cheap.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::Value;
use super::json_scan::first_special_byte;
use super::key::{Key, intern};

/// Byte equality for short strings without a call to `memcmp` (keys are short, and compared
/// several times a row).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut chunks_a = a.chunks_exact(8);
    let mut chunks_b = b.chunks_exact(8);
    for (x, y) in chunks_a.by_ref().zip(chunks_b.by_ref()) {
        if u64::from_ne_bytes(x.try_into().unwrap_or_default())
            != u64::from_ne_bytes(y.try_into().unwrap_or_default())
        {
            return false;
        }
    }
    chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .all(|(x, y)| x == y)
}

/// A key that is looked up in row after row (a rule's column, a stream's timestamp field),
/// with the place in the row where it was found last.
///
/// Rows of one source have their keys in the same order, so that place is tried first: one
/// pointer comparison instead of a scan of the row's keys. The place is only a hint, shared
/// by the threads that may run the expression, so it is kept in a relaxed atomic (a plain load
/// and store).
#[derive(Debug)]
pub struct Column {
    key: Key,
    place: AtomicUsize,
}

impl Column {
    pub fn new(key: Key) -> Column {
        Column {
            key,
            place: AtomicUsize::new(0),
        }
    }

    pub fn key(&self) -> &Key {
        &self.key
    }
}

impl Clone for Column {
    fn clone(&self) -> Column {
        Column {
            key: self.key.clone(),
            place: AtomicUsize::new(self.place.load(Ordering::Relaxed)),
        }
    }
}

impl std::ops::Deref for Column {
    type Target = Key;

    fn deref(&self) -> &Key {
        &self.key
    }
}

/// An insertion-ordered map from keys to values.
///
/// IoT messages have a handful of fields, so a vector scanned linearly beats a hash map in both
/// lookup time and memory; insertion order is kept so results keep the order of the SELECT list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Map {
    entries: Vec<(Key, Value)>,
}

impl Map {
    pub fn new() -> Map {
        Map::default()
    }

    pub fn with_capacity(capacity: usize) -> Map {
        Map {
            entries: Vec::with_capacity(capacity),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(k, _)| same_bytes(k.as_bytes(), key.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Looks a key up by pointer first (keys from [`intern`] share one allocation), then as
    /// [`Map::get_ignore_case`] does.
    #[inline]
    pub fn lookup(&self, key: &Key) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(k, _)| Key::same(k, key))
            .map(|(_, v)| v)
            .or_else(|| self.get_ignore_case(key))
    }

    /// [`Map::lookup`] of a column, trying the place it was found last first.
    #[inline]
    pub fn find(&self, column: &Column) -> Option<&Value> {
        let place = column.place.load(Ordering::Relaxed);
        match self.entries.get(place) {
            Some((k, v)) if Key::same(k, &column.key) => Some(v),
            _ => self.find_elsewhere(column),
        }
    }

    #[inline(never)]
    fn find_elsewhere(&self, column: &Column) -> Option<&Value> {
        match self
            .entries
            .iter()
            .position(|(k, _)| Key::same(k, &column.key))
        {
            Some(place) => {
                column.place.store(place, Ordering::Relaxed);
                Some(&self.entries[place].1)
            }
            None => self.get_ignore_case(&column.key),
        }
    }

    /// Like [`Map::get`], ignoring ASCII case, as eKuiper does for schemaless field names when
    /// an exact match is missing.
    #[inline(never)]
    pub fn get_ignore_case(&self, key: &str) -> Option<&Value> {
        self.get(key).or_else(|| {
            self.entries
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
    }

    /// Sets `key` to `value`, replacing an existing entry in place.
    pub fn insert(&mut self, key: Key, value: Value) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Appends without checking for an existing key: for builders that know keys are distinct.
    pub(crate) fn push_unique(&mut self, key: Key, value: Value) {
        self.entries.push((key, value));
    }

    /// Sets a key that came from the same [`KeyCache`] as every key already here: equal keys
    /// are then the same allocation, so a pointer comparison finds a duplicate.
    pub(crate) fn insert_interned(&mut self, key: Key, value: Value) {
        match self.entries.iter_mut().find(|(k, _)| Key::same(k, &key)) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let index = self.entries.iter().position(|(k, _)| k.as_ref() == key)?;
        Some(self.entries.remove(index).1)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Key, &Value)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.entries.iter().map(|(k, _)| k)
    }
}

impl FromIterator<(Key, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (Key, Value)>>(iter: I) -> Map {
        let mut map = Map::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl IntoIterator for Map {
    type Item = (Key, Value);
    type IntoIter = std::vec::IntoIter<(Key, Value)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

/// Interns object keys for one decoder, so a million messages with the same five fields allocate
/// five keys. Bounded: data with ever-new keys (ids used as keys) must not grow it without limit.
///
/// Messages of one stream mostly have the same keys in the same order, so the cache first
/// compares a key with the one seen at the same position of the previous message (one short
/// `memcmp`), and only hashes on a miss.
#[derive(Debug, Default)]
pub struct KeyCache {
    keys: HashMap<Box<str>, Key>,
    /// The keys of the previous message, in the order they came.
    previous: Vec<Key>,
    /// Whether each of those is written in JSON as it is (no quote, backslash or control
    /// character to escape), so that it can be recognised in a message's raw bytes.
    plain: Vec<bool>,
    /// Whether one of those keys may repeat another; when none does, keys recognised at their
    /// places differ from one another without comparing them.
    repeats: bool,
    position: usize,
}

impl KeyCache {
    const MAX_KEYS: usize = 4096;

    pub fn new() -> KeyCache {
        KeyCache::default()
    }

    /// Marks the start of a new message, for the positional guess.
    pub fn start_message(&mut self) {
        self.position = 0;
    }

    /// Called for every key of every message: the guess is inlined, the rest is not.
    #[inline]
    pub fn intern(&mut self, key: &str) -> Key {
        let position = self.position;
        self.position += 1;
        if let Some(guess) = self.previous.get(position)
            && same_bytes(guess.as_bytes(), key.as_bytes())
        {
            return guess.clone();
        }
        self.intern_missed(position, key)
    }

    /// [`KeyCache::intern`] for a key's raw bytes, which are checked to be UTF-8 only when
    /// they are not the guess (`None` when they are not UTF-8).
    #[inline]
    pub(crate) fn intern_bytes(&mut self, key: &[u8]) -> Option<Key> {
        let position = self.position;
        self.position += 1;
        if let Some(guess) = self.previous.get(position)
            && same_bytes(guess.as_bytes(), key)
        {
            return Some(guess.clone());
        }
        Some(self.intern_missed(position, std::str::from_utf8(key).ok()?))
    }

    /// Whether the keys [`KeyCache::guessed_in`] gives for one message differ from one
    /// another: a row built of nothing else needs no check for duplicate keys.
    #[inline]
    pub(crate) fn guesses_are_distinct(&self) -> bool {
        !self.repeats
    }

    /// The key at this position of the previous message, when `json` (a message's bytes
    /// just after a key's opening quote) spells it, closing quote included: that key, and how
    /// many bytes it took. The key must need no escape in JSON, so that the quote after it is
    /// where the string ends.
    #[inline]
    pub(crate) fn guessed_in(&mut self, json: &[u8]) -> Option<(Key, usize)> {
        let position = self.position;
        let guess = self.previous.get(position)?;
        let length = guess.len();
        let spelled = self.plain.get(position) == Some(&true)
            && json.get(length) == Some(&b'"')
            && same_bytes(guess.as_bytes(), &json[..length]);
        if !spelled {
            return None;
        }
        self.position += 1;
        Some((guess.clone(), length + 1))
    }

    #[cold]
    #[inline(never)]
    fn intern_missed(&mut self, position: usize, key: &str) -> Key {
        let interned = match self.keys.get(key) {
            Some(k) => k.clone(),
            None => {
                if self.keys.len() >= Self::MAX_KEYS {
                    self.keys.clear();
                }
                let k = intern(key);
                self.keys.insert(Box::from(key), k.clone());
                k
            }
        };
        let plain = first_special_byte(interned.as_bytes()).is_none();
        if position < self.previous.len() {
            self.previous[position] = interned.clone();
            self.plain[position] = plain;
        } else if position == self.previous.len() && position < Self::MAX_KEYS {
            self.previous.push(interned.clone());
            self.plain.push(plain);
        } else {
            return interned;
        }
        self.repeats = self.repeats_after_change(position);
        interned
    }

    /// Whether the previous keys may repeat one another now that the one at `position` has
    /// changed. While none repeats, only the new key can (one pass over the others); once one
    /// may, the keys are compared pairwise again, for rows of up to 16 keys (wider ones keep
    /// the check for duplicates from then on).
    fn repeats_after_change(&self, position: usize) -> bool {
        let keys = &self.previous;
        if !self.repeats {
            let new = &keys[position];
            return keys
                .iter()
                .enumerate()
                .any(|(i, other)| i != position && Key::same(new, other));
        }
        keys.len() > 16
            || keys
                .iter()
                .enumerate()
                .any(|(i, a)| keys[..i].iter().any(|b| Key::same(a, b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(pairs: &[(&str, i64)]) -> Map {
        let mut m = Map::new();
        for (k, v) in pairs {
            m.insert(intern(k), Value::Int(*v));
        }
        m
    }

    /// A column finds its value wherever the row has it, whatever place it was found at
    /// before, and never takes another key's value from that place.
    #[test]
    fn a_column_is_found_wherever_the_row_has_it() {
        let humidity = Column::new(intern("humidity"));
        let first = row(&[("device", 1), ("temperature", 2), ("humidity", 3)]);
        assert_eq!(first.find(&humidity), Some(&Value::Int(3)));
        assert_eq!(first.find(&humidity), Some(&Value::Int(3)));
        // Another order: the remembered place now holds another key.
        let moved = row(&[("humidity", 4), ("device", 5), ("temperature", 6)]);
        assert_eq!(moved.find(&humidity), Some(&Value::Int(4)));
        assert_eq!(first.find(&humidity), Some(&Value::Int(3)));
        // A shorter row, a row without it, and one that differs only in case.
        assert_eq!(row(&[("x", 1)]).find(&humidity), None);
        assert_eq!(Map::new().find(&humidity), None);
        let upper = row(&[("device", 1), ("Humidity", 7)]);
        assert_eq!(upper.find(&humidity), Some(&Value::Int(7)));
        // A clone starts from the same place and goes its own way.
        let copy = humidity.clone();
        assert_eq!(moved.find(&copy), Some(&Value::Int(4)));
    }

    #[test]
    fn insert_replaces_in_place_and_keeps_order() {
        let mut m = Map::new();
        m.insert("b".into(), Value::Int(1));
        m.insert("a".into(), Value::Int(2));
        m.insert("b".into(), Value::Int(3));
        let keys: Vec<&str> = m.keys().map(|k| k.as_ref()).collect();
        assert_eq!(keys, ["b", "a"]);
        assert_eq!(m.get("b"), Some(&Value::Int(3)));
        assert_eq!(m.remove("b"), Some(Value::Int(3)));
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn case_insensitive_lookup_prefers_an_exact_match() {
        let mut m = Map::new();
        m.insert("Temp".into(), Value::Int(1));
        m.insert("temp".into(), Value::Int(2));
        assert_eq!(m.get_ignore_case("temp"), Some(&Value::Int(2)));
        assert_eq!(m.get_ignore_case("TEMP"), Some(&Value::Int(1)));
    }

    #[test]
    fn key_cache_shares_one_allocation_per_key() {
        let mut cache = KeyCache::new();
        let a = cache.intern("device");
        let b = cache.intern("device");
        assert!(Key::same(&a, &b));
    }
}
