//! S3-compatible object storage (AWS S3, MinIO, Ceph, R2, Spaces…) through `object_store`.
//!
//! Objects are keyed `prefix + name`, as parse-server's S3 adapter keys them (`bucketPrefix`
//! concatenated, so `files/` makes a folder), so a bucket it filled is served as it is. The
//! content type is the object's `Content-Type`; metadata goes to `x-amz-meta-*` headers and
//! tags to the object's tag set, as that adapter stores them.
//!
//! Streaming without holding a file: an upload no larger than one part is sent with one `PUT`;
//! a larger one becomes a multipart upload of `part_size` parts, at most two in flight, which
//! is aborted (nothing stored, an older object of the name untouched) when the body fails or
//! passes the size limit. S3 publishes an object only when its upload completes, which gives the
//! all-or-nothing contract for free.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::aws::{AmazonS3, AmazonS3Builder, AwsAuthorizer};
use object_store::client::{ClientOptions, HttpConnector, HttpRequestBody, ReqwestConnector};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{
    Attribute, AttributeValue, Attributes, GetOptions, GetRange, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, PutOptions, PutPayload, TagSet, WriteMultipart,
};
use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value};

use crate::{
    ByteRange, ByteStream, FileAttributes, FileInfo, FileRead, FilesAdapter, RangeRequest, ReadError,
};

/// S3's smallest part (but the last) is 5 MiB; 8 MiB parts keep a 100 MB upload to 13 parts.
const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;

/// Parts uploaded at once: one being sent while the next fills.
const PARTS_IN_FLIGHT: usize = 2;

/// Where clients read an S3 app's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Urls {
    /// Through Reparse's own file URLs, which stream from the bucket (the default: the bucket
    /// can stay private).
    ThroughServer,
    /// From the bucket itself (`directAccess`): File fields carry `base_url` + the key, or the
    /// bucket's own URL when no base URL is given. The bucket (or a CDN before it) must allow
    /// public reads.
    Direct { base_url: Option<String> },
    /// Through Reparse's file URLs, which answer with a redirect to a URL presigned for
    /// `expires` (`presignedUrl`), so the bytes never pass through Reparse and the bucket stays
    /// private.
    Presigned { expires: Duration },
}

/// Where the bucket is and how to reach it (parse-server's S3 adapter options, by meaning).
#[derive(Debug, Clone)]
pub struct S3Options {
    pub bucket: String,
    pub region: String,
    /// An S3-compatible server's URL (`https://minio.example:9000`); AWS when `None`.
    pub endpoint: Option<String>,
    /// Bucket in the path (`endpoint/bucket/key`) rather than in the host name; what most
    /// S3-compatible servers need.
    pub force_path_style: bool,
    /// Credentials; when `None`, the `AWS_*` environment variables and AWS's usual sources
    /// (web identity, container and instance credentials) are used.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// Prepended to every file name to make its key (`bucketPrefix`).
    pub prefix: String,
    /// `Cache-Control` stored with every object (`globalCacheControl`), for direct reads.
    pub cache_control: Option<String>,
    pub urls: S3Urls,
    /// Multipart part size; at least S3's 5 MiB.
    pub part_size: usize,
}

impl S3Options {
    pub fn new(bucket: impl Into<String>) -> S3Options {
        S3Options {
            bucket: bucket.into(),
            region: "us-east-1".to_string(),
            endpoint: None,
            force_path_style: false,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            prefix: String::new(),
            cache_control: None,
            urls: S3Urls::ThroughServer,
            part_size: DEFAULT_PART_SIZE,
        }
    }

    /// The URL of the bucket's root, as the objects' direct URLs start.
    fn bucket_url(&self) -> String {
        match (&self.endpoint, self.force_path_style) {
            (Some(endpoint), true) => format!("{}/{}", endpoint.trim_end_matches('/'), self.bucket),
            // Virtual-hosted style on another provider: the bucket leads the endpoint's host.
            (Some(endpoint), false) => {
                let endpoint = endpoint.trim_end_matches('/');
                match endpoint.split_once("://") {
                    Some((scheme, host)) => format!("{scheme}://{}.{host}", self.bucket),
                    None => format!("https://{}.{endpoint}", self.bucket),
                }
            }
            (None, true) => format!("https://s3.{}.amazonaws.com/{}", self.region, self.bucket),
            (None, false) => format!("https://{}.s3.{}.amazonaws.com", self.bucket, self.region),
        }
    }
}

