//! What a server keeps across restarts, in SQLite under the data directory: the source
//! property sets, the streams and tables, and the rules with their desired state (running or
//! not). Writes are single statements in WAL mode, so a crash (even SIGKILL) leaves the last
//! committed state; `synchronous = NORMAL` skips the fsync per commit, which only a power loss
//! could cost.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map as JsonMap, Value as Json};

/// The file under the data directory.
pub const CATALOG_FILE: &str = "catalog.db";

pub struct Catalog {
    db: Mutex<Connection>,
}

/// A rule as stored: its JSON and whether it should run.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRule {
    pub id: String,
    pub json: Json,
    pub running: bool,
}

/// A source property set as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredConf {
    pub source_type: String,
    pub key: String,
    pub props: JsonMap<String, Json>,
}

fn db_error(e: rusqlite::Error) -> String {
    format!("the catalog database: {e}")
}

impl Catalog {
    pub fn open(dir: &Path) -> Result<Catalog, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the data directory {}: {e}", dir.display()))?;
        let path = dir.join(CATALOG_FILE);
        let db =
            Connection::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS source_confs (
                 source_type TEXT NOT NULL,
                 conf_key TEXT NOT NULL,
                 props TEXT NOT NULL,
                 PRIMARY KEY (source_type, conf_key)
             );
             CREATE TABLE IF NOT EXISTS streams (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 name TEXT NOT NULL UNIQUE,
                 statement TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS rules (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT,
                 id TEXT NOT NULL UNIQUE,
                 json TEXT NOT NULL,
                 running INTEGER NOT NULL
             );",
        )
        .map_err(|e| format!("cannot set up {}: {e}", path.display()))?;
        Ok(Catalog { db: Mutex::new(db) })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn put_conf(
        &self,
        source_type: &str,
        key: &str,
        props: &JsonMap<String, Json>,
    ) -> Result<(), String> {
        let props = Json::Object(props.clone()).to_string();
        self.db()
            .execute(
                "INSERT INTO source_confs (source_type, conf_key, props) VALUES (?1, ?2, ?3)
                 ON CONFLICT (source_type, conf_key) DO UPDATE SET props = excluded.props",
                params![source_type, key, props],
            )
            .map(drop)
            .map_err(db_error)
    }

    pub fn delete_conf(&self, source_type: &str, key: &str) -> Result<(), String> {
        self.db()
            .execute(
                "DELETE FROM source_confs WHERE source_type = ?1 AND conf_key = ?2",
                params![source_type, key],
            )
            .map(drop)
            .map_err(db_error)
    }

    pub fn confs(&self) -> Result<Vec<StoredConf>, String> {
        let db = self.db();
        let mut query = db
            .prepare("SELECT source_type, conf_key, props FROM source_confs ORDER BY source_type, conf_key")
            .map_err(db_error)?;
        let rows = query
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .map_err(db_error)?;
        let mut out = Vec::new();
        for row in rows {
            let (source_type, key, props) = row.map_err(db_error)?;
            let props = match serde_json::from_str(&props) {
                Ok(Json::Object(props)) => props,
                _ => {
                    return Err(format!(
                        "the catalog's {source_type}.{key} properties are not a JSON object"
                    ));
                }
            };
            out.push(StoredConf {
                source_type,
                key,
                props,
            });
        }
        Ok(out)
    }

    /// Adds a stream, or replaces the statement of one with that name (keeping its place).
    pub fn put_stream(&self, name: &str, statement: &str) -> Result<(), String> {
        self.db()
            .execute(
                "INSERT INTO streams (name, statement) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET statement = excluded.statement",
                params![name, statement],
            )
            .map(drop)
            .map_err(db_error)
    }

    pub fn delete_stream(&self, name: &str) -> Result<(), String> {
        self.db()
            .execute("DELETE FROM streams WHERE name = ?1", params![name])
            .map(drop)
            .map_err(db_error)
    }

