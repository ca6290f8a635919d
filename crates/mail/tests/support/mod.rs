//! A real SMTP server for the tests: it speaks enough of RFC 5321 (EHLO/HELO, STARTTLS, AUTH
//! PLAIN and LOGIN, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) over TCP on
//! 127.0.0.1, plain, with STARTTLS or with implicit TLS (the certificate in `tests/tls`), and
//! keeps every message it accepts. It can refuse mail for a while (451), for good (550), or
//! accept connections and never answer.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The test CA that signed the sink's certificate (for `localhost` and `127.0.0.1`).
pub(crate) const TEST_CA_PEM: &str = include_str!("../tls/ca.pem");

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum SinkTls {
    #[default]
    None,
    /// Offer STARTTLS (and AUTH only after it).
    StartTls,
    /// TLS from the first byte.
    Implicit,
}
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

#[derive(Debug, Clone, Default)]
pub(crate) struct SinkOptions {
    /// The AUTH mechanisms advertised after EHLO ("PLAIN LOGIN"); no AUTH when `None`.
    pub auth_mechanisms: Option<&'static str>,
    /// Answer the first this-many `MAIL FROM` commands with 451.
    pub transient_failures: usize,
    /// Answer every `MAIL FROM` with 550.
    pub reject_all: bool,
    /// Accept connections but never say anything.
    pub silent: bool,
    /// Refuse (535) any other login.
    pub required_login: Option<(&'static str, &'static str)>,
    pub tls: SinkTls,
}

/// One accepted message.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub helo: String,
    /// Whether the session was encrypted when the message came.
    pub encrypted: bool,
    /// (user, password) from AUTH, if the client logged in.
    pub auth: Option<(String, String)>,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The DATA, dot-unstuffed, CRLF line ends.
    pub data: Vec<u8>,
}

#[derive(Default)]
struct State {
    received: Mutex<Vec<Received>>,
    arrived: Notify,
    connections: AtomicUsize,
    mail_commands: AtomicUsize,
    logins: Mutex<Vec<(String, String)>>,
    transient_left: AtomicUsize,
}

pub(crate) struct SmtpSink {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection.
        self.task.abort();
    }
}

impl SmtpSink {
    pub(crate) async fn start(options: SinkOptions) -> SmtpSink {
        SmtpSink::start_at("127.0.0.1:0".parse().unwrap(), options).await
    }

    pub(crate) async fn start_at(addr: SocketAddr, options: SinkOptions) -> SmtpSink {
        let listener = TcpListener::bind(addr).await.expect("bind the SMTP sink");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        state.transient_left.store(options.transient_failures, Ordering::SeqCst);
        let acceptor = tls_acceptor();
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&state), options, acceptor));
        SmtpSink { addr, state, task }
    }

    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    pub(crate) fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// Every (user, password) a client tried, accepted or not.
    pub(crate) fn logins(&self) -> Vec<(String, String)> {
        self.state.logins.lock().unwrap().clone()
    }

    pub(crate) fn mail_commands(&self) -> usize {
        self.state.mail_commands.load(Ordering::SeqCst)
    }

    /// Waits until `count` messages have arrived; panics after `timeout`.
    pub(crate) async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.state.arrived.notified();
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!("{} of {count} messages arrived within {timeout:?}", self.received().len());
            }
        }
    }
}

