//! Turns merged options into what the server runs with: server-wide settings and, in
//! single-app mode (an `appId` was given), that app's configuration.

use std::path::{Path, PathBuf};

use reparse_server::files::FileUploadOptions;
use reparse_server::ip_allow::IpAllowList;
use reparse_server::live_query::LiveQueryOptions;
use reparse_server::{AccountOptions, AppConfig};
use reparse_storage_postgres::PostgresOptions;
use serde_json::{Map, Value};

/// Where an app's data lives.
#[derive(Debug, Clone)]
pub(crate) enum Database {
    Sqlite(PathBuf),
    /// A `postgres://` database (parse-server's layout, in the `public` schema).
    Postgres(Box<PostgresOptions>),
}

/// Reads a `postgres://` URL and applies `databaseOptions`: a bad parameter or option stops
/// the start, named.
pub(crate) fn postgres_options(
    uri: &str,
    database_options: Option<&Map<String, Value>>,
) -> Result<PostgresOptions, String> {
    let mut options = PostgresOptions::from_url(uri).map_err(|error| error.message)?;
    if let Some(database_options) = database_options {
        options.apply_database_options(database_options).map_err(|error| error.message)?;
    }
    Ok(options)
}

fn is_postgres_uri(uri: &str) -> bool {
    uri.starts_with("postgres://") || uri.starts_with("postgresql://")
}

