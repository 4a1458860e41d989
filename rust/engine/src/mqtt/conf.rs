//! The connection properties the MQTT source and sink share, with eKuiper's names, and the TLS
//! configuration they imply.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::QoS;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde_json::{Map as JsonMap, Value as Json};

use crate::rule::json_type_name;

pub const DEFAULT_SERVER: &str = "tcp://127.0.0.1:1883";

/// The properties of the connection itself, accepted by the source and the sink alike.
pub const CONNECTION_PROPERTIES: &[&str] = &[
    "server",
    "username",
    "password",
    "clientid",
    "clientId",
    "protocolVersion",
    "certificationPath",
    "privateKeyPath",
    "rootCaPath",
    "insecureSkipVerify",
    "keepAlive",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V311,
    V5,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConf {
    root_ca: Option<PathBuf>,
    certificate: Option<PathBuf>,
    private_key: Option<PathBuf>,
    insecure_skip_verify: bool,
}

/// Where and how to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnConf {
    /// The `server` property as written, for messages.
    pub server: String,
    pub host: String,
    pub port: u16,
    pub tls: Option<TlsConf>,
    pub credentials: Option<(String, String)>,
    /// A fixed client id; without one, each connection gets a fresh one.
    pub client_id: Option<String>,
    pub version: Version,
    pub keep_alive: Duration,
}

/// Reads a property as text; numbers are accepted too, as YAML writes `protocolVersion: 5`.
fn text(props: &JsonMap<String, Json>, key: &str) -> Result<Option<String>, String> {
    match props.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(Json::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(format!(
            "{key}: expected a string, found {}",
            json_type_name(other)
        )),
    }
}

fn flag(props: &JsonMap<String, Json>, key: &str) -> Result<bool, String> {
    match props.get(key) {
        None | Some(Json::Null) => Ok(false),
        Some(Json::Bool(b)) => Ok(*b),
        Some(Json::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
        Some(other) => Err(format!(
            "{key}: expected true or false, found {}",
            json_type_name(other)
        )),
    }
}

/// `qos`: 0, 1 or 2, as a number or a string.
pub fn read_qos(props: &JsonMap<String, Json>, default: QoS) -> Result<QoS, String> {
    let qos = match props.get("qos") {
        None | Some(Json::Null) => return Ok(default),
        Some(Json::Number(n)) => n.as_u64(),
        Some(Json::String(s)) => s.trim().parse::<u64>().ok(),
        Some(_) => None,
    };
    match qos {
        Some(0) => Ok(QoS::AtMostOnce),
        Some(1) => Ok(QoS::AtLeastOnce),
        Some(2) => Ok(QoS::ExactlyOnce),
        _ => Err(format!(
            "qos: expected 0, 1 or 2, found {}",
            props.get("qos").map(Json::to_string).unwrap_or_default()
        )),
    }
}

/// A size such as `1048576`, `"512KB"` or `"10MB"` (binary multiples).
pub fn read_size(props: &JsonMap<String, Json>, key: &str) -> Result<Option<usize>, String> {
    let bad = |found: &str| {
        format!("{key}: expected a size such as 1048576, \"512KB\" or \"10MB\", found {found}")
    };
    match props.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => n
            .as_u64()
            .filter(|n| *n > 0)
            .map(|n| Some(n as usize))
            .ok_or_else(|| bad(&n.to_string())),
        Some(Json::String(s)) => {
            let upper = s.trim().to_ascii_uppercase();
            let (digits, unit) = match upper.find(|c: char| !c.is_ascii_digit()) {
                Some(i) => upper.split_at(i),
                None => (upper.as_str(), ""),
            };
            let multiple: u64 = match unit.trim() {
                "" | "B" => 1,
                "KB" | "K" | "KIB" => 1 << 10,
                "MB" | "M" | "MIB" => 1 << 20,
                "GB" | "G" | "GIB" => 1 << 30,
                _ => return Err(bad(&format!("{s:?}"))),
            };
            digits
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(|n| Some((n * multiple) as usize))
                .ok_or_else(|| bad(&format!("{s:?}")))
        }
        Some(other) => Err(bad(json_type_name(other))),
    }
}

