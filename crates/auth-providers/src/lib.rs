//! Third-party `authData` validation, the way parse-server's built-in auth adapters do it.
//!
//! A client signs up, logs in or links an account with `authData: {<provider>: {...}}`; the
//! server asks [`AuthProviders::validate`] (or [`AuthProviders::validated_auth_data`], which also
//! returns what to store) whether that provider vouches for the `id` in it. Failures are
//! [`ParseError`]s with parse-server's codes and messages: 252 `This authentication method is
//! unsupported.` for an unknown or disabled provider, 101 with the adapter's message for a token
//! that is invalid, expired, meant for another app, or for another user. A provider that cannot
//! be reached also answers 101; nothing here panics or answers 500.
//!
//! # Configuration
//!
//! [`AuthProviders::from_options`] takes parse-server's `auth` option: an object keyed by
//! provider name. Every provider accepts `"enabled": false` (the provider then answers 252).
//! Built-in providers need no entry to be enabled, as in parse-server, but most need settings to
//! work. Keys marked *Reparse* are not parse-server's: they point a provider at other endpoints
//! (tests use them to run against local servers); the defaults are the real public endpoints.
//!
//! | provider | authData | settings |
//! |---|---|---|
//! | `anonymous` | `id` (non-empty string) | enabled unless `enableAnonymousUsers` is false |
//! | `apple` | `id`, `token` (identity token, RS256) | `clientId` (string or array, required); `jwksUri` *Reparse*, default `https://appleid.apple.com/auth/keys` |
//! | `google` | `id`, `id_token` (RS256) | `clientId` (string or array, required); `jwksUri` *Reparse*, default `https://www.googleapis.com/oauth2/v3/certs` |
//! | `facebook` | `id`, `access_token`; or Limited Login: `id`, `token` (JWT) | `appIds` (array), `appSecret` (adds `appsecret_proof`), `clientId` (Limited Login audience; defaults to `appIds`); `graphApiUrl` *Reparse*, default `https://graph.facebook.com`; `jwksUri` *Reparse*, default `https://www.facebook.com/.well-known/oauth/openid/jwks/` |
//! | `github` | `code` (exchanged for a token); or `id`, `access_token` with `enableInsecureAuth` | `clientId`, `clientSecret`, `enableInsecureAuth`; `apiUrl` *Reparse*, default `https://api.github.com`; `tokenUrl` *Reparse*, default `https://github.com/login/oauth/access_token` |
//! | `linkedin` | `code`, `redirect_uri`; or `id`, `access_token` with `enableInsecureAuth`; optional `is_mobile_sdk` | `clientId`, `clientSecret`, `enableInsecureAuth`; `apiUrl` *Reparse*, default `https://api.linkedin.com` (user from `GET /v2/me`); `tokenUrl` *Reparse*, default `https://www.linkedin.com/oauth/v2/accessToken` |
//! | `twitter` | `id`, `auth_token`, `auth_token_secret` (or `oauth_token`, `oauth_token_secret`), `consumer_key` when several consumers are configured; or `oauth_token`, `oauth_verifier` (exchanged for an access token) | `consumer_key`, `consumer_secret`, or an array of such objects picked by `authData.consumer_key`; `apiUrl` *Reparse*, default `https://api.twitter.com` |
//! | any name with `"adapter": "oidc"` (*Reparse*) | `id`, `id_token` (or `token`) | `issuer` (required, compared with `iss`), `clientId` (string or array, required), `jwksUri` (default: `jwks_uri` of `<issuer>/.well-known/openid-configuration`) |
//!
//! JWT providers also take parse-server's `cacheMaxAge` (milliseconds a fetched key set is
//! trusted, default one hour). Keys are cached by `kid`; a token whose `kid` is not cached
//! fetches the key set again once (key rotation), and concurrent fetches of one key set are
//! shared. A key set that cannot be fetched again keeps serving the keys it had.
//!
//! Other parse-server adapters (instagram, gcenter, mfa, custom `module`s, …) are refused by
//! `from_options` when configured, and answer 252 when used.
//!
//! # Differences from parse-server, on purpose
//! - A JWT must carry `exp` (`invalid exp value` otherwise); `exp` and `nbf` get
//!   [`CLOCK_TOLERANCE_SECONDS`] of leeway.
//! - Facebook Limited Login tokens are checked against `clientId`, or `appIds` when no
//!   `clientId` is set; with neither, they are refused (`Facebook auth is not configured.`).
//! - Provider user ids are compared as text, so GitHub's numeric id matches `"123"`.
//! - Twitter validates `auth_token`/`auth_token_secret` with an OAuth 1.0a signed
//!   `GET /1.1/account/verify_credentials.json` (parse-server before 8), and exchanges
//!   `oauth_token` + `oauth_verifier` with a signed `POST /oauth/access_token`.
//! - An unreachable provider answers 101 (parse-server lets the network error through).

