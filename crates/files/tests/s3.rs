//! The S3 backend against a real S3-compatible server: the shared conformance suite, and what
//! only a bucket shows (multipart uploads, prefixes, direct and presigned URLs).
//!
//! The server is the one `REPARSE_TEST_S3_ENDPOINT` names (scripts/test starts `moto` in server
//! mode on loopback and sets it). Without it the tests are skipped, except under `CI=true`.

use object_store::client::{ClientOptions, HttpClient, HttpConnector, HttpRequestBody, ReqwestConnector};
use reparse_core::ErrorCode;
use reparse_files::conformance::{chunks, patterned, read_all};
use reparse_files::{FileAttributes, FilesAdapter, S3Files, S3Options, S3Urls};

fn endpoint() -> Option<String> {
    match std::env::var("REPARSE_TEST_S3_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => Some(endpoint),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("REPARSE_TEST_S3_ENDPOINT is not set: under CI=true the S3 tests must run")
        }
        _ => {
            eprintln!(
                "skipped: set REPARSE_TEST_S3_ENDPOINT to an S3-compatible server (scripts/test starts one)"
            );
            None
        }
    }
}

fn http_client() -> HttpClient {
    ReqwestConnector::default().connect(&ClientOptions::new().with_allow_http(true)).unwrap()
}

/// Sends an unsigned request (moto takes any credentials, and none for a bucket anyone may
/// read) and returns the status and body.
async fn send(method: http::Method, url: &str) -> (http::StatusCode, Vec<u8>) {
    send_json(method, url, None).await
}

async fn send_json(
    method: http::Method,
    url: &str,
    json: Option<serde_json::Value>,
) -> (http::StatusCode, Vec<u8>) {
    let body = match json {
        Some(json) => HttpRequestBody::from(bytes::Bytes::from(json.to_string())),
        None => HttpRequestBody::empty(),
    };
    let request = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .body(body)
        .unwrap();
    let response = http_client().execute(request).await.unwrap();
    let status = response.status();
    (status, response.into_body().bytes().await.unwrap().to_vec())
}

/// A bucket of its own for one test, so tests run in parallel without seeing each other's files.
async fn fresh_bucket(endpoint: &str) -> String {
    let bucket = format!("reparse-test-{}", reparse_files::unique_file_name("b")[..16].to_ascii_lowercase());
    let (status, body) = send(http::Method::PUT, &format!("{endpoint}/{bucket}")).await;
    assert!(status.is_success(), "creating bucket {bucket}: {status} {}", String::from_utf8_lossy(&body));
    bucket
}

/// Lets anyone read the bucket's objects, as a bucket served by direct URLs must.
async fn allow_public_reads(endpoint: &str, bucket: &str) {
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
                       "Resource": [format!("arn:aws:s3:::{bucket}/*")]}],
    });
    let (status, body) =
        send_json(http::Method::PUT, &format!("{endpoint}/{bucket}?policy"), Some(policy)).await;
    assert!(status.is_success(), "bucket policy: {status} {}", String::from_utf8_lossy(&body));
}

fn options(endpoint: &str, bucket: &str) -> S3Options {
    let mut options = S3Options::new(bucket);
    options.endpoint = Some(endpoint.to_string());
    options.force_path_style = true;
    options.access_key_id = Some("reparse-test".into());
    options.secret_access_key = Some("reparse-test-secret".into());
    options.part_size = 5 * 1024 * 1024;
    options
}

async fn fresh_s3_files() -> Option<S3Files> {
    let endpoint = endpoint()?;
    let bucket = fresh_bucket(&endpoint).await;
    Some(S3Files::open(options(&endpoint, &bucket)).unwrap())
}

reparse_files::files_conformance_tests!(optional async { fresh_s3_files().await.map(Box::new) });

