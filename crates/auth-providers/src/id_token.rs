//! Providers whose authData carries a signed identity token: Apple, Google, Facebook Limited
//! Login and OpenID Connect issuers. Steps and messages are those of parse-server's `apple.js`
//! and `google.js`.

use jsonwebtoken::Algorithm;
use reparse_core::ParseError;
use serde_json::{Map, Value};

use crate::http::Http;
use crate::jwks::Jwks;
use crate::jwt::Jwt;
use crate::{invalid, string_field};

pub(crate) const APPLE_ISSUER: &str = "https://appleid.apple.com";
pub(crate) const GOOGLE_ISSUERS: [&str; 2] = ["accounts.google.com", "https://accounts.google.com"];
pub(crate) const FACEBOOK_ISSUER: &str = "https://www.facebook.com";

pub(crate) const RSA_ONLY: &[Algorithm] = &[Algorithm::RS256];
pub(crate) const OIDC_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

pub(crate) struct IdTokenProvider {
    /// "Apple", "Google", "Facebook", or the OIDC provider's name, for messages.
    pub(crate) label: String,
    /// The authData fields that may hold the token, in order of preference.
    pub(crate) token_fields: &'static [&'static str],
    /// Accepted `aud` values; empty means the provider is not configured.
    pub(crate) audiences: Vec<String>,
    /// Accepted `iss` values (the first is the one messages name).
    pub(crate) issuers: Vec<String>,
    /// Whether the issuer message is Google's (`not issued by correct provider - expected: a or b`)
    /// rather than Apple's (`not issued by correct OpenID provider - expected: a`).
    pub(crate) google_issuer_message: bool,
    pub(crate) algorithms: &'static [Algorithm],
    pub(crate) jwks: Jwks,
}

impl IdTokenProvider {
    pub(crate) async fn validate(
        &self,
        http: &Http,
        auth_data: &Map<String, Value>,
    ) -> Result<(), ParseError> {
        if self.audiences.is_empty() {
            return Err(invalid(format!("{} auth is not configured.", self.label)));
        }
        let token = self
            .token_fields
            .iter()
            .find_map(|field| string_field(auth_data, field))
            .ok_or_else(|| invalid("id token is invalid for this user."))?;
        let jwt = Jwt::parse(token)?;
        let kid = jwt.kid();
        let key = self.jwks.key(http, kid).await.ok_or_else(|| {
            invalid(format!("Unable to find matching key for Key ID: {}", kid.unwrap_or("undefined")))
        })?;
        jwt.verify(&key, self.algorithms, &self.audiences)?;
        let issuer = jwt.claims.get("iss");
        if !issuer.and_then(Value::as_str).is_some_and(|iss| self.issuers.iter().any(|i| i == iss)) {
            let from = match issuer {
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
                None => "undefined".to_owned(),
            };
            return Err(invalid(if self.google_issuer_message {
                format!(
                    "id token not issued by correct provider - expected: {} | from: {from}",
                    self.issuers.join(" or ")
                )
            } else {
                let expected = self.issuers.first().map(String::as_str).unwrap_or_default();
                format!(
                    "id token not issued by correct OpenID provider - expected: {expected} | from: {from}"
                )
            }));
        }
        match (jwt.claim("sub"), auth_data.get("id").and_then(Value::as_str)) {
            (Some(sub), Some(id)) if sub == id => Ok(()),
            _ => Err(invalid("auth data is invalid for this user.")),
        }
    }
}