mod code_flow;
mod config;
mod facebook;
mod http;
mod id_token;
mod jwks;
mod jwt;
mod oauth1;
mod twitter;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value};

pub use jwt::CLOCK_TOLERANCE_SECONDS;

use crate::config::{Entry, Provider};
use crate::http::Http;

/// How long one request to a provider may take unless [`AuthProviders::with_timeout`] says
/// otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The auth providers of one app, built from its `auth` option. Cheap to clone (shared state:
/// one HTTP client and the key caches).
#[derive(Clone)]
pub struct AuthProviders {
    http: Http,
    providers: Arc<HashMap<String, Entry>>,
}

impl std::fmt::Debug for AuthProviders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.providers.keys().collect();
        names.sort();
        f.debug_struct("AuthProviders").field("providers", &names).finish()
    }
}

impl AuthProviders {
    /// From parse-server's `auth` option (a JSON object keyed by provider name; `None` when not
    /// set) and `enableAnonymousUsers` (parse-server's default is true). A bad configuration is
    /// an error naming the option, e.g. `auth.google.clientId must be a string or an array of
    /// strings`.
    pub fn from_options(auth: Option<&Value>, enable_anonymous_users: bool) -> Result<AuthProviders, String> {
        let providers = config::parse(auth, enable_anonymous_users)?;
        let http = Http::new(DEFAULT_TIMEOUT)?;
        Ok(AuthProviders { http, providers: Arc::new(providers) })
    }

    /// The same providers (sharing their key caches) with another time limit per HTTP request.
    pub fn with_timeout(self, timeout: Duration) -> Result<AuthProviders, String> {
        Ok(AuthProviders { http: Http::new(timeout)?, providers: self.providers })
    }

    /// Whether `provider` would be asked at all (known and not disabled). `validate` still
    /// decides whether its authData is good.
    pub fn is_enabled(&self, provider: &str) -> bool {
        matches!(self.providers.get(provider), Some(Entry::Enabled(_)))
    }

    /// Validates one provider's authData object (e.g. `{"id": "…", "id_token": "…"}`).
    ///
    /// Unknown or disabled provider: 252 `This authentication method is unsupported.`; anything
    /// wrong with the credentials, or a provider that cannot be reached: 101 with the adapter's
    /// message (GitHub's code flow answers 142 where parse-server does).
    pub async fn validate(&self, provider: &str, auth_data: &Map<String, Value>) -> Result<(), ParseError> {
        self.validated_auth_data(provider, auth_data).await.map(drop)
    }

