//! Reading an archive into an app without data: entry by entry as the bytes arrive, every object
//! checked against the archive's schema and written in one transaction, committed only once the
//! last entry has been read. Files (which no transaction covers) come last and are removed
//! again when anything fails.

use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_compression::tokio::bufread::GzipDecoder;
use futures::StreamExt;
use reparse_core::query::{FieldPath, Filter};
use reparse_core::schema::{ClassSchema, default_fields, field_name_is_valid, validate_class_name};
use reparse_core::update::{FieldUpdate, RelationChange};
use reparse_core::value::Object;
use reparse_core::{ErrorCode, ParseError, ParseResult};
use reparse_files::{FileAttributes, validate_file_name};
use reparse_server::App;
use reparse_storage::Store;
use serde_json::Value;
use sync_wrapper::SyncWrapper;
use tokio::io::{AsyncRead, AsyncReadExt, BufReader, ReadBuf};
use tokio_tar::{Archive, Entries, Entry, EntryType};
use tokio_util::io::ReaderStream;

use crate::stored::check_stored_object;
use crate::{FORMAT, MANIFEST_ENTRY, SCHEMA_ENTRY, VERSION};

/// The most one JSON entry (a manifest, the schema, one part of objects) may take in memory.
const MAX_JSON_ENTRY: u64 = 64 * 1024 * 1024;

/// What an import wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub classes: u64,
    pub objects: u64,
    /// Objects whose relations were restored (one per owning object and field).
    pub relations: u64,
    pub files: u64,
}

/// Imports the archive read from `archive` into `app`, which must hold no objects (its empty
/// classes are replaced by the archive's). All or nothing: on an error the app is as before.
pub async fn import<R>(app: &App, archive: R) -> ParseResult<ImportSummary>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    // Schema changes wait for the import (the cache is reloaded from what it leaves).
    let _schema_changes = app.schemas.lock_changes().await;
    let archive = SyncReader(SyncWrapper::new(archive));
    let mut archive = Archive::new(GzipDecoder::new(BufReader::new(archive)));
    let mut entries = archive.entries().map_err(|error| malformed(&error.to_string()))?;

    let mut import = Import { app, summary: ImportSummary::default(), stored_files: Vec::new() };
    let result = import.run(&mut entries).await;
    if result.is_err() {
        import.remove_stored_files().await;
    }
    app.schemas.reload(app.storage.as_ref()).await?;
    app.sessions.clear();
    app.roles.clear();
    result.map(|()| import.summary)
}

struct Import<'a> {
    app: &'a App,
    summary: ImportSummary,
    /// Files written so far, removed again if the import fails.
    stored_files: Vec<String>,
}

