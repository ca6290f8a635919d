//! Facebook: a Graph API access token (`/me` says whose it is, `/app` which app it was issued
//! to), or a Limited Login JWT. parse-server's `facebook.js`.

use aws_lc_rs::hmac;
use reparse_core::ParseError;
use serde_json::{Map, Value};

use crate::http::{self, Http};
use crate::id_token::IdTokenProvider;
use crate::{id_text, invalid, string_field};

const INVALID: &str = "Facebook auth is invalid for this user.";

pub(crate) struct FacebookProvider {
    /// `appIds`: when set, the token's app must be one of them.
    pub(crate) app_ids: Option<Vec<String>>,
    /// `appSecret`: when set, Graph calls carry `appsecret_proof`.
    pub(crate) app_secret: Option<String>,
    pub(crate) graph_api_url: String,
    /// Limited Login tokens (`authData.token`).
    pub(crate) limited_login: IdTokenProvider,
}

impl FacebookProvider {
    pub(crate) async fn validate(
        &self,
        http: &Http,
        auth_data: &Map<String, Value>,
    ) -> Result<(), ParseError> {
        if string_field(auth_data, "token").is_some() {
            return self.limited_login.validate(http, auth_data).await;
        }
        let access_token = string_field(auth_data, "access_token").ok_or_else(|| invalid(INVALID))?;
        // parse-server checks the app first (validateAppId), then the user.
        if let Some(app_ids) = &self.app_ids {
            if app_ids.is_empty() {
                return Err(invalid("Facebook auth is not configured."));
            }
            let app = self.graph(http, "app", &[], access_token).await?;
            if !id_text(app.get("id")).is_some_and(|id| app_ids.contains(&id)) {
                return Err(invalid(INVALID));
            }
        }
        let me = self.graph(http, "me", &[("fields", "id")], access_token).await?;
        match (id_text(me.get("id")), id_text(auth_data.get("id"))) {
            (Some(theirs), Some(ours)) if theirs == ours => Ok(()),
            _ => Err(invalid(INVALID)),
        }
    }

    /// A Graph API GET; any failure is the adapter's "invalid" answer.
    async fn graph(
        &self,
        http: &Http,
        path: &str,
        params: &[(&str, &str)],
        access_token: &str,
    ) -> Result<Value, ParseError> {
        let mut url = http::join(&self.graph_api_url, path).map_err(|_| invalid(INVALID))?;
        {
            let mut query = url.query_pairs_mut();
            for (key, value) in params {
                query.append_pair(key, value);
            }
            query.append_pair("access_token", access_token);
            if let Some(secret) = &self.app_secret {
                query.append_pair("appsecret_proof", &appsecret_proof(secret, access_token));
            }
        }
        match http.send(http.get(url)).await {
            Ok(response) if response.is_success() => response.json().ok_or_else(|| invalid(INVALID)),
            Ok(response) => {
                tracing::debug!(status = response.status, path, "Facebook refused an access token");
                Err(invalid(INVALID))
            }
            Err(error) => {
                tracing::warn!(%error, path, "cannot reach the Facebook Graph API");
                Err(invalid(INVALID))
            }
        }
    }
}

/// Hex HMAC-SHA256 of the access token keyed with the app secret.
pub(crate) fn appsecret_proof(app_secret: &str, access_token: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, app_secret.as_bytes());
    hmac::sign(&key, access_token.as_bytes()).as_ref().iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appsecret_proof_is_hex_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            appsecret_proof("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
