//! The properties every sink accepts, with eKuiper's names and defaults, read once when a rule
//! is created. What is not a common property belongs to the sink itself.

use std::time::Duration;

use serde_json::{Map as JsonMap, Value as Json};

use crate::duration::parse_duration;
use crate::rule::json_type_name;

/// What happens to a result that arrives while the sink's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferFullPolicy {
    /// Wait for room: backpressure reaches the source. The default.
    Block,
    /// Make room by dropping the oldest queued result, counted.
    DropOldest,
    /// Drop the arriving result, counted.
    DropNewest,
}

/// How a Rust sink that writes bytes encodes a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Json,
    /// Values joined by `delimiter`, one line per row, with an optional header line.
    Delimited {
        delimiter: String,
        has_header: bool,
    },
}

/// The common sink properties.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkConf {
    pub concurrency: usize,
    pub buffer_length: usize,
    pub buffer_full_policy: BufferFullPolicy,
    pub omit_if_empty: bool,
    pub send_single: bool,
    pub data_template: Option<String>,
    pub format: Format,
    pub fields: Option<Vec<String>>,
    pub exclude_fields: Option<Vec<String>>,
    pub data_field: Option<String>,
    pub batch_size: usize,
    pub linger_interval: Duration,
    pub enable_cache: bool,
    pub memory_cache_threshold: usize,
    pub max_disk_cache: usize,
    pub resend_interval: Duration,
    pub clean_cache_at_stop: bool,
    pub resend_priority: i8,
    pub resend_indicator_field: Option<String>,
    /// Give up after this many failed retries of a transient failure (legacy `retryCount`);
    /// `None` retries until the target recovers or the rule stops.
    pub retry_limit: Option<u32>,
    /// A memory topic that receives what was given up on, with the error.
    pub dead_letter: Option<String>,
}

impl Default for SinkConf {
    fn default() -> SinkConf {
        SinkConf {
            concurrency: 1,
            buffer_length: 1024,
            buffer_full_policy: BufferFullPolicy::Block,
            omit_if_empty: false,
            send_single: false,
            data_template: None,
            format: Format::Json,
            fields: None,
            exclude_fields: None,
            data_field: None,
            batch_size: 0,
            linger_interval: Duration::ZERO,
            enable_cache: false,
            memory_cache_threshold: 1024,
            max_disk_cache: 1_024_000,
            resend_interval: Duration::from_millis(100),
            clean_cache_at_stop: false,
            resend_priority: 0,
            resend_indicator_field: None,
            retry_limit: None,
            dead_letter: None,
        }
    }
}

/// The common property names, as the "unknown property" message lists them.
pub const COMMON_PROPERTIES: &[&str] = &[
    "concurrency",
    "bufferLength",
    "bufferFullPolicy",
    "omitIfEmpty",
    "sendSingle",
    "dataTemplate",
    "format",
    "delimiter",
    "hasHeader",
    "fields",
    "excludeFields",
    "dataField",
    "batchSize",
    "lingerInterval",
    "enableCache",
    "memoryCacheThreshold",
    "maxDiskCache",
    "bufferPageSize",
    "resendInterval",
    "cleanCacheAtStop",
    "resendPriority",
    "resendIndicatorField",
    "deadLetter",
];

/// Old names eKuiper still accepts, and what they became.
const LEGACY: &[(&str, &str)] = &[
    (
        "runAsync",
        "sinks run on their own tasks already; it is ignored",
    ),
    ("retryInterval", "use resendInterval"),
    ("retryCount", "retries are unlimited unless it is set"),
    ("cacheLength", "use memoryCacheThreshold"),
    ("tableDataField", "use dataField"),
];

/// eKuiper properties this version does not implement: refused rather than silently ignored.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("resendAlterQueue", "a separate resend queue"),
    ("resendDestination", "a separate resend destination"),
    ("schemaId", "schema-based formats"),
    ("encryption", "encryption"),
];

/// Reads a sink's own properties; every error names the property.
pub struct PropReader<'a>(pub &'a JsonMap<String, Json>);

impl PropReader<'_> {
    pub fn text(&self, key: &str) -> Result<Option<String>, String> {
        self.0.get(key).map(|v| expect_string(key, v)).transpose()
    }

    /// False when absent.
    pub fn flag(&self, key: &str) -> Result<bool, String> {
        self.0.get(key).map_or(Ok(false), |v| expect_bool(key, v))
    }

    /// 0 when absent.
    pub fn count(&self, key: &str) -> Result<u64, String> {
        self.0
            .get(key)
            .map_or(Ok(0), |v| expect_count(key, v, 0).map(|n| n as u64))
    }

    pub fn duration(&self, key: &str) -> Result<Option<Duration>, String> {
        self.0
            .get(key)
            .map(|v| parse_duration(v).map_err(|e| format!("{key}: {e}")))
            .transpose()
    }
}

/// The common properties of an action, its sink's own properties, and warnings for the log.
#[derive(Debug)]
pub struct ParsedProps {
    pub conf: SinkConf,
    pub own: JsonMap<String, Json>,
    pub warnings: Vec<String>,
}

