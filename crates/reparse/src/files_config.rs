//! Where an app's files are kept, from parse-server's `filesAdapter` option (and, for the apps
//! `reparse apps` manages, the server-wide `appsFilesAdapter`).
//!
//! Accepted forms:
//! - nothing, `"local"` or `{module: "local", options: {filesPath}}` (also parse-server's own
//!   names for its filesystem adapter): a folder of the local filesystem;
//! - `{module: "@parse/s3-files-adapter", options: {bucket, region, bucketPrefix, directAccess,
//!   baseUrl, presignedUrl, presignedUrlExpires, globalCacheControl, s3overrides: {endpoint,
//!   forcePathStyle, credentials}}}`, parse-server's S3 adapter options, with its `S3_*`
//!   environment variables filling what the options leave out;
//! - `s3://bucket/prefix?region=…&endpoint=…&forcePathStyle=true&directAccess=true&…`, the
//!   same as one flag.

use std::path::PathBuf;
use std::time::Duration;

use reparse_files::{S3Options, S3Urls};
use serde_json::{Map, Value};

/// Where one app's files go.
#[derive(Debug, Clone)]
pub(crate) enum FilesBackend {
    Local(PathBuf),
    /// Boxed: its options are many times a path's size.
    S3(Box<S3Options>),
}

impl FilesBackend {
    /// For the start-up message.
    pub(crate) fn describe(&self) -> String {
        match self {
            FilesBackend::Local(folder) => folder.display().to_string(),
            FilesBackend::S3(options) => {
                let place = options.endpoint.as_deref().unwrap_or("AWS");
                format!("S3 bucket {} ({place}), keys starting {:?}", options.bucket, options.prefix)
            }
        }
    }

    /// The same backend for one app of many: its own folder, or its own key prefix.
    fn for_app(self, app_id: &str) -> FilesBackend {
        match self {
            FilesBackend::Local(folder) => FilesBackend::Local(folder.join(app_id)),
            FilesBackend::S3(mut options) => {
                options.prefix = format!("{}{app_id}/", options.prefix);
                FilesBackend::S3(options)
            }
        }
    }
}

/// parse-server's names for its filesystem adapter, and ours.
const LOCAL_MODULES: [&str; 4] = ["local", "fs", "@parse/fs-files-adapter", "FSFilesAdapter"];
/// parse-server's names for its S3 adapter, and ours.
const S3_MODULES: [&str; 5] = ["s3", "S3", "@parse/s3-files-adapter", "parse-server-s3-adapter", "S3Adapter"];

/// The backend `filesAdapter` selects for a single app, `default_folder` when it names none.
pub(crate) fn files_backend(
    options: &Map<String, Value>,
    default_folder: PathBuf,
    environment: &dyn Fn(&str) -> Option<String>,
) -> Result<FilesBackend, String> {
    match options.get("filesAdapter") {
        None => Ok(FilesBackend::Local(default_folder)),
        Some(adapter) => adapter_backend(adapter, default_folder, environment),
    }
}