impl Import<'_> {
    async fn run<R>(&mut self, entries: &mut Entries<R>) -> ParseResult<()>
    where
        R: AsyncRead + Unpin + Send + Sync + 'static,
    {
        let (path, manifest) = next_json_entry(entries).await?;
        check_manifest(&path, &manifest)?;
        let (path, schema) = next_json_entry(entries).await?;
        if path != SCHEMA_ENTRY {
            return Err(malformed(&format!("expected {SCHEMA_ENTRY} after the manifest, found {path}")));
        }
        let schemas = read_schemas(&schema)?;

        let transaction = self.app.storage.begin().await?;
        let written = self.write(transaction.as_ref(), &schemas, entries).await;
        match written {
            Ok(()) => transaction.commit().await,
            Err(error) => {
                let _ = transaction.rollback().await;
                Err(error)
            }
        }
    }

    /// Replaces the app's (empty) classes by the archive's and writes every entry after the
    /// schema, inside `store`'s transaction.
    async fn write<R>(
        &mut self,
        store: &dyn Store,
        schemas: &HashMap<String, ClassSchema>,
        entries: &mut Entries<R>,
    ) -> ParseResult<()>
    where
        R: AsyncRead + Unpin + Send + Sync + 'static,
    {
        let everything = Filter::everything();
        for existing in store.load_schemas().await? {
            let objects = store.count(&existing, &everything).await?;
            if objects > 0 {
                return Err(ParseError::new(
                    ErrorCode::OperationForbidden,
                    format!(
                        "This app already holds data ({objects} objects in {}). An archive is imported into an app without data.",
                        existing.class_name
                    ),
                ));
            }
            if schemas.contains_key(&existing.class_name) {
                store.delete_class(&existing.class_name).await?;
            }
        }
        let mut ordered: Vec<&ClassSchema> = schemas.values().collect();
        ordered.sort_by(|a, b| a.class_name.cmp(&b.class_name));
        for schema in ordered {
            store.create_class(schema).await?;
            self.summary.classes += 1;
        }

        let mut file_attributes: HashMap<String, FileAttributes> = HashMap::new();
        while let Some(entry) = entries.next().await {
            let mut entry = entry.map_err(|error| malformed(&error.to_string()))?;
            let path = entry_path(&entry)?;
            if entry.header().entry_type() == EntryType::Directory {
                continue;
            }
            let parts: Vec<&str> = path.split('/').collect();
            match parts.as_slice() {
                ["classes", class_name, _] => {
                    let schema = archived_class(schemas, class_name, &path)?;
                    let mut lines = Vec::new();
                    let mut objects = Vec::new();
                    for (line, object) in read_lines(&mut entry, &path).await? {
                        let object = as_object(object, &path, line)?;
                        check_stored_object(schema, &object)
                            .map_err(|reason| at_line(&path, line, reason))?;
                        lines.push(line);
                        objects.push(object);
                    }
                    store
                        .insert_many(schema, &objects)
                        .await
                        .map_err(|(index, error)| located(&path, lines[index], error))?;
                    self.summary.objects += objects.len() as u64;
                }
                ["relations", class_name, field, _] => {
                    let schema = archived_class(schemas, class_name, &path)?;
                    let Some(target_class) = schema
                        .field_type(field)
                        .and_then(|t| t.target_class())
                        .filter(|_| schema.relation_fields().any(|(name, _)| name == *field))
                    else {
                        return Err(malformed(&format!("{path}: {class_name}.{field} is not a relation")));
                    };
                    for (line, relation) in read_lines(&mut entry, &path).await? {
                        let (owning_id, related_ids) = relation_line(&relation).ok_or_else(|| {
                            at_line(&path, line, "expected {\"owningId\", \"relatedIds\"}".into())
                        })?;
                        let change = RelationChange {
                            target_class: target_class.to_string(),
                            add: related_ids,
                            remove: Vec::new(),
                        };
                        let updates = vec![(FieldPath::top(field), FieldUpdate::Relation(change))];
                        let updated = store
                            .update(schema, &owning_id, &everything, &updates)
                            .await
                            .map_err(|error| located(&path, line, error))?;
                        // Rows of an object not in the archive: a join table can outlive an object
                        // deleted outside Reparse, and Parse never shows such rows.
                        if updated.is_none() {
                            tracing::warn!(target: "archive", app = %self.app.config.app_id,
                                "{path}, line {line}: no {class_name} object {owning_id}; its relation rows were skipped");
                            continue;
                        }
                        self.summary.relations += 1;
                    }
                }
                ["file-attributes", name] => {
                    let Some(file_name) = name.strip_suffix(".json") else {
                        return Err(malformed(&format!("unexpected entry {path}")));
                    };
                    let value = read_json(&mut entry, &path).await?;
                    file_attributes.insert(file_name.to_string(), attributes_from_json(&value, &path)?);
                }
                ["files", name] => {
                    let attributes = file_attributes.remove(*name).unwrap_or_default();
                    self.store_file(name, &attributes, entry)
                        .await
                        .map_err(|error| located_entry(&path, error))?;
                }
                _ => return Err(malformed(&format!("unexpected entry {path}"))),
            }
        }
        Ok(())
    }

    async fn store_file<R>(
        &mut self,
        name: &str,
        attributes: &FileAttributes,
        entry: Entry<Archive<R>>,
    ) -> ParseResult<()>
    where
        R: AsyncRead + Unpin + Send + Sync + 'static,
    {
        validate_file_name(name)?;
        let Some(files) = &self.app.files else {
            return Err(ParseError::new(
                ErrorCode::FileSaveError,
                "This app has no file storage to import files into.",
            ));
        };
        let body = ReaderStream::new(entry);
        files.create(name, attributes, Box::pin(body), None).await?;
        self.stored_files.push(name.to_string());
        self.summary.files += 1;
        Ok(())
    }

    async fn remove_stored_files(&mut self) {
        let Some(files) = &self.app.files else { return };
        for name in self.stored_files.drain(..) {
            if let Err(error) = files.delete(&name).await {
                tracing::warn!(target: "archive", app = %self.app.config.app_id, file = %name, error = %error.message,
                    "a file of a failed import could not be removed");
            }
        }
    }
}

/// A reader that may be shared between threads because it is only ever used through `&mut`
/// (the tar reader keeps its source behind an `Arc`, which needs `Sync`; a request body is not).
struct SyncReader<R>(SyncWrapper<R>);

impl<R: AsyncRead + Unpin> AsyncRead for SyncReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(self.get_mut().0.get_mut()).poll_read(cx, buf)
    }
}

fn check_manifest(path: &str, manifest: &Value) -> ParseResult<()> {
    if path != MANIFEST_ENTRY || manifest.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(malformed(&format!(
            "this is not a Reparse app archive (it does not start with {MANIFEST_ENTRY})"
        )));
    }
    match manifest.get("version").and_then(Value::as_u64) {
        Some(VERSION) => Ok(()),
        other => Err(malformed(&format!(
            "archive version {} is not one this server reads (it reads version {VERSION})",
            other.map(|version| version.to_string()).unwrap_or_else(|| "(none)".into())
        ))),
    }
}