/// Splits `tcp://host:port` (also `mqtt://`, and `ssl://`, `tls://`, `mqtts://` for TLS).
fn parse_server(server: &str) -> Result<(String, u16, bool), String> {
    let bad = |why: &str| format!("server {server:?}: {why}");
    let (scheme, rest) = server
        .split_once("://")
        .ok_or_else(|| bad("expected an address such as tcp://127.0.0.1:1883"))?;
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "tcp" | "mqtt" => false,
        "ssl" | "tls" | "mqtts" => true,
        "ws" | "wss" => return Err(bad("MQTT over websockets is not supported")),
        other => {
            return Err(bad(&format!(
                "unknown scheme {other:?}; use tcp:// or ssl:// (also tls://)"
            )));
        }
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || rest.starts_with('[') => {
            let port = port
                .parse::<u16>()
                .map_err(|_| bad(&format!("invalid port {port:?}")))?;
            (host, port)
        }
        _ => (rest, if tls { 8883 } else { 1883 }),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok((host.to_string(), port, tls))
}

/// Reads the connection properties.
pub fn read_conn(props: &JsonMap<String, Json>) -> Result<ConnConf, String> {
    let server = text(props, "server")?.unwrap_or_else(|| DEFAULT_SERVER.into());
    let (host, port, tls) = parse_server(&server)?;
    let version = match text(props, "protocolVersion")?.as_deref() {
        None | Some("3.1.1") | Some("4") | Some("3.1") => Version::V311,
        Some("5") | Some("5.0") => Version::V5,
        Some(other) => {
            return Err(format!(
                "protocolVersion: expected \"3.1.1\" or \"5\", found {other:?}"
            ));
        }
    };
    let path = |key: &str| text(props, key).map(|p| p.filter(|p| !p.is_empty()).map(PathBuf::from));
    let tls_conf = TlsConf {
        root_ca: path("rootCaPath")?,
        certificate: path("certificationPath")?,
        private_key: path("privateKeyPath")?,
        insecure_skip_verify: flag(props, "insecureSkipVerify")?,
    };
    if tls_conf.certificate.is_some() != tls_conf.private_key.is_some() {
        return Err(
            "certificationPath and privateKeyPath go together: a client certificate needs its key"
                .into(),
        );
    }
    if tls {
        // Fail at rule creation, not at the first connection attempt.
        tls_conf.client_config()?;
    }
    let username = text(props, "username")?.filter(|u| !u.is_empty());
    let password = text(props, "password")?.unwrap_or_default();
    let client_id = match text(props, "clientid")? {
        Some(id) => Some(id),
        None => text(props, "clientId")?,
    }
    .filter(|id| !id.is_empty());
    let keep_alive = match props.get("keepAlive") {
        None => Duration::from_secs(30),
        Some(v) => crate::duration::parse_duration(v)
            .map_err(|e| format!("keepAlive: {e}"))
            .and_then(|d| match d.as_secs() {
                5..=65535 => Ok(d),
                _ => Err("keepAlive: expected between 5 s and 65535 s".into()),
            })?,
    };
    Ok(ConnConf {
        server,
        host,
        port,
        tls: tls.then_some(tls_conf),
        credentials: username.map(|u| (u, password)),
        client_id,
        version,
        keep_alive,
    })
}

