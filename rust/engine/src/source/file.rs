//! The `file` source: replays a file of JSON lines, a JSON array, or CSV with a header.
//!
//! `DATASOURCE` is the file's path (joined to the `path` property when one is set). The type
//! comes from the `fileType` property (`lines`, `json`, `csv`) or else from the extension
//! (`.jsonl`/`.ndjson`, `.json`, `.csv`). `interval` (or eKuiper's `sendInterval`) paces the
//! rows for replay. At the end of the file the rule keeps running, idle, until stopped.
//!
//! A blocking thread reads and decodes (the standard library's buffered reads beat async file
//! I/O here); the async side paces, applies the schema and sends, and stops the reader by
//! dropping the channel.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map as JsonMap, Value as Json};
use tokio::sync::mpsc;

use super::{Source, SourceOutput, SourceType};
use crate::clock::Clock;
use crate::duration::parse_duration;
use crate::metrics::OpMetrics;
use crate::stream::StreamDef;
use crate::value::{JsonDecoder, Key, KeyCache, Map, Row, Value, decode_json_rows};

/// Rows per batch read from the file.
const BATCH_ROWS: usize = 256;
const READ_BUFFER: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileType {
    Lines,
    Json,
    Csv,
}

#[derive(Debug, Clone)]
struct FileConfig {
    path: PathBuf,
    file_type: FileType,
    interval: Duration,
    has_header: bool,
    columns: Option<Vec<String>>,
    delimiter: u8,
}

#[derive(Debug, Default)]
pub struct FileSourceType;

const PROPERTIES: &str = "fileType, path, interval, sendInterval, hasHeader, columns, delimiter";

fn config(def: &StreamDef, props: &JsonMap<String, Json>) -> Result<FileConfig, String> {
    let mut file_type = None;
    let mut dir = None;
    let mut interval = Duration::ZERO;
    let mut has_header = true;
    let mut columns = None;
    let mut delimiter = def.options.delimiter.clone();
    for (key, value) in props {
        let text = || {
            value
                .as_str()
                .ok_or_else(|| format!("property {key} must be a string"))
        };
        match key.as_str() {
            "fileType" => {
                file_type = Some(match text()?.to_ascii_lowercase().as_str() {
                    "lines" => FileType::Lines,
                    "json" => FileType::Json,
                    "csv" => FileType::Csv,
                    other => {
                        return Err(format!(
                            "fileType {other:?} is not supported; use lines, json or csv"
                        ));
                    }
                })
            }
            "path" => dir = Some(PathBuf::from(text()?)),
            "interval" | "sendInterval" => {
                interval = parse_duration(value).map_err(|e| format!("property {key}: {e}"))?
            }
            "hasHeader" => {
                has_header = value
                    .as_bool()
                    .ok_or("property hasHeader must be true or false")?
            }
            "columns" => {
                let list = value
                    .as_array()
                    .and_then(|items| {
                        items
                            .iter()
                            .map(|c| c.as_str().map(str::to_string))
                            .collect::<Option<Vec<_>>>()
                    })
                    .ok_or("property columns must be a list of strings")?;
                columns = Some(list);
            }
            "delimiter" => delimiter = Some(text()?.to_string()),
            other => {
                return Err(format!(
                    "the file source has no property {other:?}; its properties are {PROPERTIES}"
                ));
            }
        }
    }
    let datasource = PathBuf::from(&def.options.datasource);
    let path = match dir {
        Some(dir) if datasource.is_relative() => dir.join(datasource),
        _ => datasource,
    };
    let file_type = match file_type {
        Some(t) => t,
        None => match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jsonl" | "ndjson") => FileType::Lines,
            Some("json") => FileType::Json,
            Some("csv") => FileType::Csv,
            _ => {
                return Err(format!(
                    "cannot tell the type of {}: set the fileType property to lines, json or csv, \
                     or name the file .jsonl, .ndjson, .json or .csv",
                    path.display()
                ));
            }
        },
    };
    let delimiter = match delimiter.as_deref() {
        None => b',',
        Some(d) if d.len() == 1 => d.as_bytes()[0],
        Some(d) => {
            return Err(format!(
                "the delimiter must be one ASCII character, found {d:?}"
            ));
        }
    };
    Ok(FileConfig {
        path,
        file_type,
        interval,
        has_header,
        columns,
        delimiter,
    })
}

impl SourceType for FileSourceType {
    fn name(&self) -> &'static str {
        "file"
    }

    fn validate(&self, def: &StreamDef, props: &JsonMap<String, Json>) -> Result<(), String> {
        config(def, props).map(|_| ())
    }

    fn open(
        &self,
        def: &StreamDef,
        props: &JsonMap<String, Json>,
    ) -> Result<Box<dyn Source>, String> {
        let config = config(def, props)?;
        let file = File::open(&config.path)
            .map_err(|e| format!("cannot open {}: {e}", config.path.display()))?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(format!(
                "{} is a directory; DATASOURCE must name a file",
                config.path.display()
            ));
        }
        Ok(Box::new(FileSource { config, file }))
    }
}

struct FileSource {
    config: FileConfig,
    file: File,
}

/// Counts on the source's metrics from the reader thread.
struct Counter {
    metrics: Arc<OpMetrics>,
    clock: Arc<dyn Clock>,
}

impl Counter {
    fn received(&self, n: usize) {
        self.metrics.add_in(n, self.clock.now_ms());
    }

    fn error(&self, message: &str) {
        self.metrics.add_exception(message, self.clock.now_ms());
    }
}

