//! The `file` source: replays a file of JSON lines, a JSON array, or CSV with a header.
//!
//! `DATASOURCE` is the file's path (joined to the `path` property when one is set). The type
//! comes from the `fileType` property (`lines`, `json`, `csv`) or else from the extension
//! (`.jsonl`/`.ndjson`, `.json`, `.csv`). `interval` (or eKuiper's `sendInterval`) paces the
//! rows for replay. At the end of the file the rule keeps running, idle, until stopped.
//!
//! A blocking thread reads, decodes and sends the rows straight on (the standard library's
//! buffered reads beat async file I/O here, and one task fewer in the pipeline means fewer
//! wake-ups); it stops at its next send once the rule stops.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map as JsonMap, Value as Json};
use tokio::runtime::Handle;

use super::{Source, SourceOutput, SourceType};
use crate::duration::parse_duration;
use crate::stream::StreamDef;
use crate::value::{Fields, JsonDecoder, Key, KeyCache, Map, Tuple, Value, decode_json_rows};

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
        fields: Option<Fields>,
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
        Ok(Box::new(FileSource {
            config,
            file,
            fields,
        }))
    }
}

struct FileSource {
    config: FileConfig,
    file: File,
    fields: Option<Fields>,
}

/// The reader thread's end of the source: it sends rows straight into the rule (no hop through
/// another task), paced by `interval`, and counts on the source's metrics.
struct Emitter {
    out: SourceOutput,
    runtime: Handle,
    interval: Duration,
}

impl Emitter {
    /// Sends rows on; `false` once the rule stops.
    fn emit(&self, rows: Vec<Tuple>) -> bool {
        if rows.is_empty() {
            return !self.out.is_stopped();
        }
        if self.interval.is_zero() {
            return self.runtime.block_on(self.out.emit(Arc::new(rows)));
        }
        for row in rows {
            if !self.runtime.block_on(self.out.emit(Arc::new(vec![row]))) {
                return false;
            }
            let stopped = self.runtime.block_on(async {
                tokio::select! {
                    _ = self.out.stopped() => true,
                    _ = tokio::time::sleep(self.interval) => false,
                }
            });
            if stopped {
                return false;
            }
        }
        true
    }

    /// Sends a full batch on, leaving an empty one in its place.
    fn flush(&self, batch: &mut Vec<Tuple>) -> bool {
        self.emit(std::mem::replace(batch, Vec::with_capacity(BATCH_ROWS)))
    }

    fn received(&self, n: usize) {
        self.out.received(n);
    }

    fn error(&self, message: &str) {
        self.out.error(message);
    }
}

#[async_trait]
impl Source for FileSource {
    async fn run(self: Box<Self>, out: SourceOutput) -> Result<(), String> {
        let FileSource {
            config,
            file,
            fields,
        } = *self;
        let emitter = Emitter {
            out,
            runtime: Handle::current(),
            interval: config.interval,
        };
        let read = tokio::task::spawn_blocking(move || {
            let decoder = JsonDecoder::keeping(fields);
            read_file(&config, file, decoder, &emitter).map(|()| emitter.out)
        })
        .await
        .map_err(|e| format!("the file reader failed: {e}"))?;
        // The whole file was read: stay up, idle, until the rule stops.
        read?.stopped().await;
        Ok(())
    }
}

fn read_file(
    config: &FileConfig,
    file: File,
    decoder: JsonDecoder,
    out: &Emitter,
) -> Result<(), String> {
    let reader = BufReader::with_capacity(READ_BUFFER, file);
    let name = config.path.display().to_string();
    match config.file_type {
        FileType::Lines => read_lines(reader, decoder, &name, out),
        FileType::Json => read_json_array(reader, decoder, &name, out),
        FileType::Csv => read_csv(config, reader, &name, out),
    }
}

/// Lines are decoded where they lie in the read buffer; only a line cut by the buffer's end is
/// copied, to be put together with the rest of it.
fn read_lines(
    mut reader: impl BufRead,
    decoder: JsonDecoder,
    name: &str,
    out: &Emitter,
) -> Result<(), String> {
    let mut lines = Lines {
        decoder,
        name,
        out,
        batch: Vec::with_capacity(BATCH_ROWS),
        number: 0,
        read: 0,
    };
    let mut cut = Vec::new();
    loop {
        let buffer = reader
            .fill_buf()
            .map_err(|e| format!("cannot read {name}: {e}"))?;
        if buffer.is_empty() {
            break;
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', buffer) {
            let going_on = match cut.is_empty() {
                true => lines.line(&buffer[start..end]),
                false => {
                    cut.extend_from_slice(&buffer[start..end]);
                    let going_on = lines.line(&cut);
                    cut.clear();
                    going_on
                }
            };
            if !going_on {
                return Ok(());
            }
            start = end + 1;
        }
        cut.extend_from_slice(&buffer[start..]);
        let length = buffer.len();
        reader.consume(length);
    }
    // The last line may have no newline.
    if lines.line(&cut) {
        lines.out.received(lines.read);
        lines.out.flush(&mut lines.batch);
    }
    Ok(())
}

/// Decodes lines into batches of rows and sends each full batch on.
struct Lines<'a> {
    decoder: JsonDecoder,
    name: &'a str,
    out: &'a Emitter,
    batch: Vec<Tuple>,
    number: usize,
    /// Lines read since the count was last updated: counted per batch, not per line.
    read: usize,
}

impl Lines<'_> {
    /// Takes one line; `false` once the rule stops.
    fn line(&mut self, line: &[u8]) -> bool {
        self.number += 1;
        let text = line.trim_ascii();
        if text.is_empty() {
            return true;
        }
        self.read += 1;
        let batch = &mut self.batch;
        if let Err(e) = decode_json_rows(&mut self.decoder, text, |row| batch.push(row.into())) {
            let (name, number) = (self.name, self.number);
            self.out.error(&format!("{name} line {number}: {e}"));
        }
        if self.batch.len() < BATCH_ROWS {
            return true;
        }
        self.out.received(std::mem::take(&mut self.read));
        self.out.flush(&mut self.batch)
    }
}

/// A JSON array is read whole (use JSON lines for large files); rows go on in batches.
fn read_json_array(
    mut reader: impl Read,
    mut decoder: JsonDecoder,
    name: &str,
    out: &Emitter,
) -> Result<(), String> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    let mut rows = Vec::new();
    out.received(1);
    if let Err(e) = decode_json_rows(&mut decoder, &bytes, |row| rows.push(row.into())) {
        out.error(&format!("{name}: {e}"));
        return Ok(());
    }
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        if !out.emit(rows.by_ref().take(BATCH_ROWS).collect()) {
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
    out: &Emitter,
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
    let mut read = 0usize;
    let mut record = csv::StringRecord::new();
    loop {
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                read += 1;
                let mut row = Map::with_capacity(record.len());
                for (i, field) in record.iter().enumerate() {
                    let key = match header.get(i) {
                        Some(k) => k.clone(),
                        None => keys.intern(&format!("cols{i}")),
                    };
                    row.insert(key, Value::string(field));
                }
                batch.push(row.into());
                if batch.len() >= BATCH_ROWS {
                    out.received(std::mem::take(&mut read));
                    if !out.flush(&mut batch) {
                        return Ok(());
                    }
                }
            }
            Err(e) => {
                read += 1;
                out.error(&format!("{name}: {e}"));
            }
        }
    }
    out.received(read);
    out.flush(&mut batch);
    Ok(())
}
