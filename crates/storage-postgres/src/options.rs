//! How to reach PostgreSQL: a `postgres://` URL plus parse-server's `databaseOptions`, read
//! the way parse-server (node-postgres through pg-promise) and libpq read them.
//!
//! URL parameters Reparse reads itself (any other goes to tokio-postgres, which knows libpq's
//! `connect_timeout`, `keepalives`, `options`, `target_session_attrs`, … and refuses names it
//! does not know, so nothing is silently ignored):
//!
//! | parameter | meaning |
//! |---|---|
//! | `sslmode` | libpq's `disable`, `prefer`, `require`, `verify-ca`, `verify-full` (`require` with a root certificate given is `verify-ca`, as in libpq) |
//! | `ssl=true` | parse-server's: TLS with the certificate and host name verified (`verify-full`) |
//! | `rejectUnauthorized=false` | parse-server's: TLS, nothing verified (`require`) |
//! | `sslrootcert`, `ca` | PEM file of the authorities to trust (default: Mozilla's list, as Node's); `sslrootcert=system` names that default (with `verify-full` only, as in libpq) |
//! | `sslcert` + `sslkey`, `cert` + `key` | PEM files of a client certificate and its unencrypted key |
//! | `max`, `poolSize` | connections in the pool (default 16) |
//! | `statement_timeout`, `query_timeout` | milliseconds a statement may run; past it the request fails with code 124 |
//! | `connectionTimeoutMillis` | milliseconds to wait for a connection (opening one, or a free one from the pool) |
//! | `fallback_application_name` | `application_name` when that is not given |
//! | `client_encoding` | must be `UTF8` (all tokio-postgres speaks) |
//! | `binary`, `keepAlive` | node-postgres's result format (Reparse always reads binary) and TCP keepalives |
//!
//! Without any TLS parameter the connection is plain, as parse-server's is (libpq would try TLS
//! first: say `sslmode=prefer` for that). A `ca`/`cert`/`key` without a mode means
//! `verify-full`, as parse-server's `ssl: {ca}` does. `sslmode` together with parse-server's
//! `ssl`/`rejectUnauthorized` is refused as ambiguous. parse-server's `pfx`, `passphrase`,
//! `secureOptions` and `idleTimeoutMillis` are refused by name.
//!
//! `databaseOptions` keys: `max`/`maxPoolSize`, `statement_timeout`/`query_timeout`,
//! `connectionTimeoutMillis`, `application_name`, `ssl` (`true`, `false`, or node's
//! `{ca, cert, key, rejectUnauthorized}` with PEM text), and parse-server's own
//! `enableSchemaHooks`, `schemaCacheTtl`, `disableIndexFieldValidation`, `allowPublicExplain`
//! (accepted at the values that change nothing, refused otherwise). Any other key is refused.

use std::sync::Arc;
use std::time::Duration;

use reparse_core::{ParseError, ParseResult};
use rustls::pki_types::CertificateDer;
use serde_json::{Map, Value};

use crate::tls::{ClientIdentity, SslMode, certificates_from_pem};

/// Connections in the pool when no option says.
pub const DEFAULT_POOL_SIZE: usize = 16;

/// Everything needed to open connections to one PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    pub(crate) config: tokio_postgres::Config,
    pub(crate) ssl_mode: SslMode,
    /// Authorities to trust; `None`: Mozilla's.
    pub(crate) roots: Option<Arc<Vec<CertificateDer<'static>>>>,
    pub(crate) identity: Option<Arc<ClientIdentity>>,
    pub(crate) pool_size: usize,
    pub(crate) statement_timeout: Option<Duration>,
    pub(crate) connection_timeout: Option<Duration>,
    /// Where the TLS settings came from, so that a second source is refused, not merged.
    tls_source: Option<&'static str>,
}

fn invalid(message: impl Into<String>) -> ParseError {
    ParseError::internal(message)
}

