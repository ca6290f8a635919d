//! The mailer against a real SMTP server on 127.0.0.1 (see `support`): what arrives, logins,
//! retries, and that sending never waits for the server.

mod support;

use std::time::{Duration, Instant};

use reparse_mail::{
    EmailVars, MailConfig, Mailer, OutgoingEmail, RetryPolicy, SendError, SmtpConfig, SmtpCredentials,
    TlsMode, password_reset_link, verify_email_link,
};
use serde_json::json;
use support::{SinkOptions, SinkTls, SmtpSink, TEST_CA_PEM, free_port, parse};

const URL: &str = "http://localhost:1337/parse";
const WAIT: Duration = Duration::from_secs(10);

/// Plain SMTP to the sink's port, short waits between tries.
fn config(port: u16) -> MailConfig {
    let mut smtp = SmtpConfig::new("127.0.0.1", "My App <noreply@example.com>");
    smtp.port = port;
    smtp.tls = TlsMode::None;
    smtp.timeout = Duration::from_secs(5);
    let mut config = MailConfig::new("My App", URL, smtp);
    config.retry = RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
    };
    config
}

fn vars(email: &str, username: &str, link: String) -> EmailVars {
    EmailVars { link, email: email.into(), username: username.into() }
}

async fn flushed(mailer: &Mailer) {
    tokio::time::timeout(WAIT, mailer.flush()).await.expect("the queue drains");
}

#[tokio::test]
async fn verification_email_arrives_with_parse_servers_wording() {
    let sink = SmtpSink::start(SinkOptions::default()).await;
    let mailer = Mailer::start(config(sink.port())).unwrap();
    let link = verify_email_link(URL, "myAppId", "tok/en+1");
    mailer.send_verification("ann@example.com", &vars("ann@example.com", "ann", link)).unwrap();
    flushed(&mailer).await;

    let received = sink.wait_for(1, WAIT).await;
    assert_eq!(received[0].mail_from, "noreply@example.com");
    assert_eq!(received[0].rcpt_to, ["ann@example.com"]);
    assert_eq!(received[0].auth, None);
    let mail = parse(&received[0]);
    assert_eq!(mail.from, "\"My App\" <noreply@example.com>");
    assert_eq!(mail.to, "ann@example.com");
    assert_eq!(mail.subject, "Please verify your e-mail for My App");
    assert_eq!(mail.content_type, "text/plain");
    assert_eq!(
        mail.text.unwrap().trim_end(),
        "Hi,\n\nYou are being asked to confirm the e-mail address ann@example.com with My App\n\n\
         Click here to confirm it:\nhttp://localhost:1337/parse/apps/myAppId/verify_email?token=tok%2Fen%2B1"
    );
    assert_eq!(mail.html, None);
    mailer.shutdown().await;
}

#[tokio::test]
async fn password_reset_with_default_template() {
    let sink = SmtpSink::start(SinkOptions::default()).await;
    let mailer = Mailer::start(config(sink.port())).unwrap();
    let link = password_reset_link(URL, "myAppId", "abc");
    mailer.send_password_reset("bob@example.com", &vars("bob@example.com", "bob", link)).unwrap();
    let mail = parse(&sink.wait_for(1, WAIT).await[0]);
    assert_eq!(mail.subject, "Password Reset for My App");
    assert_eq!(
        mail.text.unwrap().trim_end(),
        "Hi,\n\nYou requested to reset your password for My App (your username is 'bob').\n\n\
         Click here to reset it:\nhttp://localhost:1337/parse/apps/myAppId/request_password_reset?token=abc"
    );
    mailer.shutdown().await;
}

