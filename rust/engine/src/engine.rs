//! The engine: the catalogue of streams and rules, and their lifecycle.
//!
//! Every public method is synchronous and safe to call from any thread that is not one of the
//! engine's own (a Python thread with the GIL released, a CLI main thread); `*_async` versions
//! serve callers that already run on a tokio runtime. The catalogue lock is never held while a
//! sink is created, opened or closed, so a sink stuck in Python stalls only its own rule.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use serde_json::{Map as JsonMap, Value as Json};
use tokio::runtime::Runtime;

use crate::activity::Activity;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Result};
use crate::memory_topics::{MemoryTopics, RowBatch, Subscription};
use crate::metrics::ConnectionState;
use crate::metrics::OpMetrics;
use crate::rule::RuleDef;
use crate::rule::runtime::SourceFeed;
use crate::rule::runtime::{RuleParts, RuleRun};
use crate::sink::cache::SinkCache;
use crate::sink::runtime::ActionSpec;
use crate::sink::{
    FileSinkFactory, LogSinkFactory, MemorySinkFactory, MqttSinkFactory, NopSinkFactory,
    RestSinkFactory, SinkFactory, SinkRegistry, SinkResolver,
};
use crate::source::{FileSourceType, MemorySourceType, MqttSourceType, SharedSources, SourceType};
use crate::sql::{SelectPlan, compile_rule_select};
use crate::stream::{StreamDef, StreamStatement, parse_stream_statement};
use crate::value::{Fields, Key, Row, intern};

/// Source property sets by source type, then by conf key.
type SourceConfs = HashMap<String, HashMap<String, JsonMap<String, Json>>>;

/// A rule checked and compiled, ready to be stored.
struct PreparedRule {
    /// The rule's JSON as it was given.
    json: Arc<Json>,
    def: RuleDef,
    plan: SelectPlan,
    actions: Vec<Arc<ActionSpec>>,
}

/// How an engine is built.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub clock: Arc<dyn Clock>,
    /// How long stopping a rule waits for its sinks to take what is queued and close.
    pub stop_timeout: Duration,
    /// Threads of the engine's async runtime. The heavy work runs on threads of its own (file
    /// readers, each Python sink's worker), so the default is half the cores: on two cores, one
    /// worker thread measured faster on every benchmark than two, since tasks that hand each
    /// other batches stop waking each other across threads, and it leaves a core to the broker
    /// and the Python sinks.
    pub worker_threads: usize,
    /// Where the engine keeps data (the sink cache); `None` keeps everything in memory.
    pub data_dir: Option<PathBuf>,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            clock: Arc::new(SystemClock),
            stop_timeout: Duration::from_secs(10),
            worker_threads: std::thread::available_parallelism()
                .map_or(1, |n| (n.get() / 2).max(1)),
            data_dir: None,
        }
    }
}

/// The streaming SQL engine. Cheap to clone: clones share one engine.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: Option<Runtime>,
    clock: Arc<dyn Clock>,
    stop_timeout: Duration,
    topics: Arc<MemoryTopics>,
    cache: Option<SinkCache>,
    sinks: SinkRegistry,
    sources: Vec<Arc<dyn SourceType>>,
    source_confs: RwLock<SourceConfs>,
    shared: Arc<SharedSources>,
    activity: Arc<Activity>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    started: bool,
    streams: BTreeMap<String, Arc<StreamDef>>,
    rules: BTreeMap<String, RuleEntry>,
}

enum Phase {
    Stopped,
    Starting,
    Running(RuleRun),
    Stopping,
}

struct RuleEntry {
    json: Arc<Json>,
    def: Arc<RuleDef>,
    plan: Arc<SelectPlan>,
    actions: Vec<Arc<ActionSpec>>,
    /// The state the user asked for: running or not.
    triggered: bool,
    phase: Phase,
    message: String,
    last_start_ms: i64,
    last_stop_ms: i64,
    /// Metrics of the last run once it stopped, so status still shows what happened.
    last_metrics: Vec<Arc<OpMetrics>>,
}

