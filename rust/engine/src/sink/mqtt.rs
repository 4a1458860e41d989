//! The `mqtt` sink: publishes each result to a topic, with eKuiper's properties. `topic` may be
//! a template rendered per result (`devices/{{device}}/alerts` with `sendSingle`).
//!
//! A batch is published pipelined (every message goes out, then the acknowledgements are
//! awaited together). Publishing while disconnected, a connection lost before the broker
//! acknowledged, or no acknowledgement within `ackTimeout` (QoS 1 and 2) are transient: the
//! sink runtime retries those results, and caches them with `enableCache`. A broker that refuses
//! a message (an MQTT 5 reason code) or a rendered topic that is not one is not retried.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use rumqttc::QoS;
use serde_json::{Map as JsonMap, Value as Json};

use super::encode::Encoder;
use super::{ActionProps, Batch, CollectReport, Retry, Sink, SinkContext, SinkError, SinkFactory};
use crate::memory_topics::validate_topic;
use crate::mqtt::{self, CONNECTION_PROPERTIES, ConnConf, MqttClient, PublishError};

/// The sink's properties: the connection's (see `crate::mqtt`) and its own.
static PROPERTIES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    [
        CONNECTION_PROPERTIES,
        &["topic", "qos", "retained", "ackTimeout"],
    ]
    .concat()
});

/// How long `open` waits for the first connection before letting results queue (and retry).
const FIRST_CONNECTION: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
struct MqttSinkConf {
    conn: ConnConf,
    topic: String,
    qos: QoS,
    retained: bool,
    ack_timeout: Duration,
}

fn read_conf(props: &JsonMap<String, Json>) -> Result<MqttSinkConf, String> {
    let topic = match props.get("topic") {
        Some(Json::String(t)) if !t.is_empty() => t.clone(),
        Some(Json::String(_)) | None => return Err("the mqtt sink needs a topic property".into()),
        Some(_) => return Err("topic: expected a string".into()),
    };
    if !topic.contains("{{") {
        validate_topic(&topic).map_err(|e| format!("topic: {e}"))?;
    }
    let retained = match props.get("retained") {
        None => false,
        Some(Json::Bool(b)) => *b,
        Some(_) => return Err("retained: expected true or false".into()),
    };
    let ack_timeout = match props.get("ackTimeout") {
        None => Duration::from_secs(10),
        Some(v) => crate::duration::parse_duration(v)
            .map_err(|e| format!("ackTimeout: {e}"))
            .and_then(|d| {
                if d.is_zero() {
                    Err("ackTimeout: must be more than 0".to_string())
                } else {
                    Ok(d)
                }
            })?,
    };
    Ok(MqttSinkConf {
        conn: mqtt::read_conn(props)?,
        topic,
        qos: mqtt::read_qos(props, QoS::AtLeastOnce)?,
        retained,
        ack_timeout,
    })
}

#[derive(Debug, Default)]
pub struct MqttSinkFactory;

#[async_trait]
impl SinkFactory for MqttSinkFactory {
    fn properties(&self) -> Option<&'static [&'static str]> {
        Some(PROPERTIES.as_slice())
    }

    fn validate(&self, props: &JsonMap<String, Json>) -> Result<(), String> {
        read_conf(props).map(|_| ())
    }

    async fn create(
        &self,
        _: &SinkContext,
        props: ActionProps<'_>,
    ) -> Result<Box<dyn Sink>, SinkError> {
        Ok(Box::new(MqttSink {
            conf: read_conf(props.own).map_err(SinkError::new)?,
            encoder: Encoder::new(props.common.format.clone(), props.common.fields.as_deref()),
            client: None,
        }))
    }

    fn describe(&self) -> String {
        "built-in: publishes results to an MQTT broker".into()
    }
}

struct MqttSink {
    conf: MqttSinkConf,
    encoder: Encoder,
    client: Option<MqttClient>,
}

#[async_trait]
impl Sink for MqttSink {
    async fn open(&mut self, ctx: &SinkContext) -> Result<(), SinkError> {
        let client = MqttClient::start(
            mqtt::Options {
                conf: self.conf.conn.clone(),
                subscriptions: Vec::new(),
                persistent: false,
                incoming: None,
                client_id_prefix: format!("sinkbridge-{}-{}", ctx.rule_id, ctx.op_id),
            },
            ctx.connection.clone(),
        );
        // A broker that is down does not fail the rule: results wait in the sink runtime, which
        // retries them (and caches them with enableCache) until it is back.
        client.wait_connected(FIRST_CONNECTION).await;
        self.client = Some(client);
        Ok(())
    }

    async fn collect(&mut self, _: &SinkContext, items: Batch) -> CollectReport {
        let Some(client) = &self.client else {
            return CollectReport::all_failed(items.len(), SinkError::new("the sink is not open"));
        };
        let mut report = CollectReport::default();
        let mut retry: Vec<usize> = Vec::new();
        let mut transient = None;
        let mut pending = Vec::with_capacity(items.len());
        let deadline = tokio::time::Instant::now() + self.conf.ack_timeout;
        for (i, item) in items.iter().enumerate() {
            let topic = item.prop("topic").unwrap_or(&self.conf.topic);
            if let Err(e) = validate_topic(topic) {
                report
                    .failures
                    .push((i, SinkError::new(format!("topic rendered {topic:?}: {e}"))));
                continue;
            }
            let payload = self.encoder.encode(item).into_bytes();
            match client
                .publish(topic, self.conf.qos, self.conf.retained, payload, deadline)
                .await
            {
                Ok(ack) => pending.push((i, ack)),
                Err(PublishError::Transient(why)) => {
                    retry.push(i);
                    transient = Some(why);
                }
                Err(PublishError::Refused(why)) => report.failures.push((i, SinkError::new(why))),
            }
        }
        for (i, ack) in pending {
            match tokio::time::timeout_at(deadline, ack).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(PublishError::Refused(why)))) => {
                    report.failures.push((i, SinkError::new(why)))
                }
                Ok(Ok(Err(PublishError::Transient(why)))) => {
                    retry.push(i);
                    transient = Some(why);
                }
                Ok(Err(_)) => {
                    retry.push(i);
                    transient = Some("the connection was closed".into());
                }
                Err(_) => {
                    retry.push(i);
                    transient = Some(format!(
                        "the broker did not acknowledge within ackTimeout ({:?})",
                        self.conf.ack_timeout
                    ));
                }
            }
        }
        if let Some(why) = transient {
            retry.sort_unstable();
            report.retry = Some(Retry {
                items: retry,
                error: SinkError::retryable(why),
            });
        }
        report
    }

    async fn close(&mut self, _: &SinkContext) -> Result<(), SinkError> {
        if let Some(client) = self.client.take() {
            client.shutdown().await;
        }
        Ok(())
    }
}