/// What the URL and the options say about TLS, before it is resolved to one mode.
#[derive(Default)]
struct TlsRequest {
    ssl_mode: Option<SslMode>,
    /// parse-server's `ssl=true|false`.
    node_ssl: Option<bool>,
    reject_unauthorized: Option<bool>,
    roots: Option<Vec<CertificateDer<'static>>>,
    /// `sslrootcert=system`: the default authorities, said explicitly.
    system_roots: bool,
    identity: Option<ClientIdentity>,
}

impl TlsRequest {
    fn is_empty(&self) -> bool {
        self.ssl_mode.is_none()
            && self.node_ssl.is_none()
            && self.reject_unauthorized.is_none()
            && self.roots.is_none()
            && !self.system_roots
            && self.identity.is_none()
    }

    fn resolve(&self, source: &str) -> ParseResult<SslMode> {
        if let Some(mode) = self.ssl_mode {
            if self.node_ssl.is_some() || self.reject_unauthorized.is_some() {
                return Err(invalid(format!(
                    "{source}: give either sslmode (libpq's) or ssl/rejectUnauthorized (parse-server's), not both"
                )));
            }
            if self.system_roots && mode != SslMode::VerifyFull {
                // As libpq 16: the system's authorities vouch for names, so only verify-full.
                return Err(invalid(format!("{source}: sslrootcert=system needs sslmode=verify-full")));
            }
            return Ok(match mode {
                SslMode::Require if self.roots.is_some() => SslMode::VerifyCa,
                mode => mode,
            });
        }
        let wants_tls = self.node_ssl == Some(true)
            || self.reject_unauthorized.is_some()
            || self.roots.is_some()
            || self.system_roots
            || self.identity.is_some();
        Ok(match (wants_tls, self.reject_unauthorized) {
            (false, _) => SslMode::Disable,
            (true, Some(false)) => SslMode::Require,
            (true, _) => SslMode::VerifyFull,
        })
    }
}

fn read_file(path: &str, parameter: &str) -> ParseResult<Vec<u8>> {
    std::fs::read(path).map_err(|error| invalid(format!("{parameter}: cannot read {path}: {error}")))
}

fn flag(text: &str, parameter: &str) -> ParseResult<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(invalid(format!("{parameter}: {text:?} is not true or false"))),
    }
}

fn pool_size(value: u64, parameter: &str) -> ParseResult<usize> {
    match usize::try_from(value) {
        Ok(size) if (1..=10_000).contains(&size) => Ok(size),
        _ => Err(invalid(format!("{parameter}: {value} is not a pool size (1 to 10000)"))),
    }
}

fn milliseconds(value: u64) -> Option<Duration> {
    (value > 0).then(|| Duration::from_millis(value))
}

fn whole_number(text: &str, parameter: &str) -> ParseResult<u64> {
    text.trim().parse().map_err(|_| invalid(format!("{parameter}: {text:?} is not a whole number")))
}

impl PostgresOptions {
    /// Plain connections with `config`, the default pool and no timeouts.
    pub fn from_config(config: tokio_postgres::Config) -> PostgresOptions {
        PostgresOptions {
            config,
            ssl_mode: SslMode::Disable,
            roots: None,
            identity: None,
            pool_size: DEFAULT_POOL_SIZE,
            statement_timeout: None,
            connection_timeout: None,
            tls_source: None,
        }
    }

