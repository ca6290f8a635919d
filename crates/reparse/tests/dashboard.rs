//! The dashboard's API on the real binary: sign-in, CSRF, read-only users, apps managed
//! through it, and an app's data reached through it with no key in the browser.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Answer, Server, call, download, run_cli, send};
use serde_json::{Value, json};

/// A registry server with an admin and a read-only viewer.
fn dashboard_server(dir: &Path) -> Server {
    for (user, password, extra) in
        [("admin", "admin-password", None), ("viewer", "viewer-password", Some("--read-only"))]
    {
        let mut args = vec!["dashboard-user", "add", user, "--password", password];
        args.extend(extra);
        let (ok, _, error) = run_cli(dir, &args);
        assert!(ok, "{error}");
    }
    Server::start(dir, &[])
}

/// A signed-in browser: its session cookie and CSRF token.
struct Browser {
    base: String,
    cookie: String,
    csrf: String,
}

impl Browser {
    fn sign_in(server: &Server, username: &str, password: &str) -> Browser {
        let base = origin(server);
        let answer = login(&base, username, password, &[]);
        assert_eq!(answer.status, 200, "{}", answer.body);
        let set_cookie = answer.header("set-cookie").expect("a session cookie");
        let cookie = set_cookie.split(';').next().unwrap().to_string();
        Browser { base, cookie, csrf: answer.body["csrfToken"].as_str().unwrap().to_string() }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let url = format!("{}/dashboard/api/{path}", self.base);
        let text = body.map(|body| body.to_string());
        let headers = [("cookie", self.cookie.as_str()), ("x-csrf-token", self.csrf.as_str())];
        send(method, &url, &headers, text.as_deref().map(str::as_bytes))
    }
}

fn origin(server: &Server) -> String {
    server.url.strip_suffix("/parse").unwrap().to_string()
}

fn login(base: &str, username: &str, password: &str, headers: &[(&str, &str)]) -> Answer {
    let body = json!({"username": username, "password": password}).to_string();
    send("POST", &format!("{base}/dashboard/api/login"), headers, Some(body.as_bytes()))
}

fn app_names(browser: &Browser) -> Vec<String> {
    let answer = browser.call("GET", "apps", None);
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|app| app["name"].as_str().unwrap().to_string())
        .collect()
}

/// Polls the app's own REST API (as an SDK would call it) until `check` holds.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn nothing_is_reachable_without_signing_in_and_changes_need_the_csrf_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = dashboard_server(dir.path());
    let base = origin(&server);
    let app_id = server.printed_value("appId");
    for path in ["apps", "session", &format!("apps/{app_id}"), &format!("apps/{app_id}/parse/classes/Thing")]
    {
        let answer = send("GET", &format!("{base}/dashboard/api/{path}"), &[], None);
        assert_eq!((answer.status, answer.body["code"].clone()), (401, json!(209)), "{path}");
    }
    let forged =
        send("GET", &format!("{base}/dashboard/api/apps"), &[("cookie", "reparse_dashboard=guess")], None);
    assert_eq!(forged.status, 401);

    let wrong = login(&base, "admin", "not-the-password", &[]);
    assert_eq!((wrong.status, wrong.body["code"].clone()), (401, json!(101)));
    assert!(wrong.header("set-cookie").is_none());
    let unknown = login(&base, "nobody", "admin-password", &[]);
    assert_eq!(unknown.body, wrong.body);
    let elsewhere = login(&base, "admin", "admin-password", &[("origin", "http://evil.example")]);
    assert_eq!((elsewhere.status, elsewhere.body["code"].clone()), (403, json!(119)));

    let answer = login(&base, "admin", "admin-password", &[]);
    let cookie = answer.header("set-cookie").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/dashboard"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let behind_tls = login(&base, "admin", "admin-password", &[("x-forwarded-proto", "https")]);
    assert!(behind_tls.header("set-cookie").unwrap().contains("Secure"));

    let browser = Browser::sign_in(&server, "admin", "admin-password");
    let session = browser.call("GET", "session", None);
    assert_eq!(session.body["username"], "admin");
    assert_eq!(session.body["readOnly"], false);
    assert_eq!(session.body["csrfToken"], browser.csrf.as_str());

    // Without the token, or with another's, or from another site: refused, nothing made.
    let url = format!("{base}/dashboard/api/apps");
    let body = br#"{"name":"forged"}"#;
    for headers in [
        vec![("cookie", browser.cookie.as_str())],
        vec![("cookie", browser.cookie.as_str()), ("x-csrf-token", "0123456789abcdef0123456789abcdef")],
        vec![
            ("cookie", browser.cookie.as_str()),
            ("x-csrf-token", browser.csrf.as_str()),
            ("origin", "http://evil.example"),
        ],
    ] {
        let answer = send("POST", &url, &headers, Some(body));
        assert_eq!((answer.status, answer.body["code"].clone()), (403, json!(119)), "{headers:?}");
    }
    assert_eq!(app_names(&browser), ["default"]);

    let out = browser.call("POST", "logout", None);
    assert_eq!(out.status, 200);
    assert_eq!(browser.call("GET", "apps", None).status, 401);

    let unknown_route = browser.call("GET", "no-such-thing", None);
    assert_eq!(unknown_route.status, 404);
    assert!(unknown_route.body["error"].is_string());
}

