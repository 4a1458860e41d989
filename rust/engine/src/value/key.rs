//! Object keys: field names, cheap to clone, drop and compare.
//!
//! A row is decoded on a source's thread and dropped on the rule's. Were every key reference
//! counted, each row would bump and release the same few counters from two cores, and the cache
//! line holding them would bounce between the cores on every row (this cost a fifth of the
//! decoder's time). So names from data and SQL are interned for the life of the process, up to
//! a bound, and a clone of an interned key is a copy of a pointer. Past the bound (data that uses
//! ids as keys), keys are reference counted as before: correct, only slower.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Key(Repr);

#[derive(Clone)]
enum Repr {
    Interned(&'static str),
    Counted(Arc<str>),
}

impl Key {
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Interned(s) => s,
            Repr::Counted(s) => s,
        }
    }

    /// Whether two keys are one allocation (so certainly equal): the fast path of a lookup,
    /// since rows and compiled rules take their keys from [`intern`].
    #[inline]
    pub fn same(a: &Key, b: &Key) -> bool {
        let (a, b) = (a.as_str(), b.as_str());
        std::ptr::eq(a.as_ptr(), b.as_ptr()) && a.len() == b.len()
    }

    /// The address of the name's bytes: stable for as long as this key (or a clone) lives.
    pub fn address(&self) -> usize {
        self.as_str().as_ptr() as usize
    }
}

/// Keys interned for good: at most this many, of at most this many bytes in all.
const MAX_INTERNED: usize = 16_384;
const MAX_INTERNED_BYTES: usize = 1 << 20;
/// Past that, a bounded table of counted keys, cleared when full.
const MAX_COUNTED: usize = 65_536;

#[derive(Default)]
struct Interner {
    interned: HashSet<&'static str>,
    bytes: usize,
    counted: HashMap<Box<str>, Arc<str>>,
}

/// The process-wide key of a name: decoders and compiled rules take their keys from here, so
/// that a column lookup is usually a pointer comparison. Only a speed-up: keys compare by
/// content when pointers differ.
pub fn intern(name: &str) -> Key {
    static INTERNER: Mutex<Option<Interner>> = Mutex::new(None);
    let mut interner = INTERNER.lock().unwrap_or_else(|p| p.into_inner());
    let interner = interner.get_or_insert_with(Interner::default);
    if let Some(s) = interner.interned.get(name) {
        return Key(Repr::Interned(s));
    }
    if interner.interned.len() < MAX_INTERNED && interner.bytes + name.len() <= MAX_INTERNED_BYTES {
        let s: &'static str = Box::leak(Box::from(name));
        interner.interned.insert(s);
        interner.bytes += name.len();
        return Key(Repr::Interned(s));
    }
    if let Some(s) = interner.counted.get(name) {
        return Key(Repr::Counted(s.clone()));
    }
    if interner.counted.len() >= MAX_COUNTED {
        interner.counted.clear();
    }
    let s: Arc<str> = Arc::from(name);
    interner.counted.insert(Box::from(name), s.clone());
    Key(Repr::Counted(s))
}

impl Deref for Key {
    type Target = str;

    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Key {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Key) -> bool {
        Key::same(self, other) || self.as_str() == other.as_str()
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key made on the spot is counted, not interned: use [`intern`] for names that recur.
impl From<&str> for Key {
    fn from(name: &str) -> Key {
        Key(Repr::Counted(Arc::from(name)))
    }
}

/// Something worked out for each key of a row, remembered by the key's place in the row: rows of
/// one stream or rule mostly have the same keys in the same order, so a key is usually the one
/// seen at its place before (one pointer comparison), and the work is redone only when it is
/// not. A clone of each key is held, so that its address cannot be reused for another key while
/// it is remembered.
#[derive(Debug)]
pub struct ByPlace<V> {
    previous: Vec<(Key, V)>,
}

impl<V> Default for ByPlace<V> {
    fn default() -> ByPlace<V> {
        ByPlace {
            previous: Vec::new(),
        }
    }
}

impl<V> ByPlace<V> {
    /// Places past this are not remembered (rows that wide are rare, and this stays small).
    const MAX_PLACES: usize = 256;

    /// What was remembered for `key` at `place`, if that is where it was seen last.
    #[inline]
    pub fn get(&self, place: usize, key: &Key) -> Option<&V> {
        match self.previous.get(place) {
            Some((seen, value)) if Key::same(seen, key) => Some(value),
            _ => None,
        }
    }

    pub fn remember(&mut self, place: usize, key: &Key, value: V) {
        if place < self.previous.len() {
            self.previous[place] = (key.clone(), value);
        } else if place == self.previous.len() && place < Self::MAX_PLACES {
            self.previous.push((key.clone(), value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_place_answers_only_for_the_key_last_seen_at_that_place() {
        let (a, b) = (intern("a"), intern("b"));
        let mut memo = ByPlace::default();
        assert_eq!(memo.get(0, &a), None);
        memo.remember(0, &a, 1);
        memo.remember(1, &b, 2);
        assert_eq!((memo.get(0, &a), memo.get(1, &b)), (Some(&1), Some(&2)));
        assert_eq!(memo.get(0, &b), None);
        // The same name made apart is another allocation: worked out again, never mistaken.
        assert_eq!(memo.get(0, &Key::from("a")), None);
        memo.remember(0, &b, 3);
        assert_eq!((memo.get(0, &a), memo.get(0, &b)), (None, Some(&3)));
        // Places are remembered in order, so a gap is not.
        memo.remember(5, &a, 4);
        assert_eq!(memo.get(5, &a), None);
    }

    #[test]
    fn interned_keys_are_one_allocation_and_made_keys_compare_by_content() {
        let a = intern("device");
        let b = intern("device");
        assert!(Key::same(&a, &b));
        let made = Key::from("device");
        assert!(!Key::same(&a, &made));
        assert_eq!(a, made);
        assert_eq!(&*made, "device");
        assert_ne!(a, intern("Device"));
        assert!(intern("a") < intern("b"));
    }
}
