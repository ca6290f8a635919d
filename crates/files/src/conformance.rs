//! The files conformance suite: what every [`FilesAdapter`] must do, asserted through the trait
//! only. A backend runs it with one line:
//!
//! ```text
//! reparse_files::files_conformance_tests!(fresh_local_files());
//! reparse_files::files_conformance_tests!(optional fresh_bucket_or_skip()); // yields an Option
//! ```
//!
//! where the expression is awaited once per test and yields something that dereferences to a
//! `FilesAdapter` with no files in it (a fixture may also hold a temporary folder or bucket).
//! What only one backend can show (no temp files left on disk, a multipart upload) stays in
//! that backend's own tests.

use bytes::Bytes;
use futures::StreamExt;
use reparse_core::ErrorCode;
use serde_json::json;

use crate::{ByteStream, FileAttributes, FilesAdapter, RangeRequest, ReadError};

#[macro_export]
macro_rules! files_conformance_tests {
    (optional $make_files:expr) => {
        $crate::files_conformance_tests!(@each $make_files;
            stores_streamed_chunks_and_reads_them_back,
            reads_byte_ranges,
            an_oversized_upload_stores_nothing_and_keeps_the_old_file,
            a_failing_body_stores_nothing,
            replacing_changes_the_etag_and_delete_removes_the_file,
            missing_files_are_not_found,
            keeps_type_metadata_and_tags,
            stores_unicode_names,
            lists_stored_files,
        );
    };
    ($make_files:expr) => {
        $crate::files_conformance_tests!(optional async { Some($make_files.await) });
    };
    (@each $make_files:expr; $($name:ident),* $(,)?) => {
        $(
            #[::tokio::test]
            async fn $name() {
                let Some(files) = $make_files.await else { return };
                $crate::conformance::$name(&*files).await;
            }
        )*
    };
}

/// A body sent in the given chunks.
pub fn chunks(parts: Vec<Vec<u8>>) -> ByteStream {
    Box::pin(futures::stream::iter(parts.into_iter().map(|part| Ok(Bytes::from(part)))))
}

/// A body that sends `sent` and then fails, as a dropped connection does.
pub fn failing_after(sent: Vec<u8>) -> ByteStream {
    let failure = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "client went away");
    Box::pin(futures::stream::iter(vec![Ok(Bytes::from(sent)), Err(failure)]))
}

/// Every byte of `name` (or of `range` of it).
pub async fn read_all(files: &dyn FilesAdapter, name: &str, range: Option<RangeRequest>) -> Vec<u8> {
    let read = files.read(name, range).await.unwrap_or_else(|_| panic!("read {name}"));
    let mut body = read.body;
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        bytes.extend_from_slice(&chunk.expect("a chunk of the file"));
    }
    bytes
}

/// Bytes of every value, in a pattern that shows any shifted or dropped chunk.
pub fn patterned(length: usize) -> Vec<u8> {
    (0..length).map(|i| (i % 251) as u8).collect()
}

fn typed(content_type: &str) -> FileAttributes {
    FileAttributes { content_type: Some(content_type.to_string()), ..FileAttributes::default() }
}

pub async fn stores_streamed_chunks_and_reads_them_back(files: &dyn FilesAdapter) {
    let data = patterned(3_000_000);
    let parts = data.chunks(70_001).map(<[u8]>::to_vec).collect();
    let info = files.create("big.bin", &typed("application/x-test"), chunks(parts), None).await.unwrap();
    assert_eq!(info.length, data.len() as u64);
    assert_eq!(info.content_type.as_deref(), Some("application/x-test"));
    assert!(info.etag.starts_with('"') && info.etag.ends_with('"'), "{}", info.etag);
    assert_eq!(read_all(files, "big.bin", None).await, data);
    assert_eq!(files.info("big.bin").await.unwrap(), info);
}

pub async fn reads_byte_ranges(files: &dyn FilesAdapter) {
    files
        .create("digits.txt", &FileAttributes::default(), chunks(vec![b"0123456789".to_vec()]), None)
        .await
        .unwrap();
    let middle = RangeRequest::From { first: 2, last: Some(4) };
    assert_eq!(read_all(files, "digits.txt", Some(middle)).await, b"234");
    assert_eq!(read_all(files, "digits.txt", Some(RangeRequest::Suffix { count: 3 })).await, b"789");
    let past_last = RangeRequest::From { first: 8, last: Some(100) };
    assert_eq!(read_all(files, "digits.txt", Some(past_last)).await, b"89");
    let open = RangeRequest::From { first: 8, last: None };
    let read = files.read("digits.txt", Some(open)).await.unwrap();
    assert_eq!(read.range.content_range(), "bytes 8-9/10");
    assert_eq!(read.info.length, 10);
    let past_end = RangeRequest::From { first: 10, last: None };
    match files.read("digits.txt", Some(past_end)).await {
        Err(ReadError::Unsatisfiable { length }) => assert_eq!(length, 10),
        _ => panic!("a range past the end is unsatisfiable"),
    }
}

