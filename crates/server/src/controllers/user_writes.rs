//! Writes to `_User` (through `/users` or `/classes/_User`): sign-up, sign-up or log-in with
//! `authData`, profile and password changes, linking, and deletion.
//!
//! Passwords are hashed here and only here; the hash, tokens and lockout state live in the
//! internal columns (`reparse_core::schema::internal_fields`) and never reach a response.

use reparse_core::query::{Constraint, FieldPath, Filter, Query};
use reparse_core::update::FieldUpdate;
use reparse_core::value::{Object, encode_date, format_date};
use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value, json};

use crate::account_mail;
use crate::auth_data::{self, AuthDataChange};
use crate::context::{Auth, Ctx, MASTER};
use crate::controllers::objects::{self, by_id, to_client_object};
use crate::controllers::triggers::{self, WriteTriggers};
use crate::error::ApiResult;
use crate::passwords::{check_password_history, check_password_policy, hash_password};
use crate::routes::ParseResponse;
use crate::sessions::{self, created_with, points_to_user, random_string};

/// Length of generated usernames and tokens (parse-server's `randomString(25)`).
const GENERATED_LENGTH: usize = 25;

/// `POST /users`: sign up, or sign up / log in with `authData`.
pub async fn create(ctx: &Ctx<'_>, mut body: Map<String, Value>) -> ApiResult<ParseResponse> {
    ctx.auth.ensure_writable()?;
    refuse_client_email_verification(ctx, &body)?;
    let password = take_password(&mut body)?;
    let auth_data = body.remove("authData").map(AuthDataChange::parse).transpose()?;
    let auth_data = match auth_data {
        Some(change) if change.links_any() => {
            let change = auth_data::validate(ctx, change).await?;
            let mut existing = auth_data::users_with_auth_data(ctx, &change).await?;
            match existing.len() {
                0 => Some(change),
                1 => {
                    let user = existing.remove(0);
                    // Signed in as someone else: the account is theirs, not the caller's.
                    if ctx.auth.user_id().is_some_and(|me| me != user_id_of(&user)) {
                        return Err(auth_data::already_linked().into());
                    }
                    return log_in_with_auth_data(ctx, user, &change).await;
                }
                _ => return Err(auth_data::already_linked().into()),
            }
        }
        _ => None,
    };
    // beforeSave sees the password as sent (parse-server hashes it after the trigger).
    if let Some(password) = &password {
        body.insert("password".into(), json!(password));
    }
    let (mut body, triggers) = triggers::before_save(ctx, "_User", None, body).await?;
    let password = take_password(&mut body)?;

    let generated_username = match body.get("username") {
        None | Some(Value::Null) if auth_data.is_some() => {
            let username = random_string(GENERATED_LENGTH);
            body.insert("username".into(), json!(username));
            Some(username)
        }
        _ => None,
    };
    let username = required_username(&body)?.to_string();
    if auth_data.is_none() && password.is_none() {
        return Err(ParseError::new(ErrorCode::PasswordMissing, "password is required").into());
    }
    let email = checked_email(&body)?;
    let policy = &ctx.app.config.accounts.password_policy;
    if let Some(password) = &password {
        check_password_policy(policy, password, Some(&username))?;
    }
    ensure_unique(ctx, "username", &username, None).await?;
    if let Some(email) = &email {
        ensure_unique(ctx, "email", email, None).await?;
    }
    let verify_email = email.is_some() && ctx.app.config.accounts.verify_user_emails;
    if verify_email {
        body.insert("emailVerified".into(), json!(false));
    }

    let mut prepared = objects::prepare_create(ctx, "_User", body).await?;
    let user_id = prepared.object_id.clone();
    if let Some(password) = password {
        prepared.object.insert("_hashed_password".into(), json!(hash_password(password).await?));
        if policy.max_password_age.is_some() {
            prepared.object.insert("_password_changed_at".into(), encode_date(ctx.now));
        }
    }
    if let Some(change) = &auth_data {
        prepared.object.insert("authData".into(), change.stored_value());
    }
    let verification_token = verify_email.then(|| random_string(GENERATED_LENGTH));
    if let Some(token) = &verification_token {
        prepared.object.insert("_email_verify_token".into(), json!(token));
        if let Some(validity) = ctx.app.config.accounts.email_verify_token_validity {
            prepared.object.insert("_email_verify_token_expires_at".into(), encode_date(ctx.now + validity));
        }
    }
    let has_acl = prepared.has_acl();
    set_user_acl(ctx, &mut prepared.object, &user_id, has_acl);
    if let Err(error) = prepared.store(ctx).await {
        return Err(explain_duplicate(ctx, error, &username, email.as_deref(), None).await);
    }
    ctx.publish_live("_User", None, Some(prepared.object.clone()));

    let location = format!("{}/users/{user_id}", ctx.app.config.public_server_url);
    let mut response = prepared.response(location);
    let body = response.body.as_object_mut().expect("create responses are objects");
    if let Some(username) = generated_username {
        body.insert("username".into(), json!(username));
    }
    let accounts = &ctx.app.config.accounts;
    let withhold_session = accounts.prevent_login_with_unverified_email && verify_email;
    if !withhold_session {
        // parse-server credits a sign-up through a provider as a login with it.
        let provider = auth_data.as_ref().and_then(AuthDataChange::first_provider);
        let action = if provider.is_some() { "login" } else { "signup" };
        let created = created_with(action, Some(provider.unwrap_or("password")));
        let session = sessions::create_session(ctx, &user_id, created, Map::new()).await?;
        body.insert("sessionToken".into(), session["sessionToken"].clone());
    }
    if let (Some(token), Some(email)) = (verification_token, email) {
        account_mail::send_verification(ctx, &email, &username, &token);
    }
    let written = WriteTriggers::client_form(ctx, &prepared.schema, &prepared.object);
    triggers.add_changed_fields(&mut response.body, &written);
    triggers.after_save(ctx, &prepared.schema, &prepared.object).await;
    Ok(response)
}