impl Database {
    /// Reads `databaseURI` (with `databaseOptions`, which only PostgreSQL takes):
    /// `sqlite://<path>` or a plain path select SQLite.
    pub(crate) fn from_uri(
        uri: &str,
        database_options: Option<&Map<String, Value>>,
    ) -> Result<Database, String> {
        if is_postgres_uri(uri) {
            return Ok(Database::Postgres(Box::new(postgres_options(uri, database_options)?)));
        }
        if database_options.is_some() {
            return Err(
                "databaseOptions configures PostgreSQL connections; this databaseURI is not postgres://"
                    .into(),
            );
        }
        if let Some(path) = uri.strip_prefix("sqlite://") {
            return Ok(Database::Sqlite(PathBuf::from(path)));
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
/// serving the registry's apps (every other option describes a single app). There,
/// `databaseOptions` configures the connections to `appsDatabaseURI`.
pub(crate) const SERVER_WIDE: [&str; 9] = [
    "port",
    "host",
    "mountPath",
    "serverURL",
    "publicServerURL",
    "maxUploadSize",
    "appsDatabaseURI",
    "appsFilesAdapter",
    "databaseOptions",
];

/// The PostgreSQL database the registry's apps keep their data in, if `appsDatabaseURI` says.
pub(crate) fn apps_database(options: &Map<String, Value>) -> Result<Option<PostgresOptions>, String> {
    let database_options = options.get("databaseOptions").and_then(Value::as_object);
    match text(options, "appsDatabaseURI") {
        Some(uri) if is_postgres_uri(&uri) => {
            postgres_options(&uri, database_options).map(Some).map_err(|error| format!("appsDatabaseURI: {error}"))
        }
        // Not repeated in the message: a URL may carry a password.
        Some(_) => Err("appsDatabaseURI must be a postgres:// URL".into()),
        None if database_options.is_some() => {
            Err("databaseOptions configures PostgreSQL connections: give appsDatabaseURI (or appId and databaseURI)".into())
        }
        None => Ok(None),
    }
}

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
    if let Some(file_upload) = options.get("fileUpload") {
        config.file_upload = FileUploadOptions::from_json(file_upload)?;
    }
    if let Some(preserve) = flag(options, "preserveFileName") {
        config.preserve_file_name = preserve;
    }
    if let Some(key) = text(options, "webhookKey") {
        config.webhook_key = Some(key);
    }
    if let Some(live_query) = options.get("liveQuery") {
        config.live_query = live_query_options(live_query)?;
    }
    if let Some(server_options) = options.get("liveQueryServerOptions") {
        live_query_server_options(server_options, &config.app_id, &mut config.live_query)?;
    }
    if flag(options, "startLiveQueryServer") == Some(false) {
        return Err(
            "startLiveQueryServer: false is not supported: LiveQuery is served on the server's port \
                    for the classes liveQuery names (leave liveQuery out to serve none)"
                .into(),
        );
    }
    Ok(())
}

/// parse-server's `liveQuery` option: `{classNames: [...], redisURL}`.
fn live_query_options(value: &Value) -> Result<LiveQueryOptions, String> {
    let object = value.as_object().ok_or("liveQuery must be an object")?;
    let mut options = LiveQueryOptions::default();
    for (key, value) in object {
        match key.as_str() {
            "classNames" => {
                let names = value.as_array().ok_or("liveQuery.classNames must be a list of class names")?;
                for name in names {
                    let name = name.as_str().ok_or("liveQuery.classNames must be a list of class names")?;
                    options.class_names.insert(name.to_string());
                }
            }
            "redisURL" => {
                let url =
                    value.as_str().filter(|url| url.starts_with("redis://") || url.starts_with("rediss://"));
                let url = url.ok_or("liveQuery.redisURL must be a redis:// or rediss:// URL")?;
                options.redis_url = Some(url.to_string());
            }
            // Reparse's own: how far a connection may fall behind before it is closed.
            "queueLimit" => {
                let limit = value.as_u64().filter(|limit| (1..=100_000).contains(limit));
                let limit =
                    limit.ok_or("liveQuery.queueLimit must be a number of events from 1 to 100000")?;
                options.queue_limit = Some(limit as usize);
            }
            other => return Err(format!("liveQuery.{other} is not supported yet")),
        }
    }
    Ok(options)
}

/// parse-server's `liveQueryServerOptions`, for the LiveQuery server on the app's port:
/// `websocketTimeout` (ms between keep-alive pings), `keyPairs` (the keys a client connects
/// with), `redisURL` (when `liveQuery` names none). `cacheTimeout` and `logLevel` are accepted
/// and have nothing to set: sessions and roles are cached by the server for every request and
/// dropped when they change. A port of its own is refused.
fn live_query_server_options(
    value: &Value,
    app_id: &str,
    options: &mut LiveQueryOptions,
) -> Result<(), String> {
    let object = value.as_object().ok_or("liveQueryServerOptions must be an object")?;
    for (key, value) in object {
        match key.as_str() {
            "websocketTimeout" => {
                let ms = value.as_u64().filter(|ms| (100..=3_600_000).contains(ms));
                let ms = ms.ok_or(
                    "liveQueryServerOptions.websocketTimeout must be milliseconds from 100 to 3600000",
                )?;
                options.websocket_timeout = Some(std::time::Duration::from_millis(ms));
            }
            "keyPairs" => {
                let pairs =
                    value.as_object().ok_or("liveQueryServerOptions.keyPairs must be an object of keys")?;
                for (name, key) in pairs {
                    let key =
                        key.as_str().ok_or("liveQueryServerOptions.keyPairs must be an object of keys")?;
                    options.key_pairs.push((name.clone(), key.to_string()));
                }
            }
            "redisURL" => {
                let url =
                    value.as_str().filter(|url| url.starts_with("redis://") || url.starts_with("rediss://"));
                let url = url.ok_or("liveQueryServerOptions.redisURL must be a redis:// or rediss:// URL")?;
                options.redis_url.get_or_insert_with(|| url.to_string());
            }
            "appId" if value.as_str() != Some(app_id) => {
                return Err("liveQueryServerOptions.appId must be the app's appId".into());
            }
            "appId" | "masterKey" | "serverURL" | "cacheTimeout" | "logLevel" => {}
            "port" => {
                return Err("liveQueryServerOptions.port is not supported: LiveQuery is served on the \
                            server's own port"
                    .into());
            }
            other => return Err(format!("liveQueryServerOptions.{other} is not supported yet")),
        }
    }
    Ok(())
}

/// Where a single app's files go by default: beside its SQLite file, or under the data folder
/// when its data is in PostgreSQL.
pub(crate) fn default_files_folder(database: &Database, data_dir: &Path, app_id: &str) -> PathBuf {
    match database {
        Database::Sqlite(path) => {
            path.parent().map_or_else(|| PathBuf::from("files"), |parent| parent.join("files"))
        }
        Database::Postgres(_) => data_dir.join("apps").join(app_id).join("files"),
    }
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
    if options.contains_key("appsDatabaseURI") {
        return Err("appsDatabaseURI is where the registry's apps keep their data; to serve one app \
                    (appId) from PostgreSQL, give databaseURI"
            .into());
    }
    let database_options = options.get("databaseOptions").and_then(Value::as_object);
    let database = match text(options, "databaseURI") {
        Some(uri) => Database::from_uri(&uri, database_options)?,
        None if database_options.is_some() => {
            return Err(
                "databaseOptions configures PostgreSQL connections: give a postgres:// databaseURI".into()
            );
        }
        None => Database::Sqlite(data_dir.join("apps").join(&app_id).join("data.sqlite")),
    };
    Ok((config, database))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_database_uris() {
        let sqlite = |uri: &str| match Database::from_uri(uri, None).unwrap() {
            Database::Sqlite(path) => path,
            other => panic!("{other:?}"),
        };
        assert_eq!(sqlite("sqlite:///tmp/x.db"), PathBuf::from("/tmp/x.db"));
        assert_eq!(sqlite("data/app.sqlite"), PathBuf::from("data/app.sqlite"));
        match Database::from_uri("postgres://localhost/db?max=3", None).unwrap() {
            Database::Postgres(options) => {
                assert_eq!(options.describe(), "localhost:5432/db");
                assert_eq!(options.pool_size(), 3);
            }
            other => panic!("{other:?}"),
        }
        assert!(Database::from_uri("mongodb://x", None).is_err());
    }

    #[test]
    fn files_default_beside_the_sqlite_file() {
        let sqlite = Database::Sqlite(PathBuf::from("/x/app.sqlite"));
        assert_eq!(default_files_folder(&sqlite, Path::new("/d"), "a"), PathBuf::from("/x/files"));
    }

    #[test]
    fn database_options_configure_postgresql_only() {
        let options: Map<String, Value> = serde_json::from_str(r#"{"max": 4}"#).unwrap();
        match Database::from_uri("postgres://localhost/db", Some(&options)).unwrap() {
            Database::Postgres(postgres) => assert_eq!(postgres.pool_size(), 4),
            other => panic!("{other:?}"),
        }
        let error = Database::from_uri("sqlite:///tmp/x.db", Some(&options)).unwrap_err();
        assert!(error.contains("databaseOptions"), "{error}");
        let bad: Map<String, Value> = serde_json::from_str(r#"{"statement_timeout": "soon"}"#).unwrap();
        let error = Database::from_uri("postgres://localhost/db", Some(&bad)).unwrap_err();
        assert!(error.contains("databaseOptions.statement_timeout"), "{error}");
    }

    #[test]
    fn the_apps_database_is_a_postgresql_url() {
        let options = |json: &str| -> Map<String, Value> { serde_json::from_str(json).unwrap() };
        assert!(apps_database(&options("{}")).unwrap().is_none());
        let database = apps_database(&options(
            r#"{"appsDatabaseURI": "postgres://db/apps", "databaseOptions": {"max": 9}}"#,
        ))
        .unwrap()
        .unwrap();
        assert_eq!(database.pool_size(), 9);
        assert!(
            apps_database(&options(r#"{"appsDatabaseURI": "sqlite:///x"}"#))
                .unwrap_err()
                .contains("postgres://")
        );
        assert!(
            apps_database(&options(r#"{"databaseOptions": {"max": 9}}"#))
                .unwrap_err()
                .contains("appsDatabaseURI")
        );
        assert!(
            apps_database(&options(r#"{"appsDatabaseURI": "postgres://db/apps?sslmode=maybe"}"#))
                .unwrap_err()
                .starts_with("appsDatabaseURI: ")
        );
    }

    #[test]
    fn derives_the_public_url() {
        let settings = ServerSettings::from_options(&Map::new()).unwrap();
        assert_eq!(settings.port, 1337);
        assert_eq!(settings.public_url(4000), "http://127.0.0.1:4000/parse");
    }
}
