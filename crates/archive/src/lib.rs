//! Whole-app archives: everything an app stores (its classes' schemas, its objects, their
//! relations and, if asked, its files) as one `.tar.gz`, written and read as a stream so that an
//! app of any size moves in bounded memory.
//!
//! Entries, in the order they are written and must be read:
//! - `reparse-archive.json` — the [`Manifest`]: the format's name and version, the app it came
//!   from, when, and whether files are included.
//! - `schema.json` — every class's schema, as `/schemas` shows it (fields, class-level
//!   permissions, indexes), in an array.
//! - `classes/<Class>/<part>.jsonl` — the class's objects, one JSON object per line, in their
//!   stored form: Parse's REST encoding plus `_rperm`/`_wperm` and the internal columns
//!   (`_hashed_password`, tokens, lockout state), so that users sign in with their passwords
//!   after an import. At most [`OBJECTS_PER_PART`] objects per part.
//! - `relations/<Class>/<field>/<part>.jsonl` — `{"owningId", "relatedIds"}` per object whose
//!   relation field holds anything (relations live in join tables, not in objects), after all
//!   of the class's objects. An import skips rows naming an object the archive does not hold (a
//!   join table can outlive an object deleted outside Reparse).
//! - `file-attributes/<name>.json` then `files/<name>` — a file's type, metadata and tags, then
//!   its bytes.
//!
//! An import goes into an app without data, in one transaction, so an archive that fails
//! anywhere (a malformed line, a value of the wrong type, a duplicate id, a file that cannot be
//! stored) leaves the app as it was. Cloud code triggers do not run: an archive restores stored
//! data, it does not replay writes.

mod export;
mod import;
mod stored;

pub use export::{ExportOptions, export};
pub use import::{ImportSummary, import};

use serde_json::{Value, json};

/// The format named in every manifest.
pub const FORMAT: &str = "reparse-app-archive";
/// The version this build writes and reads.
pub const VERSION: u64 = 1;
/// How many objects one `classes/…` part holds (the most an export or import keeps in memory).
pub const OBJECTS_PER_PART: u64 = 1000;
/// How many relation rows one `relations/…` part holds.
pub const RELATION_ROWS_PER_PART: u64 = 10_000;

const MANIFEST_ENTRY: &str = "reparse-archive.json";
const SCHEMA_ENTRY: &str = "schema.json";

/// What `reparse-archive.json` says.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub app_id: String,
    pub app_name: String,
    /// When the export started (ISO-8601).
    pub exported_at: String,
    pub includes_files: bool,
}

impl Manifest {
    fn to_json(&self) -> Value {
        json!({
            "format": FORMAT,
            "version": VERSION,
            "app": {"appId": self.app_id, "name": self.app_name},
            "exportedAt": self.exported_at,
            "includesFiles": self.includes_files,
        })
    }
}

fn class_part_path(class_name: &str, part: u64) -> String {
    format!("classes/{class_name}/{part:06}.jsonl")
}

fn relation_part_path(class_name: &str, field: &str, part: u64) -> String {
    format!("relations/{class_name}/{field}/{part:06}.jsonl")
}