#[test]
fn apps_are_created_renamed_configured_rotated_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let server = dashboard_server(dir.path());
    let browser = Browser::sign_in(&server, "admin", "admin-password");

    let bad = browser.call("POST", "apps", Some(json!({"name": "no spaces"})));
    assert_eq!((bad.status, bad.body["code"].clone()), (400, json!(142)));
    let not_json = send(
        "POST",
        &format!("{}/dashboard/api/apps", browser.base),
        &[("cookie", &browser.cookie), ("x-csrf-token", &browser.csrf)],
        Some(b"{"),
    );
    assert_eq!((not_json.status, not_json.body["code"].clone()), (400, json!(107)));

    let created = browser.call("POST", "apps", Some(json!({"name": "shop"})));
    assert_eq!(created.status, 201, "{}", created.body);
    let app_id = created.body["app"]["appId"].as_str().unwrap().to_string();
    let keys = created.body["keys"].clone();
    assert_eq!(keys["applicationId"], app_id.as_str());
    // The keys work for clients at once; the app's page never shows them again.
    let rest = |master_key: &str, method: &str, path: &str, body: Option<Value>| {
        let text = body.map(|body| body.to_string());
        send(
            method,
            &format!("{}/{path}", server.url),
            &[("x-parse-application-id", &app_id), ("x-parse-master-key", master_key)],
            text.as_deref().map(str::as_bytes),
        )
    };
    let master_key = keys["masterKey"].as_str().unwrap().to_string();
    for _ in 0..3 {
        assert_eq!(rest(&master_key, "POST", "classes/Item", Some(json!({"n": 1}))).status, 201);
    }
    let shown = browser.call("GET", &format!("apps/{app_id}"), None);
    assert_eq!(shown.body["name"], "shop");
    assert!(!shown.body.to_string().contains(&master_key));

    let renamed = browser.call("PUT", &format!("apps/{app_id}"), Some(json!({"name": "store"})));
    assert_eq!(renamed.body["name"], "store", "{}", renamed.body);
    assert_eq!(app_names(&browser), ["default", "store"]);

    // Bad settings change nothing; good ones reach the running app.
    for settings in [json!({"port": 1}), json!({"maxLimit": "many"}), json!({"noSuchOption": true})] {
        let refused = browser.call("PUT", &format!("apps/{app_id}"), Some(json!({"settings": settings})));
        assert_eq!((refused.status, refused.body["code"].clone()), (400, json!(142)), "{settings}");
    }
    assert_eq!(browser.call("GET", &format!("apps/{app_id}"), None).body["settings"], json!({}));
    let settings = json!({"maxLimit": 2, "publicServerURL": "https://shop.example.com/parse"});
    let configured = browser.call("PUT", &format!("apps/{app_id}"), Some(json!({ "settings": settings })));
    assert_eq!(configured.body["settings"], settings);
    eventually("maxLimit to apply", || {
        rest(&master_key, "GET", "classes/Item", None).body["results"]
            .as_array()
            .is_some_and(|r| r.len() == 2)
    });
    // The app's own address is the one its files are served at.
    let file = send(
        "POST",
        &format!("{}/files/a.txt", server.url),
        &[
            ("x-parse-application-id", &app_id),
            ("x-parse-master-key", &master_key),
            ("content-type", "text/plain"),
        ],
        Some(b"a"),
    );
    let url = file.body["url"].as_str().unwrap_or_default();
    assert!(url.starts_with("https://shop.example.com/parse/files/"), "{}", file.body);

    let rotated = browser.call("POST", &format!("apps/{app_id}/keys"), None);
    let new_master = rotated.body["keys"]["masterKey"].as_str().unwrap().to_string();
    assert_ne!(new_master, master_key);
    eventually("the old master key to stop working", || {
        rest(&master_key, "GET", "classes/Item", None).status == 403
    });
    assert_eq!(rest(&new_master, "GET", "classes/Item", None).status, 200);

    let unconfirmed = browser.call("DELETE", &format!("apps/{app_id}"), Some(json!({"confirm": "shop"})));
    assert_eq!((unconfirmed.status, unconfirmed.body["code"].clone()), (400, json!(142)));
    assert_eq!(rest(&new_master, "GET", "classes/Item", None).status, 200);
    let deleted = browser.call("DELETE", &format!("apps/{app_id}"), Some(json!({"confirm": "store"})));
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(app_names(&browser), ["default"]);
    assert_eq!(rest(&new_master, "GET", "classes/Item", None).status, 403);
    assert!(!dir.path().join("reparse-data/apps").join(&app_id).exists());
    assert_eq!(browser.call("GET", &format!("apps/{app_id}"), None).status, 404);
}