/// An app's files in a bucket of S3-compatible storage.
#[derive(Debug)]
pub struct S3Files {
    store: AmazonS3,
    options: S3Options,
    /// For the one request `object_store` does not make: reading an object's tags.
    http: object_store::client::HttpClient,
}

impl S3Files {
    /// Configures the client; nothing is sent until the first request.
    pub fn open(options: S3Options) -> Result<S3Files, String> {
        if options.bucket.is_empty() {
            return Err("an S3 bucket name is required".into());
        }
        if options.part_size < 5 * 1024 * 1024 {
            return Err("the S3 part size must be at least 5 MiB".into());
        }
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&options.bucket)
            .with_region(&options.region)
            // TLS protects the bytes; hashing each part for the signature would only cost CPU.
            .with_unsigned_payload(true)
            .with_virtual_hosted_style_request(!options.force_path_style);
        if let Some(endpoint) = &options.endpoint {
            // Virtual-hosted style wants the endpoint with the bucket in it.
            let endpoint = if options.force_path_style { endpoint.clone() } else { options.bucket_url() };
            builder = builder.with_allow_http(endpoint.starts_with("http://")).with_endpoint(endpoint);
        }
        if let Some(key) = &options.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = &options.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        if let Some(token) = &options.session_token {
            builder = builder.with_token(token);
        }
        let store =
            builder.build().map_err(|error| format!("cannot use S3 bucket {}: {error}", options.bucket))?;
        let client_options = ClientOptions::new()
            .with_allow_http(options.endpoint.as_deref().is_some_and(|e| e.starts_with("http://")));
        let http = ReqwestConnector::default()
            .connect(&client_options)
            .map_err(|error| format!("cannot make an HTTP client for S3: {error}"))?;
        Ok(S3Files { store, options, http })
    }

    pub fn options(&self) -> &S3Options {
        &self.options
    }

    fn key(&self, name: &str) -> String {
        format!("{}{}", self.options.prefix, name)
    }

    /// The object path of a stored name. Names reaching here passed the file name rule; this
    /// still refuses anything that would leave the prefix's folder.
    fn path_of(&self, name: &str) -> Result<Path, ParseError> {
        let unsafe_name = name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', '\0']);
        let path = (!unsafe_name).then(|| Path::parse(self.key(name)).ok()).flatten();
        path.ok_or_else(|| {
            ParseError::new(ErrorCode::InvalidFileName, "Filename contains invalid characters.")
        })
    }

    /// The object's key escaped for a URL, as S3 signs it.
    fn escaped_key(&self, name: &str) -> String {
        percent_encoding::utf8_percent_encode(&self.key(name), KEY_ESCAPES).to_string()
    }

    fn object_url(&self, name: &str) -> String {
        format!("{}/{}", self.options.bucket_url(), self.escaped_key(name))
    }

    async fn head(&self, name: &str) -> Result<(FileInfo, FileAttributes), ParseError> {
        let path = self.path_of(name)?;
        let options = GetOptions { head: true, ..GetOptions::default() };
        let result = self.store.get_opts(&path, options).await.map_err(store_error)?;
        let attributes = attributes_of(&result.attributes);
        Ok((info_of(name, &result.meta, &attributes), attributes))
    }

    /// The object's tags, by `GET ?tagging` (which `object_store` does not expose).
    async fn tags(&self, name: &str) -> Result<Map<String, Value>, ParseError> {
        let credential = self.store.credentials().get_credential().await.map_err(store_error)?;
        let mut request = http::Request::builder()
            .method(http::Method::GET)
            .uri(format!("{}?tagging", self.object_url(name)))
            .body(HttpRequestBody::empty())
            .map_err(|error| ParseError::internal(format!("S3 tagging request: {error}")))?;
        AwsAuthorizer::new(&credential, "s3", &self.options.region)
            .try_authorize(&mut request, None)
            .map_err(store_error)?;
        let response = self.http.execute(request).await.map_err(|error| s3_failure(&error))?;
        let status = response.status();
        let body = response.into_body().bytes().await.map_err(|error| s3_failure(&error))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            return Err(ParseError::internal(format!("S3 answered {status} for an object's tags: {text}")));
        }
        Ok(parse_tag_set(&String::from_utf8_lossy(&body)))
    }

    /// Sends a body known to fit one part in a single `PUT`.
    async fn put_whole(
        &self,
        path: &Path,
        parts: Vec<Bytes>,
        headers: ObjectHeaders,
    ) -> Result<(), ParseError> {
        let options =
            PutOptions { attributes: headers.attributes, tags: headers.tags, ..PutOptions::default() };
        let payload: PutPayload = parts.into_iter().collect();
        self.store.put_opts(path, payload, options).await.map_err(upload_error)?;
        Ok(())
    }

    /// Sends the buffered first part and the rest of `body` as a multipart upload, aborting it
    /// on any failure.
    async fn put_in_parts(
        &self,
        path: &Path,
        first: Vec<Bytes>,
        mut received: u64,
        mut body: ByteStream,
        max_size: Option<u64>,
        headers: ObjectHeaders,
    ) -> Result<(), ParseError> {
        let options = PutMultipartOptions {
            attributes: headers.attributes,
            tags: headers.tags,
            ..PutMultipartOptions::default()
        };
        let upload = self.store.put_multipart_opts(path, options).await.map_err(upload_error)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.options.part_size);
        first.into_iter().for_each(|chunk| writer.put(chunk));
        let sent: Result<(), ParseError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|error| body_error(&error))?;
                received += chunk.len() as u64;
                if max_size.is_some_and(|max| received > max) {
                    return Err(crate::file_too_large());
                }
                writer.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(upload_error)?;
                writer.put(chunk);
            }
            Ok(())
        }
        .await;
        match sent {
            Ok(()) => writer.finish().await.map(drop).map_err(upload_error),
            Err(error) => {
                // Abandoned parts cost storage until aborted; a failed abort is left to the
                // bucket's lifecycle rule for incomplete uploads.
                let _ = writer.abort().await;
                Err(error)
            }
        }
    }
}

