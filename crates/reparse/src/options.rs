//! parse-server's options, declared once: JSON key, `PARSE_SERVER_*` variable, CLI flag, kind
//! and help. The config file, the environment and the flags are read through this table and
//! merged in that order (later wins). Unknown options, and parse-server options Reparse does
//! not support yet, stop the start with an error naming them: nothing is silently ignored.

use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OptionKind {
    Text,
    Bool,
    Integer,
    /// A byte size: a number or text like `20mb`.
    Size,
    /// A non-negative number (seconds, minutes, days).
    Number,
    /// A JSON object (in the environment and on the command line, as JSON text).
    Json,
    /// An adapter: a module name or URL, or `{module, options}` (as JSON text outside files).
    Adapter,
    /// A list of strings (comma-separated in the environment and on the command line).
    List,
}

#[derive(Debug)]
pub(crate) struct OptionSpec {
    /// The key in parse-server's JSON config.
    pub(crate) key: &'static str,
    /// The environment variable parse-server reads it from.
    pub(crate) env: &'static str,
    /// The CLI flag (without `--`).
    pub(crate) flag: &'static str,
    pub(crate) kind: OptionKind,
    pub(crate) help: &'static str,
}

macro_rules! options {
    ($( $key:literal, $env:literal, $flag:literal, $kind:ident, $help:literal; )*) => {
        pub(crate) const OPTIONS: &[OptionSpec] = &[
            $( OptionSpec { key: $key, env: $env, flag: $flag, kind: OptionKind::$kind, help: $help }, )*
        ];
    };
}

