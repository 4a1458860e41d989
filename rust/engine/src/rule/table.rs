//! A table's rows as a rule sees them: a scan table keeps the latest `RETAIN_SIZE` rows (all of
//! them without it); a lookup table keeps the latest row for each value of its `KEY`. Rows that
//! reach a table update it and produce nothing; each row of the rule's stream is joined with
//! the table as it stands.

use std::collections::{HashMap, VecDeque};

use crate::stream::StreamDef;
use crate::value::{Key, Tuple, intern, to_json_string};

#[derive(Debug)]
pub(crate) struct Table {
    rows: VecDeque<Tuple>,
    retain: Option<usize>,
    /// Lookup tables: the key field, and where each key's row is.
    key: Option<Key>,
    index: HashMap<String, usize>,
}

impl Table {
    /// The table a rule keeps for `def`, if it is one.
    pub fn for_def(def: &StreamDef) -> Option<Table> {
        if !def.table {
            return None;
        }
        let lookup = def.options.kind.as_deref() == Some("lookup");
        Some(Table {
            rows: VecDeque::new(),
            retain: (!lookup)
                .then_some(def.options.retain_size)
                .flatten()
                .map(|n| n as usize)
                .filter(|n| *n > 0),
            key: lookup
                .then(|| def.options.key.as_deref().map(intern))
                .flatten(),
            index: HashMap::new(),
        })
    }

    pub fn update(&mut self, tuple: Tuple) {
        match &self.key {
            Some(key) => {
                let value = tuple.row.lookup(key).cloned().unwrap_or_default();
                let key = to_json_string(&value);
                match self.index.get(&key) {
                    Some(&at) => self.rows[at] = tuple,
                    None => {
                        self.index.insert(key, self.rows.len());
                        self.rows.push_back(tuple);
                    }
                }
            }
            None => {
                self.rows.push_back(tuple);
                if let Some(retain) = self.retain {
                    while self.rows.len() > retain {
                        self.rows.pop_front();
                    }
                }
            }
        }
    }

    pub fn rows(&self) -> impl Iterator<Item = &Tuple> {
        self.rows.iter()
    }
}
