//! The Node.js runtime with the official `parse` SDK: functions, errors, validators, crashes
//! and timeouts, against a real `node` process. The SDK comes from tests/sdk/node_modules
//! (scripts/test installs it); without it the tests are skipped, except under `CI=true`.

use std::path::PathBuf;
use std::time::Duration;

use reparse_cloud::{CallContext, CloudCode, NodeCloud, NodeCloudOptions, parse_sdk_folder};
use reparse_core::ErrorCode;
use serde_json::{Map, Value, json};

const MAIN: &str = r#"
Parse.Cloud.define('hello', request => ({ greeting: `hi ${request.params.name}`, when: new Date(0) }));
Parse.Cloud.define('nothing', () => {});
Parse.Cloud.define('custom', () => { throw new Parse.Error(9001, 'a code of our own'); });
Parse.Cloud.define('plain', () => { throw 'just words'; });
Parse.Cloud.define('broken', () => { null.x; });
Parse.Cloud.define('exit', () => process.exit(3));
Parse.Cloud.define('forever', () => new Promise(() => {}));
Parse.Cloud.define('whoami', request => ({ user: request.user && request.user.get('username'), master: request.master }));
Parse.Cloud.define('guarded', () => 'in', { requireUser: true, fields: { n: { type: Number, required: true } } });
Parse.Cloud.define('dates', request => request.params.at instanceof Date);
Parse.Cloud.job('nightly', () => {});
console.log('cloud code loaded');
"#;

fn sdk() -> Option<PathBuf> {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/sdk/node_modules/parse");
    if folder.join("node.js").is_file() {
        return Some(folder);
    }
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "tests/sdk/node_modules/parse is required under CI=true"
    );
    eprintln!("skipped: run `npm ci` in tests/sdk for the parse SDK");
    None
}

struct Fixture {
    cloud: NodeCloud,
    _dir: tempfile::TempDir,
}

async fn start(main: &str, timeout: Duration) -> Result<Option<Fixture>, String> {
    let Some(sdk) = sdk() else { return Ok(None) };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("main.js");
    std::fs::write(&path, main).unwrap();
    // No node_modules beside it: the fallback SDK is used.
    assert_eq!(parse_sdk_folder(&path, Some(&sdk)), Some(sdk.clone()));
    let options = NodeCloudOptions {
        main: path,
        node: PathBuf::from("node"),
        parse_sdk: sdk,
        app_id: "app".into(),
        master_key: "master".into(),
        javascript_key: None,
        server_url: "http://127.0.0.1:9/parse".into(),
        call_timeout: timeout,
        start_timeout: Duration::from_secs(20),
    };
    Ok(Some(Fixture { cloud: NodeCloud::start(options).await?, _dir: dir }))
}

fn params(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

#[tokio::test]
async fn functions_answer_with_parse_encoded_values_and_errors() {
    let Some(fixture) = start(MAIN, Duration::from_secs(10)).await.unwrap() else { return };
    let cloud = &fixture.cloud;
    let hooks = cloud.hooks();
    assert!(hooks.functions.contains("hello") && hooks.jobs.contains("nightly"));

    let result =
        cloud.run_function("hello", params(json!({"name": "ann"})), CallContext::default()).await.unwrap();
    assert_eq!(
        result,
        Some(json!({"greeting": "hi ann", "when": {"__type": "Date", "iso": "1970-01-01T00:00:00.000Z"}}))
    );
    assert_eq!(cloud.run_function("nothing", Map::new(), CallContext::default()).await.unwrap(), None);
    let at = params(json!({"at": {"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"}}));
    assert_eq!(cloud.run_function("dates", at, CallContext::default()).await.unwrap(), Some(json!(true)));

    let error = cloud.run_function("custom", Map::new(), CallContext::default()).await.unwrap_err();
    assert_eq!((error.code.number(), error.message.as_str()), (9001, "a code of our own"));
    let error = cloud.run_function("plain", Map::new(), CallContext::default()).await.unwrap_err();
    assert_eq!((error.code, error.message.as_str()), (ErrorCode::ScriptFailed, "just words"));
    let error = cloud.run_function("broken", Map::new(), CallContext::default()).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::ScriptFailed);
    assert!(error.message.contains("Cannot read properties of null"), "{}", error.message);
    let error = cloud.run_function("missing", Map::new(), CallContext::default()).await.unwrap_err();
    assert_eq!(
        (error.code, error.message.as_str()),
        (ErrorCode::ScriptFailed, "Invalid function: \"missing\"")
    );
}

