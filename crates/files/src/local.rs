//! The local filesystem backend: one folder per app.
//!
//! Layout under the root: each file under its own name; `.uploads/` holds uploads in progress
//! (renamed into place once complete and synced, so a crash never leaves a half file under a
//! final name); `.meta/<name>` holds the type, metadata and tags given at upload, as JSON, when
//! there were any. Valid file names never start with `.`, so these folders cannot collide with
//! a file. The files themselves sit under their plain names, as parse-server's filesystem
//! adapter keeps them, so its folder can be served as it is.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::BoxStream;
use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value, json};
use tokio::fs;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::{
    ByteRange, ByteStream, FileAttributes, FileInfo, FileRead, FilesAdapter, RangeRequest, ReadError,
    file_too_large,
};

/// How much a read asks the filesystem for at a time.
const READ_CHUNK: usize = 64 * 1024;

/// An upload's temp file untouched this long was left by a process that stopped mid-upload;
/// opening the folder removes it. Long enough for any upload still running elsewhere.
const ABANDONED_UPLOAD_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// Files in a folder of the local filesystem.
#[derive(Debug, Clone)]
pub struct LocalFiles {
    root: PathBuf,
}

impl LocalFiles {
    /// Files under `root`, created (with its parents) if missing; uploads abandoned a day ago
    /// or more are removed. Blocking: it runs when an app is opened, not per request.
    pub fn open(root: impl Into<PathBuf>) -> std::io::Result<LocalFiles> {
        let root = root.into();
        std::fs::create_dir_all(root.join(".uploads"))?;
        std::fs::create_dir_all(root.join(".meta"))?;
        remove_abandoned_uploads(&root.join(".uploads"), ABANDONED_UPLOAD_AGE);
        Ok(LocalFiles { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of a stored name. Refuses anything that could name a path outside the root or
    /// one of the backend's own folders, whatever the caller validated.
    fn path_of(&self, name: &str) -> Result<PathBuf, ParseError> {
        let unsafe_name =
            name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', '\0']) || name.len() > 255;
        if unsafe_name {
            return Err(ParseError::new(ErrorCode::InvalidFileName, "Filename contains invalid characters."));
        }
        Ok(self.root.join(name))
    }

    fn attributes_path(&self, name: &str) -> PathBuf {
        self.root.join(".meta").join(name)
    }

    /// The stored attributes; none when the file was stored without any (or by parse-server).
    async fn read_attributes(&self, name: &str) -> FileAttributes {
        let Ok(text) = fs::read(self.attributes_path(name)).await else {
            return FileAttributes::default();
        };
        let Ok(Value::Object(mut stored)) = serde_json::from_slice::<Value>(&text) else {
            return FileAttributes::default();
        };
        let mut map = |key: &str| match stored.remove(key) {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let (metadata, tags) = (map("metadata"), map("tags"));
        let content_type = match stored.remove("contentType") {
            Some(Value::String(content_type)) if !content_type.is_empty() => Some(content_type),
            _ => None,
        };
        FileAttributes { content_type, metadata, tags }
    }

    async fn info_at(&self, name: &str, path: &Path) -> Result<FileInfo, ParseError> {
        let metadata = fs::metadata(path).await.map_err(|error| not_found_or_internal(&error))?;
        if !metadata.is_file() {
            return Err(not_found());
        }
        let modified = metadata.modified().ok();
        let stamp = modified
            .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |since| since.as_nanos());
        Ok(FileInfo {
            name: name.to_string(),
            content_type: self.read_attributes(name).await.content_type,
            length: metadata.len(),
            etag: format!("\"{:x}-{:x}\"", metadata.len(), stamp),
            modified,
        })
    }

    /// Puts the attributes of an upload whose bytes are in `temp` in place (or removes stale
    /// ones), before the bytes are renamed into place.
    async fn place_attributes(
        &self,
        name: &str,
        upload_id: &str,
        attributes: &FileAttributes,
    ) -> std::io::Result<()> {
        let path = self.attributes_path(name);
        let empty = attributes.content_type.as_deref().is_none_or(str::is_empty)
            && attributes.metadata.is_empty()
            && attributes.tags.is_empty();
        if empty {
            return match fs::remove_file(&path).await {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
                _ => Ok(()),
            };
        }
        let stored = json!({
            "contentType": attributes.content_type,
            "metadata": attributes.metadata,
            "tags": attributes.tags,
        });
        let temp = self.root.join(".uploads").join(format!("{upload_id}.meta"));
        let written = async {
            fs::write(&temp, stored.to_string()).await?;
            fs::rename(&temp, &path).await
        };
        let result = written.await;
        if result.is_err() {
            let _ = fs::remove_file(&temp).await;
        }
        result
    }

    /// Streams `body` into `temp`, synced; fails past `max_size` bytes.
    async fn receive(temp: &Path, mut body: ByteStream, max_size: Option<u64>) -> Result<(), ParseError> {
        let mut file = fs::File::create(temp).await.map_err(io_error)?;
        let mut received: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|error| {
                ParseError::new(ErrorCode::FileSaveError, format!("Could not store file: {error}"))
            })?;
            received += chunk.len() as u64;
            if max_size.is_some_and(|max| received > max) {
                return Err(file_too_large());
            }
            file.write_all(&chunk).await.map_err(io_error)?;
        }
        file.flush().await.map_err(io_error)?;
        file.sync_all().await.map_err(io_error)?;
        Ok(())
    }
}

#[async_trait]
impl FilesAdapter for LocalFiles {
    async fn create(
        &self,
        name: &str,
        attributes: &FileAttributes,
        body: ByteStream,
        max_size: Option<u64>,
    ) -> Result<FileInfo, ParseError> {
        let path = self.path_of(name)?;
        let upload_id = crate::unique_file_name("upload");
        let temp = self.root.join(".uploads").join(&upload_id);
        if let Err(error) = Self::receive(&temp, body, max_size).await {
            // The upload never reaches its final name; only its temp file is cleaned up.
            let _ = fs::remove_file(&temp).await;
            return Err(error);
        }
        if let Err(error) = self.place_attributes(name, &upload_id, attributes).await {
            let _ = fs::remove_file(&temp).await;
            return Err(io_error(error));
        }
        fs::rename(&temp, &path).await.map_err(io_error)?;
        // The rename is durable once the folder is synced. Best effort: some platforms cannot
        // open a folder as a file, and the file is complete either way.
        if let Ok(folder) = fs::File::open(&self.root).await {
            let _ = folder.sync_all().await;
        }
        self.info_at(name, &path).await
    }

