//! The mailer's configuration and its reading from parse-server's `emailAdapter` option.
//! The accepted keys are listed in the crate documentation.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::template::{EmailKind, EmailTemplate, Template, Templates};

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text throughout (local relays, test sinks).
    None,
    /// Upgrade with STARTTLS when the server offers it, else stay plain (nodemailer's default;
    /// open to downgrade, so only on request).
    Opportunistic,
    /// Upgrade with STARTTLS; fail before sending credentials or mail if the server can't.
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Implicit,
}

impl TlsMode {
    /// The port used when none is given: 465 for implicit TLS, else 587.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::Implicit => 465,
            TlsMode::None | TlsMode::Opportunistic | TlsMode::StartTls => 587,
        }
    }
}

/// An SMTP login.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpCredentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for SmtpCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Where and how to hand mail over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// AUTH PLAIN or LOGIN (whichever the server offers) when set.
    pub credentials: Option<SmtpCredentials>,
    /// The `From` mailbox: `noreply@example.com` or `My App <noreply@example.com>`.
    pub from: String,
    /// The name sent with EHLO; the machine's host name when `None`.
    pub hello_name: Option<String>,
    /// Limit on one delivery attempt: connecting, TLS, login and the whole transfer. A server
    /// that stalls past it counts as a transient failure.
    pub timeout: Duration,
    /// Accept any certificate for any name (nodemailer's `tls: { rejectUnauthorized: false }`).
    pub accept_invalid_certs: bool,
    /// PEM certificates trusted besides the public roots (a private CA, a self-signed server).
    pub extra_root_certs: Vec<String>,
}

impl SmtpConfig {
    /// STARTTLS on port 587, no login, 30 s timeout.
    pub fn new(host: &str, from: &str) -> SmtpConfig {
        SmtpConfig {
            host: host.to_owned(),
            port: TlsMode::StartTls.default_port(),
            tls: TlsMode::StartTls,
            credentials: None,
            from: from.to_owned(),
            hello_name: None,
            timeout: Duration::from_secs(30),
            accept_invalid_certs: false,
            extra_root_certs: Vec::new(),
        }
    }
}

/// How often and how patiently a message that failed transiently is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (at least 1).
    pub max_attempts: u32,
    /// Wait before the second try; doubled after each further failure.
    pub initial_backoff: Duration,
    /// Cap on the wait between tries.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 5 tries, 1 s, 2 s, 4 s, 8 s apart.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// Everything the [`crate::Mailer`] needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// parse-server's `appName`: `{{appName}}` in templates.
    pub app_name: String,
    /// parse-server's `publicServerURL`, without a trailing slash: the base of the links.
    pub public_server_url: String,
    pub smtp: SmtpConfig,
    pub templates: Templates,
    /// Messages waiting for the worker; a send beyond this fails at once.
    pub queue_capacity: usize,
    /// Messages in flight at once, and the size of the SMTP connection pool.
    pub max_connections: usize,
    pub retry: RetryPolicy,
}

impl MailConfig {
    /// A configuration with the default templates, queue and retry policy.
    pub fn new(app_name: &str, public_server_url: &str, smtp: SmtpConfig) -> MailConfig {
        MailConfig {
            app_name: app_name.to_owned(),
            public_server_url: public_server_url.trim_end_matches('/').to_owned(),
            smtp,
            templates: Templates::default(),
            queue_capacity: 1000,
            max_connections: 4,
            retry: RetryPolicy::default(),
        }
    }

