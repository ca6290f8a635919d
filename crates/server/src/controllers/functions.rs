//! `POST /functions/:name`: runs a cloud function (`Parse.Cloud.define`) with the request's
//! parameters, user and context, and answers `{result}` as parse-server does (`{}` when the
//! function returned nothing).

use reparse_cloud::CallContext;
use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value, json};

use crate::context::{Ctx, MASTER};
use crate::controllers::user_writes::{load_user, user_for_self};
use crate::error::ApiResult;
use crate::routes::ParseResponse;

pub async fn run(ctx: &Ctx<'_>, name: &str, params: Map<String, Value>) -> ApiResult<ParseResponse> {
    let webhook = ctx.app.webhooks.function(ctx, name).await?;
    let Some(cloud) = webhook.as_ref().or(ctx.app.cloud.as_ref()) else {
        return Err(ParseError::new(ErrorCode::ScriptFailed, format!("Invalid function: \"{name}\"")).into());
    };
    let result = cloud.run_function(name, params, call_context(ctx).await?).await?;
    Ok(ParseResponse::ok(match result {
        Some(result) => json!({ "result": result }),
        None => json!({}),
    }))
}

/// Who calls and how, for the handler's `request`: the user as they would read themselves
/// (with their session token), their roles, the installation, headers, address and context.
pub(crate) async fn call_context(ctx: &Ctx<'_>) -> ApiResult<CallContext> {
    let user = match &ctx.auth.user {
        Some(session) => {
            let master = ctx.with_auth(&MASTER);
            match load_user(&master, &session.user_id).await? {
                Some(user) => Some(user_for_self(ctx, user, Some(&session.session_token)).await?),
                None => None,
            }
        }
        None => None,
    };
    let request = ctx.request.cloned().unwrap_or_default();
    Ok(CallContext {
        master: ctx.auth.master,
        user,
        user_roles: ctx.auth.roles.clone(),
        installation_id: ctx.auth.installation_id.clone(),
        headers: request.headers,
        ip: request.ip,
        context: request.context,
    })
}
