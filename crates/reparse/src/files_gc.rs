//! `reparse files gc`: finds an app's stored files that no object references (uploads never
//! attached, files of deleted objects, replaced attachments) and, with `--delete`, removes them.
//!
//! A file counts as referenced when any object of any class holds a `File` value naming it, in a
//! File field or nested in an Array or Object field. Files stored less than `min_age` ago are
//! never candidates: a client uploads a file before it saves the object that references it.
//! The sweep lists the files first and reads the objects after, so a file referenced by the time
//! the objects are read is kept; one attached after its object's class was read can still be
//! taken, which is why the default age is a day.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use reparse_core::query::Filter;
use reparse_core::schema::FieldType;
use reparse_files::{FileInfo, FilesAdapter};
use reparse_server::App;
use serde_json::Value;

/// Objects read per page while looking for references.
const PAGE_SIZE: u64 = 1000;

/// What a sweep found.
#[derive(Debug, Default)]
pub(crate) struct Sweep {
    /// Stored files no object references, old enough to be candidates, by name.
    pub(crate) orphans: Vec<FileInfo>,
    /// Files seen in storage.
    pub(crate) stored: u64,
    /// Unreferenced files kept because they are newer than the minimum age.
    pub(crate) too_recent: u64,
    /// Objects read.
    pub(crate) objects: u64,
}

impl Sweep {
    pub(crate) fn orphan_bytes(&self) -> u64 {
        self.orphans.iter().map(|info| info.length).sum()
    }
}

/// Finds the app's orphaned files. `show_progress` draws bars on stderr (when it is a terminal).
pub(crate) async fn find_orphans(app: &App, min_age: Duration, show_progress: bool) -> Result<Sweep, String> {
    let files = app.files.as_ref().ok_or("this app has no file storage")?;
    let mut sweep = Sweep::default();

    let listing = spinner(show_progress, "listing stored files");
    let mut stored = Vec::new();
    let mut listed = files.list();
    while let Some(info) = listed.next().await {
        stored.push(info.map_err(|error| format!("cannot list the app's files: {}", error.message))?);
        listing.inc(1);
    }
    drop(listed);
    listing.finish_with_message(format!("{} stored files", stored.len()));
    sweep.stored = stored.len() as u64;

    let referenced = referenced_files(app, show_progress, &mut sweep.objects).await?;
    let now = SystemTime::now();
    for info in stored {
        if referenced.contains(&info.name) {
            continue;
        }
        // A time in the future (clock skew) counts as new.
        let age = info.modified.map(|modified| now.duration_since(modified).unwrap_or_default());
        if age.is_some_and(|age| age < min_age) {
            sweep.too_recent += 1;
            continue;
        }
        sweep.orphans.push(info);
    }
    sweep.orphans.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(sweep)
}

/// Deletes the orphans; returns how many went (a file deleted meanwhile is not an error).
pub(crate) async fn delete_orphans(
    files: &dyn FilesAdapter,
    orphans: &[FileInfo],
    show_progress: bool,
) -> Result<u64, String> {
    let bar = bar(show_progress, orphans.len() as u64, "deleting");
    let mut deleted = 0;
    for info in orphans {
        match files.delete(&info.name).await {
            Ok(()) => deleted += 1,
            Err(_) if files.info(&info.name).await.is_err() => {}
            Err(error) => return Err(format!("cannot delete {}: {}", info.name, error.message)),
        }
        bar.inc(1);
    }
    bar.finish_with_message(format!("deleted {deleted}"));
    Ok(deleted)
}

