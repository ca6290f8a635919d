//! Builds the dashboard's front end (web/) when the `assets` feature is on: the sources are
//! copied into OUT_DIR, their npm dependencies installed there from the lock file (`npm ci`,
//! again only when the lock file changes) and vite's output written to OUT_DIR/dist, which
//! `rust-embed` puts into the binary. Nothing is written into the source tree.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What the front end's build reads (node_modules and dist are left out on purpose).
const SOURCES: [&str; 7] =
    ["package.json", "package-lock.json", "index.html", "vite.config.ts", "tsconfig.json", "src", "public"];

fn main() {
    if std::env::var_os("CARGO_FEATURE_ASSETS").is_none() {
        return;
    }
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    let web = manifest_dir.join("web");
    for source in SOURCES {
        println!("cargo:rerun-if-changed=web/{source}");
    }
    let build_dir = out_dir.join("web");
    for source in SOURCES {
        let from = web.join(source);
        let to = build_dir.join(source);
        if to.is_dir() {
            std::fs::remove_dir_all(&to)
                .unwrap_or_else(|error| fail(&format!("cannot clear {to:?}: {error}")));
        }
        if from.exists() {
            copy(&from, &to);
        }
    }
    let lock = std::fs::read(web.join("package-lock.json"))
        .unwrap_or_else(|error| fail(&format!("cannot read web/package-lock.json: {error}")));
    let stamp = build_dir.join("node_modules").join(".reparse-installed-lock");
    if std::fs::read(&stamp).ok().as_deref() != Some(lock.as_slice()) {
        npm(&build_dir, &["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
        std::fs::write(&stamp, &lock)
            .unwrap_or_else(|error| fail(&format!("cannot write {stamp:?}: {error}")));
    }
    let dist = out_dir.join("dist");
    let dist_text = dist.to_str().unwrap_or_else(|| fail("OUT_DIR is not valid UTF-8"));
    npm(&build_dir, &["run", "build", "--", "--outDir", dist_text, "--emptyOutDir"]);
}

fn npm(dir: &Path, args: &[&str]) {
    let status = Command::new("npm").args(args).current_dir(dir).status().unwrap_or_else(|error| {
        fail(&format!(
            "cannot run npm ({error}). The dashboard's front end is built with Node.js (20.19 or later) \
             and npm: install them, or build without the dashboard: \
             `cargo build -p reparse --no-default-features`"
        ))
    });
    if !status.success() {
        fail(&format!("`npm {}` in {dir:?} failed ({status})", args.join(" ")));
    }
}

fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap_or_else(|error| fail(&format!("cannot create {to:?}: {error}")));
        let entries =
            std::fs::read_dir(from).unwrap_or_else(|error| fail(&format!("cannot read {from:?}: {error}")));
        for entry in entries {
            let entry = entry.unwrap_or_else(|error| fail(&format!("cannot read {from:?}: {error}")));
            copy(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|error| fail(&format!("cannot create {parent:?}: {error}")));
        }
        std::fs::copy(from, to).unwrap_or_else(|error| fail(&format!("cannot copy {from:?}: {error}")));
    }
}

fn fail(message: &str) -> ! {
    panic!("building the dashboard's front end: {message}");
}
