//! Fake identity providers on a real local HTTP server (axum on 127.0.0.1:0), and JWTs signed
//! with the fixture keys in `tests/fixtures` (test-only keys, generated for this suite).
//!
//! The fakes check what the real providers check: a Graph API token must be registered (and
//! carry the right `appsecret_proof`), a GitHub/LinkedIn bearer token or code must be one they
//! issued, a Twitter request must be OAuth 1.0a-signed with a known consumer secret and token
//! secret.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value, json};

const PUBLIC_JWKS: &str = include_str!("../fixtures/public-jwks.json");

/// A fixture key pair: `rsa-a`, `rsa-b`, `rsa-attacker` (RSA 2048) or `ec-a` (P-256).
pub fn private_pem(name: &str) -> &'static str {
    match name {
        "rsa-a" => include_str!("../fixtures/rsa-a.pem"),
        "rsa-b" => include_str!("../fixtures/rsa-b.pem"),
        "rsa-attacker" => include_str!("../fixtures/rsa-attacker.pem"),
        "ec-a" => include_str!("../fixtures/ec-a.pem"),
        other => panic!("no fixture key {other}"),
    }
}

/// The public JWK of a fixture key, published under `kid`.
pub fn public_jwk(name: &str, kid: &str) -> Value {
    let all: Value = serde_json::from_str(PUBLIC_JWKS).unwrap();
    let mut jwk = all[name].as_object().cloned().expect("fixture key");
    jwk.insert("kid".into(), json!(kid));
    jwk.insert("use".into(), json!("sig"));
    jwk.insert("alg".into(), json!(if name.starts_with("ec") { "ES256" } else { "RS256" }));
    Value::Object(jwk)
}

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A JWT signed with fixture key `key` (RS256 for RSA keys, ES256 for EC keys).
pub fn sign(key: &str, kid: Option<&str>, claims: Value) -> String {
    let (alg, encoding) = if key.starts_with("ec") {
        (Algorithm::ES256, EncodingKey::from_ec_pem(private_pem(key).as_bytes()).unwrap())
    } else {
        (Algorithm::RS256, EncodingKey::from_rsa_pem(private_pem(key).as_bytes()).unwrap())
    };
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, &claims, &encoding).unwrap()
}

/// Claims valid for an hour.
pub fn claims(iss: &str, aud: &str, sub: &str) -> Value {
    json!({"iss": iss, "aud": aud, "sub": sub, "iat": now(), "exp": now() + 3600})
}

/// An address nothing listens on.
pub fn closed_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

pub fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("an object")
}

#[derive(Default)]
pub struct Registry {
    /// Published JWKs.
    pub jwks: Vec<Value>,
    /// The `issuer` the discovery document announces (default: the server's base URL).
    pub discovery_issuer: Option<String>,
    /// Every route answers this status instead, when set.
    pub fail_status: Option<u16>,
    /// Facebook: access token → (user id, app id).
    pub facebook_tokens: HashMap<String, (String, String)>,
    /// Facebook: the app secret whose `appsecret_proof` every Graph call must carry.
    pub facebook_app_secret: Option<String>,
    /// GitHub: access token → numeric user id; code → access token.
    pub github_tokens: HashMap<String, i64>,
    pub github_codes: HashMap<String, String>,
    /// LinkedIn: access token → user id; code → access token.
    pub linkedin_tokens: HashMap<String, String>,
    pub linkedin_codes: HashMap<String, String>,
    /// The OAuth client every code exchange must name.
    pub oauth_client: (String, String),
    /// Twitter: consumer key → secret; access token → (secret, user id);
    /// request token → (verifier, access token).
    pub twitter_consumers: HashMap<String, String>,
    pub twitter_tokens: HashMap<String, (String, String)>,
    pub twitter_request_tokens: HashMap<String, (String, String)>,
}

pub struct FakeProvider {
    pub base: String,
    pub registry: Mutex<Registry>,
    pub jwks_fetches: AtomicUsize,
    /// How long the key set takes to answer (to make concurrent fetches overlap).
    pub jwks_delay: Mutex<Duration>,
}

impl FakeProvider {
    pub async fn start() -> Arc<FakeProvider> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let fake = Arc::new(FakeProvider {
            base: format!("http://{address}"),
            registry: Mutex::new(Registry {
                oauth_client: ("client-id".into(), "client-secret".into()),
                ..Registry::default()
            }),
            jwks_fetches: AtomicUsize::new(0),
            jwks_delay: Mutex::new(Duration::ZERO),
        });
        let app = axum::Router::new().fallback(handle).with_state(fake.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        fake
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap()
    }

