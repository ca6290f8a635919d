//! The binary as a user runs it: zero-config start, config files, the apps CLI and app
//! isolation. Each test spawns the real `reparse` on an ephemeral port.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{BINARY, Server, agent, call, run_cli};
use serde_json::{Value, json};

#[test]
fn zero_config_start_generates_keys_once_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let (app_id, master_key, object_id) = {
        let server = Server::start(dir.path(), &[]);
        assert!(dir.path().join("reparse-data").is_dir());
        let app_id = server.printed_value("appId");
        let master_key = server.printed_value("masterKey");
        let (status, body) = call("GET", &format!("{}/health", server.url), &[], None);
        assert_eq!((status, body), (200, json!({"status": "ok"})));
        let headers =
            [("X-Parse-Application-Id", app_id.as_str()), ("X-Parse-Master-Key", master_key.as_str())];
        let (status, created) =
            call("POST", &format!("{}/classes/Note", server.url), &headers, Some(json!({"text": "kept"})));
        assert_eq!(status, 201, "{created}");
        (app_id, master_key, created["objectId"].as_str().unwrap().to_string())
    };
    let server = Server::start(dir.path(), &[]);
    assert_eq!(server.printed_value("appId"), app_id);
    assert_eq!(server.printed_value("masterKey"), master_key);
    let headers = [("X-Parse-Application-Id", app_id.as_str()), ("X-Parse-Master-Key", master_key.as_str())];
    let (status, fetched) = call("GET", &format!("{}/classes/Note/{object_id}", server.url), &headers, None);
    assert_eq!(status, 200, "{fetched}");
    assert_eq!(fetched["text"], "kept");
}

