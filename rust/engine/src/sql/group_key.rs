//! GROUP BY's keys of one row, as a hash map key: rows with equal keys form a group (an integer
//! and the same float are equal, as in comparisons). Hashed by value, so that grouping a row
//! costs no text; one key (the usual case) is held without a vector.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::value::{Value, to_json_string};

/// Groups by their keys. Every row of a grouped window is hashed by its keys, so with foldhash:
/// several times cheaper than SipHash for keys of a few short strings and numbers, and seeded at
/// random per map all the same (the data cannot aim at collisions it cannot see).
pub(super) type GroupIndex = HashMap<GroupKey, usize, foldhash::fast::RandomState>;

#[derive(Debug)]
pub(super) enum GroupKey {
    One(Value),
    Many(Vec<Value>),
}

impl GroupKey {
    pub(super) fn new(mut keys: Vec<Value>) -> GroupKey {
        match keys.len() {
            1 => GroupKey::One(keys.pop().unwrap_or_default()),
            _ => GroupKey::Many(keys),
        }
    }

    fn values(&self) -> &[Value] {
        match self {
            GroupKey::One(value) => std::slice::from_ref(value),
            GroupKey::Many(values) => values,
        }
    }
}

impl Hash for GroupKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for value in self.values() {
            match value {
                Value::Null => 0u8.hash(state),
                Value::Bool(b) => (1u8, b).hash(state),
                Value::Int(i) => (2u8, (*i as f64).to_bits()).hash(state),
                Value::Float(f) => (2u8, f.to_bits()).hash(state),
                Value::String(s) => (3u8, s.as_ref()).hash(state),
                other => (4u8, to_json_string(other)).hash(state),
            }
        }
    }
}

impl PartialEq for GroupKey {
    fn eq(&self, other: &GroupKey) -> bool {
        let (ours, theirs) = (self.values(), other.values());
        ours.len() == theirs.len() && ours.iter().zip(theirs).all(|(a, b)| same_key(a, b))
    }
}

impl Eq for GroupKey {}

fn same_key(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            a.as_f64() == b.as_f64()
        }
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::String(_), _)
        | (_, Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::String(_)) => {
            false
        }
        _ => to_json_string(a) == to_json_string(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn equal_keys_hash_alike_and_others_apart() {
        let hashing = foldhash::fast::RandomState::default();
        let hash = |values: Vec<Value>| hashing.hash_one(GroupKey::new(values));
        assert_eq!(hash(vec![Value::Int(1)]), hash(vec![Value::Float(1.0)]));
        assert_eq!(
            hash(vec![Value::string("dev-1"), Value::Null]),
            hash(vec![Value::string("dev-1"), Value::Null])
        );
        let mut seen = std::collections::HashSet::new();
        for i in 0..10_000 {
            seen.insert(hash(vec![Value::string(&format!("dev-{i}"))]));
            seen.insert(hash(vec![Value::Int(i)]));
        }
        assert_eq!(seen.len(), 20_000);
        assert_ne!(
            hash(vec![Value::string("a")]),
            hash(vec![Value::string("a\0")])
        );
        assert_ne!(
            hash(vec![Value::string("ab"), Value::string("c")]),
            hash(vec![Value::string("a"), Value::string("bc")])
        );
        let mut index = GroupIndex::default();
        index.insert(GroupKey::new(vec![Value::Int(2)]), 0);
        assert_eq!(index.get(&GroupKey::new(vec![Value::Float(2.0)])), Some(&0));
    }
}
