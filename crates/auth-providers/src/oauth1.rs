//! OAuth 1.0a request signing with HMAC-SHA1 (RFC 5849 §3), as Twitter's API wants it.

use aws_lc_rs::{hmac, rand};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Url;

/// RFC 5849 §3.6: everything but `ALPHA / DIGIT / "-" / "." / "_" / "~"` is escaped.
const OAUTH: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

pub(crate) fn encode(text: &str) -> String {
    utf8_percent_encode(text, OAUTH).to_string()
}

/// What signs a request: the app's consumer credentials and, once there is one, the user's token.
pub(crate) struct Credentials<'a> {
    pub(crate) consumer_key: &'a str,
    pub(crate) consumer_secret: &'a str,
    pub(crate) token: Option<&'a str>,
    pub(crate) token_secret: Option<&'a str>,
}

/// The `Authorization: OAuth …` header for `method url`, where `extra` holds further `oauth_*`
/// parameters (e.g. `oauth_verifier`) and `body` the form parameters of the request.
pub(crate) fn authorization(
    method: &str,
    url: &Url,
    credentials: &Credentials<'_>,
    extra: &[(&str, &str)],
    body: &[(&str, &str)],
) -> String {
    let nonce = nonce();
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .to_string();
    authorization_with(method, url, credentials, extra, body, &nonce, &timestamp)
}

fn authorization_with(
    method: &str,
    url: &Url,
    credentials: &Credentials<'_>,
    extra: &[(&str, &str)],
    body: &[(&str, &str)],
    nonce: &str,
    timestamp: &str,
) -> String {
    let mut oauth: Vec<(String, String)> = vec![
        ("oauth_consumer_key".into(), credentials.consumer_key.into()),
        ("oauth_nonce".into(), nonce.into()),
        ("oauth_signature_method".into(), "HMAC-SHA1".into()),
        ("oauth_timestamp".into(), timestamp.into()),
        ("oauth_version".into(), "1.0".into()),
    ];
    if let Some(token) = credentials.token {
        oauth.push(("oauth_token".into(), token.into()));
    }
    oauth.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));

    let mut parameters: Vec<(String, String)> = Vec::new();
    for (key, value) in &oauth {
        parameters.push((encode(key), encode(value)));
    }
    for (key, value) in url.query_pairs() {
        parameters.push((encode(&key), encode(&value)));
    }
    for (key, value) in body {
        parameters.push((encode(key), encode(value)));
    }
    parameters.sort();
    let normalized = parameters.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let base_string =
        format!("{}&{}&{}", method.to_ascii_uppercase(), encode(&base_uri(url)), encode(&normalized));
    let signing_key = format!(
        "{}&{}",
        encode(credentials.consumer_secret),
        encode(credentials.token_secret.unwrap_or_default())
    );
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, signing_key.as_bytes());
    let signature = STANDARD.encode(hmac::sign(&key, base_string.as_bytes()).as_ref());

    oauth.push(("oauth_signature".into(), signature));
    oauth.sort();
    let fields: Vec<String> = oauth.iter().map(|(k, v)| format!("{}=\"{}\"", encode(k), encode(v))).collect();
    format!("OAuth {}", fields.join(", "))
}

/// RFC 5849 §3.4.1.2: scheme and host in lower case, the port only when not the default, the
/// path, no query.
fn base_uri(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let port = url.port().map(|port| format!(":{port}")).unwrap_or_default();
    format!("{}://{host}{port}{}", url.scheme(), url.path())
}

fn nonce() -> String {
    let mut bytes = [0u8; 16];
    if rand::fill(&mut bytes).is_err() {
        // No system randomness: the timestamp still varies the nonce between requests.
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        bytes[..16].copy_from_slice(&now.as_nanos().to_le_bytes());
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of Twitter's "Creating a signature" guide.
    #[test]
    fn signs_twitters_documented_example() {
        let url =
            Url::parse("https://api.twitter.com/1.1/statuses/update.json?include_entities=true").unwrap();
        let credentials = Credentials {
            consumer_key: "xvz1evFS4wEEPTGEFPHBog",
            consumer_secret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
            token: Some("370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
            token_secret: Some("LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"),
        };
        let header = authorization_with(
            "post",
            &url,
            &credentials,
            &[],
            &[("status", "Hello Ladies + Gentlemen, a signed OAuth request!")],
            "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
            "1318622958",
        );
        assert!(header.starts_with("OAuth oauth_consumer_key=\"xvz1evFS4wEEPTGEFPHBog\", "), "{header}");
        assert!(header.contains("oauth_signature=\"hCtSmYh%2BiHYCEqBWrE7C7hYmtUk%3D\""), "{header}");
    }

    #[test]
    fn encodes_per_rfc_5849() {
        assert_eq!(encode("Ladies + Gentlemen"), "Ladies%20%2B%20Gentlemen");
        assert_eq!(encode("a-b.c_d~e!*'()"), "a-b.c_d~e%21%2A%27%28%29");
        assert_eq!(encode("☃"), "%E2%98%83");
    }

    #[test]
    fn base_uri_drops_default_ports_and_query() {
        let url = Url::parse("HTTPS://API.Twitter.com:443/1.1/x.json?a=b").unwrap();
        assert_eq!(base_uri(&url), "https://api.twitter.com/1.1/x.json");
        let url = Url::parse("http://127.0.0.1:8080/oauth/access_token").unwrap();
        assert_eq!(base_uri(&url), "http://127.0.0.1:8080/oauth/access_token");
    }
}