#[test]
fn config_file_options_are_read_and_unsupported_ones_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(&config, r#"{"appId": "a", "masterKey": "m", "push": {}}"#).unwrap();
    let (ok, _, stderr) = run_cli(dir.path(), &["serve", "--config", config.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("\"push\"") && stderr.contains("not supported"), "{stderr}");

    std::fs::write(&config, r#"{"appId": "a", "masterKey": "m", "cloud": "./cloud/main.js"}"#).unwrap();
    let (ok, _, stderr) = run_cli(dir.path(), &["serve", "--config", config.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("cloud/main.js does not exist"), "{stderr}");

    std::fs::write(&config, r#"{"appId": "a", "masterKey": "m", "databaseURI": "postgres://localhost/x"}"#)
        .unwrap();
    let (ok, _, stderr) = run_cli(dir.path(), &["serve", "--config", config.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("PostgreSQL"), "{stderr}");

    // LiveQuery's options are checked before anything starts.
    for (options, named) in [
        (json!({"liveQueryServerOptions": {"port": 1338}}), "liveQueryServerOptions.port"),
        (json!({"liveQueryServerOptions": {"websocketTimeout": "soon"}}), "websocketTimeout"),
        (json!({"liveQuery": {"classNames": ["A"], "queueLimit": 0}}), "queueLimit"),
    ] {
        let mut text = json!({"appId": "a", "masterKey": "m"});
        text.as_object_mut().unwrap().extend(options.as_object().unwrap().clone());
        std::fs::write(&config, text.to_string()).unwrap();
        let (ok, _, stderr) = run_cli(dir.path(), &["serve", "--config", config.to_str().unwrap()]);
        assert!(!ok && stderr.contains(named), "{stderr}");
    }
    // A LiveQuery-only node hears of writes over Redis alone: without redisURL it cannot start.
    std::fs::write(&config, r#"{"appId": "a", "masterKey": "m", "liveQuery": {"classNames": ["A"]}}"#)
        .unwrap();
    let (ok, _, stderr) = run_cli(dir.path(), &["livequery", "--config", config.to_str().unwrap()]);
    assert!(!ok && stderr.contains("liveQuery.redisURL"), "{stderr}");

    let database = dir.path().join("custom.sqlite");
    let config_text = json!({
        "appId": "cfg", "masterKey": "cfg-master", "restAPIKey": "rest",
        "databaseURI": format!("sqlite://{}", database.display()), "maxLimit": 2,
        "allowClientClassCreation": true,
    });
    std::fs::write(&config, config_text.to_string()).unwrap();
    let server = Server::start(dir.path(), &["--config", config.to_str().unwrap()]);
    assert!(database.exists());
    let client = [("X-Parse-Application-Id", "cfg"), ("X-Parse-REST-API-Key", "rest")];
    for n in 0..3 {
        let (status, _) =
            call("POST", &format!("{}/classes/Item", server.url), &client, Some(json!({"n": n})));
        assert_eq!(status, 201);
    }
    let (_, found) = call("GET", &format!("{}/classes/Item?limit=10", server.url), &client, None);
    assert_eq!(found["results"].as_array().unwrap().len(), 2, "maxLimit caps the limit");
    let wrong = [("X-Parse-Application-Id", "cfg"), ("X-Parse-REST-API-Key", "nope")];
    let (status, body) = call("GET", &format!("{}/classes/Item", server.url), &wrong, None);
    assert_eq!((status, body), (403, json!({"error": "unauthorized"})));
}

#[test]
fn apps_are_created_listed_and_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, first, _) = run_cli(dir.path(), &["apps", "create", "first"]);
    assert!(ok, "{first}");
    let (ok, second, _) = run_cli(dir.path(), &["apps", "create", "second"]);
    assert!(ok, "{second}");
    let (ok, listed, _) = run_cli(dir.path(), &["apps", "list"]);
    assert!(ok && listed.contains("first") && listed.contains("second"), "{listed}");
    let (ok, _, stderr) = run_cli(dir.path(), &["apps", "create", "first"]);
    assert!(!ok && stderr.contains("already exists"), "{stderr}");

    // Per-app options need single-app mode; in registry mode they would apply to nothing.
    let (ok, _, stderr) = run_cli(dir.path(), &["serve", "--max-limit", "5"]);
    assert!(!ok && stderr.contains("\"maxLimit\"") && stderr.contains("appId"), "{stderr}");

    let server = Server::start(dir.path(), &[]);
    let (first_id, first_master) = (printed(&first, "appId"), printed(&first, "masterKey"));
    let (second_id, second_master) = (printed(&second, "appId"), printed(&second, "masterKey"));
    let first_headers =
        [("X-Parse-Application-Id", first_id.as_str()), ("X-Parse-Master-Key", first_master.as_str())];
    let (status, _) =
        call("POST", &format!("{}/classes/Secret", server.url), &first_headers, Some(json!({"v": 1})));
    assert_eq!(status, 201);

    // The second app's master key opens nothing of the first app.
    let crossed =
        [("X-Parse-Application-Id", first_id.as_str()), ("X-Parse-Master-Key", second_master.as_str())];
    let (status, body) = call("GET", &format!("{}/classes/Secret", server.url), &crossed, None);
    assert_eq!(
        (status, body),
        (403, json!({"error": "unauthorized"})),
        "client keys are configured, so a wrong master key is refused"
    );
    // The second app has its own data: the first app's class is not there.
    let second_headers =
        [("X-Parse-Application-Id", second_id.as_str()), ("X-Parse-Master-Key", second_master.as_str())];
    let (status, body) = call("GET", &format!("{}/classes/Secret", server.url), &second_headers, None);
    assert_eq!((status, body), (200, json!({"results": []})));

    // An app created while the server runs is served without a restart.
    let (ok, third, _) = run_cli(dir.path(), &["apps", "create", "third"]);
    assert!(ok);
    let third_headers = [
        ("X-Parse-Application-Id", printed(&third, "appId")),
        ("X-Parse-Master-Key", printed(&third, "masterKey")),
    ];
    let third_headers: Vec<(&str, &str)> = third_headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _) = call("GET", &format!("{}/schemas", server.url), &third_headers, None);
    assert_eq!(status, 200);

    let (ok, _, stderr) = run_cli(dir.path(), &["apps", "delete", "second"]);
    assert!(!ok && stderr.contains("--yes"), "{stderr}");
    let (ok, _, _) = run_cli(dir.path(), &["apps", "delete", "second", "--yes"]);
    assert!(ok);
    // The running server stops serving a deleted app once it re-reads the registry (≤ 1 s).
    std::thread::sleep(Duration::from_millis(1200));
    let (status, body) = call("GET", &format!("{}/classes/Secret", server.url), &second_headers, None);
    assert_eq!((status, body), (403, json!({"error": "unauthorized"})));
    let (_, listed, _) = run_cli(dir.path(), &["apps", "list"]);
    assert!(!listed.contains("second"), "{listed}");
}

/// The value printed after `label:` in a command's output.
fn printed(output: &str, label: &str) -> String {
    output
        .lines()
        .find_map(|line| line.trim().strip_prefix(&format!("{label}:")).map(|v| v.trim().to_string()))
        .unwrap_or_else(|| panic!("{label} was not printed: {output}"))
}

#[test]
fn apps_are_renamed_and_rotated_keys_replace_the_old_ones_on_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, created, _) = run_cli(dir.path(), &["apps", "create", "shop"]);
    assert!(ok, "{created}");
    let app_id = printed(&created, "appId");
    let old_master = printed(&created, "masterKey");
    let server = Server::start(dir.path(), &[]);
    let with_master = |key: &str| {
        let headers = [("X-Parse-Application-Id", app_id.as_str()), ("X-Parse-Master-Key", key)];
        call("GET", &format!("{}/schemas", server.url), &headers, None).0
    };
    assert_eq!(with_master(&old_master), 200);

    let (ok, rotated, _) = run_cli(dir.path(), &["apps", "keys", "shop", "--rotate"]);
    assert!(ok, "{rotated}");
    assert_eq!(printed(&rotated, "appId"), app_id);
    let new_master = printed(&rotated, "masterKey");
    assert_ne!(new_master, old_master);
    assert_ne!(printed(&rotated, "javascriptKey"), printed(&created, "javascriptKey"));
    // The running server re-reads the record within a second.
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(with_master(&old_master), 403, "the old master key still works");
    assert_eq!(with_master(&new_master), 200);
    let (_, shown, _) = run_cli(dir.path(), &["apps", "keys", "shop"]);
    assert_eq!(printed(&shown, "masterKey"), new_master);

    let (ok, _, stderr) = run_cli(dir.path(), &["apps", "rename", "shop", "not valid"]);
    assert!(!ok && stderr.contains("letters, digits"), "{stderr}");
    let (ok, _, _) = run_cli(dir.path(), &["apps", "rename", "shop", "store"]);
    assert!(ok);
    let (_, listed, _) = run_cli(dir.path(), &["apps", "list"]);
    assert!(listed.contains("store") && !listed.contains("shop") && listed.contains(&app_id), "{listed}");
    assert_eq!(with_master(&new_master), 200, "a renamed app keeps its id and data");
}

#[test]
fn dashboard_users_are_added_listed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, added, _) =
        run_cli(dir.path(), &["dashboard-user", "add", "ann", "--password", "correct horse"]);
    assert!(ok && added.contains("\"ann\""), "{added}");
    // Without --password, the first line of stdin is the password.
    let mut child = Command::new(BINARY)
        .args(["dashboard-user", "add", "viewer", "--read-only"])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"look but do not touch\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success() && String::from_utf8_lossy(&output.stdout).contains("read-only"));
    let (ok, _, stderr) = run_cli(dir.path(), &["dashboard-user", "add", "bob", "--password", "short"]);
    assert!(!ok && stderr.contains("at least 8"), "{stderr}");
    let (ok, _, stderr) = run_cli(dir.path(), &["dashboard-user", "add", "ann", "--password", "another one"]);
    assert!(!ok && stderr.contains("already exists"), "{stderr}");

    let (_, listed, _) = run_cli(dir.path(), &["dashboard-user", "list"]);
    let lines: Vec<&str> = listed.lines().collect();
    assert!(lines[0].starts_with("ann\tread-write") && lines[1].starts_with("viewer\tread-only"), "{listed}");
    let (ok, _, _) = run_cli(dir.path(), &["dashboard-user", "remove", "ann"]);
    assert!(ok);
    let (ok, _, stderr) = run_cli(dir.path(), &["dashboard-user", "remove", "ann"]);
    assert!(!ok && stderr.contains("ann"), "{stderr}");
    let (_, listed, _) = run_cli(dir.path(), &["dashboard-user", "list"]);
    assert!(!listed.contains("ann") && listed.contains("viewer"), "{listed}");
}

