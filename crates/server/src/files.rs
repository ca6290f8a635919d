//! `/files`: upload (`POST files/:name`), download (`GET files/:appId/:name`, with ranges),
//! metadata (`GET files/:appId/metadata/:name`) and delete (`DELETE files/:name`, master key
//! only), as parse-server's FilesRouter answers them. Raw uploads stream from the request into
//! the app's [`reparse_files::FilesAdapter`], metadata and tags in `X-Parse-File-Metadata` /
//! `X-Parse-File-Tags`; the JS SDK's JSON form (`{base64, fileData: {metadata, tags},
//! _ContentType, _ApplicationId, …}` posted as text/plain) is decoded first, bounded by the
//! upload limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::{Body, BodyDataStream, to_bytes};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use futures::StreamExt;
use reparse_cloud::Trigger;
use reparse_core::{ErrorCode, ParseError};
use reparse_files::{
    ByteStream, FileAttributes, ReadError, content_type_for_name, file_too_large, parse_range_header,
    unique_file_name, validate_file_name,
};
use serde_json::{Map, Value, json};

use crate::context::{Auth, Ctx};
use crate::controllers::triggers::{self, FileDescription};
use crate::error::{ApiError, ApiResult};
use crate::http::{RequestKeys, ServerState, authenticate_request};

/// parse-server's `fileUpload` options.
#[derive(Debug, Clone)]
pub struct FileUploadOptions {
    pub enable_for_public: bool,
    pub enable_for_anonymous_user: bool,
    pub enable_for_authenticated_user: bool,
    /// Patterns (JavaScript regular expressions, or `*`) an extension must match, for callers
    /// other than the master key.
    pub file_extensions: Vec<String>,
}

impl Default for FileUploadOptions {
    /// parse-server 8's defaults: signed-in (not anonymous) users may upload, anything but HTML.
    fn default() -> FileUploadOptions {
        FileUploadOptions {
            enable_for_public: false,
            enable_for_anonymous_user: false,
            enable_for_authenticated_user: true,
            file_extensions: vec!["^(?!([xXsS]?[hH][tT][mM][lL]?)$)".to_string()],
        }
    }
}

impl FileUploadOptions {
    /// Reads parse-server's `fileUpload` object; unknown keys and bad patterns are errors.
    pub fn from_json(value: &Value) -> Result<FileUploadOptions, String> {
        let object = value.as_object().ok_or("fileUpload must be an object")?;
        let mut options = FileUploadOptions::default();
        for (key, value) in object {
            let flag = || value.as_bool().ok_or(format!("fileUpload.{key} must be a boolean"));
            match key.as_str() {
                "enableForPublic" => options.enable_for_public = flag()?,
                "enableForAnonymousUser" => options.enable_for_anonymous_user = flag()?,
                "enableForAuthenticatedUser" => options.enable_for_authenticated_user = flag()?,
                "fileExtensions" => {
                    let patterns: Vec<String> = serde_json::from_value(value.clone())
                        .map_err(|_| "fileUpload.fileExtensions must be an array of strings".to_string())?;
                    for pattern in &patterns {
                        if pattern != "*" {
                            fancy_regex::Regex::new(pattern)
                                .map_err(|error| format!("fileUpload.fileExtensions {pattern:?}: {error}"))?;
                        }
                    }
                    options.file_extensions = patterns;
                }
                other => return Err(format!("fileUpload.{other} is not a fileUpload option")),
            }
        }
        Ok(options)
    }

    fn extension_allowed(&self, extension: &str) -> bool {
        self.file_extensions.iter().any(|pattern| {
            pattern == "*"
                || fancy_regex::Regex::new(pattern)
                    .ok()
                    .and_then(|regex| regex.is_match(extension).ok())
                    .unwrap_or(false)
        })
    }
}