    /// Every stream's statement, in the order they were created (tables a rule joins come
    /// back before the rule either way, since rules come back after every stream).
    pub fn streams(&self) -> Result<Vec<(String, String)>, String> {
        let db = self.db();
        let mut query = db
            .prepare("SELECT name, statement FROM streams ORDER BY seq")
            .map_err(db_error)?;
        let rows = query
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(db_error)?;
        rows.collect::<Result<_, _>>().map_err(db_error)
    }

    pub fn put_rule(&self, id: &str, json: &Json, running: bool) -> Result<(), String> {
        self.db()
            .execute(
                "INSERT INTO rules (id, json, running) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET json = excluded.json, running = excluded.running",
                params![id, json.to_string(), running],
            )
            .map(drop)
            .map_err(db_error)
    }

    pub fn set_rule_running(&self, id: &str, running: bool) -> Result<(), String> {
        self.db()
            .execute(
                "UPDATE rules SET running = ?2 WHERE id = ?1",
                params![id, running],
            )
            .map(drop)
            .map_err(db_error)
    }

    pub fn delete_rule(&self, id: &str) -> Result<(), String> {
        self.db()
            .execute("DELETE FROM rules WHERE id = ?1", params![id])
            .map(drop)
            .map_err(db_error)
    }

    pub fn rule(&self, id: &str) -> Result<Option<StoredRule>, String> {
        self.db()
            .query_row(
                "SELECT id, json, running FROM rules WHERE id = ?1",
                params![id],
                stored_rule,
            )
            .optional()
            .map_err(db_error)
    }

    pub fn rules(&self) -> Result<Vec<StoredRule>, String> {
        let db = self.db();
        let mut query = db
            .prepare("SELECT id, json, running FROM rules ORDER BY seq")
            .map_err(db_error)?;
        let rows = query.query_map([], stored_rule).map_err(db_error)?;
        rows.collect::<Result<_, _>>().map_err(db_error)
    }
}

fn stored_rule(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRule> {
    let text: String = row.get(1)?;
    // Only the server writes this column, always as JSON; a hand-edited bad value comes back
    // as a string, which creating the rule then refuses with a message naming it.
    let json = serde_json::from_str(&text).unwrap_or(Json::String(text));
    Ok(StoredRule {
        id: row.get(0)?,
        json,
        running: row.get(2)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_what_it_was_given_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let catalog = Catalog::open(dir.path()).unwrap();
            catalog
                .put_stream("b", "CREATE STREAM b () WITH (TYPE=\"memory\")")
                .unwrap();
            catalog
                .put_stream("a", "CREATE STREAM a () WITH (TYPE=\"memory\")")
                .unwrap();
            catalog
                .put_stream("b", "CREATE STREAM b (x bigint) WITH (TYPE=\"memory\")")
                .unwrap();
            catalog.put_rule("r1", &json!({"id": "r1"}), true).unwrap();
            catalog.put_rule("r2", &json!({"id": "r2"}), true).unwrap();
            catalog.set_rule_running("r1", false).unwrap();
            catalog.delete_rule("r2").unwrap();
            let mut props = JsonMap::new();
            props.insert("server".into(), json!("tcp://127.0.0.1:1883"));
            catalog.put_conf("mqtt", "local", &props).unwrap();
        }
        let catalog = Catalog::open(dir.path()).unwrap();
        let streams = catalog.streams().unwrap();
        assert_eq!(streams[0].0, "b");
        assert!(streams[0].1.contains("x bigint"));
        assert_eq!(streams[1].0, "a");
        assert_eq!(
            catalog.rules().unwrap(),
            vec![StoredRule {
                id: "r1".into(),
                json: json!({"id": "r1"}),
                running: false
            }]
        );
        assert_eq!(catalog.rule("r2").unwrap(), None);
        assert_eq!(
            catalog.confs().unwrap()[0].props["server"],
            "tcp://127.0.0.1:1883"
        );
    }
}