#[test]
fn an_apps_data_is_reached_through_the_dashboard_as_its_master_and_read_only_users_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = dashboard_server(dir.path());
    let admin = Browser::sign_in(&server, "admin", "admin-password");
    let default_id = server.printed_value("appId");
    let other = admin.call("POST", "apps", Some(json!({"name": "other"})));
    let other_id = other.body["app"]["appId"].as_str().unwrap().to_string();
    let other_master = other.body["keys"]["masterKey"].as_str().unwrap().to_string();

    let created =
        admin.call("POST", &format!("apps/{default_id}/parse/classes/Note"), Some(json!({"text": "hi"})));
    assert_eq!(created.status, 201, "{}", created.body);
    // A master-only route, and keys of another app sent along are dropped: the path decides.
    let schemas = send(
        "GET",
        &format!("{}/dashboard/api/apps/{default_id}/parse/schemas/Note", admin.base),
        &[
            ("cookie", &admin.cookie),
            ("x-parse-application-id", &other_id),
            ("x-parse-master-key", &other_master),
        ],
        None,
    );
    assert_eq!(schemas.status, 200, "{}", schemas.body);
    assert_eq!(schemas.body["fields"]["text"]["type"], "String");
    let other_notes = admin.call("GET", &format!("apps/{other_id}/parse/classes/Note"), None);
    assert_eq!(other_notes.body["results"], json!([]));
    // A file streamed through it, and a query with the SDK's POST-as-GET form.
    let uploaded = send(
        "POST",
        &format!("{}/dashboard/api/apps/{default_id}/parse/files/note.txt", admin.base),
        &[("cookie", &admin.cookie), ("x-csrf-token", &admin.csrf), ("content-type", "text/plain")],
        Some(b"hello"),
    );
    assert_eq!(uploaded.status, 201, "{}", uploaded.body);
    let queried = admin.call(
        "POST",
        &format!("apps/{default_id}/parse/classes/Note"),
        Some(json!({"_method": "GET", "where": {"text": "hi"}, "count": 1})),
    );
    assert_eq!(queried.body["count"], 1, "{}", queried.body);
    assert_eq!(admin.call("GET", "apps/nope/parse/classes/Note", None).status, 404);

    let viewer = Browser::sign_in(&server, "viewer", "viewer-password");
    assert_eq!(viewer.call("GET", "session", None).body["readOnly"], true);
    assert_eq!(app_names(&viewer), ["default", "other"]);
    let read = viewer.call("GET", &format!("apps/{default_id}/parse/classes/Note"), None);
    assert_eq!(read.body["results"].as_array().map(Vec::len), Some(1));
    let write =
        viewer.call("POST", &format!("apps/{default_id}/parse/classes/Note"), Some(json!({"text": "no"})));
    assert_eq!((write.status, write.body["code"].clone()), (400, json!(119)), "{}", write.body);
    for (method, path, body) in [
        ("POST", "apps".to_string(), Some(json!({"name": "mine"}))),
        ("PUT", format!("apps/{default_id}"), Some(json!({"name": "renamed"}))),
        ("POST", format!("apps/{default_id}/keys"), None),
        ("DELETE", format!("apps/{default_id}"), Some(json!({"confirm": "default"}))),
    ] {
        let refused = viewer.call(method, &path, body);
        assert_eq!((refused.status, refused.body["code"].clone()), (403, json!(119)), "{method} {path}");
    }
    assert_eq!(app_names(&admin), ["default", "other"]);
    let notes = admin.call("GET", &format!("apps/{default_id}/parse/classes/Note?count=1&limit=0"), None);
    assert_eq!(notes.body["count"], 1);
    let classes = viewer.call("GET", &format!("apps/{default_id}/classes"), None);
    assert_eq!(classes.body, json!({"results": [{"className": "Note", "count": 1, "estimated": false}]}));
}

