//! An app's own Parse REST API, reached through the dashboard: `/dashboard/api/apps/<appId>/
//! parse/<path>` is handed to the server's API at `<mountPath>/<path>` as the app's master
//! (read-only for read-only users). The browser's cookies and any keys it sent are dropped,
//! so what a page can do is decided by its user's sign-in alone.
//!
//! With `X-Dashboard-As: client` (the API console) the request goes as a client instead: with
//! the app's client key applied here and the page's `X-Parse-Session-Token`, if any, so the
//! page sees what an SDK signed in with that session would see. Read-only users may only read
//! this way.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::Response;
use reparse_server::TrustedMaster;
use tower::ServiceExt;

use crate::Dashboard;
use crate::apps::find_app;
use crate::error::{DashboardError, DashboardResult};
use crate::session::{Signed, is_read_method, read_only_refused};

/// How a page asks for its request to go as a client rather than as the master.
const AS_HEADER: &str = "x-dashboard-as";

pub(crate) async fn to_app(
    State(dashboard): State<Arc<Dashboard>>,
    Path((app_id, _)): Path<(String, String)>,
    signed: Signed,
    request: Request,
) -> DashboardResult<Response> {
    let record = find_app(&dashboard, &app_id)?;
    let (mut parts, body) = request.into_parts();
    // The path as sent (still percent-encoded), after the dashboard's prefix.
    let prefix = format!("/dashboard/api/apps/{app_id}/parse/");
    let rest = parts.uri.path().strip_prefix(&prefix).unwrap_or_default().to_string();
    let query = parts.uri.query().map(|query| format!("?{query}")).unwrap_or_default();
    parts.uri = format!("{}/{rest}{query}", dashboard.mount_path)
        .parse::<Uri>()
        .map_err(|_| DashboardError::invalid("This path cannot be forwarded."))?;
    let as_client = match parts.headers.get(AS_HEADER).map(|value| value.as_bytes()) {
        None | Some(b"master") => false,
        Some(b"client") => true,
        Some(_) => return Err(DashboardError::invalid("X-Dashboard-As is master or client.")),
    };
    if as_client && signed.session.read_only && !is_read_method(&parts.method) {
        return Err(read_only_refused());
    }
    let session_token = parts.headers.get("x-parse-session-token").cloned();
    let forwarded: Vec<_> = parts
        .headers
        .keys()
        .filter(|name| {
            let name = name.as_str();
            name == "cookie" || name == "x-csrf-token" || name == AS_HEADER || name.starts_with("x-parse-")
        })
        .cloned()
        .collect();
    for name in forwarded {
        parts.headers.remove(name);
    }
    // The files route takes a raw upload when the id comes as a header.
    let app_header = HeaderValue::from_str(&record.app_id).map_err(DashboardError::internal)?;
    parts.headers.insert("x-parse-application-id", app_header);
    if as_client {
        let keys = [
            ("x-parse-rest-api-key", &record.rest_api_key),
            ("x-parse-javascript-key", &record.javascript_key),
            ("x-parse-client-key", &record.client_key),
        ];
        // One of the app's client keys (an app with none configured needs none).
        if let Some((name, Some(key))) = keys.into_iter().find(|(_, key)| key.is_some()) {
            parts.headers.insert(name, HeaderValue::from_str(key).map_err(DashboardError::internal)?);
        }
        if let Some(token) = session_token {
            parts.headers.insert("x-parse-session-token", token);
        }
    } else {
        parts.extensions.insert(TrustedMaster { app_id: record.app_id, read_only: signed.session.read_only });
    }
    let mut response = match dashboard.parse.clone().oneshot(Request::from_parts(parts, body)).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