fn expect_bool(key: &str, v: &Json) -> Result<bool, String> {
    v.as_bool()
        .ok_or_else(|| format!("{key}: expected true or false, found {}", json_type_name(v)))
}

fn expect_count(key: &str, v: &Json, min: u64) -> Result<usize, String> {
    match v.as_u64() {
        Some(n) if n >= min => Ok(n as usize),
        _ if v.is_number() => Err(format!(
            "{key}: expected an integer of at least {min}, found {v}"
        )),
        _ => Err(format!(
            "{key}: expected an integer, found {}",
            json_type_name(v)
        )),
    }
}

fn expect_string(key: &str, v: &Json) -> Result<String, String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{key}: expected a string, found {}", json_type_name(v)))
}

fn expect_strings(key: &str, v: &Json) -> Result<Vec<String>, String> {
    v.as_array()
        .and_then(|items| {
            items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .ok_or_else(|| format!("{key}: expected a list of field names"))
}

/// Splits an action's properties into the common ones and the sink's own. `own_properties`
/// names what the sink accepts (`None`: anything, as for Python sinks, which receive every
/// property). Errors name the property.
pub fn parse_props(
    props: &JsonMap<String, Json>,
    own_properties: Option<&[&str]>,
) -> Result<ParsedProps, String> {
    let mut conf = SinkConf::default();
    let mut own = JsonMap::new();
    let mut warnings = Vec::new();
    let mut delimiter = ",".to_string();
    let mut has_header = false;
    let mut format = "json".to_string();
    for (key, v) in props {
        let k = key.as_str();
        if let Some((_, why)) = LEGACY.iter().find(|(name, _)| *name == k) {
            warnings.push(format!("the sink property {k} is deprecated: {why}"));
        }
        if let Some((_, what)) = UNSUPPORTED.iter().find(|(name, _)| *name == k) {
            return Err(format!("{k}: {what} is not supported by this version"));
        }
        match k {
            "concurrency" => conf.concurrency = expect_count(k, v, 1)?,
            "bufferLength" => conf.buffer_length = expect_count(k, v, 1)?,
            "bufferFullPolicy" => {
                conf.buffer_full_policy = match expect_string(k, v)?.as_str() {
                    "block" => BufferFullPolicy::Block,
                    "dropOldest" => BufferFullPolicy::DropOldest,
                    "dropNewest" => BufferFullPolicy::DropNewest,
                    other => {
                        return Err(format!(
                            "{k}: expected block, dropOldest or dropNewest, found {other:?}"
                        ));
                    }
                }
            }
            "omitIfEmpty" => conf.omit_if_empty = expect_bool(k, v)?,
            "sendSingle" => conf.send_single = expect_bool(k, v)?,
            "dataTemplate" => {
                conf.data_template = Some(expect_string(k, v)?).filter(|t| !t.is_empty())
            }
            "format" => format = expect_string(k, v)?,
            "delimiter" => delimiter = expect_string(k, v)?,
            "hasHeader" => has_header = expect_bool(k, v)?,
            "fields" => conf.fields = Some(expect_strings(k, v)?).filter(|f| !f.is_empty()),
            "excludeFields" => {
                conf.exclude_fields = Some(expect_strings(k, v)?).filter(|f| !f.is_empty())
            }
            "dataField" | "tableDataField" => {
                conf.data_field = Some(expect_string(k, v)?).filter(|f| !f.is_empty())
            }
            "batchSize" => conf.batch_size = expect_count(k, v, 0)?,
            "lingerInterval" => {
                conf.linger_interval = parse_duration(v).map_err(|e| format!("{k}: {e}"))?
            }
            "enableCache" => conf.enable_cache = expect_bool(k, v)?,
            "memoryCacheThreshold" | "cacheLength" => {
                conf.memory_cache_threshold = expect_count(k, v, 1)?
            }
            "maxDiskCache" => conf.max_disk_cache = expect_count(k, v, 1)?,
            // eKuiper's disk page size: the disk cache here is row by row, so it has no use.
            "bufferPageSize" => {
                expect_count(k, v, 1)?;
            }
            "resendInterval" | "retryInterval" => {
                conf.resend_interval = parse_duration(v).map_err(|e| format!("{k}: {e}"))?;
                if conf.resend_interval.is_zero() {
                    conf.resend_interval = Duration::from_millis(100);
                }
            }
            "cleanCacheAtStop" => conf.clean_cache_at_stop = expect_bool(k, v)?,
            "resendPriority" => {
                conf.resend_priority = match v.as_i64() {
                    Some(p @ -1..=1) => p as i8,
                    _ => return Err(format!("{k}: expected -1, 0 or 1, found {v}")),
                }
            }
            "resendIndicatorField" => {
                conf.resend_indicator_field = Some(expect_string(k, v)?).filter(|f| !f.is_empty())
            }
            "retryCount" => conf.retry_limit = Some(expect_count(k, v, 0)? as u32),
            "runAsync" => {
                expect_bool(k, v)?;
            }
            "deadLetter" => conf.dead_letter = Some(expect_string(k, v)?).filter(|t| !t.is_empty()),
            _ => match own_properties {
                Some(known) if !known.contains(&k) => {
                    return Err(unknown_property(k, known));
                }
                None if COMMON_PROPERTIES.iter().any(|c| c.eq_ignore_ascii_case(k)) => {
                    let meant = COMMON_PROPERTIES
                        .iter()
                        .find(|c| c.eq_ignore_ascii_case(k))
                        .unwrap_or(&k);
                    return Err(format!("unknown property {k:?}: did you mean {meant}?"));
                }
                _ => {
                    own.insert(key.clone(), v.clone());
                }
            },
        }
    }
    if conf.fields.is_some() && conf.exclude_fields.is_some() {
        return Err("fields and excludeFields cannot both be set".into());
    }
    conf.format = match format.as_str() {
        "json" | "" => Format::Json,
        "delimited" => {
            if delimiter.is_empty() {
                return Err("delimiter must not be empty".into());
            }
            Format::Delimited {
                delimiter,
                has_header,
            }
        }
        other => {
            return Err(format!(
                "format: expected json or delimited, found {other:?}"
            ));
        }
    };
    Ok(ParsedProps {
        conf,
        own,
        warnings,
    })
}

fn unknown_property(key: &str, known: &[&str]) -> String {
    let own = if known.is_empty() {
        "it has no properties of its own".to_string()
    } else {
        format!("its own properties are {}", known.join(", "))
    };
    format!(
        "unknown property {key:?}: {own}, and the common properties are {}",
        COMMON_PROPERTIES.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Json, own: Option<&[&str]>) -> Result<ParsedProps, String> {
        parse_props(v.as_object().unwrap(), own)
    }

    #[test]
    fn defaults_follow_ekuiper() {
        let p = parse(json!({}), Some(&[])).unwrap();
        assert_eq!(p.conf, SinkConf::default());
        assert_eq!(p.conf.buffer_length, 1024);
        assert_eq!(p.conf.resend_interval, Duration::from_millis(100));
    }

    #[test]
    fn common_properties_are_read_and_the_rest_is_the_sinks() {
        let p = parse(
            json!({"sendSingle": true, "fields": ["a"], "batchSize": 10, "lingerInterval": "50ms",
                   "format": "delimited", "delimiter": ";", "hasHeader": true, "bufferFullPolicy": "dropOldest",
                   "host": "x"}),
            None,
        )
        .unwrap();
        assert!(p.conf.send_single);
        assert_eq!(p.conf.fields, Some(vec!["a".to_string()]));
        assert_eq!(p.conf.batch_size, 10);
        assert_eq!(p.conf.linger_interval, Duration::from_millis(50));
        assert_eq!(p.conf.buffer_full_policy, BufferFullPolicy::DropOldest);
        assert_eq!(
            p.conf.format,
            Format::Delimited {
                delimiter: ";".into(),
                has_header: true
            }
        );
        assert_eq!(p.own, *json!({"host": "x"}).as_object().unwrap());
    }

    #[test]
    fn legacy_names_work_with_a_warning() {
        let p = parse(
            json!({"retryInterval": 500, "retryCount": 3, "cacheLength": 10, "runAsync": true}),
            Some(&[]),
        )
        .unwrap();
        assert_eq!(p.conf.resend_interval, Duration::from_millis(500));
        assert_eq!(p.conf.retry_limit, Some(3));
        assert_eq!(p.conf.memory_cache_threshold, 10);
        assert_eq!(p.warnings.len(), 4);
        assert!(
            p.warnings
                .iter()
                .any(|w| w.contains("runAsync is deprecated"))
        );
    }

    #[test]
    fn errors_name_the_property() {
        let err = |v: Json, own: Option<&[&str]>| parse(v, own).unwrap_err();
        assert_eq!(
            err(json!({"fields": ["a"], "excludeFields": ["b"]}), None),
            "fields and excludeFields cannot both be set"
        );
        assert!(err(json!({"colour": 1}), Some(&["path"])).starts_with("unknown property \"colour\": its own properties are path, and the common properties are concurrency"));
        assert_eq!(
            err(json!({"batchsize": 1}), None),
            "unknown property \"batchsize\": did you mean batchSize?"
        );
        assert_eq!(
            err(json!({"batchSize": "ten"}), None),
            "batchSize: expected an integer, found string"
        );
        assert_eq!(
            err(json!({"format": "protobuf"}), None),
            "format: expected json or delimited, found \"protobuf\""
        );
        assert_eq!(
            err(json!({"resendPriority": 2}), None),
            "resendPriority: expected -1, 0 or 1, found 2"
        );
        assert_eq!(
            err(json!({"resendAlterQueue": true}), None),
            "resendAlterQueue: a separate resend queue is not supported by this version"
        );
        assert!(
            err(json!({"bufferFullPolicy": "drop"}), None)
                .contains("expected block, dropOldest or dropNewest")
        );
    }
}
