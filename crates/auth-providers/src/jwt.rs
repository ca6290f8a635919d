//! JWT parsing and checks, with the messages of node's `jsonwebtoken` that parse-server passes
//! on (`invalid signature`, `jwt expired`, `jwt audience invalid. expected: …`).
//!
//! Only the signature itself is left to the `jsonwebtoken` crate; the header and claims are read
//! here so that the order of the checks and their messages are node's.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use reparse_core::ParseError;
use serde_json::{Map, Value};

use crate::invalid;
use crate::jwks::PublicKey;

/// Seconds of clock skew allowed on `exp` and `nbf`.
pub const CLOCK_TOLERANCE_SECONDS: i64 = 30;

/// A JWT split into its parts, not yet verified.
pub(crate) struct Jwt<'a> {
    pub(crate) header: Map<String, Value>,
    pub(crate) claims: Map<String, Value>,
    signing_input: &'a str,
    signature: &'a str,
}

impl<'a> Jwt<'a> {
    /// Splits and decodes a compact JWS; anything else is parse-server's
    /// `provided token does not decode as JWT`.
    pub(crate) fn parse(token: &'a str) -> Result<Jwt<'a>, ParseError> {
        let not_jwt = || invalid("provided token does not decode as JWT");
        let (signing_input, signature) = token.rsplit_once('.').ok_or_else(not_jwt)?;
        let (header, payload) = signing_input.split_once('.').ok_or_else(not_jwt)?;
        let decode = |part: &str| -> Option<Map<String, Value>> {
            let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
            match serde_json::from_slice(&bytes).ok()? {
                Value::Object(object) => Some(object),
                _ => None,
            }
        };
        let header = decode(header).ok_or_else(not_jwt)?;
        let claims = decode(payload).ok_or_else(not_jwt)?;
        Ok(Jwt { header, claims, signing_input, signature })
    }

    pub(crate) fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    fn alg(&self) -> Option<&str> {
        self.header.get("alg").and_then(Value::as_str)
    }

    /// A string claim.
    pub(crate) fn claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// Node `jwt.verify`'s checks, in its order: algorithm, signature, `nbf`, `exp`, audience.
    /// `exp` is required here (node only checks it when present).
    pub(crate) fn verify(
        &self,
        key: &PublicKey,
        algorithms: &[Algorithm],
        audiences: &[String],
    ) -> Result<(), ParseError> {
        if self.signature.is_empty() {
            return Err(invalid("jwt signature is required"));
        }
        let algorithm = self
            .alg()
            .and_then(|alg| alg.parse::<Algorithm>().ok())
            .filter(|alg| algorithms.contains(alg))
            .filter(|alg| family(*alg) == key.family)
            .filter(|alg| key.alg.is_none_or(|key_alg| key_alg == *alg))
            .ok_or_else(|| invalid("invalid algorithm"))?;
        let verified =
            jsonwebtoken::crypto::verify(self.signature, self.signing_input.as_bytes(), &key.key, algorithm);
        if !matches!(verified, Ok(true)) {
            return Err(invalid("invalid signature"));
        }
        self.check_times(now())?;
        if !audiences.is_empty() {
            let matches = match self.claims.get("aud") {
                Some(Value::String(aud)) => audiences.contains(aud),
                Some(Value::Array(auds)) => {
                    auds.iter().filter_map(Value::as_str).any(|aud| audiences.iter().any(|a| a == aud))
                }
                _ => false,
            };
            if !matches {
                return Err(invalid(format!("jwt audience invalid. expected: {}", audiences.join(" or "))));
            }
        }
        Ok(())
    }

    fn check_times(&self, now: i64) -> Result<(), ParseError> {
        if let Some(nbf) = self.claims.get("nbf") {
            let nbf = nbf.as_f64().ok_or_else(|| invalid("invalid nbf value"))?;
            if nbf > (now + CLOCK_TOLERANCE_SECONDS) as f64 {
                return Err(invalid("jwt not active"));
            }
        }
        let exp =
            self.claims.get("exp").and_then(Value::as_f64).ok_or_else(|| invalid("invalid exp value"))?;
        if now as f64 >= exp + CLOCK_TOLERANCE_SECONDS as f64 {
            return Err(invalid("jwt expired"));
        }
        Ok(())
    }
}

fn family(algorithm: Algorithm) -> AlgorithmFamily {
    match algorithm {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => AlgorithmFamily::Hmac,
        Algorithm::ES256 | Algorithm::ES384 => AlgorithmFamily::Ec,
        Algorithm::EdDSA => AlgorithmFamily::Ed,
        _ => AlgorithmFamily::Rsa,
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encode(value: Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&value).unwrap())
    }

    #[test]
    fn parse_refuses_what_is_not_a_jwt() {
        for token in ["", "abc", "a.b", "a.b.c", "!!.??.x"] {
            let error = Jwt::parse(token).err().expect(token);
            assert_eq!(error.message, "provided token does not decode as JWT");
            assert_eq!(error.code.number(), 101);
        }
        let header = encode(json!({"alg": "RS256", "kid": "k"}));
        let claims = encode(json!({"sub": "s"}));
        let text = format!("{header}.{claims}.sig");
        let jwt = Jwt::parse(&text).unwrap();
        assert_eq!(jwt.kid(), Some("k"));
        assert_eq!(jwt.claim("sub"), Some("s"));
        assert!(Jwt::parse(&format!("{header}.{}.sig", encode(json!("text")))).is_err());
    }

    #[test]
    fn time_checks_follow_node_with_leeway() {
        let jwt = |claims: Value| {
            let text = format!("{}.{}.s", encode(json!({"alg": "RS256"})), encode(claims));
            let parsed = Jwt::parse(&text).unwrap();
            parsed.check_times(1_000_000).err().map(|e| e.message)
        };
        assert_eq!(jwt(json!({"exp": 1_000_100})), None);
        assert_eq!(jwt(json!({"exp": 999_990})), None, "within the leeway");
        assert_eq!(jwt(json!({"exp": 999_000})).as_deref(), Some("jwt expired"));
        assert_eq!(jwt(json!({})).as_deref(), Some("invalid exp value"));
        assert_eq!(jwt(json!({"exp": "soon"})).as_deref(), Some("invalid exp value"));
        assert_eq!(jwt(json!({"exp": 1_000_100, "nbf": 1_000_500})).as_deref(), Some("jwt not active"));
        assert_eq!(jwt(json!({"exp": 1_000_100, "nbf": 1_000_010})), None);
    }
}