#[test]
fn bodies_over_max_upload_size_are_refused_with_413_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    let config_text = json!({
        "appId": "small", "masterKey": "small-master", "maxUploadSize": "1kb",
        "databaseURI": format!("sqlite://{}", dir.path().join("small.sqlite").display()),
    });
    std::fs::write(&config, config_text.to_string()).unwrap();
    let server = Server::start(dir.path(), &["--config", config.to_str().unwrap()]);
    let master = [("X-Parse-Application-Id", "small"), ("X-Parse-Master-Key", "small-master")];
    let url = format!("{}/classes/Blob", server.url);
    let (status, body) = call("POST", &url, &master, Some(json!({"text": "x".repeat(2048)})));
    assert_eq!((status, body), (413, json!({"error": "request entity too large"})));
    let (status, found) = call("GET", &url, &master, None);
    assert_eq!((status, found), (200, json!({"results": []})));
    let (status, _) = call("POST", &url, &master, Some(json!({"text": "small"})));
    assert_eq!(status, 201);
}

/// Users migrated from parse-server keep their bcrypt hashes (bcryptjs writes `$2b$`, older
/// versions `$2a$`) and log in with their passwords.
#[test]
fn users_migrated_with_parse_server_hashes_log_in() {
    use reparse_core::schema::ClassSchema;
    use reparse_storage::Store;

    // Made by bcryptjs 3.0.3 (parse-server 9) and bcryptjs 2.4.3, cost 10.
    let users = [
        ("mig3", "migrated-password", "$2b$10$e0A6NT8re3CUKWh07oZ8Tu8y2FYOcdnWyIsx8GDEbou0ObGRNikdm"),
        ("mig2", "legacy-password", "$2a$10$B6Ycf5gpQlomjhbTnJ9dD.AwOhMZ61DWrD1oDhVWUt0d6il23GNwS"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("migrated.sqlite");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let storage = reparse_storage_sqlite::SqliteStorage::open(&database).unwrap();
        let schema = ClassSchema::new("_User");
        storage.create_class(&schema).await.unwrap();
        for (id, _, hash) in users {
            let row = json!({
                "objectId": id, "createdAt": "2020-01-01T00:00:00.000Z", "updatedAt": "2020-01-01T00:00:00.000Z",
                "username": id, "_hashed_password": hash, "_rperm": ["*", id], "_wperm": [id],
            });
            storage.insert(&schema, row.as_object().unwrap()).await.unwrap();
        }
    });
    drop(runtime);

    let config = dir.path().join("config.json");
    let config_text = json!({
        "appId": "mig", "masterKey": "mig-master", "restAPIKey": "rest",
        "databaseURI": format!("sqlite://{}", database.display()),
    });
    std::fs::write(&config, config_text.to_string()).unwrap();
    let server = Server::start(dir.path(), &["--config", config.to_str().unwrap()]);
    let client = [("X-Parse-Application-Id", "mig"), ("X-Parse-REST-API-Key", "rest")];
    for (id, password, _) in users {
        let login = json!({"username": id, "password": password});
        let (status, body) = call("POST", &format!("{}/login", server.url), &client, Some(login));
        assert_eq!(status, 200, "{id}: {body}");
        assert_eq!(body["objectId"], id);
        assert!(body["sessionToken"].as_str().is_some_and(|token| token.starts_with("r:")), "{body}");
        assert!(body.get("_hashed_password").is_none() && body.get("password").is_none(), "{body}");
        let wrong = json!({"username": id, "password": "not-it"});
        let (status, body) = call("POST", &format!("{}/login", server.url), &client, Some(wrong));
        assert_eq!((status, body), (404, json!({"code": 101, "error": "Invalid username/password."})));
    }
}

