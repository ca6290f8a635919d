//! An app exported and imported into another, on SQLite storage and a local files folder: the
//! same objects (internal columns included), relations and files come out; an import that
//! fails anywhere leaves the target app as it was.

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use reparse_archive::{ExportOptions, ImportSummary, export, import};
use reparse_core::ErrorCode;
use reparse_core::query::{FieldPath, Filter};
use reparse_core::schema::{ClassSchema, FieldSpec, FieldType};
use reparse_core::update::{FieldUpdate, RelationChange};
use reparse_core::value::Object;
use reparse_files::{FileAttributes, LocalFiles};
use reparse_server::{App, AppConfig};
use reparse_storage_sqlite::SqliteStorage;
use serde_json::{Value, json};
use tempfile::TempDir;

fn open_app(dir: &TempDir, name: &str) -> Arc<App> {
    let folder = dir.path().join(name);
    std::fs::create_dir_all(&folder).unwrap();
    let storage = SqliteStorage::open(&folder.join("data.sqlite")).unwrap();
    let files = LocalFiles::open(folder.join("files")).unwrap();
    let config = AppConfig::new(name, "master", "http://localhost/parse");
    Arc::new(App::new(config, Arc::new(storage)).unwrap().with_files(Arc::new(files)))
}

fn object(value: Value) -> Object {
    value.as_object().unwrap().clone()
}

fn game_schema() -> ClassSchema {
    let mut schema = ClassSchema::new("Game");
    schema.set_field("score", FieldSpec::of(FieldType::Number));
    schema.set_field("when", FieldSpec::of(FieldType::Date));
    schema.set_field("owner", FieldSpec::of(FieldType::Pointer { target_class: "_User".into() }));
    schema.set_field("players", FieldSpec::of(FieldType::Relation { target_class: "_User".into() }));
    schema.set_field("cover", FieldSpec::of(FieldType::File));
    schema
}

/// A user with a password hash, 2,500 games (three parts), a relation and a file.
async fn fill(app: &App) {
    let storage = app.storage.as_ref();
    let users = ClassSchema::new("_User");
    storage.create_class(&users).await.unwrap();
    let user = json!({"objectId": "u1", "username": "ann", "_hashed_password": "$2b$10$abcdefghijklmnopqrstuv",
        "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z", "_rperm": ["*", "u1"], "_wperm": ["u1"]});
    storage.insert(&users, &object(user)).await.unwrap();
    let games = game_schema();
    storage.create_class(&games).await.unwrap();
    for index in 0..2500 {
        let game = json!({"objectId": format!("g{index:05}"), "score": index, "createdAt": "2026-01-02T00:00:00.000Z",
            "updatedAt": "2026-01-02T00:00:00.000Z", "when": {"__type": "Date", "iso": "2026-02-03T04:05:06.789Z"},
            "owner": {"__type": "Pointer", "className": "_User", "objectId": "u1"},
            "cover": {"__type": "File", "name": "cover.png"}});
        storage.insert(&games, &object(game)).await.unwrap();
    }
    let players = RelationChange { target_class: "_User".into(), add: vec!["u1".into()], remove: vec![] };
    let updates = vec![(FieldPath::top("players"), FieldUpdate::Relation(players))];
    storage.update(&games, "g00007", &Filter::everything(), &updates).await.unwrap().unwrap();
    let attributes = FileAttributes {
        content_type: Some("image/png".into()),
        metadata: object(json!({"author": "ann"})),
        tags: object(json!({"kind": "cover"})),
    };
    let body = futures::stream::iter([Ok(Bytes::from_static(b"not really a png"))]);
    app.files.as_ref().unwrap().create("cover.png", &attributes, Box::pin(body), None).await.unwrap();
}

async fn archive_of(app: &Arc<App>, include_files: bool) -> Vec<u8> {
    let chunks: Vec<Bytes> =
        export(app.clone(), ExportOptions { include_files }).try_collect().await.unwrap();
    chunks.concat()
}

async fn everything(app: &App, class_name: &str) -> Vec<Object> {
    let schema = app.schemas.get(app.storage.as_ref(), class_name).await.unwrap().unwrap();
    app.storage.scan(&schema, &Filter::everything(), None, 10_000).await.unwrap()
}

async fn file_bytes(app: &App, name: &str) -> Vec<u8> {
    let read = app.files.as_ref().unwrap().read(name, None).await.unwrap();
    let chunks: Vec<Bytes> = read.body.try_collect().await.unwrap();
    chunks.concat()
}

#[tokio::test]
async fn an_app_comes_back_whole() {
    let dir = TempDir::new().unwrap();
    let source = open_app(&dir, "source");
    fill(&source).await;
    let archive = archive_of(&source, true).await;

    let target = open_app(&dir, "target");
    let summary = import(&target, std::io::Cursor::new(archive)).await.unwrap();
    assert_eq!(summary, ImportSummary { classes: 2, objects: 2501, relations: 1, files: 1 });

    for class_name in ["_User", "Game"] {
        assert_eq!(
            everything(&target, class_name).await,
            everything(&source, class_name).await,
            "{class_name}"
        );
    }
    let source_schema = source.schemas.get(source.storage.as_ref(), "Game").await.unwrap().unwrap();
    let target_schema = target.schemas.get(target.storage.as_ref(), "Game").await.unwrap().unwrap();
    assert_eq!(target_schema, source_schema);
    let related = target.storage.related_ids("Game", "players", "_User", "g00007").await.unwrap();
    assert_eq!(related, vec!["u1".to_string()]);
    assert_eq!(file_bytes(&target, "cover.png").await, b"not really a png");
    let attributes = target.files.as_ref().unwrap().attributes("cover.png").await.unwrap();
    assert_eq!(attributes.content_type.as_deref(), Some("image/png"));
    assert_eq!(attributes.metadata, object(json!({"author": "ann"})));
    assert_eq!(attributes.tags, object(json!({"kind": "cover"})));
}

