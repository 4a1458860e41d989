//! `GET /metrics`: every rule's operator counters, latency histograms and connection states,
//! and the process' memory, in the OpenMetrics text format that Prometheus scrapes. The
//! numbers are read from the engine at each scrape, so nothing is counted twice.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use sinkbridge_engine::RuleMetrics;
use sinkbridge_engine::metrics::{LATENCY_BUCKETS_US, OpSnapshot};

use super::Shared;

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub async fn metrics(State(state): Shared) -> Response {
    let snapshot = Snapshot {
        rules: state
            .managed
            .engine()
            .rule_metrics()
            .into_iter()
            .map(|rule| {
                let ops = rule.ops.iter().map(|op| op.snapshot()).collect();
                (rule, ops)
            })
            .collect(),
        resident_bytes: resident_memory_bytes(),
    };
    let mut registry = Registry::default();
    registry.register_collector(Box::new(snapshot));
    let mut body = String::new();
    match prometheus_client::encoding::text::encode(&mut body, &registry) {
        Ok(()) => (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The process' resident set size, from /proc (Linux); `None` elsewhere.
fn resident_memory_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // The kernel's page size on every platform this runs on; /proc has no simpler source.
    Some(pages * 4096)
}

#[derive(Debug)]
struct Snapshot {
    rules: Vec<(RuleMetrics, Vec<OpSnapshot>)>,
    resident_bytes: Option<u64>,
}

type Labels<'a> = [(&'static str, &'a str); 4];

fn labels<'a>(rule: &'a str, op: &'a OpSnapshot) -> Labels<'a> {
    [
        ("rule", rule),
        ("kind", &op.kind),
        ("op", &op.op),
        ("instance", &op.instance),
    ]
}

impl Snapshot {
    /// One metric family with a sample per operator instance that `value` gives one for.
    fn family(
        &self,
        encoder: &mut DescriptorEncoder,
        name: &str,
        help: &str,
        metric_type: MetricType,
        value: impl Fn(&OpSnapshot) -> Option<i64>,
    ) -> Result<(), std::fmt::Error> {
        let mut family = encoder.encode_descriptor(name, help, None, metric_type)?;
        for (rule, ops) in &self.rules {
            for op in ops {
                let Some(v) = value(op) else { continue };
                let labels = labels(&rule.id, op);
                let sample = family.encode_family(&labels)?;
                match metric_type {
                    MetricType::Counter => {
                        ConstCounter::new(u64::try_from(v).unwrap_or(0)).encode(sample)?;
                    }
                    _ => ConstGauge::new(v).encode(sample)?,
                }
            }
        }
        Ok(())
    }
}

fn count(v: u64) -> Option<i64> {
    Some(i64::try_from(v).unwrap_or(i64::MAX))
}

/// A count only sinks keep.
fn sink_count(op: &OpSnapshot, v: u64) -> Option<i64> {
    (op.kind == "sink").then(|| count(v)).flatten()
}

impl Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        {
            let mut family = encoder.encode_descriptor(
                "sinkbridge_rule_running",
                "Whether the rule runs (1) or not (0).",
                None,
                MetricType::Gauge,
            )?;
            for (rule, _) in &self.rules {
                let labels = [("rule", rule.id.as_str())];
                ConstGauge::new(i64::from(rule.running)).encode(family.encode_family(&labels)?)?;
            }
        }
        self.family(
            &mut encoder,
            "sinkbridge_records_in",
            "Records an operator received.",
            MetricType::Counter,
            |op| count(op.records_in),
        )?;
        self.family(
            &mut encoder,
            "sinkbridge_records_out",
            "Records an operator emitted (for a sink: delivered).",
            MetricType::Counter,
            |op| count(op.records_out),
        )?;
        self.family(
            &mut encoder,
            "sinkbridge_exceptions",
            "Failures an operator counted.",
            MetricType::Counter,
            |op| count(op.exceptions),
        )?;
        self.family(
            &mut encoder,
            "sinkbridge_buffer_length",
            "Results queued for a sink.",
            MetricType::Gauge,
            |op| sink_count(op, op.buffer_length),
        )?;
        self.family(
            &mut encoder,
            "sinkbridge_buffer_dropped",
            "Results a full sink buffer dropped (bufferFullPolicy).",
            MetricType::Counter,
            |op| sink_count(op, op.buffer_dropped),
        )?;
        self.family(
            &mut encoder,
            "sinkbridge_retries",
            "Deliveries a sink retried.",
            MetricType::Counter,
            |op| sink_count(op, op.retries),
        )?;
        self.family(
            &mut encoder,
            "sinkbridge_connection_status",
            "A source's or sink's connection: 1 connected, 0 connecting, -1 disconnected.",
            MetricType::Gauge,
            |op| op.connection_status,
        )?;
        {
            let mut family = encoder.encode_descriptor(
                "sinkbridge_process_latency_seconds",
                "How long an operator took per batch.",
                None,
                MetricType::Histogram,
            )?;
            for (rule, ops) in &self.rules {
                for op in ops {
                    // Per bucket; the encoder makes them cumulative.
                    let buckets: Vec<(f64, u64)> = LATENCY_BUCKETS_US
                        .iter()
                        .map(|&bound| bound as f64 / 1e6)
                        .chain(std::iter::once(f64::INFINITY))
                        .zip(op.latency_buckets.iter().copied())
                        .collect();
                    let labels = labels(&rule.id, op);
                    family
                        .encode_family(&labels)?
                        .encode_histogram::<NoLabelSet>(
                            op.latency_sum_us as f64 / 1e6,
                            op.latency_count,
                            &buckets,
                            None,
                        )?;
                }
            }
        }
        if let Some(bytes) = self.resident_bytes {
            let family = encoder.encode_descriptor(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                None,
                MetricType::Gauge,
            )?;
            ConstGauge::new(i64::try_from(bytes).unwrap_or(i64::MAX)).encode(family)?;
        }
        Ok(())
    }
}
