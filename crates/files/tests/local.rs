//! The local backend: the shared conformance suite, and what only a folder can show (no temp
//! files left behind, the layout parse-server's filesystem adapter reads, cleanup at open).

use std::time::{Duration, SystemTime};

use reparse_core::ErrorCode;
use reparse_files::conformance::{chunks, failing_after, read_all};
use reparse_files::{FileAttributes, FilesAdapter, LocalFiles};

/// A backend in a fresh temporary folder, removed when dropped.
struct Fixture {
    files: LocalFiles,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Fixture {
    type Target = LocalFiles;
    fn deref(&self) -> &LocalFiles {
        &self.files
    }
}

async fn fresh_local_files() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    Fixture { files: LocalFiles::open(dir.path().join("files")).unwrap(), _dir: dir }
}

reparse_files::files_conformance_tests!(fresh_local_files());

/// Files in the backend's root other than its own folders.
fn stored_names(root: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    names.sort();
    names
}

fn uploads_in_progress(root: &std::path::Path) -> usize {
    std::fs::read_dir(root.join(".uploads")).unwrap().count()
}

#[tokio::test]
async fn failed_uploads_leave_no_temp_files() {
    let files = fresh_local_files().await;
    let none = FileAttributes::default();
    files.create("a.txt", &none, chunks(vec![b"old".to_vec()]), None).await.unwrap();
    assert!(files.create("a.txt", &none, chunks(vec![vec![1; 1001]]), Some(1000)).await.is_err());
    assert!(files.create("b.txt", &none, failing_after(b"half".to_vec()), None).await.is_err());
    assert_eq!(stored_names(files.root()), ["a.txt"]);
    assert_eq!(uploads_in_progress(files.root()), 0);
    // Exactly the limit is allowed.
    files.create("c.txt", &none, chunks(vec![vec![0; 1000]]), Some(1000)).await.unwrap();
}

#[tokio::test]
async fn files_sit_under_their_names_as_parse_server_keeps_them() {
    let files = fresh_local_files().await;
    let mut attributes = FileAttributes { content_type: Some("text/plain".into()), ..Default::default() };
    attributes.metadata.insert("n".into(), serde_json::json!(1));
    files.create("note.txt", &attributes, chunks(vec![b"hi".to_vec()]), None).await.unwrap();
    assert_eq!(std::fs::read(files.root().join("note.txt")).unwrap(), b"hi");
    // A file parse-server stored (no attributes beside it) is served, typed by its name later.
    std::fs::write(files.root().join("theirs.png"), b"png").unwrap();
    assert_eq!(read_all(&*files, "theirs.png", None).await, b"png");
    assert_eq!(files.attributes("theirs.png").await.unwrap(), FileAttributes::default());
    // Deleting removes the attributes too.
    files.delete("note.txt").await.unwrap();
    assert_eq!(std::fs::read_dir(files.root().join(".meta")).unwrap().count(), 0);
}

#[tokio::test]
async fn opening_removes_uploads_abandoned_long_ago() {
    let dir = tempfile::tempdir().unwrap();
    let files = LocalFiles::open(dir.path()).unwrap();
    let uploads = files.root().join(".uploads");
    std::fs::write(uploads.join("stale"), b"x").unwrap();
    std::fs::write(uploads.join("recent"), b"y").unwrap();
    let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
    std::fs::File::options()
        .write(true)
        .open(uploads.join("stale"))
        .unwrap()
        .set_modified(two_days_ago)
        .unwrap();
    LocalFiles::open(dir.path()).unwrap();
    let mut left: Vec<String> =
        std::fs::read_dir(&uploads).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, ["recent"]);
}

#[tokio::test]
async fn names_that_could_leave_the_root_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = LocalFiles::open(dir.path().join("inner")).unwrap();
    for name in ["../escape.txt", ".meta", "a/b", "", "/etc/passwd"] {
        let error = files
            .create(name, &FileAttributes::default(), chunks(vec![b"x".to_vec()]), None)
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidFileName, "{name}");
    }
    assert!(!dir.path().join("escape.txt").exists());
}