#[tokio::test]
async fn requests_carry_the_user_and_validators_guard_functions() {
    let Some(fixture) = start(MAIN, Duration::from_secs(10)).await.unwrap() else { return };
    let cloud = &fixture.cloud;
    let error = cloud.run_function("guarded", Map::new(), CallContext::default()).await.unwrap_err();
    assert_eq!(
        (error.code, error.message.as_str()),
        (ErrorCode::ValidationError, "Validation failed. Please login to continue.")
    );
    let user = params(json!({"objectId": "u1", "username": "ann", "sessionToken": "r:abc"}));
    let signed_in = CallContext { user: Some(user), ..CallContext::default() };
    let error = cloud.run_function("guarded", Map::new(), signed_in.clone()).await.unwrap_err();
    assert_eq!(error.message, "Validation failed. Please specify data for n.");
    let error =
        cloud.run_function("guarded", params(json!({"n": "1"})), signed_in.clone()).await.unwrap_err();
    assert_eq!(error.message, "Validation failed. Invalid type for n. Expected: number");
    assert_eq!(
        cloud.run_function("guarded", params(json!({"n": 1})), signed_in.clone()).await.unwrap(),
        Some(json!("in"))
    );
    let whoami = cloud.run_function("whoami", Map::new(), signed_in).await.unwrap();
    assert_eq!(whoami, Some(json!({"user": "ann", "master": false})));
    let master = CallContext { master: true, ..CallContext::default() };
    // The master key passes validators (unless validateMasterKey).
    assert_eq!(cloud.run_function("guarded", Map::new(), master).await.unwrap(), Some(json!("in")));
}

#[tokio::test]
async fn a_crashed_or_stuck_worker_fails_its_call_and_the_next_call_succeeds() {
    let Some(fixture) = start(MAIN, Duration::from_millis(1500)).await.unwrap() else { return };
    let cloud = &fixture.cloud;
    let error = cloud.run_function("exit", Map::new(), CallContext::default()).await.unwrap_err();
    assert_eq!((error.code, error.message.as_str()), (ErrorCode::ScriptFailed, "Cloud code worker exited."));
    let again =
        cloud.run_function("hello", params(json!({"name": "bo"})), CallContext::default()).await.unwrap();
    assert_eq!(again.unwrap()["greeting"], "hi bo");
    let error = cloud.run_function("forever", Map::new(), CallContext::default()).await.unwrap_err();
    assert_eq!(
        (error.code, error.message.as_str()),
        (ErrorCode::ScriptFailed, "Cloud code timed out after 1.5 s.")
    );
    assert!(cloud.run_function("nothing", Map::new(), CallContext::default()).await.is_ok());
}

#[tokio::test]
async fn code_that_does_not_load_stops_the_start_with_its_error() {
    let broken = "Parse.Cloud.define('x', () => 1);\nthrow new Error('config missing: API_KEY');\n";
    let error = match start(broken, Duration::from_secs(5)).await {
        Ok(None) => return,
        Ok(Some(_)) => panic!("broken cloud code started"),
        Err(error) => error,
    };
    assert!(error.contains("config missing: API_KEY"), "{error}");
}

#[tokio::test]
async fn changed_code_is_reloaded_and_broken_changes_leave_the_running_code() {
    let Some(fixture) =
        start("Parse.Cloud.define('version', () => 1);\n", Duration::from_secs(10)).await.unwrap()
    else {
        return;
    };
    let main = fixture._dir.path().join("main.js");
    let cloud = std::sync::Arc::new(fixture.cloud);
    cloud.watch(Duration::from_millis(100));
    let version = || async { cloud.run_function("version", Map::new(), CallContext::default()).await };
    assert_eq!(version().await.unwrap(), Some(json!(1)));

    // A second file required by main.js counts as part of the code too.
    std::fs::write(fixture._dir.path().join("answer.js"), "module.exports = 2;\n").unwrap();
    std::fs::write(
        &main,
        "const answer = require('./answer');\nParse.Cloud.define('version', () => answer);\n",
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while version().await.unwrap() != Some(json!(2)) {
        assert!(std::time::Instant::now() < deadline, "the change was not picked up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(cloud.hooks().functions.contains("version"));

    std::fs::write(&main, "throw new Error('half-saved file');\n").unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(version().await.unwrap(), Some(json!(2)), "the running code stays");
}

#[tokio::test]
async fn triggers_parse_server_forbids_stop_the_start() {
    let error = match start("Parse.Cloud.beforeSave('_Session', () => {});\n", Duration::from_secs(5)).await {
        Ok(None) => return,
        Ok(Some(_)) => panic!("a beforeSave on _Session was accepted"),
        Err(error) => error,
    };
    assert!(error.contains("Only the afterLogout trigger is allowed for the _Session class."), "{error}");
}
