//! File storage for Parse's `/files` API: the [`FilesAdapter`] trait every backend implements,
//! [`LocalFiles`] (a folder of the local filesystem, the default) and [`S3Files`] (a bucket of
//! S3-compatible object storage), and the [`conformance`] suite both pass.
//!
//! Contract every backend keeps:
//! - Bytes are streamed both ways; no operation holds a whole file in memory.
//! - `create` is all or nothing: a failed, oversized or interrupted upload leaves nothing under
//!   the final name (and an earlier file of that name untouched).
//! - Names reaching a backend have passed [`validate_file_name`] (parse-server's rule), so they
//!   never contain a path separator; backends still refuse anything that could leave their root.

pub mod conformance;
mod local;
mod range;
mod s3;

use std::pin::Pin;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;
use futures::stream::BoxStream;
use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value};

pub use local::LocalFiles;
pub use range::{ByteRange, RangeRequest, parse_range_header};
pub use s3::{S3Files, S3Options, S3Urls};

/// A stream of a file's bytes (an upload's body, or what a read returns).
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// What a backend knows about a stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub name: String,
    /// The type given at upload, if any.
    pub content_type: Option<String>,
    pub length: u64,
    /// A strong validator for `ETag`, quoted, changing whenever the file is replaced.
    pub etag: String,
    /// When the file was stored, where the backend knows it.
    pub modified: Option<SystemTime>,
}

/// What an upload carries besides its bytes: `Parse.File`'s type, metadata and tags.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileAttributes {
    pub content_type: Option<String>,
    pub metadata: Map<String, Value>,
    pub tags: Map<String, Value>,
}

/// An open file: its metadata and the stream of the requested bytes.
pub struct FileRead {
    pub info: FileInfo,
    /// The bytes served: the whole file, or the range asked for.
    pub range: ByteRange,
    pub body: ByteStream,
}

/// Where an app's files live. Implementations are shared between requests.
#[async_trait]
pub trait FilesAdapter: Send + Sync {
    /// Stores `body` under `name`, replacing any file of that name only once every byte has
    /// arrived. More than `max_size` bytes fails with 130 "File size exceeds maximum allowed"
    /// (parse-server's wording), storing nothing.
    async fn create(
        &self,
        name: &str,
        attributes: &FileAttributes,
        body: ByteStream,
        max_size: Option<u64>,
    ) -> Result<FileInfo, ParseError>;

    /// What the backend knows of the file's bytes; 101 when there is no such file.
    async fn info(&self, name: &str) -> Result<FileInfo, ParseError>;

    /// The type, metadata and tags the file was stored with; 101 when there is no such file.
    async fn attributes(&self, name: &str) -> Result<FileAttributes, ParseError>;

    /// Opens the file for reading `range` (the whole file when `None`). A range that starts past
    /// the end is [`ReadError::Unsatisfiable`] (HTTP 416); a missing file is 101.
    async fn read(&self, name: &str, range: Option<RangeRequest>) -> Result<FileRead, ReadError>;

    /// Deletes the file; 153 "Could not delete file." when there is none (parse-server's
    /// answer for a failed delete).
    async fn delete(&self, name: &str) -> Result<(), ParseError>;

    /// Every stored file, in no particular order (for the orphan sweep).
    fn list(&self) -> BoxStream<'_, Result<FileInfo, ParseError>>;

    /// Where clients read the file when not through Reparse (a public bucket's own URL), put
    /// into objects' File fields in place of Reparse's file URL.
    fn direct_url(&self, _name: &str) -> Option<String> {
        None
    }

    /// Where a download through Reparse is redirected to (a freshly presigned URL), instead of
    /// streaming the bytes through Reparse.
    async fn redirect_url(&self, _name: &str) -> Result<Option<String>, ParseError> {
        Ok(None)
    }
}

/// Why a read could not start.
#[derive(Debug)]
pub enum ReadError {
    /// The requested range lies outside the file of this length.
    Unsatisfiable {
        length: u64,
    },
    Failed(ParseError),
}