fn tls_acceptor() -> TlsAcceptor {
    let chain = vec![CertificateDer::from_pem_slice(include_bytes!("../tls/localhost.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(include_bytes!("../tls/localhost.key")).unwrap();
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type Connection = BufReader<Box<dyn Io>>;

async fn accept_loop(listener: TcpListener, state: Arc<State>, options: SinkOptions, acceptor: TlsAcceptor) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        state.connections.fetch_add(1, Ordering::SeqCst);
        let state = Arc::clone(&state);
        let options = options.clone();
        let acceptor = acceptor.clone();
        connections.spawn(async move {
            if options.silent {
                // Hold the socket open without a greeting until the client gives up.
                let mut stream = stream;
                let mut buffer = [0u8; 512];
                while matches!(tokio::io::AsyncReadExt::read(&mut stream, &mut buffer).await, Ok(n) if n > 0)
                {
                }
                return;
            }
            let _ = serve(stream, &state, &options, &acceptor).await;
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn serve(
    stream: TcpStream,
    state: &State,
    options: &SinkOptions,
    acceptor: &TlsAcceptor,
) -> std::io::Result<()> {
    let mut encrypted = options.tls == SinkTls::Implicit;
    let mut reader: Connection = if encrypted {
        BufReader::new(Box::new(acceptor.accept(stream).await?))
    } else {
        BufReader::new(Box::new(stream))
    };
    reader.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut helo = String::new();
    let mut auth = None;
    let mut mail_from: Option<String> = None;
    let mut rcpt_to = Vec::new();
    loop {
        let Some(line) = read_line(&mut reader).await? else { return Ok(()) };
        let (verb, rest) = match line.split_once(' ') {
            Some((verb, rest)) => (verb.to_ascii_uppercase(), rest.trim().to_owned()),
            None => (line.to_ascii_uppercase(), String::new()),
        };
        let reply = match verb.as_str() {
            "EHLO" => {
                helo = rest;
                let mut reply = String::from("250-sink.test\r\n");
                let offer_starttls = options.tls == SinkTls::StartTls && !encrypted;
                if offer_starttls {
                    reply.push_str("250-STARTTLS\r\n");
                }
                if let Some(mechanisms) = options.auth_mechanisms
                    && !offer_starttls
                {
                    reply.push_str(&format!("250-AUTH {mechanisms}\r\n"));
                }
                reply.push_str("250-8BITMIME\r\n250 SMTPUTF8\r\n");
                reply
            }
            "HELO" => {
                helo = rest;
                "250 sink.test\r\n".into()
            }
            "STARTTLS" if options.tls == SinkTls::StartTls && !encrypted => {
                reader.write_all(b"220 2.0.0 Ready to start TLS\r\n").await?;
                let plain = reader.into_inner();
                reader = BufReader::new(Box::new(acceptor.accept(plain).await?));
                encrypted = true;
                helo.clear();
                continue;
            }
            "AUTH" if options.auth_mechanisms.is_some() => {
                let (mechanism, initial) = match rest.split_once(' ') {
                    Some((mechanism, initial)) => (mechanism.to_ascii_uppercase(), Some(initial.to_owned())),
                    None => (rest.to_ascii_uppercase(), None),
                };
                match mechanism.as_str() {
                    "PLAIN" => {
                        let response = match initial {
                            Some(initial) => initial,
                            None => {
                                reader.write_all(b"334 \r\n").await?;
                                read_line(&mut reader).await?.unwrap_or_default()
                            }
                        };
                        let decoded = BASE64.decode(response.trim()).unwrap_or_default();
                        let parts: Vec<String> = decoded
                            .split(|&b| b == 0)
                            .map(|p| String::from_utf8_lossy(p).into_owned())
                            .collect();
                        match parts.as_slice() {
                            [_, user, pass] => login(state, options, &mut auth, user.clone(), pass.clone()),
                            _ => "501 5.5.2 Cannot decode\r\n".into(),
                        }
                    }
                    "LOGIN" => {
                        let user = match initial {
                            Some(initial) => initial,
                            None => {
                                reader.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
                                read_line(&mut reader).await?.unwrap_or_default()
                            }
                        };
                        reader.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
                        let pass = read_line(&mut reader).await?.unwrap_or_default();
                        let decode = |text: &str| {
                            String::from_utf8_lossy(&BASE64.decode(text.trim()).unwrap_or_default())
                                .into_owned()
                        };
                        login(state, options, &mut auth, decode(&user), decode(&pass))
                    }
                    _ => "504 5.5.4 Unrecognized authentication type\r\n".into(),
                }
            }
            "MAIL" => {
                state.mail_commands.fetch_add(1, Ordering::SeqCst);
                let transient = state
                    .transient_left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1))
                    .is_ok();
                if transient {
                    "451 4.3.0 Try again later\r\n".into()
                } else if options.reject_all {
                    "550 5.7.1 Rejected\r\n".into()
                } else {
                    mail_from = Some(address(&rest));
                    rcpt_to.clear();
                    "250 2.1.0 OK\r\n".into()
                }
            }
            "RCPT" => {
                rcpt_to.push(address(&rest));
                "250 2.1.5 OK\r\n".into()
            }
            "DATA" => {
                reader.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await?;
                let mut data = Vec::new();
                loop {
                    let mut raw = Vec::new();
                    if reader.read_until(b'\n', &mut raw).await? == 0 {
                        return Ok(());
                    }
                    if raw == b".\r\n" {
                        break;
                    }
                    let line = if raw.starts_with(b"..") { &raw[1..] } else { &raw[..] };
                    data.extend_from_slice(line);
                }
                let message = Received {
                    helo: helo.clone(),
                    encrypted,
                    auth: auth.clone(),
                    mail_from: mail_from.take().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut rcpt_to),
                    data,
                };
                state.received.lock().unwrap().push(message);
                state.arrived.notify_waiters();
                "250 2.0.0 Queued\r\n".into()
            }
            "RSET" => {
                mail_from = None;
                rcpt_to.clear();
                "250 2.0.0 OK\r\n".into()
            }
            "NOOP" => "250 2.0.0 OK\r\n".into(),
            "QUIT" => {
                reader.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 Command not recognized\r\n".into(),
        };
        reader.write_all(reply.as_bytes()).await?;
    }
}

fn login(
    state: &State,
    options: &SinkOptions,
    auth: &mut Option<(String, String)>,
    user: String,
    pass: String,
) -> String {
    state.logins.lock().unwrap().push((user.clone(), pass.clone()));
    if let Some((required_user, required_pass)) = options.required_login
        && (required_user != user || required_pass != pass)
    {
        return "535 5.7.8 Authentication credentials invalid\r\n".into();
    }
    *auth = Some((user, pass));
    "235 2.7.0 Authentication succeeded\r\n".into()
}

async fn read_line(reader: &mut Connection) -> std::io::Result<Option<String>> {
    let mut raw = Vec::new();
    if reader.read_until(b'\n', &mut raw).await? == 0 {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&raw).trim_end_matches(['\r', '\n']).to_owned()))
}

/// `FROM:<a@b.c> SIZE=123` → `a@b.c`.
fn address(argument: &str) -> String {
    let start = argument.find('<').map_or(0, |i| i + 1);
    let end = argument[start..].find('>').map_or(argument.len(), |i| start + i);
    argument[start..end].to_owned()
}

/// A received message, parsed as MIME.
#[derive(Debug)]
pub(crate) struct Mail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub content_type: String,
    /// Decoded, with LF line ends.
    pub text: Option<String>,
    pub html: Option<String>,
}

pub(crate) fn parse(received: &Received) -> Mail {
    let parsed = mailparse::parse_mail(&received.data).expect("a MIME message");
    let header = |name: &str| {
        parsed.headers.iter().find(|h| h.get_key_ref().eq_ignore_ascii_case(name)).map(|h| h.get_value())
    };
    let mut text = None;
    let mut html = None;
    let mut parts = vec![&parsed];
    while let Some(part) = parts.pop() {
        if part.subparts.is_empty() {
            let body = part.get_body().expect("a decodable body").replace("\r\n", "\n");
            match part.ctype.mimetype.as_str() {
                "text/plain" => text = Some(body),
                "text/html" => html = Some(body),
                other => panic!("unexpected part {other}"),
            }
        } else {
            parts.extend(part.subparts.iter());
        }
    }
    Mail {
        from: header("From").unwrap_or_default(),
        to: header("To").unwrap_or_default(),
        subject: header("Subject").unwrap_or_default(),
        content_type: parsed.ctype.mimetype.clone(),
        text,
        html,
    }
}

/// A port on 127.0.0.1 that nothing listens on (for now).
pub(crate) async fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}
