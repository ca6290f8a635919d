//! An app's cloud code as the dashboard shows it: the files of its cloud folder (read-only)
//! and what the running code defines (functions, jobs, triggers).

use std::path::{Component, Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Dashboard;
use crate::apps::find_app;
use crate::error::{DashboardError, DashboardResult};
use crate::session::Signed;

/// Files listed at most (a cloud folder with more is most likely not just code).
const MAX_FILES: usize = 500;
/// Largest file shown.
const MAX_SHOWN_BYTES: u64 = 1024 * 1024;

/// The folder holding the app's `main.js` (its `cloud` setting), if it has one.
fn cloud_folder(settings: &serde_json::Map<String, Value>) -> Option<PathBuf> {
    let main = settings.get("cloud")?.as_str().filter(|path| !path.is_empty())?;
    std::path::absolute(main).ok()?.parent().map(FsPath::to_path_buf)
}

pub(crate) async fn overview(
    State(dashboard): State<Arc<Dashboard>>,
    Path(app_id): Path<String>,
    _: Signed,
) -> DashboardResult<Response> {
    let record = find_app(&dashboard, &app_id)?;
    let Some(folder) = cloud_folder(&record.settings) else {
        return Ok(axum::Json(
            json!({"configured": false, "files": [], "functions": [], "jobs": [], "triggers": []}),
        )
        .into_response());
    };
    let files =
        tokio::task::spawn_blocking(move || list_files(&folder)).await.map_err(DashboardError::internal)?;
    let hooks = match dashboard.directory.app(&record.app_id).await {
        Some(app) => app.cloud.as_ref().map(|cloud| cloud.hooks()),
        None => None,
    };
    let hooks = hooks.unwrap_or_default();
    let triggers: Vec<Value> = hooks
        .triggers
        .iter()
        .map(|(trigger, class_name)| json!({"trigger": trigger.name(), "className": class_name}))
        .collect();
    Ok(axum::Json(json!({
        "configured": true,
        "files": files,
        "functions": hooks.functions,
        "jobs": hooks.jobs,
        "triggers": triggers,
    }))
    .into_response())
}

/// The folder's files (`node_modules` and hidden entries left out), paths relative to it.
fn list_files(folder: &FsPath) -> Vec<Value> {
    let mut files = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(|entry| entry.file_name());
        for entry in entries {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || name == "node_modules" {
                continue;
            }
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() && files.len() < MAX_FILES {
                let path = entry.path();
                let relative = path.strip_prefix(folder).unwrap_or(&path).to_string_lossy().into_owned();
                let size = entry.metadata().map(|metadata| metadata.len()).unwrap_or_default();
                files.push(json!({"path": relative, "size": size}));
            }
        }
    }
    files.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    files
}

#[derive(Deserialize)]
pub(crate) struct FileQuery {
    path: String,
}

pub(crate) async fn file(
    State(dashboard): State<Arc<Dashboard>>,
    Path(app_id): Path<String>,
    Query(query): Query<FileQuery>,
    _: Signed,
) -> DashboardResult<Response> {
    let record = find_app(&dashboard, &app_id)?;
    let folder = cloud_folder(&record.settings)
        .ok_or_else(|| DashboardError::invalid("This app has no cloud code."))?;
    // Only a plain relative path inside the folder, never out of it.
    let relative = FsPath::new(&query.path);
    let inside = relative.components().all(|component| matches!(component, Component::Normal(_)))
        && !relative.components().any(|component| {
            let text = component.as_os_str().to_string_lossy();
            text.starts_with('.') || text == "node_modules"
        });
    if !inside || query.path.is_empty() {
        return Err(DashboardError::invalid("Not a file of the cloud folder."));
    }
    let path = folder.join(relative);
    let shown = query.path.clone();
    let content = tokio::task::spawn_blocking(move || -> Result<String, String> {
        let metadata =
            std::fs::metadata(&path).map_err(|_| "No such file in the cloud folder.".to_string())?;
        if !metadata.is_file() {
            return Err("No such file in the cloud folder.".into());
        }
        if metadata.len() > MAX_SHOWN_BYTES {
            return Err("This file is too large to show (over 1 MiB).".into());
        }
        let bytes = std::fs::read(&path).map_err(|error| format!("The file cannot be read: {error}"))?;
        String::from_utf8(bytes).map_err(|_| "This file is not text.".to_string())
    })
    .await
    .map_err(DashboardError::internal)?
    .map_err(DashboardError::invalid)?;
    Ok(axum::Json(json!({"path": shown, "content": content})).into_response())
}