    /// Reads parse-server's `appName`, `publicServerURL` and `emailAdapter` options (the
    /// accepted shapes are in the crate documentation). The error names the offending option.
    pub fn from_parse_options(
        app_name: &str,
        public_server_url: &str,
        email_adapter: &Value,
    ) -> Result<MailConfig, String> {
        if app_name.is_empty() {
            return Err("appName: an app name is required for e-mail verification and password resets".into());
        }
        if !public_server_url.starts_with("http://") && !public_server_url.starts_with("https://") {
            return Err(format!(
                "publicServerURL: a public server URL starting with http:// or https:// is required \
                 for e-mail verification and password resets (got {public_server_url:?})"
            ));
        }
        let (prefix, settings) = adapter_settings(email_adapter)?;
        let mut reader = Reader { prefix: &prefix, map: &settings, used: Vec::new() };
        let smtp = read_smtp(&mut reader)?;
        let mut config = MailConfig::new(app_name, public_server_url, smtp);
        if let Some(templates) = reader.object("templates")? {
            read_templates(&format!("{prefix}.templates"), templates, &mut config.templates)?;
        }
        if let Some(capacity) = reader.integer("queueCapacity", 1, 1_000_000)? {
            config.queue_capacity = capacity as usize;
        }
        if let Some(connections) = reader.integer("maxConnections", 1, 100)? {
            config.max_connections = connections as usize;
        }
        if let Some(retry) = reader.object("retry")? {
            config.retry = read_retry(&format!("{prefix}.retry"), retry)?;
        }
        reader.reject_unknown()?;
        Ok(config)
    }
}

/// Keys nodemailer-based adapters pass on that change nothing here.
const IGNORED_KEYS: [&str; 5] = ["pool", "maxMessages", "logger", "debug", "transactionLog"];

/// The map holding the settings and the option path to name in errors.
fn adapter_settings(email_adapter: &Value) -> Result<(String, Map<String, Value>), String> {
    let adapter = match email_adapter {
        Value::Object(adapter) => adapter,
        Value::String(module) => {
            return Err(format!(
                "emailAdapter: Reparse loads no npm module ({module:?}); it sends mail over SMTP \
                 itself: give {{\"module\": \"{module}\", \"options\": {{\"host\": …, \"fromAddress\": …}}}} \
                 or {{\"smtp\": {{\"host\": …, \"from\": …}}}}"
            ));
        }
        _ => return Err("emailAdapter: must be an object".into()),
    };
    if let Some(smtp) = adapter.get("smtp") {
        let Value::Object(smtp) = smtp else {
            return Err("emailAdapter.smtp: must be an object".into());
        };
        if adapter.contains_key("module") || adapter.contains_key("options") {
            return Err("emailAdapter: give either smtp or module/options, not both".into());
        }
        // The native form: SMTP settings under `smtp`, the rest beside it.
        let mut settings = smtp.clone();
        for (key, value) in adapter {
            if key == "smtp" {
                continue;
            }
            if !matches!(key.as_str(), "templates" | "queueCapacity" | "maxConnections" | "retry") {
                return Err(format!(
                    "emailAdapter.{key}: unknown option (known beside smtp: templates, queueCapacity, \
                     maxConnections, retry)"
                ));
            }
            if settings.insert(key.clone(), value.clone()).is_some() {
                return Err(format!("emailAdapter.{key}: given both in smtp and beside it"));
            }
        }
        return Ok(("emailAdapter.smtp".into(), settings));
    }
    for key in adapter.keys() {
        if key != "module" && key != "options" {
            return Err(format!("emailAdapter.{key}: unknown option (expected module and options, or smtp)"));
        }
    }
    let module = match adapter.get("module") {
        None | Some(Value::Null) => None,
        Some(Value::String(module)) => Some(module.as_str()),
        Some(_) => return Err("emailAdapter.module: must be a string".into()),
    };
    match adapter.get("options") {
        Some(Value::Object(options)) => Ok(("emailAdapter.options".into(), options.clone())),
        None | Some(Value::Null) => Err(match module {
            Some(module) => format!(
                "emailAdapter.options: required; Reparse sends mail over SMTP itself instead of \
                 loading {module:?}, so give its SMTP settings (host, port, auth, fromAddress)"
            ),
            None => "emailAdapter.options: required (host, port, auth, fromAddress)".into(),
        }),
        Some(_) => Err("emailAdapter.options: must be an object".into()),
    }
}

/// Reads keys of one object, remembering which were read so that the rest can be refused.
struct Reader<'a> {
    prefix: &'a str,
    map: &'a Map<String, Value>,
    used: Vec<&'static str>,
}

