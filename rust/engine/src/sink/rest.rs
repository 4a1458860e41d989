//! The `rest` sink: one HTTP request per result. `url` and header values may be templates
//! rendered per item. Network errors and 5xx answers are transient (retried, and cached with
//! `enableCache`); 4xx answers are not: the request itself is wrong.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map as JsonMap, Value as Json};

use super::conf::PropReader;
use super::encode::Encoder;
use super::{
    ActionProps, Batch, CollectReport, Sink, SinkContext, SinkError, SinkFactory, SinkItem,
};
use crate::rule::json_type_name;
use crate::value::{JsonDecoder, Value, to_json_string};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyType {
    None,
    Json,
    Text,
    Form,
}

#[derive(Debug, Clone)]
struct RestConf {
    url: String,
    method: reqwest::Method,
    headers: Vec<(String, String)>,
    body_type: BodyType,
    timeout: Duration,
    debug_resp: bool,
    insecure_skip_verify: bool,
}

const PROPERTIES: &[&str] = &[
    "url",
    "method",
    "headers",
    "bodyType",
    "timeout",
    "debugResp",
    "insecureSkipVerify",
];

fn read_conf(props: &JsonMap<String, Json>) -> Result<RestConf, String> {
    let p = PropReader(props);
    let url = p
        .text("url")?
        .filter(|u| !u.is_empty())
        .ok_or("the rest sink needs a url property")?;
    let templated = url.contains("{{");
    if !(templated || url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "url: expected an http:// or https:// address, found {url:?}"
        ));
    }
    let method_name = p
        .text("method")?
        .unwrap_or_else(|| "POST".into())
        .to_ascii_uppercase();
    let method = match method_name.as_str() {
        "GET" | "POST" | "PUT" | "PATCH" | "DELETE" => {
            reqwest::Method::from_bytes(method_name.as_bytes()).map_err(|e| e.to_string())?
        }
        other => {
            return Err(format!(
                "method: expected GET, POST, PUT, PATCH or DELETE, found {other:?}"
            ));
        }
    };
    let default_body = if method == reqwest::Method::GET {
        "none"
    } else {
        "json"
    };
    let body_type = match p.text("bodyType")?.as_deref().unwrap_or(default_body) {
        "none" => BodyType::None,
        "json" => BodyType::Json,
        "text" => BodyType::Text,
        "form" => BodyType::Form,
        other => {
            return Err(format!(
                "bodyType: expected none, json, text or form, found {other:?}"
            ));
        }
    };
    let headers = match props.get("headers") {
        None => Vec::new(),
        Some(Json::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Json::String(s) => Ok((k.clone(), s.clone())),
                other => Err(format!(
                    "headers.{k}: expected a string, found {}",
                    json_type_name(other)
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(format!(
                "headers: expected an object, found {}",
                json_type_name(other)
            ));
        }
    };
    let timeout = p
        .duration("timeout")?
        .unwrap_or(Duration::from_millis(5000));
    Ok(RestConf {
        url,
        method,
        headers,
        body_type,
        timeout,
        debug_resp: p.flag("debugResp")?,
        insecure_skip_verify: p.flag("insecureSkipVerify")?,
    })
}

#[derive(Debug, Default)]
pub struct RestSinkFactory;

#[async_trait]
impl SinkFactory for RestSinkFactory {
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
        let mut client = reqwest::Client::builder();
        if !conf.timeout.is_zero() {
            client = client.timeout(conf.timeout);
        }
        if conf.insecure_skip_verify {
            client = client.danger_accept_invalid_certs(true);
        }
        let client = client
            .build()
            .map_err(|e| SinkError::new(format!("cannot build the HTTP client: {e}")))?;
        Ok(Box::new(RestSink {
            client,
            encoder: Encoder::new(props.common.format.clone(), props.common.fields.as_deref()),
            conf,
        }))
    }

    fn describe(&self) -> String {
        "built-in: sends results to an HTTP endpoint".into()
    }
}

struct RestSink {
    client: reqwest::Client,
    encoder: Encoder,
    conf: RestConf,
}

/// A form body: the fields of the row the payload holds, nested values as JSON.
fn form_fields(payload: &str) -> Result<Vec<(String, String)>, SinkError> {
    let value = JsonDecoder::new()
        .decode(payload.as_bytes())
        .map_err(|e| SinkError::new(format!("a form body needs a JSON object: {e}")))?;
    match value {
        Value::Object(row) => Ok(row
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.to_string(),
                    other => to_json_string(other),
                };
                (k.to_string(), text)
            })
            .collect()),
        other => Err(SinkError::new(format!(
            "a form body needs one row (set sendSingle), found {}",
            other.type_name()
        ))),
    }
}

impl RestSink {
    async fn send(&mut self, ctx: &SinkContext, item: &SinkItem) -> Result<(), SinkError> {
        let url = item.prop("url").unwrap_or(&self.conf.url).to_string();
        let mut request = self.client.request(self.conf.method.clone(), &url);
        let payload = self.encoder.encode(item);
        request = match self.conf.body_type {
            BodyType::None => request,
            BodyType::Json => request
                .header("Content-Type", "application/json")
                .body(payload),
            BodyType::Text => request.header("Content-Type", "text/plain").body(payload),
            BodyType::Form => request.form(&form_fields(&payload)?),
        };
        for (name, value) in &self.conf.headers {
            let value = item.prop(&format!("headers.{name}")).unwrap_or(value);
            request = request.header(name.as_str(), value);
        }
        let response = request.send().await.map_err(|e| {
            // Nothing came back: the network or the server is down, or too slow. Try again.
            SinkError::retryable(format!("{} {url} failed: {e}", self.conf.method))
        })?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if self.conf.debug_resp {
            tracing::info!(target: "sinkbridge.sink.rest", "rule {} {} {url}: {status} {body}", ctx.rule_id, self.conf.method);
        }
        if status.is_success() {
            return Ok(());
        }
        let message = format!(
            "{} {url} answered {status}: {}",
            self.conf.method,
            body.chars().take(200).collect::<String>()
        );
        Err(
            match status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                true => SinkError::retryable(message),
                false => SinkError::new(message),
            },
        )
    }
}

#[async_trait]
impl Sink for RestSink {
    async fn open(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        Ok(())
    }

    async fn collect(&mut self, ctx: &SinkContext, items: Batch) -> CollectReport {
        let mut report = CollectReport::default();
        for (i, item) in items.iter().enumerate() {
            match self.send(ctx, item).await {
                Ok(()) => {}
                Err(e) if e.retryable => {
                    return CollectReport {
                        retry: CollectReport::retry_from(i, items.len(), e).retry,
                        ..report
                    };
                }
                Err(e) => report.failures.push((i, e)),
            }
        }
        report
    }

    async fn close(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        Ok(())
    }
}