/// The names of every file some object references.
async fn referenced_files(
    app: &App,
    show_progress: bool,
    objects_read: &mut u64,
) -> Result<HashSet<String>, String> {
    let failed =
        |error: reparse_core::ParseError| format!("cannot read the app's objects: {}", error.message);
    let schemas = app.storage.load_schemas().await.map_err(failed)?;
    let everything = Filter::everything();
    let mut total = 0;
    let mut classes = Vec::new();
    for schema in schemas {
        let fields: Vec<String> = schema
            .fields
            .iter()
            .filter(|(_, spec)| {
                matches!(spec.field_type, FieldType::File | FieldType::Array | FieldType::Object)
            })
            .map(|(name, _)| name.clone())
            .collect();
        if fields.is_empty() {
            continue;
        }
        total += app.storage.count(&schema, &everything).await.map_err(failed)?;
        classes.push((schema, fields));
    }
    let bar = bar(show_progress, total, "reading objects");
    let mut names = HashSet::new();
    for (schema, fields) in classes {
        bar.set_message(schema.class_name.clone());
        let mut after: Option<String> = None;
        loop {
            let page =
                app.storage.scan(&schema, &everything, after.as_deref(), PAGE_SIZE).await.map_err(failed)?;
            for object in &page {
                for field in &fields {
                    if let Some(value) = object.get(field) {
                        collect_file_names(value, &mut names);
                    }
                }
            }
            *objects_read += page.len() as u64;
            bar.inc(page.len() as u64);
            if (page.len() as u64) < PAGE_SIZE {
                break;
            }
            after = page
                .last()
                .and_then(|object| object.get("objectId"))
                .and_then(Value::as_str)
                .map(str::to_string);
            if after.is_none() {
                break;
            }
        }
    }
    bar.finish_with_message(format!("{} files referenced", names.len()));
    Ok(names)
}

/// Adds the names of the `File` values in `value`, however deeply nested.
fn collect_file_names(value: &Value, names: &mut HashSet<String>) {
    match value {
        Value::Object(map) if map.get("__type").and_then(Value::as_str) == Some("File") => {
            if let Some(name) = map.get("name").and_then(Value::as_str) {
                names.insert(name.to_string());
            }
        }
        Value::Object(map) => map.values().for_each(|inner| collect_file_names(inner, names)),
        Value::Array(items) => items.iter().for_each(|inner| collect_file_names(inner, names)),
        _ => {}
    }
}

fn bar(show: bool, total: u64, prefix: &'static str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template("{prefix:>16} [{bar:40}] {pos}/{len} {wide_msg}")
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(total).with_style(style).with_prefix(prefix)
}

fn spinner(show: bool, prefix: &'static str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template("{prefix:>16} {spinner} {pos} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let spinner = ProgressBar::new_spinner().with_style(style).with_prefix(prefix);
    spinner.enable_steady_tick(Duration::from_millis(120));
    spinner
}

/// `90s`, `30m`, `12h`, `7d` or plain seconds.
pub(crate) fn parse_age(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let seconds_per = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{text:?} is not an age: a number with s, m, h or d (like 24h)")),
    };
    let number: u64 = number.parse().map_err(|_| format!("{text:?} is not an age (like 24h)"))?;
    Ok(Duration::from_secs(number.saturating_mul(seconds_per)))
}

/// `1.5 MB`
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn file_values_are_found_however_nested() {
        let mut names = HashSet::new();
        let file = |name: &str| json!({"__type": "File", "name": name, "url": "http://x"});
        collect_file_names(&file("a.txt"), &mut names);
        collect_file_names(&json!([file("b.txt"), {"inner": {"deeper": [file("c.txt")]}}]), &mut names);
        collect_file_names(&json!({"__type": "Pointer", "className": "File", "objectId": "x"}), &mut names);
        collect_file_names(&json!("d.txt"), &mut names);
        let mut sorted: Vec<_> = names.into_iter().collect();
        sorted.sort();
        assert_eq!(sorted, ["a.txt", "b.txt", "c.txt"]);
    }

    #[test]
    fn ages_and_sizes_read_and_print() {
        assert_eq!(parse_age("24h").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_age("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_age("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_age("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert!(parse_age("soon").is_err() && parse_age("3w").is_err() && parse_age("h").is_err());
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
    }
}
