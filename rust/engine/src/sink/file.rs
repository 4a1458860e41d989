//! The `file` sink: writes results to files, as JSON lines, a JSON array, or CSV.
//!
//! `path` may be a template rendered per item (one file per rendered path). Files roll by
//! count, size or age when `rollingCount`, `rollingSize` or `rollingInterval` is set; a rolled
//! file is closed (a JSON array gets its `]`, gzip its trailer) and the next one starts under a
//! new name. Writes are flushed at the end of every delivery. Failures to write are transient:
//! the runtime retries them (a full disk may get room).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Map as JsonMap, Value as Json};

use super::conf::{Format, PropReader};
use super::encode::Encoder;
use super::{
    ActionProps, Batch, CollectReport, Sink, SinkContext, SinkError, SinkFactory, SinkItem,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileType {
    Lines,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NamePattern {
    Prefix,
    Suffix,
    None,
}

#[derive(Debug, Clone)]
struct FileConf {
    path: String,
    file_type: FileType,
    rolling_interval: Duration,
    rolling_count: u64,
    rolling_size: u64,
    pattern: NamePattern,
    gzip: bool,
}

impl FileConf {
    fn rolls(&self) -> bool {
        !self.rolling_interval.is_zero() || self.rolling_count > 0 || self.rolling_size > 0
    }
}

const PROPERTIES: &[&str] = &[
    "path",
    "fileType",
    "rollingInterval",
    "rollingCount",
    "rollingSize",
    "rollingNamePattern",
    "compression",
];

fn read_conf(props: &JsonMap<String, Json>) -> Result<FileConf, String> {
    let p = PropReader(props);
    let path = p
        .text("path")?
        .filter(|p| !p.is_empty())
        .ok_or("the file sink needs a path property")?;
    let file_type = match p.text("fileType")?.as_deref().unwrap_or("lines") {
        "lines" => FileType::Lines,
        "json" => FileType::Json,
        "csv" => FileType::Csv,
        other => {
            return Err(format!(
                "fileType: expected lines, json or csv, found {other:?}"
            ));
        }
    };
    let pattern = match p.text("rollingNamePattern")?.as_deref().unwrap_or("suffix") {
        "prefix" => NamePattern::Prefix,
        "suffix" | "" => NamePattern::Suffix,
        "none" => NamePattern::None,
        other => {
            return Err(format!(
                "rollingNamePattern: expected prefix, suffix or none, found {other:?}"
            ));
        }
    };
    let gzip = match p.text("compression")?.as_deref().unwrap_or("") {
        "" => false,
        "gzip" => true,
        other => return Err(format!("compression: expected gzip, found {other:?}")),
    };
    Ok(FileConf {
        path,
        file_type,
        rolling_interval: p.duration("rollingInterval")?.unwrap_or_default(),
        rolling_count: p.count("rollingCount")?,
        rolling_size: p.count("rollingSize")?,
        pattern,
        gzip,
    })
}

#[derive(Debug, Default)]
pub struct FileSinkFactory;

#[async_trait]
impl SinkFactory for FileSinkFactory {
    fn properties(&self) -> Option<&'static [&'static str]> {
        Some(PROPERTIES)
    }

    fn validate(&self, props: &JsonMap<String, Json>) -> Result<(), String> {
        read_conf(props).map(|_| ())
    }

    async fn create(
        &self,
        _: &SinkContext,
        props: ActionProps<'_>,
    ) -> Result<Box<dyn Sink>, SinkError> {
        let conf = read_conf(props.own).map_err(SinkError::new)?;
        // CSV is the delimited format whatever `format` says, with its header line written once
        // at the top of each file (`hasHeader`), not before every item.
        let csv_header = conf.file_type == FileType::Csv
            && props.all.get("hasHeader") == Some(&Json::Bool(true));
        let format = match conf.file_type {
            FileType::Csv => Format::Delimited {
                delimiter: props
                    .all
                    .get("delimiter")
                    .and_then(Json::as_str)
                    .unwrap_or(",")
                    .to_string(),
                has_header: false,
            },
            _ => props.common.format.clone(),
        };
        Ok(Box::new(FileSink {
            encoder: Encoder::new(format, props.common.fields.as_deref()),
            csv_header,
            conf,
            files: HashMap::default(),
            text: Vec::new(),
        }))
    }

    fn describe(&self) -> String {
        "built-in: writes results to files".into()
    }
}

struct FileSink {
    conf: FileConf,
    encoder: Encoder,
    csv_header: bool,
    /// Open files by the path they were asked for (a rolled file has another name on disk),
    /// looked up once per item: hashed with foldhash, several times cheaper than SipHash for
    /// a path, and seeded at random all the same.
    files: HashMap<String, OpenFile, foldhash::fast::RandomState>,
    /// The encoded item, reused from item to item.
    text: Vec<u8>,
}

enum Output {
    Plain(BufWriter<File>),
    Gzip(GzEncoder<BufWriter<File>>),
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Plain(w) => w.write(buf),
            Output::Gzip(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Plain(w) => w.flush(),
            Output::Gzip(w) => w.flush(),
        }
    }
}

struct OpenFile {
    out: Output,
    opened: Instant,
    items: u64,
    bytes: u64,
}

fn io_error(path: &Path, e: std::io::Error) -> SinkError {
    SinkError::retryable(format!("cannot write {}: {e}", path.display()))
}

