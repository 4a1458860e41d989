//! The `mqtt` source: subscribes to `DATASOURCE` (one topic filter, or several separated by
//! commas, with `+` and `#` wildcards, and `$share/group/...` shared subscriptions) on the broker
//! that the stream's `CONF_KEY` property set names.
//!
//! Each message's JSON payload is one row (an object) or several (an array of objects), with the
//! message's `topic`, `qos` and `messageid` as metadata for `meta()`. A payload that is not
//! JSON rows, or is larger than `maxPayloadSize`, is counted as an exception with its reason
//! and skipped; the rule keeps running. The connection survives broker outages (see
//! `crate::mqtt`), and the source's `connection_status` says how it is.

use std::sync::Arc;

use async_trait::async_trait;
use rumqttc::QoS;
use serde_json::{Map as JsonMap, Value as Json};
use tokio::sync::mpsc;

use super::{Source, SourceOutput, SourceType};
use crate::memory_topics::validate_filter;
use crate::mqtt::{self, CONNECTION_PROPERTIES, ConnConf, Message, MqttClient};
use crate::stream::StreamDef;
use crate::value::{Fields, JsonDecoder, Key, Map, Row, Tuple, Value, decode_json_rows, intern};

/// Batches of received messages (one per network read) decoded together at most.
const BATCHES_TAKEN: usize = 32;
/// Batches received and not yet decoded; past this, the source stops reading the broker.
const RECEIVED: usize = 64;
const DEFAULT_MAX_PAYLOAD: usize = 10 * 1024 * 1024;

/// The source's own properties, beside the connection's.
const SOURCE_PROPERTIES: &[&str] = &["qos", "maxPayloadSize"];
/// Properties of eKuiper's `mqtt.yaml` that have no effect here, accepted so that its files
/// load as they are.
const IGNORED_PROPERTIES: &[&str] = &["bufferLength", "connectionSelector"];

#[derive(Debug, Clone)]
struct SourceConf {
    conn: ConnConf,
    filters: Vec<String>,
    qos: QoS,
    max_payload: usize,
}

fn read_conf(def: &StreamDef, props: &JsonMap<String, Json>) -> Result<SourceConf, String> {
    for key in props.keys() {
        let known = CONNECTION_PROPERTIES.contains(&key.as_str())
            || SOURCE_PROPERTIES.contains(&key.as_str())
            || IGNORED_PROPERTIES.contains(&key.as_str());
        if !known {
            return Err(format!(
                "the mqtt source has no property {key:?}; its properties are {}, {}",
                CONNECTION_PROPERTIES.join(", "),
                SOURCE_PROPERTIES.join(", ")
            ));
        }
    }
    let filters: Vec<String> = def
        .options
        .datasource
        .split(',')
        .map(|f| f.trim().to_string())
        .collect();
    for filter in &filters {
        validate_filter(shared_subscription_topic(filter)?)
            .map_err(|e| format!("DATASOURCE: {e}"))?;
    }
    Ok(SourceConf {
        conn: mqtt::read_conn(props)?,
        filters,
        qos: mqtt::read_qos(props, QoS::AtLeastOnce)?,
        max_payload: mqtt::read_size(props, "maxPayloadSize")?.unwrap_or(DEFAULT_MAX_PAYLOAD),
    })
}

/// The topic filter of `$share/group/filter`; the filter itself otherwise.
fn shared_subscription_topic(filter: &str) -> Result<&str, String> {
    match filter.strip_prefix("$share/") {
        None => Ok(filter),
        Some(rest) => match rest.split_once('/') {
            Some((group, topic)) if !group.is_empty() && !group.contains(['+', '#']) => Ok(topic),
            _ => Err(format!(
                "DATASOURCE: {filter:?} is not a shared subscription of the form $share/group/topic"
            )),
        },
    }
}

#[derive(Debug, Default)]
pub struct MqttSourceType;

impl SourceType for MqttSourceType {
    fn name(&self) -> &'static str {
        "mqtt"
    }

    fn connects(&self) -> bool {
        true
    }

    fn validate(&self, def: &StreamDef, props: &JsonMap<String, Json>) -> Result<(), String> {
        read_conf(def, props).map(|_| ())
    }

    fn open(
        &self,
        def: &StreamDef,
        props: &JsonMap<String, Json>,
        fields: Option<Fields>,
    ) -> Result<Box<dyn Source>, String> {
        Ok(Box::new(MqttSource {
            conf: read_conf(def, props)?,
            stream: def.name.clone(),
            fields,
        }))
    }
}

struct MqttSource {
    conf: SourceConf,
    stream: String,
    fields: Option<Fields>,
}