#[async_trait]
impl Source for FileSource {
    async fn run(self: Box<Self>, out: SourceOutput) -> Result<(), String> {
        let FileSource { config, file } = *self;
        let (tx, mut rx) = mpsc::channel::<Result<Vec<Row>, String>>(2);
        let counter = Counter {
            metrics: out.metrics.clone(),
            clock: out.clock.clone(),
        };
        let reader_config = config.clone();
        let reader = std::thread::Builder::new()
            .name("sinkbridge-file".into())
            .spawn(move || {
                if let Err(e) = read_file(&reader_config, file, &counter, &tx) {
                    // The async side ends the rule with this message.
                    let _ = tx.blocking_send(Err(e));
                }
            })
            .map_err(|e| format!("cannot start the file reader: {e}"))?;
        let result = async {
            while let Some(chunk) = tokio::select! {
                biased;
                _ = out.stopped() => None,
                chunk = rx.recv() => chunk,
            } {
                let rows = chunk?;
                if config.interval.is_zero() {
                    if !out.emit(Arc::new(rows)).await {
                        return Ok(());
                    }
                    continue;
                }
                for row in rows {
                    if !out.emit(Arc::new(vec![row])).await {
                        return Ok(());
                    }
                    tokio::select! {
                        _ = out.stopped() => return Ok(()),
                        _ = tokio::time::sleep(config.interval) => {}
                    }
                }
            }
            // The whole file was read: stay up, idle, until the rule stops.
            out.stopped().await;
            Ok(())
        }
        .await;
        drop(rx);
        // The reader exits at its next send now that the channel is closed.
        let _ = tokio::task::spawn_blocking(move || reader.join()).await;
        result
    }
}

type ChunkSender = mpsc::Sender<Result<Vec<Row>, String>>;

/// Sends a full batch; `false` when the rule stopped listening.
fn flush(batch: &mut Vec<Row>, tx: &ChunkSender) -> bool {
    if batch.is_empty() {
        return true;
    }
    tx.blocking_send(Ok(std::mem::replace(batch, Vec::with_capacity(BATCH_ROWS))))
        .is_ok()
}

fn read_file(
    config: &FileConfig,
    file: File,
    counter: &Counter,
    tx: &ChunkSender,
) -> Result<(), String> {
    let reader = BufReader::with_capacity(READ_BUFFER, file);
    let name = config.path.display().to_string();
    match config.file_type {
        FileType::Lines => read_lines(reader, &name, counter, tx),
        FileType::Json => read_json_array(reader, &name, counter, tx),
        FileType::Csv => read_csv(config, reader, &name, counter, tx),
    }
}

fn read_lines(
    mut reader: impl BufRead,
    name: &str,
    counter: &Counter,
    tx: &ChunkSender,
) -> Result<(), String> {
    let mut decoder = JsonDecoder::new();
    let mut line = Vec::with_capacity(256);
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let mut number = 0usize;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("cannot read {name}: {e}"))?;
        if n == 0 {
            break;
        }
        number += 1;
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        counter.received(1);
        if let Err(e) = decode_json_rows(&mut decoder, text, |row| batch.push(row)) {
            counter.error(&format!("{name} line {number}: {e}"));
        }
        if batch.len() >= BATCH_ROWS && !flush(&mut batch, tx) {
            return Ok(());
        }
    }
    flush(&mut batch, tx);
    Ok(())
}

fn read_json_array(
    mut reader: impl Read,
    name: &str,
    counter: &Counter,
    tx: &ChunkSender,
) -> Result<(), String> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    let mut rows = Vec::new();
    counter.received(1);
    if let Err(e) = decode_json_rows(&mut JsonDecoder::new(), &bytes, |row| rows.push(row)) {
        counter.error(&format!("{name}: {e}"));
        return Ok(());
    }
    for chunk in rows.chunks(BATCH_ROWS) {
        if tx.blocking_send(Ok(chunk.to_vec())).is_err() {
            break;
        }
    }
    Ok(())
}

/// CSV values are strings, as in eKuiper; declare a schema on the stream to type them.
fn read_csv(
    config: &FileConfig,
    reader: impl Read,
    name: &str,
    counter: &Counter,
    tx: &ChunkSender,
) -> Result<(), String> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(config.has_header)
        .delimiter(config.delimiter)
        .flexible(true)
        .trim(csv::Trim::Headers)
        .from_reader(reader);
    let mut keys = KeyCache::new();
    let header: Vec<Key> = match (&config.columns, config.has_header) {
        (Some(columns), _) => columns.iter().map(|c| keys.intern(c)).collect(),
        (None, true) => csv
            .headers()
            .map_err(|e| format!("cannot read the header of {name}: {e}"))?
            .iter()
            .map(|h| keys.intern(h))
            .collect(),
        (None, false) => Vec::new(),
    };
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let mut record = csv::StringRecord::new();
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                counter.received(1);
                let mut row = Map::with_capacity(record.len());
                for (i, field) in record.iter().enumerate() {
                    let key = match header.get(i) {
                        Some(k) => k.clone(),
                        None => keys.intern(&format!("cols{i}")),
                    };
                    row.insert(key, Value::string(field));
                }
                batch.push(row);
                if batch.len() >= BATCH_ROWS && !flush(&mut batch, tx) {
                    return Ok(());
                }
            }
            Err(e) => {
                counter.received(1);
                counter.error(&format!("{name}: {e}"));
            }
        }
    }
    flush(&mut batch, tx);
    Ok(())
}
