//! The `parse` SDK for cloud code whose folder has none of its own: Reparse's pinned copy
//! (`runtime/package.json` and its lock file, built into the binary), installed with `npm ci`
//! into a folder of the data directory the first time an app needs it, and shared by every app
//! and restart after that. A new Reparse that pins another version installs beside it.

use std::path::{Path, PathBuf};
use std::process::Command;

const PACKAGE: &str = include_str!("../runtime/package.json");
const LOCK: &str = include_str!("../runtime/package-lock.json");

/// The installed SDK's folder (`…/node_modules/parse`) under `root`, installing it first if
/// needed with `npm` (blocking; it runs once). An interrupted install leaves nothing behind
/// that a later start would take for complete.
pub fn bundled_parse_sdk(root: &Path, npm: &Path) -> Result<PathBuf, String> {
    let digest = format!("{PACKAGE}{LOCK}").bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let folder = root.join(format!("parse-sdk-{digest:016x}"));
    let sdk = folder.join("node_modules").join("parse");
    if sdk.join("node.js").is_file() {
        return Ok(sdk);
    }
    let staging = root.join(format!(".parse-sdk-{digest:016x}-{}", std::process::id()));
    let failed = |what: &str, error: &dyn std::fmt::Display| {
        format!("cannot install the parse SDK for cloud code into {}: {what}: {error}", root.display())
    };
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).map_err(|error| failed("creating its folder", &error))?;
    std::fs::write(staging.join("package.json"), PACKAGE)
        .map_err(|error| failed("writing package.json", &error))?;
    std::fs::write(staging.join("package-lock.json"), LOCK)
        .map_err(|error| failed("writing its lock file", &error))?;
    tracing::info!(target: "cloud", "installing the parse SDK for cloud code into {} (npm ci)", folder.display());
    let output = Command::new(npm)
        .args(["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&staging)
        .output()
        .map_err(|error| failed(&format!("running {}", npm.display()), &error))?;
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(&staging);
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(failed("npm ci failed", &stderr.trim()));
    }
    match std::fs::rename(&staging, &folder) {
        Ok(()) => {}
        // Another process installed the same SDK meanwhile: use theirs.
        Err(_) if sdk.join("node.js").is_file() => {
            let _ = std::fs::remove_dir_all(&staging);
        }
        Err(error) => return Err(failed("moving it into place", &error)),
    }
    Ok(sdk)
}
