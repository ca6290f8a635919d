//! A provider's JSON Web Key Set, fetched over HTTP and cached by `kid`.
//!
//! - Keys are trusted for `max_age` after a fetch.
//! - A `kid` that is not cached (a rotated key) fetches the set again, once per lookup.
//! - Lookups that wait while another one fetches use that fetch's result instead of fetching
//!   again, so a burst of logins costs one request.
//! - When a fetch fails, the keys of the last good fetch keep being used.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde_json::Value;

use crate::http::{self, Http};

/// One public key of a set.
pub(crate) struct PublicKey {
    pub(crate) kid: Option<String>,
    pub(crate) family: AlgorithmFamily,
    /// The `alg` the key is restricted to, when the set says so.
    pub(crate) alg: Option<Algorithm>,
    pub(crate) key: DecodingKey,
}

/// Where the key set comes from.
#[derive(Clone, Debug)]
pub(crate) enum JwksSource {
    Url(String),
    /// OpenID Connect discovery: `jwks_uri` of `<issuer>/.well-known/openid-configuration`.
    Discovery {
        issuer: String,
    },
}

pub(crate) struct Jwks {
    source: JwksSource,
    max_age: Duration,
    state: Mutex<State>,
    /// Held while fetching, so that concurrent lookups share one fetch.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    keys: Vec<Arc<PublicKey>>,
    fetched_at: Option<Instant>,
    /// Counts fetch attempts (good or not): a waiter that sees it move does not fetch again.
    attempts: u64,
    /// The discovered `jwks_uri`.
    jwks_uri: Option<String>,
}

impl State {
    fn find(&self, kid: Option<&str>) -> Option<Arc<PublicKey>> {
        match kid {
            Some(kid) => self.keys.iter().find(|key| key.kid.as_deref() == Some(kid)).cloned(),
            None if self.keys.len() == 1 => self.keys.first().cloned(),
            None => None,
        }
    }

    fn is_fresh(&self, max_age: Duration) -> bool {
        self.fetched_at.is_some_and(|at| at.elapsed() < max_age)
    }
}

