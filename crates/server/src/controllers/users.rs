//! The account routes beyond object CRUD: `login`, `users/me`, `logout`, `loginAs`,
//! `verifyPassword`, `upgradeToRevocableSession`, `requestPasswordReset`,
//! `verificationEmailRequest`, and the token checks behind the e-mailed links.

use reparse_cloud::Trigger;
use reparse_core::query::{FieldPath, Filter};
use reparse_core::update::FieldUpdate;
use reparse_core::value::{Object, date_iso, encode_date, format_date, parse_date};
use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value, json};

use crate::account_mail;
use crate::context::{Ctx, MASTER};
use crate::controllers::triggers;
use crate::controllers::user_writes::{self, find_users, load_user, user_for_self, user_id_of};
use crate::error::ApiResult;
use crate::passwords::verify_password;
use crate::routes::ParseResponse;
use crate::sessions::{self, created_with, equals, points_to_user, random_string};

fn invalid_credentials() -> ParseError {
    ParseError::new(ErrorCode::ObjectNotFound, "Invalid username/password.")
}

/// `GET|POST /login`
pub async fn log_in(ctx: &Ctx<'_>, params: Map<String, Value>) -> ApiResult<ParseResponse> {
    let user = authenticate_with_password(ctx, &params).await?;
    let user_id = user_id_of(&user);
    triggers::before_user_action(ctx, Trigger::BeforeLogin, &user_for_self(ctx, user.clone(), None).await?)
        .await?;
    let session =
        sessions::create_session(ctx, &user_id, created_with("login", Some("password")), Map::new()).await?;
    let logged_in = user_for_self(ctx, user, sessions::token_of(&session)).await?;
    triggers::after_session_change(ctx, Trigger::AfterLogin, logged_in.clone()).await;
    Ok(ParseResponse::ok(Value::Object(logged_in)))
}

/// `GET|POST /verifyPassword`: the user, if the password is right; no session is made.
pub async fn verify_password_route(ctx: &Ctx<'_>, params: Map<String, Value>) -> ApiResult<ParseResponse> {
    let user = authenticate_with_password(ctx, &params).await?;
    Ok(ParseResponse::ok(Value::Object(user_for_self(ctx, user, None).await?)))
}

/// `GET /users/me`: the user of the session token sent, with that token.
pub async fn me(ctx: &Ctx<'_>) -> ApiResult<ParseResponse> {
    let invalid = || ParseError::new(ErrorCode::InvalidSessionToken, "Invalid session token");
    let token = ctx.auth.session_token.as_deref().ok_or_else(invalid)?;
    // The master key skips session checks at the edge; the token must still be good here.
    let session_user = match &ctx.auth.user {
        Some(user) => user.clone(),
        None => sessions::authenticate(ctx.app, token, ctx.now).await?,
    };
    let master = ctx.with_auth(&MASTER);
    let user = load_user(&master, &session_user.user_id).await?.ok_or_else(invalid)?;
    Ok(ParseResponse::ok(Value::Object(user_for_self(ctx, user, Some(token)).await?)))
}

/// `POST /logout`: ends the session of the token sent, if there is one.
pub async fn log_out(ctx: &Ctx<'_>) -> ApiResult<ParseResponse> {
    if let Some(token) = ctx.auth.session_token.as_deref() {
        let master = ctx.with_auth(&MASTER);
        let ended = sessions::find_by_token(ctx.app, ctx.store, token).await?;
        sessions::revoke_sessions(&master, equals("sessionToken", token)).await?;
        if let Some(session) = ended {
            let session = sessions::session_for_client(&master, session).await?;
            triggers::after_session_change(ctx, Trigger::AfterLogout, session).await;
        }
    }
    Ok(ParseResponse::ok(json!({})))
}

/// `POST /loginAs` (master key): a new session for any user, without their password.
pub async fn log_in_as(ctx: &Ctx<'_>, params: Map<String, Value>) -> ApiResult<ParseResponse> {
    if !ctx.auth.master {
        return Err(ParseError::new(ErrorCode::OperationForbidden, "master key is required").into());
    }
    if ctx.auth.read_only {
        let message = "read-only masterKey isn't allowed to login as another user.";
        return Err(ParseError::new(ErrorCode::OperationForbidden, message).into());
    }
    let user_id = match params.get("userId") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => {
            let message = "userId must not be empty, null, or undefined";
            return Err(ParseError::new(ErrorCode::InvalidValue, message).into());
        }
    };
    let user = load_user(ctx, &user_id)
        .await?
        .ok_or_else(|| ParseError::new(ErrorCode::ObjectNotFound, "user not found"))?;
    let session =
        sessions::create_session(ctx, &user_id, created_with("login", Some("masterkey")), Map::new()).await?;
    Ok(ParseResponse::ok(Value::Object(user_for_self(ctx, user, sessions::token_of(&session)).await?)))
}

