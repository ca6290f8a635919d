//! The one HTTP client every provider shares, and the little it needs around reqwest.

use std::time::Duration;

use reqwest::{Client, RequestBuilder, Url};
use serde_json::Value;

/// The most of a provider's answer that is read; key sets and user records are far smaller.
const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Clone)]
pub(crate) struct Http {
    client: Client,
}

/// A provider's answer, read whole.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

impl Response {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON, if it is JSON.
    pub(crate) fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The reason phrase of the status (`Unauthorized`), as `fetch`'s `statusText` gives it.
    pub(crate) fn status_text(&self) -> &'static str {
        reqwest::StatusCode::from_u16(self.status).ok().and_then(|s| s.canonical_reason()).unwrap_or("")
    }
}

impl Http {
    pub(crate) fn new(timeout: Duration) -> Result<Http, String> {
        let client = Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            // GitHub refuses requests without a User-Agent.
            .user_agent(concat!("Reparse/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| format!("cannot build the HTTP client for auth providers: {error}"))?;
        Ok(Http { client })
    }

    pub(crate) fn get(&self, url: Url) -> RequestBuilder {
        self.client.get(url)
    }

    pub(crate) fn post(&self, url: Url) -> RequestBuilder {
        self.client.post(url)
    }

    /// Sends a request and reads the answer (at most [`MAX_BODY_BYTES`]). The error is for logs
    /// only: it may name hosts and must not reach clients.
    pub(crate) async fn send(&self, request: RequestBuilder) -> Result<Response, String> {
        let mut response = request.send().await.map_err(|error| error.to_string())?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|error| error.to_string())? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(format!("answer larger than {MAX_BODY_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response { status, body })
    }
}

/// `base` (an absolute URL, with or without a trailing slash) followed by `path`.
pub(crate) fn join(base: &str, path: &str) -> Result<Url, String> {
    let joined = format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'));
    Url::parse(&joined).map_err(|error| format!("{joined}: {error}"))
}

/// Checks that a configured endpoint is an absolute http(s) URL.
pub(crate) fn check_url(option: &str, url: &str) -> Result<(), String> {
    match Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => Ok(()),
        _ => Err(format!("{option} must be an absolute http(s) URL, got {url:?}")),
    }
}

/// An `application/x-www-form-urlencoded` body.
pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in pairs {
        serializer.append_pair(key, value);
    }
    serializer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_handles_slashes() {
        assert_eq!(join("https://a.test/", "/v2/me").unwrap().as_str(), "https://a.test/v2/me");
        assert_eq!(join("https://a.test", "v2/me").unwrap().as_str(), "https://a.test/v2/me");
        assert_eq!(join("http://127.0.0.1:9/x", "user").unwrap().as_str(), "http://127.0.0.1:9/x/user");
    }

    #[test]
    fn check_url_wants_absolute_http() {
        assert!(check_url("o", "https://a.test/keys").is_ok());
        assert!(check_url("o", "http://127.0.0.1:1/").is_ok());
        assert!(check_url("o", "ftp://a.test").is_err());
        assert!(check_url("o", "/keys").is_err());
    }
}