#[tokio::test]
async fn custom_templates_give_multipart_mail_with_escaped_html() {
    let sink = SmtpSink::start(SinkOptions::default()).await;
    let adapter = json!({
        "module": "parse-smtp-template",
        "options": {
            "host": "127.0.0.1", "port": sink.port(), "secure": false, "ignoreTLS": true,
            "fromAddress": "accounts@example.com",
            "templates": {
                "passwordResetEmail": {
                    "subject": "{{appName}}: new password for {{username}}",
                    "text": "Reset it here: {{link}}{{^username}} (no username){{/username}}",
                    "html": "<p>Hello {{username}},</p><a href=\"{{link}}\">Reset your {{appName}} password</a>"
                }
            }
        }
    });
    let config = MailConfig::from_parse_options("Café & Co", URL, &adapter).unwrap();
    let mailer = Mailer::start(config).unwrap();
    let link = "https://example.com/reset?token=a&x=<1>".to_owned();
    mailer.send_password_reset("zoë@example.com", &vars("zoë@example.com", "<zoë>", link)).unwrap();

    let received = sink.wait_for(1, WAIT).await;
    assert_eq!(received[0].mail_from, "accounts@example.com");
    assert_eq!(received[0].rcpt_to, ["zoë@example.com"]);
    let mail = parse(&received[0]);
    assert_eq!(mail.from, "accounts@example.com");
    assert_eq!(mail.to, "zoë@example.com");
    assert_eq!(mail.subject, "Café & Co: new password for <zoë>");
    assert_eq!(mail.content_type, "multipart/alternative");
    assert_eq!(mail.text.unwrap().trim_end(), "Reset it here: https://example.com/reset?token=a&x=<1>");
    assert_eq!(
        mail.html.unwrap().trim_end(),
        "<p>Hello &lt;zoë&gt;,</p><a href=\"https://example.com/reset?token=a&amp;x=&lt;1&gt;\">\
         Reset your Café &amp; Co password</a>"
    );
    // The verification template was not customised.
    mailer.send_verification("zoë@example.com", &vars("zoë@example.com", "", "L".into())).unwrap();
    let mail = parse(&sink.wait_for(2, WAIT).await[1]);
    assert_eq!(mail.subject, "Please verify your e-mail for Café & Co");
    assert_eq!(mail.html, None);
    mailer.shutdown().await;
}

#[tokio::test]
async fn logs_in_with_auth_plain() {
    let sink =
        SmtpSink::start(SinkOptions { auth_mechanisms: Some("PLAIN LOGIN"), ..Default::default() }).await;
    let adapter = json!({ "smtp": {
        "host": "127.0.0.1", "port": sink.port(), "tls": "none", "name": "reparse.example",
        "username": "smtp-user", "password": "s3cret pass", "from": "noreply@example.com"
    }});
    let mailer = Mailer::start(MailConfig::from_parse_options("My App", URL, &adapter).unwrap()).unwrap();
    mailer.send_verification("ann@example.com", &vars("ann@example.com", "", "L".into())).unwrap();
    let received = sink.wait_for(1, WAIT).await;
    assert_eq!(received[0].auth, Some(("smtp-user".into(), "s3cret pass".into())));
    assert_eq!(received[0].helo, "reparse.example");
    mailer.shutdown().await;
}

#[tokio::test]
async fn logs_in_with_auth_login() {
    let sink = SmtpSink::start(SinkOptions { auth_mechanisms: Some("LOGIN"), ..Default::default() }).await;
    let mut config = config(sink.port());
    config.smtp.credentials =
        Some(SmtpCredentials { username: "u@example.com".into(), password: "p".into() });
    let mailer = Mailer::start(config).unwrap();
    mailer.send_verification("ann@example.com", &vars("ann@example.com", "", "L".into())).unwrap();
    let received = sink.wait_for(1, WAIT).await;
    assert_eq!(received[0].auth, Some(("u@example.com".into(), "p".into())));
    mailer.shutdown().await;
}