/// A sign-up with `authData` of an account already linked to a user logs that user in.
async fn log_in_with_auth_data(
    ctx: &Ctx<'_>,
    user: Object,
    change: &AuthDataChange,
) -> ApiResult<ParseResponse> {
    let user_id = user_id_of(&user);
    let master = ctx.with_auth(&MASTER);
    let user = if change.is_stored_on(&user) {
        user
    } else {
        // New tokens for the same account: keep them, as parse-server does.
        let schema = master.schema("_User").await?.ok_or_else(ParseError::object_not_found)?;
        let mut updates = change.updates();
        updates.push((FieldPath::top("updatedAt"), FieldUpdate::Set(json!(format_date(ctx.now)))));
        master
            .store
            .update(&schema, &user_id, &Filter::everything(), &updates)
            .await?
            .ok_or_else(ParseError::object_not_found)?
    };
    let provider = change.first_provider().unwrap_or("anonymous");
    let session =
        sessions::create_session(ctx, &user_id, created_with("login", Some(provider)), Map::new()).await?;
    let body = user_for_self(ctx, user, sessions::token_of(&session)).await?;
    Ok(ParseResponse {
        status: 200,
        body: Value::Object(body),
        location: Some(format!("{}/users/{user_id}", ctx.app.config.public_server_url)),
        headers: Vec::new(),
    })
}