pub async fn an_oversized_upload_stores_nothing_and_keeps_the_old_file(files: &dyn FilesAdapter) {
    files.create("a.txt", &typed("text/plain"), chunks(vec![b"old".to_vec()]), None).await.unwrap();
    let too_big = chunks(vec![vec![1; 600], vec![2; 600]]);
    let error = files.create("a.txt", &FileAttributes::default(), too_big, Some(1000)).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::FileSaveError);
    assert_eq!(error.message, "File size exceeds maximum allowed");
    assert_eq!(read_all(files, "a.txt", None).await, b"old");
    assert_eq!(files.info("a.txt").await.unwrap().content_type.as_deref(), Some("text/plain"));
    let fresh =
        files.create("b.txt", &FileAttributes::default(), chunks(vec![vec![0; 1001]]), Some(1000)).await;
    assert_eq!(fresh.unwrap_err().message, "File size exceeds maximum allowed");
    assert_eq!(files.info("b.txt").await.unwrap_err().code, ErrorCode::ObjectNotFound);
}

pub async fn a_failing_body_stores_nothing(files: &dyn FilesAdapter) {
    let error = files
        .create("cut.bin", &FileAttributes::default(), failing_after(vec![7; 5000]), None)
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::FileSaveError);
    assert_eq!(files.info("cut.bin").await.unwrap_err().code, ErrorCode::ObjectNotFound);
}

pub async fn replacing_changes_the_etag_and_delete_removes_the_file(files: &dyn FilesAdapter) {
    let first =
        files.create("x.txt", &FileAttributes::default(), chunks(vec![b"one".to_vec()]), None).await.unwrap();
    let second = files
        .create("x.txt", &FileAttributes::default(), chunks(vec![b"three".to_vec()]), None)
        .await
        .unwrap();
    assert_ne!(first.etag, second.etag);
    assert_eq!(read_all(files, "x.txt", None).await, b"three");
    files.delete("x.txt").await.unwrap();
    assert_eq!(files.info("x.txt").await.unwrap_err().code, ErrorCode::ObjectNotFound);
    let again = files.delete("x.txt").await.unwrap_err();
    assert_eq!((again.code, again.message.as_str()), (ErrorCode::FileDeleteError, "Could not delete file."));
}

pub async fn missing_files_are_not_found(files: &dyn FilesAdapter) {
    assert_eq!(files.info("nothing.txt").await.unwrap_err().code, ErrorCode::ObjectNotFound);
    assert_eq!(files.attributes("nothing.txt").await.unwrap_err().code, ErrorCode::ObjectNotFound);
    match files.read("nothing.txt", None).await {
        Err(ReadError::Failed(error)) => assert_eq!(error.code, ErrorCode::ObjectNotFound),
        _ => panic!("reading a missing file fails with 101"),
    }
    match files.read("nothing.txt", Some(RangeRequest::Suffix { count: 1 })).await {
        Err(ReadError::Failed(error)) => assert_eq!(error.code, ErrorCode::ObjectNotFound),
        _ => panic!("a range of a missing file fails with 101"),
    }
}

pub async fn keeps_type_metadata_and_tags(files: &dyn FilesAdapter) {
    let mut attributes = typed("image/png");
    attributes.metadata.insert("author".into(), json!("ann"));
    attributes.metadata.insert("camera".into(), json!("x100"));
    attributes.tags.insert("album".into(), json!("summer"));
    files.create("p.png", &attributes, chunks(vec![vec![1, 2, 3]]), None).await.unwrap();
    assert_eq!(files.attributes("p.png").await.unwrap(), attributes);
    // A replacement leaves none of the old attributes behind. (Without a type, object stores
    // give one of their own, so the replacement names one.)
    files.create("p.png", &typed("image/webp"), chunks(vec![vec![4]]), None).await.unwrap();
    assert_eq!(files.attributes("p.png").await.unwrap(), typed("image/webp"));
}

pub async fn stores_unicode_names(files: &dyn FilesAdapter) {
    for name in ["résumé.pdf", "写真 1.jpg", "Привет_мир.txt", "a@b~c-d.e"] {
        crate::validate_file_name(name).unwrap();
        files
            .create(name, &FileAttributes::default(), chunks(vec![name.as_bytes().to_vec()]), None)
            .await
            .unwrap();
        assert_eq!(read_all(files, name, None).await, name.as_bytes(), "{name}");
    }
    let mut names: Vec<String> = files.list().map(|info| info.unwrap().name).collect().await;
    names.sort();
    assert_eq!(names, ["a@b~c-d.e", "résumé.pdf", "Привет_мир.txt", "写真 1.jpg"]);
}

pub async fn lists_stored_files(files: &dyn FilesAdapter) {
    assert_eq!(files.list().count().await, 0);
    for (name, length) in [("one.txt", 1), ("two.txt", 2), ("three.txt", 3)] {
        files.create(name, &FileAttributes::default(), chunks(vec![vec![b'x'; length]]), None).await.unwrap();
    }
    files.delete("two.txt").await.unwrap();
    let mut listed: Vec<(String, u64)> =
        files.list().map(|info| info.unwrap()).map(|info| (info.name, info.length)).collect().await;
    listed.sort();
    assert_eq!(listed, [("one.txt".to_string(), 1), ("three.txt".to_string(), 3)]);
    let modified = files.list().next().await.unwrap().unwrap().modified;
    let age = modified.and_then(|time| time.elapsed().ok()).expect("a stored file's time");
    assert!(age.as_secs() < 3600, "stored {age:?} ago");
}