    pub fn publish(&self, keys: &[(&str, &str)]) {
        self.registry().jwks = keys.iter().map(|(name, kid)| public_jwk(name, kid)).collect();
    }

    pub fn fetches(&self) -> usize {
        self.jwks_fetches.load(Ordering::SeqCst)
    }
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn unauthorized() -> Response {
    json_response(StatusCode::UNAUTHORIZED, json!({"message": "Bad credentials"}))
}

fn query(uri: &Uri) -> HashMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(str::to_owned)
}

async fn handle(
    State(fake): State<Arc<FakeProvider>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(status) = fake.registry().fail_status {
        return json_response(StatusCode::from_u16(status).unwrap(), json!({"error": "failing on purpose"}));
    }
    let path = uri.path().to_owned();
    match (method.as_str(), path.as_str()) {
        ("GET", "/jwks") => {
            fake.jwks_fetches.fetch_add(1, Ordering::SeqCst);
            let delay = *fake.jwks_delay.lock().unwrap();
            tokio::time::sleep(delay).await;
            let keys = fake.registry().jwks.clone();
            json_response(StatusCode::OK, json!({"keys": keys}))
        }
        ("GET", "/.well-known/openid-configuration") => {
            let issuer = fake.registry().discovery_issuer.clone().unwrap_or_else(|| fake.base.clone());
            json_response(StatusCode::OK, json!({"issuer": issuer, "jwks_uri": fake.url("/jwks")}))
        }
        ("GET", "/graph/me" | "/graph/app") => facebook_graph(&fake, &path, &query(&uri)),
        ("GET", "/github/user") => {
            let registry = fake.registry();
            match bearer(&headers).and_then(|token| registry.github_tokens.get(&token).copied()) {
                Some(id) => json_response(StatusCode::OK, json!({"id": id, "login": format!("user{id}")})),
                None => unauthorized(),
            }
        }
        ("POST", "/github/login/oauth/access_token") => {
            let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let registry = fake.registry();
            let (client_id, client_secret) = &registry.oauth_client;
            if request["client_id"] != json!(client_id) || request["client_secret"] != json!(client_secret) {
                return json_response(StatusCode::OK, json!({"error": "incorrect_client_credentials"}));
            }
            match request["code"].as_str().and_then(|code| registry.github_codes.get(code)) {
                Some(token) => {
                    json_response(StatusCode::OK, json!({"access_token": token, "token_type": "bearer"}))
                }
                None => json_response(
                    StatusCode::OK,
                    json!({"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."}),
                ),
            }
        }
        ("GET", "/linkedin/v2/me") => {
            let registry = fake.registry();
            match bearer(&headers).and_then(|token| registry.linkedin_tokens.get(&token).cloned()) {
                Some(id) => json_response(StatusCode::OK, json!({"id": id, "localizedFirstName": "Ada"})),
                None => unauthorized(),
            }
        }
        ("POST", "/linkedin/oauth/v2/accessToken") => {
            let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
            let registry = fake.registry();
            let (client_id, client_secret) = &registry.oauth_client;
            let client_ok = form.get("client_id") == Some(client_id)
                && form.get("client_secret") == Some(client_secret)
                && form.get("grant_type").map(String::as_str) == Some("authorization_code");
            match form.get("code").and_then(|code| registry.linkedin_codes.get(code)) {
                Some(token) if client_ok => {
                    json_response(StatusCode::OK, json!({"access_token": token, "expires_in": 3600}))
                }
                _ => json_response(StatusCode::BAD_REQUEST, json!({"error": "invalid_request"})),
            }
        }
        ("GET", "/twitter/1.1/account/verify_credentials.json") => twitter_verify(&fake, &uri, &headers),
        ("POST", "/twitter/oauth/access_token") => twitter_access_token(&fake, &uri, &headers),
        _ => json_response(StatusCode::NOT_FOUND, json!({"error": "no such route"})),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn facebook_graph(fake: &FakeProvider, path: &str, query: &HashMap<String, String>) -> Response {
    let registry = fake.registry();
    let invalid = || {
        json_response(
            StatusCode::BAD_REQUEST,
            json!({"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}),
        )
    };
    let Some(token) = query.get("access_token") else { return invalid() };
    if let Some(secret) = &registry.facebook_app_secret {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        let proof = hex(hmac::sign(&key, token.as_bytes()).as_ref());
        if query.get("appsecret_proof") != Some(&proof) {
            return json_response(
                StatusCode::BAD_REQUEST,
                json!({"error": {"message": "Invalid appsecret_proof provided in the API argument", "code": 100}}),
            );
        }
    }
    let Some((user, app)) = registry.facebook_tokens.get(token) else { return invalid() };
    if path == "/graph/me" {
        if query.get("fields").map(String::as_str) != Some("id") {
            return invalid();
        }
        json_response(StatusCode::OK, json!({"id": user}))
    } else {
        json_response(StatusCode::OK, json!({"id": app, "name": "Test app"}))
    }
}

const OAUTH: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn enc(text: &str) -> String {
    utf8_percent_encode(text, OAUTH).to_string()
}

/// Checks an OAuth 1.0a HMAC-SHA1 `Authorization` header against the fake's secrets; returns
/// the `oauth_*` parameters when the signature is right. `token_secret` finds the secret of the
/// request's `oauth_token` (`None` when the token is unknown).
fn verify_oauth(
    fake: &FakeProvider,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    token_secret: impl Fn(&Registry, &str) -> Option<String>,
) -> Option<HashMap<String, String>> {
    let header = headers.get("authorization")?.to_str().ok()?.strip_prefix("OAuth ")?.to_owned();
    let mut oauth = HashMap::new();
    for part in header.split(", ") {
        let (key, value) = part.split_once('=')?;
        let value = value.strip_prefix('"')?.strip_suffix('"')?;
        oauth.insert(
            percent_decode_str(key).decode_utf8().ok()?.into_owned(),
            percent_decode_str(value).decode_utf8().ok()?.into_owned(),
        );
    }
    if oauth.get("oauth_signature_method").map(String::as_str) != Some("HMAC-SHA1") {
        return None;
    }
    let timestamp: i64 = oauth.get("oauth_timestamp")?.parse().ok()?;
    if (timestamp - now()).abs() > 300 || oauth.get("oauth_nonce")?.len() < 8 {
        return None;
    }
    let registry = fake.registry();
    let consumer_secret = registry.twitter_consumers.get(oauth.get("oauth_consumer_key")?)?.clone();
    let token_secret = match oauth.get("oauth_token") {
        Some(token) => token_secret(&registry, token)?,
        None => String::new(),
    };
    let mut params: Vec<(String, String)> = oauth
        .iter()
        .filter(|(k, _)| *k != "oauth_signature")
        .map(|(k, v)| (enc(k), enc(v)))
        .chain(query(uri).iter().map(|(k, v)| (enc(k), enc(v))))
        .collect();
    params.sort();
    let normalized = params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let base_string =
        format!("{method}&{}&{}", enc(&format!("{}{}", fake.base, uri.path())), enc(&normalized));
    let key = hmac::Key::new(
        hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        format!("{}&{}", enc(&consumer_secret), enc(&token_secret)).as_bytes(),
    );
    let expected =
        base64::engine::general_purpose::STANDARD.encode(hmac::sign(&key, base_string.as_bytes()).as_ref());
    (oauth.get("oauth_signature") == Some(&expected)).then_some(oauth)
}

fn twitter_verify(fake: &FakeProvider, uri: &Uri, headers: &HeaderMap) -> Response {
    let checked = verify_oauth(fake, "GET", uri, headers, |registry, token| {
        registry.twitter_tokens.get(token).map(|(secret, _)| secret.clone())
    });
    let Some(oauth) = checked else {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"errors": [{"code": 32, "message": "Could not authenticate you."}]}),
        );
    };
    let user_id = fake.registry().twitter_tokens[&oauth["oauth_token"]].1.clone();
    json_response(
        StatusCode::OK,
        json!({"id": user_id.parse::<i64>().unwrap_or(0), "id_str": user_id, "screen_name": "someone"}),
    )
}

fn twitter_access_token(fake: &FakeProvider, uri: &Uri, headers: &HeaderMap) -> Response {
    // A request token has no secret the server knows: the signature uses an empty one.
    let checked = verify_oauth(fake, "POST", uri, headers, |registry, token| {
        registry.twitter_request_tokens.contains_key(token).then(String::new)
    });
    let Some(oauth) = checked else {
        return (StatusCode::UNAUTHORIZED, "Invalid request token.").into_response();
    };
    let registry = fake.registry();
    let (verifier, access_token) = registry.twitter_request_tokens[&oauth["oauth_token"]].clone();
    if oauth.get("oauth_verifier") != Some(&verifier) {
        return (
            StatusCode::UNAUTHORIZED,
            "Error processing your OAuth request: Invalid oauth_verifier parameter",
        )
            .into_response();
    }
    let (secret, user_id) = registry.twitter_tokens[&access_token].clone();
    (
        StatusCode::OK,
        format!(
            "oauth_token={access_token}&oauth_token_secret={secret}&user_id={user_id}&screen_name=someone"
        ),
    )
        .into_response()
}