#[test]
fn the_pages_are_served_with_a_strict_content_policy_and_single_app_servers_explain_their_absence() {
    let dir = tempfile::tempdir().unwrap();
    let server = dashboard_server(dir.path());
    let base = origin(&server);
    for path in ["/dashboard", "/dashboard/", "/dashboard/apps/x/browser/Thing"] {
        let page = send("GET", &format!("{base}{path}"), &[], None);
        assert_eq!(page.status, 200, "{path}");
        assert!(page.body.as_str().unwrap().contains("<div id=\"root\">"), "{path}");
        assert!(page.header("content-security-policy").unwrap().contains("frame-ancestors 'none'"));
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
    }
    assert_eq!(send("GET", &format!("{base}/dashboard/assets/missing.js"), &[], None).status, 404);
    // The Parse API is untouched by the dashboard's headers.
    let health = send("GET", &format!("{}/health", server.url), &[], None);
    assert_eq!(health.body, json!({"status": "ok"}));
    assert!(health.header("content-security-policy").is_none());

    let single = tempfile::tempdir().unwrap();
    let alone = Server::start(single.path(), &["--app-id", "alone", "--master-key", "alone-master"]);
    let page = send("GET", &format!("{}/dashboard", origin(&alone)), &[], None);
    assert_eq!(page.status, 404);
    assert!(page.body.as_str().unwrap().contains("reparse apps create"));
}

