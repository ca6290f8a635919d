//! Turns merged options into what the server runs with: server-wide settings and, in
//! single-app mode (an `appId` was given), that app's configuration.

use std::path::{Path, PathBuf};

use reparse_server::ip_allow::IpAllowList;
use reparse_server::{AccountOptions, AppConfig};
use serde_json::{Map, Value};

/// Where an app's data lives.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Database {
    Sqlite(PathBuf),
    /// A `postgres://` URL (parse-server's layout, in the `public` schema).
    Postgres(String),
}

impl Database {
    /// Reads `databaseURI`: `sqlite://<path>` or a plain path select SQLite.
    pub(crate) fn from_uri(uri: &str) -> Result<Database, String> {
        if let Some(path) = uri.strip_prefix("sqlite://") {
            return Ok(Database::Sqlite(PathBuf::from(path)));
        }
        if uri.starts_with("postgres://") || uri.starts_with("postgresql://") {
            return Ok(Database::Postgres(uri.to_string()));
        }
        if uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://") {
            return Err("databaseURI: MongoDB is not supported; migrate by import (see the README)".into());
        }
        if uri.contains("://") {
            return Err(format!("databaseURI: unsupported scheme in {uri:?}"));
        }
        Ok(Database::Sqlite(PathBuf::from(uri)))
    }
}

/// Options that configure the server rather than one app; the only ones that make sense when
/// serving the registry's apps (every other option describes a single app).
pub(crate) const SERVER_WIDE: [&str; 6] =
    ["port", "host", "mountPath", "serverURL", "publicServerURL", "maxUploadSize"];

/// Server-wide settings.
#[derive(Debug, Clone)]
pub(crate) struct ServerSettings {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) mount_path: String,
    pub(crate) max_body_bytes: usize,
    /// `serverURL` if set; otherwise derived from the bound address.
    pub(crate) server_url: Option<String>,
    pub(crate) public_server_url: Option<String>,
}

fn text(options: &Map<String, Value>, key: &str) -> Option<String> {
    options.get(key).and_then(Value::as_str).map(str::to_string)
}

fn integer(options: &Map<String, Value>, key: &str) -> Option<u64> {
    options.get(key).and_then(Value::as_u64)
}

fn flag(options: &Map<String, Value>, key: &str) -> Option<bool> {
    options.get(key).and_then(Value::as_bool)
}

impl ServerSettings {
    pub(crate) fn from_options(options: &Map<String, Value>) -> Result<ServerSettings, String> {
        let port = integer(options, "port").unwrap_or(1337);
        let port = u16::try_from(port).map_err(|_| format!("port {port} is out of range"))?;
        let mount_path = text(options, "mountPath").unwrap_or_else(|| "/parse".into());
        if !mount_path.starts_with('/') {
            return Err(format!("mountPath {mount_path:?} must start with '/'"));
        }
        Ok(ServerSettings {
            host: text(options, "host").unwrap_or_else(|| "0.0.0.0".into()),
            port,
            mount_path: match mount_path.trim_end_matches('/') {
                "" => "/".to_string(),
                trimmed => trimmed.to_string(),
            },
            max_body_bytes: integer(options, "maxUploadSize").unwrap_or(20 * 1024 * 1024) as usize,
            server_url: text(options, "serverURL"),
            public_server_url: text(options, "publicServerURL"),
        })
    }

    /// The URL clients use, once the port is known.
    pub(crate) fn public_url(&self, bound_port: u16) -> String {
        if let Some(url) = self.public_server_url.as_ref().or(self.server_url.as_ref()) {
            return url.trim_end_matches('/').to_string();
        }
        let host = match self.host.as_str() {
            "0.0.0.0" | "::" | "" => "127.0.0.1",
            host => host,
        };
        let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
        format!("http://{host}:{bound_port}{}", self.mount_path.trim_end_matches('/'))
    }
}

/// Applies the per-app options (from a config file, env, flags, or registry settings).
pub(crate) fn apply_app_options(config: &mut AppConfig, options: &Map<String, Value>) -> Result<(), String> {
    if let Some(name) = text(options, "appName") {
        config.name = name;
    }
    config.read_only_master_key = text(options, "readOnlyMasterKey").or(config.read_only_master_key.take());
    config.client_key = text(options, "clientKey").or(config.client_key.take());
    config.javascript_key = text(options, "javascriptKey").or(config.javascript_key.take());
    config.rest_api_key = text(options, "restAPIKey").or(config.rest_api_key.take());
    config.dotnet_key = text(options, "dotNetKey").or(config.dotnet_key.take());
    if let Some(allow) = flag(options, "allowClientClassCreation") {
        config.allow_client_class_creation = allow;
    }
    if let Some(allow) = flag(options, "allowCustomObjectId") {
        config.allow_custom_object_id = allow;
    }
    if let Some(max) = integer(options, "maxLimit") {
        config.max_limit = Some(max);
    }
    if let Some(size) = integer(options, "objectIdSize") {
        config.object_id_size = (size as usize).clamp(1, 64);
    }
    config.accounts = AccountOptions::from_options(options)?;
    if let Some(ips) = options.get("masterKeyIps") {
        let entries: Vec<&str> = match ips {
            Value::Array(list) => list
                .iter()
                .map(|v| v.as_str().ok_or("masterKeyIps: entries must be strings"))
                .collect::<Result<_, _>>()?,
            Value::String(text) => text.split(',').collect(),
            _ => return Err("masterKeyIps must be a list of addresses".into()),
        };
        config.master_key_ips = IpAllowList::parse(entries)?;
    }
    Ok(())
}

/// The single app a config file (or `--app-id`) describes, and where its data goes.
pub(crate) fn single_app(
    options: &Map<String, Value>,
    data_dir: &Path,
    public_url: &str,
) -> Result<(AppConfig, Database), String> {
    let app_id = text(options, "appId").ok_or("appId is required")?;
    let master_key = text(options, "masterKey").ok_or("masterKey is required when appId is given")?;
    let mut config = AppConfig::new(&app_id, &master_key, public_url);
    apply_app_options(&mut config, options)?;
    let database = match text(options, "databaseURI") {
        Some(uri) => Database::from_uri(&uri)?,
        None => Database::Sqlite(data_dir.join("apps").join(&app_id).join("data.sqlite")),
    };
    Ok((config, database))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_database_uris() {
        assert_eq!(Database::from_uri("sqlite:///tmp/x.db").unwrap(), Database::Sqlite("/tmp/x.db".into()));
        assert_eq!(
            Database::from_uri("data/app.sqlite").unwrap(),
            Database::Sqlite("data/app.sqlite".into())
        );
        assert_eq!(
            Database::from_uri("postgres://localhost/db").unwrap(),
            Database::Postgres("postgres://localhost/db".into())
        );
        assert!(Database::from_uri("mongodb://x").is_err());
    }

    #[test]
    fn derives_the_public_url() {
        let settings = ServerSettings::from_options(&Map::new()).unwrap();
        assert_eq!(settings.port, 1337);
        assert_eq!(settings.public_url(4000), "http://127.0.0.1:4000/parse");
    }
}
