//! Writes to `_Role`: the name rules the SDKs state (a string of alphanumerics, `_`, `-` and
//! spaces, set once), enforced here too so no client can skip them, and the role cache cleared
//! after every change (membership lives in the `users`/`roles` relations of these writes).

use reparse_core::query::{Filter, Query};
use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value};

use crate::context::{Ctx, MASTER};
use crate::controllers::objects::by_id;
use crate::error::ApiResult;
use crate::roles::role_name_is_valid;

fn invalid_name(message: &str) -> ParseError {
    ParseError::new(ErrorCode::InvalidRoleName, message)
}

/// A new role needs a valid name and an ACL (parse-server's required columns of `_Role`).
pub(crate) fn check_new_role(body: &Map<String, Value>) -> ApiResult<()> {
    check_role_name(body)?;
    if body.get("ACL").is_none_or(Value::is_null) {
        return Err(ParseError::new(ErrorCode::IncorrectType, "ACL is required.").into());
    }
    Ok(())
}

fn check_role_name(body: &Map<String, Value>) -> ApiResult<()> {
    match body.get("name") {
        Some(Value::String(name)) if role_name_is_valid(name) => Ok(()),
        Some(Value::String(_)) => {
            Err(invalid_name("A role's name can only contain alphanumeric characters, _, -, and spaces.")
                .into())
        }
        None | Some(Value::Null) => {
            Err(ParseError::new(ErrorCode::IncorrectType, "name is required.").into())
        }
        _ => Err(invalid_name("A role's name must be a string.").into()),
    }
}

/// A role's name cannot change (sending the same name again is fine).
pub(crate) async fn check_role_update(
    ctx: &Ctx<'_>,
    role_id: &str,
    body: &Map<String, Value>,
) -> ApiResult<()> {
    let Some(name) = body.get("name") else {
        return Ok(());
    };
    let master = ctx.with_auth(&MASTER);
    let Some(schema) = master.schema("_Role").await? else {
        return Ok(());
    };
    let current = master.store.find(&schema, &Query::matching(Filter::And(vec![by_id(role_id)]))).await?;
    match current.first() {
        Some(role) if role.get("name") != Some(name) => {
            Err(invalid_name("A role's name can only be set before it has been saved.").into())
        }
        _ => Ok(()),
    }
}
