//! Starting an app's cloud code (`cloud`: the path of its `main.js`) in a Node.js worker.
//!
//! The worker needs `node` (`REPARSE_NODE`, else `node` on the PATH) and the official `parse`
//! SDK: the one in the app's own `node_modules` (or a folder above its cloud folder), as under
//! parse-server; else the folder `REPARSE_CLOUD_PARSE_SDK` names; else Reparse's pinned copy,
//! installed with npm (`REPARSE_NPM`, else `npm`) into `<data>/cloud-runtime` on first use.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reparse_cloud::{CloudCode, NodeCloud, NodeCloudOptions, bundled_parse_sdk, parse_sdk_folder};
use reparse_server::AppConfig;
use serde_json::{Map, Value};

/// How long a function may run before it fails with 141.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long loading the code may take.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the cloud folder is checked for changes (which reload the code).
const RELOAD_CHECK: Duration = Duration::from_secs(1);

/// The app's cloud code, started, if its options name one.
pub(crate) async fn start_cloud(
    options: &Map<String, Value>,
    config: &AppConfig,
    server_url: &str,
    data_dir: &Path,
) -> Result<Option<Arc<dyn CloudCode>>, String> {
    let Some(main) = options.get("cloud") else { return Ok(None) };
    let main = main.as_str().filter(|path| !path.is_empty()).ok_or("cloud must be the path of a .js file")?;
    let main = std::path::absolute(Path::new(main)).map_err(|error| format!("cloud {main:?}: {error}"))?;
    if !main.is_file() {
        return Err(format!("cloud code {} does not exist", main.display()));
    }
    let fallback = crate::environment_variable("REPARSE_CLOUD_PARSE_SDK").map(PathBuf::from);
    let parse_sdk = match parse_sdk_folder(&main, fallback.as_deref()) {
        Some(folder) => folder,
        None => {
            let root = data_dir.join("cloud-runtime");
            let npm = crate::environment_variable("REPARSE_NPM")
                .map_or_else(|| PathBuf::from("npm"), PathBuf::from);
            tokio::task::spawn_blocking(move || bundled_parse_sdk(&root, &npm))
                .await
                .map_err(|error| error.to_string())??
        }
    };
    // The worker runs in the cloud folder: a relative SDK path would point elsewhere there.
    let parse_sdk =
        std::path::absolute(&parse_sdk).map_err(|error| format!("{}: {error}", parse_sdk.display()))?;
    let node =
        crate::environment_variable("REPARSE_NODE").map_or_else(|| PathBuf::from("node"), PathBuf::from);
    let options = NodeCloudOptions {
        main: main.clone(),
        node,
        parse_sdk,
        app_id: config.app_id.clone(),
        master_key: config.master_key.clone(),
        javascript_key: config.javascript_key.clone(),
        server_url: server_url.to_string(),
        call_timeout: CALL_TIMEOUT,
        start_timeout: START_TIMEOUT,
    };
    let cloud = NodeCloud::start(options)
        .await
        .map_err(|error| format!("cloud code {} failed to start: {error}", main.display()))?;
    let cloud = Arc::new(cloud);
    cloud.watch(RELOAD_CHECK);
    Ok(Some(cloud))
}

/// The URL the workers' SDK reaches this server at: loopback when it listens on every address.
pub(crate) fn internal_server_url(host: &str, port: u16, mount_path: &str) -> String {
    let host = match host {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" | "[::]" => "[::1]",
        other if other.contains(':') && !other.starts_with('[') => {
            return format!("http://[{other}]:{port}{mount_path}");
        }
        other => other,
    };
    format!("http://{host}:{port}{mount_path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_reach_the_server_on_loopback_when_it_listens_everywhere() {
        assert_eq!(internal_server_url("0.0.0.0", 1337, "/parse"), "http://127.0.0.1:1337/parse");
        assert_eq!(internal_server_url("127.0.0.1", 80, "/p"), "http://127.0.0.1:80/p");
        assert_eq!(internal_server_url("::", 1, "/parse"), "http://[::1]:1/parse");
        assert_eq!(internal_server_url("::1", 1, "/parse"), "http://[::1]:1/parse");
    }
}