options! {
    "appId", "PARSE_SERVER_APPLICATION_ID", "app-id", Text, "Your Parse Application ID";
    "appName", "PARSE_SERVER_APP_NAME", "app-name", Text, "Name of the app";
    "masterKey", "PARSE_SERVER_MASTER_KEY", "master-key", Text, "Your Parse Master Key";
    "readOnlyMasterKey", "PARSE_SERVER_READ_ONLY_MASTER_KEY", "read-only-master-key", Text, "Read-only key: same read access as the master key, no writes";
    "clientKey", "PARSE_SERVER_CLIENT_KEY", "client-key", Text, "Key for iOS, MacOS, tvOS clients";
    "javascriptKey", "PARSE_SERVER_JAVASCRIPT_KEY", "javascript-key", Text, "Key for the JavaScript SDK";
    "restAPIKey", "PARSE_SERVER_REST_API_KEY", "rest-api-key", Text, "Key for REST calls";
    "dotNetKey", "PARSE_SERVER_DOT_NET_KEY", "dot-net-key", Text, "Key for Unity and .Net SDK";
    "serverURL", "PARSE_SERVER_URL", "server-url", Text, "URL to your Parse Server (default http://127.0.0.1:<port><mountPath>)";
    "publicServerURL", "PARSE_PUBLIC_SERVER_URL", "public-server-url", Text, "Public URL to your Parse Server, used in links and Location headers";
    "port", "PORT", "port", Integer, "The port to run the server on (default 1337; 0 picks a free one)";
    "host", "PARSE_SERVER_HOST", "host", Text, "The host to serve on (default 0.0.0.0)";
    "mountPath", "PARSE_SERVER_MOUNT_PATH", "mount-path", Text, "Mount path for the server (default /parse)";
    "databaseURI", "PARSE_SERVER_DATABASE_URI", "database-uri", Text, "sqlite://<path>, a plain file path, or postgres://user@host:port/database (parse-server's layout; sslmode, ssl, ca, max, statement_timeout … as parameters)";
    "databaseOptions", "PARSE_SERVER_DATABASE_OPTIONS", "database-options", Json, "PostgreSQL connection options: {max, statement_timeout, connectionTimeoutMillis, application_name, ssl: {ca, cert, key, rejectUnauthorized}}";
    "appsDatabaseURI", "REPARSE_APPS_DATABASE_URI", "apps-database-uri", Text, "Keep the data of the apps `reparse apps` manages in this PostgreSQL database, one schema per app (postgres://…; default: a SQLite file per app)";
    "allowClientClassCreation", "PARSE_SERVER_ALLOW_CLIENT_CLASS_CREATION", "allow-client-class-creation", Bool, "Let clients create classes on first save (default false)";
    "allowCustomObjectId", "PARSE_SERVER_ALLOW_CUSTOM_OBJECT_ID", "allow-custom-object-id", Bool, "Let clients set objectId on create (default false)";
    "maxLimit", "PARSE_SERVER_MAX_LIMIT", "max-limit", Integer, "Largest limit a query may ask for (default unbounded)";
    "objectIdSize", "PARSE_SERVER_OBJECT_ID_SIZE", "object-id-size", Integer, "Length of generated objectIds (default 10)";
    "maxUploadSize", "PARSE_SERVER_MAX_UPLOAD_SIZE", "max-upload-size", Size, "Largest request body (default 20mb)";
    "sessionLength", "PARSE_SERVER_SESSION_LENGTH", "session-length", Number, "Session length in seconds (default 31536000, one year)";
    "expireInactiveSessions", "PARSE_SERVER_EXPIRE_INACTIVE_SESSIONS", "expire-inactive-sessions", Bool, "Give sessions an expiry (default true; false: sessions never expire)";
    "revokeSessionOnPasswordReset", "PARSE_SERVER_REVOKE_SESSION_ON_PASSWORD_RESET", "revoke-session-on-password-reset", Bool, "End a user's other sessions when their password changes (default true)";
    "enableAnonymousUsers", "PARSE_SERVER_ENABLE_ANON_USERS", "enable-anon-users", Bool, "Allow anonymous users (default true)";
    "enforcePrivateUsers", "PARSE_SERVER_ENFORCE_PRIVATE_USERS", "enforce-private-users", Bool, "Create users without public read access (default true)";
    "auth", "PARSE_SERVER_AUTH_PROVIDERS", "auth-providers", Json, "Third-party auth providers, parse-server's shape ({\"google\": {\"clientId\": ...}, ...})";
    "verifyUserEmails", "PARSE_SERVER_VERIFY_USER_EMAILS", "verify-user-emails", Bool, "Send e-mail verification links (default false; needs emailAdapter)";
    "emailVerifyTokenValidityDuration", "PARSE_SERVER_EMAIL_VERIFY_TOKEN_VALIDITY_DURATION", "email-verify-token-validity-duration", Number, "Seconds an e-mail verification link stays valid (default forever)";
    "emailVerifyTokenReuseIfValid", "PARSE_SERVER_EMAIL_VERIFY_TOKEN_REUSE_IF_VALID", "email-verify-token-reuse-if-valid", Bool, "Resend the same verification link while it is valid (default false)";
    "preventLoginWithUnverifiedEmail", "PARSE_SERVER_PREVENT_LOGIN_WITH_UNVERIFIED_EMAIL", "prevent-login-with-unverified-email", Bool, "Refuse logins until the e-mail is verified (default false)";
    "passwordPolicy", "PARSE_SERVER_PASSWORD_POLICY", "password-policy", Json, "validatorPattern, doNotAllowUsername, maxPasswordAge, maxPasswordHistory, resetTokenValidityDuration, resetTokenReuseIfValid";
    "accountLockout", "PARSE_SERVER_ACCOUNT_LOCKOUT", "account-lockout", Json, "{duration (minutes), threshold, unlockOnPasswordReset}";
    "emailAdapter", "PARSE_SERVER_EMAIL_ADAPTER", "email-adapter", Json, "SMTP settings: {module, options: {host, port, auth, fromAddress}} or {smtp: {...}}";
    "masterKeyIps", "PARSE_SERVER_MASTER_KEY_IPS", "master-key-ips", List, "Addresses or CIDR ranges the master key is accepted from (default 127.0.0.1, ::1)";
    "fileUpload", "PARSE_SERVER_FILE_UPLOAD_OPTIONS", "file-upload-options", Json, "Who may upload files: {enableForPublic (default false), enableForAnonymousUser (false), enableForAuthenticatedUser (true), fileExtensions (default: anything but HTML)}";
    "preserveFileName", "PARSE_SERVER_PRESERVE_FILE_NAME", "preserve-file-name", Bool, "Store uploads under their own name, without the random prefix (default false)";
    "filesAdapter", "PARSE_SERVER_FILES_ADAPTER", "files-adapter", Adapter, "Where files are kept: \"local\" or {module: \"local\", options: {filesPath}} (the default: a files folder beside the app's data), or S3-compatible storage as {module: \"@parse/s3-files-adapter\", options: {bucket, region, bucketPrefix, directAccess, baseUrl, presignedUrl, s3overrides: {endpoint, forcePathStyle, credentials}}} or s3://bucket/prefix?region=…&endpoint=…";
    "appsFilesAdapter", "REPARSE_APPS_FILES_ADAPTER", "apps-files-adapter", Adapter, "Where the apps `reparse apps` manages keep their files, each under its app id (a folder, or a key prefix in one bucket); an app's own filesAdapter setting wins (same forms as filesAdapter)";
    "webhookKey", "PARSE_SERVER_WEBHOOK_KEY", "webhook-key", Text, "Sent to webhooks (/hooks) in X-Parse-Webhook-Key, so that they can tell calls from this server";
    "liveQuery", "PARSE_SERVER_LIVE_QUERY", "live-query", Json, "LiveQuery: {classNames: [...], redisURL, queueLimit}, the classes whose changes reach subscribers over the WebSocket on the server's port, the Redis that carries them between servers, and the events a slow connection may fall behind by before it is closed (default 1000)";
    "liveQueryServerOptions", "PARSE_SERVER_LIVE_QUERY_SERVER_OPTIONS", "live-query-server-options", Json, "LiveQuery's server: {websocketTimeout (ms between keep-alive pings, default 10000), keyPairs (the keys clients connect with), redisURL}";
    "startLiveQueryServer", "PARSE_SERVER_START_LIVE_QUERY_SERVER", "start-live-query-server", Bool, "Accepted as parse-server's: Reparse serves LiveQuery on its own port whenever liveQuery names classes (false is refused)";
    "cloud", "PARSE_SERVER_CLOUD", "cloud", Text, "The app's cloud code entry file (cloud/main.js): run unchanged in a Node.js worker, with the official parse SDK as Parse (node from PATH or REPARSE_NODE)";
    "customPages", "PARSE_SERVER_CUSTOM_PAGES", "custom-pages", Json, "URLs replacing the account pages (choosePassword, verifyEmailSuccess, ...)";
}

