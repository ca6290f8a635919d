//! Twitter (X): OAuth 1.0a. The user's access token is checked with a request signed by the
//! app's consumer key and secret (`GET /1.1/account/verify_credentials.json`, parse-server's
//! `twitter.js` before 8); a request token with its `oauth_verifier` is first exchanged for an
//! access token (`POST /oauth/access_token`).

use reparse_core::ParseError;
use serde_json::{Map, Value};

use crate::http::{self, Http};
use crate::oauth1::{self, Credentials};
use crate::{id_text, invalid, string_field};

const INVALID: &str = "Twitter auth is invalid for this user.";

pub(crate) struct Consumer {
    pub(crate) key: String,
    pub(crate) secret: String,
    pub(crate) api_url: String,
}

pub(crate) struct TwitterProvider {
    pub(crate) consumers: Vec<Consumer>,
    /// The option was an array: authData's `consumer_key` picks the consumer.
    pub(crate) by_consumer_key: bool,
}

fn unreachable_provider(error: &str) -> ParseError {
    tracing::warn!(%error, "cannot reach Twitter");
    invalid(INVALID)
}

impl TwitterProvider {
    pub(crate) async fn validate(
        &self,
        http: &Http,
        auth_data: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ParseError> {
        let consumer = self.consumer(auth_data)?;
        if let Some(verifier) = string_field(auth_data, "oauth_verifier") {
            return self.exchange(http, consumer, verifier, auth_data).await;
        }
        let token = string_field(auth_data, "auth_token").or_else(|| string_field(auth_data, "oauth_token"));
        let secret = string_field(auth_data, "auth_token_secret")
            .or_else(|| string_field(auth_data, "oauth_token_secret"));
        let (Some(token), Some(secret), Some(id)) = (token, secret, id_text(auth_data.get("id"))) else {
            return Err(invalid(INVALID));
        };
        let url = http::join(&consumer.api_url, "1.1/account/verify_credentials.json")
            .map_err(|e| unreachable_provider(&e))?;
        let credentials = Credentials {
            consumer_key: &consumer.key,
            consumer_secret: &consumer.secret,
            token: Some(token),
            token_secret: Some(secret),
        };
        let header = oauth1::authorization("GET", &url, &credentials, &[], &[]);
        let response = http
            .send(http.get(url).header("Authorization", header))
            .await
            .map_err(|e| unreachable_provider(&e))?;
        let user = response.is_success().then(|| response.json()).flatten().unwrap_or(Value::Null);
        let theirs = id_text(user.get("id_str")).or_else(|| id_text(user.get("id")));
        if theirs.as_deref() == Some(id.as_str()) { Ok(auth_data.clone()) } else { Err(invalid(INVALID)) }
    }

    /// parse-server's `handleMultipleConfigurations`.
    fn consumer(&self, auth_data: &Map<String, Value>) -> Result<&Consumer, ParseError> {
        if self.consumers.is_empty() {
            return Err(invalid("Twitter auth configuration missing consumer_key and/or consumer_secret."));
        }
        if !self.by_consumer_key {
            return self.consumers.first().ok_or_else(|| invalid(INVALID));
        }
        let wanted = string_field(auth_data, "consumer_key").ok_or_else(|| invalid(INVALID))?;
        self.consumers.iter().find(|consumer| consumer.key == wanted).ok_or_else(|| invalid(INVALID))
    }

    /// Request token + verifier → access token and the user's id.
    async fn exchange(
        &self,
        http: &Http,
        consumer: &Consumer,
        verifier: &str,
        auth_data: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ParseError> {
        let request_token = string_field(auth_data, "oauth_token").ok_or_else(|| invalid(INVALID))?;
        let url =
            http::join(&consumer.api_url, "oauth/access_token").map_err(|e| unreachable_provider(&e))?;
        let credentials = Credentials {
            consumer_key: &consumer.key,
            consumer_secret: &consumer.secret,
            token: Some(request_token),
            token_secret: None,
        };
        let header = oauth1::authorization("POST", &url, &credentials, &[("oauth_verifier", verifier)], &[]);
        let response = http
            .send(http.post(url).header("Authorization", header))
            .await
            .map_err(|e| unreachable_provider(&e))?;
        if !response.is_success() {
            return Err(invalid(INVALID));
        }
        // Twitter answers a form (`oauth_token=…&oauth_token_secret=…&user_id=…`); accept JSON too.
        let fields: Map<String, Value> = match response.json() {
            Some(Value::Object(object)) => object,
            _ => form_urlencoded::parse(&response.body)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect(),
        };
        let (Some(token), Some(secret), Some(user_id)) = (
            string_field(&fields, "oauth_token"),
            string_field(&fields, "oauth_token_secret"),
            id_text(fields.get("user_id")),
        ) else {
            return Err(invalid(INVALID));
        };
        if let Some(claimed) = auth_data.get("id").filter(|id| !id.is_null())
            && id_text(Some(claimed)).as_deref() != Some(user_id.as_str())
        {
            return Err(invalid(INVALID));
        }
        let mut stored = auth_data.clone();
        stored.remove("oauth_verifier");
        stored.remove("oauth_token");
        stored.insert("id".into(), Value::String(user_id));
        stored.insert("auth_token".into(), Value::String(token.to_owned()));
        stored.insert("auth_token_secret".into(), Value::String(secret.to_owned()));
        if let Some(screen_name) = string_field(&fields, "screen_name") {
            stored.insert("screen_name".into(), Value::String(screen_name.to_owned()));
        }
        Ok(stored)
    }
}