/// What S3 leaves unescaped in a key's URL: unreserved characters and the separator.
const KEY_ESCAPES: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

#[async_trait]
impl FilesAdapter for S3Files {
    async fn create(
        &self,
        name: &str,
        attributes: &FileAttributes,
        mut body: ByteStream,
        max_size: Option<u64>,
    ) -> Result<FileInfo, ParseError> {
        let path = self.path_of(name)?;
        let mut headers = object_headers(attributes)?;
        if let Some(cache_control) = &self.options.cache_control {
            headers.attributes.insert(Attribute::CacheControl, AttributeValue::from(cache_control.clone()));
        }
        // Buffer up to one part: a small file goes in one request.
        let mut first = Vec::new();
        let mut received: u64 = 0;
        let mut more = true;
        while received < self.options.part_size as u64 {
            match body.next().await {
                None => {
                    more = false;
                    break;
                }
                Some(chunk) => {
                    let chunk = chunk.map_err(|error| body_error(&error))?;
                    received += chunk.len() as u64;
                    if max_size.is_some_and(|max| received > max) {
                        return Err(crate::file_too_large());
                    }
                    first.push(chunk);
                }
            }
        }
        if more {
            self.put_in_parts(&path, first, received, body, max_size, headers).await?;
        } else {
            self.put_whole(&path, first, headers).await?;
        }
        self.info(name).await
    }

    async fn info(&self, name: &str) -> Result<FileInfo, ParseError> {
        Ok(self.head(name).await?.0)
    }

    async fn attributes(&self, name: &str) -> Result<FileAttributes, ParseError> {
        let (_, mut attributes) = self.head(name).await?;
        attributes.tags = self.tags(name).await?;
        Ok(attributes)
    }

    async fn read(&self, name: &str, range: Option<RangeRequest>) -> Result<FileRead, ReadError> {
        let path = self.path_of(name)?;
        // A range needs the length to resolve (and to answer 416 as the local backend does);
        // a whole read is one request.
        let get_range = match range {
            None => None,
            Some(request) => {
                let info = self.info(name).await?;
                let range =
                    request.resolve(info.length).ok_or(ReadError::Unsatisfiable { length: info.length })?;
                Some(GetRange::Bounded(range.start..range.end))
            }
        };
        let options = GetOptions { range: get_range, ..GetOptions::default() };
        let result = self.store.get_opts(&path, options).await.map_err(store_error)?;
        let attributes = attributes_of(&result.attributes);
        let info = info_of(name, &result.meta, &attributes);
        let range = ByteRange { start: result.range.start, end: result.range.end, length: info.length };
        let body = result.into_stream().map(|chunk| chunk.map_err(std::io::Error::other));
        Ok(FileRead { info, range, body: Box::pin(body) })
    }

