//! The apps of the registry, as the dashboard manages them. Keys are given out once, when an
//! app is created or its keys rotated: the pages reach an app's data through [`crate::forward`],
//! never with a key.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use reparse_registry::AppRecord;
use reparse_server::App;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::Dashboard;
use crate::error::{DashboardError, DashboardResult};
use crate::session::{Signed, Writer, json_body};

fn app_json(dashboard: &Dashboard, record: &AppRecord) -> Value {
    json!({
        "appId": record.app_id,
        "name": record.name,
        "createdAt": record.created_at,
        "serverURL": dashboard.public_url,
        "settings": record.settings,
    })
}

fn keys_json(record: &AppRecord) -> Value {
    json!({
        "applicationId": record.app_id,
        "masterKey": record.master_key,
        "javascriptKey": record.javascript_key,
        "restAPIKey": record.rest_api_key,
        "clientKey": record.client_key,
    })
}

/// The app with this application id (names are for people; the pages use ids).
pub(crate) fn find_app(dashboard: &Dashboard, app_id: &str) -> DashboardResult<AppRecord> {
    dashboard.registry.find(app_id)?.ok_or_else(|| {
        DashboardError::new(StatusCode::NOT_FOUND, reparse_core::ErrorCode::ObjectNotFound, "No such app.")
    })
}

/// The app as the server runs it (opening it if this is its first use).
pub(crate) async fn running_app(dashboard: &Dashboard, record: &AppRecord) -> DashboardResult<Arc<App>> {
    dashboard.directory.app(&record.app_id).await.ok_or_else(|| {
        DashboardError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            reparse_core::ErrorCode::InternalServerError,
            "The app could not be opened.",
        )
    })
}

pub(crate) async fn list(State(dashboard): State<Arc<Dashboard>>, _: Signed) -> DashboardResult<Response> {
    let records = dashboard.registry.list()?;
    let results: Vec<Value> = records.iter().map(|record| app_json(&dashboard, record)).collect();
    Ok(axum::Json(json!({ "results": results })).into_response())
}

pub(crate) async fn show(
    State(dashboard): State<Arc<Dashboard>>,
    Path(app_id): Path<String>,
    _: Signed,
) -> DashboardResult<Response> {
    Ok(axum::Json(app_json(&dashboard, &find_app(&dashboard, &app_id)?)).into_response())
}

#[derive(Deserialize)]
struct NewApp {
    name: String,
}

pub(crate) async fn create(
    State(dashboard): State<Arc<Dashboard>>,
    Writer(signed): Writer,
    body: axum::body::Bytes,
) -> DashboardResult<Response> {
    let NewApp { name } = json_body(&body)?;
    let record = dashboard.registry.create_app(name.trim())?;
    tracing::info!(target: "dashboard", user = %signed.session.username, app = %record.app_id, "app created");
    let body = json!({ "app": app_json(&dashboard, &record), "keys": keys_json(&record) });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

#[derive(Deserialize)]
struct AppChange {
    name: Option<String>,
    settings: Option<Map<String, Value>>,
}

/// Renames an app and/or replaces its settings. Settings are checked as the server would check
/// them when opening the app, before anything is written.
pub(crate) async fn update(
    State(dashboard): State<Arc<Dashboard>>,
    Path(app_id): Path<String>,
    Writer(signed): Writer,
    body: axum::body::Bytes,
) -> DashboardResult<Response> {
    let change: AppChange = json_body(&body)?;
    let mut record = find_app(&dashboard, &app_id)?;
    if let Some(settings) = change.settings {
        let candidate = AppRecord { settings, ..record.clone() };
        dashboard.admin.check_settings(&candidate).map_err(DashboardError::invalid)?;
        record = candidate;
    }
    if let Some(name) = change.name.as_deref().map(str::trim).filter(|name| *name != record.name) {
        record.name = dashboard.registry.rename(&record.app_id, name)?.name;
    }
    dashboard.registry.set_settings(&record.app_id, &record.settings)?;
    tracing::info!(target: "dashboard", user = %signed.session.username, app = %record.app_id, "app changed");
    Ok(axum::Json(app_json(&dashboard, &record)).into_response())
}

pub(crate) async fn rotate_keys(
    State(dashboard): State<Arc<Dashboard>>,
    Path(app_id): Path<String>,
    Writer(signed): Writer,
) -> DashboardResult<Response> {
    let record = dashboard.registry.rotate_keys(&find_app(&dashboard, &app_id)?.app_id)?;
    tracing::info!(target: "dashboard", user = %signed.session.username, app = %record.app_id, "keys rotated");
    Ok(axum::Json(json!({ "keys": keys_json(&record) })).into_response())
}

#[derive(Deserialize)]
struct Confirmation {
    confirm: String,
}

/// Deletes an app and all its data; the body must name the app, as typed by the user.
pub(crate) async fn delete(
    State(dashboard): State<Arc<Dashboard>>,
    Path(app_id): Path<String>,
    Writer(signed): Writer,
    body: axum::body::Bytes,
) -> DashboardResult<Response> {
    let record = find_app(&dashboard, &app_id)?;
    let confirmation: Confirmation = json_body(&body)?;
    if confirmation.confirm != record.name {
        return Err(DashboardError::invalid(format!(
            "To delete this app, type its name ({}) to confirm.",
            record.name
        )));
    }
    dashboard.admin.delete_app(&record).await.map_err(|error| {
        DashboardError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            reparse_core::ErrorCode::InternalServerError,
            format!("The app could not be deleted: {error}"),
        )
    })?;
    tracing::info!(target: "dashboard", user = %signed.session.username, app = %record.app_id, "app deleted");
    Ok(axum::Json(json!({})).into_response())
}