/// The app's own part of the shared `appsFilesAdapter` (its prefix of the bucket, or its
/// sub-folder), which deleting the app empties. `None` when its files are in its data folder
/// (removed with it) or in a `filesAdapter` of its own, which may hold others' files too and is
/// never emptied by Reparse.
pub(crate) fn app_part_of_shared_files(
    app_settings: &Map<String, Value>,
    apps_files: Option<&Value>,
    app_id: &str,
    default_folder: PathBuf,
    environment: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<FilesBackend>, String> {
    if app_settings.contains_key("filesAdapter") || apps_files.is_none() {
        return Ok(None);
    }
    match registry_app_backend(app_settings, apps_files, app_id, default_folder.clone(), environment)? {
        FilesBackend::Local(folder) if folder == default_folder => Ok(None),
        backend => Ok(Some(backend)),
    }
}

/// The backend of a registry app: its own `filesAdapter`, else the server's `appsFilesAdapter`
/// with the app's id appended (folder or key prefix), else `default_folder`.
pub(crate) fn registry_app_backend(
    app_settings: &Map<String, Value>,
    apps_files: Option<&Value>,
    app_id: &str,
    default_folder: PathBuf,
    environment: &dyn Fn(&str) -> Option<String>,
) -> Result<FilesBackend, String> {
    match (app_settings.get("filesAdapter"), apps_files) {
        (Some(adapter), _) => adapter_backend(adapter, default_folder, environment),
        (None, Some(shared)) => {
            let backend = adapter_backend(shared, default_folder.clone(), environment)
                .map_err(|error| format!("appsFilesAdapter: {error}"))?;
            match backend {
                // The local default already is a folder of the app's own.
                FilesBackend::Local(folder) if folder == default_folder => Ok(FilesBackend::Local(folder)),
                backend => Ok(backend.for_app(app_id)),
            }
        }
        (None, None) => Ok(FilesBackend::Local(default_folder)),
    }
}

fn adapter_backend(
    adapter: &Value,
    default_folder: PathBuf,
    environment: &dyn Fn(&str) -> Option<String>,
) -> Result<FilesBackend, String> {
    match adapter {
        Value::String(text) if text.starts_with("s3://") => s3_from_url(text, environment),
        Value::String(module) if LOCAL_MODULES.contains(&module.as_str()) => {
            Ok(FilesBackend::Local(default_folder))
        }
        Value::String(module) if S3_MODULES.contains(&module.as_str()) => {
            s3_from_options(&Map::new(), environment).map(|s3| FilesBackend::S3(Box::new(s3)))
        }
        Value::String(module) => Err(unsupported(module)),
        Value::Object(adapter) => {
            let module = adapter.get("module").and_then(Value::as_str).unwrap_or("local");
            let empty = Map::new();
            let adapter_options = match adapter.get("options") {
                None => &empty,
                Some(Value::Object(options)) => options,
                Some(_) => return Err("filesAdapter options must be an object".into()),
            };
            if LOCAL_MODULES.contains(&module) {
                local_from_options(adapter_options, default_folder)
            } else if S3_MODULES.contains(&module) {
                s3_from_options(adapter_options, environment).map(|s3| FilesBackend::S3(Box::new(s3)))
            } else {
                Err(unsupported(module))
            }
        }
        _ => Err("filesAdapter must be a module name, an s3:// URL or {module, options}".into()),
    }
}

fn unsupported(module: &str) -> String {
    format!(
        "filesAdapter {module:?} is not supported: Reparse keeps files on the local filesystem (\"local\") \
         or in S3-compatible storage (\"@parse/s3-files-adapter\" options, or an s3:// URL)"
    )
}

fn local_from_options(options: &Map<String, Value>, default_folder: PathBuf) -> Result<FilesBackend, String> {
    if let Some(key) = options.keys().find(|key| key.as_str() != "filesPath") {
        return Err(format!(
            "filesAdapter option {key:?} is not supported by the local adapter (only filesPath)"
        ));
    }
    match options.get("filesPath") {
        None => Ok(FilesBackend::Local(default_folder)),
        Some(Value::String(path)) if !path.is_empty() => Ok(FilesBackend::Local(PathBuf::from(path))),
        Some(_) => Err("filesAdapter options.filesPath must be a folder path".into()),
    }
}

/// `s3://bucket/prefix?key=value…`, the keys being the adapter's option names.
fn s3_from_url(url: &str, environment: &dyn Fn(&str) -> Option<String>) -> Result<FilesBackend, String> {
    let rest = url.strip_prefix("s3://").unwrap_or(url);
    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
    let mut options = Map::new();
    options.insert("bucket".into(), Value::String(bucket.to_string()));
    if !prefix.is_empty() {
        options.insert("bucketPrefix".into(), Value::String(prefix.to_string()));
    }
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, "true"));
        let value = percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned();
        options.insert(key.to_string(), Value::String(value));
    }
    s3_from_options(&options, environment).map(|s3| FilesBackend::S3(Box::new(s3)))
}