impl<'a> Reader<'a> {
    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.used.push(key);
        match self.map.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => Some(value),
        }
    }

    fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.prefix)
    }

    fn string(&mut self, key: &'static str) -> Result<Option<String>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(text)) if text.trim().is_empty() => {
                Err(format!("{}: must not be empty", self.path(key)))
            }
            Some(Value::String(text)) => Ok(Some(text.trim().to_owned())),
            Some(_) => Err(format!("{}: must be a string", self.path(key))),
        }
    }

    /// A string that is kept exactly as given (passwords).
    fn raw_string(&mut self, key: &'static str) -> Result<Option<String>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(format!("{}: must be a string", self.path(key))),
        }
    }

    fn boolean(&mut self, key: &'static str) -> Result<Option<bool>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(_) => Err(format!("{}: must be true or false", self.path(key))),
        }
    }

    /// A whole number in `min..=max`; a numeric string (from an environment variable) is fine.
    fn integer(&mut self, key: &'static str, min: u64, max: u64) -> Result<Option<u64>, String> {
        let Some(value) = self.get(key) else { return Ok(None) };
        let number = match value {
            Value::Number(number) => number.as_u64(),
            Value::String(text) => text.trim().parse::<u64>().ok(),
            _ => None,
        };
        match number {
            Some(number) if (min..=max).contains(&number) => Ok(Some(number)),
            _ => Err(format!("{}: must be a whole number from {min} to {max}", self.path(key))),
        }
    }

    fn object(&mut self, key: &'static str) -> Result<Option<&'a Map<String, Value>>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(_) => Err(format!("{}: must be an object", self.path(key))),
        }
    }

    fn reject_unknown(&self) -> Result<(), String> {
        let mut unknown: Vec<&String> = self
            .map
            .keys()
            .filter(|key| !self.used.contains(&key.as_str()) && !IGNORED_KEYS.contains(&key.as_str()))
            .collect();
        unknown.sort();
        match unknown.first() {
            None => Ok(()),
            Some(key) => Err(format!(
                "{}: unknown or unsupported option (Reparse's SMTP mailer reads host, port, service, \
                 secure, isSSL, starttls, requireTLS, ignoreTLS, tls, auth, user, username, email, \
                 password, pass, fromAddress, from, sender, name, socketTimeout, ca, templates, \
                 queueCapacity, maxConnections, retry)",
                self.path(key)
            )),
        }
    }
}

/// nodemailer's well-known services that people name in `service`.
fn well_known_service(name: &str) -> Option<(&'static str, u16, TlsMode)> {
    let service = match name.to_ascii_lowercase().replace([' ', '-', '_'], "").as_str() {
        "gmail" | "googlemail" => ("smtp.gmail.com", 465, TlsMode::Implicit),
        "outlook365" | "office365" => ("smtp.office365.com", 587, TlsMode::StartTls),
        "hotmail" | "outlook" | "outlookcom" => ("smtp-mail.outlook.com", 587, TlsMode::StartTls),
        "yahoo" => ("smtp.mail.yahoo.com", 465, TlsMode::Implicit),
        "icloud" => ("smtp.mail.me.com", 587, TlsMode::StartTls),
        "sendgrid" => ("smtp.sendgrid.net", 587, TlsMode::StartTls),
        "mailgun" => ("smtp.mailgun.org", 465, TlsMode::Implicit),
        "zoho" => ("smtp.zoho.com", 465, TlsMode::Implicit),
        _ => return None,
    };
    Some(service)
}