/// `PUT /users/:id`: only the user itself or the master key.
pub async fn update(ctx: &Ctx<'_>, user_id: &str, body: Map<String, Value>) -> ApiResult<ParseResponse> {
    ctx.auth.ensure_writable()?;
    if !ctx.auth.master {
        match ctx.auth.user_id() {
            None => {
                let message = format!("Cannot modify user {user_id}.");
                return Err(ParseError::new(ErrorCode::SessionMissing, message).into());
            }
            Some(me) if me != user_id => return Err(insufficient_auth().into()),
            Some(_) => {}
        }
    }
    refuse_client_email_verification(ctx, &body)?;
    let (mut body, triggers) = triggers::before_save(ctx, "_User", Some(user_id), body).await?;
    let password = take_password(&mut body)?;
    let auth_data = body.remove("authData").map(AuthDataChange::parse).transpose()?;
    let current = load_user(ctx, user_id).await?.ok_or_else(ParseError::object_not_found)?;
    let accounts = &ctx.app.config.accounts;
    let mut server_updates = Vec::new();

    let username = match body.get("username") {
        Some(_) => {
            let username = required_username(&body)?.to_string();
            ensure_unique(ctx, "username", &username, Some(user_id)).await?;
            username
        }
        None => current.get("username").and_then(Value::as_str).unwrap_or_default().to_string(),
    };
    let new_email = match body.get("email") {
        Some(Value::Null) => None,
        Some(_) => checked_email(&body)?,
        None => None,
    };
    let email_changed =
        new_email.as_ref().is_some_and(|email| current.get("email").and_then(Value::as_str) != Some(email));
    if let Some(email) = new_email.as_ref().filter(|_| email_changed) {
        ensure_unique(ctx, "email", email, Some(user_id)).await?;
    }
    let verification_token =
        (email_changed && accounts.verify_user_emails).then(|| random_string(GENERATED_LENGTH));
    if let Some(token) = &verification_token {
        body.insert("emailVerified".into(), json!(false));
        server_updates.push(set("_email_verify_token", json!(token)));
        if let Some(validity) = accounts.email_verify_token_validity {
            server_updates.push(set("_email_verify_token_expires_at", encode_date(ctx.now + validity)));
        }
    }
    if email_changed || password.is_some() {
        server_updates.push(unset("_perishable_token"));
        server_updates.push(unset("_perishable_token_expires_at"));
    }
    if let Some(password) = &password {
        server_updates.extend(password_change(ctx, &current, password, &username).await?);
    }
    if let Some(change) = auth_data {
        server_updates.extend(link_accounts(ctx, user_id, &current, change).await?);
    }

    let result =
        objects::update_object(ctx, "_User", user_id, body, server_updates, Filter::everything()).await;
    let (updated, mut response) = match result {
        Ok(updated) => updated,
        Err(error) => {
            let email = new_email.as_deref().filter(|_| email_changed);
            return Err(explain_duplicate(ctx, error, &username, email, Some(user_id)).await);
        }
    };
    ctx.publish_live("_User", Some(current), Some(updated.clone()));
    if password.is_some() {
        let master = ctx.with_auth(&MASTER);
        if accounts.revoke_session_on_password_reset {
            sessions::revoke_sessions(&master, points_to_user("user", user_id)).await?;
            ctx.app.sessions.evict_user(user_id);
        }
        if !ctx.auth.master {
            let session =
                sessions::create_session(ctx, user_id, created_with("login", Some("password")), Map::new())
                    .await?;
            response.insert("sessionToken".into(), session["sessionToken"].clone());
        }
    }
    if let (Some(token), Some(email)) = (verification_token, new_email) {
        account_mail::send_verification(ctx, &email, &username, &token);
    }
    let mut response = Value::Object(response);
    if let Some(schema) = ctx.schema("_User").await? {
        triggers.add_changed_fields(&mut response, &WriteTriggers::client_form(ctx, &schema, &updated));
        triggers.after_save(ctx, &schema, &updated).await;
    }
    Ok(ParseResponse::ok(response))
}

/// `DELETE /users/:id`: the user's sessions end with it.
pub async fn delete(ctx: &Ctx<'_>, user_id: &str) -> ApiResult<ParseResponse> {
    ctx.auth.ensure_writable()?;
    if !ctx.auth.master && ctx.auth.user.is_none() {
        return Err(ParseError::new(ErrorCode::SessionMissing, "Insufficient auth to delete user").into());
    }
    if let Some(me) = ctx.auth.user_id()
        && !ctx.auth.master
        && me != user_id
    {
        return Err(insufficient_auth().into());
    }
    let triggers = triggers::before_delete(ctx, "_User", user_id).await?;
    let original = objects::stored_for_live_query(ctx, "_User", user_id).await;
    objects::delete_object(ctx, "_User", user_id, Filter::everything()).await?;
    if original.is_some() {
        ctx.publish_live("_User", original, None);
    }
    sessions::revoke_sessions(&ctx.with_auth(&MASTER), points_to_user("user", user_id)).await?;
    ctx.app.sessions.evict_user(user_id);
    if let Some(triggers) = triggers {
        triggers.after_delete(ctx, "_User").await;
    }
    Ok(ParseResponse::ok(json!({})))
}

/// parse-server's answer when a user writes another user (its `handleSessionMissingError`).
fn insufficient_auth() -> ParseError {
    ParseError::new(ErrorCode::SessionMissing, "Insufficient auth.")
}

