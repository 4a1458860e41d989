//! The sink disk cache: results for a target that is failing, kept in SQLite under the data
//! directory until they land. Every write is committed before the runtime goes on, so neither
//! a restart nor a crash of the process loses what was cached (WAL, `synchronous=NORMAL`: a
//! committed transaction survives the process; the machine losing power is another matter).

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, params};

use super::SinkItem;
use crate::value::{JsonDecoder, to_json_string};

/// The engine's sink cache: one SQLite file, shared by every cached action.
#[derive(Clone)]
pub struct SinkCache {
    db: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SinkCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SinkCache")
    }
}

/// Where one sink instance's items live in the cache.
#[derive(Debug, Clone)]
pub struct CacheKey {
    pub rule: String,
    pub op: String,
    pub instance: usize,
}

fn db_error(e: rusqlite::Error) -> String {
    format!("the sink cache failed: {e}")
}

impl SinkCache {
    /// Opens (or creates) the cache in a data directory.
    pub fn open(dir: &Path) -> Result<SinkCache, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
        let path = dir.join("sink_cache.db");
        let db =
            Connection::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS sink_cache (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 rule TEXT NOT NULL,
                 op TEXT NOT NULL,
                 instance INTEGER NOT NULL,
                 data TEXT NOT NULL,
                 props TEXT
             );
             CREATE INDEX IF NOT EXISTS sink_cache_by_sink ON sink_cache (rule, op, instance, seq);",
        )
        .map_err(db_error)?;
        Ok(SinkCache {
            db: Arc::new(Mutex::new(db)),
        })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends items in order, then drops the oldest beyond `max`; returns how many were dropped.
    pub fn append(&self, key: &CacheKey, items: &[SinkItem], max: usize) -> Result<usize, String> {
        let mut db = self.db();
        let tx = db.transaction().map_err(db_error)?;
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO sink_cache (rule, op, instance, data, props) VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(db_error)?;
            for item in items {
                // Items are kept as JSON: bytes come back as base64 text, datetimes as RFC 3339.
                let props = (!item.props.is_empty())
                    .then(|| serde_json::to_string(&item.props).unwrap_or_default());
                insert
                    .execute(params![
                        key.rule,
                        key.op,
                        key.instance as i64,
                        to_json_string(&item.data),
                        props
                    ])
                    .map_err(db_error)?;
            }
        }
        let length: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM sink_cache WHERE rule = ?1 AND op = ?2 AND instance = ?3",
                params![key.rule, key.op, key.instance as i64],
                |row| row.get(0),
            )
            .map_err(db_error)?;
        let excess = (length as usize).saturating_sub(max);
        if excess > 0 {
            tx.execute(
                "DELETE FROM sink_cache WHERE seq IN (SELECT seq FROM sink_cache
                 WHERE rule = ?1 AND op = ?2 AND instance = ?3 ORDER BY seq LIMIT ?4)",
                params![key.rule, key.op, key.instance as i64, excess as i64],
            )
            .map_err(db_error)?;
        }
        tx.commit().map_err(db_error)?;
        Ok(excess)
    }

    /// The oldest `limit` items, with their sequence numbers.
    pub fn oldest(&self, key: &CacheKey, limit: usize) -> Result<Vec<(i64, SinkItem)>, String> {
        let db = self.db();
        let mut query = db
            .prepare_cached(
                "SELECT seq, data, props FROM sink_cache WHERE rule = ?1 AND op = ?2 AND instance = ?3
                 ORDER BY seq LIMIT ?4",
            )
            .map_err(db_error)?;
        let rows = query
            .query_map(
                params![key.rule, key.op, key.instance as i64, limit as i64],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Option<String>>(2)?,
                    ))
                },
            )
            .map_err(db_error)?;
        let mut decoder = JsonDecoder::new();
        let mut items = Vec::new();
        for row in rows {
            let (seq, data, props) = row.map_err(db_error)?;
            let damaged = |e: String| format!("a cached item is damaged: {e}");
            let data = decoder
                .decode(data.as_bytes())
                .map_err(|e| damaged(e.to_string()))?;
            let props = match props {
                Some(text) => serde_json::from_str(&text).map_err(|e| damaged(e.to_string()))?,
                None => Vec::new(),
            };
            items.push((seq, SinkItem { data, props }));
        }
        Ok(items)
    }

    /// Removes items by their sequence numbers (as `oldest` gave them).
    pub fn remove(&self, seqs: &[i64]) -> Result<(), String> {
        let mut db = self.db();
        let tx = db.transaction().map_err(db_error)?;
        {
            let mut delete = tx
                .prepare_cached("DELETE FROM sink_cache WHERE seq = ?1")
                .map_err(db_error)?;
            for seq in seqs {
                delete.execute(params![seq]).map_err(db_error)?;
            }
        }
        tx.commit().map_err(db_error)
    }

    pub fn len(&self, key: &CacheKey) -> Result<usize, String> {
        self.db()
            .query_row(
                "SELECT COUNT(*) FROM sink_cache WHERE rule = ?1 AND op = ?2 AND instance = ?3",
                params![key.rule, key.op, key.instance as i64],
                |row| row.get::<_, i64>(0),
            )
            .map(|n| n as usize)
            .map_err(db_error)
    }

    /// Forgets what one sink instance cached.
    pub fn clear(&self, key: &CacheKey) -> Result<(), String> {
        self.db()
            .execute(
                "DELETE FROM sink_cache WHERE rule = ?1 AND op = ?2 AND instance = ?3",
                params![key.rule, key.op, key.instance as i64],
            )
            .map(|_| ())
            .map_err(db_error)
    }

    /// Forgets everything a rule cached (the rule was deleted).
    pub fn clear_rule(&self, rule: &str) -> Result<(), String> {
        self.db()
            .execute("DELETE FROM sink_cache WHERE rule = ?1", params![rule])
            .map(|_| ())
            .map_err(db_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;
    use serde_json::json;

    fn item(i: i64) -> SinkItem {
        SinkItem {
            data: Value::from(&json!([{"i": i}])),
            props: vec![("topic".into(), format!("t/{i}"))],
        }
    }

    #[test]
    fn items_keep_their_order_survive_reopening_and_the_oldest_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let key = CacheKey {
            rule: "r".into(),
            op: "x_0".into(),
            instance: 0,
        };
        {
            let cache = SinkCache::open(dir.path()).unwrap();
            assert_eq!(
                cache
                    .append(&key, &[item(1), item(2), item(3)], 10)
                    .unwrap(),
                0
            );
            assert_eq!(
                cache.append(&key, &[item(4)], 3).unwrap(),
                1,
                "the oldest is dropped past the maximum"
            );
        }
        let cache = SinkCache::open(dir.path()).unwrap();
        let oldest = cache.oldest(&key, 2).unwrap();
        assert_eq!(
            oldest
                .iter()
                .map(|(_, i)| to_json_string(&i.data))
                .collect::<Vec<_>>(),
            [r#"[{"i":2}]"#, r#"[{"i":3}]"#]
        );
        assert_eq!(oldest[0].1.prop("topic"), Some("t/2"));
        cache.remove(&[oldest[0].0, oldest[1].0]).unwrap();
        assert_eq!(cache.len(&key).unwrap(), 1);
        let other = CacheKey {
            instance: 1,
            ..key.clone()
        };
        assert_eq!(cache.len(&other).unwrap(), 0);
        cache.clear_rule("r").unwrap();
        assert_eq!(cache.len(&key).unwrap(), 0);
    }
}
