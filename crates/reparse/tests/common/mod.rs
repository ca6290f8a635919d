//! What the binary's integration tests share: a real `reparse` spawned on an ephemeral port,
//! and small HTTP helpers.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

pub const BINARY: &str = env!("CARGO_BIN_EXE_reparse");

/// A running server and what it printed before it was ready.
pub struct Server {
    child: Child,
    pub url: String,
    pub printed: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn start(dir: &Path, args: &[&str]) -> Server {
        Server::start_with(dir, args, |command| command)
    }

    /// `start`, with the command adjusted first (its environment).
    pub fn start_with(
        dir: &Path,
        args: &[&str],
        adjust: impl FnOnce(&mut Command) -> &mut Command,
    ) -> Server {
        let mut command = Command::new(BINARY);
        command.arg("serve").args(args).current_dir(dir).env("PORT", "0").env("REPARSE_LOG", "warn");
        let mut child = adjust(&mut command)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn reparse");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut printed = Vec::new();
        loop {
            // Long enough for a first start that installs the parse SDK for cloud code.
            let Ok(line) = receiver.recv_timeout(Duration::from_secs(90)) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server did not print its URL in time: {printed:?}");
            };
            if let Some(url) = line.strip_prefix("Reparse is listening on ") {
                let url = url.to_string();
                return Server { child, url, printed };
            }
            printed.push(line);
        }
    }

    /// The value printed after `label:` (the generated keys).
    pub fn printed_value(&self, label: &str) -> String {
        self.printed
            .iter()
            .find_map(|line| line.trim().strip_prefix(&format!("{label}:")).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("{label} was not printed: {:?}", self.printed))
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// Sends a request; returns status and JSON body.
pub fn call(method: &str, url: &str, headers: &[(&str, &str)], body: Option<Value>) -> (u16, Value) {
    let agent = agent();
    let mut response = match body {
        Some(body) => {
            let mut request = agent.post(url);
            if method == "PUT" {
                request = agent.put(url);
            }
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.send_json(body).expect("request sent")
        }
        None => {
            let mut request = if method == "DELETE" { agent.delete(url) } else { agent.get(url) };
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.call().expect("request sent")
        }
    };
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

pub fn run_cli(dir: &Path, args: &[&str]) -> (bool, String, String) {
    // An ephemeral port: a `serve` expected to fail may still bind before it does (a database
    // it cannot reach), and tests run in parallel.
    let output =
        Command::new(BINARY).args(args).current_dir(dir).env("PORT", "0").output().expect("run reparse");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// An answer: status, headers (names lowercase) and the body as JSON (or as a string).
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// A GET whose body is kept as bytes (a download).
pub fn download(url: &str, headers: &[(&str, &str)]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut request = agent().get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request.call().expect("request sent");
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), value.to_str().unwrap_or_default().to_string()))
        .collect();
    let body = response.body_mut().with_config().limit(1 << 30).read_to_vec().expect("body");
    (response.status().as_u16(), headers, body)
}

/// Sends any request, with a raw body for methods that carry one.
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Answer {
    let agent = agent();
    let mut response = match (method, body) {
        ("GET", _) | ("DELETE", None) => {
            let mut request = if method == "GET" { agent.get(url) } else { agent.delete(url) };
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.call()
        }
        (_, body) => {
            let mut request = match method {
                "POST" => agent.post(url),
                "PUT" => agent.put(url),
                _ => agent.delete(url).force_send_body(),
            };
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.send(body.unwrap_or_default())
        }
    }
    .expect("request sent");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), value.to_str().unwrap_or_default().to_string()))
        .collect();
    let text = response.body_mut().read_to_string().expect("body");
    Answer { status, headers, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
}