impl From<ParseError> for ReadError {
    fn from(error: ParseError) -> ReadError {
        ReadError::Failed(error)
    }
}

/// parse-server's file name rule (`FilesAdapter.validateFilename`), widened from ASCII to every
/// script: at most 128 characters, a letter, digit or `_` first, then letters, digits, combining
/// marks, `@ . ~ _ -` and spaces. Failing it is 122. Names parse-server accepts are accepted
/// alike; `résumé.pdf` or `写真.jpg`, which it refuses, are stored too. Separators, controls and
/// format characters (such as right-to-left overrides) stay refused.
pub fn validate_file_name(name: &str) -> Result<(), ParseError> {
    if name.chars().count() > 128 {
        return Err(ParseError::new(ErrorCode::InvalidFileName, "Filename too long."));
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_alphanumeric() || c == '_');
    let rest_ok = chars.all(|c| c.is_alphanumeric() || is_combining_mark(c) || "@. ~_-".contains(c));
    if !first_ok || !rest_ok {
        return Err(ParseError::new(ErrorCode::InvalidFileName, "Filename contains invalid characters."));
    }
    Ok(())
}

/// Combining marks that are not letters themselves, as decomposed (NFD) names carry them (macOS
/// writes names so): Unicode's combining-diacritics blocks, kana voicing marks and Thai tone
/// marks. Vowel signs of scripts like Devanagari count as alphabetic already.
fn is_combining_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}' | '\u{3099}'..='\u{309A}'
        | '\u{0E47}'..='\u{0E4E}')
}

/// The error an upload over the size limit fails with (parse-server's `maxUploadSize`).
pub fn file_too_large() -> ParseError {
    ParseError::new(ErrorCode::FileSaveError, "File size exceeds maximum allowed")
}

/// The name a new file is stored under: parse-server's FilesController prefixes a random
/// 32-hex-digit id and `_`, so two uploads of `photo.jpg` never collide.
pub fn unique_file_name(name: &str) -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    let prefix: String =
        (0..32).map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0')).collect();
    format!("{prefix}_{name}")
}

/// The content type for a name's extension, for files stored without one (and for uploads that
/// name none), covering the common web types; anything else is `application/octet-stream`.
pub fn content_type_for_name(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "txt" => "text/plain",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "js" | "mjs" => "text/javascript",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_follow_parse_servers_rule() {
        let decomposed = "re\u{301}sume\u{301}.pdf";
        for good in
            ["a.txt", "_x", "Photo 1 @home~v2-final.jpg", "a..b", "héllo.txt", "写真 1.jpg", decomposed]
        {
            assert!(validate_file_name(good).is_ok(), "{good}");
        }
        let right_to_left_override = "evil\u{202E}gpj.exe";
        for bad in
            ["", ".hidden", "../etc", "a/b", "a\\b", "-x", "\u{301}a", "a\0b", "a:b", right_to_left_override]
        {
            let error = validate_file_name(bad).unwrap_err();
            assert_eq!(error.code, ErrorCode::InvalidFileName, "{bad}");
            assert_eq!(error.message, "Filename contains invalid characters.");
        }
        let long = "a".repeat(129);
        assert_eq!(validate_file_name(&long).unwrap_err().message, "Filename too long.");
        assert!(validate_file_name(&"a".repeat(128)).is_ok());
    }

    #[test]
    fn unique_names_have_a_random_hex_prefix() {
        let first = unique_file_name("a.txt");
        let second = unique_file_name("a.txt");
        assert_ne!(first, second);
        let (prefix, rest) = first.split_once('_').unwrap();
        assert_eq!(rest, "a.txt");
        assert_eq!(prefix.len(), 32);
        assert!(prefix.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(validate_file_name(&first).is_ok());
    }

    #[test]
    fn content_types_come_from_the_extension() {
        assert_eq!(content_type_for_name("a.PNG"), "image/png");
        assert_eq!(content_type_for_name("notes.txt"), "text/plain");
        assert_eq!(content_type_for_name("noextension"), "application/octet-stream");
    }
}
