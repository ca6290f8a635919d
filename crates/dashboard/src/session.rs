//! Signing in to the dashboard. A session is a random token in an HttpOnly, SameSite=Strict
//! cookie (Secure over HTTPS), kept hashed in the registry; each session also has a CSRF token
//! that every request other than GET must send back in `X-CSRF-Token`, which a page of another
//! site cannot read. Read-only users pass [`Signed`] but not [`Writer`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use reparse_core::ErrorCode;
use reparse_registry::DashboardSession;
use serde::Deserialize;
use serde_json::json;

use reparse_server::http::constant_time_eq;

use crate::Dashboard;
use crate::error::{DashboardError, DashboardResult};

const COOKIE: &str = "reparse_dashboard";
const CSRF_HEADER: &str = "x-csrf-token";

/// A request from a signed-in dashboard user (with the CSRF token when it may change things).
pub(crate) struct Signed {
    pub(crate) session: DashboardSession,
    token: String,
}

impl FromRequestParts<Arc<Dashboard>> for Signed {
    type Rejection = DashboardError;

    async fn from_request_parts(parts: &mut Parts, dashboard: &Arc<Dashboard>) -> DashboardResult<Signed> {
        let token = session_cookie(&parts.headers).ok_or_else(DashboardError::not_signed_in)?;
        let session =
            dashboard.registry.dashboard_session(&token)?.ok_or_else(DashboardError::not_signed_in)?;
        if !is_read_method(&parts.method) {
            let echoed =
                parts.headers.get(CSRF_HEADER).and_then(|value| value.to_str().ok()).unwrap_or_default();
            if !constant_time_eq(echoed, &session.csrf_token) {
                return Err(DashboardError::forbidden(
                    "This request lacks the dashboard's CSRF token: reload the page and try again.",
                ));
            }
            check_origin(&parts.headers)?;
        }
        Ok(Signed { session, token })
    }
}

/// A signed-in user who may change things.
pub(crate) struct Writer(pub(crate) Signed);

impl FromRequestParts<Arc<Dashboard>> for Writer {
    type Rejection = DashboardError;

    async fn from_request_parts(parts: &mut Parts, dashboard: &Arc<Dashboard>) -> DashboardResult<Writer> {
        let signed = Signed::from_request_parts(parts, dashboard).await?;
        if signed.session.read_only {
            return Err(read_only_refused());
        }
        Ok(Writer(signed))
    }
}

pub(crate) fn read_only_refused() -> DashboardError {
    DashboardError::forbidden("Read-only dashboard users cannot change anything.")
}

pub(crate) fn is_read_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

pub(crate) async fn login(
    State(dashboard): State<Arc<Dashboard>>,
    headers: HeaderMap,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: axum::body::Bytes,
) -> DashboardResult<Response> {
    // No session yet, so no CSRF token: a page of another site must not sign the browser in
    // to an account of its choosing.
    check_origin(&headers)?;
    let credentials: Credentials = json_body(&body)?;
    let address = peer.map(|Extension(ConnectInfo(peer))| peer.ip());
    let username = credentials.username.clone();
    if let Err(wait) = dashboard.sign_in_throttle.check(&username, address, Instant::now()) {
        tracing::warn!(target: "dashboard", ?address, "dashboard sign-in refused: too many failures");
        let minutes = wait.as_secs().div_ceil(60).max(1);
        return Err(DashboardError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RequestLimitExceeded,
            format!(
                "Too many failed sign-ins. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            ),
        ));
    }
    let registry = dashboard.registry.clone();
    // bcrypt takes tens of milliseconds: off the async workers.
    let user = tokio::task::spawn_blocking(move || {
        registry.verify_dashboard_user(&credentials.username, &credentials.password)
    })
    .await
    .map_err(DashboardError::internal)??;
    let Some(user) = user else {
        tracing::warn!(target: "dashboard", ?address, "failed dashboard sign-in");
        dashboard.sign_in_throttle.record_failure(&username, address, Instant::now());
        return Err(DashboardError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::ObjectNotFound,
            "Invalid username or password.",
        ));
    };
    dashboard.sign_in_throttle.record_success(&username);
    let (token, session) = dashboard.registry.start_dashboard_session(&user)?;
    let max_age = (session.expires_at - chrono::Utc::now()).num_seconds();
    let cookie = Cookie::build((COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/dashboard")
        .secure(is_https(&headers, &dashboard.public_url))
        .max_age(cookie::time::Duration::seconds(max_age))
        .build();
    let mut response = axum::Json(session_json(&session)).into_response();
    set_cookie(&mut response, &cookie);
    Ok(response)
}

pub(crate) async fn logout(
    State(dashboard): State<Arc<Dashboard>>,
    signed: Signed,
) -> DashboardResult<Response> {
    dashboard.registry.end_dashboard_session(&signed.token)?;
    let mut response = axum::Json(json!({})).into_response();
    let mut cookie = Cookie::build((COOKIE, "")).path("/dashboard").build();
    cookie.make_removal();
    set_cookie(&mut response, &cookie);
    Ok(response)
}

pub(crate) async fn current(signed: Signed) -> axum::Json<serde_json::Value> {
    axum::Json(session_json(&signed.session))
}

fn session_json(session: &DashboardSession) -> serde_json::Value {
    json!({
        "username": session.username,
        "readOnly": session.read_only,
        "csrfToken": session.csrf_token,
        "expiresAt": session.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
}

fn set_cookie(response: &mut Response, cookie: &Cookie<'_>) {
    if let Ok(value) = cookie.to_string().parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == COOKIE)
        .map(|cookie| cookie.value().to_string())
}

/// A browser names the page a request comes from in `Origin`; when it does, it must be this
/// server (the `Host` the request came to).
fn check_origin(headers: &HeaderMap) -> DashboardResult<()> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|value| value.to_str().ok()) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|value| value.to_str().ok()).unwrap_or_default();
    let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(DashboardError::forbidden("Requests from other sites are refused."))
    }
}

/// Whether the browser reached us over HTTPS (directly, or through a proxy that says so): the
/// session cookie is then marked Secure.
fn is_https(headers: &HeaderMap, public_url: &str) -> bool {
    let forwarded = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    forwarded || public_url.starts_with("https://")
}

/// A JSON body, or Parse's "invalid JSON" error.
pub(crate) fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> DashboardResult<T> {
    serde_json::from_slice(body).map_err(|error| {
        DashboardError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidJson,
            format!("Invalid request body: {error}"),
        )
    })
}