#[async_trait]
impl Source for MqttSource {
    async fn run(self: Box<Self>, out: SourceOutput) -> Result<(), String> {
        let MqttSource {
            conf,
            stream,
            fields,
        } = *self;
        let (tx, mut rx) = mpsc::channel(RECEIVED);
        // A fixed client id with QoS 1 or 2 asks the broker to keep the session, so that what
        // is published while the engine is away is delivered when it is back.
        let persistent = conf.conn.client_id.is_some() && conf.qos != QoS::AtMostOnce;
        let client = MqttClient::start(
            mqtt::Options {
                subscriptions: conf.filters.iter().map(|f| (f.clone(), conf.qos)).collect(),
                persistent,
                incoming: Some(tx),
                client_id_prefix: format!("sinkbridge-{stream}"),
                conf: conf.conn,
            },
            out.connection().clone(),
        );
        let mut decoder = Decoder::new(conf.max_payload, fields);
        let mut batches = Vec::with_capacity(BATCHES_TAKEN);
        loop {
            let taken = tokio::select! {
                biased;
                _ = out.stopped() => break,
                n = rx.recv_many(&mut batches, BATCHES_TAKEN) => n,
            };
            if taken == 0 {
                break;
            }
            out.received(batches.iter().map(Vec::len).sum());
            let rows = decoder.decode(batches.drain(..).flatten(), &out);
            if !out.emit(Arc::new(rows)).await {
                break;
            }
        }
        client.shutdown().await;
        Ok(())
    }
}

/// Turns messages into tuples, reusing keys, the last topic's text and, when nothing changed
/// (QoS 0 messages of one topic all have message id 0), the last metadata.
struct Decoder {
    json: JsonDecoder,
    max_payload: usize,
    last_topic: Option<(bytes::Bytes, Value)>,
    last_meta: Option<(bytes::Bytes, u8, u16, Arc<Map>)>,
    topic_key: Key,
    qos_key: Key,
    id_key: Key,
}

impl Decoder {
    fn new(max_payload: usize, fields: Option<Fields>) -> Decoder {
        Decoder {
            json: JsonDecoder::keeping(fields),
            max_payload,
            last_topic: None,
            last_meta: None,
            topic_key: intern("topic"),
            qos_key: intern("qos"),
            id_key: intern("messageid"),
        }
    }

    fn topic(&mut self, topic: &bytes::Bytes) -> Value {
        match &self.last_topic {
            Some((bytes, value)) if bytes == topic => value.clone(),
            _ => {
                let value = Value::string(&String::from_utf8_lossy(topic));
                self.last_topic = Some((topic.clone(), value.clone()));
                value
            }
        }
    }

    fn meta(&mut self, message: &Message, topic: Value) -> Arc<Map> {
        if let Some((t, qos, id, meta)) = &self.last_meta
            && *qos == message.qos
            && *id == message.message_id
            && *t == message.topic
        {
            return meta.clone();
        }
        let mut meta = Map::with_capacity(3);
        meta.insert(self.topic_key.clone(), topic);
        meta.insert(self.qos_key.clone(), Value::Int(i64::from(message.qos)));
        meta.insert(
            self.id_key.clone(),
            Value::Int(i64::from(message.message_id)),
        );
        let meta = Arc::new(meta);
        self.last_meta = Some((
            message.topic.clone(),
            message.qos,
            message.message_id,
            meta.clone(),
        ));
        meta
    }

    fn decode(
        &mut self,
        messages: impl Iterator<Item = Message>,
        out: &SourceOutput,
    ) -> Vec<Tuple> {
        let mut tuples = Vec::new();
        let mut rows: Vec<Row> = Vec::new();
        for message in messages {
            let topic = self.topic(&message.topic);
            if message.payload.len() > self.max_payload {
                out.error(&format!(
                    "message on {topic} dropped: its payload of {} bytes is over maxPayloadSize ({} bytes)",
                    message.payload.len(),
                    self.max_payload
                ));
                continue;
            }
            if let Err(e) = decode_json_rows(&mut self.json, &message.payload, |row| rows.push(row))
            {
                rows.clear();
                out.error(&format!("message on {topic} dropped: {e}"));
                continue;
            }
            let meta = Some(self.meta(&message, topic));
            tuples.extend(rows.drain(..).map(|row| Tuple::new(row, meta.clone())));
        }
        tuples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_subscriptions_are_checked() {
        assert_eq!(shared_subscription_topic("$share/g/a/+"), Ok("a/+"));
        assert_eq!(shared_subscription_topic("a/#"), Ok("a/#"));
        assert!(shared_subscription_topic("$share/a").is_err());
        assert!(shared_subscription_topic("$share//a").is_err());
    }
}