/// `POST /upgradeToRevocableSession`: every Reparse session is revocable already; like
/// parse-server, the caller gets a new one for its user.
pub async fn upgrade_to_revocable_session(ctx: &Ctx<'_>) -> ApiResult<ParseResponse> {
    let Some(user_id) = ctx.auth.user_id() else {
        return Err(ParseError::new(ErrorCode::ObjectNotFound, "invalid session").into());
    };
    let session = sessions::create_session(ctx, user_id, created_with("upgrade", None), Map::new()).await?;
    Ok(ParseResponse::ok(Value::Object(sessions::session_for_client(ctx, session).await?)))
}

/// The user whose username (or email) and password `params` carry, after the lockout and
/// password-age policies; parse-server's checks in its order, with its codes.
async fn authenticate_with_password(ctx: &Ctx<'_>, params: &Map<String, Value>) -> ApiResult<Object> {
    let present = |key: &str| params.get(key).filter(|value| !is_falsy(value));
    let (username, email, password) = (present("username"), present("email"), present("password"));
    if username.is_none() && email.is_none() {
        return Err(ParseError::new(ErrorCode::UsernameMissing, "username/email is required.").into());
    }
    let Some(password) = password else {
        return Err(ParseError::new(ErrorCode::PasswordMissing, "password is required.").into());
    };
    let (Some(password), Some(username), Some(email)) =
        (password.as_str(), text_or_absent(username), text_or_absent(email))
    else {
        return Err(invalid_credentials().into());
    };
    let filter = match (username, email) {
        (Some(username), Some(email)) => {
            Filter::And(vec![equals("email", email), equals("username", username)])
        }
        (None, Some(email)) => equals("email", email),
        (Some(username), None) => Filter::Or(vec![equals("username", username), equals("email", username)]),
        (None, None) => unreachable!("one of them is present"),
    };
    let master = ctx.with_auth(&MASTER);
    let mut users = find_users(&master, filter).await?;
    let user = match users.len() {
        0 => return Err(invalid_credentials().into()),
        1 => users.remove(0),
        // One user's email is another's username: the username wins, as in parse-server.
        _ => users
            .into_iter()
            .find(|user| user.get("username").and_then(Value::as_str) == username)
            .ok_or_else(invalid_credentials)?,
    };
    let hash = user.get("_hashed_password").and_then(Value::as_str).unwrap_or_default().to_string();
    let valid = !hash.is_empty() && verify_password(password.to_string(), hash).await;
    let user = apply_lockout(&master, user, valid).await?;
    if !valid {
        return Err(invalid_credentials().into());
    }
    // An ACL of `{}` locks a user out (parse-server's documented way to do it).
    let empty = |key: &str| user.get(key).and_then(Value::as_array).is_some_and(Vec::is_empty);
    if !ctx.auth.master && empty("_rperm") && empty("_wperm") {
        return Err(invalid_credentials().into());
    }
    let accounts = &ctx.app.config.accounts;
    let verified = user.get("emailVerified").and_then(Value::as_bool).unwrap_or(false);
    if accounts.verify_user_emails && accounts.prevent_login_with_unverified_email && !verified {
        return Err(ParseError::new(ErrorCode::EmailNotFound, "User email is not verified.").into());
    }
    check_password_age(&master, &user).await?;
    Ok(user)
}

fn is_falsy(value: &Value) -> bool {
    matches!(value, Value::Null | Value::Bool(false)) || value == "" || value.as_f64() == Some(0.0)
}

/// `Some(Some(text))` for a string, `Some(None)` when absent, `None` for any other type.
fn text_or_absent(value: Option<&Value>) -> Option<Option<&str>> {
    match value {
        None => Some(None),
        Some(Value::String(text)) => Some(Some(text)),
        Some(_) => None,
    }
}

