//! The local filesystem backend: one folder per app.
//!
//! Layout under the root: each file under its own name; `.uploads/` holds uploads in progress
//! (renamed into place once complete and synced, so a crash never leaves a half file under a
//! final name); `.types/<name>` holds the content type given at upload. Valid file names never
//! start with `.`, so these folders cannot collide with a file.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use reparse_core::{ErrorCode, ParseError};
use tokio::fs;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::{
    ByteRange, ByteStream, FileInfo, FileRead, FilesAdapter, RangeRequest, ReadError, file_too_large,
};

/// How much a read asks the filesystem for at a time.
const READ_CHUNK: usize = 64 * 1024;

/// Files in a folder of the local filesystem.
#[derive(Debug, Clone)]
pub struct LocalFiles {
    root: PathBuf,
}

impl LocalFiles {
    /// Files under `root`, created (with its parents) if missing. Blocking (two `mkdir`s): it
    /// runs when an app is opened, not per request.
    pub fn open(root: impl Into<PathBuf>) -> std::io::Result<LocalFiles> {
        let root = root.into();
        std::fs::create_dir_all(root.join(".uploads"))?;
        std::fs::create_dir_all(root.join(".types"))?;
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

    async fn info(&self, name: &str, path: &Path) -> Result<FileInfo, ParseError> {
        let metadata = fs::metadata(path).await.map_err(|error| not_found_or_internal(&error))?;
        if !metadata.is_file() {
            return Err(not_found());
        }
        let modified = metadata
            .modified()
            .ok()
            .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |since| since.as_nanos());
        let content_type = match fs::read_to_string(self.root.join(".types").join(name)).await {
            Ok(content_type) if !content_type.is_empty() => Some(content_type),
            _ => None,
        };
        Ok(FileInfo {
            name: name.to_string(),
            content_type,
            length: metadata.len(),
            etag: format!("\"{:x}-{:x}\"", metadata.len(), modified),
        })
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
        content_type: Option<&str>,
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
        let type_path = self.root.join(".types").join(name);
        match content_type.filter(|content_type| !content_type.is_empty()) {
            Some(content_type) => {
                let type_temp = self.root.join(".uploads").join(format!("{upload_id}.type"));
                let written = async {
                    fs::write(&type_temp, content_type).await?;
                    fs::rename(&type_temp, &type_path).await
                };
                if let Err(error) = written.await {
                    let _ = fs::remove_file(&temp).await;
                    let _ = fs::remove_file(&type_temp).await;
                    return Err(io_error(error));
                }
            }
            None => {
                let _ = fs::remove_file(&type_path).await;
            }
        }
        fs::rename(&temp, &path).await.map_err(io_error)?;
        // The rename is durable once the folder is synced. Best effort: some platforms cannot
        // open a folder as a file, and the file is complete either way.
        if let Ok(folder) = fs::File::open(&self.root).await {
            let _ = folder.sync_all().await;
        }
        self.info(name, &path).await
    }

    async fn metadata(&self, name: &str) -> Result<FileInfo, ParseError> {
        let path = self.path_of(name)?;
        self.info(name, &path).await
    }

    async fn read(&self, name: &str, range: Option<RangeRequest>) -> Result<FileRead, ReadError> {
        let path = self.path_of(name)?;
        let mut file = fs::File::open(&path).await.map_err(|error| not_found_or_internal(&error))?;
        let info = self.info(name, &path).await?;
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
        let _ = fs::remove_file(self.root.join(".types").join(name)).await;
        Ok(())
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