/// `masterKeyIps`: the master key works from listed addresses only (loopback by default), and
/// a refused master key is parse-server's raw 403, not a downgrade to a client request.
#[test]
fn the_master_key_is_accepted_from_master_key_ips_only() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    let schemas = |server: &Server| {
        let master = [("X-Parse-Application-Id", "ips"), ("X-Parse-Master-Key", "ips-master")];
        call("GET", &format!("{}/schemas", server.url), &master, None)
    };
    let write = |ips: Value| {
        let text = json!({"appId": "ips", "masterKey": "ips-master", "masterKeyIps": ips,
            "databaseURI": format!("sqlite://{}", dir.path().join("ips.sqlite").display())});
        std::fs::write(&config, text.to_string()).unwrap();
    };
    write(json!(["10.1.2.3", "192.168.0.0/16"]));
    let server = Server::start(dir.path(), &["--config", config.to_str().unwrap()]);
    assert_eq!(schemas(&server), (403, json!({"error": "unauthorized"})));
    drop(server);

    write(json!(["10.0.0.0/8", "127.0.0.0/8"]));
    let server = Server::start(dir.path(), &["--config", config.to_str().unwrap()]);
    assert_eq!(schemas(&server).0, 200);
    drop(server);

    write(json!(["not-an-address"]));
    let (ok, _, stderr) = run_cli(dir.path(), &["serve", "--config", config.to_str().unwrap()]);
    assert!(!ok && stderr.contains("not-an-address"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL (the local server at 127.0.0.1:5432, user postgres, trust authentication): skipped
// when it is unreachable, except under CI=true.

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Runs SQL on the local PostgreSQL; `None` (after saying why) when it is not there.
fn postgres_query(sql: &str) -> Option<Vec<Vec<Option<String>>>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let config: tokio_postgres::Config = POSTGRES.parse().unwrap();
        let (client, connection) = match config.connect(tokio_postgres::NoTls).await {
            Ok(connected) => connected,
            Err(error) => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "PostgreSQL is required on CI: {error}"
                );
                eprintln!("skipped: PostgreSQL at 127.0.0.1:5432 is unreachable ({error})");
                return None;
            }
        };
        tokio::spawn(connection);
        let rows = client.simple_query(sql).await.unwrap();
        Some(
            rows.into_iter()
                .filter_map(|message| match message {
                    tokio_postgres::SimpleQueryMessage::Row(row) => {
                        Some((0..row.len()).map(|index| row.get(index).map(str::to_string)).collect())
                    }
                    _ => None,
                })
                .collect(),
        )
    })
}

/// A fresh database, dropped with the guard.
struct TemporaryDatabase {
    name: String,
}

impl TemporaryDatabase {
    fn create() -> Option<TemporaryDatabase> {
        let name = format!("reparse_cli_{}", reparse_registry::random_key(12).to_lowercase());
        postgres_query(&format!("CREATE DATABASE {name}"))?;
        Some(TemporaryDatabase { name })
    }

    fn uri(&self, host: &str) -> String {
        format!("postgres://postgres@{host}:5432/{}", self.name)
    }
}

