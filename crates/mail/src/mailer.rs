//! The mailer: a bounded queue in front of one background task that hands messages to the SMTP
//! server over a pool of connections, retrying transient failures.
//!
//! ```text
//! send_*() ──try_send──▶ [queue: queue_capacity] ──▶ worker ──▶ up to max_connections
//!   renders, builds,                                            deliveries at once, each
//!   returns at once                                             retried with backoff
//! ```

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use lettre::Message;
use lettre::address::Envelope;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::config::{MailConfig, RetryPolicy};
use crate::smtp::SmtpClient;
use crate::template::{EmailKind, EmailVars, RenderedEmail, render};

/// Why a message was not queued. Nothing is sent in any of these cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The queue holds `queue_capacity` messages already (the SMTP server is slow or down).
    QueueFull,
    /// [`Mailer::shutdown`] was called.
    ShutDown,
    /// The recipient is not an e-mail address.
    InvalidRecipient { address: String, reason: String },
    /// The message could not be built (for instance a header the SMTP format can't carry).
    InvalidMessage(String),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::QueueFull => f.write_str("the e-mail queue is full"),
            SendError::ShutDown => f.write_str("the mailer is shut down"),
            SendError::InvalidRecipient { address, reason } => {
                write!(f, "cannot send e-mail to {address:?}: {reason}")
            }
            SendError::InvalidMessage(reason) => write!(f, "cannot build the e-mail: {reason}"),
        }
    }
}

impl std::error::Error for SendError {}

/// A message to send as it is (parse-server's `sendMail`, as used by `Parse.Cloud.sendEmail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

/// Sends account e-mails from a background task. Cheap to clone; all clones share one queue.
///
/// [`Mailer::start`] must run inside a Tokio runtime. The worker stops after
/// [`Mailer::shutdown`], or once every clone is dropped and the queue is empty.
#[derive(Clone)]
pub struct Mailer {
    shared: Arc<Shared>,
}

struct Shared {
    config: MailConfig,
    from: Mailbox,
    queue: mpsc::Sender<Command>,
    /// Messages accepted and not yet delivered or given up on.
    pending: Arc<watch::Sender<usize>>,
    closed: AtomicBool,
    worker: Mutex<Option<JoinHandle<()>>>,
}

enum Command {
    Deliver(Job),
    Shutdown,
}

struct Job {
    kind: &'static str,
    to: String,
    envelope: Envelope,
    bytes: Vec<u8>,
    /// Decrements `pending` when the job ends, however it ends.
    _pending: PendingGuard,
}

struct PendingGuard(Arc<watch::Sender<usize>>);

impl PendingGuard {
    fn new(pending: &Arc<watch::Sender<usize>>) -> PendingGuard {
        pending.send_modify(|count| *count += 1);
        PendingGuard(Arc::clone(pending))
    }
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.0.send_modify(|count| *count -= 1);
    }
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("host", &self.shared.config.smtp.host)
            .field("port", &self.shared.config.smtp.port)
            .field("pending", &self.pending())
            .finish()
    }
}

impl Mailer {
    /// Starts the background worker. Fails only on settings a [`MailConfig`] built by hand may
    /// get wrong (a bad `from` address, a host name TLS can't verify); nothing is connected
    /// yet: connections are opened by the first delivery and kept (up to `max_connections`)
    /// for the next ones.
    pub fn start(config: MailConfig) -> Result<Mailer, String> {
        let from = config
            .smtp
            .from
            .parse::<Mailbox>()
            .map_err(|error| format!("from: not an e-mail address ({:?}: {error})", config.smtp.from))?;
        let client = SmtpClient::new(&config.smtp, config.max_connections.max(1))?;
        let (queue, receiver) = mpsc::channel(config.queue_capacity.max(1));
        let pending = Arc::new(watch::Sender::new(0));
        let worker =
            tokio::spawn(run_worker(receiver, Arc::new(client), config.retry, config.max_connections.max(1)));
        Ok(Mailer {
            shared: Arc::new(Shared {
                config,
                from,
                queue,
                pending,
                closed: AtomicBool::new(false),
                worker: Mutex::new(Some(worker)),
            }),
        })
    }

    /// The configuration this mailer runs with.
    pub fn config(&self) -> &MailConfig {
        &self.shared.config
    }

    /// Queues the e-mail verification message. Returns at once.
    pub fn send_verification(&self, to: &str, vars: &EmailVars) -> Result<(), SendError> {
        self.send(EmailKind::Verification, to, vars)
    }

    /// Queues the password reset message. Returns at once.
    pub fn send_password_reset(&self, to: &str, vars: &EmailVars) -> Result<(), SendError> {
        self.send(EmailKind::PasswordReset, to, vars)
    }

    /// Renders the template of `kind` with `vars` and queues the message. Returns at once;
    /// delivery failures are logged by the worker, never reported here.
    pub fn send(&self, kind: EmailKind, to: &str, vars: &EmailVars) -> Result<(), SendError> {
        let config = &self.shared.config;
        let rendered = render(config.templates.get(kind), &config.app_name, vars);
        self.enqueue(kind.template_key(), to, rendered)
    }