    async fn delete(&self, name: &str) -> Result<(), ParseError> {
        let path = self.path_of(name)?;
        // S3 deletes a missing key without complaint; Parse answers 153 for it.
        let failed = || ParseError::new(ErrorCode::FileDeleteError, "Could not delete file.");
        self.store.head(&path).await.map_err(|_| failed())?;
        self.store.delete(&path).await.map_err(|_| failed())
    }

    fn list(&self) -> BoxStream<'_, Result<FileInfo, ParseError>> {
        // A prefix that does not end in `/` is the start of names in its parent folder.
        let (folder, _) = self.options.prefix.rsplit_once('/').unwrap_or(("", ""));
        let folder = (!folder.is_empty()).then(|| Path::from(folder));
        self.store
            .list(folder.as_ref())
            .filter_map(move |meta| async move {
                let meta = match meta {
                    Ok(meta) => meta,
                    Err(error) => return Some(Err(store_error(error))),
                };
                let key = meta.location.as_ref();
                let name = key.strip_prefix(self.options.prefix.as_str())?;
                if name.is_empty() || name.contains('/') {
                    return None;
                }
                let attributes = FileAttributes::default();
                Some(Ok(info_of(name, &meta, &attributes)))
            })
            .boxed()
    }

    fn direct_url(&self, name: &str) -> Option<String> {
        match &self.options.urls {
            S3Urls::Direct { base_url: Some(base) } => {
                Some(format!("{}/{}", base.trim_end_matches('/'), self.escaped_key(name)))
            }
            S3Urls::Direct { base_url: None } => Some(self.object_url(name)),
            _ => None,
        }
    }

    async fn redirect_url(&self, name: &str) -> Result<Option<String>, ParseError> {
        let S3Urls::Presigned { expires } = &self.options.urls else { return Ok(None) };
        let path = self.path_of(name)?;
        // A presigned URL of a missing object would answer S3's 404 page: answer Parse's.
        self.store.head(&path).await.map_err(store_error)?;
        let url = self.store.signed_url(http::Method::GET, &path, *expires).await.map_err(store_error)?;
        Ok(Some(url.to_string()))
    }
}

/// What an upload sends besides its bytes.
struct ObjectHeaders {
    attributes: Attributes,
    tags: TagSet,
}