/// The updates a password change makes: the new hash, the policy's bookkeeping. Checks the
/// policy (pattern, username, history) first.
async fn password_change(
    ctx: &Ctx<'_>,
    current: &Object,
    password: &str,
    username: &str,
) -> ApiResult<Vec<(FieldPath, FieldUpdate)>> {
    let policy = &ctx.app.config.accounts.password_policy;
    check_password_policy(policy, password, Some(username))?;
    let current_hash = current.get("_hashed_password").and_then(Value::as_str);
    let history: Vec<String> = current
        .get("_password_history")
        .and_then(Value::as_array)
        .map(|hashes| hashes.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    check_password_history(policy, password, current_hash, &history).await?;
    let mut updates = vec![set("_hashed_password", json!(hash_password(password.to_string()).await?))];
    if policy.max_password_age.is_some() {
        updates.push(set("_password_changed_at", encode_date(ctx.now)));
    }
    if policy.max_password_history > 0
        && let Some(current_hash) = current_hash
    {
        let mut history = history;
        history.push(current_hash.to_string());
        let excess = history.len().saturating_sub(policy.max_password_history);
        updates.push(set("_password_history", json!(history[excess..])));
    }
    Ok(updates)
}

/// Sets a password outside a client's write (a reset link): the policy and history apply,
/// `extra` updates go with it, and only while `restriction` still holds (101 otherwise).
pub async fn change_password_with(
    master: &Ctx<'_>,
    user: &Object,
    password: &str,
    extra: Vec<(FieldPath, FieldUpdate)>,
    restriction: Filter,
) -> ApiResult<()> {
    let username = user.get("username").and_then(Value::as_str).unwrap_or_default();
    let mut updates = password_change(master, user, password, username).await?;
    updates.extend(extra);
    updates.push(set("updatedAt", json!(format_date(master.now))));
    let schema = master.schema("_User").await?.ok_or_else(ParseError::object_not_found)?;
    master
        .store
        .update(&schema, &user_id_of(user), &restriction, &updates)
        .await?
        .ok_or_else(ParseError::object_not_found)?;
    Ok(())
}

/// Links (or unlinks) accounts on an existing user. An account linked to someone else is 208.
async fn link_accounts(
    ctx: &Ctx<'_>,
    user_id: &str,
    current: &Object,
    change: AuthDataChange,
) -> ApiResult<Vec<(FieldPath, FieldUpdate)>> {
    // Data already stored as sent needs no new check with the provider.
    let change = if change.links_any() && !change.is_stored_on(current) {
        auth_data::validate(ctx, change).await?
    } else {
        change
    };
    let others = auth_data::users_with_auth_data(ctx, &change).await?;
    if others.iter().any(|other| user_id_of(other) != user_id) {
        return Err(auth_data::already_linked().into());
    }
    Ok(change.updates())
}

/// The user as they see themselves, with the session token they use when there is one
/// (login, sign-up with `authData`, `users/me`; not `verifyPassword`).
pub async fn user_for_self(
    ctx: &Ctx<'_>,
    user: Object,
    token: Option<&str>,
) -> ApiResult<Map<String, Value>> {
    let as_user = Auth::viewing_as(&user_id_of(&user));
    let schema = ctx.schema("_User").await?.ok_or_else(ParseError::object_not_found)?;
    let mut object = to_client_object(&ctx.with_auth(&as_user), &schema, user);
    if let Some(token) = token {
        object.insert("sessionToken".into(), json!(token));
    }
    Ok(object)
}

/// A user as stored (all internal fields), read with the master key.
pub async fn load_user(ctx: &Ctx<'_>, user_id: &str) -> ApiResult<Option<Object>> {
    Ok(find_users(ctx, by_id(user_id)).await?.pop())
}

/// Users as stored that `filter` selects.
pub async fn find_users(ctx: &Ctx<'_>, filter: Filter) -> ApiResult<Vec<Object>> {
    let Some(schema) = ctx.schema("_User").await? else {
        return Ok(Vec::new());
    };
    Ok(ctx.store.find(&schema, &Query::matching(filter)).await?)
}

pub fn user_id_of(user: &Object) -> String {
    user.get("objectId").and_then(Value::as_str).unwrap_or_default().to_string()
}

/// `password` out of a write body: absent, or a non-empty string (201 otherwise).
fn take_password(body: &mut Map<String, Value>) -> ApiResult<Option<String>> {
    match body.remove("password") {
        None => Ok(None),
        Some(Value::String(password)) if !password.is_empty() => Ok(Some(password)),
        Some(_) => Err(ParseError::new(ErrorCode::PasswordMissing, "password is required").into()),
    }
}

/// The body's username: a non-empty string (200 otherwise).
fn required_username(body: &Map<String, Value>) -> ApiResult<&str> {
    match body.get("username") {
        Some(Value::String(username)) if !username.is_empty() => Ok(username),
        _ => Err(ParseError::new(ErrorCode::UsernameMissing, "bad or missing username").into()),
    }
}

/// The body's email, if any: a string shaped like an address (125 otherwise).
fn checked_email(body: &Map<String, Value>) -> ApiResult<Option<String>> {
    match body.get("email") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(email)) if email_is_valid(email) => Ok(Some(email.clone())),
        Some(_) => {
            Err(ParseError::new(ErrorCode::InvalidEmailAddress, "Email address format is invalid.").into())
        }
    }
}

