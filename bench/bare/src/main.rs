//! Bare HTTP ceiling for bench/run: same runtime and HTTP stack as Reparse
//! (tokio + hyper via axum), no storage, no JSON work. Every route answers a
//! fixed body shaped like a Parse object; `/health` answers `{"status":"ok"}`.
//!
//!   reparse-bench-bare --port 8080

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::any;

const OBJECT: &str = r#"{"objectId":"a1B2c3D4e5","score":4242,"name":"bench item","createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z"}"#;
const HEALTH: &str = r#"{"status":"ok"}"#;

async fn object() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], OBJECT)
}

async fn health() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], HEALTH)
}

#[tokio::main]
async fn main() {
    let mut port: u16 = 8080;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => {
                port = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("--port needs a number")
            }
            other => panic!("unknown argument {other}; usage: --port N"),
        }
    }
    let app = Router::new()
        .route("/health", any(health))
        .route("/parse/health", any(health))
        .fallback(object);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    println!("bare is listening on http://127.0.0.1:{port}/");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler");
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        })
        .await
        .expect("serve");
}