/// The name a new file gets: the asked-for path, with the time when the sink rolls.
fn file_name(asked: &str, conf: &FileConf) -> PathBuf {
    let path = PathBuf::from(asked);
    if !conf.rolls() || conf.pattern == NamePattern::None {
        return path;
    }
    let stamp = chrono::Utc::now().timestamp_millis();
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    match conf.pattern {
        NamePattern::Prefix => dir.join(format!("{stamp}-{name}")),
        _ => {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            match path.extension() {
                Some(ext) => dir.join(format!("{stem}-{stamp}.{}", ext.to_string_lossy())),
                None => dir.join(format!("{stem}-{stamp}")),
            }
        }
    }
}

/// Opens (creates or appends to) the file for a path asked for, writing what starts it.
fn open_file(
    conf: &FileConf,
    encoder: &Encoder,
    csv_header: bool,
    asked: &str,
) -> Result<OpenFile, SinkError> {
    let path = file_name(asked, conf);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    }
    // A JSON array cannot be appended to; lines and CSV keep what an earlier run wrote.
    let append = conf.file_type != FileType::Json;
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(&path)
        .map_err(|e| io_error(&path, e))?;
    let existing = file.metadata().map(|m| m.len()).unwrap_or(0);
    let writer = BufWriter::new(file);
    let out = match conf.gzip {
        true => Output::Gzip(GzEncoder::new(writer, Compression::default())),
        false => Output::Plain(writer),
    };
    let mut open = OpenFile {
        out,
        opened: Instant::now(),
        items: 0,
        bytes: existing,
    };
    match conf.file_type {
        FileType::Json => write_counted(&mut open, b"[", &path)?,
        FileType::Csv if csv_header && existing == 0 => {
            if let Some(header) = encoder.header() {
                write_counted(&mut open, format!("{header}\n").as_bytes(), &path)?;
            }
        }
        _ => {}
    }
    Ok(open)
}

impl FileSink {
    fn write_item(&mut self, item: &SinkItem) -> Result<(), SinkError> {
        // The hot path of a busy sink: one hash lookup, no allocation per item.
        let asked = item.prop("path").unwrap_or(&self.conf.path);
        let file_type = self.conf.file_type;
        self.text.clear();
        match file_type {
            FileType::Csv => self
                .text
                .extend_from_slice(self.encoder.lines(&item.data).join("\n").as_bytes()),
            _ => self.encoder.encode_into(item, &mut self.text),
        }
        match file_type {
            FileType::Json => {}
            _ => self.text.push(b'\n'),
        }
        let file = match self.files.get_mut(asked) {
            Some(file) => file,
            None => {
                let opened = open_file(&self.conf, &self.encoder, self.csv_header, asked)?;
                self.files.entry(asked.to_string()).or_insert(opened)
            }
        };
        if file_type == FileType::Json && file.items > 0 {
            write_counted(file, b",", Path::new(asked))?;
        }
        write_counted(file, &self.text, Path::new(asked))?;
        file.items += 1;
        if due_to_roll(&self.conf, file) {
            let asked = asked.to_string();
            self.close_file(&asked)?;
        }
        Ok(())
    }

    fn close_file(&mut self, asked: &str) -> Result<(), SinkError> {
        let Some(mut file) = self.files.remove(asked) else {
            return Ok(());
        };
        let path = PathBuf::from(asked);
        if self.conf.file_type == FileType::Json {
            file.out.write_all(b"]").map_err(|e| io_error(&path, e))?;
        }
        let writer = match file.out {
            Output::Plain(w) => w,
            Output::Gzip(g) => g.finish().map_err(|e| io_error(&path, e))?,
        };
        writer
            .into_inner()
            .map_err(|e| io_error(&path, e.into_error()))?
            .sync_all()
            .map_err(|e| io_error(&path, e))
    }
}

fn due_to_roll(c: &FileConf, file: &OpenFile) -> bool {
    (c.rolling_count > 0 && file.items >= c.rolling_count)
        || (c.rolling_size > 0 && file.bytes >= c.rolling_size)
        || (!c.rolling_interval.is_zero() && file.opened.elapsed() >= c.rolling_interval)
}

fn write_counted(file: &mut OpenFile, bytes: &[u8], path: &Path) -> Result<(), SinkError> {
    file.out.write_all(bytes).map_err(|e| io_error(path, e))?;
    file.bytes += bytes.len() as u64;
    Ok(())
}

#[async_trait]
impl Sink for FileSink {
    async fn open(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        Ok(())
    }

    async fn collect(&mut self, _: &SinkContext, items: Batch) -> CollectReport {
        // Files whose time is up roll before anything new goes in.
        let expired: Vec<String> = self
            .files
            .iter()
            .filter(|(_, file)| due_to_roll(&self.conf, file))
            .map(|(asked, _)| asked.clone())
            .collect();
        for asked in expired {
            if let Err(e) = self.close_file(&asked) {
                return CollectReport::all_failed(items.len(), e);
            }
        }
        for (i, item) in items.iter().enumerate() {
            if let Err(e) = self.write_item(item) {
                return CollectReport::retry_from(i, items.len(), e);
            }
        }
        for (asked, file) in &mut self.files {
            if let Err(e) = file.out.flush() {
                return CollectReport::all_failed(items.len(), io_error(Path::new(asked), e));
            }
        }
        CollectReport::default()
    }

    async fn close(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        let open: Vec<String> = self.files.keys().cloned().collect();
        for asked in open {
            self.close_file(&asked)?;
        }
        Ok(())
    }
}