fn read_smtp(reader: &mut Reader<'_>) -> Result<SmtpConfig, String> {
    let service = match reader.string("service")? {
        None => None,
        Some(name) => Some(well_known_service(&name).ok_or_else(|| {
            format!(
                "{}: unknown service {name:?} (known: Gmail, Outlook365, Hotmail, Yahoo, iCloud, \
                 SendGrid, Mailgun, Zoho); give host and port instead",
                reader.path("service")
            )
        })?),
    };
    let host = match (reader.string("host")?, service) {
        (Some(host), _) => host,
        (None, Some((host, _, _))) => host.to_owned(),
        (None, None) => return Err(format!("{}: required (the SMTP server's name)", reader.path("host"))),
    };

    // Each TLS key that says something must agree with the others.
    let prefix = reader.prefix;
    let mut chosen: Option<(TlsMode, &'static str)> = None;
    let mut choose = |key: &'static str, mode: TlsMode| match chosen {
        Some((other, other_key)) if other != mode => {
            Err(format!("{prefix}.{key}: contradicts {prefix}.{other_key}"))
        }
        _ => {
            chosen = Some((mode, key));
            Ok(())
        }
    };
    for key in ["secure", "isSSL"] {
        if reader.boolean(key)? == Some(true) {
            choose(key, TlsMode::Implicit)?;
        }
    }
    if let Some(starttls) = reader.boolean("starttls")? {
        choose("starttls", if starttls { TlsMode::StartTls } else { TlsMode::None })?;
    }
    if reader.boolean("requireTLS")? == Some(true) {
        choose("requireTLS", TlsMode::StartTls)?;
    }
    if reader.boolean("ignoreTLS")? == Some(true) {
        choose("ignoreTLS", TlsMode::None)?;
    }
    let mut accept_invalid_certs = false;
    let mut extra_root_certs = Vec::new();
    let tls_path = reader.path("tls");
    match reader.get("tls") {
        None => {}
        Some(Value::Bool(false)) => choose("tls", TlsMode::None)?,
        Some(Value::String(mode)) => {
            let mode = match mode.to_ascii_lowercase().as_str() {
                "none" | "plain" | "off" => TlsMode::None,
                "opportunistic" => TlsMode::Opportunistic,
                "starttls" | "required" => TlsMode::StartTls,
                "implicit" | "wrapper" | "ssl" | "smtps" => TlsMode::Implicit,
                _ => {
                    return Err(format!(
                        "{tls_path}: must be \"none\", \"opportunistic\", \"starttls\" or \"implicit\""
                    ));
                }
            };
            choose("tls", mode)?;
        }
        // nodemailer's TLS socket options: only certificate checking means anything here.
        Some(Value::Object(options)) => {
            for (key, value) in options {
                match (key.as_str(), value) {
                    ("rejectUnauthorized", Value::Bool(reject)) => accept_invalid_certs = !reject,
                    ("rejectUnauthorized", _) => {
                        return Err(format!("{tls_path}.{key}: must be true or false"));
                    }
                    ("ca", ca) => extra_root_certs.extend(read_ca(&format!("{tls_path}.ca"), ca)?),
                    ("minVersion", _) => {}
                    _ => return Err(format!("{tls_path}.{key}: unsupported TLS option")),
                }
            }
        }
        Some(_) => return Err(format!("{tls_path}: must be false, a mode name or an object")),
    }
    let tls = chosen.map(|(mode, _)| mode);
    let ca_path = reader.path("ca");
    if let Some(ca) = reader.get("ca") {
        extra_root_certs.extend(read_ca(&ca_path, ca)?);
    }
    let tls = tls.or(service.map(|(_, _, mode)| mode)).unwrap_or(TlsMode::StartTls);
    let port = match reader.integer("port", 1, 65535)? {
        Some(port) => port as u16,
        None => match service {
            Some((_, port, service_tls)) if service_tls == tls => port,
            _ => tls.default_port(),
        },
    };

    let credentials = read_credentials(reader)?;
    let from = ["fromAddress", "from", "sender"]
        .into_iter()
        .map(|key| Ok(reader.string(key)?.map(|from| (key, from))))
        .collect::<Result<Vec<_>, String>>()?
        .into_iter()
        .flatten()
        .next();
    let Some((from_key, from)) = from else {
        return Err(format!("{}: required (the sender's address)", reader.path("fromAddress")));
    };
    if let Err(error) = from.parse::<lettre::message::Mailbox>() {
        return Err(format!("{}: not an e-mail address ({from:?}: {error})", reader.path(from_key)));
    }
    let hello_name = reader.string("name")?;
    let timeout = match reader.integer("socketTimeout", 1, 3_600_000)? {
        Some(ms) => Duration::from_millis(ms),
        None => Duration::from_secs(30),
    };
    Ok(SmtpConfig {
        host,
        port,
        tls,
        credentials,
        from,
        hello_name,
        timeout,
        accept_invalid_certs,
        extra_root_certs,
    })
}

/// One PEM text or a list of them, each holding at least one certificate.
fn read_ca(path: &str, value: &Value) -> Result<Vec<String>, String> {
    let texts: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    texts
        .into_iter()
        .map(|text| {
            let Value::String(pem) = text else {
                return Err(format!("{path}: must be PEM text or a list of PEM texts"));
            };
            // lettre accepts PEM text without any certificate in it; ask for one.
            if !pem.contains("-----BEGIN CERTIFICATE-----") {
                return Err(format!("{path}: not a PEM certificate (no BEGIN CERTIFICATE line)"));
            }
            lettre::transport::smtp::client::Certificate::from_pem(pem.as_bytes())
                .map_err(|error| format!("{path}: not a PEM certificate ({error})"))?;
            Ok(pem.clone())
        })
        .collect()
}

