//! Bare HTTP ceiling for bench/run: same runtime and HTTP stack as Reparse
//! (tokio + hyper via axum), no storage, no JSON work. Every route answers a
//! fixed body shaped like a Parse object; `/health` answers `{"status":"ok"}`;
//! `/parse/users/me` answers a fixed user (no token check).
//!
//! `POST /parse/login` is the one route that works: it reads `password` from the
//! JSON body and runs one bcrypt verify (the `bcrypt` crate, as Reparse, on
//! tokio's blocking pool as Reparse does) against [`HASH`], with no user lookup
//! and no session write. The hash is a constant (cost 10, like Reparse's and
//! parse-server's), so start-up does no bcrypt work; it is printed at start-up
//! (`bcrypt hash: $2b$10$...`) so bench/run can record its prefix and cost.
//!
//!   reparse-bench-bare --port 8080

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::{any, post};

const OBJECT: &str = r#"{"objectId":"a1B2c3D4e5","score":4242,"name":"bench item","createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z"}"#;
const USER: &str = r#"{"objectId":"u1B2c3D4e5","username":"bench-user-0000","createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z","ACL":{"*":{"read":true},"u1B2c3D4e5":{"read":true,"write":true}},"sessionToken":"r:0123456789abcdef0123456789abcdef"}"#;
const BAD_LOGIN: &str = r#"{"code":101,"error":"Invalid username/password."}"#;
const HEALTH: &str = r#"{"status":"ok"}"#;
/// bcrypt (cost 10) of `bench-bare-password`, the password every bench user has
/// on bare (bench/run writes it in the users file). Made once with bcryptjs.
const HASH: &str = "$2b$10$UGn1h8Jv7jVrZOSlUWbJnerEol5OgaUMVBKh6aVma3CPNK/WZYw8m";

async fn object() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], OBJECT)
}

async fn user() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], USER)
}

async fn login(body: Bytes) -> impl IntoResponse {
    let password = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("password")?.as_str().map(str::to_owned));
    let ok = match password {
        Some(password) => {
            tokio::task::spawn_blocking(move || bcrypt::verify(password, HASH).unwrap_or(false))
                .await
                .unwrap_or(false)
        }
        None => false,
    };
    if ok {
        (StatusCode::OK, [(CONTENT_TYPE, "application/json")], USER)
    } else {
        (StatusCode::NOT_FOUND, [(CONTENT_TYPE, "application/json")], BAD_LOGIN)
    }
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
    println!("bcrypt hash: {HASH}");
    let app = Router::new()
        .route("/health", any(health))
        .route("/parse/health", any(health))
        .route("/parse/users/me", any(user))
        .route("/parse/login", post(login))
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