#[tokio::test]
async fn a_refused_login_is_not_retried() {
    let sink = SmtpSink::start(SinkOptions {
        auth_mechanisms: Some("PLAIN"),
        required_login: Some(("right", "right")),
        ..Default::default()
    })
    .await;
    let mut config = config(sink.port());
    config.smtp.credentials = Some(SmtpCredentials { username: "wrong".into(), password: "wrong".into() });
    let mailer = Mailer::start(config).unwrap();
    mailer.send_verification("ann@example.com", &vars("ann@example.com", "", "L".into())).unwrap();
    flushed(&mailer).await;
    assert_eq!(sink.logins(), [("wrong".to_owned(), "wrong".to_owned())]);
    assert_eq!(sink.mail_commands(), 0);
    mailer.shutdown().await;
}

#[tokio::test]
async fn required_starttls_never_sends_credentials_to_a_server_without_it() {
    let sink =
        SmtpSink::start(SinkOptions { auth_mechanisms: Some("PLAIN LOGIN"), ..Default::default() }).await;
    let mut config = config(sink.port());
    config.smtp.tls = TlsMode::StartTls;
    config.smtp.credentials = Some(SmtpCredentials { username: "u".into(), password: "secret".into() });
    let mailer = Mailer::start(config).unwrap();
    mailer.send_verification("ann@example.com", &vars("ann@example.com", "", "L".into())).unwrap();
    flushed(&mailer).await;
    assert_eq!(sink.logins(), []);
    assert_eq!(sink.mail_commands(), 0);
    assert_eq!(sink.connections(), 1, "not retried");
    mailer.shutdown().await;
}

#[tokio::test]
async fn starttls_to_a_server_whose_ca_is_given() {
    let sink = SmtpSink::start(SinkOptions {
        tls: SinkTls::StartTls,
        auth_mechanisms: Some("PLAIN"),
        ..Default::default()
    })
    .await;
    let adapter = json!({ "smtp": {
        "host": "localhost", "port": sink.port(), "tls": "starttls", "ca": TEST_CA_PEM,
        "username": "u", "password": "p", "from": "noreply@example.com"
    }});
    let mailer = Mailer::start(MailConfig::from_parse_options("My App", URL, &adapter).unwrap()).unwrap();
    mailer.send_verification("ann@example.com", &vars("ann@example.com", "", "L".into())).unwrap();
    let received = sink.wait_for(1, WAIT).await;
    assert!(received[0].encrypted);
    assert_eq!(received[0].auth, Some(("u".into(), "p".into())));
    assert_eq!(parse(&received[0]).subject, "Please verify your e-mail for My App");
    mailer.shutdown().await;
}

#[tokio::test]
async fn implicit_tls_with_nodemailer_options() {
    let sink = SmtpSink::start(SinkOptions { tls: SinkTls::Implicit, ..Default::default() }).await;
    let adapter = json!({ "module": "parse-smtp-template", "options": {
        "host": "127.0.0.1", "port": sink.port(), "secure": true, "tls": { "ca": [TEST_CA_PEM] },
        "fromAddress": "noreply@example.com"
    }});
    let mailer = Mailer::start(MailConfig::from_parse_options("My App", URL, &adapter).unwrap()).unwrap();
    mailer.send_verification("ann@example.com", &vars("ann@example.com", "", "L".into())).unwrap();
    assert!(sink.wait_for(1, WAIT).await[0].encrypted);
    mailer.shutdown().await;

    // nodemailer's rejectUnauthorized: false trusts any certificate.
    let adapter = json!({ "module": "parse-smtp-template", "options": {
        "host": "127.0.0.1", "port": sink.port(), "secure": true, "tls": { "rejectUnauthorized": false },
        "fromAddress": "noreply@example.com"
    }});
    let mailer = Mailer::start(MailConfig::from_parse_options("My App", URL, &adapter).unwrap()).unwrap();
    mailer.send_verification("bob@example.com", &vars("bob@example.com", "", "L".into())).unwrap();
    assert!(sink.wait_for(2, WAIT).await[1].encrypted);
    mailer.shutdown().await;
}