    /// Like [`validate`](Self::validate), and returns the authData to store. It differs from the
    /// input only for credentials that are exchanged, as parse-server does: GitHub's and
    /// LinkedIn's `code` (the result has `id` and `access_token`, no `code`/`redirect_uri`) and
    /// Twitter's `oauth_verifier` (the result has `id`, `auth_token`, `auth_token_secret`). Use
    /// this one when the client may send no `id`.
    pub async fn validated_auth_data(
        &self,
        provider: &str,
        auth_data: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ParseError> {
        match self.providers.get(provider) {
            Some(Entry::Enabled(adapter)) => adapter.validate(&self.http, auth_data).await,
            Some(Entry::Disabled) | None => Err(unsupported()),
        }
    }

    /// What of a provider's authData may be stored and shown to the user it belongs to: `id` and
    /// other non-secret fields; tokens, secrets and codes are dropped. For GitHub and LinkedIn only
    /// `id` is kept (parse-server's `afterFind` for those adapters).
    pub fn public_auth_data(provider: &str, auth_data: &Map<String, Value>) -> Map<String, Value> {
        if matches!(provider, "github" | "linkedin") {
            return auth_data
                .iter()
                .filter(|(key, _)| *key == "id")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        }
        auth_data
            .iter()
            .filter(|(key, _)| !is_secret_field(key))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    }
}

/// Field names that carry credentials: never shown back.
fn is_secret_field(key: &str) -> bool {
    const SECRET_FIELDS: &[&str] = &["code", "oauth_verifier", "signature", "salt", "nonce", "otp"];
    let lower = key.to_ascii_lowercase();
    SECRET_FIELDS.contains(&lower.as_str())
        || ["token", "secret", "password", "proof"].iter().any(|word| lower.contains(word))
}

/// 252, as parse-server answers for a provider it has no enabled adapter for.
pub(crate) fn unsupported() -> ParseError {
    ParseError::new(ErrorCode::UnsupportedService, "This authentication method is unsupported.")
}

/// 101 with an adapter's message.
pub(crate) fn invalid(message: impl Into<String>) -> ParseError {
    ParseError::new(ErrorCode::ObjectNotFound, message)
}

/// The text of an id-like JSON value (`"123"` and `123` both give `123`), for comparisons.
pub(crate) fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// A string field of authData, if present and a non-empty string.
pub(crate) fn string_field<'a>(auth_data: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    auth_data.get(key).and_then(Value::as_str).filter(|text| !text.is_empty())
}

impl Provider {
    async fn validate(
        &self,
        http: &Http,
        auth_data: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ParseError> {
        match self {
            Provider::Anonymous => match string_field(auth_data, "id") {
                Some(_) => Ok(auth_data.clone()),
                None => Err(invalid("Anonymous auth is invalid for this user.")),
            },
            Provider::IdToken(provider) => {
                provider.validate(http, auth_data).await.map(|()| auth_data.clone())
            }
            Provider::Facebook(provider) => {
                provider.validate(http, auth_data).await.map(|()| auth_data.clone())
            }
            Provider::CodeFlow(provider) => provider.validate(http, auth_data).await,
            Provider::Twitter(provider) => provider.validate(http, auth_data).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn public_auth_data_drops_secrets() {
        let data = object(json!({
            "id": "123", "access_token": "t", "id_token": "j", "token": "x", "auth_token": "a",
            "auth_token_secret": "s", "oauth_token": "o", "oauth_verifier": "v", "code": "c",
            "refresh_token": "r", "expiration_date": "2030-01-01T00:00:00.000Z", "screen_name": "me",
            "consumer_key": "ck", "appsecret_proof": "p",
        }));
        let public = AuthProviders::public_auth_data("twitter", &data);
        assert_eq!(
            Value::Object(public),
            json!({"id": "123", "expiration_date": "2030-01-01T00:00:00.000Z", "screen_name": "me", "consumer_key": "ck"})
        );
        let github = object(json!({"id": 7, "access_token": "t", "login": "octo"}));
        assert_eq!(Value::Object(AuthProviders::public_auth_data("github", &github)), json!({"id": 7}));
    }

    #[test]
    fn validation_futures_are_send_and_providers_are_sync() {
        fn assert_send<T: Send>(_: &T) {}
        fn assert_sync<T: Send + Sync + Clone>() {}
        assert_sync::<AuthProviders>();
        let providers = AuthProviders::from_options(None, true).unwrap();
        let data = Map::new();
        let future = providers.validate("google", &data);
        assert_send(&future);
        let future = providers.validated_auth_data("corp", &data);
        assert_send(&future);
    }

    #[test]
    fn id_text_accepts_strings_and_numbers_only() {
        assert_eq!(id_text(Some(&json!("a"))), Some("a".into()));
        assert_eq!(id_text(Some(&json!(12))), Some("12".into()));
        assert_eq!(id_text(Some(&json!(""))), None);
        assert_eq!(id_text(Some(&json!(null))), None);
        assert_eq!(id_text(Some(&json!({"a": 1}))), None);
        assert_eq!(id_text(None), None);
    }
}
