//! Parse's account e-mails — e-mail verification and password reset — sent over SMTP from a
//! background task, so that no request waits for a mail server.
//!
//! # Use
//!
//! ```no_run
//! # async fn example(email_adapter: serde_json::Value) -> Result<(), String> {
//! use reparse_mail::{EmailVars, MailConfig, Mailer, verify_email_link};
//!
//! let config = MailConfig::from_parse_options("My App", "https://api.example.com/parse", &email_adapter)?;
//! let mailer = Mailer::start(config)?; // inside a Tokio runtime
//! let link = verify_email_link(&mailer.config().public_server_url, "myAppId", "token123");
//! let vars = EmailVars { link, email: "ann@example.com".into(), username: "ann".into() };
//! mailer.send_verification("ann@example.com", &vars).map_err(|error| error.to_string())?;
//! mailer.shutdown().await; // at exit: delivers what is queued
//! # Ok(()) }
//! ```
//!
//! [`Mailer::send`] renders and queues the message and returns at once: `Err` only when the
//! recipient is not an address, the queue is full, or the mailer is shut down. Delivery runs
//! in the worker: up to `maxConnections` at once, reusing idle connections; transient failures
//! (4xx replies, refused or dropped connections, timeouts) are tried again with doubling
//! waits, permanent ones (5xx, refused login) are logged with `tracing` and dropped.
//!
//! # Configuration
//!
//! parse-server's options `appName` and `publicServerURL` (both required, as parse-server
//! requires them for these e-mails) and `emailAdapter` in one of two shapes.
//!
//! **parse-server's shape**, as written for the common nodemailer-based SMTP adapters
//! (`parse-smtp-template`, `simple-parse-smtp-adapter`, `@openinc/parse-server-smtp-adapter`,
//! …). `module` is not loaded, only `options` is read:
//!
//! ```json
//! { "module": "parse-smtp-template",
//!   "options": { "host": "smtp.example.com", "port": 587,
//!                "auth": { "user": "apikey", "pass": "secret" },
//!                "fromAddress": "My App <noreply@example.com>" } }
//! ```
//!
//! **Reparse's own shape**, SMTP settings under `smtp` and the rest beside it:
//!
//! ```json
//! { "smtp": { "host": "smtp.example.com", "port": 587, "tls": "starttls",
//!             "username": "apikey", "password": "secret", "from": "noreply@example.com" },
//!   "templates": { "verificationEmail": { "subject": "Welcome to {{appName}}" } } }
//! ```
//!
//! Keys (the same in both shapes; unknown keys are refused, naming the key):
//!
//! | key | meaning |
//! |---|---|
//! | `host` | SMTP server (required unless `service` is given) |
//! | `service` | a nodemailer well-known service: Gmail, Outlook365, Hotmail, Yahoo, iCloud, SendGrid, Mailgun, Zoho |
//! | `port` | default 465 with implicit TLS, else 587 |
//! | `tls` | `"none"`, `"opportunistic"`, `"starttls"` or `"implicit"`; `false` = none; an object is nodemailer's TLS options, of which `rejectUnauthorized: false` (accept any certificate for any name) and `ca` are honoured and `minVersion` ignored |
//! | `ca` (or `tls.ca`) | PEM certificate(s), a string or a list, trusted besides the public (webpki) roots |
//! | `secure` / `isSSL: true` | implicit TLS (nodemailer's `secure`) |
//! | `starttls` | `true` = STARTTLS required, `false` = plain |
//! | `requireTLS: true` / `ignoreTLS: true` | STARTTLS required / plain |
//! | (none of the above) | STARTTLS **required**: a server without it fails, plain needs `tls: false` |
//! | `auth: {user, pass}`, or `username`/`user`/`email` + `password`/`pass` | login (AUTH PLAIN or LOGIN) |
//! | `fromAddress` / `from` / `sender` | the `From` mailbox, `a@b.c` or `Name <a@b.c>` (required) |
//! | `name` | the name sent with EHLO (default: this machine's host name) |
//! | `socketTimeout` | ms allowed for one delivery attempt: connect, TLS, login, transfer (default 30000) |
//! | `templates` | see below |
//! | `queueCapacity` | messages that may wait (default 1000) |
//! | `maxConnections` | deliveries at once, pool size (default 4) |
//! | `retry: {attempts, initialDelayMs, maxDelayMs}` | default 5 tries, 1 s doubling, at most 30 s apart |
//!
//! nodemailer's `pool`, `maxMessages`, `logger`, `debug` and `transactionLog` are accepted and
//! ignored. Options of non-SMTP adapters (Mailgun's `apiKey`, `domain`, template directories,
//! OAuth2) are refused, naming the first.
//!
//! # Templates
//!
//! The defaults are parse-server's own wording (see [`EmailTemplate::default_for`]). Each part
//! can be replaced:
//!
//! ```json
//! "templates": {
//!   "verificationEmail":  { "subject": "…", "text": "…", "html": "…" },
//!   "passwordResetEmail": { "subjectPath": "mail/reset-subject.txt", "textPath": "…", "htmlPath": "…" }
//! }
//! ```
//!
//! A part not given keeps its default (no HTML by default; with HTML the message is
//! `multipart/alternative`). `*Path` files are read when the configuration is. Placeholders:
//! `{{appName}}`, `{{link}}`, `{{email}}`, `{{username}}`, plus `{{#name}}…{{/name}}` (only if
//! not empty) and `{{^name}}…{{/name}}` (only if empty); values are HTML-escaped in `html`.
//! The grammar is in [`template`].

pub mod config;
pub mod links;
pub mod mailer;
mod smtp;
pub mod template;

pub use config::{MailConfig, RetryPolicy, SmtpConfig, SmtpCredentials, TlsMode};
pub use links::{encode_uri_component, password_reset_link, verify_email_link};
pub use mailer::{Mailer, OutgoingEmail, SendError};
pub use template::{EmailKind, EmailTemplate, EmailVars, RenderedEmail, Template, Templates, render};