/// Serves `files/…` (the path below the mount, without `files/`).
pub(crate) async fn handle(
    state: &ServerState,
    parts: Parts,
    body: Body,
    peer: Option<std::net::IpAddr>,
    path: &str,
) -> ApiResult<Response> {
    let segments: Vec<&str> = path.split('/').collect();
    match (&parts.method, segments.as_slice()) {
        (&Method::GET, [app_id, name]) => download(state, &parts, &decode(app_id), &decode(name)).await,
        (&Method::GET, [app_id, "metadata", name]) => metadata(state, &decode(app_id), &decode(name)).await,
        (&Method::POST, [name]) => upload(state, parts, body, peer, &decode(name)).await,
        (&Method::DELETE, [name]) => delete(state, &parts, peer, &decode(name)).await,
        _ => Err(ApiError::NotFound(parts.uri.path().to_string())),
    }
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

fn text_response(status: StatusCode, text: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], text).into_response()
}

async fn download(state: &ServerState, parts: &Parts, app_id: &str, name: &str) -> ApiResult<Response> {
    let Some(app) = state.directory.app(app_id).await else {
        let error = ParseError::new(ErrorCode::OperationForbidden, "Invalid application ID.");
        let body = json!({"code": error.code.number(), "error": error.message});
        return Ok((StatusCode::FORBIDDEN, axum::Json(body)).into_response());
    };
    let Some(files) = &app.files else {
        return Ok(text_response(StatusCode::NOT_FOUND, "File not found."));
    };
    match files.redirect_url(name).await {
        Ok(Some(url)) => return Ok(redirect(&url)),
        Ok(None) => {}
        Err(error) if error.code == ErrorCode::ObjectNotFound => {
            return Ok(text_response(StatusCode::NOT_FOUND, "File not found."));
        }
        Err(error) => return Err(error.into()),
    }
    let range =
        parts.headers.get(header::RANGE).and_then(|value| value.to_str().ok()).and_then(parse_range_header);
    let read = match files.read(name, range).await {
        Ok(read) => read,
        Err(ReadError::Unsatisfiable { length }) => {
            let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(value) = HeaderValue::from_str(&format!("bytes */{length}")) {
                response.headers_mut().insert(header::CONTENT_RANGE, value);
            }
            return Ok(response);
        }
        Err(ReadError::Failed(error)) if error.code == ErrorCode::ObjectNotFound => {
            return Ok(text_response(StatusCode::NOT_FOUND, "File not found."));
        }
        Err(ReadError::Failed(error)) => return Err(error.into()),
    };
    let content_type =
        read.info.content_type.clone().unwrap_or_else(|| content_type_for_name(name).to_string());
    let status = if read.range.is_whole() { StatusCode::OK } else { StatusCode::PARTIAL_CONTENT };
    let mut response = Response::new(Body::from_stream(read.body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(header::CONTENT_TYPE, &content_type);
    set(header::CONTENT_LENGTH, &read.range.len().to_string());
    set(header::ETAG, &read.info.etag);
    set(header::ACCEPT_RANGES, "bytes");
    if status == StatusCode::PARTIAL_CONTENT {
        set(header::CONTENT_RANGE, &read.range.content_range());
    }
    Ok(response)
}

/// A temporary redirect to where the file's bytes are served (a presigned URL).
fn redirect(url: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(location) = HeaderValue::from_str(url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// `GET files/:appId/metadata/:name`: `{metadata, tags}` as stored with the file; `{}` for a
/// file (or app) that is not there, as parse-server answers.
async fn metadata(state: &ServerState, app_id: &str, name: &str) -> ApiResult<Response> {
    let empty = || Ok(axum::Json(json!({})).into_response());
    let Some(app) = state.directory.app(app_id).await else { return empty() };
    let Some(files) = &app.files else { return empty() };
    match files.attributes(name).await {
        Ok(attributes) => {
            Ok(axum::Json(json!({"metadata": attributes.metadata, "tags": attributes.tags})).into_response())
        }
        Err(error) if matches!(error.code, ErrorCode::ObjectNotFound | ErrorCode::InvalidFileName) => empty(),
        Err(error) => Err(error.into()),
    }
}

/// An upload's bytes, type, metadata and tags, from either form.
struct Upload {
    body: ByteStream,
    content_type: Option<String>,
    metadata: Map<String, Value>,
    tags: Map<String, Value>,
    /// Known up front for the JSON form and for raw bodies with `Content-Length`.
    length: Option<u64>,
}

async fn upload(
    state: &ServerState,
    parts: Parts,
    body: Body,
    peer: Option<std::net::IpAddr>,
    name: &str,
) -> ApiResult<Response> {
    let max_size = state.options.max_body_bytes as u64;
    let header =
        |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let raw = parts.headers.contains_key("x-parse-application-id");
    // Set when a streamed body passes the limit, so the failure is reported as the size error.
    let exceeded = Arc::new(AtomicBool::new(false));
    let too_large_or = |error: ParseError| -> ApiError {
        if exceeded.load(Ordering::SeqCst) { file_too_large().into() } else { error.into() }
    };
    let (keys, upload) = if raw {
        let keys = RequestKeys::read(&parts, &mut Map::new());
        let length = header(header::CONTENT_LENGTH).and_then(|length| length.parse::<u64>().ok());
        if length.is_some_and(|length| length > max_size) {
            drain(&mut body.into_data_stream(), max_size).await;
            return Err(file_too_large().into());
        }
        let metadata = header_object(&parts, "x-parse-file-metadata")?;
        let tags = header_object(&parts, "x-parse-file-tags")?;
        let stream = limited(body, max_size, exceeded.clone());
        (keys, Upload { body: stream, content_type: header(header::CONTENT_TYPE), metadata, tags, length })
    } else {
        json_upload(&parts, body, max_size).await?
    };
    let (app, auth) = authenticate_request(state, &keys, peer).await?;
    let ctx = Ctx::new(&app, &auth, &state.options.mount_path);
    if auth.read_only {
        return Err(ApiError::Unauthorized("read-only masterKey isn't allowed to create a file."));
    }
    check_uploader(&ctx, &auth).await?;
    if upload.length == Some(0) {
        return Err(ParseError::new(ErrorCode::FileSaveError, "Invalid file upload.").into());
    }
    validate_file_name(name)?;
    check_prohibited_keywords(&upload.metadata)?;
    check_prohibited_keywords(&upload.tags)?;
    let options = &app.config.file_upload;
    // As parse-server: an empty list allows nothing (except to the master key).
    if !auth.master {
        let extension = upload_extension(name, upload.content_type.as_deref());
        if !options.extension_allowed(&extension) {
            return Err(ParseError::new(
                ErrorCode::FileSaveError,
                format!("File upload of extension {extension} is disabled."),
            )
            .into());
        }
    }
    let Some(files) = &app.files else {
        return Err(
            ParseError::new(ErrorCode::FileSaveError, "No file storage is configured for this app.").into()
        );
    };
    let content_type = upload.content_type.clone().unwrap_or_else(|| content_type_for_name(name).to_string());
    // An empty body is refused before anything is written: with preserveFileName, storing it
    // would replace an earlier file of that name.
    let Some(body) = non_empty(upload.body).await.map_err(&too_large_or)? else {
        return Err(ParseError::new(ErrorCode::FileSaveError, "Invalid file upload.").into());
    };
    let described = FileDescription {
        name: name.to_string(),
        content_type: Some(content_type),
        size: upload.length,
        url: None,
        metadata: upload.metadata,
        tags: upload.tags,
    };
    let (mut described, context) = triggers::before_save_file(&ctx, described).await?;
    if described.name != name {
        validate_file_name(&described.name)?;
    }
    let stored_name = if app.config.preserve_file_name {
        described.name.clone()
    } else {
        unique_file_name(&described.name)
    };
    let attributes = FileAttributes {
        content_type: described.content_type.clone(),
        metadata: described.metadata.clone(),
        tags: described.tags.clone(),
    };
    let stored =
        files.create(&stored_name, &attributes, body, Some(max_size)).await.map_err(&too_large_or)?;
    let url = crate::controllers::objects::file_url(&app, &stored_name);
    described.name = stored_name.clone();
    described.url = Some(url.clone());
    described.size = Some(stored.length);
    triggers::file_trigger(&ctx, Trigger::AfterSave, &described, context).await?;
    let mut response =
        (StatusCode::CREATED, axum::Json(json!({"name": stored_name, "url": url}))).into_response();
    if let Ok(location) = HeaderValue::from_str(&url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// A raw body as a stream that fails once more than `max_size` bytes arrived. Before failing it
/// reads (and drops) up to another `max_size` bytes, so a client still sending receives the
/// error answer rather than a reset connection.
fn limited(body: Body, max_size: u64, exceeded: Arc<AtomicBool>) -> ByteStream {
    let state = (body.into_data_stream(), 0u64, false);
    let stream = futures::stream::unfold(state, move |(mut inner, received, done)| {
        let exceeded = exceeded.clone();
        async move {
            if done {
                return None;
            }
            match inner.next().await {
                None => None,
                Some(Err(error)) => Some((Err(std::io::Error::other(error)), (inner, received, true))),
                Some(Ok(chunk)) => {
                    let received = received + chunk.len() as u64;
                    if received > max_size {
                        exceeded.store(true, Ordering::SeqCst);
                        drain(&mut inner, max_size).await;
                        let error = std::io::Error::other("File size exceeds maximum allowed");
                        return Some((Err(error), (inner, received, true)));
                    }
                    Some((Ok(chunk), (inner, received, false)))
                }
            }
        }
    });
    Box::pin(stream)
}

/// Reads and drops what is left of a refused body, up to `budget` bytes.
async fn drain(body: &mut BodyDataStream, budget: u64) {
    let mut drained = 0u64;
    while let Some(Ok(chunk)) = body.next().await {
        drained += chunk.len() as u64;
        if drained > budget {
            break;
        }
    }
}

/// The body, if it has a byte: waits for the first non-empty chunk and puts it back in front.
async fn non_empty(mut body: ByteStream) -> Result<Option<ByteStream>, ParseError> {
    loop {
        match body.next().await {
            None => return Ok(None),
            Some(Ok(chunk)) if chunk.is_empty() => continue,
            Some(Ok(chunk)) => {
                let first = futures::stream::once(async move { Ok(chunk) });
                return Ok(Some(Box::pin(first.chain(body))));
            }
            Some(Err(error)) => {
                return Err(ParseError::new(
                    ErrorCode::FileSaveError,
                    format!("Could not store file: {error}"),
                ));
            }
        }
    }
}

/// The JS SDK's form: a JSON body with the file in `base64` and the keys beside it.
async fn json_upload(parts: &Parts, body: Body, max_size: u64) -> ApiResult<(RequestKeys, Upload)> {
    // Base64 is 4/3 of the bytes; the rest of the body (keys, metadata) is small.
    let limit = (max_size as usize).saturating_mul(4) / 3 + 64 * 1024;
    let bytes = to_bytes(body, limit).await.map_err(|_| ApiError::Parse(file_too_large()))?;
    let mut object = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(object)) => object,
        _ => return Err(ParseError::new(ErrorCode::FileSaveError, "Invalid file upload.").into()),
    };
    let keys = RequestKeys::read(parts, &mut object);
    let encoded = match object.remove("base64") {
        Some(Value::String(encoded)) => encoded,
        _ => return Err(ParseError::new(ErrorCode::FileSaveError, "Invalid file upload.").into()),
    };
    // A data URL's prefix carries the type, as the SDK allows.
    let (prefix_type, encoded) =
        match encoded.strip_prefix("data:").and_then(|rest| rest.split_once(";base64,")) {
            Some((content_type, data)) => (Some(content_type.to_string()), data.to_string()),
            None => (None, encoded),
        };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| ParseError::new(ErrorCode::FileSaveError, "Invalid file upload."))?;
    if decoded.len() as u64 > max_size {
        return Err(file_too_large().into());
    }
    let content_type = match object.remove("_ContentType") {
        Some(Value::String(content_type)) if !content_type.is_empty() => Some(content_type),
        _ => prefix_type,
    };
    let (metadata, tags) = match object.remove("fileData") {
        Some(Value::Object(mut file_data)) => {
            let mut member = |key: &str| match file_data.remove(key) {
                Some(Value::Object(map)) => Ok(map),
                None | Some(Value::Null) => Ok(Map::new()),
                Some(_) => {
                    Err(ParseError::new(ErrorCode::InvalidJson, format!("fileData.{key} must be an object.")))
                }
            };
            (member("metadata")?, member("tags")?)
        }
        _ => (Map::new(), Map::new()),
    };
    let length = Some(decoded.len() as u64);
    let body: ByteStream = Box::pin(futures::stream::once(async move { Ok(bytes::Bytes::from(decoded)) }));
    Ok((keys, Upload { body, content_type, metadata, tags, length }))
}

/// A JSON object in a header (`X-Parse-File-Metadata`, `X-Parse-File-Tags`), as parse-server 9
/// reads them on streamed uploads; a header that is not one is 107.
fn header_object(parts: &Parts, name: &str) -> ApiResult<Map<String, Value>> {
    let Some(value) = parts.headers.get(name) else { return Ok(Map::new()) };
    let display = name.split('-').map(capitalized).collect::<Vec<_>>().join("-");
    let invalid = || ParseError::new(ErrorCode::InvalidJson, format!("Invalid JSON in {display} header."));
    match value.to_str().ok().map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Object(object))) => Ok(object),
        _ => Err(invalid().into()),
    }
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// parse-server's default `requestKeywordDenylist`, applied to a file's metadata and tags:
/// keys that would reach a prototype in JavaScript code reading them, and BSON code objects.
fn check_prohibited_keywords(object: &Map<String, Value>) -> Result<(), ParseError> {
    fn find(value: &Value) -> Option<Value> {
        match value {
            Value::Object(map) => map.iter().find_map(|(key, inner)| {
                if key == "constructor" || key == "__proto__" {
                    return Some(json!({"key": key}));
                }
                if key == "_bsontype" && inner == "Code" {
                    return Some(json!({"key": key, "value": "Code"}));
                }
                find(inner)
            }),
            Value::Array(items) => items.iter().find_map(find),
            _ => None,
        }
    }
    match find(&Value::Object(object.clone())) {
        Some(keyword) => Err(ParseError::new(
            ErrorCode::InvalidKeyName,
            format!("Prohibited keyword in request data: {keyword}."),
        )),
        None => Ok(()),
    }
}

/// parse-server's `fileUpload` gate: anonymous users, signed-in users and the public each need
/// their switch; the master key always passes.
async fn check_uploader(ctx: &Ctx<'_>, auth: &Auth) -> ApiResult<()> {
    if auth.master {
        return Ok(());
    }
    let options = &ctx.app.config.file_upload;
    let disabled =
        |who: &str| ParseError::new(ErrorCode::FileSaveError, format!("File upload by {who} is disabled."));
    match auth.user_id() {
        None if !options.enable_for_public => Err(disabled("public").into()),
        None => Ok(()),
        Some(user_id) => {
            let user = crate::controllers::user_writes::load_user(ctx, user_id).await?;
            let anonymous = user
                .as_ref()
                .and_then(|user| user.get("authData"))
                .and_then(|auth_data| auth_data.get("anonymous"))
                .is_some_and(|anonymous| !anonymous.is_null());
            if anonymous && !options.enable_for_anonymous_user {
                return Err(disabled("anonymous user").into());
            }
            if !anonymous && !options.enable_for_authenticated_user {
                return Err(disabled("authenticated user").into());
            }
            Ok(())
        }
    }
}

/// The extension `fileExtensions` is checked against, as parse-server picks it: after the
/// name's last `.`, else the content type's subtype, without spaces.
fn upload_extension(name: &str, content_type: Option<&str>) -> String {
    let extension = match (name.rsplit_once('.'), content_type) {
        (Some((_, extension)), _) => extension.to_string(),
        (None, Some(content_type)) if content_type.contains('/') => {
            content_type.split('/').nth(1).unwrap_or_default().to_string()
        }
        (None, content_type) => content_type.unwrap_or_default().to_string(),
    };
    extension.replace(' ', "")
}

async fn delete(
    state: &ServerState,
    parts: &Parts,
    peer: Option<std::net::IpAddr>,
    name: &str,
) -> ApiResult<Response> {
    let keys = RequestKeys::read(parts, &mut Map::new());
    let (app, auth) = authenticate_request(state, &keys, peer).await?;
    if !auth.master {
        return Err(ApiError::master_key_required());
    }
    if auth.read_only {
        return Err(ParseError::new(
            ErrorCode::OperationForbidden,
            "Cannot perform a write operation when using readOnlyMasterKey",
        )
        .into());
    }
    let ctx = Ctx::new(&app, &auth, &state.options.mount_path);
    let described = FileDescription {
        name: name.to_string(),
        content_type: None,
        size: None,
        url: Some(crate::controllers::objects::file_url(&app, name)),
        metadata: Map::new(),
        tags: Map::new(),
    };
    triggers::file_trigger(&ctx, Trigger::BeforeDelete, &described, Map::new()).await?;
    let deleted = match &app.files {
        Some(files) => files.delete(name).await,
        None => Err(ParseError::new(ErrorCode::FileDeleteError, "Could not delete file.")),
    };
    deleted?;
    triggers::file_trigger(&ctx, Trigger::AfterDelete, &described, Map::new()).await?;
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_extensions_refuse_html_only() {
        let options = FileUploadOptions::default();
        for allowed in ["txt", "png", "htmlx", "js", "svg", "bin"] {
            assert!(options.extension_allowed(allowed), "{allowed}");
        }
        for refused in ["html", "HTM", "xhtml", "shtml", "Html"] {
            assert!(!options.extension_allowed(refused), "{refused}");
        }
    }

    #[test]
    fn extensions_come_from_the_name_or_the_type() {
        assert_eq!(upload_extension("a.b.png", Some("text/plain")), "png");
        assert_eq!(upload_extension("noext", Some("text/html")), "html");
        assert_eq!(upload_extension("noext", None), "");
    }

    #[test]
    fn metadata_may_not_carry_prohibited_keywords() {
        let object = |value: Value| value.as_object().unwrap().clone();
        assert!(check_prohibited_keywords(&object(json!({"a": {"b": [1, "x"]}}))).is_ok());
        let error = check_prohibited_keywords(&object(json!({"a": [{"constructor": 1}]}))).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidKeyName);
        assert_eq!(error.message, r#"Prohibited keyword in request data: {"key":"constructor"}."#);
        assert!(check_prohibited_keywords(&object(json!({"_bsontype": "Code"}))).is_err());
        assert!(check_prohibited_keywords(&object(json!({"_bsontype": "Long"}))).is_ok());
    }

    #[test]
    fn reads_the_file_upload_option() {
        let options =
            FileUploadOptions::from_json(&json!({"enableForPublic": true, "fileExtensions": ["^png$"]}))
                .unwrap();
        assert!(options.enable_for_public && options.enable_for_authenticated_user);
        assert!(options.extension_allowed("png") && !options.extension_allowed("txt"));
        assert!(FileUploadOptions::from_json(&json!({"nope": 1})).is_err());
        assert!(FileUploadOptions::from_json(&json!({"fileExtensions": ["("]})).is_err());
    }
}
