//! `sinkbridge serve`'s settings. Each comes, first found, from its command-line flag, its
//! environment variable (`SINKBRIDGE_...`, which clap reads with the flag), the TOML config
//! file (`--config`), or its default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One layer of settings, every one optional: the config file's, or those given on the
/// command line and in the environment.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct PartialSettings {
    pub data_dir: Option<PathBuf>,
    pub plugins_dir: Option<PathBuf>,
    pub sources_dir: Option<PathBuf>,
    pub bind: Option<String>,
    pub auth_token: Option<String>,
    pub allowed_modules: Option<Vec<String>>,
    pub max_body_bytes: Option<usize>,
    pub log_level: Option<String>,
}

/// The settings a server runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeSettings {
    pub data_dir: PathBuf,
    pub plugins_dir: PathBuf,
    pub sources_dir: Option<PathBuf>,
    pub bind: SocketAddr,
    pub auth_token: Option<String>,
    /// Top-level Python packages whose `package.module:Class` sinks rules created over REST
    /// may name. Empty: none, since naming one imports code.
    pub allowed_modules: Vec<String>,
    pub max_body_bytes: usize,
}

pub const DEFAULT_BIND: &str = "127.0.0.1:9081";
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

impl PartialSettings {
    pub fn read(path: &Path) -> Result<PartialSettings, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
    }
}

impl ServeSettings {
    /// Merges what was given over the file's settings over the defaults, and checks the
    /// result: a server reachable from other machines must require a token.
    pub fn resolve(given: PartialSettings, file: PartialSettings) -> Result<ServeSettings, String> {
        let bind_text = given
            .bind
            .or(file.bind)
            .unwrap_or_else(|| DEFAULT_BIND.to_string());
        let bind: SocketAddr = bind_text.parse().map_err(|_| {
            format!("bind: {bind_text:?} is not an address and port such as 127.0.0.1:9081")
        })?;
        let auth_token = given
            .auth_token
            .or(file.auth_token)
            .filter(|t| !t.is_empty());
        if !bind.ip().is_loopback() && auth_token.is_none() {
            return Err(format!(
                "bind: {bind} is reachable from other machines, and no auth token is set, so \
                 anyone who can reach it could create rules that run code; set --auth-token \
                 (or SINKBRIDGE_AUTH_TOKEN, or auth_token in the config file), or bind to \
                 127.0.0.1"
            ));
        }
        let allowed_modules = given
            .allowed_modules
            .or(file.allowed_modules)
            .unwrap_or_default()
            .into_iter()
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty())
            .collect();
        let max_body_bytes = given
            .max_body_bytes
            .or(file.max_body_bytes)
            .unwrap_or(DEFAULT_MAX_BODY_BYTES);
        Ok(ServeSettings {
            data_dir: given
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| "data".into()),
            plugins_dir: given
                .plugins_dir
                .or(file.plugins_dir)
                .unwrap_or_else(|| "sinks".into()),
            sources_dir: given.sources_dir.or(file.sources_dir),
            bind,
            auth_token,
            allowed_modules,
            max_body_bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_environment_override_the_file_which_overrides_defaults() {
        let file: PartialSettings = toml::from_str(
            "data_dir = \"/var/lib/sb\"\nbind = \"127.0.0.1:9999\"\nallowed_modules = [\"acme\"]\n",
        )
        .unwrap();
        let given = PartialSettings {
            bind: Some("127.0.0.1:7000".into()),
            ..PartialSettings::default()
        };
        let s = ServeSettings::resolve(given, file).unwrap();
        assert_eq!(s.bind.to_string(), "127.0.0.1:7000");
        assert_eq!(s.data_dir, PathBuf::from("/var/lib/sb"));
        assert_eq!(s.plugins_dir, PathBuf::from("sinks"));
        assert_eq!(s.allowed_modules, vec!["acme".to_string()]);
        assert_eq!(s.max_body_bytes, DEFAULT_MAX_BODY_BYTES);
    }

    #[test]
    fn an_unknown_key_in_the_file_is_refused_by_name() {
        let err = toml::from_str::<PartialSettings>("dta_dir = \"x\"").unwrap_err();
        assert!(err.to_string().contains("dta_dir"), "{err}");
    }

    #[test]
    fn a_public_address_needs_a_token() {
        let given = || PartialSettings {
            bind: Some("0.0.0.0:9081".into()),
            ..PartialSettings::default()
        };
        let err = ServeSettings::resolve(given(), PartialSettings::default()).unwrap_err();
        assert!(err.contains("--auth-token"), "{err}");
        let with_token = PartialSettings {
            auth_token: Some("s3cret".into()),
            ..given()
        };
        assert!(ServeSettings::resolve(with_token, PartialSettings::default()).is_ok());
    }
}
