//! GitHub and LinkedIn: parse-server's `BaseCodeAuthAdapter`. The client sends an OAuth
//! authorization `code`, which is exchanged for an access token with the app's client id and
//! secret; the user that token belongs to is the authData's `id`. With `enableInsecureAuth` the
//! client may instead send `id` and `access_token`, checked against the provider's user API.

use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value, json};

use crate::http::{self, Http, Response};
use crate::{id_text, invalid, string_field};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CodeFlowKind {
    GitHub,
    LinkedIn,
}

impl CodeFlowKind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            CodeFlowKind::GitHub => "GitHub",
            CodeFlowKind::LinkedIn => "LinkedIn",
        }
    }
}

pub(crate) struct CodeFlowProvider {
    pub(crate) kind: CodeFlowKind,
    /// `clientId` and `clientSecret`; `None` when not configured.
    pub(crate) client: Option<(String, String)>,
    /// `enableInsecureAuth`: accept `id` + `access_token`.
    pub(crate) insecure: bool,
    pub(crate) api_url: String,
    pub(crate) token_url: String,
}

fn validation_error(message: impl Into<String>) -> ParseError {
    ParseError::new(ErrorCode::ValidationError, message)
}

impl CodeFlowProvider {
    fn auth_invalid(&self) -> ParseError {
        invalid(format!("{} auth is invalid for this user.", self.kind.label()))
    }

    fn transport_failure(&self, error: &str) -> ParseError {
        tracing::warn!(provider = self.kind.label(), %error, "cannot reach an auth provider");
        self.auth_invalid()
    }

    pub(crate) async fn validate(
        &self,
        http: &Http,
        auth_data: &Map<String, Value>,
    ) -> Result<Map<String, Value>, ParseError> {
        let label = self.kind.label();
        let code = string_field(auth_data, "code");
        if self.client.is_none() && !self.insecure {
            return Err(invalid(format!("{label} auth is not configured.")));
        }
        let Some(code) = code else {
            if !self.insecure {
                return Err(validation_error(format!("{label} code is required.")));
            }
            let access_token = string_field(auth_data, "access_token").ok_or_else(|| self.auth_invalid())?;
            let user_id = self.user_id(http, access_token, auth_data).await?;
            return match id_text(auth_data.get("id")) {
                Some(id) if id_text(Some(&user_id)).as_deref() == Some(id.as_str()) => Ok(auth_data.clone()),
                _ => Err(self.auth_invalid()),
            };
        };
        let Some((client_id, client_secret)) = &self.client else {
            return Err(invalid(format!("{label} auth is not configured.")));
        };
        let access_token = self.exchange_code(http, code, client_id, client_secret, auth_data).await?;
        let user_id = self.user_id(http, &access_token, auth_data).await?;
        if let Some(claimed) = auth_data.get("id").filter(|id| !id.is_null())
            && id_text(Some(claimed)) != id_text(Some(&user_id))
        {
            return Err(self.auth_invalid());
        }
        let mut stored = auth_data.clone();
        stored.remove("code");
        stored.remove("redirect_uri");
        stored.insert("id".to_owned(), user_id);
        stored.insert("access_token".to_owned(), Value::String(access_token));
        Ok(stored)
    }

    async fn exchange_code(
        &self,
        http: &Http,
        code: &str,
        client_id: &str,
        client_secret: &str,
        auth_data: &Map<String, Value>,
    ) -> Result<String, ParseError> {
        let url = reqwest::Url::parse(&self.token_url).map_err(|e| self.transport_failure(&e.to_string()))?;
        let request = match self.kind {
            CodeFlowKind::GitHub => http
                .post(url)
                .header("Accept", "application/json")
                .json(&json!({"client_id": client_id, "client_secret": client_secret, "code": code})),
            CodeFlowKind::LinkedIn => {
                let redirect_uri = string_field(auth_data, "redirect_uri").unwrap_or_default();
                http.post(url).header("Content-Type", "application/x-www-form-urlencoded").body(http::form(
                    &[
                        ("grant_type", "authorization_code"),
                        ("code", code),
                        ("redirect_uri", redirect_uri),
                        ("client_id", client_id),
                        ("client_secret", client_secret),
                    ],
                ))
            }
        };
        let response = http.send(request).await.map_err(|error| self.transport_failure(&error))?;
        if !response.is_success() {
            return Err(match self.kind {
                CodeFlowKind::GitHub => {
                    validation_error(format!("Failed to exchange code for token: {}", response.status_text()))
                }
                CodeFlowKind::LinkedIn => invalid("LinkedIn API request failed."),
            });
        }
        let data = response.json().unwrap_or(Value::Null);
        if let Some(error) = data.get("error").filter(|e| !e.is_null()) {
            let description = data.get("error_description").and_then(Value::as_str);
            let message = description.map(str::to_owned).unwrap_or_else(|| match error {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            });
            return Err(invalid(message));
        }
        match data.get("access_token").and_then(Value::as_str) {
            Some(token) if !token.is_empty() => Ok(token.to_owned()),
            _ => Err(self.auth_invalid()),
        }
    }

    /// The provider's id of the user an access token belongs to.
    async fn user_id(
        &self,
        http: &Http,
        access_token: &str,
        auth_data: &Map<String, Value>,
    ) -> Result<Value, ParseError> {
        let path = match self.kind {
            CodeFlowKind::GitHub => "user",
            CodeFlowKind::LinkedIn => "v2/me",
        };
        let url = http::join(&self.api_url, path).map_err(|e| self.transport_failure(&e))?;
        let mut request = http.get(url).bearer_auth(access_token).header("Accept", "application/json");
        if self.kind == CodeFlowKind::LinkedIn {
            request = request.header("x-li-format", "json");
            if auth_data.get("is_mobile_sdk").is_some_and(|v| v.as_bool() == Some(true)) {
                request = request.header("x-li-src", "msdk");
            }
        }
        let response: Response = http.send(request).await.map_err(|error| self.transport_failure(&error))?;
        match self.kind {
            CodeFlowKind::GitHub => {
                if !response.is_success() {
                    return Err(validation_error(format!(
                        "Failed to fetch GitHub user: {}",
                        response.status_text()
                    )));
                }
                let user = response.json().unwrap_or(Value::Null);
                match (user.get("id"), user.get("login")) {
                    (Some(id), Some(login)) if id_text(Some(id)).is_some() && !login.is_null() => {
                        Ok(id.clone())
                    }
                    _ => Err(validation_error("Invalid GitHub user data received.")),
                }
            }
            CodeFlowKind::LinkedIn => {
                if !response.is_success() {
                    return Err(invalid("LinkedIn API request failed."));
                }
                let user = response.json().unwrap_or(Value::Null);
                // `/v2/me` answers `id`; an OpenID `userinfo` endpoint answers `sub`.
                user.get("id")
                    .or_else(|| user.get("sub"))
                    .filter(|id| id_text(Some(id)).is_some())
                    .cloned()
                    .ok_or_else(|| self.auth_invalid())
            }
        }
    }
}