fn read_credentials(reader: &mut Reader<'_>) -> Result<Option<SmtpCredentials>, String> {
    let auth_path = reader.path("auth");
    let (user, pass) = match reader.object("auth")? {
        Some(auth) => {
            let text = |key: &str| match auth.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(text)) => Ok(Some(text.clone())),
                Some(_) => Err(format!("{auth_path}.{key}: must be a string")),
            };
            for key in auth.keys() {
                if !matches!(key.as_str(), "user" | "pass" | "username" | "password" | "type") {
                    return Err(format!("{auth_path}.{key}: unsupported (give user and pass)"));
                }
            }
            if let Some(kind) = text("type")?
                && !kind.eq_ignore_ascii_case("login")
            {
                return Err(format!("{auth_path}.type: only login (user and pass) is supported"));
            }
            let user = text("user")?.or(text("username")?);
            let pass = text("pass")?.or(text("password")?);
            (user.map(|user| (user, "auth.user")), pass.map(|pass| (pass, "auth.pass")))
        }
        None => {
            let mut user = None;
            for key in ["username", "user", "email"] {
                if let Some(value) = reader.string(key)?
                    && user.is_none()
                {
                    user = Some((value, key));
                }
            }
            let mut pass = None;
            for key in ["password", "pass"] {
                if let Some(value) = reader.raw_string(key)?
                    && pass.is_none()
                {
                    pass = Some((value, key));
                }
            }
            (user, pass)
        }
    };
    match (user, pass) {
        (None, None) => Ok(None),
        (Some((username, _)), Some((password, _))) => Ok(Some(SmtpCredentials { username, password })),
        (Some((_, user_key)), None) => {
            Err(format!("{}: a user name is given without a password", reader.path(user_key)))
        }
        (None, Some((_, pass_key))) => {
            Err(format!("{}: a password is given without a user name", reader.path(pass_key)))
        }
    }
}

fn read_templates(path: &str, map: &Map<String, Value>, templates: &mut Templates) -> Result<(), String> {
    for (key, value) in map {
        let kind = match key.as_str() {
            "verificationEmail" => EmailKind::Verification,
            "passwordResetEmail" => EmailKind::PasswordReset,
            _ => {
                return Err(format!(
                    "{path}.{key}: unknown template (known: verificationEmail, passwordResetEmail)"
                ));
            }
        };
        let Value::Object(fields) = value else {
            return Err(format!("{path}.{key}: must be an object"));
        };
        read_template(&format!("{path}.{key}"), fields, templates.get_mut(kind))?;
    }
    Ok(())
}

/// One template: `subject`, `text`, `html` inline, or `subjectPath`, `textPath`, `htmlPath`
/// naming files read now. A part not given keeps the default.
fn read_template(
    path: &str,
    fields: &Map<String, Value>,
    template: &mut EmailTemplate,
) -> Result<(), String> {
    for key in fields.keys() {
        if !matches!(key.as_str(), "subject" | "text" | "html" | "subjectPath" | "textPath" | "htmlPath") {
            return Err(format!(
                "{path}.{key}: unknown (known: subject, text, html, subjectPath, textPath, htmlPath)"
            ));
        }
    }
    let part = |name: &str| -> Result<Option<Template>, String> {
        let path_key = format!("{name}Path");
        let source = match (fields.get(name), fields.get(&path_key)) {
            (Some(_), Some(_)) => return Err(format!("{path}.{name}: give {name} or {path_key}, not both")),
            (Some(Value::String(source)), None) => source.clone(),
            (Some(_), None) => return Err(format!("{path}.{name}: must be a string")),
            (None, Some(Value::String(file))) => std::fs::read_to_string(file)
                .map_err(|error| format!("{path}.{path_key}: cannot read {file:?}: {error}"))?,
            (None, Some(_)) => return Err(format!("{path}.{path_key}: must be a string")),
            (None, None) => return Ok(None),
        };
        let source = if name == "subject" { source.trim().to_owned() } else { source };
        Template::compile(&source).map(Some).map_err(|error| format!("{path}.{name}: {error}"))
    };
    if let Some(subject) = part("subject")? {
        template.subject = subject;
    }
    if let Some(text) = part("text")? {
        template.text = text;
    }
    if let Some(html) = part("html")? {
        template.html = Some(html);
    }
    Ok(())
}