/// parse-server's S3 adapter options (and its `S3_*` variables for what they leave out).
fn s3_from_options(
    options: &Map<String, Value>,
    environment: &dyn Fn(&str) -> Option<String>,
) -> Result<S3Options, String> {
    const KNOWN: [&str; 16] = [
        "bucket",
        "region",
        "bucketPrefix",
        "directAccess",
        "baseUrl",
        "baseUrlDirect",
        "presignedUrl",
        "presignedUrlExpires",
        "globalCacheControl",
        "s3overrides",
        "accessKey",
        "secretKey",
        "endpoint",
        "forcePathStyle",
        "signatureVersion",
        "ServerSideEncryption",
    ];
    if let Some(key) = options.keys().find(|key| !KNOWN.contains(&key.as_str())) {
        return Err(format!("S3 filesAdapter option {key:?} is not supported"));
    }
    let empty = Map::new();
    let overrides = match options.get("s3overrides") {
        None => &empty,
        Some(Value::Object(overrides)) => overrides,
        Some(_) => return Err("S3 filesAdapter s3overrides must be an object".into()),
    };
    let credentials = overrides.get("credentials").and_then(Value::as_object).unwrap_or(&empty);
    // An option, else its override, else its S3_* variable.
    let text = |key: &str, within: &Map<String, Value>| -> Option<String> {
        match within.get(key) {
            Some(Value::String(text)) => Some(text.clone()),
            Some(Value::Bool(flag)) => Some(flag.to_string()),
            Some(Value::Number(number)) => Some(number.to_string()),
            _ => None,
        }
    };
    let setting = |key: &str, variable: &str| {
        text(key, options).or_else(|| text(key, overrides)).or_else(|| environment(variable))
    };
    let flag = |key: &str, variable: &str| -> Result<bool, String> {
        match setting(key, variable).as_deref() {
            None | Some("false" | "0" | "") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(other) => Err(format!("S3 filesAdapter {key} must be true or false, not {other:?}")),
        }
    };
    let bucket = setting("bucket", "S3_BUCKET")
        .ok_or("the S3 filesAdapter needs a bucket (option bucket or S3_BUCKET)")?;
    let mut s3 = S3Options::new(bucket);
    if let Some(region) = setting("region", "S3_REGION") {
        s3.region = region;
    }
    s3.endpoint = setting("endpoint", "S3_ENDPOINT");
    s3.force_path_style = flag("forcePathStyle", "S3_FORCE_PATH_STYLE")?;
    s3.access_key_id = text("accessKeyId", credentials).or_else(|| setting("accessKey", "S3_ACCESS_KEY"));
    s3.secret_access_key =
        text("secretAccessKey", credentials).or_else(|| setting("secretKey", "S3_SECRET_KEY"));
    s3.session_token = text("sessionToken", credentials);
    s3.prefix = setting("bucketPrefix", "S3_BUCKET_PREFIX").unwrap_or_default();
    s3.cache_control = setting("globalCacheControl", "S3_GLOBAL_CACHE_CONTROL");
    match setting("ServerSideEncryption", "S3_SERVER_SIDE_ENCRYPTION").as_deref() {
        // S3 encrypts every new object with its own keys already.
        None | Some("AES256") => {}
        Some(other) => {
            return Err(format!("S3 ServerSideEncryption {other:?} is not supported (only AES256)"));
        }
    }
    if let Some(version) = setting("signatureVersion", "S3_SIGNATURE_VERSION").filter(|v| v != "v4") {
        return Err(format!("S3 signatureVersion {version:?} is not supported: requests are signed with v4"));
    }
    let direct = flag("directAccess", "S3_DIRECT_ACCESS")?;
    let presigned = flag("presignedUrl", "S3_PRESIGNED_URL")?;
    let base_url = setting("baseUrl", "S3_BASE_URL");
    if flag("baseUrlDirect", "S3_BASE_URL_DIRECT")? {
        return Err("S3 baseUrlDirect is not supported: baseUrl is followed by the object's key".into());
    }
    s3.urls = match (direct, presigned) {
        (true, true) => return Err("S3 directAccess and presignedUrl exclude each other: choose one".into()),
        (true, false) => S3Urls::Direct { base_url },
        (false, true) => {
            let seconds = match setting("presignedUrlExpires", "S3_PRESIGNED_URL_EXPIRES") {
                None => 900,
                Some(text) => {
                    text.parse::<u64>().ok().filter(|s| (1..=604_800).contains(s)).ok_or_else(|| {
                        format!("S3 presignedUrlExpires must be seconds from 1 to 604800, not {text:?}")
                    })?
                }
            };
            S3Urls::Presigned { expires: Duration::from_secs(seconds) }
        }
        (false, false) if base_url.is_some() => {
            return Err("S3 baseUrl only applies with directAccess: true".into());
        }
        (false, false) => S3Urls::ThroughServer,
    };
    Ok(s3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_environment(_: &str) -> Option<String> {
        None
    }

    fn backend(options: Value) -> Result<FilesBackend, String> {
        files_backend(options.as_object().unwrap(), PathBuf::from("/data/apps/a/files"), &no_environment)
    }

    fn s3(options: Value) -> S3Options {
        match backend(options).unwrap() {
            FilesBackend::S3(s3) => *s3,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn local_forms() {
        let folder = |options: Value| match backend(options).unwrap() {
            FilesBackend::Local(folder) => folder,
            other => panic!("{other:?}"),
        };
        assert_eq!(folder(json!({})), PathBuf::from("/data/apps/a/files"));
        assert_eq!(folder(json!({"filesAdapter": "local"})), PathBuf::from("/data/apps/a/files"));
        let custom = json!({"filesAdapter": {"module": "local", "options": {"filesPath": "/srv/f"}}});
        assert_eq!(folder(custom), PathBuf::from("/srv/f"));
        assert!(
            backend(json!({"filesAdapter": {"module": "@parse/gcs-files-adapter"}}))
                .unwrap_err()
                .contains("not supported")
        );
        assert!(backend(json!({"filesAdapter": {"options": {"bucket": "b"}}})).is_err());
    }

    #[test]
    fn parse_servers_s3_adapter_options() {
        let options = s3(json!({"filesAdapter": {"module": "@parse/s3-files-adapter", "options": {
            "bucket": "photos", "region": "eu-west-1", "bucketPrefix": "app/", "directAccess": true,
            "baseUrl": "https://cdn.example", "globalCacheControl": "public, max-age=86400",
            "s3overrides": {"endpoint": "http://127.0.0.1:9000", "forcePathStyle": true,
                            "credentials": {"accessKeyId": "k", "secretAccessKey": "s"}}}}}));
        assert_eq!((options.bucket.as_str(), options.region.as_str()), ("photos", "eu-west-1"));
        assert_eq!(options.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(options.force_path_style);
        assert_eq!(
            (options.access_key_id.as_deref(), options.secret_access_key.as_deref()),
            (Some("k"), Some("s"))
        );
        assert_eq!(options.prefix, "app/");
        assert_eq!(options.urls, S3Urls::Direct { base_url: Some("https://cdn.example".into()) });
        assert_eq!(options.cache_control.as_deref(), Some("public, max-age=86400"));
        let error = backend(
            json!({"filesAdapter": {"module": "S3Adapter", "options": {"bucket": "b", "generateKey": 1}}}),
        );
        assert!(error.unwrap_err().contains("generateKey"));
        assert!(backend(json!({"filesAdapter": "S3Adapter"})).unwrap_err().contains("needs a bucket"));
    }

    #[test]
    fn the_environment_fills_what_options_leave_out() {
        let environment = |name: &str| match name {
            "S3_BUCKET" => Some("from-env".to_string()),
            "S3_PRESIGNED_URL" => Some("true".to_string()),
            "S3_PRESIGNED_URL_EXPIRES" => Some("60".to_string()),
            _ => None,
        };
        let options = json!({"filesAdapter": "@parse/s3-files-adapter"});
        let FilesBackend::S3(s3) =
            files_backend(options.as_object().unwrap(), PathBuf::new(), &environment).unwrap()
        else {
            panic!("S3 expected")
        };
        assert_eq!(s3.bucket, "from-env");
        assert_eq!(s3.urls, S3Urls::Presigned { expires: Duration::from_secs(60) });
    }

    #[test]
    fn s3_urls() {
        let options = s3(json!({"filesAdapter":
            "s3://files/reparse/?endpoint=http%3A%2F%2F127.0.0.1%3A5077&forcePathStyle=true&presignedUrl&presignedUrlExpires=120"}));
        assert_eq!((options.bucket.as_str(), options.prefix.as_str()), ("files", "reparse/"));
        assert_eq!(options.endpoint.as_deref(), Some("http://127.0.0.1:5077"));
        assert!(options.force_path_style);
        assert_eq!(options.urls, S3Urls::Presigned { expires: Duration::from_secs(120) });
        assert!(backend(json!({"filesAdapter": "s3://b?directAccess=true&presignedUrl=true"})).is_err());
        assert!(backend(json!({"filesAdapter": "s3://b?presignedUrlExpires=0&presignedUrl=true"})).is_err());
    }

    #[test]
    fn registry_apps_get_a_folder_or_prefix_of_their_own() {
        let default = PathBuf::from("/data/apps/x/files");
        let shared = json!("s3://bucket/tenants/?endpoint=http://s3.local&forcePathStyle=true");
        let none = Map::new();
        match registry_app_backend(&none, Some(&shared), "x", default.clone(), &no_environment).unwrap() {
            FilesBackend::S3(options) => assert_eq!(options.prefix, "tenants/x/"),
            other => panic!("{other:?}"),
        }
        let local = json!({"module": "local", "options": {"filesPath": "/srv/files"}});
        match registry_app_backend(&none, Some(&local), "x", default.clone(), &no_environment).unwrap() {
            FilesBackend::Local(folder) => assert_eq!(folder, PathBuf::from("/srv/files/x")),
            other => panic!("{other:?}"),
        }
        match registry_app_backend(&none, Some(&json!("local")), "x", default.clone(), &no_environment)
            .unwrap()
        {
            FilesBackend::Local(folder) => assert_eq!(folder, default),
            other => panic!("{other:?}"),
        }
        let own = json!({"filesAdapter": "s3://own"});
        match registry_app_backend(own.as_object().unwrap(), Some(&shared), "x", default, &no_environment)
            .unwrap()
        {
            FilesBackend::S3(options) => {
                assert_eq!((options.bucket.as_str(), options.prefix.as_str()), ("own", ""))
            }
            other => panic!("{other:?}"),
        }
    }
}