/// The archive's class schemas by name, each valid and named once.
fn read_schemas(value: &Value) -> ParseResult<HashMap<String, ClassSchema>> {
    let classes =
        value.as_array().ok_or_else(|| malformed("schema.json is not an array of class schemas"))?;
    let mut schemas = HashMap::new();
    for class in classes {
        let schema = ClassSchema::from_json(class).map_err(|error| located_entry(SCHEMA_ENTRY, error))?;
        validate_class_name(&schema.class_name).map_err(|error| located_entry(SCHEMA_ENTRY, error))?;
        let defaults = default_fields(&schema.class_name);
        if let Some((field, _)) = schema.fields.iter().find(|(field, _)| {
            !field_name_is_valid(field) && !defaults.iter().any(|(default, _)| default == field)
        }) {
            return Err(malformed(&format!(
                "{SCHEMA_ENTRY}: {} has an invalid field name {field}",
                schema.class_name
            )));
        }
        let class_name = schema.class_name.clone();
        if schemas.insert(class_name.clone(), schema).is_some() {
            return Err(malformed(&format!("{SCHEMA_ENTRY}: class {class_name} appears twice")));
        }
    }
    Ok(schemas)
}

fn archived_class<'s>(
    schemas: &'s HashMap<String, ClassSchema>,
    class_name: &str,
    path: &str,
) -> ParseResult<&'s ClassSchema> {
    schemas
        .get(class_name)
        .ok_or_else(|| malformed(&format!("{path}: class {class_name} is not in {SCHEMA_ENTRY}")))
}

fn relation_line(value: &Value) -> Option<(String, Vec<String>)> {
    let owning_id = value.get("owningId")?.as_str()?.to_string();
    let related = value.get("relatedIds")?.as_array()?;
    let related_ids = related.iter().map(|id| id.as_str().map(String::from)).collect::<Option<Vec<_>>>()?;
    Some((owning_id, related_ids))
}

fn attributes_from_json(value: &Value, path: &str) -> ParseResult<FileAttributes> {
    let map = |key: &str| match value.get(key) {
        None | Some(Value::Null) => Ok(Default::default()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(_) => Err(malformed(&format!("{path}: {key} is not an object"))),
    };
    Ok(FileAttributes {
        content_type: value.get("contentType").and_then(Value::as_str).map(String::from),
        metadata: map("metadata")?,
        tags: map("tags")?,
    })
}

async fn next_json_entry<R>(entries: &mut Entries<R>) -> ParseResult<(String, Value)>
where
    R: AsyncRead + Unpin + Send + Sync + 'static,
{
    let entry = entries.next().await.ok_or_else(|| malformed("the archive is empty"))?;
    let mut entry = entry.map_err(|error| malformed(&error.to_string()))?;
    let path = entry_path(&entry)?;
    let value = read_json(&mut entry, &path).await?;
    Ok((path, value))
}

fn entry_path<R: AsyncRead + Unpin>(entry: &Entry<R>) -> ParseResult<String> {
    let path = entry.path().map_err(|error| malformed(&error.to_string()))?;
    let path = path.to_str().ok_or_else(|| malformed("an entry's name is not UTF-8"))?;
    let kind = entry.header().entry_type();
    if !matches!(kind, EntryType::Regular | EntryType::Directory) {
        return Err(malformed(&format!("{path} is not a regular file")));
    }
    Ok(path.trim_start_matches("./").trim_end_matches('/').to_string())
}

async fn read_entry<R: AsyncRead + Unpin>(entry: &mut Entry<R>, path: &str) -> ParseResult<Vec<u8>> {
    if entry.effective_size() > MAX_JSON_ENTRY {
        return Err(malformed(&format!("{path} is larger than {MAX_JSON_ENTRY} bytes")));
    }
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).await.map_err(|error| malformed(&format!("{path}: {error}")))?;
    Ok(bytes)
}

async fn read_json<R: AsyncRead + Unpin>(entry: &mut Entry<R>, path: &str) -> ParseResult<Value> {
    let bytes = read_entry(entry, path).await?;
    serde_json::from_slice(&bytes).map_err(|error| malformed(&format!("{path}: {error}")))
}

/// The JSON values of a `.jsonl` entry with their line numbers (from 1), blank lines skipped.
async fn read_lines<R: AsyncRead + Unpin>(
    entry: &mut Entry<R>,
    path: &str,
) -> ParseResult<Vec<(usize, Value)>> {
    let bytes = read_entry(entry, path).await?;
    let mut values = Vec::new();
    for (index, line) in bytes.split(|byte| *byte == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let value =
            serde_json::from_slice(line).map_err(|error| at_line(path, index + 1, error.to_string()))?;
        values.push((index + 1, value));
    }
    Ok(values)
}

fn as_object(value: Value, path: &str, line: usize) -> ParseResult<Object> {
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(at_line(path, line, "not a JSON object".into())),
    }
}

fn malformed(reason: &str) -> ParseError {
    ParseError::invalid_json(format!("Invalid archive: {reason}"))
}

fn at_line(path: &str, line: usize, reason: String) -> ParseError {
    malformed(&format!("{path}, line {line}: {reason}"))
}

/// A storage or files error, keeping its code, with where in the archive it happened.
fn located(path: &str, line: usize, error: ParseError) -> ParseError {
    let message = format!("Archive {path}, line {line}: {}", error.message);
    error.with_message(message)
}

fn located_entry(path: &str, error: ParseError) -> ParseError {
    let message = format!("Archive {path}: {}", error.message);
    error.with_message(message)
}