impl Drop for TemporaryDatabase {
    fn drop(&mut self) {
        let _ = postgres_query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

fn schema_exists(database: &str, schema: &str) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let config: tokio_postgres::Config = database.parse().unwrap();
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema]).await.unwrap().is_some()
    })
}

#[test]
fn registry_apps_keep_their_data_in_schemas_of_one_postgresql_database() {
    let Some(database) = TemporaryDatabase::create() else { return };
    let apps_database = database.uri("127.0.0.1");
    let dir = tempfile::tempdir().unwrap();
    // An app that has data in its SQLite file before the apps database is configured keeps it.
    let (ok, old, _) = run_cli(dir.path(), &["apps", "create", "old"]);
    assert!(ok, "{old}");
    drop(Server::start(dir.path(), &[]));
    let (_, first, _) = run_cli(dir.path(), &["apps", "create", "first"]);
    let (_, second, _) = run_cli(dir.path(), &["apps", "create", "second"]);
    let (first_id, second_id) = (printed(&first, "appId"), printed(&second, "appId"));

    let server = Server::start(dir.path(), &["--apps-database-uri", &apps_database]);
    let output = server.printed.join("\n");
    assert!(output.contains("New apps keep their data in PostgreSQL"), "{output}");
    assert!(output.contains(&format!("PostgreSQL schema app_{first_id}")), "{output}");
    assert!(output.contains(&format!("apps/{}/data.sqlite", printed(&old, "appId"))), "{output}");
    let headers = |created: &str| {
        [
            ("X-Parse-Application-Id", printed(created, "appId")),
            ("X-Parse-Master-Key", printed(created, "masterKey")),
        ]
    };
    let (first_headers, second_headers) = (headers(&first), headers(&second));
    let as_pairs =
        |headers: &[(&'static str, String); 2]| -> Vec<(&'static str, String)> { headers.to_vec() };
    let call_as = |headers: &[(&'static str, String); 2], method: &str, path: &str, body: Option<Value>| {
        let pairs = as_pairs(headers);
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(name, value)| (*name, value.as_str())).collect();
        call(method, &format!("{}{path}", server.url), &pairs, body)
    };
    // The same class name in both apps: each sees its own objects only.
    assert_eq!(call_as(&first_headers, "POST", "/classes/Secret", Some(json!({"owner": "first"}))).0, 201);
    assert_eq!(call_as(&second_headers, "POST", "/classes/Secret", Some(json!({"owner": "second"}))).0, 201);
    for (headers, owner) in [(&first_headers, "first"), (&second_headers, "second")] {
        let (status, found) = call_as(headers, "GET", "/classes/Secret", None);
        assert_eq!(status, 200, "{found}");
        let owners: Vec<&Value> =
            found["results"].as_array().unwrap().iter().map(|object| &object["owner"]).collect();
        assert_eq!(owners, [&json!(owner)]);
    }
    drop(server);
    assert!(schema_exists(&apps_database, &format!("app_{first_id}")));

    // Without the apps database, its apps cannot be served (nor silently start empty).
    let (ok, _, stderr) = run_cli(dir.path(), &["serve"]);
    assert!(!ok && stderr.contains("--apps-database-uri"), "{stderr}");
    // Deleting such an app needs the database, so that its data goes with it.
    let (ok, _, stderr) = run_cli(dir.path(), &["apps", "delete", "first", "--yes"]);
    assert!(
        !ok && stderr.contains("--apps-database-uri") && stderr.contains("nothing was deleted"),
        "{stderr}"
    );
    let (_, listed, _) = run_cli(dir.path(), &["apps", "list"]);
    assert!(listed.contains("first"), "{listed}");
    let (ok, deleted, stderr) =
        run_cli(dir.path(), &["apps", "delete", "first", "--yes", "--apps-database-uri", &apps_database]);
    assert!(ok, "{stderr}");
    assert!(deleted.contains(&format!("Dropped PostgreSQL schema app_{first_id}")), "{deleted}");
    assert!(!schema_exists(&apps_database, &format!("app_{first_id}")));
    assert!(schema_exists(&apps_database, &format!("app_{second_id}")));
}

/// The server's certificate file, when the local PostgreSQL has TLS on.
fn postgres_certificate() -> Option<String> {
    let rows = postgres_query("SELECT current_setting('ssl'), current_setting('ssl_cert_file')")?;
    let (ssl, file) = (rows[0][0].clone().unwrap(), rows[0][1].clone().unwrap());
    if ssl != "on" {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the local PostgreSQL must have ssl = on on CI"
        );
        eprintln!("skipped: the local PostgreSQL has ssl = off");
        return None;
    }
    Some(file)
}

