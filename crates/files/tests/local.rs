//! The local backend: streamed writes and reads, ranges, atomic replacement, cleanup.

use bytes::Bytes;
use futures::StreamExt;
use reparse_core::ErrorCode;
use reparse_files::{ByteStream, FilesAdapter, LocalFiles, RangeRequest, ReadError};

fn chunks(parts: Vec<Vec<u8>>) -> ByteStream {
    Box::pin(futures::stream::iter(parts.into_iter().map(|part| Ok(Bytes::from(part)))))
}

async fn read_all(files: &LocalFiles, name: &str, range: Option<RangeRequest>) -> Vec<u8> {
    let read = files.read(name, range).await.unwrap_or_else(|_| panic!("read {name}"));
    let mut body = read.body;
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    bytes
}

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
async fn stores_streamed_chunks_and_reads_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let files = LocalFiles::open(dir.path().join("files")).unwrap();
    // 3 MB in uneven chunks, every byte value, so an off-by-one anywhere shows.
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let parts = data.chunks(70_001).map(<[u8]>::to_vec).collect();
    let info = files.create("big.bin", Some("application/x-test"), chunks(parts), None).await.unwrap();
    assert_eq!(info.length, data.len() as u64);
    assert_eq!(info.content_type.as_deref(), Some("application/x-test"));
    assert_eq!(read_all(&files, "big.bin", None).await, data);
    let metadata = files.metadata("big.bin").await.unwrap();
    assert_eq!(metadata, info);
    assert_eq!(uploads_in_progress(files.root()), 0);
}

#[tokio::test]
async fn reads_byte_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let files = LocalFiles::open(dir.path()).unwrap();
    files.create("digits.txt", None, chunks(vec![b"0123456789".to_vec()]), None).await.unwrap();
    let middle = RangeRequest::From { first: 2, last: Some(4) };
    assert_eq!(read_all(&files, "digits.txt", Some(middle)).await, b"234");
    assert_eq!(read_all(&files, "digits.txt", Some(RangeRequest::Suffix { count: 3 })).await, b"789");
    let open = RangeRequest::From { first: 8, last: None };
    let read = files.read("digits.txt", Some(open)).await.unwrap();
    assert_eq!(read.range.content_range(), "bytes 8-9/10");
    let past_end = RangeRequest::From { first: 10, last: None };
    match files.read("digits.txt", Some(past_end)).await {
        Err(ReadError::Unsatisfiable { length }) => assert_eq!(length, 10),
        _ => panic!("a range past the end is unsatisfiable"),
    }
}

#[tokio::test]
async fn an_oversized_upload_stores_nothing_and_keeps_the_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = LocalFiles::open(dir.path()).unwrap();
    files.create("a.txt", Some("text/plain"), chunks(vec![b"old".to_vec()]), None).await.unwrap();
    let too_big = chunks(vec![vec![1; 600], vec![2; 600]]);
    let error = files.create("a.txt", None, too_big, Some(1000)).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::FileSaveError);
    assert_eq!(error.message, "File size exceeds maximum allowed");
    assert_eq!(read_all(&files, "a.txt", None).await, b"old");
    assert_eq!(files.metadata("a.txt").await.unwrap().content_type.as_deref(), Some("text/plain"));
    let error = files.create("b.txt", None, chunks(vec![vec![0; 1001]]), Some(1000)).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::FileSaveError);
    assert_eq!(stored_names(files.root()), ["a.txt"]);
    assert_eq!(uploads_in_progress(files.root()), 0);
    // Exactly the limit is allowed.
    files.create("c.txt", None, chunks(vec![vec![0; 1000]]), Some(1000)).await.unwrap();
}

#[tokio::test]
async fn a_failing_body_leaves_no_half_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = LocalFiles::open(dir.path()).unwrap();
    let broken: ByteStream = Box::pin(futures::stream::iter(vec![
        Ok(Bytes::from_static(b"first half")),
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "client went away")),
    ]));
    let error = files.create("half.txt", None, broken, None).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::FileSaveError);
    assert!(stored_names(files.root()).is_empty());
    assert_eq!(uploads_in_progress(files.root()), 0);
    assert_eq!(files.metadata("half.txt").await.unwrap_err().code, ErrorCode::ObjectNotFound);
}

#[tokio::test]
async fn replacing_changes_the_etag_and_delete_removes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = LocalFiles::open(dir.path()).unwrap();
    let first = files.create("x.txt", None, chunks(vec![b"one".to_vec()]), None).await.unwrap();
    let second = files.create("x.txt", None, chunks(vec![b"three".to_vec()]), None).await.unwrap();
    assert_ne!(first.etag, second.etag);
    assert_eq!(read_all(&files, "x.txt", None).await, b"three");
    files.delete("x.txt").await.unwrap();
    assert!(
        matches!(files.read("x.txt", None).await, Err(ReadError::Failed(e)) if e.code == ErrorCode::ObjectNotFound)
    );
    let error = files.delete("x.txt").await.unwrap_err();
    assert_eq!((error.code, error.message.as_str()), (ErrorCode::FileDeleteError, "Could not delete file."));
}

#[tokio::test]
async fn names_that_could_leave_the_root_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = LocalFiles::open(dir.path().join("inner")).unwrap();
    for name in ["../escape.txt", ".types", "a/b", "", "/etc/passwd"] {
        let error = files.create(name, None, chunks(vec![b"x".to_vec()]), None).await.unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidFileName, "{name}");
    }
    assert!(!dir.path().join("escape.txt").exists());
}
