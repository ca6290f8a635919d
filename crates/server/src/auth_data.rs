//! `authData`: signing up, logging in and linking with third-party accounts.
//!
//! A write's `authData` is a map of provider → account data (`{"id": …, "access_token": …}`)
//! or `null` (unlink). Each linked provider's data is checked by its adapter before anything
//! is stored; the user is found by `authData.<provider>.id`.

use reparse_core::query::{Constraint, FieldPath, Filter, Query};
use reparse_core::schema::field_name_is_valid;
use reparse_core::update::FieldUpdate;
use reparse_core::value::Object;
use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value, json};

use crate::context::Ctx;
use crate::error::ApiResult;

/// The `authData` of a write, provider by provider.
#[derive(Debug, Clone, Default)]
pub struct AuthDataChange {
    /// `(provider, Some(data))` links (or logs in with) an account; `(provider, None)` unlinks.
    pub providers: Vec<(String, Option<Map<String, Value>>)>,
}

impl AuthDataChange {
    /// Reads a write's `authData` value.
    pub fn parse(value: Value) -> ApiResult<AuthDataChange> {
        let Value::Object(providers) = value else {
            return Err(ParseError::new(ErrorCode::IncorrectType, "authData should be an object").into());
        };
        let mut change = AuthDataChange::default();
        for (provider, data) in providers {
            if !field_name_is_valid(&provider) {
                return Err(unsupported().into());
            }
            match data {
                Value::Null => change.providers.push((provider, None)),
                Value::Object(data) => change.providers.push((provider, Some(data))),
                _ => return Err(unsupported().into()),
            }
        }
        Ok(change)
    }

    /// The providers being linked, with their data.
    pub fn linked(&self) -> impl Iterator<Item = (&str, &Map<String, Value>)> {
        self.providers.iter().filter_map(|(provider, data)| Some((provider.as_str(), data.as_ref()?)))
    }

    pub fn links_any(&self) -> bool {
        self.linked().next().is_some()
    }

    /// The linked providers as stored on a new user.
    pub fn stored_value(&self) -> Value {
        Value::Object(
            self.linked()
                .map(|(provider, data)| (provider.to_string(), Value::Object(data.clone())))
                .collect(),
        )
    }

    /// The updates that apply this change to an existing user (`authData.<provider>`).
    pub fn updates(&self) -> Vec<(FieldPath, FieldUpdate)> {
        self.providers
            .iter()
            .map(|(provider, data)| {
                let path = FieldPath { field: "authData".into(), subpath: vec![provider.clone()] };
                let update = match data {
                    Some(data) => FieldUpdate::Set(Value::Object(data.clone())),
                    None => FieldUpdate::Delete,
                };
                (path, update)
            })
            .collect()
    }

    /// The provider a login through this change is credited to (parse-server: the first).
    pub fn first_provider(&self) -> Option<&str> {
        self.linked().next().map(|(provider, _)| provider)
    }

    /// Whether `user` already stores exactly this data for every linked provider.
    pub fn is_stored_on(&self, user: &Object) -> bool {
        self.linked().all(|(provider, data)| {
            user.get("authData").and_then(|stored| stored.get(provider)) == Some(&Value::Object(data.clone()))
        })
    }
}

/// parse-server's answer to authData it cannot use.
pub fn unsupported() -> ParseError {
    ParseError::new(ErrorCode::UnsupportedService, "This authentication method is unsupported.")
}

/// Users already linked to one of the change's accounts (`authData.<provider>.id`).
pub async fn users_with_auth_data(ctx: &Ctx<'_>, change: &AuthDataChange) -> ApiResult<Vec<Object>> {
    let Some(schema) = ctx.schema("_User").await? else {
        return Ok(Vec::new());
    };
    let alternatives: Vec<Filter> = change
        .linked()
        .map(|(provider, data)| Filter::Field {
            path: FieldPath { field: "authData".into(), subpath: vec![provider.to_string(), "id".into()] },
            constraint: Constraint::In(id_forms(data.get("id").unwrap_or(&Value::Null))),
        })
        .collect();
    if alternatives.is_empty() {
        return Ok(Vec::new());
    }
    Ok(ctx.store.find(&schema, &Query::matching(Filter::Or(alternatives))).await?)
}

/// The stored forms an account id may have: providers' APIs give some ids as numbers (GitHub)
/// that clients send as strings, so both find the same user.
fn id_forms(id: &Value) -> Vec<Value> {
    match id {
        Value::String(text) => {
            let mut forms = vec![id.clone()];
            if let Ok(number) = text.parse::<i64>()
                && number.to_string() == *text
            {
                forms.push(json!(number));
            }
            forms
        }
        Value::Number(number) => vec![id.clone(), json!(number.to_string())],
        other => vec![other.clone()],
    }
}

/// Checks every linked provider's data with its adapter (252 for a provider this app does not
/// enable, 101 for data the provider does not vouch for) and returns the change as it will be
/// stored: an exchanged code becomes the account's id and token, as in parse-server. Every
/// linked account then has an `id`.
pub async fn validate(ctx: &Ctx<'_>, change: AuthDataChange) -> ApiResult<AuthDataChange> {
    let mut validated = AuthDataChange::default();
    for (provider, data) in change.providers {
        let data = match data {
            Some(data) => {
                let stored = ctx.app.auth_providers.validated_auth_data(&provider, &data).await?;
                if !stored.get("id").is_some_and(|id| id.is_string() || id.is_number()) {
                    return Err(unsupported().into());
                }
                Some(stored)
            }
            None => None,
        };
        validated.providers.push((provider, data));
    }
    Ok(validated)
}

/// parse-server's 208 when an account is linked to another user already.
pub fn already_linked() -> ParseError {
    ParseError::new(ErrorCode::AccountAlreadyLinked, "this auth is already used")
}