#[test]
fn postgresql_connections_take_parse_servers_options_and_report_tls() {
    let Some(certificate) = postgres_certificate() else { return };
    let Some(database) = TemporaryDatabase::create() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    let write = |database_uri: String, database_options: Value| {
        let text = json!({"appId": "pg", "masterKey": "pg-master", "databaseURI": database_uri,
            "databaseOptions": database_options});
        std::fs::write(&config, text.to_string()).unwrap();
    };
    let serve = || run_cli(dir.path(), &["serve", "--config", config.to_str().unwrap()]);

    write(format!("{}?max=0", database.uri("127.0.0.1")), json!({}));
    let (ok, _, stderr) = serve();
    assert!(!ok && stderr.contains("max: 0"), "{stderr}");
    write(database.uri("127.0.0.1"), json!({"statement_timeout": "soon"}));
    let (ok, _, stderr) = serve();
    assert!(!ok && stderr.contains("databaseOptions.statement_timeout"), "{stderr}");
    write(database.uri("127.0.0.1"), json!({"schemaCacheTtl": 5}));
    let (ok, _, stderr) = serve();
    assert!(!ok && stderr.contains("databaseOptions.schemaCacheTtl"), "{stderr}");
    // The certificate names localhost: verified by name, it is refused for 127.0.0.1.
    write(format!("{}?sslmode=verify-full&sslrootcert={certificate}", database.uri("127.0.0.1")), json!({}));
    let (ok, _, stderr) = serve();
    assert!(!ok && stderr.contains("not valid for name"), "{stderr}");

    write(
        format!("{}?sslmode=verify-full&sslrootcert={certificate}", database.uri("localhost")),
        json!({"max": 3, "statement_timeout": 400}),
    );
    let server = Server::start(dir.path(), &["--config", config.to_str().unwrap()]);
    let printed = server.printed.join("\n");
    assert!(printed.contains("TLS (TLSv1."), "{printed}");
    assert!(printed.contains("sslmode verify-full") && printed.contains("3 connections"), "{printed}");
    assert!(printed.contains("statement timeout 400ms"), "{printed}");

    // A statement held up past the timeout fails its request with 124; the next one works.
    let master = [("X-Parse-Application-Id", "pg"), ("X-Parse-Master-Key", "pg-master")];
    let url = format!("{}/classes/Slow", server.url);
    assert_eq!(call("POST", &url, &master, Some(json!({"n": 1}))).0, 201);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let locker = runtime.block_on(async {
        let config: tokio_postgres::Config = database.uri("127.0.0.1").parse().unwrap();
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.batch_execute("BEGIN; LOCK TABLE \"Slow\" IN ACCESS EXCLUSIVE MODE").await.unwrap();
        client
    });
    let (status, body) = call("GET", &url, &master, None);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], json!(124), "{body}");
    runtime.block_on(locker.batch_execute("ROLLBACK")).unwrap();
    let (status, body) = call("GET", &url, &master, None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"].as_array().unwrap().len(), 1);
}

/// Uploads `bytes` as `name` with the master key; returns the stored name.
fn upload(server: &Server, headers: &[(&str, &str)], name: &str, bytes: &[u8]) -> String {
    let mut request = agent().post(&format!("{}/files/{name}", server.url));
    for (header, value) in headers {
        request = request.header(*header, *value);
    }
    let mut response = request.content_type("text/plain").send(bytes).expect("upload sent");
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    body["name"].as_str().unwrap().to_string()
}