#[test]
fn the_cloud_folder_is_shown_read_only_and_nothing_outside_it() {
    let dir = tempfile::tempdir().unwrap();
    let cloud = dir.path().join("cloud");
    std::fs::create_dir_all(cloud.join("lib")).unwrap();
    std::fs::create_dir_all(cloud.join("node_modules/dep")).unwrap();
    std::fs::write(cloud.join("main.js"), "require('./lib/util');\n").unwrap();
    std::fs::write(cloud.join("lib/util.js"), "module.exports = 1;\n").unwrap();
    std::fs::write(cloud.join("node_modules/dep/index.js"), "secret").unwrap();
    std::fs::write(cloud.join(".env"), "KEY=secret").unwrap();
    std::fs::write(dir.path().join("outside.txt"), "secret").unwrap();
    let server = dashboard_server(dir.path());
    let admin = Browser::sign_in(&server, "admin", "admin-password");
    let app_id = server.printed_value("appId");

    let none = admin.call("GET", &format!("apps/{app_id}/cloud"), None);
    assert_eq!(none.body["configured"], false);
    let main = cloud.join("main.js").to_string_lossy().into_owned();
    let set = admin.call("PUT", &format!("apps/{app_id}"), Some(json!({"settings": {"cloud": main}})));
    assert_eq!(set.status, 200, "{}", set.body);
    let shown = admin.call("GET", &format!("apps/{app_id}/cloud"), None);
    assert_eq!(shown.body["configured"], true);
    assert_eq!(
        shown.body["files"],
        json!([{"path": "lib/util.js", "size": 20}, {"path": "main.js", "size": 23}])
    );
    let file = admin.call("GET", &format!("apps/{app_id}/cloud/file?path=lib/util.js"), None);
    assert_eq!(file.body["content"], "module.exports = 1;\n");
    for path in ["../outside.txt", "/etc/passwd", ".env", "node_modules/dep/index.js", "missing.js", ""] {
        let refused = admin.call("GET", &format!("apps/{app_id}/cloud/file?path={path}"), None);
        assert_eq!(refused.status, 400, "{path}: {}", refused.body);
        assert!(!refused.body.to_string().contains("secret"));
    }
}

#[test]
fn the_console_can_call_an_app_as_a_client_with_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let server = dashboard_server(dir.path());
    let admin = Browser::sign_in(&server, "admin", "admin-password");
    let app_id = server.printed_value("appId");
    let parse = |browser: &Browser, method: &str, path: &str, extra: &[(&str, &str)], body: Option<Value>| {
        let url = format!("{}/dashboard/api/apps/{app_id}/parse/{path}", browser.base);
        let mut headers = vec![("cookie", browser.cookie.as_str()), ("x-csrf-token", browser.csrf.as_str())];
        headers.extend_from_slice(extra);
        let text = body.map(|body| body.to_string());
        send(method, &url, &headers, text.as_deref().map(str::as_bytes))
    };
    let client = [("x-dashboard-as", "client")];
    // A class only signed-in users may read, with one object owned by ann.
    let signed_up =
        parse(&admin, "POST", "users", &client, Some(json!({"username": "ann", "password": "pw-ann-123"})));
    assert_eq!(signed_up.status, 201, "{}", signed_up.body);
    let token = signed_up.body["sessionToken"].as_str().unwrap().to_string();
    let ann = signed_up.body["objectId"].as_str().unwrap().to_string();
    let created = parse(
        &admin,
        "POST",
        "schemas/Diary",
        &[],
        Some(json!({"className": "Diary", "classLevelPermissions": {
            "find": {"requiresAuthentication": true}, "get": {"requiresAuthentication": true},
            "count": {"requiresAuthentication": true}, "create": {"requiresAuthentication": true},
            "update": {}, "delete": {}, "addField": {}, "protectedFields": {}}})),
    );
    assert_eq!(created.status, 200, "{}", created.body);
    let acl = json!({ann.clone(): {"read": true, "write": true}});
    assert_eq!(
        parse(&admin, "POST", "classes/Diary", &[], Some(json!({"text": "mine", "ACL": acl}))).status,
        201
    );

    let anonymous = parse(&admin, "GET", "classes/Diary", &client, None);
    assert_eq!(anonymous.body["error"], "Permission denied, user needs to be authenticated.");
    let as_ann = parse(&admin, "GET", "classes/Diary", &[client[0], ("x-parse-session-token", &token)], None);
    assert_eq!(as_ann.body["results"][0]["text"], "mine", "{}", as_ann.body);
    let as_master = parse(&admin, "GET", "classes/Diary", &[], None);
    assert_eq!(as_master.body["results"].as_array().map(Vec::len), Some(1));
    let bad_mode = parse(&admin, "GET", "classes/Diary", &[("x-dashboard-as", "root")], None);
    assert_eq!(bad_mode.status, 400);

    // Read-only users read as a client, and write in no way.
    let viewer = Browser::sign_in(&server, "viewer", "viewer-password");
    let read = parse(&viewer, "GET", "classes/Diary", &[client[0], ("x-parse-session-token", &token)], None);
    assert_eq!(read.body["results"][0]["text"], "mine");
    let write = parse(
        &viewer,
        "POST",
        "classes/Diary",
        &[client[0], ("x-parse-session-token", &token)],
        Some(json!({"text": "no"})),
    );
    assert_eq!((write.status, write.body["code"].clone()), (403, json!(119)));
    assert_eq!(parse(&admin, "GET", "classes/Diary?count=1&limit=0", &[], None).body["count"], 1);
}