fn read_retry(path: &str, map: &Map<String, Value>) -> Result<RetryPolicy, String> {
    let mut reader = Reader { prefix: path, map, used: Vec::new() };
    let mut retry = RetryPolicy::default();
    if let Some(attempts) = reader.integer("attempts", 1, 100)? {
        retry.max_attempts = attempts as u32;
    }
    if let Some(ms) = reader.integer("initialDelayMs", 1, 3_600_000)? {
        retry.initial_backoff = Duration::from_millis(ms);
    }
    if let Some(ms) = reader.integer("maxDelayMs", 1, 3_600_000)? {
        retry.max_backoff = Duration::from_millis(ms);
    }
    let unknown = map.keys().find(|key| !reader.used.contains(&key.as_str()));
    if let Some(key) = unknown {
        return Err(format!("{path}.{key}: unknown (known: attempts, initialDelayMs, maxDelayMs)"));
    }
    Ok(retry)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::template::{EmailVars, render};

    const URL: &str = "https://api.example.com/parse/";

    fn parse(adapter: Value) -> Result<MailConfig, String> {
        MailConfig::from_parse_options("My App", URL, &adapter)
    }

    fn parse_options(options: Value) -> Result<MailConfig, String> {
        parse(json!({ "module": "parse-smtp-template", "options": options }))
    }

    fn err(options: Value) -> String {
        parse_options(options).unwrap_err()
    }

    #[test]
    fn nodemailer_shape_with_defaults() {
        let config = parse_options(json!({
            "host": "smtp.example.com",
            "auth": { "user": "u", "pass": "p" },
            "fromAddress": "My App <noreply@example.com>",
        }))
        .unwrap();
        assert_eq!(config.app_name, "My App");
        assert_eq!(config.public_server_url, "https://api.example.com/parse");
        let smtp = &config.smtp;
        assert_eq!((smtp.host.as_str(), smtp.port, smtp.tls), ("smtp.example.com", 587, TlsMode::StartTls));
        assert_eq!(smtp.credentials, Some(SmtpCredentials { username: "u".into(), password: "p".into() }));
        assert_eq!(smtp.from, "My App <noreply@example.com>");
        assert_eq!(smtp.timeout, Duration::from_secs(30));
        assert_eq!(config.templates, Templates::default());
        assert_eq!(config.retry, RetryPolicy::default());
        assert_eq!((config.queue_capacity, config.max_connections), (1000, 4));
    }

    #[test]
    fn secure_means_implicit_tls_on_465() {
        let config = parse_options(json!({ "host": "h", "secure": true, "from": "a@b.co" })).unwrap();
        assert_eq!((config.smtp.port, config.smtp.tls), (465, TlsMode::Implicit));
        let config = parse_options(json!({
            "host": "h", "isSSL": true, "port": "2465", "user": "u", "password": "p", "fromAddress": "a@b.co"
        }))
        .unwrap();
        assert_eq!((config.smtp.port, config.smtp.tls), (2465, TlsMode::Implicit));
        assert_eq!(config.smtp.credentials.unwrap().username, "u");
    }

    #[test]
    fn tls_keys() {
        let tls = |extra: Value| {
            let mut options = json!({ "host": "h", "from": "a@b.co" });
            options.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            parse_options(options).map(|config| (config.smtp.tls, config.smtp.accept_invalid_certs))
        };
        assert_eq!(tls(json!({ "tls": false })), Ok((TlsMode::None, false)));
        assert_eq!(tls(json!({ "ignoreTLS": true })), Ok((TlsMode::None, false)));
        assert_eq!(tls(json!({ "starttls": false })), Ok((TlsMode::None, false)));
        assert_eq!(tls(json!({ "requireTLS": true, "secure": false })), Ok((TlsMode::StartTls, false)));
        assert_eq!(tls(json!({ "tls": "opportunistic" })), Ok((TlsMode::Opportunistic, false)));
        assert_eq!(tls(json!({ "tls": "IMPLICIT" })), Ok((TlsMode::Implicit, false)));
        assert_eq!(tls(json!({ "tls": { "rejectUnauthorized": false } })), Ok((TlsMode::StartTls, true)));
        assert_eq!(
            tls(json!({ "secure": true, "ignoreTLS": true })),
            Err("emailAdapter.options.ignoreTLS: contradicts emailAdapter.options.secure".into())
        );
        assert_eq!(
            tls(json!({ "tls": "tls1.3" })),
            Err(
                "emailAdapter.options.tls: must be \"none\", \"opportunistic\", \"starttls\" or \"implicit\""
                    .into()
            )
        );
        assert_eq!(
            tls(json!({ "tls": { "servername": "x" } })),
            Err("emailAdapter.options.tls.servername: unsupported TLS option".into())
        );
    }

    #[test]
    fn extra_root_certificates() {
        let ca = include_str!("../tests/tls/ca.pem");
        let config =
            parse_options(json!({ "host": "h", "from": "a@b.co", "tls": { "ca": [ca] }, "ca": ca })).unwrap();
        assert_eq!(config.smtp.extra_root_certs, [ca, ca]);
        assert!(
            err(json!({ "host": "h", "from": "a@b.co", "tls": { "ca": "…" } }))
                .starts_with("emailAdapter.options.tls.ca: not a PEM certificate")
        );
        assert!(
            err(json!({ "host": "h", "from": "a@b.co", "ca": 1 }))
                .starts_with("emailAdapter.options.ca: must be PEM text or a list of PEM texts")
        );
    }

    #[test]
    fn reparse_shape() {
        let config = parse(json!({
            "smtp": { "host": "127.0.0.1", "port": 2525, "tls": "none", "username": "u", "password": " p ",
                      "from": "a@b.co", "name": "reparse.test", "socketTimeout": 1500 },
            "templates": { "passwordResetEmail": { "subject": "Reset {{appName}}" } },
            "queueCapacity": 10,
            "maxConnections": 2,
            "retry": { "attempts": 3, "initialDelayMs": 50, "maxDelayMs": 100 },
        }))
        .unwrap();
        let smtp = &config.smtp;
        assert_eq!((smtp.host.as_str(), smtp.port, smtp.tls), ("127.0.0.1", 2525, TlsMode::None));
        assert_eq!(smtp.credentials.as_ref().unwrap().password, " p ");
        assert_eq!(smtp.hello_name.as_deref(), Some("reparse.test"));
        assert_eq!(smtp.timeout, Duration::from_millis(1500));
        assert_eq!((config.queue_capacity, config.max_connections), (10, 2));
        assert_eq!(
            config.retry,
            RetryPolicy {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_millis(100)
            }
        );
        let out = render(&config.templates.password_reset, "My App", &EmailVars::default());
        assert_eq!(out.subject, "Reset My App");
        assert_eq!(config.templates.verification, EmailTemplate::default_for(EmailKind::Verification));
    }

    #[test]
    fn well_known_service() {
        let config = parse_options(json!({
            "service": "Gmail", "email": "me@gmail.com", "password": "app-password", "fromAddress": "me@gmail.com"
        }))
        .unwrap();
        let smtp = &config.smtp;
        assert_eq!((smtp.host.as_str(), smtp.port, smtp.tls), ("smtp.gmail.com", 465, TlsMode::Implicit));
        assert_eq!(smtp.credentials.as_ref().unwrap().username, "me@gmail.com");
        assert!(
            err(json!({ "service": "Pigeon", "fromAddress": "a@b.co" }))
                .starts_with("emailAdapter.options.service: unknown service \"Pigeon\"")
        );
    }

    #[test]
    fn templates_inline_and_from_files() {
        let dir = std::env::temp_dir().join(format!("reparse-mail-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let html = dir.join("verify.html");
        std::fs::write(&html, "<a href=\"{{link}}\">{{appName}}</a>").unwrap();
        let config = parse_options(json!({
            "host": "h", "from": "a@b.co",
            "templates": { "verificationEmail": { "subject": " Hi {{username}}\n", "htmlPath": html } },
        }))
        .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let vars = EmailVars { link: "L&".into(), email: "e".into(), username: "u".into() };
        let out = render(&config.templates.verification, "A", &vars);
        assert_eq!(out.subject, "Hi u");
        assert!(out.text.starts_with("Hi,\n\nYou are being asked to confirm the e-mail address e with A"));
        assert_eq!(out.html.as_deref(), Some("<a href=\"L&amp;\">A</a>"));
    }

    #[test]
    fn errors_name_the_option() {
        let cases = [
            (json!({ "from": "a@b.co" }), "emailAdapter.options.host: required"),
            (json!({ "host": "h" }), "emailAdapter.options.fromAddress: required"),
            (
                json!({ "host": "h", "sender": "not an address" }),
                "emailAdapter.options.sender: not an e-mail address",
            ),
            (
                json!({ "host": "h", "from": "a@b.co", "port": 70000 }),
                "emailAdapter.options.port: must be a whole number from 1 to 65535",
            ),
            (json!({ "host": "h", "from": "a@b.co", "port": true }), "emailAdapter.options.port: must be"),
            (json!({ "host": 1, "from": "a@b.co" }), "emailAdapter.options.host: must be a string"),
            (
                json!({ "host": "h", "from": "a@b.co", "apiKey": "k" }),
                "emailAdapter.options.apiKey: unknown or unsupported option",
            ),
            (
                json!({ "host": "h", "from": "a@b.co", "user": "u" }),
                "emailAdapter.options.user: a user name is given without a password",
            ),
            (
                json!({ "host": "h", "from": "a@b.co", "auth": { "pass": "p" } }),
                "emailAdapter.options.auth.pass: a password is given without a user name",
            ),
            (
                json!({ "host": "h", "from": "a@b.co", "auth": { "type": "OAuth2", "user": "u" } }),
                "emailAdapter.options.auth.type: only login",
            ),
            (
                json!({ "host": "h", "from": "a@b.co", "templates": { "welcome": {} } }),
                "emailAdapter.options.templates.welcome: unknown template",
            ),
            (
                json!({ "host": "h", "from": "a@b.co", "templates": { "verificationEmail": { "text": "{{user}}" } } }),
                "emailAdapter.options.templates.verificationEmail.text: unknown placeholder {{user}} at 0",
            ),
            (
                json!({ "host": "h", "from": "a@b.co", "templates": { "verificationEmail": { "textPath": "/nonexistent/x" } } }),
                "emailAdapter.options.templates.verificationEmail.textPath: cannot read \"/nonexistent/x\"",
            ),
            (
                json!({ "host": "h", "from": "a@b.co", "retry": { "tries": 2 } }),
                "emailAdapter.options.retry.tries: unknown",
            ),
        ];
        for (options, expected) in cases {
            let error = err(options.clone());
            assert!(error.starts_with(expected), "{options}: {error}");
        }
    }

    #[test]
    fn adapter_shape_errors() {
        let error = |adapter: Value| parse(adapter).unwrap_err();
        assert!(error(json!("parse-smtp-template")).starts_with("emailAdapter: Reparse loads no npm module"));
        assert!(
            error(json!({ "module": "@parse/simple-mailgun-adapter" }))
                .starts_with("emailAdapter.options: required; Reparse sends mail over SMTP itself")
        );
        assert!(
            error(json!({ "module": "x", "options": {}, "extra": 1 }))
                .starts_with("emailAdapter.extra: unknown")
        );
        assert!(error(json!({ "smtp": {}, "module": "x" })).starts_with("emailAdapter: give either smtp"));
        assert!(
            error(json!({ "smtp": { "host": "h", "from": "a@b.co" }, "host": "x" }))
                .starts_with("emailAdapter.host: unknown option")
        );
        assert!(
            error(json!({ "smtp": { "host": "h" } })).starts_with("emailAdapter.smtp.fromAddress: required")
        );
        let ok = json!({ "smtp": { "host": "h", "from": "a@b.co" } });
        assert!(
            MailConfig::from_parse_options("A", "ftp://x", &ok)
                .unwrap_err()
                .starts_with("publicServerURL: a public server URL starting with http:// or https://")
        );
        assert!(MailConfig::from_parse_options("", URL, &ok).unwrap_err().starts_with("appName: "));
    }
}