#[test]
fn files_gc_lists_and_deletes_the_files_no_object_references() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, created, _) = run_cli(dir.path(), &["apps", "create", "photos"]);
    assert!(ok, "{created}");
    let value = |label: &str| printed(&created, label);
    let (app_id, master) = (value("appId"), value("masterKey"));
    let headers = [("X-Parse-Application-Id", app_id.as_str()), ("X-Parse-Master-Key", master.as_str())];
    let server = Server::start(dir.path(), &[]);
    let kept = upload(&server, &headers, "kept.txt", b"kept");
    let nested = upload(&server, &headers, "nested.txt", b"nested");
    let orphan = upload(&server, &headers, "orphan.txt", b"orphan bytes");
    let file = |name: &str| json!({"__type": "File", "name": name});
    let album = json!({"cover": file(&kept), "pages": [{"scan": file(&nested)}], "note": "x"});
    let (status, _) = call("POST", &format!("{}/classes/Album", server.url), &headers, Some(album));
    assert_eq!(status, 201);
    // An SQLite database has one process at a time: the sweep runs with the server stopped.
    drop(server);
    let (ok, _, stderr) = {
        let _running = Server::start(dir.path(), &[]);
        run_cli(dir.path(), &["files", "gc", "--app", "photos"])
    };
    assert!(!ok && stderr.contains("already open in another process"), "{stderr}");

    // Everything was stored just now: the default minimum age (a day) leaves it all out.
    let (ok, stdout, stderr) = run_cli(dir.path(), &["files", "gc", "--app", "photos"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("0 of 3 stored files") && stdout.contains("1 newer unreferenced"), "{stdout}");

    let (ok, stdout, stderr) = run_cli(dir.path(), &["files", "gc", "--app", "photos", "--min-age", "0"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains(&format!("{orphan}\t12")), "{stdout}");
    assert!(!stdout.contains(&kept) && !stdout.contains(&nested), "{stdout}");
    assert!(stdout.contains("1 of 3 stored files (12 B)") && stdout.contains("--delete"), "{stdout}");
    // Listing changed nothing.
    let stored =
        |name: &str| dir.path().join("reparse-data/apps").join(&app_id).join("files").join(name).exists();
    assert!(stored(&orphan));

    let (ok, stdout, stderr) =
        run_cli(dir.path(), &["files", "gc", "--app", app_id.as_str(), "--min-age", "0", "--delete"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("Deleted 1 files."), "{stdout}");
    assert!(!stored(&orphan) && stored(&kept) && stored(&nested));
    let server = Server::start(dir.path(), &[]);
    let url = |name: &str| format!("{}/files/{app_id}/{name}", server.url);
    assert_eq!(call("GET", &url(&orphan), &[], None).0, 404);
    assert_eq!(call("GET", &url(&kept), &[], None).0, 200);
    assert_eq!(call("GET", &url(&nested), &[], None).0, 200);

    let (ok, _, stderr) = run_cli(dir.path(), &["files", "gc", "--app", "nope"]);
    assert!(!ok && stderr.contains("nope"), "{stderr}");
    let (ok, _, stderr) = run_cli(dir.path(), &["files", "gc"]);
    assert!(!ok && stderr.contains("--app"), "{stderr}");
}

/// The S3-compatible server of `REPARSE_TEST_S3_ENDPOINT` (scripts/test starts moto), with a
/// fresh bucket anyone may read objects of; `None` skips the test, except under `CI=true`.
fn s3_bucket() -> Option<(String, String)> {
    let Some(endpoint) = std::env::var("REPARSE_TEST_S3_ENDPOINT").ok().filter(|e| !e.is_empty()) else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "REPARSE_TEST_S3_ENDPOINT is required under CI=true"
        );
        eprintln!("skipped: REPARSE_TEST_S3_ENDPOINT is not set");
        return None;
    };
    let bucket = format!("reparse-cli-{}", std::process::id());
    let created = agent().put(&format!("{endpoint}/{bucket}")).send_empty().expect("create bucket");
    assert!(created.status().is_success());
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
        "Action": ["s3:GetObject"], "Resource": [format!("arn:aws:s3:::{bucket}/*")]}]});
    let set = agent().put(&format!("{endpoint}/{bucket}?policy")).send_json(policy).expect("bucket policy");
    assert!(set.status().is_success());
    Some((endpoint, bucket))
}

#[test]
fn registry_apps_share_one_bucket_each_under_its_own_prefix() {
    let Some((endpoint, bucket)) = s3_bucket() else { return };
    let dir = tempfile::tempdir().unwrap();
    let keys = |name: &str| {
        let (ok, created, _) = run_cli(dir.path(), &["apps", "create", name]);
        assert!(ok, "{created}");
        (printed(&created, "appId"), printed(&created, "masterKey"))
    };
    let (first_id, first_master) = keys("first");
    let (second_id, second_master) = keys("second");
    let adapter = format!(
        "s3://{bucket}/tenants/?endpoint={endpoint}&forcePathStyle=true&accessKey=reparse&secretKey=reparse-secret"
    );
    let server = Server::start(dir.path(), &["--apps-files-adapter", &adapter]);
    let first =
        [("X-Parse-Application-Id", first_id.as_str()), ("X-Parse-Master-Key", first_master.as_str())];
    let second =
        [("X-Parse-Application-Id", second_id.as_str()), ("X-Parse-Master-Key", second_master.as_str())];
    let stored = upload(&server, &first, "a.txt", b"first app's bytes");
    let stored_second = upload(&server, &second, "b.txt", b"second app's bytes");

    // In the bucket under tenants/<appId>/, as a parse-server S3 adapter with that prefix keeps it.
    let (status, body) = call("GET", &format!("{endpoint}/{bucket}/tenants/{first_id}/{stored}"), &[], None);
    assert_eq!((status, body), (200, Value::String("first app's bytes".into())));
    let (status, body) = call("GET", &format!("{}/files/{first_id}/{stored}", server.url), &[], None);
    assert_eq!((status, body), (200, Value::String("first app's bytes".into())));
    // The other app's file URL space does not reach it.
    assert_eq!(call("GET", &format!("{}/files/{second_id}/{stored}", server.url), &[], None).0, 404);

    drop(server);
    let (ok, stdout, stderr) = run_cli(
        dir.path(),
        &["files", "gc", "--app", "first", "--apps-files-adapter", &adapter, "--min-age", "0", "--delete"],
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(&stored) && stdout.contains("1 of 1 stored files") && stdout.contains("Deleted 1"),
        "{stdout}"
    );
    assert_eq!(call("GET", &format!("{endpoint}/{bucket}/tenants/{first_id}/{stored}"), &[], None).0, 404);
    // The second app's file is outside the first app's prefix: untouched.
    let (ok, stdout, _) = run_cli(
        dir.path(),
        &["files", "gc", "--app", "second", "--apps-files-adapter", &adapter, "--min-age", "0"],
    );
    assert!(ok && stdout.contains("1 of 1 stored files"), "{stdout}");

    // Deleting an app empties its prefix of the shared bucket.
    let second_object = format!("{endpoint}/{bucket}/tenants/{second_id}/{stored_second}");
    assert_eq!(call("GET", &second_object, &[], None).0, 200);
    let (ok, stdout, stderr) =
        run_cli(dir.path(), &["apps", "delete", "second", "--yes", "--apps-files-adapter", &adapter]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("Deleted the app's 1 files"), "{stdout}");
    assert_eq!(call("GET", &second_object, &[], None).0, 404);
}