/// `accountLockout`: refuses a locked account, counts a failure (locking at the threshold),
/// and clears the count after a success. Returns the user as it now is.
async fn apply_lockout(master: &Ctx<'_>, user: Object, valid: bool) -> ApiResult<Object> {
    let Some(lockout) = &master.app.config.accounts.account_lockout else {
        return Ok(user);
    };
    let locked_message = || {
        let minutes = lockout.duration_minutes;
        ParseError::new(
            ErrorCode::ObjectNotFound,
            format!(
                "Your account is locked due to multiple failed login attempts. Please try again after {minutes} minute(s)"
            ),
        )
    };
    let locked_until = stored_date(&user, "_account_lockout_expires_at");
    if locked_until.is_some_and(|until| until > master.now) {
        return Err(locked_message().into());
    }
    let failures = user.get("_failed_login_count").and_then(Value::as_f64).unwrap_or(0.0);
    let user_id = user_id_of(&user);
    let schema = master.schema("_User").await?.ok_or_else(ParseError::object_not_found)?;
    let everything = Filter::everything();
    if valid {
        if failures == 0.0 && locked_until.is_none() {
            return Ok(user);
        }
        let reset = vec![
            (FieldPath::top("_failed_login_count"), FieldUpdate::Set(json!(0))),
            (FieldPath::top("_account_lockout_expires_at"), FieldUpdate::Delete),
        ];
        return Ok(master.store.update(&schema, &user_id, &everything, &reset).await?.unwrap_or(user));
    }
    // A lockout that has run out gives a fresh set of attempts.
    let mut updates = Vec::new();
    if locked_until.is_some() {
        updates.push((FieldPath::top("_failed_login_count"), FieldUpdate::Set(json!(0))));
        updates.push((FieldPath::top("_account_lockout_expires_at"), FieldUpdate::Delete));
    }
    // One atomic increment, so concurrent failures are all counted.
    updates.push((FieldPath::top("_failed_login_count"), FieldUpdate::Increment(1.into())));
    let Some(updated) = master.store.update(&schema, &user_id, &everything, &updates).await? else {
        return Ok(user);
    };
    let count = updated.get("_failed_login_count").and_then(Value::as_f64).unwrap_or(0.0);
    let threshold = f64::from(lockout.threshold);
    if count >= threshold {
        let until = master.now + lockout.duration;
        let lock =
            vec![(FieldPath::top("_account_lockout_expires_at"), FieldUpdate::Set(encode_date(until)))];
        master.store.update(&schema, &user_id, &everything, &lock).await?;
        // The failure that reaches the threshold is answered like any other; later ones are not.
        if count > threshold {
            return Err(locked_message().into());
        }
    }
    Ok(updated)
}

/// `passwordPolicy.maxPasswordAge`: an expired password must be reset before logging in.
async fn check_password_age(master: &Ctx<'_>, user: &Object) -> ApiResult<()> {
    let Some(max_age) = master.app.config.accounts.password_policy.max_password_age else {
        return Ok(());
    };
    match stored_date(user, "_password_changed_at") {
        Some(changed_at) if changed_at + max_age < master.now => Err(ParseError::new(
            ErrorCode::ObjectNotFound,
            "Your password has expired. Please reset your password.",
        )
        .into()),
        Some(_) => Ok(()),
        None => {
            // Set before the policy existed: the clock starts now.
            let schema = master.schema("_User").await?.ok_or_else(ParseError::object_not_found)?;
            let start =
                vec![(FieldPath::top("_password_changed_at"), FieldUpdate::Set(encode_date(master.now)))];
            master.store.update(&schema, &user_id_of(user), &Filter::everything(), &start).await?;
            Ok(())
        }
    }
}

fn stored_date(object: &Object, field: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let value = object.get(field)?;
    let iso = date_iso(value).or_else(|| value.as_str())?;
    parse_date(iso).ok()
}

/// The `email` parameter of the e-mail routes: 204 when missing, 125 when not a string.
fn email_param(params: &Map<String, Value>) -> ApiResult<String> {
    match params.get("email") {
        None | Some(Value::Null) => {
            Err(ParseError::new(ErrorCode::EmailMissing, "you must provide an email").into())
        }
        Some(Value::String(email)) if email.is_empty() => {
            Err(ParseError::new(ErrorCode::EmailMissing, "you must provide an email").into())
        }
        Some(Value::String(email)) => Ok(email.clone()),
        Some(_) => {
            Err(ParseError::new(ErrorCode::InvalidEmailAddress, "you must provide a valid email string")
                .into())
        }
    }
}

