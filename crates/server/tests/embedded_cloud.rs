//! Reparse embedded as a library: an application builds its app with cloud code written as Rust
//! closures (`RustCloud`), serves it on a port of its own, and clients reach the functions and
//! triggers over HTTP as they would a Node.js cloud folder's.

use std::sync::Arc;

use reparse_cloud::{RustCloud, Trigger, TriggerOutcome};
use reparse_core::{ErrorCode, ParseError};
use reparse_server::{App, AppConfig, ServerOptions, StaticDirectory};
use reparse_storage_sqlite::SqliteStorage;
use serde_json::{Value, json};

#[tokio::test]
async fn rust_closures_serve_functions_and_triggers_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let storage = SqliteStorage::open(&dir.path().join("app.sqlite")).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/parse", listener.local_addr().unwrap());
    let cloud = RustCloud::new()
        .define("double", |request| async move {
            let n = request.params.get("n").and_then(Value::as_f64);
            let n = n.ok_or_else(|| ParseError::new(ErrorCode::ValidationError, "n must be a number"))?;
            Ok(json!(n * 2.0))
        })
        .trigger(Trigger::BeforeSave, "Item", |request| async move {
            let mut changes = request.input.changes.unwrap_or_default();
            let name = changes.get("name").and_then(Value::as_str).unwrap_or_default().to_uppercase();
            changes.insert("name".into(), json!(name));
            Ok(TriggerOutcome {
                changes: Some(changes),
                context: request.context.context,
                ..Default::default()
            })
        });
    let mut config = AppConfig::new("embedded", "master", &url);
    config.allow_client_class_creation = true;
    let app = App::new(config, Arc::new(storage)).unwrap().with_cloud(Arc::new(cloud));
    let router = reparse_server::router(
        Arc::new(StaticDirectory::new(vec![Arc::new(app)])),
        ServerOptions { mount_path: "/parse".into(), max_body_bytes: 1 << 20, ..ServerOptions::default() },
    );
    tokio::spawn(reparse_server::serve(listener, router, std::future::pending()));

    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        client.post(format!("{url}{path}")).header("X-Parse-Application-Id", "embedded").json(&body).send()
    };
    let answer = post("/functions/double", json!({"n": 21})).await.unwrap();
    assert_eq!(answer.json::<Value>().await.unwrap(), json!({"result": 42.0}));
    let refused = post("/functions/double", json!({})).await.unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(refused.json::<Value>().await.unwrap(), json!({"code": 142, "error": "n must be a number"}));
    let created = post("/classes/Item", json!({"name": "quiet"})).await.unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["name"], "QUIET", "the trigger's change is in the response");
    let id = created["objectId"].as_str().unwrap();
    let stored: Value = client
        .get(format!("{url}/classes/Item/{id}"))
        .header("X-Parse-Application-Id", "embedded")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["name"], "QUIET");
}