fn read_file(path: &PathBuf, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

impl TlsConf {
    /// The rustls configuration: the server is checked against `rootCaPath` (the system's roots
    /// without it), unless `insecureSkipVerify`; a client certificate is presented when given.
    pub fn client_config(&self) -> Result<ClientConfig, String> {
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?;
        let builder = if self.insecure_skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServer(provider)))
        } else {
            let mut roots = RootCertStore::empty();
            match &self.root_ca {
                Some(path) => {
                    let pem = read_file(path, "root CA file (rootCaPath)")?;
                    for cert in CertificateDer::pem_slice_iter(&pem) {
                        let cert = cert.map_err(|e| {
                            format!("rootCaPath {}: not a PEM certificate: {e}", path.display())
                        })?;
                        roots.add(cert).map_err(|e| {
                            format!("rootCaPath {}: unusable certificate: {e}", path.display())
                        })?;
                    }
                    if roots.is_empty() {
                        return Err(format!(
                            "rootCaPath {}: no PEM certificate in the file",
                            path.display()
                        ));
                    }
                }
                None => {
                    for cert in rustls_native_certs::load_native_certs().certs {
                        // A system certificate rustls cannot use is skipped, as browsers do.
                        let _ = roots.add(cert);
                    }
                }
            }
            builder.with_root_certificates(roots)
        };
        match (&self.certificate, &self.private_key) {
            (Some(cert_path), Some(key_path)) => {
                let pem = read_file(cert_path, "client certificate (certificationPath)")?;
                let chain = CertificateDer::pem_slice_iter(&pem)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| format!("certificationPath {}: {e}", cert_path.display()))?;
                let key_pem = read_file(key_path, "private key (privateKeyPath)")?;
                let key = PrivateKeyDer::from_pem_slice(&key_pem)
                    .map_err(|e| format!("privateKeyPath {}: {e}", key_path.display()))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| format!("certificationPath/privateKeyPath: {e}"))
            }
            _ => Ok(builder.with_no_client_auth()),
        }
    }
}

/// `insecureSkipVerify`: any server certificate is accepted; the handshake's signatures are
/// still checked, so the session is at least encrypted to whoever answered.
#[derive(Debug)]
struct AnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(v: Json) -> JsonMap<String, Json> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn servers_and_defaults() {
        let c = read_conn(&JsonMap::new()).unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.tls.is_none()),
            ("127.0.0.1", 1883, true)
        );
        assert_eq!(c.version, Version::V311);
        assert_eq!(
            parse_server("ssl://broker:8884").unwrap(),
            ("broker".into(), 8884, true)
        );
        assert_eq!(
            parse_server("tls://broker").unwrap(),
            ("broker".into(), 8883, true)
        );
        assert_eq!(
            parse_server("tcp://[::1]:1884").unwrap(),
            ("::1".into(), 1884, false)
        );
        assert!(
            parse_server("127.0.0.1:1883")
                .unwrap_err()
                .contains("tcp://")
        );
        assert!(
            parse_server("tcp://h:99999")
                .unwrap_err()
                .contains("invalid port")
        );
        assert!(
            parse_server("ws://h:80")
                .unwrap_err()
                .contains("websockets")
        );
    }

    #[test]
    fn properties_are_checked_by_name() {
        let c = read_conn(&props(json!({
            "protocolVersion": 5, "username": "u", "password": "p", "clientId": "me"
        })))
        .unwrap();
        assert_eq!(c.version, Version::V5);
        assert_eq!(c.credentials, Some(("u".into(), "p".into())));
        assert_eq!(c.client_id.as_deref(), Some("me"));
        let err = |v: Json| read_conn(&props(v)).unwrap_err();
        assert!(err(json!({"protocolVersion": "4.0"})).starts_with("protocolVersion:"));
        assert_eq!(
            err(json!({"username": true})),
            "username: expected a string, found boolean"
        );
        assert!(err(json!({"certificationPath": "/c.pem"})).contains("go together"));
        assert!(
            err(json!({"server": "ssl://h", "rootCaPath": "/nonexistent/ca.pem"}))
                .contains("cannot read the root CA file")
        );
        assert_eq!(
            read_qos(&props(json!({"qos": "2"})), QoS::AtMostOnce),
            Ok(QoS::ExactlyOnce)
        );
        assert!(
            read_qos(&props(json!({"qos": 3})), QoS::AtMostOnce)
                .unwrap_err()
                .contains("0, 1 or 2")
        );
        assert_eq!(
            read_size(&props(json!({"m": "512KB"})), "m"),
            Ok(Some(512 * 1024))
        );
        assert_eq!(read_size(&props(json!({"m": 10})), "m"), Ok(Some(10)));
        assert!(read_size(&props(json!({"m": "lots"})), "m").is_err());
    }
}