    /// Queues a message given whole. Returns at once.
    pub fn send_email(&self, email: OutgoingEmail) -> Result<(), SendError> {
        let OutgoingEmail { to, subject, text, html } = email;
        let subject = subject.replace(['\r', '\n'], " ");
        self.enqueue("email", &to, RenderedEmail { subject, text, html })
    }

    fn enqueue(&self, kind: &'static str, to: &str, email: RenderedEmail) -> Result<(), SendError> {
        if self.shared.closed.load(Ordering::Acquire) {
            return Err(SendError::ShutDown);
        }
        let recipient = to.trim().parse::<Mailbox>().map_err(|error| SendError::InvalidRecipient {
            address: to.to_owned(),
            reason: error.to_string(),
        })?;
        let message = build_message(self.shared.from.clone(), recipient, email)?;
        let job = Job {
            kind,
            to: to.trim().to_owned(),
            envelope: message.envelope().clone(),
            bytes: message.formatted(),
            _pending: PendingGuard::new(&self.shared.pending),
        };
        match self.shared.queue.try_send(Command::Deliver(job)) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(
                    kind,
                    capacity = self.shared.config.queue_capacity,
                    "e-mail queue full; message dropped"
                );
                Err(SendError::QueueFull)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SendError::ShutDown),
        }
    }

    /// Messages accepted and not yet delivered or given up on.
    pub fn pending(&self) -> usize {
        *self.shared.pending.borrow()
    }

    /// Waits until every message accepted so far has been delivered or given up on.
    pub async fn flush(&self) {
        let mut pending = self.shared.pending.subscribe();
        // The sender lives in `self.shared`, so the channel can't close while we wait.
        let _ = pending.wait_for(|count| *count == 0).await;
    }

    /// Refuses further messages, lets the worker finish the queued ones (retries included),
    /// then closes the pooled SMTP connections. Returns when the worker has stopped; a second
    /// call returns at once.
    pub async fn shutdown(&self) {
        if self.shared.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let worker = match self.shared.worker.lock() {
            Ok(mut worker) => worker.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        // Behind everything already queued; fails only if the worker is gone already.
        let _ = self.shared.queue.send(Command::Shutdown).await;
        if let Some(worker) = worker
            && let Err(error) = worker.await
        {
            tracing::error!(%error, "e-mail worker ended abnormally");
        }
    }
}

fn build_message(from: Mailbox, to: Mailbox, email: RenderedEmail) -> Result<Message, SendError> {
    let builder = Message::builder().from(from).to(to).subject(email.subject);
    let built = match email.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(email.text, html)),
        None => builder.singlepart(SinglePart::plain(email.text)),
    };
    built.map_err(|error| SendError::InvalidMessage(error.to_string()))
}

async fn run_worker(
    mut queue: mpsc::Receiver<Command>,
    client: Arc<SmtpClient>,
    retry: RetryPolicy,
    max_connections: usize,
) {
    let slots = Arc::new(Semaphore::new(max_connections));
    let mut deliveries = JoinSet::new();
    loop {
        while let Some(ended) = deliveries.try_join_next() {
            log_abnormal_end(ended);
        }
        // Take a message only when a delivery slot is free, so that a slow server fills the
        // queue (and senders hear about it) instead of an unbounded set of tasks.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { break };
        match queue.recv().await {
            Some(Command::Deliver(job)) => {
                let client = Arc::clone(&client);
                deliveries.spawn(async move {
                    deliver(&client, job, retry).await;
                    drop(slot);
                });
            }
            Some(Command::Shutdown) | None => break,
        }
    }
    while let Some(ended) = deliveries.join_next().await {
        log_abnormal_end(ended);
    }
    client.close().await;
}

fn log_abnormal_end(ended: Result<(), tokio::task::JoinError>) {
    if let Err(error) = ended {
        tracing::error!(%error, "e-mail delivery task ended abnormally");
    }
}

/// Hands one message over, trying again after transient failures (4xx replies, connection
/// and network errors, timeouts); a permanent one (5xx, a login the server refuses, no way to
/// log in or to encrypt as required) ends it.
async fn deliver(client: &SmtpClient, job: Job, retry: RetryPolicy) {
    let attempts = retry.max_attempts.max(1);
    let mut backoff = retry.initial_backoff;
    for attempt in 1..=attempts {
        match client.send(&job.envelope, &job.bytes).await {
            Ok(_) => {
                tracing::debug!(kind = job.kind, to = %job.to, attempt, "e-mail sent");
                return;
            }
            Err(error) if error.is_permanent() => {
                tracing::error!(kind = job.kind, to = %job.to, attempt, %error, "e-mail rejected; not retried");
                return;
            }
            Err(error) if attempt == attempts => {
                tracing::error!(kind = job.kind, to = %job.to, attempt, %error, "e-mail not sent; giving up");
                return;
            }
            Err(error) => {
                tracing::warn!(
                    kind = job.kind, to = %job.to, attempt, retry_in_ms = backoff.as_millis() as u64, %error,
                    "e-mail not sent; will retry"
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(retry.max_backoff);
            }
        }
    }
}