/// parse-server options that Reparse knows but does not serve yet (a later release will).
pub(crate) const NOT_YET_SUPPORTED: &[&str] = &[
    "push",
    "maintenanceKey",
    "maintenanceKeyIps",
    "graphQLPath",
    "mountGraphQL",
    "mountPlayground",
    "protectedFields",
    "directAccess",
    "cacheAdapter",
    "databaseAdapter",
    "logsFolder",
    "logLevel",
    "verbose",
    "silent",
    "jsonLogs",
    "pages",
    "idempotencyOptions",
    "rateLimit",
    "schema",
    "security",
    "trustProxy",
    "encodeParseObjectInCloudFunction",
    "allowHeaders",
    "allowOrigin",
    "scheduledPush",
    "extendSessionOnUse",
    "preventSignupWithUnverifiedEmail",
    "sendUserEmailVerification",
    "allowExpiredAuthDataToken",
    "enableInsecureAuthAdapters",
];

fn spec_for_key(key: &str) -> Option<&'static OptionSpec> {
    OPTIONS.iter().find(|spec| spec.key == key)
}

fn unsupported(key: &str) -> String {
    if NOT_YET_SUPPORTED.contains(&key) {
        format!("option {key:?} is not supported by this version of Reparse yet")
    } else {
        format!("unknown option {key:?}")
    }
}

/// Converts a raw value (JSON from the file, text from env or flags) to the option's kind.
fn coerce(spec: &OptionSpec, value: Value) -> Result<Value, String> {
    let bad = |value: &Value| format!("option {:?}: {value} is not a valid {:?}", spec.key, spec.kind);
    match (spec.kind, value) {
        (OptionKind::Text, Value::String(text)) => Ok(Value::String(text)),
        (OptionKind::Bool, Value::Bool(flag)) => Ok(Value::Bool(flag)),
        (OptionKind::Bool, Value::String(text)) => match text.as_str() {
            "true" | "1" | "yes" => Ok(Value::Bool(true)),
            "false" | "0" | "no" => Ok(Value::Bool(false)),
            _ => Err(bad(&Value::String(text))),
        },
        (OptionKind::Integer, Value::Number(number)) if number.is_u64() => Ok(Value::Number(number)),
        (OptionKind::Integer, Value::String(text)) => {
            text.trim().parse::<u64>().map(Value::from).map_err(|_| bad(&Value::String(text)))
        }
        (OptionKind::Size, value) => parse_size(&value).map(Value::from).ok_or_else(|| bad(&value)),
        (OptionKind::Number, Value::Number(number)) if number.as_f64().is_some_and(|n| n >= 0.0) => {
            Ok(Value::Number(number))
        }
        (OptionKind::Number, Value::String(text)) => match text.trim().parse::<f64>() {
            Ok(number) if number >= 0.0 => Ok(Value::from(number)),
            _ => Err(bad(&Value::String(text))),
        },
        (OptionKind::List, Value::Array(items)) if items.iter().all(Value::is_string) => {
            Ok(Value::Array(items))
        }
        (OptionKind::List, Value::String(text)) => {
            Ok(Value::Array(text.split(',').map(|item| Value::String(item.trim().to_string())).collect()))
        }
        (OptionKind::Json, Value::Object(map)) => Ok(Value::Object(map)),
        (OptionKind::Json, Value::String(text)) => match serde_json::from_str(&text) {
            Ok(Value::Object(map)) => Ok(Value::Object(map)),
            _ => Err(bad(&Value::String(text))),
        },
        (OptionKind::Adapter, Value::Object(map)) => Ok(Value::Object(map)),
        (OptionKind::Adapter, Value::String(text)) => match serde_json::from_str(&text) {
            Ok(Value::Object(map)) => Ok(Value::Object(map)),
            Ok(Value::String(name)) => Ok(Value::String(name)),
            _ => Ok(Value::String(text)),
        },
        (_, value) => Err(bad(&value)),
    }
}