#[tokio::test]
async fn files_are_left_out_unless_asked_for() {
    let dir = TempDir::new().unwrap();
    let source = open_app(&dir, "source");
    fill(&source).await;
    let target = open_app(&dir, "target");
    let summary = import(&target, std::io::Cursor::new(archive_of(&source, false).await)).await.unwrap();
    assert_eq!(summary.files, 0);
    assert!(target.files.as_ref().unwrap().info("cover.png").await.is_err());
}

#[tokio::test]
async fn an_app_with_data_is_refused() {
    let dir = TempDir::new().unwrap();
    let source = open_app(&dir, "source");
    fill(&source).await;
    let archive = archive_of(&source, true).await;
    let error = import(&source, std::io::Cursor::new(archive)).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::OperationForbidden);
    assert!(error.message.contains("already holds data"), "{}", error.message);
    assert_eq!(everything(&source, "Game").await.len(), 2500);
}

/// Rebuilds an archive with one entry's text changed.
async fn tampered(archive: &[u8], path: &str, change: impl Fn(String) -> String) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let decoder = async_compression::tokio::bufread::GzipDecoder::new(archive);
    let mut reader = tokio_tar::Archive::new(decoder);
    let mut entries = reader.entries().unwrap();
    let mut builder = tokio_tar::Builder::new(Vec::new());
    while let Some(entry) = entries.next().await {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).await.unwrap();
        if name == path {
            bytes = change(String::from_utf8(bytes).unwrap()).into_bytes();
        }
        let mut header = tokio_tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, &name, bytes.as_slice()).await.unwrap();
    }
    let tar = builder.into_inner().await.unwrap();
    let mut encoder = async_compression::tokio::write::GzipEncoder::new(Vec::new());
    tokio::io::AsyncWriteExt::write_all(&mut encoder, &tar).await.unwrap();
    tokio::io::AsyncWriteExt::shutdown(&mut encoder).await.unwrap();
    encoder.into_inner()
}

async fn assert_untouched(target: &App) {
    let classes = target.storage.load_schemas().await.unwrap();
    assert!(
        classes.is_empty(),
        "classes left behind: {:?}",
        classes.iter().map(|c| &c.class_name).collect::<Vec<_>>()
    );
    assert!(target.schemas.all(target.storage.as_ref()).await.unwrap().is_empty());
    assert!(target.files.as_ref().unwrap().info("cover.png").await.is_err(), "the file was left behind");
}

#[tokio::test]
async fn a_bad_line_anywhere_changes_nothing() {
    let dir = TempDir::new().unwrap();
    let source = open_app(&dir, "source");
    fill(&source).await;
    let archive = archive_of(&source, true).await;
    let target = open_app(&dir, "target");

    // The third part of Game, after 2,000 objects were written in the transaction.
    let wrong_type = tampered(&archive, "classes/Game/000003.jsonl", |text| {
        text.replacen("\"score\":2001", "\"score\":\"2001\"", 1)
    })
    .await;
    let error = import(&target, std::io::Cursor::new(wrong_type)).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidJson);
    assert_eq!(
        error.message,
        "Invalid archive: classes/Game/000003.jsonl, line 2: field score: expected Number but got String"
    );
    assert_untouched(&target).await;

    let duplicate =
        tampered(&archive, "classes/Game/000003.jsonl", |text| text.replacen("g02001", "g00001", 1)).await;
    let error = import(&target, std::io::Cursor::new(duplicate)).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::DuplicateValue, "{}", error.message);
    assert!(error.message.starts_with("Archive classes/Game/000003.jsonl, line 2:"), "{}", error.message);
    assert_untouched(&target).await;

    let not_json =
        tampered(&archive, "relations/Game/players/000001.jsonl", |_| "{\"owningId\": \"g00007\"".into())
            .await;
    let error = import(&target, std::io::Cursor::new(not_json)).await.unwrap_err();
    assert!(
        error.message.starts_with("Invalid archive: relations/Game/players/000001.jsonl, line 1:"),
        "{}",
        error.message
    );
    assert_untouched(&target).await;

    // Cut short near the end, after every object was written.
    let truncated = &archive[..archive.len() - 40];
    let error = import(&target, std::io::Cursor::new(truncated.to_vec())).await.unwrap_err();
    // Where the cut falls (the file's bytes or the archive's end) varies with compression.
    assert!(error.message.contains("unexpected end of file"), "{}", error.message);
    assert_untouched(&target).await;

    let error = import(&target, std::io::Cursor::new(b"hello".to_vec())).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::InvalidJson);
    assert_untouched(&target).await;

    // And the untampered archive still goes in; so does one whose relation names an object it
    // does not hold (a join table's leftover), which is skipped.
    let leftover = tampered(&archive, "relations/Game/players/000001.jsonl", |text| {
        format!("{text}{{\"owningId\": \"ghost\", \"relatedIds\": [\"u1\"]}}\n")
    })
    .await;
    let summary = import(&target, std::io::Cursor::new(leftover)).await.unwrap();
    assert_eq!(summary.relations, 1);
    assert_eq!(everything(&target, "Game").await.len(), 2500);
}