/// The object's type, metadata (`x-amz-meta-*`) and tags for an upload. Metadata values are
/// header values: strings are stored as they are, other JSON values as their JSON text, and
/// anything that cannot be a header is refused (S3 lowercases the keys).
fn object_headers(attributes: &FileAttributes) -> Result<ObjectHeaders, ParseError> {
    let mut object = Attributes::new();
    if let Some(content_type) = &attributes.content_type {
        object.insert(Attribute::ContentType, AttributeValue::from(content_type.clone()));
    }
    for (key, value) in &attributes.metadata {
        let text = as_text(value);
        let key_ok =
            !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let value_ok = text.bytes().all(|b| (b' '..=b'~').contains(&b));
        if !key_ok || !value_ok {
            return Err(ParseError::new(
                ErrorCode::FileSaveError,
                format!(
                    "Metadata {key:?} cannot be stored in S3: keys are letters, digits, '-' and '_', \
                     values printable ASCII"
                ),
            ));
        }
        object.insert(Attribute::Metadata(key.to_ascii_lowercase().into()), AttributeValue::from(text));
    }
    let mut tags = TagSet::default();
    for (key, value) in &attributes.tags {
        tags.push(key, &as_text(value));
    }
    Ok(ObjectHeaders { attributes: object, tags })
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The type and metadata `object_store` read from an object's headers.
fn attributes_of(object: &Attributes) -> FileAttributes {
    let mut attributes = FileAttributes::default();
    for (attribute, value) in object {
        match attribute {
            Attribute::ContentType => attributes.content_type = Some(value.as_ref().to_string()),
            Attribute::Metadata(key) => {
                attributes.metadata.insert(key.to_string(), Value::String(value.as_ref().to_string()));
            }
            _ => {}
        }
    }
    attributes
}

fn info_of(name: &str, meta: &object_store::ObjectMeta, attributes: &FileAttributes) -> FileInfo {
    // S3's ETag is already quoted; some servers leave the quotes off.
    let etag = match &meta.e_tag {
        Some(etag) if etag.starts_with('"') || etag.starts_with("W/") => etag.clone(),
        Some(etag) => format!("\"{etag}\""),
        None => format!("\"{:x}-{:x}\"", meta.size, meta.last_modified.timestamp_millis()),
    };
    FileInfo {
        name: name.to_string(),
        content_type: attributes.content_type.clone(),
        length: meta.size,
        etag,
        modified: Some(SystemTime::from(meta.last_modified)),
    }
}

/// The `<Tag><Key>…</Key><Value>…</Value></Tag>` pairs of a `GetObjectTagging` answer.
fn parse_tag_set(xml: &str) -> Map<String, Value> {
    let mut tags = Map::new();
    for tag in xml.split("<Tag>").skip(1) {
        let field = |name: &str| {
            let start = tag.find(&format!("<{name}>"))? + name.len() + 2;
            let end = start + tag[start..].find(&format!("</{name}>"))?;
            Some(unescape_xml(&tag[start..end]))
        };
        if let (Some(key), Some(value)) = (field("Key"), field("Value")) {
            tags.insert(key, Value::String(value));
        }
    }
    tags
}

/// XML's five predefined entities and numeric character references.
fn unescape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let Some(end) = after.find(';') else {
            out.push_str(&rest[at..]);
            return out;
        };
        let entity = &after[..end];
        let decoded = match entity {
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|hex| u32::from_str_radix(hex, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&rest[at..at + 2 + end]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn store_error(error: object_store::Error) -> ParseError {
    match error {
        object_store::Error::NotFound { .. } => ParseError::new(ErrorCode::ObjectNotFound, "File not found."),
        other => ParseError::internal(format!("S3: {other}")),
    }
}

fn upload_error(error: object_store::Error) -> ParseError {
    ParseError::new(ErrorCode::FileSaveError, format!("Could not store file: {error}"))
}

fn body_error(error: &std::io::Error) -> ParseError {
    ParseError::new(ErrorCode::FileSaveError, format!("Could not store file: {error}"))
}

fn s3_failure(error: &dyn std::fmt::Display) -> ParseError {
    ParseError::internal(format!("S3: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tag_sets() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>owner</Key><Value>ann &amp; bo</Value></Tag><Tag><Key>n</Key><Value>&#x41;1</Value></Tag></TagSet></Tagging>"#;
        let tags = parse_tag_set(xml);
        assert_eq!(tags["owner"], "ann & bo");
        assert_eq!(tags["n"], "A1");
        assert!(parse_tag_set("<Tagging><TagSet/></Tagging>").is_empty());
    }

    #[test]
    fn bucket_urls_follow_the_addressing_style() {
        let mut options = S3Options::new("photos");
        options.region = "eu-west-1".into();
        assert_eq!(options.bucket_url(), "https://photos.s3.eu-west-1.amazonaws.com");
        options.force_path_style = true;
        assert_eq!(options.bucket_url(), "https://s3.eu-west-1.amazonaws.com/photos");
        options.endpoint = Some("http://127.0.0.1:9000/".into());
        assert_eq!(options.bucket_url(), "http://127.0.0.1:9000/photos");
        options.force_path_style = false;
        options.endpoint = Some("https://nyc3.digitaloceanspaces.com".into());
        assert_eq!(options.bucket_url(), "https://photos.nyc3.digitaloceanspaces.com");
    }

    #[test]
    fn keys_are_escaped_in_urls_and_metadata_must_fit_headers() {
        let mut options = S3Options::new("b");
        options.endpoint = Some("http://s3.local".into());
        options.force_path_style = true;
        options.prefix = "app 1/".into();
        options.urls = S3Urls::Direct { base_url: Some("https://cdn.example/".into()) };
        let files = S3Files::open(options).unwrap();
        assert_eq!(files.object_url("é~x.txt"), "http://s3.local/b/app%201/%C3%A9~x.txt");
        assert_eq!(files.direct_url("a b").unwrap(), "https://cdn.example/app%201/a%20b");
        let mut attributes = FileAttributes::default();
        attributes.metadata.insert("Author".into(), Value::String("ann".into()));
        attributes.metadata.insert("count".into(), serde_json::json!(3));
        let headers = object_headers(&attributes).unwrap();
        assert_eq!(attributes_of(&headers.attributes).metadata["author"], "ann");
        assert_eq!(attributes_of(&headers.attributes).metadata["count"], "3");
        attributes.metadata.insert("bad key".into(), Value::String("x".into()));
        assert_eq!(object_headers(&attributes).err().unwrap().code, ErrorCode::FileSaveError);
    }
}