/// parse-server's answer when e-mails cannot be sent for lack of configuration.
fn ensure_mail_configured(ctx: &Ctx<'_>) -> ApiResult<()> {
    if ctx.app.mailer.is_none() {
        return Err(ParseError::internal(
            "An appName, publicServerURL, and emailAdapter are required for password reset and email verification functionality.",
        )
        .into());
    }
    Ok(())
}

/// `POST /requestPasswordReset`: e-mails a reset link. An unknown address answers success too,
/// so the route cannot be used to find out who has an account.
pub async fn request_password_reset(ctx: &Ctx<'_>, params: Map<String, Value>) -> ApiResult<ParseResponse> {
    ensure_mail_configured(ctx)?;
    let email = email_param(&params)?;
    let master = ctx.with_auth(&MASTER);
    let Some(user) = find_users(&master, equals("email", &email)).await?.into_iter().next() else {
        return Ok(ParseResponse::ok(json!({})));
    };
    let shown = user_for_self(&master, user.clone(), None).await?;
    triggers::before_user_action(ctx, Trigger::BeforePasswordResetRequest, &shown).await?;
    let policy = &ctx.app.config.accounts.password_policy;
    let token = RESET_TOKEN
        .issue(&master, &user, policy.reset_token_validity, policy.reset_token_reuse_if_valid)
        .await?;
    let username = user.get("username").and_then(Value::as_str).unwrap_or_default();
    account_mail::send_password_reset(ctx, &email, username, &token);
    Ok(ParseResponse::ok(json!({})))
}

/// `POST /verificationEmailRequest`: sends the verification e-mail again.
pub async fn request_verification_email(
    ctx: &Ctx<'_>,
    params: Map<String, Value>,
) -> ApiResult<ParseResponse> {
    ensure_mail_configured(ctx)?;
    let email = email_param(&params)?;
    let master = ctx.with_auth(&MASTER);
    let Some(user) = find_users(&master, equals("email", &email)).await?.into_iter().next() else {
        let message = format!("No user found with email {email}");
        return Err(ParseError::new(ErrorCode::EmailNotFound, message).into());
    };
    if user.get("emailVerified").and_then(Value::as_bool) == Some(true) {
        let message = format!("Email {email} is already verified.");
        return Err(ParseError::new(ErrorCode::OtherCause, message).into());
    }
    let accounts = &ctx.app.config.accounts;
    let token = VERIFY_TOKEN
        .issue(
            &master,
            &user,
            accounts.email_verify_token_validity,
            accounts.email_verify_token_reuse_if_valid,
        )
        .await?;
    let username = user.get("username").and_then(Value::as_str).unwrap_or_default();
    account_mail::send_verification(ctx, &email, username, &token);
    Ok(ParseResponse::ok(json!({})))
}

/// A single-use token kept on a user, with its optional expiry: the e-mail verification token
/// and the password reset token.
struct UserToken {
    field: &'static str,
    expires_field: &'static str,
}

const VERIFY_TOKEN: UserToken =
    UserToken { field: "_email_verify_token", expires_field: "_email_verify_token_expires_at" };
const RESET_TOKEN: UserToken =
    UserToken { field: "_perishable_token", expires_field: "_perishable_token_expires_at" };

impl UserToken {
    /// The token to mail: the user's current one when `reuse_if_valid` and it has not expired,
    /// else a new one (stored, replacing the old) valid for `validity`.
    async fn issue(
        &self,
        master: &Ctx<'_>,
        user: &Object,
        validity: Option<std::time::Duration>,
        reuse_if_valid: bool,
    ) -> ApiResult<String> {
        let current = user.get(self.field).and_then(Value::as_str);
        let unexpired = stored_date(user, self.expires_field).is_some_and(|expiry| expiry > master.now);
        if let Some(token) = current.filter(|_| reuse_if_valid && unexpired) {
            return Ok(token.to_string());
        }
        let token = random_string(25);
        let mut updates = vec![(FieldPath::top(self.field), FieldUpdate::Set(json!(token)))];
        if let Some(validity) = validity {
            updates.push((
                FieldPath::top(self.expires_field),
                FieldUpdate::Set(encode_date(master.now + validity)),
            ));
        }
        let schema = master.schema("_User").await?.ok_or_else(ParseError::object_not_found)?;
        master.store.update(&schema, &user_id_of(user), &Filter::everything(), &updates).await?;
        Ok(token)
    }