impl RuleEntry {
    fn status(&self) -> (&'static str, String) {
        match &self.phase {
            Phase::Stopped => ("stopped", self.message.clone()),
            Phase::Starting => ("starting", String::new()),
            Phase::Stopping => ("stopping", String::new()),
            Phase::Running(run) => match run.failure() {
                Some(failure) => ("stopped", failure),
                None => ("running", String::new()),
            },
        }
    }
}

/// A short description of a rule, as `rules()` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSummary {
    pub id: String,
    pub name: String,
    pub status: String,
    pub tags: Vec<String>,
}

/// One rule's metrics, as `Engine::rule_metrics` reports them.
#[derive(Debug, Clone)]
pub struct RuleMetrics {
    pub id: String,
    pub running: bool,
    pub ops: Vec<Arc<OpMetrics>>,
}

const MANUAL_STOP: &str = "canceled manually";

impl Engine {
    pub fn new(config: EngineConfig) -> Result<Engine> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.worker_threads.max(1))
            .thread_name("sinkbridge-engine")
            .enable_all()
            .build()
            .map_err(|e| Error::Rule(format!("cannot start the engine's runtime: {e}")))?;
        let cache = config
            .data_dir
            .as_deref()
            .map(SinkCache::open)
            .transpose()
            .map_err(Error::Rule)?;
        let activity = Arc::new(Activity::new());
        config.clock.bind(&activity);
        let topics = MemoryTopics::new(activity.clone());
        let builtin: Vec<(&'static str, Arc<dyn SinkFactory>)> = vec![
            ("log", Arc::new(LogSinkFactory)),
            ("nop", Arc::new(NopSinkFactory)),
            ("memory", Arc::new(MemorySinkFactory::new(topics.clone()))),
            ("mqtt", Arc::new(MqttSinkFactory)),
            ("file", Arc::new(FileSinkFactory)),
            ("rest", Arc::new(RestSinkFactory)),
        ];
        let sources: Vec<Arc<dyn SourceType>> = vec![
            Arc::new(MemorySourceType::new(topics.clone())),
            Arc::new(FileSourceType),
            Arc::new(MqttSourceType),
        ];
        Ok(Engine {
            inner: Arc::new(Inner {
                runtime: Some(runtime),
                clock: config.clock,
                stop_timeout: config.stop_timeout,
                topics,
                cache,
                sinks: SinkRegistry::new(builtin),
                sources,
                source_confs: RwLock::default(),
                shared: Arc::new(SharedSources::new(activity.clone())),
                activity,
                state: Mutex::default(),
            }),
        })
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.inner.runtime {
            Some(runtime) => runtime.block_on(future),
            None => unreachable!("the runtime lives as long as the engine"),
        }
    }

    /// The engine's async runtime, for a host that serves requests beside the rules (the REST
    /// server): work spawned there runs with the engine's own tasks, so the `_async` methods
    /// can be awaited from it.
    pub fn handle(&self) -> tokio::runtime::Handle {
        match &self.inner.runtime {
            Some(runtime) => runtime.handle().clone(),
            None => unreachable!("the runtime lives as long as the engine"),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held leaves the catalogue as it was; keep going.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Where sinks are found; the host adds its resolvers here.
    pub fn sinks(&self) -> &SinkRegistry {
        &self.inner.sinks
    }

    fn source_type(&self, name: &str) -> Result<&Arc<dyn SourceType>, String> {
        self.inner
            .sources
            .iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.inner.sources.iter().map(|s| s.name()).collect();
                format!(
                    "TYPE {name:?} is not supported; the source types are {}",
                    known.join(", ")
                )
            })
    }

    // ----- streams -----

    /// Defines (or replaces) the property set `conf_key` of a source type, which streams select
    /// with `CONF_KEY` (`default` when they name none).
    pub fn set_source_conf(
        &self,
        source_type: &str,
        conf_key: &str,
        props: JsonMap<String, Json>,
    ) -> Result<()> {
        self.source_type(source_type).map_err(Error::Stream)?;
        let mut confs = self
            .inner
            .source_confs
            .write()
            .unwrap_or_else(|p| p.into_inner());
        confs
            .entry(source_type.to_string())
            .or_default()
            .insert(conf_key.to_string(), props);
        Ok(())
    }

    /// The property set `conf_key` of a source type, if it is defined.
    pub fn source_conf(
        &self,
        source_type: &str,
        conf_key: &str,
    ) -> Result<Option<JsonMap<String, Json>>> {
        self.source_type(source_type).map_err(Error::Stream)?;
        let confs = self
            .inner
            .source_confs
            .read()
            .unwrap_or_else(|p| p.into_inner());
        Ok(confs
            .get(source_type)
            .and_then(|c| c.get(conf_key))
            .cloned())
    }

    fn source_props(&self, def: &StreamDef) -> Result<JsonMap<String, Json>, String> {
        let confs = self
            .inner
            .source_confs
            .read()
            .unwrap_or_else(|p| p.into_inner());
        let of_type = confs.get(&def.options.source_type);
        let mut props = of_type
            .and_then(|c| c.get("default"))
            .cloned()
            .unwrap_or_default();
        // As in eKuiper, a named property set overrides the default one, key by key.
        if let Some(key) = &def.options.conf_key {
            let named = of_type
                .and_then(|c| c.get(key).or_else(|| c.get(&key.to_lowercase())))
                .ok_or_else(|| {
                    format!(
                        "CONF_KEY {key:?} is not defined for the {} source; define it with \
                         set_source_conf or in a sources config file",
                        def.options.source_type
                    )
                })?;
            for (k, v) in named {
                props.insert(k.clone(), v.clone());
            }
        }
        Ok(props)
    }

    /// Loads a sources config file in eKuiper's layout (`etc/sources/mqtt.yaml`): YAML (or
    /// JSON) whose top-level keys name property sets, `default` among them. The source type
    /// is the file's name (`mqtt.yaml`, or eKuiper's older `mqtt_source.yaml`). Returns the
    /// type and the keys defined.
    pub fn load_source_conf_file(&self, path: &Path) -> Result<(String, Vec<String>)> {
        let fail =
            |why: String| Error::Stream(format!("sources config file {}: {why}", path.display()));
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| fail("cannot tell the source type from the file name".into()))?;
        let source_type = stem.strip_suffix("_source").unwrap_or(stem).to_string();
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let sets: JsonMap<String, Json> = if text.trim().is_empty() {
            JsonMap::new()
        } else {
            serde_yaml_ng::from_str(&text).map_err(|e| {
                fail(format!(
                    "expected property sets by name (default: ...), {e}"
                ))
            })?
        };
        let mut keys = Vec::with_capacity(sets.len());
        for (key, props) in sets {
            let Json::Object(props) = props else {
                return Err(fail(format!(
                    "{key}: expected a mapping of properties, found {}",
                    crate::rule::json_type_name(&props)
                )));
            };
            self.set_source_conf(&source_type, &key, props)
                .map_err(|e| fail(e.to_string()))?;
            keys.push(key);
        }
        Ok((source_type, keys))
    }

    /// Runs `CREATE STREAM`.
    pub fn create_stream(&self, sql: &str) -> Result<String> {
        let def = match parse_stream_statement(sql)? {
            StreamStatement::Create(def) => def,
            _ => return Err(Error::Sql("expected a CREATE STREAM statement".into())),
        };
        let name = def.name.clone();
        let source = self
            .source_type(&def.options.source_type)
            .map_err(|e| Error::Stream(format!("stream {name}: {e}")))?;
        self.source_props(&def)
            .and_then(|props| source.validate(&def, &props))
            .map_err(|e| Error::Stream(format!("stream {name}: {e}")))?;
        let mut state = self.state();
        if state.streams.contains_key(&name) {
            return Err(Error::Stream(format!("stream {name} already exists")));
        }
        state.streams.insert(name.clone(), Arc::from(def));
        Ok(name)
    }

    /// Drops a stream no rule reads.
    pub fn drop_stream(&self, name: &str) -> Result<()> {
        let mut state = self.state();
        if !state.streams.contains_key(name) {
            return Err(Error::StreamNotFound(name.to_string()));
        }
        let users: Vec<&str> = state
            .rules
            .values()
            .filter(|r| r.plan.streams.iter().any(|s| s.eq_ignore_ascii_case(name)))
            .map(|r| r.def.id.as_str())
            .collect();
        if !users.is_empty() {
            return Err(Error::Stream(format!(
                "stream {name} is read by rules {}; delete them first",
                users.join(", ")
            )));
        }
        state.streams.remove(name);
        Ok(())
    }

    /// The names of the streams, in order.
    pub fn streams(&self) -> Vec<String> {
        self.state().streams.keys().cloned().collect()
    }

    pub fn describe_stream(&self, name: &str) -> Result<Json> {
        self.state()
            .streams
            .get(name)
            .map(|s| s.describe())
            .ok_or_else(|| Error::StreamNotFound(name.to_string()))
    }

    fn find_stream<'a>(state: &'a State, name: &str) -> Option<&'a Arc<StreamDef>> {
        state.streams.get(name).or_else(|| {
            state
                .streams
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    // ----- rules -----

    /// Checks a rule without creating it: its JSON, its SQL, its stream and its sinks.
    pub fn validate_rule(&self, rule: &Json) -> Result<RuleDef> {
        self.prepare_rule(rule).map(|prepared| prepared.def)
    }

    fn prepare_rule(&self, rule: &Json) -> Result<PreparedRule> {
        let def = RuleDef::from_json(rule)?;
        let id = &def.id;
        let plan = compile_rule_select(&def.sql, Some(id))
            .map_err(|e| Error::Sql(format!("rule {id:?}: sql: {e}")))?;
        for (i, name) in plan.streams.iter().enumerate() {
            let stream = Self::find_stream(&self.state(), name).cloned();
            let Some(stream) = stream else {
                return Err(Error::Rule(format!(
                    "rule {id:?}: sql: stream {name} does not exist; create it first"
                )));
            };
            // Tables are joined to a stream: read as they stand when a row (or a window) is
            // joined.
            let refuse = |why: String| Err(Error::Sql(format!("rule {id:?}: sql: {why}")));
            match (i, stream.table, plan.window.is_some()) {
                (0, true, _) => {
                    return refuse(format!(
                        "FROM names the table {name}: a rule reads a stream, and joins tables to it"
                    ));
                }
                (i, false, false) if i > 0 => {
                    return refuse(format!(
                        "a JOIN of streams needs a window in GROUP BY, such as \
                         TUMBLINGWINDOW(ss, 10): it joins the rows of each window ({name} is a \
                         stream; a table joins without one)"
                    ));
                }
                _ => {}
            }
            // A table's rows do not move time, so a table needs no TIMESTAMP.
            if def.options.is_event_time && !stream.table && stream.options.timestamp.is_none() {
                return Err(Error::Rule(format!(
                    "rule {id:?}: options.isEventTime: the stream {} names no TIMESTAMP field to \
                     take each row's event time from",
                    stream.name
                )));
            }
        }
        let mut actions = Vec::with_capacity(def.actions.len());
        for (i, action) in def.actions.iter().enumerate() {
            let factory = self
                .inner
                .sinks
                .resolve(&action.sink)
                .map_err(|e| Error::sink(format!("rule {id:?}: actions[{i}]: {e}")))?;
            let in_action = |e: String| {
                Error::Rule(format!("rule {id:?}: actions[{i}] ({}): {e}", action.sink))
            };
            let spec =
                ActionSpec::new(i, &action.sink, factory, &action.props).map_err(in_action)?;
            if spec.conf.enable_cache && self.inner.cache.is_none() {
                return Err(in_action(
                    "enableCache needs a data directory, where the cache survives restarts and crashes; \
                     create the engine with a data_dir"
                        .into(),
                ));
            }
            actions.push(Arc::new(spec));
        }
        Ok(PreparedRule {
            json: Arc::new(rule.clone()),
            def,
            plan,
            actions,
        })
    }

    /// Opens the source a rule reads a stream with: its own, or the stream's shared one.
    /// `columns` are the only columns the rule reads, when it names them.
    fn open_stream(
        &self,
        state: &State,
        name: &str,
        columns: Option<&[Key]>,
    ) -> std::result::Result<(Arc<StreamDef>, SourceFeed), String> {
        let stream = Self::find_stream(state, name)
            .cloned()
            .ok_or_else(|| format!("stream {name} does not exist"))?;
        let source_type = self.source_type(&stream.options.source_type)?;
        let props = self.source_props(&stream)?;
        // A source of this rule alone decodes what the rule reads and the row's timestamp.
        // A stream with a schema keeps its declared fields, which its schema checks; a table
        // keeps whole rows (a lookup table finds them by its KEY).
        let fields = columns
            .filter(|_| !stream.options.shared && stream.fields.is_none() && !stream.table)
            .map(|columns| {
                let timestamp = stream.options.timestamp.as_deref().map(intern);
                Fields::new(columns.iter().cloned().chain(timestamp))
            });
        let open = || {
            source_type
                .open(&stream, &props, fields.clone())
                .map_err(|e| format!("stream {}: {e}", stream.name))
        };
        let connection = || match source_type.connects() {
            true => ConnectionState::connecting(),
            false => ConnectionState::new(),
        };
        let feed = if stream.options.shared {
            let (source, connection) =
                self.inner
                    .shared
                    .subscribe(&stream, self.inner.clock.clone(), connection, open)?;
            SourceFeed {
                source,
                connection,
                apply_schema: false,
            }
        } else {
            SourceFeed {
                source: open()?,
                connection: connection(),
                apply_schema: true,
            }
        };
        Ok((stream, feed))
    }

    /// Creates a rule. On a started engine it starts too, unless `triggered` is false; if that
    /// start fails the rule stays defined (stopped, with the reason in its status) and the
    /// error is returned.
    pub fn create_rule(&self, rule: &Json) -> Result<String> {
        self.block_on(self.create_rule_async(rule))
    }

    pub async fn create_rule_async(&self, rule: &Json) -> Result<String> {
        let PreparedRule {
            json,
            def,
            plan,
            actions,
        } = self.prepare_rule(rule)?;
        let id = def.id.clone();
        let start_now = {
            let mut state = self.state();
            if state.rules.contains_key(&id) {
                return Err(Error::Rule(format!("rule {id:?} already exists")));
            }
            let start_now = state.started && def.triggered;
            state.rules.insert(
                id.clone(),
                RuleEntry {
                    json,
                    triggered: def.triggered,
                    def: Arc::new(def),
                    plan: Arc::new(plan),
                    actions,
                    phase: Phase::Stopped,
                    message: String::new(),
                    last_start_ms: 0,
                    last_stop_ms: 0,
                    last_metrics: Vec::new(),
                },
            );
            start_now
        };
        if start_now {
            self.start_rule_async(&id).await?;
        }
        Ok(id)
    }

    /// Replaces a rule's definition (eKuiper's `PUT /rules/{id}`): the old run stops the way a
    /// stop does, so what was queued for its sinks reaches them (and what they cached stays
    /// cached for the new run), then the new definition starts if its `triggered` says so.
    pub async fn replace_rule_async(&self, rule: &Json) -> Result<()> {
        let PreparedRule {
            json,
            def,
            plan,
            actions,
        } = self.prepare_rule(rule)?;
        let id = def.id.clone();
        if !self.state().rules.contains_key(&id) {
            return Err(Error::RuleNotFound(id));
        }
        self.halt(&id, "the rule was replaced").await;
        let start_now = {
            let mut state = self.state();
            let started = state.started;
            let entry = state
                .rules
                .get_mut(&id)
                .ok_or_else(|| Error::RuleNotFound(id.clone()))?;
            entry.json = json;
            entry.triggered = def.triggered;
            entry.def = Arc::new(def);
            entry.plan = Arc::new(plan);
            entry.actions = actions;
            started && entry.triggered
        };
        if start_now {
            self.start_rule_async(&id).await?;
        }
        Ok(())
    }

    /// The rule's JSON as it was created or last replaced.
    pub fn rule_json(&self, id: &str) -> Result<Json> {
        self.state()
            .rules
            .get(id)
            .map(|r| Json::clone(&r.json))
            .ok_or_else(|| Error::RuleNotFound(id.to_string()))
    }

    /// Whether the user asked for the rule to run (its desired state).
    pub fn rule_triggered(&self, id: &str) -> Result<bool> {
        self.state()
            .rules
            .get(id)
            .map(|r| r.triggered)
            .ok_or_else(|| Error::RuleNotFound(id.to_string()))
    }

    /// The rule's operators as eKuiper's `GET /rules/{id}/topo` shows them: the sources, and
    /// which operator feeds which.
    pub fn rule_topo(&self, id: &str) -> Result<Json> {
        let state = self.state();
        let entry = state
            .rules
            .get(id)
            .ok_or_else(|| Error::RuleNotFound(id.to_string()))?;
        Ok(crate::rule::topo(&entry.plan, &entry.actions))
    }

    /// The metrics of every rule's current (or, once stopped, last) run, with its status, for
    /// exporters such as Prometheus.
    pub fn rule_metrics(&self) -> Vec<RuleMetrics> {
        let state = self.state();
        state
            .rules
            .values()
            .map(|r| RuleMetrics {
                id: r.def.id.clone(),
                running: r.status().0 == "running",
                ops: match &r.phase {
                    Phase::Running(run) => run.metrics().to_vec(),
                    _ => r.last_metrics.clone(),
                },
            })
            .collect()
    }

    pub fn start_rule(&self, id: &str) -> Result<()> {
        self.block_on(self.start_rule_async(id))
    }

    /// Starts a rule (a no-op if it runs). Its sinks are created, configured and opened first;
    /// a failure there fails the start with the sink's message.
    pub async fn start_rule_async(&self, id: &str) -> Result<()> {
        let (parts, stale_run) = {
            let mut state = self.state();
            let entry = state
                .rules
                .get_mut(id)
                .ok_or_else(|| Error::RuleNotFound(id.to_string()))?;
            entry.triggered = true;
            let mut stale_run = None;
            match std::mem::replace(&mut entry.phase, Phase::Starting) {
                Phase::Running(run) if run.failure().is_some() => stale_run = Some(run),
                Phase::Stopped => {}
                other => {
                    entry.phase = other;
                    return Ok(());
                }
            }
            let (def, plan, actions) =
                (entry.def.clone(), entry.plan.clone(), entry.actions.clone());
            let opened = plan
                .streams
                .iter()
                .map(|name| self.open_stream(&state, name, plan.columns_read.as_deref()))
                .collect::<std::result::Result<Vec<_>, String>>();
            match opened {
                Ok(streams) => (
                    RuleParts {
                        rule: def,
                        plan,
                        streams,
                        actions,
                        clock: self.inner.clock.clone(),
                        topics: self.inner.topics.clone(),
                        cache: self.inner.cache.clone(),
                        activity: self.inner.activity.clone(),
                    },
                    stale_run,
                ),
                Err(e) => {
                    let entry = state
                        .rules
                        .get_mut(id)
                        .ok_or_else(|| Error::RuleNotFound(id.to_string()))?;
                    entry.phase = Phase::Stopped;
                    entry.message = e.clone();
                    return Err(Error::Rule(format!("rule {id:?} failed to start: {e}")));
                }
            }
        };
        if let Some(run) = stale_run {
            self.retire(id, run).await;
        }
        let result = RuleRun::start(parts).await;
        let now = self.inner.clock.now_ms();
        let leftover = {
            let mut state = self.state();
            match state.rules.get_mut(id) {
                None => result.ok(),
                Some(entry) => match result {
                    Ok(run) if entry.triggered => {
                        entry.phase = Phase::Running(run);
                        entry.message.clear();
                        entry.last_start_ms = now;
                        None
                    }
                    // Stopped while it was starting: honour the stop.
                    Ok(run) => {
                        entry.phase = Phase::Stopped;
                        entry.message = MANUAL_STOP.into();
                        Some(run)
                    }
                    Err(e) => {
                        entry.phase = Phase::Stopped;
                        entry.message = e.message.clone();
                        return Err(Error::Sink {
                            message: format!("rule {id:?} failed to start: {}", e.message),
                            cause: e.cause,
                        });
                    }
                },
            }
        };
        if let Some(run) = leftover {
            self.retire(id, run).await;
        }
        Ok(())
    }

    /// Stops a run and keeps its final metrics for the rule's status.
    async fn retire(&self, id: &str, run: RuleRun) {
        let (finished, metrics) = run.stop(self.inner.stop_timeout).await;
        if !finished {
            tracing::warn!(
                target: "sinkbridge.rule",
                "rule {id}: a sink did not finish within {:?} of the stop and was abandoned",
                self.inner.stop_timeout
            );
        }
        let mut state = self.state();
        if let Some(entry) = state.rules.get_mut(id) {
            entry.last_metrics = metrics;
            entry.last_stop_ms = self.inner.clock.now_ms();
        }
    }

    pub fn stop_rule(&self, id: &str) -> Result<()> {
        self.block_on(self.stop_rule_async(id))
    }

    /// Stops a rule: its source stops, queued results reach the sinks, the sinks close.
    pub async fn stop_rule_async(&self, id: &str) -> Result<()> {
        {
            let mut state = self.state();
            let entry = state
                .rules
                .get_mut(id)
                .ok_or_else(|| Error::RuleNotFound(id.to_string()))?;
            entry.triggered = false;
        }
        self.halt(id, MANUAL_STOP).await;
        Ok(())
    }

    /// Stops a rule's run, if it has one, leaving `triggered` as it is.
    async fn halt(&self, id: &str, message: &str) {
        let run = {
            let mut state = self.state();
            let Some(entry) = state.rules.get_mut(id) else {
                return;
            };
            match std::mem::replace(&mut entry.phase, Phase::Stopping) {
                Phase::Running(run) => {
                    entry.message = run.failure().unwrap_or_else(|| message.to_string());
                    Some(run)
                }
                other => {
                    entry.phase = other;
                    None
                }
            }
        };
        if let Some(run) = run {
            self.retire(id, run).await;
            if let Some(entry) = self.state().rules.get_mut(id) {
                entry.phase = Phase::Stopped;
            }
        }
    }

    pub fn delete_rule(&self, id: &str) -> Result<()> {
        self.block_on(self.delete_rule_async(id))
    }

    /// Stops and removes a rule, and forgets what its sinks cached.
    pub async fn delete_rule_async(&self, id: &str) -> Result<()> {
        self.stop_rule_async(id).await?;
        self.state().rules.remove(id);
        if let Some(cache) = &self.inner.cache {
            cache.clear_rule(id).map_err(Error::Rule)?;
        }
        Ok(())
    }

    /// Every rule, in id order.
    pub fn rules(&self) -> Vec<RuleSummary> {
        self.state()
            .rules
            .values()
            .map(|r| RuleSummary {
                id: r.def.id.clone(),
                name: r.def.name.clone(),
                status: r.status().0.to_string(),
                tags: r.def.tags.clone(),
            })
            .collect()
    }

    /// A rule's status with eKuiper's keys: `status`, `message` when stopped, the start and
    /// stop times, then `{source|op|sink}_{opId}_{instance}_{metric}` for every operator.
    pub fn rule_status(&self, id: &str) -> Result<JsonMap<String, Json>> {
        let state = self.state();
        let entry = state
            .rules
            .get(id)
            .ok_or_else(|| Error::RuleNotFound(id.to_string()))?;
        let (status, message) = entry.status();
        let mut out = JsonMap::new();
        out.insert("status".into(), status.into());
        if status != "running" {
            out.insert("message".into(), message.into());
        }
        out.insert(
            "lastStartTimestamp".into(),
            entry.last_start_ms.to_string().into(),
        );
        out.insert(
            "lastStopTimestamp".into(),
            entry.last_stop_ms.to_string().into(),
        );
        let now = self.inner.clock.now_ms();
        match &entry.phase {
            Phase::Running(run) => run.write_metrics(&mut out, now),
            _ => {
                for m in &entry.last_metrics {
                    m.write_status(&mut out, now);
                }
            }
        }
        Ok(out)
    }

    // ----- the engine as a whole -----

    pub fn start(&self) -> Result<()> {
        self.block_on(self.start_async())
    }

    /// Starts every rule whose desired state is running. A rule that fails to start does not
    /// keep the others from starting; the error lists every failure.
    pub async fn start_async(&self) -> Result<()> {
        let ids: Vec<String> = {
            let mut state = self.state();
            state.started = true;
            state
                .rules
                .values()
                .filter(|r| r.triggered && matches!(r.phase, Phase::Stopped))
                .map(|r| r.def.id.clone())
                .collect()
        };
        let mut failures = Vec::new();
        for id in ids {
            if let Err(e) = self.start_rule_async(&id).await {
                failures.push(e);
            }
        }
        match failures.len() {
            0 => Ok(()),
            1 => Err(failures.remove(0)),
            _ => Err(Error::Rule(
                failures
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            )),
        }
    }

    pub fn stop(&self) {
        self.block_on(self.stop_async());
    }

    /// Stops every running rule (each drains into its sinks and closes them). Rules keep their
    /// desired state, so `start` brings back the ones that ran.
    pub async fn stop_async(&self) {
        let ids: Vec<String> = {
            let mut state = self.state();
            state.started = false;
            state.rules.keys().cloned().collect()
        };
        for id in ids {
            self.halt(&id, "the engine stopped").await;
        }
    }

    // ----- data -----

    /// Publishes rows to an in-process topic, waiting while a subscribed rule is full.
    /// Returns how many subscriptions received them.
    pub fn publish(&self, topic: &str, rows: Vec<Row>) -> Result<usize> {
        self.block_on(self.inner.topics.publish(topic, rows))
            .map_err(Error::Stream)
    }

    /// Subscribes to an in-process topic filter (`+` and `#` wildcards), as a memory stream
    /// would: what `memory` sinks and `publish` send there arrives on the receiver until the
    /// subscription is dropped. Call `subscription.activity().end(1)` for each batch taken,
    /// or `wait_idle` waits for it.
    pub fn subscribe(
        &self,
        filter: &str,
        capacity: usize,
    ) -> Result<(Subscription, tokio::sync::mpsc::Receiver<RowBatch>)> {
        self.inner
            .topics
            .subscribe(filter, capacity)
            .map_err(Error::Stream)
    }

    /// Waits until everything published so far has passed through the rules and the sinks'
    /// calls for it have returned (results a sink keeps retrying, or has cached, are not
    /// through), for at most `timeout`; whether it got there. Call it from outside the engine.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        self.inner.activity.wait_idle(timeout)
    }

    /// Registers a sink under a name, for rules to use as an action key.
    pub fn register_sink(&self, key: &str, factory: Arc<dyn SinkFactory>) -> Result<()> {
        self.inner.sinks.register(key, factory).map_err(Error::sink)
    }

    pub fn add_sink_resolver(&self, resolver: Arc<dyn SinkResolver>) {
        self.inner.sinks.add_resolver(resolver);
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("Engine")
            .field("started", &state.started)
            .field("streams", &state.streams.len())
            .field("rules", &state.rules.len())
            .finish()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Rules hold no reference back to the engine, so the last handle going away stops the
        // runtime; their tasks are dropped with it. A graceful stop is `Engine::stop`.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