/// `20mb`, `512kb`, `1gb`, `100` (bytes).
pub(crate) fn parse_size(value: &Value) -> Option<u64> {
    if let Some(bytes) = value.as_u64() {
        return Some(bytes);
    }
    let text = value.as_str()?.trim().to_ascii_lowercase();
    let digits_end = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let number: f64 = text[..digits_end].parse().ok()?;
    let multiplier = match text[digits_end..].trim() {
        "" | "b" => 1.0,
        "kb" => 1024.0,
        "mb" => 1024.0 * 1024.0,
        "gb" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((number * multiplier) as u64)
}

/// Reads a parse-server JSON config file's options.
pub(crate) fn from_config_file(text: &str) -> Result<Map<String, Value>, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|error| format!("config file is not valid JSON: {error}"))?;
    let Value::Object(raw) = value else {
        return Err("config file must hold a JSON object".into());
    };
    let mut options = Map::new();
    for (key, value) in raw {
        let spec = spec_for_key(&key).ok_or_else(|| unsupported(&key))?;
        if !value.is_null() {
            options.insert(key, coerce(spec, value)?);
        }
    }
    Ok(options)
}

/// Reads options from `PARSE_SERVER_*` (and `PORT`) variables. An unknown `PARSE_SERVER_*`
/// variable is an error, like an unknown key in the file.
pub(crate) fn from_environment(
    variables: impl Iterator<Item = (String, String)>,
) -> Result<Map<String, Value>, String> {
    let mut options = Map::new();
    for (name, value) in variables {
        match OPTIONS.iter().find(|spec| spec.env == name) {
            Some(spec) => {
                options.insert(spec.key.to_string(), coerce(spec, Value::String(value))?);
            }
            None if name.starts_with("PARSE_SERVER_") => {
                return Err(format!(
                    "environment variable {name} is not a Reparse option (unknown or not supported yet)"
                ));
            }
            None => {}
        }
    }
    Ok(options)
}

/// Reads options from CLI flags given as `(flag, value)` pairs.
pub(crate) fn from_flags<'a>(
    flags: impl Iterator<Item = (&'a str, String)>,
) -> Result<Map<String, Value>, String> {
    let mut options = Map::new();
    for (flag, value) in flags {
        let spec =
            OPTIONS.iter().find(|spec| spec.flag == flag).ok_or_else(|| format!("unknown flag --{flag}"))?;
        options.insert(spec.key.to_string(), coerce(spec, Value::String(value))?);
    }
    Ok(options)
}

/// Merges layers, later ones winning.
pub(crate) fn merge(layers: impl IntoIterator<Item = Map<String, Value>>) -> Map<String, Value> {
    let mut merged = Map::new();
    for layer in layers {
        merged.extend(layer);
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_each_layer_and_later_layers_win() {
        let file = from_config_file(
            r#"{"appId": "a", "port": 1, "maxUploadSize": "1kb", "allowClientClassCreation": true}"#,
        )
        .unwrap();
        assert_eq!(file["maxUploadSize"], json!(1024));
        let env = from_environment(
            [("PORT".to_string(), "2".to_string()), ("HOME".to_string(), "/root".to_string())].into_iter(),
        )
        .unwrap();
        let flags = from_flags([("master-key", "m".to_string())].into_iter()).unwrap();
        let merged = merge([file, env, flags]);
        assert_eq!(merged["port"], json!(2));
        assert_eq!(merged["masterKey"], json!("m"));
        assert_eq!(merged["allowClientClassCreation"], json!(true));
    }

    #[test]
    fn refuses_unknown_and_unsupported_options_by_name() {
        let error = from_config_file(r#"{"push": {}}"#).unwrap_err();
        assert!(error.contains("\"push\"") && error.contains("not supported"), "{error}");
        let error = from_config_file(r#"{"flyingCars": true}"#).unwrap_err();
        assert!(error.contains("unknown option \"flyingCars\""), "{error}");
        let error =
            from_environment([("PARSE_SERVER_PUSH".to_string(), "x".to_string())].into_iter()).unwrap_err();
        assert!(error.contains("PARSE_SERVER_PUSH"), "{error}");
        assert!(from_config_file(r#"{"port": "high"}"#).is_err());
    }

    #[test]
    fn every_option_has_distinct_names() {
        for (index, spec) in OPTIONS.iter().enumerate() {
            for other in &OPTIONS[index + 1..] {
                assert_ne!(spec.key, other.key);
                assert_ne!(spec.env, other.env);
                assert_ne!(spec.flag, other.flag);
            }
        }
    }
}
