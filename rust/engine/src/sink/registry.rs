//! Resolving an action key to a sink factory, in DESIGN.md's order: built-in Rust sinks, sinks
//! registered at run time, then the resolvers a host adds (the pyo3 layer adds one for the
//! plugins folder, entry points and `module:Class` paths).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use super::SinkFactory;

/// Finds sinks the engine itself does not know.
pub trait SinkResolver: Send + Sync {
    /// `Ok(None)` when this resolver does not know `key`; `Err` when it found something that
    /// cannot be used (a module that fails to import, a class that is not a sink).
    fn resolve(&self, key: &str) -> Result<Option<Arc<dyn SinkFactory>>, String>;

    /// Where this resolver looked for `key`, for the "unknown sink" message.
    fn searched(&self, key: &str) -> Vec<String>;

    /// Every sink this resolver can find without being told its key, with where it came from.
    fn available(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// The sinks an engine can use.
#[derive(Default)]
pub struct SinkRegistry {
    builtin: Vec<(&'static str, Arc<dyn SinkFactory>)>,
    registered: RwLock<BTreeMap<String, Arc<dyn SinkFactory>>>,
    resolvers: RwLock<Vec<Arc<dyn SinkResolver>>>,
}

impl SinkRegistry {
    pub fn new(builtin: Vec<(&'static str, Arc<dyn SinkFactory>)>) -> SinkRegistry {
        SinkRegistry {
            builtin,
            ..SinkRegistry::default()
        }
    }

    pub fn builtin_names(&self) -> Vec<&'static str> {
        self.builtin.iter().map(|(name, _)| *name).collect()
    }

    /// Registers (or replaces) a sink under `key`. Built-in names cannot be taken.
    pub fn register(&self, key: &str, factory: Arc<dyn SinkFactory>) -> Result<(), String> {
        if key.trim().is_empty() {
            return Err("a sink name must not be empty".into());
        }
        if self.builtin.iter().any(|(name, _)| *name == key) {
            return Err(format!(
                "{key:?} is the name of a built-in sink; register under another name"
            ));
        }
        self.registered
            .write()
            .map_err(|_| "the sink registry is poisoned".to_string())?
            .insert(key.to_string(), factory);
        Ok(())
    }

    pub fn add_resolver(&self, resolver: Arc<dyn SinkResolver>) {
        if let Ok(mut resolvers) = self.resolvers.write() {
            resolvers.push(resolver);
        }
    }

    /// Resolves an action key; the error names the key and every place searched.
    pub fn resolve(&self, key: &str) -> Result<Arc<dyn SinkFactory>, String> {
        if let Some((_, factory)) = self.builtin.iter().find(|(name, _)| *name == key) {
            return Ok(factory.clone());
        }
        if let Some(factory) = self
            .registered
            .read()
            .ok()
            .and_then(|r| r.get(key).cloned())
        {
            return Ok(factory);
        }
        let resolvers = self.resolvers.read().map(|r| r.clone()).unwrap_or_default();
        for resolver in &resolvers {
            if let Some(factory) = resolver.resolve(key)? {
                return Ok(factory);
            }
        }
        let mut searched = vec![
            format!("the built-in sinks ({})", self.builtin_names().join(", ")),
            "the sinks registered with register_sink".to_string(),
        ];
        for resolver in &resolvers {
            searched.extend(resolver.searched(key));
        }
        Err(format!(
            "unknown sink {key:?}; searched {}",
            searched.join("; ")
        ))
    }

    /// Every sink known without a key: built-in, registered, and what resolvers can list.
    pub fn available(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .builtin
            .iter()
            .map(|(name, f)| (name.to_string(), f.describe()))
            .collect();
        if let Ok(registered) = self.registered.read() {
            out.extend(registered.iter().map(|(k, f)| (k.clone(), f.describe())));
        }
        if let Ok(resolvers) = self.resolvers.read() {
            for r in resolvers.iter() {
                out.extend(r.available());
            }
        }
        out
    }
}
