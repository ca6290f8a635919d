//! SMTP connections and the pool of idle ones, over lettre's `AsyncSmtpConnection`.
//!
//! Why not lettre's `AsyncSmtpTransport` (and its `pool` feature): its async client bounds only
//! the TCP connect by the timeout, so a server that accepts and then stalls holds a delivery
//! forever; and a send cancelled by an outer timeout hands its connection back to the pool in
//! the middle of a command, where the next user reads the previous reply. Here every delivery
//! attempt runs under one deadline and owns its connection: a connection goes back to the idle
//! list only after a completed exchange, and is dropped (closed) otherwise.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;

use crate::config::{SmtpConfig, TlsMode};

/// An idle connection older than this is closed instead of reused (servers drop idle clients
/// after a minute or more).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How one delivery attempt failed.
#[derive(Debug)]
pub(crate) enum AttemptError {
    Smtp(SmtpError),
    TimedOut(Duration),
}

impl AttemptError {
    /// A failure that trying again will not cure: a 5xx reply (which includes a refused
    /// login), or a client-side refusal (no common AUTH mechanism, STARTTLS required but not
    /// offered, an address the server can't take).
    pub(crate) fn is_permanent(&self) -> bool {
        match self {
            AttemptError::Smtp(error) => error.is_permanent() || error.is_client(),
            AttemptError::TimedOut(_) => false,
        }
    }
}

impl std::fmt::Display for AttemptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttemptError::Smtp(error) => write!(f, "{error}"),
            AttemptError::TimedOut(limit) => write!(f, "no answer within {} ms", limit.as_millis()),
        }
    }
}

enum Security {
    None,
    Opportunistic(TlsParameters),
    StartTls(TlsParameters),
    Implicit(TlsParameters),
}

struct Idle {
    connection: AsyncSmtpConnection,
    since: Instant,
}

/// The server's address and settings, and the idle connections to it.
pub(crate) struct SmtpClient {
    host: String,
    port: u16,
    security: Security,
    hello: ClientId,
    credentials: Option<Credentials>,
    timeout: Duration,
    max_idle: usize,
    idle: Mutex<Vec<Idle>>,
}

const MECHANISMS: [Mechanism; 2] = [Mechanism::Plain, Mechanism::Login];

impl SmtpClient {
    pub(crate) fn new(smtp: &SmtpConfig, max_idle: usize) -> Result<SmtpClient, String> {
        let tls_parameters = || {
            let mut builder = TlsParameters::builder(smtp.host.clone())
                .dangerous_accept_invalid_certs(smtp.accept_invalid_certs)
                .dangerous_accept_invalid_hostnames(smtp.accept_invalid_certs);
            for pem in &smtp.extra_root_certs {
                let certificate = Certificate::from_pem(pem.as_bytes())
                    .map_err(|error| format!("ca: not a PEM certificate ({error})"))?;
                builder = builder.add_root_certificate(certificate);
            }
            builder.build().map_err(|error| format!("host: cannot set up TLS for {:?}: {error}", smtp.host))
        };
        let security = match smtp.tls {
            TlsMode::None => Security::None,
            TlsMode::Opportunistic => Security::Opportunistic(tls_parameters()?),
            TlsMode::StartTls => Security::StartTls(tls_parameters()?),
            TlsMode::Implicit => Security::Implicit(tls_parameters()?),
        };
        Ok(SmtpClient {
            host: smtp.host.clone(),
            port: smtp.port,
            security,
            hello: smtp.hello_name.clone().map_or_else(ClientId::default, ClientId::Domain),
            credentials: smtp
                .credentials
                .as_ref()
                .map(|login| Credentials::new(login.username.clone(), login.password.clone())),
            timeout: smtp.timeout,
            max_idle,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// One delivery attempt, on an idle connection or a new one, within the timeout.
    pub(crate) async fn send(&self, envelope: &Envelope, message: &[u8]) -> Result<(), AttemptError> {
        let attempt = async {
            let mut connection = self.checkout().await?;
            connection.send(envelope, message).await?;
            self.checkin(connection);
            Ok(())
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(result) => result.map_err(AttemptError::Smtp),
            // The attempt's connection was dropped with it, closing the socket.
            Err(_) => Err(AttemptError::TimedOut(self.timeout)),
        }
    }

    /// Says QUIT on every idle connection (each within the timeout).
    pub(crate) async fn close(&self) {
        let idle = std::mem::take(&mut *self.lock_idle());
        for mut idle in idle {
            let _ = tokio::time::timeout(self.timeout, idle.connection.quit()).await;
        }
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        // The list stays consistent even if a holder panicked: pushes and pops only.
        self.idle.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn checkout(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        loop {
            let idle = self.lock_idle().pop();
            let Some(idle) = idle else { return self.connect().await };
            if idle.since.elapsed() >= IDLE_TIMEOUT {
                continue; // dropped: closed without ceremony
            }
            let mut connection = idle.connection;
            if connection.test_connected().await {
                return Ok(connection);
            }
        }
    }

    fn checkin(&self, connection: AsyncSmtpConnection) {
        if connection.has_broken() {
            return;
        }
        let mut idle = self.lock_idle();
        if idle.len() < self.max_idle {
            idle.push(Idle { connection, since: Instant::now() });
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, SmtpError> {
        let wrapper = match &self.security {
            Security::Implicit(parameters) => Some(parameters.clone()),
            Security::None | Security::Opportunistic(_) | Security::StartTls(_) => None,
        };
        let address = (self.host.as_str(), self.port);
        let mut connection =
            AsyncSmtpConnection::connect_tokio1(address, Some(self.timeout), &self.hello, wrapper, None)
                .await?;
        match &self.security {
            Security::StartTls(parameters) => connection.starttls(parameters.clone(), &self.hello).await?,
            Security::Opportunistic(parameters) if connection.can_starttls() => {
                connection.starttls(parameters.clone(), &self.hello).await?;
            }
            Security::None | Security::Opportunistic(_) | Security::Implicit(_) => {}
        }
        if let Some(credentials) = &self.credentials {
            connection.auth(&MECHANISMS, credentials).await?;
        }
        Ok(connection)
    }
}