#[tokio::test]
async fn large_files_go_up_in_parts_and_a_failed_one_leaves_nothing() {
    let Some(files) = fresh_s3_files().await else { return };
    // Three parts of 5 MiB and a short last one, sent in uneven chunks.
    let data = patterned(16 * 1024 * 1024 + 12_345);
    let parts = data.chunks(1_000_003).map(<[u8]>::to_vec).collect();
    let info = files.create("movie.mp4", &FileAttributes::default(), chunks(parts), None).await.unwrap();
    assert_eq!(info.length, data.len() as u64);
    assert_eq!(read_all(&files, "movie.mp4", None).await, data);
    let tail = reparse_files::RangeRequest::Suffix { count: 10 };
    assert_eq!(read_all(&files, "movie.mp4", Some(tail)).await, data[data.len() - 10..]);
    // Past the limit in the third part: the upload is aborted and the old object stays.
    let parts = data.chunks(1_000_003).map(<[u8]>::to_vec).collect();
    let limit = Some(12 * 1024 * 1024);
    let error =
        files.create("movie.mp4", &FileAttributes::default(), chunks(parts), limit).await.unwrap_err();
    assert_eq!(error.message, "File size exceeds maximum allowed");
    assert_eq!(files.info("movie.mp4").await.unwrap().length, data.len() as u64);
}

async fn names(files: &S3Files) -> Vec<String> {
    use futures::StreamExt;
    files.list().map(|info| info.unwrap().name).collect().await
}

#[tokio::test]
async fn a_prefix_keeps_apps_apart_in_one_bucket() {
    let Some(endpoint) = endpoint() else { return };
    let bucket = fresh_bucket(&endpoint).await;
    let app = |prefix: &str| {
        let mut options = options(&endpoint, &bucket);
        options.prefix = prefix.to_string();
        S3Files::open(options).unwrap()
    };
    allow_public_reads(&endpoint, &bucket).await;
    let (first, second, flat) = (app("apps/first/"), app("apps/second/"), app("flat-"));
    let none = FileAttributes::default();
    first.create("a.txt", &none, chunks(vec![b"1".to_vec()]), None).await.unwrap();
    second.create("a.txt", &none, chunks(vec![b"2".to_vec()]), None).await.unwrap();
    flat.create("b.txt", &none, chunks(vec![b"3".to_vec()]), None).await.unwrap();
    assert_eq!(read_all(&first, "a.txt", None).await, b"1");
    assert_eq!(read_all(&second, "a.txt", None).await, b"2");
    assert_eq!(names(&first).await, ["a.txt"]);
    assert_eq!(names(&flat).await, ["b.txt"]);
    // The keys are the prefix and the name, as parse-server's S3 adapter writes them.
    let (status, body) = send(http::Method::GET, &format!("{endpoint}/{bucket}/flat-b.txt")).await;
    assert_eq!((status.as_u16(), body), (200, b"3".to_vec()));
}

#[tokio::test]
async fn direct_and_presigned_urls_reach_the_bytes() {
    let Some(endpoint) = endpoint() else { return };
    let bucket = fresh_bucket(&endpoint).await;
    allow_public_reads(&endpoint, &bucket).await;
    let mut direct = options(&endpoint, &bucket);
    direct.urls = S3Urls::Direct { base_url: None };
    let direct = S3Files::open(direct).unwrap();
    let none = FileAttributes::default();
    direct.create("é 1.txt", &none, chunks(vec![b"direct".to_vec()]), None).await.unwrap();
    let url = direct.direct_url("é 1.txt").unwrap();
    assert_eq!(url, format!("{endpoint}/{bucket}/%C3%A9%201.txt"));
    assert_eq!(send(http::Method::GET, &url).await.1, b"direct");
    assert_eq!(direct.redirect_url("é 1.txt").await.unwrap(), None);

    let mut presigned = options(&endpoint, &bucket);
    presigned.urls = S3Urls::Presigned { expires: std::time::Duration::from_secs(60) };
    let presigned = S3Files::open(presigned).unwrap();
    assert_eq!(presigned.direct_url("é 1.txt"), None);
    let url = presigned.redirect_url("é 1.txt").await.unwrap().unwrap();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert_eq!(send(http::Method::GET, &url).await.1, b"direct");
    let missing = presigned.redirect_url("missing.txt").await.unwrap_err();
    assert_eq!(missing.code, ErrorCode::ObjectNotFound);
}