#[tokio::test]
async fn an_untrusted_certificate_gets_neither_credentials_nor_mail() {
    let sink = SmtpSink::start(SinkOptions {
        tls: SinkTls::StartTls,
        auth_mechanisms: Some("PLAIN"),
        ..Default::default()
    })
    .await;
    let mut config = config(sink.port());
    config.smtp.host = "localhost".into();
    config.smtp.tls = TlsMode::StartTls;
    config.smtp.credentials = Some(SmtpCredentials { username: "u".into(), password: "secret".into() });
    config.retry.max_attempts = 2;
    let mailer = Mailer::start(config).unwrap();
    mailer.send_verification("ann@example.com", &vars("ann@example.com", "", "L".into())).unwrap();
    flushed(&mailer).await;
    assert_eq!(sink.logins(), []);
    assert_eq!(sink.mail_commands(), 0);
    assert!(sink.connections() >= 1);
    mailer.shutdown().await;
}

#[tokio::test]
async fn a_server_that_comes_up_late_gets_the_mail_through_retries() {
    let addr = free_port().await;
    let mut config = config(addr.port());
    config.retry.max_attempts = 20;
    let mailer = Mailer::start(config).unwrap();
    mailer.send_verification("ann@example.com", &vars("ann@example.com", "", "L".into())).unwrap();
    // The first tries find the port closed.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(mailer.pending(), 1);
    let sink = SmtpSink::start_at(addr, SinkOptions::default()).await;
    flushed(&mailer).await;
    assert_eq!(sink.received().len(), 1);
    mailer.shutdown().await;
}

#[tokio::test]
async fn a_4xx_reply_is_retried_and_a_5xx_reply_is_not() {
    let sink = SmtpSink::start(SinkOptions { transient_failures: 2, ..Default::default() }).await;
    let mailer = Mailer::start(config(sink.port())).unwrap();
    mailer.send_verification("ann@example.com", &vars("ann@example.com", "", "L".into())).unwrap();
    flushed(&mailer).await;
    assert_eq!(sink.received().len(), 1);
    assert_eq!(sink.mail_commands(), 3);
    mailer.shutdown().await;

    let sink = SmtpSink::start(SinkOptions { reject_all: true, ..Default::default() }).await;
    let mailer = Mailer::start(config(sink.port())).unwrap();
    mailer.send_verification("ann@example.com", &vars("ann@example.com", "", "L".into())).unwrap();
    flushed(&mailer).await;
    assert_eq!(sink.received().len(), 0);
    assert_eq!(sink.mail_commands(), 1);
    mailer.shutdown().await;
}

#[tokio::test]
async fn gives_up_after_the_last_attempt() {
    let sink = SmtpSink::start(SinkOptions { transient_failures: 100, ..Default::default() }).await;
    let mailer = Mailer::start(config(sink.port())).unwrap();
    mailer.send_verification("ann@example.com", &vars("ann@example.com", "", "L".into())).unwrap();
    flushed(&mailer).await;
    assert_eq!(sink.mail_commands(), 4);
    assert_eq!(sink.received().len(), 0);
    mailer.shutdown().await;
}

#[tokio::test]
async fn sending_never_waits_for_an_unreachable_server() {
    // Nothing listening: every try is refused.
    let addr = free_port().await;
    let mailer = Mailer::start(config(addr.port())).unwrap();
    for _ in 0..20 {
        let started = Instant::now();
        mailer.send_verification("ann@example.com", &vars("ann@example.com", "", "L".into())).unwrap();
        assert!(started.elapsed() < Duration::from_millis(250), "send took {:?}", started.elapsed());
    }
    assert!(mailer.pending() > 0);
    drop(mailer);

    // A server that accepts and never answers: one delivery at a time, two messages may wait.
    let sink = SmtpSink::start(SinkOptions { silent: true, ..Default::default() }).await;
    let mut config = config(sink.port());
    config.max_connections = 1;
    config.queue_capacity = 2;
    config.retry.max_attempts = 1;
    config.smtp.timeout = Duration::from_secs(2);
    let mailer = Mailer::start(config).unwrap();
    let started = Instant::now();
    let results: Vec<_> = (0..6)
        .map(|_| mailer.send_verification("ann@example.com", &vars("ann@example.com", "", "L".into())))
        .collect();
    assert!(started.elapsed() < Duration::from_millis(250), "sends took {:?}", started.elapsed());
    let accepted = results.iter().filter(|result| result.is_ok()).count();
    assert!((2..=3).contains(&accepted), "{results:?}");
    assert!(results.iter().all(|result| matches!(result, Ok(()) | Err(SendError::QueueFull))), "{results:?}");

    // Shutting down waits for the stuck deliveries to time out, then refuses new mail.
    tokio::time::timeout(Duration::from_secs(20), mailer.shutdown()).await.expect("shutdown ends");
    assert_eq!(mailer.pending(), 0);
    assert_eq!(
        mailer.send_verification("ann@example.com", &vars("ann@example.com", "", "L".into())),
        Err(SendError::ShutDown)
    );
}

