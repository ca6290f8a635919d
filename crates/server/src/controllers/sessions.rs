//! `/sessions` (and `/classes/_Session`): a user sees and ends their own sessions; the master
//! key sees all. Reads go through the generic query path, which keeps non-master callers to
//! their own sessions (`query::session_scope`).

use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value, json};

use crate::context::Ctx;
use crate::controllers::objects::{self, by_id};
use crate::error::ApiResult;
use crate::routes::ParseResponse;
use crate::sessions::{self, created_with, points_to_user};

fn session_required() -> ParseError {
    ParseError::new(ErrorCode::InvalidSessionToken, "Session token required.")
}

/// `POST /sessions`: a client gets a new session for its own user; the master key creates any.
pub async fn create(ctx: &Ctx<'_>, mut body: Map<String, Value>) -> ApiResult<ParseResponse> {
    ctx.auth.ensure_writable()?;
    if ctx.auth.master {
        let prepared = objects::prepare_create(ctx, "_Session", body).await?;
        prepared.store(ctx).await?;
        let location = format!("{}/sessions/{}", ctx.app.config.public_server_url, prepared.object_id);
        return Ok(prepared.response(location));
    }
    let user_id = ctx.auth.user_id().ok_or_else(session_required)?.to_string();
    if body.contains_key("ACL") {
        return Err(ParseError::new(ErrorCode::InvalidKeyName, "Cannot set ACL on a Session.").into());
    }
    for owned in ["objectId", "user", "sessionToken", "expiresAt", "createdWith", "restricted"] {
        body.remove(owned);
    }
    for key in body.keys() {
        if !reparse_core::schema::field_name_is_valid(key) {
            return Err(ParseError::invalid_key_name(key).into());
        }
    }
    let session = sessions::create_session(ctx, &user_id, created_with("create", None), body).await?;
    let object_id = session["objectId"].as_str().unwrap_or_default().to_string();
    let client = sessions::session_for_client(ctx, session).await?;
    Ok(ParseResponse {
        status: 201,
        body: Value::Object(client),
        location: Some(format!("{}/sessions/{object_id}", ctx.app.config.public_server_url)),
        headers: Vec::new(),
    })
}

/// `PUT /sessions/:id`: a client may change its own sessions' own fields, never whose session
/// it is, its token or its installation.
pub async fn update(ctx: &Ctx<'_>, session_id: &str, body: Map<String, Value>) -> ApiResult<ParseResponse> {
    ctx.auth.ensure_writable()?;
    let restriction = if ctx.auth.master {
        reparse_core::query::Filter::everything()
    } else {
        let user_id = ctx.auth.user_id().ok_or_else(session_required)?;
        for fixed in ["user", "sessionToken", "installationId", "expiresAt", "createdWith"] {
            if body.contains_key(fixed) {
                return Err(ParseError::invalid_key_name(fixed).into());
            }
        }
        points_to_user("user", user_id)
    };
    let (updated, response) =
        objects::update_object(ctx, "_Session", session_id, body, Vec::new(), restriction).await?;
    if let Some(token) = updated.get("sessionToken").and_then(Value::as_str) {
        ctx.app.sessions.evict_token(token);
    }
    Ok(ParseResponse::ok(Value::Object(response)))
}

/// `PUT /sessions/me`. Sent with `X-Parse-Installation-Id`, it pairs a session that has no
/// installation yet with that installation (the REST guide's way to do it).
pub async fn update_current(ctx: &Ctx<'_>, body: Map<String, Value>) -> ApiResult<ParseResponse> {
    let session_id = ctx.auth.user.as_ref().ok_or_else(session_required)?.session_id.clone();
    if let Some(installation_id) = &ctx.auth.installation_id {
        let master = ctx.with_auth(&crate::context::MASTER);
        if let Some(schema) = master.schema("_Session").await? {
            let unpaired = reparse_core::query::Filter::Field {
                path: reparse_core::query::FieldPath::top("installationId"),
                constraint: reparse_core::query::Constraint::Exists(false),
            };
            let pair = vec![(
                reparse_core::query::FieldPath::top("installationId"),
                reparse_core::update::FieldUpdate::Set(json!(installation_id)),
            )];
            master.store.update(&schema, &session_id, &unpaired, &pair).await?;
        }
    }
    update(ctx, &session_id, body).await
}

/// `DELETE /sessions/:id`: its token stops working at once. A client finds only its own
/// sessions, so another user's session is "not found" (101), revealing nothing.
pub async fn delete(ctx: &Ctx<'_>, session_id: &str) -> ApiResult<ParseResponse> {
    ctx.auth.ensure_writable()?;
    let mut filter = by_id(session_id);
    if !ctx.auth.master {
        let user_id = ctx.auth.user_id().ok_or_else(session_required)?;
        filter = reparse_core::query::Filter::And(vec![filter, points_to_user("user", user_id)]);
    }
    let master = ctx.with_auth(&crate::context::MASTER);
    if sessions::revoke_sessions(&master, filter).await? == 0 {
        return Err(ParseError::object_not_found().into());
    }
    Ok(ParseResponse::ok(json!({})))
}

/// `GET /sessions/me`: the session of the token sent.
pub async fn current(ctx: &Ctx<'_>) -> ApiResult<ParseResponse> {
    let token = ctx.auth.session_token.as_deref().ok_or_else(session_required)?;
    let Some(session) = sessions::find_by_token(ctx.app, ctx.store, token).await? else {
        return Err(ParseError::new(ErrorCode::InvalidSessionToken, "Session token not found.").into());
    };
    let as_owner =
        crate::context::Auth::viewing_as(&sessions::pointer_id(&session, "user").unwrap_or_default());
    let client = sessions::session_for_client(&ctx.with_auth(&as_owner), session).await?;
    Ok(ParseResponse::ok(Value::Object(client)))
}