    /// The user holding `token`, if it is still good.
    async fn holder(&self, master: &Ctx<'_>, token: &str) -> ApiResult<Result<Object, LinkError>> {
        if token.is_empty() {
            return Ok(Err(LinkError::Invalid));
        }
        let Some(user) = find_users(master, equals(self.field, token)).await?.pop() else {
            return Ok(Err(LinkError::Invalid));
        };
        if stored_date(&user, self.expires_field).is_some_and(|expiry| expiry <= master.now) {
            let username = user.get("username").and_then(Value::as_str).unwrap_or_default().to_string();
            return Ok(Err(LinkError::Expired { username }));
        }
        Ok(Ok(user))
    }
}

/// Why an e-mailed link did not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// No user has this token (never issued, already used, or replaced).
    Invalid,
    /// The token was issued but its validity ran out (to whom: the page offers a new link).
    Expired { username: String },
}

/// Marks the user holding this verification token as verified; the token is spent.
/// Returns the user's username.
pub async fn verify_email_token(ctx: &Ctx<'_>, token: &str) -> ApiResult<Result<String, LinkError>> {
    let master = ctx.with_auth(&MASTER);
    let user = match VERIFY_TOKEN.holder(&master, token).await? {
        Ok(user) => user,
        Err(error) => return Ok(Err(error)),
    };
    let schema = master.schema("_User").await?.ok_or_else(ParseError::object_not_found)?;
    let updates = vec![
        (FieldPath::top("emailVerified"), FieldUpdate::Set(json!(true))),
        (FieldPath::top("_email_verify_token"), FieldUpdate::Delete),
        (FieldPath::top("_email_verify_token_expires_at"), FieldUpdate::Delete),
        (FieldPath::top("updatedAt"), FieldUpdate::Set(json!(format_date(ctx.now)))),
    ];
    let spent = equals("_email_verify_token", token);
    master.store.update(&schema, &user_id_of(&user), &spent, &updates).await?;
    Ok(Ok(user.get("username").and_then(Value::as_str).unwrap_or_default().to_string()))
}

/// The user a reset token belongs to, if it is still good.
pub async fn user_for_reset_token(ctx: &Ctx<'_>, token: &str) -> ApiResult<Result<Object, LinkError>> {
    RESET_TOKEN.holder(&ctx.with_auth(&MASTER), token).await
}

/// Sets a new password through a reset token: the policy applies, the token is spent, the
/// user's sessions end, and (with `unlockOnPasswordReset`) the lockout is lifted.
pub async fn reset_password(
    ctx: &Ctx<'_>,
    token: &str,
    new_password: &str,
) -> ApiResult<Result<String, LinkError>> {
    let user = match user_for_reset_token(ctx, token).await? {
        Ok(user) => user,
        Err(error) => return Ok(Err(error)),
    };
    if new_password.is_empty() {
        return Err(ParseError::new(ErrorCode::PasswordMissing, "password is required.").into());
    }
    let user_id = user_id_of(&user);
    let username = user.get("username").and_then(Value::as_str).unwrap_or_default().to_string();
    let master = ctx.with_auth(&MASTER);
    let mut body = Map::new();
    body.insert("password".into(), json!(new_password));
    // The token must still be there when the change lands: a replayed link loses the race.
    let mut extra = vec![
        (FieldPath::top("_perishable_token"), FieldUpdate::Delete),
        (FieldPath::top("_perishable_token_expires_at"), FieldUpdate::Delete),
    ];
    if master
        .app
        .config
        .accounts
        .account_lockout
        .as_ref()
        .is_some_and(|lockout| lockout.unlock_on_password_reset)
    {
        extra.push((FieldPath::top("_failed_login_count"), FieldUpdate::Delete));
        extra.push((FieldPath::top("_account_lockout_expires_at"), FieldUpdate::Delete));
    }
    user_writes::change_password_with(
        &master,
        &user,
        new_password,
        extra,
        equals("_perishable_token", token),
    )
    .await?;
    sessions::revoke_sessions(&master, points_to_user("user", &user_id)).await?;
    ctx.app.sessions.evict_user(&user_id);
    Ok(Ok(username))
}