    async fn info(&self, name: &str) -> Result<FileInfo, ParseError> {
        let path = self.path_of(name)?;
        self.info_at(name, &path).await
    }

    async fn attributes(&self, name: &str) -> Result<FileAttributes, ParseError> {
        self.info(name).await?;
        Ok(self.read_attributes(name).await)
    }

    async fn read(&self, name: &str, range: Option<RangeRequest>) -> Result<FileRead, ReadError> {
        let path = self.path_of(name)?;
        let mut file = fs::File::open(&path).await.map_err(|error| not_found_or_internal(&error))?;
        let info = self.info_at(name, &path).await?;
        let range = match range {
            Some(request) => {
                request.resolve(info.length).ok_or(ReadError::Unsatisfiable { length: info.length })?
            }
            None => ByteRange::whole(info.length),
        };
        file.seek(SeekFrom::Start(range.start)).await.map_err(io_error)?;
        let body =
            futures::stream::unfold((file.take(range.len()), false), |(mut reader, done)| async move {
                if done {
                    return None;
                }
                let mut buffer = BytesMut::zeroed(READ_CHUNK);
                match reader.read(&mut buffer).await {
                    Ok(0) => None,
                    Ok(read) => {
                        buffer.truncate(read);
                        Some((Ok::<Bytes, std::io::Error>(buffer.freeze()), (reader, false)))
                    }
                    Err(error) => Some((Err(error), (reader, true))),
                }
            });
        Ok(FileRead { info, range, body: Box::pin(body) })
    }

    async fn delete(&self, name: &str) -> Result<(), ParseError> {
        let path = self.path_of(name)?;
        fs::remove_file(&path)
            .await
            .map_err(|_| ParseError::new(ErrorCode::FileDeleteError, "Could not delete file."))?;
        let _ = fs::remove_file(self.attributes_path(name)).await;
        Ok(())
    }

    fn list(&self) -> BoxStream<'_, Result<FileInfo, ParseError>> {
        let entries = futures::stream::once(fs::read_dir(self.root.clone()));
        let entries = entries.flat_map(|opened| match opened {
            Ok(folder) => tokio_stream_of(folder).boxed(),
            Err(error) => futures::stream::once(async move { Err(error) }).boxed(),
        });
        entries
            .filter_map(move |entry| async move {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(error) => {
                        return Some(Err(ParseError::internal(format!("Could not list files: {error}"))));
                    }
                };
                let name = entry.file_name().into_string().ok()?;
                if name.starts_with('.') {
                    return None;
                }
                match self.info_at(&name, &entry.path()).await {
                    Ok(info) => Some(Ok(info)),
                    // Gone since listed, or not a file (a folder someone put there).
                    Err(error) if error.code == ErrorCode::ObjectNotFound => None,
                    Err(error) => Some(Err(error)),
                }
            })
            .boxed()
    }
}

/// A folder's entries as a stream.
fn tokio_stream_of(folder: fs::ReadDir) -> impl futures::Stream<Item = std::io::Result<fs::DirEntry>> {
    futures::stream::unfold(Some(folder), |folder| async move {
        let mut folder = folder?;
        match folder.next_entry().await {
            Ok(Some(entry)) => Some((Ok(entry), Some(folder))),
            Ok(None) => None,
            Err(error) => Some((Err(error), None)),
        }
    })
}

/// Removes the temp files of uploads last written more than `age` ago.
fn remove_abandoned_uploads(uploads: &Path, age: Duration) {
    let Ok(entries) = std::fs::read_dir(uploads) else { return };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let abandoned = entry
            .metadata()
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|idle| idle >= age);
        if abandoned {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn not_found() -> ParseError {
    ParseError::new(ErrorCode::ObjectNotFound, "File not found.")
}

fn not_found_or_internal(error: &std::io::Error) -> ParseError {
    match error.kind() {
        std::io::ErrorKind::NotFound => not_found(),
        _ => ParseError::internal(format!("Could not read file: {error}")),
    }
}

fn io_error(error: std::io::Error) -> ParseError {
    ParseError::new(ErrorCode::FileSaveError, format!("Could not store file: {error}"))
}