#[tokio::test]
async fn shutdown_delivers_what_is_queued_over_pooled_connections() {
    let sink = SmtpSink::start(SinkOptions::default()).await;
    let mut config = config(sink.port());
    config.max_connections = 2;
    let mailer = Mailer::start(config).unwrap();
    for i in 0..10 {
        let to = format!("user{i}@example.com");
        mailer.send_verification(&to, &vars(&to, "", format!("L{i}"))).unwrap();
    }
    mailer.shutdown().await;
    let received = sink.received();
    assert_eq!(received.len(), 10);
    let mut recipients: Vec<_> = received.iter().map(|r| r.rcpt_to[0].clone()).collect();
    recipients.sort();
    let mut expected: Vec<_> = (0..10).map(|i| format!("user{i}@example.com")).collect();
    expected.sort();
    assert_eq!(recipients, expected);
    assert!(sink.connections() <= 2, "{} connections", sink.connections());
}

#[tokio::test]
async fn an_idle_connection_is_reused() {
    let sink = SmtpSink::start(SinkOptions::default()).await;
    let mailer = Mailer::start(config(sink.port())).unwrap();
    for i in 0..3 {
        mailer.send_verification("ann@example.com", &vars("ann@example.com", "", format!("L{i}"))).unwrap();
        flushed(&mailer).await;
    }
    assert_eq!(sink.received().len(), 3);
    assert_eq!(sink.connections(), 1);
    mailer.shutdown().await;
}

#[tokio::test]
async fn bad_recipients_are_refused_at_once() {
    let sink = SmtpSink::start(SinkOptions::default()).await;
    let mailer = Mailer::start(config(sink.port())).unwrap();
    let result = mailer.send_password_reset("just-a-username", &vars("", "just-a-username", "L".into()));
    assert!(
        matches!(result, Err(SendError::InvalidRecipient { ref address, .. }) if address == "just-a-username")
    );
    assert_eq!(mailer.pending(), 0);
    mailer.shutdown().await;
    assert_eq!(sink.connections(), 0);
}

#[tokio::test]
async fn a_message_given_whole() {
    let sink = SmtpSink::start(SinkOptions::default()).await;
    let mailer = Mailer::start(config(sink.port())).unwrap();
    mailer
        .send_email(OutgoingEmail {
            to: "Ann <ann@example.com>".into(),
            subject: "Line one\r\nBcc: evil@example.com".into(),
            text: "Plain\n.leading dot\n".into(),
            html: Some("<b>Bold</b>".into()),
        })
        .unwrap();
    let received = sink.wait_for(1, WAIT).await;
    assert_eq!(received[0].rcpt_to, ["ann@example.com"]);
    let mail = parse(&received[0]);
    assert_eq!(mail.to, "Ann <ann@example.com>");
    assert_eq!(mail.subject, "Line one  Bcc: evil@example.com");
    assert_eq!(mail.text.unwrap(), "Plain\n.leading dot\n");
    assert_eq!(mail.html.unwrap(), "<b>Bold</b>");
    mailer.shutdown().await;
}