impl Jwks {
    pub(crate) fn new(source: JwksSource, max_age: Duration) -> Jwks {
        Jwks { source, max_age, state: Mutex::default(), fetching: tokio::sync::Mutex::new(()) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key a token names (`kid`; a token without one may use a set's only key).
    pub(crate) async fn key(&self, http: &Http, kid: Option<&str>) -> Option<Arc<PublicKey>> {
        let attempts = {
            let state = self.state();
            let found = state.find(kid);
            if found.is_some() && state.is_fresh(self.max_age) {
                return found;
            }
            state.attempts
        };
        let _fetching = self.fetching.lock().await;
        {
            let state = self.state();
            if state.attempts != attempts {
                // Another lookup fetched while this one waited: its result is as new as it gets.
                return state.find(kid);
            }
        }
        let fetched = self.fetch(http).await;
        let mut state = self.state();
        state.attempts += 1;
        match fetched {
            Ok((keys, jwks_uri)) => {
                state.keys = keys;
                state.fetched_at = Some(Instant::now());
                state.jwks_uri = jwks_uri;
            }
            Err(error) => {
                tracing::warn!(source = ?self.source, %error, "cannot fetch an auth provider's key set");
                // A set that cannot be fetched again keeps its keys; discovery is retried.
                state.jwks_uri = None;
            }
        }
        state.find(kid)
    }

    async fn fetch(&self, http: &Http) -> Result<(Vec<Arc<PublicKey>>, Option<String>), String> {
        let jwks_uri = match &self.source {
            JwksSource::Url(url) => url.clone(),
            JwksSource::Discovery { issuer } => {
                let discovered = self.state().jwks_uri.clone();
                match discovered {
                    Some(uri) => uri,
                    None => discover(http, issuer).await?,
                }
            }
        };
        let url = reqwest::Url::parse(&jwks_uri).map_err(|e| format!("{jwks_uri}: {e}"))?;
        let response = http.send(http.get(url)).await?;
        if !response.is_success() {
            return Err(format!("{jwks_uri} answered HTTP {}", response.status));
        }
        let set = response.json().ok_or_else(|| format!("{jwks_uri} did not answer JSON"))?;
        let keys = parse_key_set(&set).ok_or_else(|| format!("{jwks_uri} did not answer a key set"))?;
        let discovered = matches!(self.source, JwksSource::Discovery { .. }).then_some(jwks_uri);
        Ok((keys, discovered))
    }
}

/// `jwks_uri` from the issuer's discovery document, whose `issuer` must be the configured one.
async fn discover(http: &Http, issuer: &str) -> Result<String, String> {
    let url = http::join(issuer, ".well-known/openid-configuration")?;
    let response = http.send(http.get(url.clone())).await?;
    if !response.is_success() {
        return Err(format!("{url} answered HTTP {}", response.status));
    }
    let document = response.json().ok_or_else(|| format!("{url} did not answer JSON"))?;
    let announced = document.get("issuer").and_then(Value::as_str);
    if announced.map(|a| a.trim_end_matches('/')) != Some(issuer.trim_end_matches('/')) {
        return Err(format!("{url} names issuer {announced:?}, not {issuer:?}"));
    }
    let jwks_uri =
        document.get("jwks_uri").and_then(Value::as_str).ok_or_else(|| format!("{url} has no jwks_uri"))?;
    http::check_url("jwks_uri", jwks_uri)?;
    Ok(jwks_uri.to_owned())
}

/// The signature keys of a JWK Set (`{"keys": [...]}`): RSA and EC (P-256, P-384) keys. Keys
/// marked for encryption, symmetric keys and keys that do not decode are left out.
pub(crate) fn parse_key_set(set: &Value) -> Option<Vec<Arc<PublicKey>>> {
    let keys = set.get("keys")?.as_array()?;
    Some(keys.iter().filter_map(parse_key).map(Arc::new).collect())
}

fn parse_key(jwk: &Value) -> Option<PublicKey> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    if text("use").is_some_and(|usage| usage != "sig") {
        return None;
    }
    let (family, key) = match text("kty")? {
        "RSA" => (AlgorithmFamily::Rsa, DecodingKey::from_rsa_components(text("n")?, text("e")?).ok()?),
        "EC" if matches!(text("crv")?, "P-256" | "P-384") => {
            (AlgorithmFamily::Ec, DecodingKey::from_ec_components(text("x")?, text("y")?).ok()?)
        }
        _ => return None,
    };
    let alg = match text("alg") {
        Some(alg) => Some(alg.parse::<Algorithm>().ok()?),
        None => None,
    };
    Some(PublicKey { kid: text("kid").map(str::to_owned), family, alg, key })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_sets_keep_signature_keys_only() {
        let set = json!({"keys": [
            {"kty": "RSA", "kid": "r", "n": "sXchDaQebHnP", "e": "AQAB", "alg": "RS256", "use": "sig"},
            {"kty": "EC", "kid": "e", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty": "RSA", "kid": "enc", "n": "sXch", "e": "AQAB", "use": "enc"},
            {"kty": "oct", "kid": "h", "k": "c2VjcmV0"},
            {"kty": "EC", "kid": "k", "crv": "secp256k1", "x": "AA", "y": "AA"},
            {"kty": "RSA", "kid": "odd-alg", "n": "sXch", "e": "AQAB", "alg": "XX999"},
            "not a key"
        ]});
        let keys = parse_key_set(&set).unwrap();
        let kids: Vec<_> = keys.iter().map(|k| k.kid.clone().unwrap()).collect();
        assert_eq!(kids, ["r", "e"]);
        assert_eq!(keys[0].alg, Some(Algorithm::RS256));
        assert_eq!(keys[1].family, AlgorithmFamily::Ec);
        assert!(parse_key_set(&json!({"nokeys": []})).is_none());
    }

    #[test]
    fn a_token_without_kid_may_use_a_single_key() {
        let set = json!({"keys": [{"kty": "RSA", "kid": "r", "n": "sXch", "e": "AQAB"}]});
        let state = State { keys: parse_key_set(&set).unwrap(), ..State::default() };
        assert!(state.find(None).is_some());
        assert!(state.find(Some("r")).is_some());
        assert!(state.find(Some("other")).is_none());
        let two = json!({"keys": [{"kty": "RSA", "kid": "a", "n": "sXch", "e": "AQAB"}, {"kty": "RSA", "kid": "b", "n": "sXch", "e": "AQAB"}]});
        let state = State { keys: parse_key_set(&two).unwrap(), ..State::default() };
        assert!(state.find(None).is_none());
    }
}
