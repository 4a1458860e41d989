//! An engine whose definitions persist: every change to source property sets, streams and
//! rules (and each rule's desired state) is applied to the engine, then written to the
//! catalog, and `restore` brings them all back after a restart or a crash. Both hosts use it:
//! the REST server, and the Python `Engine(data_dir=...)`. Without a data directory it is the
//! bare engine.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map as JsonMap, Value as Json};
use sinkbridge_engine::{Engine, Error, Result};

use crate::catalog::Catalog;

#[derive(Clone)]
pub struct ManagedEngine {
    engine: Engine,
    catalog: Option<Arc<Catalog>>,
}

/// What `restore` brought back, and what it could not.
#[derive(Debug, Default)]
pub struct Restored {
    pub streams: usize,
    pub rules: usize,
    /// One message per definition that failed to come back; it stays in the catalog.
    pub failures: Vec<String>,
}

/// The id a rule's JSON names, for messages and storage.
fn rule_id(rule: &Json) -> Result<String> {
    match rule.get("id") {
        Some(Json::String(id)) => Ok(id.clone()),
        Some(_) => Err(Error::Rule("rule: id: expected a string".into())),
        None => Err(Error::Rule("rule: id: is required".into())),
    }
}

impl ManagedEngine {
    /// Opens the catalog under `data_dir` (none: nothing persists).
    pub fn open(engine: Engine, data_dir: Option<&Path>) -> Result<ManagedEngine, String> {
        let catalog = data_dir.map(Catalog::open).transpose()?.map(Arc::new);
        Ok(ManagedEngine { engine, catalog })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Writes through to the catalog; a failure is reported as the kind of error `wrap` makes.
    fn store(
        &self,
        wrap: fn(String) -> Error,
        write: impl FnOnce(&Catalog) -> Result<(), String>,
    ) -> Result<()> {
        match &self.catalog {
            Some(catalog) => write(catalog).map_err(|e| wrap(format!("cannot persist: {e}"))),
            None => Ok(()),
        }
    }

    // ----- restoring -----

    /// Brings back the source property sets and the streams. Call it once, on a fresh engine.
    pub fn restore_streams(&self, restored: &mut Restored) -> Result<(), String> {
        let Some(catalog) = &self.catalog else {
            return Ok(());
        };
        for conf in catalog.confs()? {
            if let Err(e) = self
                .engine
                .set_source_conf(&conf.source_type, &conf.key, conf.props)
            {
                restored.failures.push(format!(
                    "source conf {}.{}: {e}",
                    conf.source_type, conf.key
                ));
            }
        }
        for (name, statement) in catalog.streams()? {
            match self.engine.create_stream(&statement) {
                Ok(_) => restored.streams += 1,
                Err(e) => restored.failures.push(format!("stream {name}: {e}")),
            }
        }
        Ok(())
    }

    /// Brings back the rules, each with its desired state, without starting them: starting
    /// the engine starts the ones that should run. Call it after `restore_streams`, once the
    /// sinks the rules use are registered.
    pub async fn restore_rules(&self, restored: &mut Restored) -> Result<(), String> {
        let Some(catalog) = &self.catalog else {
            return Ok(());
        };
        for stored in catalog.rules()? {
            let mut json = stored.json;
            if let Json::Object(rule) = &mut json {
                rule.insert("triggered".into(), Json::Bool(stored.running));
            }
            match self.engine.create_rule_async(&json).await {
                Ok(_) => restored.rules += 1,
                Err(e) => restored.failures.push(format!("rule {}: {e}", stored.id)),
            }
        }
        Ok(())
    }

    // ----- source property sets -----

    pub fn set_source_conf(
        &self,
        source_type: &str,
        key: &str,
        props: JsonMap<String, Json>,
    ) -> Result<()> {
        self.engine
            .set_source_conf(source_type, key, props.clone())?;
        self.store(Error::Stream, |c| c.put_conf(source_type, key, &props))
    }

    // ----- streams and tables -----

    /// Runs `CREATE STREAM` or `CREATE TABLE`; returns the name.
    pub fn create_stream(&self, sql: &str) -> Result<String> {
        let name = self.engine.create_stream(sql)?;
        if let Err(e) = self.store(Error::Stream, |c| c.put_stream(&name, sql)) {
            let _ = self.engine.drop_stream(&name);
            return Err(e);
        }
        Ok(name)
    }

    /// Replaces the definition of the stream `name` (which no rule may read) with `sql`,
    /// which must define a stream of that name.
    pub fn replace_stream(&self, name: &str, sql: &str) -> Result<()> {
        let old = self.engine.describe_stream(name)?;
        let old_sql = old["statement"].as_str().unwrap_or_default().to_string();
        self.engine.drop_stream(name)?;
        let restore_old = || {
            let _ = self.engine.create_stream(&old_sql);
        };
        match self.engine.create_stream(sql) {
            Ok(new) if new == name => {}
            Ok(new) => {
                let _ = self.engine.drop_stream(&new);
                restore_old();
                return Err(Error::Stream(format!(
                    "the statement defines {new}, not {name}; the name cannot change"
                )));
            }
            Err(e) => {
                restore_old();
                return Err(e);
            }
        }
        self.store(Error::Stream, |c| c.put_stream(name, sql))
    }

    pub fn drop_stream(&self, name: &str) -> Result<()> {
        self.engine.drop_stream(name)?;
        self.store(Error::Stream, |c| c.delete_stream(name))
    }

    // ----- rules -----

    /// Creates a rule and persists it, with its desired state. A rule that was created but
    /// failed to start is persisted too (it exists, stopped, with the reason in its status):
    /// the start's error comes back beside the id.
    pub async fn create_rule(&self, rule: &Json) -> Result<(String, Option<Error>)> {
        let id = rule_id(rule)?;
        let created = self.engine.create_rule_async(rule).await;
        // Created, or created but failed to start; not refused, nor a rule that was there.
        let start_error = match created {
            Ok(_) => None,
            Err(e) if self.engine.rule_json(&id).ok().as_ref() == Some(rule) => Some(e),
            Err(e) => return Err(e),
        };
        let triggered = self.engine.rule_triggered(&id)?;
        if let Err(e) = self.store(Error::Rule, |c| c.put_rule(&id, rule, triggered)) {
            let _ = self.engine.delete_rule_async(&id).await;
            return Err(e);
        }
        Ok((id, start_error))
    }

    /// Replaces a rule's definition, or creates the rule if there is none with this id. What
    /// was buffered for the old definition's sinks reaches them before the new one starts.
    pub async fn replace_rule(&self, rule: &Json) -> Result<()> {
        let id = rule_id(rule)?;
        if self.engine.rule_triggered(&id).is_err() {
            return match self.create_rule(rule).await? {
                (_, Some(start_error)) => Err(start_error),
                (_, None) => Ok(()),
            };
        }
        let replaced = self.engine.replace_rule_async(rule).await;
        if let Ok(triggered) = self.engine.rule_triggered(&id) {
            // The definition in the engine is the new one once the old run stopped, even when
            // the new one then failed to start.
            if replaced.is_ok() || self.engine.rule_json(&id).ok().as_ref() == Some(rule) {
                self.store(Error::Rule, |c| c.put_rule(&id, rule, triggered))?;
            }
        }
        replaced
    }

    pub async fn delete_rule(&self, id: &str) -> Result<()> {
        self.engine.delete_rule_async(id).await?;
        self.store(Error::Rule, |c| c.delete_rule(id))
    }

    /// Persists the rule's desired state as the engine now holds it.
    fn store_desired_state(&self, id: &str) -> Result<()> {
        let triggered = self.engine.rule_triggered(id)?;
        self.store(Error::Rule, |c| c.set_rule_running(id, triggered))
    }

    pub async fn start_rule(&self, id: &str) -> Result<()> {
        let started = self.engine.start_rule_async(id).await;
        self.store_desired_state(id)?;
        started
    }

    pub async fn stop_rule(&self, id: &str) -> Result<()> {
        self.engine.stop_rule_async(id).await?;
        self.store_desired_state(id)
    }

    pub async fn restart_rule(&self, id: &str) -> Result<()> {
        self.engine.stop_rule_async(id).await?;
        self.start_rule(id).await
    }
}