    /// Reads a `postgres://` (or `postgresql://`) URL. Files it names (certificates) are read
    /// now, so that a bad one stops the start.
    pub fn from_url(url: &str) -> ParseResult<PostgresOptions> {
        const SOURCE: &str = "databaseURI";
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut passed_on: Vec<(String, String)> = Vec::new();
        let mut tls = TlsRequest::default();
        let mut root_file: Option<(String, &str)> = None;
        let mut cert_file: Option<(String, &str)> = None;
        let mut key_file: Option<(String, &str)> = None;
        let mut pool: Option<usize> = None;
        let mut statement_timeout = None;
        let mut connection_timeout = None;
        let mut application_name = None;
        let mut fallback_application_name = None;
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let (name, value) = (name.into_owned(), value.into_owned());
            let take = |slot: &mut Option<(String, &'static str)>, parameter: &'static str| {
                if let Some((_, earlier)) = slot {
                    return Err(invalid(format!(
                        "{SOURCE}: {earlier} and {parameter} both name the same file"
                    )));
                }
                *slot = Some((value.clone(), parameter));
                Ok(())
            };
            match name.as_str() {
                "sslmode" => {
                    tls.ssl_mode = Some(SslMode::parse(&value).ok_or_else(|| {
                        invalid(format!(
                            "{SOURCE}: sslmode {value:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                        ))
                    })?);
                }
                "ssl" => tls.node_ssl = Some(flag(&value, "ssl")?),
                "rejectUnauthorized" => tls.reject_unauthorized = Some(flag(&value, "rejectUnauthorized")?),
                "sslrootcert" if value == "system" => tls.system_roots = true,
                "sslrootcert" => take(&mut root_file, "sslrootcert")?,
                "ca" => take(&mut root_file, "ca")?,
                "sslcert" => take(&mut cert_file, "sslcert")?,
                "cert" => take(&mut cert_file, "cert")?,
                "sslkey" => take(&mut key_file, "sslkey")?,
                "key" => take(&mut key_file, "key")?,
                "max" | "poolSize" => pool = Some(pool_size(whole_number(&value, &name)?, &name)?),
                "statement_timeout" | "query_timeout" => {
                    statement_timeout = Some(milliseconds(whole_number(&value, &name)?));
                }
                "connectionTimeoutMillis" => {
                    connection_timeout = Some(milliseconds(whole_number(&value, &name)?));
                }
                "application_name" => application_name = Some(value),
                "fallback_application_name" => fallback_application_name = Some(value),
                "client_encoding"
                    if value.eq_ignore_ascii_case("utf8") || value.eq_ignore_ascii_case("utf-8") => {}
                "client_encoding" => {
                    return Err(invalid(format!(
                        "{SOURCE}: client_encoding {value:?}: only UTF8 is supported"
                    )));
                }
                // node-postgres's text/binary result format: Reparse always reads binary.
                "binary" => {
                    flag(&value, "binary")?;
                }
                "keepAlive" => {
                    passed_on.push(("keepalives".into(), (flag(&value, "keepAlive")? as u8).to_string()))
                }
                "pfx" | "passphrase" | "secureOptions" | "sslpassword" | "idleTimeoutMillis" => {
                    return Err(invalid(format!(
                        "{SOURCE}: the parameter {name} is not supported by Reparse"
                    )));
                }
                _ => passed_on.push((name, value)),
            }
        }
        if let Some((path, parameter)) = &root_file {
            tls.roots =
                Some(certificates_from_pem(&read_file(path, parameter)?, &format!("{parameter} {path}"))?);
        }
        match (&cert_file, &key_file) {
            (Some((cert_path, cert_parameter)), Some((key_path, key_parameter))) => {
                tls.identity = Some(ClientIdentity::from_pem(
                    &read_file(cert_path, cert_parameter)?,
                    &format!("{cert_parameter} {cert_path}"),
                    &read_file(key_path, key_parameter)?,
                    &format!("{key_parameter} {key_path}"),
                )?);
            }
            (None, None) => {}
            _ => {
                return Err(invalid(format!(
                    "{SOURCE}: a client certificate needs both sslcert and sslkey (cert and key)"
                )));
            }
        }
        if let Some(name) = application_name.or(fallback_application_name) {
            passed_on.push(("application_name".into(), name));
        }
        let mut rebuilt = base.to_string();
        if !passed_on.is_empty() {
            rebuilt.push('?');
            rebuilt
                .push_str(&form_urlencoded::Serializer::new(String::new()).extend_pairs(&passed_on).finish());
        }
        let config: tokio_postgres::Config =
            rebuilt.parse().map_err(|error| invalid(format!("{SOURCE}: {}", crate::with_causes(&error))))?;
        let mut options = PostgresOptions::from_config(config);
        options.set_tls(tls, SOURCE)?;
        if let Some(size) = pool {
            options.pool_size = size;
        }
        if let Some(timeout) = statement_timeout {
            options.statement_timeout = timeout;
        }
        if let Some(timeout) = connection_timeout {
            options.set_connection_timeout(timeout);
        }
        Ok(options)
    }

    fn set_tls(&mut self, tls: TlsRequest, source: &'static str) -> ParseResult<()> {
        if tls.is_empty() {
            return Ok(());
        }
        if let Some(earlier) = self.tls_source {
            return Err(invalid(format!("TLS is set in both {earlier} and {source}: set it in one place")));
        }
        self.ssl_mode = tls.resolve(source)?;
        self.roots = tls.roots.map(Arc::new);
        self.identity = tls.identity.map(Arc::new);
        self.tls_source = Some(source);
        Ok(())
    }

    fn set_connection_timeout(&mut self, timeout: Option<Duration>) {
        self.connection_timeout = timeout;
        if let Some(timeout) = timeout {
            self.config.connect_timeout(timeout);
        }
    }

    /// Applies parse-server's `databaseOptions` (they win over the URL's parameters, as in
    /// parse-server; TLS may be set in one of the two only).
    pub fn apply_database_options(&mut self, options: &Map<String, Value>) -> ParseResult<()> {
        let option = |key: &str| format!("databaseOptions.{key}");
        let number = |key: &str, value: &Value| -> ParseResult<u64> {
            value.as_u64().ok_or_else(|| invalid(format!("{}: {value} is not a whole number", option(key))))
        };
        let pool_keys: Vec<&String> =
            options.keys().filter(|key| matches!(key.as_str(), "max" | "maxPoolSize")).collect();
        if pool_keys.len() > 1 && options["max"] != options["maxPoolSize"] {
            return Err(invalid("databaseOptions.max and databaseOptions.maxPoolSize differ: give one"));
        }
        for (key, value) in options {
            match key.as_str() {
                "max" | "maxPoolSize" => self.pool_size = pool_size(number(key, value)?, &option(key))?,
                "statement_timeout" | "query_timeout" => {
                    self.statement_timeout = milliseconds(number(key, value)?)
                }
                "connectionTimeoutMillis" => self.set_connection_timeout(milliseconds(number(key, value)?)),
                "application_name" => match value.as_str() {
                    Some(name) => {
                        self.config.application_name(name);
                    }
                    None => return Err(invalid(format!("{}: {value} is not text", option(key)))),
                },
                "ssl" => self.set_tls(tls_from_node_options(value)?, "databaseOptions.ssl")?,
                // parse-server's own switches, at the values under which they change nothing.
                "enableSchemaHooks" | "disableIndexFieldValidation" | "allowPublicExplain"
                    if value == &Value::Bool(false) => {}
                "schemaCacheTtl" if value.is_null() => {}
                "enableSchemaHooks"
                | "disableIndexFieldValidation"
                | "allowPublicExplain"
                | "schemaCacheTtl" => {
                    return Err(invalid(format!("{} is not supported by Reparse yet", option(key))));
                }
                _ => {
                    return Err(invalid(format!(
                        "{} is not an option Reparse's PostgreSQL adapter knows",
                        option(key)
                    )));
                }
            }
        }
        Ok(())
    }

    /// The pool size.
    pub fn pool_size(&self) -> usize {
        self.pool_size
    }

    /// Sets the pool size (at least 1).
    pub fn with_pool_size(mut self, size: usize) -> PostgresOptions {
        self.pool_size = size.max(1);
        self
    }

    /// The TLS mode connections use.
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// How long a statement may run, if limited.
    pub fn statement_timeout(&self) -> Option<Duration> {
        self.statement_timeout
    }

    /// `host:port/database` for messages (never the password).
    pub fn describe(&self) -> String {
        let host = match self.config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
            #[cfg(unix)]
            Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
            None => "localhost".to_string(),
        };
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        let database = self.config.get_dbname().or(self.config.get_user()).unwrap_or("postgres");
        format!("{host}:{port}/{database}")
    }

    /// tokio-postgres's configuration with the TLS mode and the statement timeout applied.
    pub(crate) fn connection_config(&self) -> tokio_postgres::Config {
        let mut config = self.config.clone();
        config.ssl_mode(self.ssl_mode.for_tokio_postgres());
        if let Some(timeout) = self.statement_timeout {
            // A startup option, so that every statement of every connection has it.
            let setting = format!("-c statement_timeout={}", timeout.as_millis());
            let options = match config.get_options() {
                Some(existing) if !existing.trim().is_empty() => format!("{existing} {setting}"),
                _ => setting,
            };
            config.options(options);
        }
        config
    }
}

/// node's TLS options (`databaseOptions.ssl`): `true`, `false` or
/// `{ca, cert, key, rejectUnauthorized}` with PEM text (a string or a list of strings).
fn tls_from_node_options(value: &Value) -> ParseResult<TlsRequest> {
    const OPTION: &str = "databaseOptions.ssl";
    let mut tls = TlsRequest::default();
    let map = match value {
        Value::Bool(on) => {
            tls.node_ssl = Some(*on);
            return Ok(tls);
        }
        Value::Object(map) => map,
        other => return Err(invalid(format!("{OPTION}: {other} is not true, false or an object"))),
    };
    tls.node_ssl = Some(true);
    let pem = |key: &str, value: &Value| -> ParseResult<String> {
        match value {
            Value::String(text) => Ok(text.clone()),
            Value::Array(items) => items
                .iter()
                .map(|item| item.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map(|items| items.join("\n"))
                .ok_or_else(|| invalid(format!("{OPTION}.{key}: expected PEM text"))),
            _ => Err(invalid(format!("{OPTION}.{key}: expected PEM text"))),
        }
    };
    let mut cert = None;
    let mut key = None;
    for (name, entry) in map {
        match name.as_str() {
            "ca" => {
                tls.roots =
                    Some(certificates_from_pem(pem(name, entry)?.as_bytes(), "databaseOptions.ssl.ca")?)
            }
            "cert" => cert = Some(pem(name, entry)?),
            "key" => key = Some(pem(name, entry)?),
            "rejectUnauthorized" => match entry {
                Value::Bool(verify) => tls.reject_unauthorized = Some(*verify),
                other => {
                    return Err(invalid(format!(
                        "{OPTION}.rejectUnauthorized: {other} is not true or false"
                    )));
                }
            },
            other => return Err(invalid(format!("{OPTION}.{other} is not supported by Reparse"))),
        }
    }
    match (cert, key) {
        (Some(cert), Some(key)) => {
            tls.identity = Some(ClientIdentity::from_pem(
                cert.as_bytes(),
                "databaseOptions.ssl.cert",
                key.as_bytes(),
                "databaseOptions.ssl.key",
            )?);
        }
        (None, None) => {}
        _ => return Err(invalid(format!("{OPTION}: a client certificate needs both cert and key"))),
    }
    Ok(tls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(result: ParseResult<PostgresOptions>) -> String {
        result.expect_err("expected an error").message
    }

    #[test]
    fn plain_by_default_and_parameters_pass_through() {
        let options = PostgresOptions::from_url(
            "postgres://app:p%40ss@db.example:6543/data?connect_timeout=5&application_name=x",
        )
        .unwrap();
        assert_eq!(options.ssl_mode(), SslMode::Disable);
        assert_eq!(options.pool_size(), DEFAULT_POOL_SIZE);
        assert_eq!(options.config.get_password(), Some(&b"p@ss"[..]));
        assert_eq!(options.config.get_connect_timeout(), Some(&Duration::from_secs(5)));
        assert_eq!(options.config.get_application_name(), Some("x"));
        assert_eq!(options.describe(), "db.example:6543/data");
    }

    #[test]
    fn reads_libpq_and_parse_server_tls_parameters() {
        let mode =
            |query: &str| PostgresOptions::from_url(&format!("postgres://h/d?{query}")).map(|o| o.ssl_mode());
        assert_eq!(mode("sslmode=disable").unwrap(), SslMode::Disable);
        assert_eq!(mode("sslmode=prefer").unwrap(), SslMode::Prefer);
        assert_eq!(mode("sslmode=require").unwrap(), SslMode::Require);
        assert_eq!(mode("sslmode=verify-ca").unwrap(), SslMode::VerifyCa);
        assert_eq!(mode("sslmode=verify-full").unwrap(), SslMode::VerifyFull);
        assert_eq!(mode("ssl=true").unwrap(), SslMode::VerifyFull);
        assert_eq!(mode("ssl=true&rejectUnauthorized=false").unwrap(), SslMode::Require);
        assert_eq!(mode("ssl=false").unwrap(), SslMode::Disable);
        assert_eq!(mode("sslrootcert=system").unwrap(), SslMode::VerifyFull);
        assert!(mode("sslrootcert=system&sslmode=require").unwrap_err().message.contains("verify-full"));
        assert!(mode("sslmode=sometimes").unwrap_err().message.contains("sslmode \"sometimes\""));
        assert!(mode("sslmode=require&ssl=true").unwrap_err().message.contains("not both"));
    }

    #[test]
    fn pool_size_and_timeouts_from_the_url_and_the_options() {
        let mut options = PostgresOptions::from_url(
            "postgres://h/d?max=7&statement_timeout=250&connectionTimeoutMillis=900",
        )
        .unwrap();
        assert_eq!(options.pool_size(), 7);
        assert_eq!(options.statement_timeout(), Some(Duration::from_millis(250)));
        assert_eq!(options.config.get_connect_timeout(), Some(&Duration::from_millis(900)));
        let config = options.connection_config();
        assert_eq!(config.get_options(), Some("-c statement_timeout=250"));
        options
            .apply_database_options(json!({"maxPoolSize": 3, "statement_timeout": 0}).as_object().unwrap())
            .unwrap();
        assert_eq!(options.pool_size(), 3);
        assert_eq!(options.statement_timeout(), None);
        assert_eq!(PostgresOptions::from_url("postgres://h/d?poolSize=5").unwrap().pool_size(), 5);
    }

    #[test]
    fn bad_values_and_unknown_names_are_refused_by_name() {
        assert!(message(PostgresOptions::from_url("postgres://h/d?max=0")).contains("max: 0"));
        assert!(message(PostgresOptions::from_url("postgres://h/d?max=many")).contains("max: \"many\""));
        assert!(
            message(PostgresOptions::from_url("postgres://h/d?statement_timeout=-1"))
                .contains("statement_timeout")
        );
        assert!(message(PostgresOptions::from_url("postgres://h/d?pfx=/x.p12")).contains("pfx"));
        assert!(
            message(PostgresOptions::from_url("postgres://h/d?ca=/nonexistent.pem"))
                .contains("ca: cannot read")
        );
        assert!(message(PostgresOptions::from_url("postgres://h/d?sslcert=/a.pem")).contains("sslkey"));
        assert!(message(PostgresOptions::from_url("postgres://h/d?flavour=mild")).contains("flavour"));
        let mut options = PostgresOptions::from_url("postgres://h/d").unwrap();
        let apply = |options: &mut PostgresOptions, value: Value| {
            options.apply_database_options(value.as_object().unwrap()).unwrap_err().message
        };
        assert!(apply(&mut options, json!({"max": -2})).contains("databaseOptions.max"));
        assert!(
            apply(&mut options, json!({"idleTimeoutMillis": 5}))
                .contains("databaseOptions.idleTimeoutMillis")
        );
        assert!(apply(&mut options, json!({"enableSchemaHooks": true})).contains("enableSchemaHooks"));
        assert!(apply(&mut options, json!({"max": 2, "maxPoolSize": 3})).contains("differ"));
        options.apply_database_options(json!({"enableSchemaHooks": false}).as_object().unwrap()).unwrap();
    }

    #[test]
    fn tls_is_set_in_one_place() {
        let mut options = PostgresOptions::from_url("postgres://h/d?sslmode=require").unwrap();
        let error = options.apply_database_options(json!({"ssl": true}).as_object().unwrap()).unwrap_err();
        assert!(error.message.contains("both databaseURI and databaseOptions.ssl"), "{}", error.message);
        let mut options = PostgresOptions::from_url("postgres://h/d").unwrap();
        options
            .apply_database_options(json!({"ssl": {"rejectUnauthorized": false}}).as_object().unwrap())
            .unwrap();
        assert_eq!(options.ssl_mode(), SslMode::Require);
    }
}