#[test]
fn an_app_is_exported_as_an_archive_and_imported_whole_into_an_app_without_data() {
    let dir = tempfile::tempdir().unwrap();
    let server = dashboard_server(dir.path());
    let admin = Browser::sign_in(&server, "admin", "admin-password");
    let source_id = server.printed_value("appId");
    let parse = |browser: &Browser, app: &str, method: &str, path: &str, body: Option<Value>| {
        browser.call(method, &format!("apps/{app}/parse/{path}"), body)
    };
    let user =
        parse(&admin, &source_id, "POST", "users", Some(json!({"username": "ann", "password": "secret-1"})));
    assert_eq!(user.status, 201, "{}", user.body);
    let user_pointer = json!({"__type": "Pointer", "className": "_User", "objectId": user.body["objectId"]});
    let uploaded = send(
        "POST",
        &format!("{}/dashboard/api/apps/{source_id}/parse/files/cover.txt", admin.base),
        &[("cookie", &admin.cookie), ("x-csrf-token", &admin.csrf), ("content-type", "text/plain")],
        Some(b"cover bytes"),
    );
    assert_eq!(uploaded.status, 201, "{}", uploaded.body);
    let file_name = uploaded.body["name"].as_str().unwrap().to_string();
    for score in 0..3 {
        let game = json!({
            "score": score, "owner": user_pointer, "when": {"__type": "Date", "iso": "2026-03-04T05:06:07.000Z"},
            "cover": {"__type": "File", "name": file_name},
            "players": {"__op": "AddRelation", "objects": [user_pointer]},
        });
        assert_eq!(parse(&admin, &source_id, "POST", "classes/Game", Some(game)).status, 201);
    }

    let archive_url = format!("{}/dashboard/api/apps/{source_id}/archive?files=1", admin.base);
    let (status, headers, archive) = download(&archive_url, &[("cookie", &admin.cookie)]);
    assert_eq!(status, 200);
    let header = |name: &str| headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    assert_eq!(header("content-type").as_deref(), Some("application/gzip"));
    assert!(header("content-disposition").unwrap().starts_with("attachment; filename=\"default-"));
    let viewer = Browser::sign_in(&server, "viewer", "viewer-password");
    let (status, _, _) = download(&archive_url, &[("cookie", &viewer.cookie)]);
    assert_eq!(status, 403, "a read-only user may not take every password hash home");

    let import = |browser: &Browser, app: &str, bytes: &[u8]| {
        let url = format!("{}/dashboard/api/apps/{app}/archive", browser.base);
        let headers = [("cookie", browser.cookie.as_str()), ("x-csrf-token", browser.csrf.as_str())];
        send("POST", &url, &headers, Some(bytes))
    };
    // Into an app with data: refused, nothing changes.
    let refused = import(&admin, &source_id, &archive);
    assert_eq!((refused.status, refused.body["code"].clone()), (400, json!(119)), "{}", refused.body);
    let games = parse(&admin, &source_id, "GET", "classes/Game?count=1&limit=0", None);
    assert_eq!(games.body["count"], 3);

    let copy = admin.call("POST", "apps", Some(json!({"name": "copy"})));
    let copy_id = copy.body["app"]["appId"].as_str().unwrap().to_string();
    let copy_keys = copy.body["keys"].clone();
    let garbage = import(&admin, &copy_id, b"not an archive");
    assert_eq!((garbage.status, garbage.body["code"].clone()), (400, json!(107)), "{}", garbage.body);
    assert_eq!(import(&viewer, &copy_id, &archive).status, 403);
    assert_eq!(admin.call("GET", &format!("apps/{copy_id}/classes"), None).body["results"], json!([]));

    let imported = import(&admin, &copy_id, &archive);
    assert_eq!(imported.status, 200, "{}", imported.body);
    assert_eq!(imported.body["objects"], 5, "a user, her session and three games");
    assert_eq!(imported.body["files"], 1);
    let all_games = "classes/Game?order=score&include=owner";
    // The same objects, files served from the copy's own address.
    let source_games = parse(&admin, &source_id, "GET", all_games, None).body.to_string();
    assert_eq!(
        parse(&admin, &copy_id, "GET", all_games, None).body.to_string(),
        source_games.replace(&format!("/files/{source_id}/"), &format!("/files/{copy_id}/"))
    );
    // The password hash came along: Ann signs in to the copy with its own keys.
    let keys = [
        ("x-parse-application-id", copy_id.as_str()),
        ("x-parse-rest-api-key", copy_keys["restAPIKey"].as_str().unwrap()),
    ];
    let (status, login) = call(
        "POST",
        &format!("{}/login", server.url),
        &keys,
        Some(json!({"username": "ann", "password": "secret-1"})),
    );
    assert_eq!(status, 200, "{login}");
    let first_game = parse(
        &admin,
        &copy_id,
        "POST",
        "classes/Game",
        Some(json!({"_method": "GET", "where": {"score": 0}})),
    );
    let game_pointer = json!({"__type": "Pointer", "className": "Game", "objectId": first_game.body["results"][0]["objectId"]});
    let related = json!({"$relatedTo": {"object": game_pointer, "key": "players"}});
    let players = parse(&admin, &copy_id, "POST", "users", Some(json!({"_method": "GET", "where": related})));
    assert_eq!(players.body["results"][0]["username"], "ann", "{}", players.body);
    let (status, _, bytes) = download(&format!("{}/files/{copy_id}/{file_name}", server.url), &[]);
    assert_eq!((status, bytes.as_slice()), (200, b"cover bytes".as_slice()));
}

#[test]
fn a_name_with_repeated_failed_sign_ins_waits_before_trying_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = dashboard_server(dir.path());
    let base = origin(&server);
    for _ in 0..5 {
        let failed = login(&base, "admin", "guessed", &[]);
        assert_eq!((failed.status, failed.body["code"].clone()), (401, json!(101)), "{}", failed.body);
    }
    // Even the right password now waits: the check comes before the password is looked at.
    let refused = login(&base, "admin", "admin-password", &[]);
    assert_eq!((refused.status, refused.body["code"].clone()), (429, json!(155)), "{}", refused.body);
    assert_eq!(refused.body["error"], "Too many failed sign-ins. Try again in 15 minutes.");
    assert!(refused.header("set-cookie").is_none());
    // Another name from the same address is not held up by those five.
    assert_eq!(login(&base, "viewer", "viewer-password", &[]).status, 200);
}
