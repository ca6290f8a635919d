//! Whole-app archives from the dashboard: download an app's archive (streamed as it is made),
//! and upload one into an app without data (streamed into the import). The format and its
//! guarantees are `reparse-archive`'s.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use reparse_archive::ExportOptions;
use serde::Deserialize;
use serde_json::json;
use tokio_util::io::StreamReader;

use crate::Dashboard;
use crate::apps::{find_app, running_app};
use crate::error::DashboardResult;
use crate::session::{Signed, Writer, read_only_refused};

#[derive(Deserialize)]
pub(crate) struct ExportQuery {
    /// `files=1` includes the app's stored files.
    #[serde(default)]
    files: Option<String>,
}

/// The app's archive as a download. A plain GET, so the browser can save it as it streams; an
/// archive holds password hashes and every object, so read-only users may not take one.
pub(crate) async fn export(
    State(dashboard): State<Arc<Dashboard>>,
    Path(app_id): Path<String>,
    Query(query): Query<ExportQuery>,
    signed: Signed,
) -> DashboardResult<Response> {
    if signed.session.read_only {
        return Err(read_only_refused());
    }
    let record = find_app(&dashboard, &app_id)?;
    let app = running_app(&dashboard, &record).await?;
    let include_files = matches!(query.files.as_deref(), Some("1" | "true"));
    tracing::info!(target: "dashboard", user = %signed.session.username, app = %record.app_id, include_files, "archive exported");
    let date = chrono::Utc::now().format("%Y-%m-%d");
    let file_name: String = format!("{}-{date}.tar.gz", record.name)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
        .collect();
    let body = Body::from_stream(reparse_archive::export(app, ExportOptions { include_files }));
    let headers = [
        (header::CONTENT_TYPE, "application/gzip".to_string()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")),
        (header::CACHE_CONTROL, "no-store".to_string()),
    ];
    Ok((headers, body).into_response())
}

/// Imports the archive in the request's body into the app, which must hold no data.
pub(crate) async fn import(
    State(dashboard): State<Arc<Dashboard>>,
    Path(app_id): Path<String>,
    Writer(signed): Writer,
    body: Body,
) -> DashboardResult<Response> {
    let record = find_app(&dashboard, &app_id)?;
    let app = running_app(&dashboard, &record).await?;
    let bytes = body.into_data_stream().map_err(std::io::Error::other);
    let summary = reparse_archive::import(&app, StreamReader::new(bytes)).await?;
    tracing::info!(target: "dashboard", user = %signed.session.username, app = %record.app_id,
        objects = summary.objects, files = summary.files, "archive imported");
    Ok(axum::Json(json!({
        "classes": summary.classes,
        "objects": summary.objects,
        "relations": summary.relations,
        "files": summary.files,
    }))
    .into_response())
}
