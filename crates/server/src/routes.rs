//! The route table: every REST route of the API in one place, and the dispatch from a route to
//! its controller. Handlers take a [`Ctx`] and JSON parameters and return a [`ParseResponse`],
//! independent of HTTP, so `/batch` dispatches its sub-requests through here too.

use axum::http::Method;
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::context::{Auth, Ctx, RequestInfo};
use crate::controllers::{
    aggregate, batch, config, functions, hooks, jobs, objects, schemas, sessions, users,
};
use crate::error::{ApiError, ApiResult};

/// A handler's answer: status, JSON body and an optional `Location` header.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseResponse {
    pub status: u16,
    pub body: Value,
    pub location: Option<String>,
    /// Other response headers (`X-Parse-Job-Status-Id`).
    pub headers: Vec<(&'static str, String)>,
}

impl ParseResponse {
    pub fn ok(body: Value) -> ParseResponse {
        ParseResponse { status: 200, body, location: None, headers: Vec::new() }
    }
}

/// A REST route, path relative to the mount path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `classes/:className`
    Classes { class_name: String },
    /// `classes/:className/:objectId`
    Object { class_name: String, object_id: String },
    /// `batch`
    Batch,
    /// `schemas`
    Schemas,
    /// `schemas/:className`
    Schema { class_name: String },
    /// `purge/:className`
    Purge { class_name: String },
    /// `aggregate/:className`
    Aggregate { class_name: String },
    /// `users` (`/classes/_User`)
    Users,
    /// `users/:objectId`
    User { object_id: String },
    /// `users/me`
    Me,
    /// `login`
    Login,
    /// `logout`
    Logout,
    /// `loginAs`
    LoginAs,
    /// `verifyPassword`
    VerifyPassword,
    /// `upgradeToRevocableSession`
    UpgradeToRevocableSession,
    /// `requestPasswordReset`
    RequestPasswordReset,
    /// `verificationEmailRequest`
    VerificationEmailRequest,
    /// `roles`, `installations`: `/classes/_Role`, `/classes/_Installation` by their REST names.
    SystemClass { class_name: &'static str },
    /// `roles/:objectId`, `installations/:objectId`
    SystemObject { class_name: &'static str, object_id: String },
    /// `sessions` (`/classes/_Session`)
    Sessions,
    /// `sessions/me`
    SessionsMe,
    /// `sessions/:objectId`
    Session { object_id: String },
    /// `functions/:name`
    Function { name: String },
    /// `jobs/:name`, and `jobs` (the name in the body)
    Job { name: Option<String> },
    /// `cloud_code/jobs/data`
    JobsData,
    /// `cloud_code/jobs`: the job schedules
    JobSchedules,
    /// `cloud_code/jobs/:objectId`
    JobSchedule { object_id: String },
    /// `hooks/functions`, `hooks/triggers`
    Hooks { triggers: bool },
    /// `hooks/functions/:name`, `hooks/triggers/:className/:triggerName`
    Hook { name: hooks::HookName },
    /// `health`
    Health,
    /// `serverInfo`
    ServerInfo,
    /// `scriptlog`: the app's recent log lines
    ScriptLog,
    /// `config`: Parse Config
    Config,
}

impl Route {
    /// Parses a path such as `classes/GameScore/xWMyZ4YEGZ` (no leading slash, percent-decoded
    /// segments).
    pub fn parse(path: &str) -> Option<Route> {
        let segments: Vec<String> = path
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(|segment| percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned())
            .collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let owned = |s: &str| s.to_string();
        Some(match segments.as_slice() {
            ["classes", class_name] => Route::Classes { class_name: owned(class_name) },
            ["classes", class_name, object_id] => {
                Route::Object { class_name: owned(class_name), object_id: owned(object_id) }
            }
            ["batch"] => Route::Batch,
            ["schemas"] => Route::Schemas,
            ["schemas", class_name] => Route::Schema { class_name: owned(class_name) },
            ["purge", class_name] => Route::Purge { class_name: owned(class_name) },
            ["aggregate", class_name] => Route::Aggregate { class_name: owned(class_name) },
            ["users"] => Route::Users,
            ["users", "me"] => Route::Me,
            ["users", object_id] => Route::User { object_id: owned(object_id) },
            ["login"] => Route::Login,
            ["logout"] => Route::Logout,
            ["loginAs"] => Route::LoginAs,
            ["verifyPassword"] => Route::VerifyPassword,
            ["upgradeToRevocableSession"] => Route::UpgradeToRevocableSession,
            ["requestPasswordReset"] => Route::RequestPasswordReset,
            ["verificationEmailRequest"] => Route::VerificationEmailRequest,
            ["roles"] => Route::SystemClass { class_name: "_Role" },
            ["roles", object_id] => Route::SystemObject { class_name: "_Role", object_id: owned(object_id) },
            ["installations"] => Route::SystemClass { class_name: "_Installation" },
            ["installations", object_id] => {
                Route::SystemObject { class_name: "_Installation", object_id: owned(object_id) }
            }
            ["sessions"] => Route::Sessions,
            ["sessions", "me"] => Route::SessionsMe,
            ["sessions", object_id] => Route::Session { object_id: owned(object_id) },
            ["functions", name] => Route::Function { name: owned(name) },
            ["jobs"] => Route::Job { name: None },
            ["jobs", name] => Route::Job { name: Some(owned(name)) },
            ["cloud_code", "jobs", "data"] => Route::JobsData,
            ["cloud_code", "jobs"] => Route::JobSchedules,
            ["cloud_code", "jobs", object_id] => Route::JobSchedule { object_id: owned(object_id) },
            ["hooks", "functions"] => Route::Hooks { triggers: false },
            ["hooks", "triggers"] => Route::Hooks { triggers: true },
            ["hooks", "functions", name] => Route::Hook { name: hooks::HookName::Function(owned(name)) },
            ["hooks", "triggers", class_name, trigger_name] => Route::Hook {
                name: hooks::HookName::Trigger {
                    class_name: owned(class_name),
                    trigger_name: owned(trigger_name),
                },
            },
            ["health"] => Route::Health,
            ["serverInfo"] => Route::ServerInfo,
            ["scriptlog"] => Route::ScriptLog,
            ["config"] => Route::Config,
            _ => return None,
        })
    }
}

/// Dispatches a request from the HTTP edge: a plain context on the app's storage.
pub async fn dispatch_request(
    app: &App,
    auth: &Auth,
    mount_path: &str,
    method: Method,
    route: Route,
    params: Map<String, Value>,
    request: &RequestInfo,
) -> ApiResult<ParseResponse> {
    let ctx = Ctx { request: Some(request), ..Ctx::new(app, auth, mount_path) };
    if route == Route::Batch && method == Method::POST {
        return batch::run(&ctx, params).await;
    }
    dispatch(&ctx, &method, &route, params).await
}

/// Runs one route. `/batch` is not accepted here: batches do not nest.
pub async fn dispatch(
    ctx: &Ctx<'_>,
    method: &Method,
    route: &Route,
    params: Map<String, Value>,
) -> ApiResult<ParseResponse> {
    use Route as R;
    let method_name = method.as_str();
    match (route, method_name) {
        (R::Classes { class_name }, "POST") => objects::create(ctx, class_name, params).await,
        (R::Classes { class_name }, "GET") => objects::find(ctx, class_name, params).await,
        (R::Object { class_name, object_id }, "GET") => {
            objects::get(ctx, class_name, object_id, params).await
        }
        (R::Object { class_name, object_id }, "PUT") => {
            objects::update(ctx, class_name, object_id, params).await
        }
        (R::Object { class_name, object_id }, "DELETE") => objects::delete(ctx, class_name, object_id).await,
        (R::Users, "POST") => objects::create(ctx, "_User", params).await,
        (R::Users, "GET") => objects::find(ctx, "_User", params).await,
        (R::Me, "GET") => users::me(ctx).await,
        (R::User { object_id }, "GET") => objects::get(ctx, "_User", object_id, params).await,
        (R::User { object_id }, "PUT") => objects::update(ctx, "_User", object_id, params).await,
        (R::User { object_id }, "DELETE") => objects::delete(ctx, "_User", object_id).await,
        (R::Login, "GET" | "POST") => users::log_in(ctx, params).await,
        (R::Logout, "POST") => users::log_out(ctx).await,
        (R::LoginAs, "POST") => users::log_in_as(ctx, params).await,
        (R::VerifyPassword, "GET" | "POST") => users::verify_password_route(ctx, params).await,
        (R::UpgradeToRevocableSession, "POST") => users::upgrade_to_revocable_session(ctx).await,
        (R::RequestPasswordReset, "POST") => users::request_password_reset(ctx, params).await,
        (R::VerificationEmailRequest, "POST") => users::request_verification_email(ctx, params).await,
        (R::SystemClass { class_name }, "POST") => objects::create(ctx, class_name, params).await,
        (R::SystemClass { class_name }, "GET") => objects::find(ctx, class_name, params).await,
        (R::SystemObject { class_name, object_id }, "GET") => {
            objects::get(ctx, class_name, object_id, params).await
        }
        (R::SystemObject { class_name, object_id }, "PUT") => {
            objects::update(ctx, class_name, object_id, params).await
        }
        (R::SystemObject { class_name, object_id }, "DELETE") => {
            objects::delete(ctx, class_name, object_id).await
        }
        (R::Sessions, "POST") => objects::create(ctx, "_Session", params).await,
        (R::Sessions, "GET") => objects::find(ctx, "_Session", params).await,
        (R::SessionsMe, "GET") => sessions::current(ctx).await,
        (R::SessionsMe, "PUT") => sessions::update_current(ctx, params).await,
        (R::Session { object_id }, "GET") => objects::get(ctx, "_Session", object_id, params).await,
        (R::Session { object_id }, "PUT") => objects::update(ctx, "_Session", object_id, params).await,
        (R::Session { object_id }, "DELETE") => objects::delete(ctx, "_Session", object_id).await,
        (R::Schemas, "GET") => schemas::list(ctx).await,
        (R::Schemas, "POST") => schemas::create(ctx, None, params).await,
        (R::Schema { class_name }, "GET") => schemas::get(ctx, class_name).await,
        (R::Schema { class_name }, "POST") => schemas::create(ctx, Some(class_name), params).await,
        (R::Schema { class_name }, "PUT") => schemas::update(ctx, class_name, params).await,
        (R::Schema { class_name }, "DELETE") => schemas::delete(ctx, class_name).await,
        (R::Purge { class_name }, "DELETE") => schemas::purge(ctx, class_name).await,
        (R::Aggregate { class_name }, "GET") => aggregate::aggregate(ctx, class_name, params).await,
        (R::Function { name }, "POST") => functions::run(ctx, name, params).await,
        (R::Job { name }, "POST") => jobs::start(ctx, name.as_deref(), params).await,
        (R::JobsData, "GET") => jobs::data(ctx).await,
        (R::JobSchedules, "GET") => jobs::schedules(ctx).await,
        (R::JobSchedules, "POST") => jobs::create_schedule(ctx, params).await,
        (R::JobSchedule { object_id }, "PUT") => jobs::update_schedule(ctx, object_id, params).await,
        (R::JobSchedule { object_id }, "DELETE") => jobs::delete_schedule(ctx, object_id).await,
        (R::Hooks { triggers }, "GET") => hooks::get(ctx, *triggers, None).await,
        (R::Hooks { .. }, "POST") => hooks::create(ctx, params).await,
        (R::Hook { name }, "GET") => hooks::get(ctx, false, Some(name.clone())).await,
        (R::Hook { name }, "PUT") => hooks::update(ctx, name.clone(), params).await,
        (R::Health, "GET" | "POST") => Ok(health()),
        (R::ServerInfo, "GET") => server_info(ctx),
        (R::Config, "GET") => config::get(ctx).await,
        (R::Config, "PUT") => config::update(ctx, params).await,
        (R::ScriptLog, "GET") => {
            if !ctx.auth.master {
                return Err(ApiError::master_key_required());
            }
            Ok(ParseResponse::ok(crate::logs::script_log(&ctx.app.config.app_id, &params)?))
        }
        _ => Err(ApiError::NotFound(format!("{method_name} {route:?}"))),
    }
}

pub fn health() -> ParseResponse {
    ParseResponse::ok(json!({"status": "ok"}))
}

fn server_info(ctx: &Ctx<'_>) -> ApiResult<ParseResponse> {
    if !ctx.auth.master {
        return Err(ApiError::master_key_required());
    }
    Ok(ParseResponse::ok(json!({
        "parseServerVersion": concat!("reparse-", env!("CARGO_PKG_VERSION")),
        "features": {
            "globalConfig": {"create": true, "read": true, "update": true, "delete": true},
            "hooks": {"create": true, "read": true, "update": true, "delete": true},
            "cloudCode": {"jobs": ctx.app.cloud.is_some()},
            "logs": {"level": true, "size": true, "order": true, "until": true, "from": true},
            "push": {"immediatePush": false, "scheduledPush": false, "storedPushData": false, "pushAudiences": false, "localization": false},
            "schemas": {"addField": true, "removeField": true, "addClass": true, "removeClass": true, "clearAllDataFromClass": true, "exportClass": false, "editClassLevelPermissions": true, "editPointerPermissions": true},
        },
        "database": ctx.app.storage.kind(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_route() {
        assert_eq!(Route::parse("classes/A"), Some(Route::Classes { class_name: "A".into() }));
        assert_eq!(
            Route::parse("classes/A/x1"),
            Some(Route::Object { class_name: "A".into(), object_id: "x1".into() })
        );
        assert_eq!(Route::parse("batch"), Some(Route::Batch));
        assert_eq!(Route::parse("schemas/A"), Some(Route::Schema { class_name: "A".into() }));
        assert_eq!(Route::parse("purge/A"), Some(Route::Purge { class_name: "A".into() }));
        assert_eq!(Route::parse("aggregate/A"), Some(Route::Aggregate { class_name: "A".into() }));
        assert_eq!(Route::parse("health"), Some(Route::Health));
        assert_eq!(Route::parse("users/me"), Some(Route::Me));
        assert_eq!(Route::parse("users/u1"), Some(Route::User { object_id: "u1".into() }));
        assert_eq!(Route::parse("sessions/me"), Some(Route::SessionsMe));
        assert_eq!(Route::parse("login"), Some(Route::Login));
        assert_eq!(Route::parse("roles"), Some(Route::SystemClass { class_name: "_Role" }));
        assert_eq!(
            Route::parse("installations/i1"),
            Some(Route::SystemObject { class_name: "_Installation", object_id: "i1".into() })
        );
        assert_eq!(Route::parse("cloud_code/jobs/data"), Some(Route::JobsData));
        assert_eq!(Route::parse("cloud_code/jobs"), Some(Route::JobSchedules));
        assert_eq!(Route::parse("cloud_code/jobs/s1"), Some(Route::JobSchedule { object_id: "s1".into() }));
        assert_eq!(Route::parse("classes/A/b/c"), None);
        assert_eq!(Route::parse("nothing"), None);
    }
}
