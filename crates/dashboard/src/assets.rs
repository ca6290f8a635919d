//! The front end's files: built by build.rs from `web/` and embedded with the `assets` feature.
//! Any page path that is not a file gets `index.html` (the pages route in the browser).

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Headers every dashboard answer carries: no framing (clickjacking), no sniffing, and a
/// content policy that lets the pages load only their own code.
pub(crate) async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        // Images may come from a file storage's own address (S3 direct access); the grid
        // sets inline styles.
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
             img-src 'self' data: blob: https: http:; connect-src 'self'; object-src 'none'; \
             frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        ),
    );
    response
}

pub(crate) async fn serve(path: Option<Path<String>>) -> Response {
    let path = path.map(|Path(path)| path).unwrap_or_default();
    embedded::file(path.trim_start_matches('/'))
}

pub(crate) async fn single_app_page() -> Response {
    let page = "<!doctype html><meta charset=utf-8><title>Reparse dashboard</title>\
        <h1>No dashboard for a single app</h1>\
        <p>This server serves one app from its parse-server config (an <code>appId</code> was given). \
        The Reparse dashboard manages the apps of an installation's registry: run \
        <code>reparse serve</code> without <code>appId</code> and add apps with \
        <code>reparse apps create</code>. The community's Parse Dashboard works with this server \
        as it does with parse-server.</p>";
    (StatusCode::NOT_FOUND, Html(page)).into_response()
}

#[cfg(feature = "assets")]
mod embedded {
    use super::*;

    #[derive(rust_embed::Embed)]
    #[folder = "$OUT_DIR/dist"]
    struct Assets;

    pub(super) fn file(path: &str) -> Response {
        // Built files are named by their content's hash: cached for good.
        let (file, cache) = match Assets::get(path) {
            Some(file) if !path.is_empty() => (file, "public, max-age=31536000, immutable"),
            // A missing built file is a 404, not the page (a stale page asking for old code).
            _ if path.starts_with("assets/") => return StatusCode::NOT_FOUND.into_response(),
            _ => match Assets::get("index.html") {
                Some(file) => (file, "no-cache"),
                None => return StatusCode::NOT_FOUND.into_response(),
            },
        };
        let content_type = HeaderValue::from_str(file.metadata.mimetype())
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        (
            [(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, HeaderValue::from_static(cache))],
            file.data.into_owned(),
        )
            .into_response()
    }
}

#[cfg(not(feature = "assets"))]
mod embedded {
    use super::*;

    pub(super) fn file(_path: &str) -> Response {
        let page = "<!doctype html><meta charset=utf-8><title>Reparse dashboard</title>\
            <h1>The dashboard's pages are not in this build</h1>\
            <p>This Reparse binary was built without the <code>assets</code> feature of \
            <code>reparse-dashboard</code> (for example with <code>--no-default-features</code>), \
            so it has no dashboard pages. Build it with the default features (Node.js and npm are \
            needed at build time) to get them. The server and its API work as usual.</p>";
        (StatusCode::NOT_FOUND, Html(page)).into_response()
    }
}