#[test]
fn cloud_code_without_its_own_parse_sdk_gets_the_pinned_one_installed_once() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = dir.path().join("app").join("cloud");
    std::fs::create_dir_all(&cloud).unwrap();
    std::fs::write(
        cloud.join("main.js"),
        "Parse.Cloud.define('version', () => Parse.CoreManager.get('VERSION'));\n",
    )
    .unwrap();
    let config = dir.path().join("config.json");
    let text = json!({"appId": "c", "masterKey": "m", "cloud": cloud.join("main.js")});
    std::fs::write(&config, text.to_string()).unwrap();
    fn no_sdk(command: &mut Command) -> &mut Command {
        command.env_remove("REPARSE_CLOUD_PARSE_SDK")
    }
    let server = Server::start_with(dir.path(), &["--config", config.to_str().unwrap()], no_sdk);
    let headers = [("X-Parse-Application-Id", "c")];
    let (status, body) =
        call("POST", &format!("{}/functions/version", server.url), &headers, Some(json!({})));
    assert_eq!((status, body), (200, json!({"result": "js8.6.2"})));
    drop(server);
    let installed: Vec<_> = std::fs::read_dir(dir.path().join("reparse-data/cloud-runtime"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(installed.len(), 1, "{installed:?}");
    assert!(installed[0].starts_with("parse-sdk-"), "{installed:?}");
    // The next start uses it as it is.
    let server = Server::start_with(dir.path(), &["--config", config.to_str().unwrap()], no_sdk);
    let (status, _) = call("POST", &format!("{}/functions/version", server.url), &headers, Some(json!({})));
    assert_eq!(status, 200);
}

#[test]
fn an_app_is_exported_and_imported_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (_, source, _) = run_cli(dir.path(), &["apps", "create", "source"]);
    let (_, copy, _) = run_cli(dir.path(), &["apps", "create", "copy"]);
    let keys = |created: &str| (printed(created, "appId"), printed(created, "masterKey"));
    let ((source_id, source_master), (copy_id, copy_master)) = (keys(&source), keys(&copy));
    {
        let server = Server::start(dir.path(), &[]);
        let headers =
            [("X-Parse-Application-Id", source_id.as_str()), ("X-Parse-Master-Key", source_master.as_str())];
        for text in ["one", "two"] {
            let (status, body) =
                call("POST", &format!("{}/classes/Note", server.url), &headers, Some(json!({"text": text})));
            assert_eq!(status, 201, "{body}");
        }
    }
    // The server is stopped: one process at a time opens an app's SQLite file.
    let archive = dir.path().join("source.tar.gz");
    let (ok, out, error) =
        run_cli(dir.path(), &["apps", "export", "source", "--files", "--out", archive.to_str().unwrap()]);
    assert!(ok, "{out}{error}");
    assert!(out.contains("Exported app \"source\""), "{out}");
    let (ok, out, error) = run_cli(dir.path(), &["apps", "import", "copy", archive.to_str().unwrap()]);
    assert!(ok, "{out}{error}");
    assert!(out.contains("2 objects"), "{out}");
    let (ok, _, error) = run_cli(dir.path(), &["apps", "import", "copy", archive.to_str().unwrap()]);
    assert!(!ok && error.contains("already holds data"), "{error}");

    let server = Server::start(dir.path(), &[]);
    let headers =
        [("X-Parse-Application-Id", copy_id.as_str()), ("X-Parse-Master-Key", copy_master.as_str())];
    let (status, notes) = call("GET", &format!("{}/classes/Note?order=text", server.url), &headers, None);
    assert_eq!(status, 200, "{notes}");
    let texts: Vec<&str> =
        notes["results"].as_array().unwrap().iter().map(|note| note["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["one", "two"]);
}