/// parse-server's check: something, `@`, something.
pub fn email_is_valid(email: &str) -> bool {
    email.find('@').is_some_and(|at| at > 0 && at + 1 < email.len())
}

/// `emailVerified` is the server's to set, except with the master key.
fn refuse_client_email_verification(ctx: &Ctx<'_>, body: &Map<String, Value>) -> ApiResult<()> {
    if !ctx.auth.master && body.contains_key("emailVerified") {
        return Err(ParseError::new(
            ErrorCode::OperationForbidden,
            "Clients aren't allowed to manually update email verification.",
        )
        .into());
    }
    Ok(())
}

/// 202/203 when another user has this username/email, ignoring case (as parse-server does).
async fn ensure_unique(ctx: &Ctx<'_>, field: &str, value: &str, except: Option<&str>) -> ApiResult<()> {
    let mut filter = vec![Filter::Field {
        path: FieldPath::top(field),
        constraint: Constraint::EqIgnoringCase(value.to_string()),
    }];
    if let Some(user_id) = except {
        filter.push(Filter::Field {
            path: FieldPath::top("objectId"),
            constraint: Constraint::Ne(json!(user_id)),
        });
    }
    if find_users(ctx, Filter::And(filter)).await?.is_empty() {
        return Ok(());
    }
    Err(taken(field).into())
}

fn taken(field: &str) -> ParseError {
    if field == "email" {
        ParseError::new(ErrorCode::EmailTaken, "Account already exists for this email address.")
    } else {
        ParseError::new(ErrorCode::UsernameTaken, "Account already exists for this username.")
    }
}

/// A write that lost a race on a unique username or email fails in the database (137); say
/// which, as the checks before the write would have.
async fn explain_duplicate(
    ctx: &Ctx<'_>,
    error: crate::error::ApiError,
    username: &str,
    email: Option<&str>,
    except: Option<&str>,
) -> crate::error::ApiError {
    if !matches!(&error, crate::error::ApiError::Parse(parse) if parse.code == ErrorCode::DuplicateValue) {
        return error;
    }
    if let Err(taken) = ensure_unique(ctx, "username", username, except).await {
        return taken;
    }
    if let Some(email) = email
        && let Err(taken) = ensure_unique(ctx, "email", email, except).await
    {
        return taken;
    }
    error
}

/// A new user's ACL: the one given, or public read (unless `enforcePrivateUsers`); the user
/// itself can always read and write itself.
fn set_user_acl(ctx: &Ctx<'_>, object: &mut Object, user_id: &str, has_acl: bool) {
    let mut read: Vec<String> = Vec::new();
    let mut write: Vec<String> = Vec::new();
    if has_acl {
        let list = |key: &str| -> Vec<String> {
            object.get(key).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default()
        };
        read = list("_rperm");
        write = list("_wperm");
    } else if !ctx.app.config.accounts.enforce_private_users {
        read.push("*".into());
    }
    for list in [&mut read, &mut write] {
        if !list.iter().any(|entity| entity == user_id) {
            list.push(user_id.to_string());
        }
    }
    object.insert("_rperm".into(), json!(read));
    object.insert("_wperm".into(), json!(write));
}

fn set(field: &str, value: Value) -> (FieldPath, FieldUpdate) {
    (FieldPath::top(field), FieldUpdate::Set(value))
}

fn unset(field: &str) -> (FieldPath, FieldUpdate) {
    (FieldPath::top(field), FieldUpdate::Delete)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_something_on_both_sides_of_an_at() {
        assert!(email_is_valid("a@b"));
        assert!(email_is_valid("first.last+tag@example.co.uk"));
        for bad in ["", "@", "a@", "@b", "ab"] {
            assert!(!email_is_valid(bad), "{bad}");
        }
    }
}
