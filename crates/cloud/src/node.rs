//! Cloud code in a Node.js worker process: `js/worker.js` loads the app's `cloud/main.js` with
//! the official `parse` SDK as `Parse`, reports what it defined, and answers calls over a Unix
//! socket, one JSON object per line. Several calls are in flight at once (the code is
//! asynchronous); each waits at most `call_timeout`.
//!
//! A worker that exits (a crash, `process.exit`, an out-of-memory kill) fails the calls it had
//! with 141 and is replaced on the next call; its replacement loads the code afresh. The
//! process's stdout and stderr are the app's logs (info and error).
//!
//! [`NodeCloud::watch`] reloads the code when a file of its folder changes: a new worker loads
//! it and takes the next calls; the old one finishes the calls (and jobs) it has and exits. Code
//! that no longer loads leaves the running worker in place.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::net::unix::OwnedWriteHalf;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use crate::protocol::{CallInput, CallRequest, FromWorker, ToWorker};
use crate::{CallContext, CloudCode, Hooks, Trigger, TriggerInput, TriggerOutcome};

const WORKER_SOURCE: &str = include_str!("../js/worker.js");

/// How many of a worker's last stderr lines a start failure quotes.
const STDERR_TAIL: usize = 20;

/// How to run an app's cloud code.
#[derive(Debug, Clone)]
pub struct NodeCloudOptions {
    /// The entry file (`cloud/main.js`); its folder is the worker's working directory, so
    /// relative requires and the app's own `node_modules` work as under parse-server.
    pub main: PathBuf,
    /// The `node` executable.
    pub node: PathBuf,
    /// The `parse` npm package's folder (see [`parse_sdk_folder`]).
    pub parse_sdk: PathBuf,
    pub app_id: String,
    pub master_key: String,
    pub javascript_key: Option<String>,
    /// Where the SDK in the worker reaches this server (a loopback URL with the mount path).
    pub server_url: String,
    /// How long a call may take before it fails with 141.
    pub call_timeout: Duration,
    /// How long loading the code may take.
    pub start_timeout: Duration,
}

/// The `parse` package cloud code gets: the one the app's folder (or a folder above it)
/// has in `node_modules`, as under parse-server, else `fallback` (Reparse's own copy).
pub fn parse_sdk_folder(cloud_main: &Path, fallback: Option<&Path>) -> Option<PathBuf> {
    let has_sdk = |folder: &Path| folder.join("node.js").is_file() && folder.join("package.json").is_file();
    let start = cloud_main.parent()?;
    let found = start
        .ancestors()
        .map(|folder| folder.join("node_modules").join("parse"))
        .find(|folder| has_sdk(folder));
    found.or_else(|| fallback.filter(|folder| has_sdk(folder)).map(Path::to_path_buf))
}

type Answer = Result<Option<Value>, ParseError>;

/// One running worker process.
struct Worker {
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Answer>>>,
    next_id: AtomicU64,
    alive: AtomicBool,
    /// Held so that the process is killed when the worker is dropped (replaced).
    _child: Mutex<Child>,
}

impl Worker {
    /// Fails every call still waiting, once the worker is gone.
    fn fail_pending(&self, why: &str) {
        self.alive.store(false, Ordering::SeqCst);
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        for (_, answer) in pending {
            let _ = answer.send(Err(ParseError::new(ErrorCode::ScriptFailed, why)));
        }
    }

    fn answer(&self, id: u64, answer: Answer) {
        let waiting = self.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        if let Some(waiting) = waiting {
            let _ = waiting.send(answer);
        }
    }
}

/// An app's cloud code in Node.js worker processes.
pub struct NodeCloud {
    options: NodeCloudOptions,
    hooks: RwLock<Hooks>,
    worker: tokio::sync::Mutex<Option<Arc<Worker>>>,
}

impl NodeCloud {
    /// Starts a worker and loads the code; fails (with what the worker printed) when the code
    /// does not load, as parse-server does not start with broken cloud code.
    pub async fn start(options: NodeCloudOptions) -> Result<NodeCloud, String> {
        let (worker, hooks) = spawn_worker(&options).await?;
        Ok(NodeCloud { options, hooks: RwLock::new(hooks), worker: tokio::sync::Mutex::new(Some(worker)) })
    }

    /// Reloads the code whenever a file of the cloud folder (not `node_modules`) changes,
    /// checking every `interval`, for as long as this runtime exists.
    pub fn watch(self: &Arc<Self>, interval: Duration) {
        let runtime = Arc::downgrade(self);
        let folder = self.options.main.parent().unwrap_or(Path::new(".")).to_path_buf();
        // Taken now: changes from here on reload.
        let mut seen = folder_fingerprint(&folder);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(runtime) = runtime.upgrade() else { return };
                let scanned = folder.clone();
                let now =
                    tokio::task::spawn_blocking(move || folder_fingerprint(&scanned)).await.unwrap_or(seen);
                if now == seen {
                    continue;
                }
                seen = now;
                runtime.reload().await;
            }
        });
    }

    /// Loads the code in a new worker and sends the next calls there.
    async fn reload(&self) {
        let app = &self.options.app_id;
        match spawn_worker(&self.options).await {
            Ok((worker, hooks)) => {
                tracing::info!(
                    target: "cloud",
                    app = %app,
                    "cloud code reloaded: {} functions, {} jobs, {} triggers",
                    hooks.functions.len(),
                    hooks.jobs.len(),
                    hooks.triggers.len()
                );
                *self.hooks.write().unwrap_or_else(|p| p.into_inner()) = hooks;
                *self.worker.lock().await = Some(worker);
            }
            Err(error) => {
                tracing::error!(target: "cloud", app = %app, "changed cloud code did not load, the previous code keeps running: {error}");
            }
        }
    }

    /// The live worker, starting a fresh one when the last has exited.
    async fn worker(&self) -> Result<Arc<Worker>, ParseError> {
        let mut current = self.worker.lock().await;
        if let Some(worker) = current.as_ref().filter(|worker| worker.alive.load(Ordering::SeqCst)) {
            return Ok(worker.clone());
        }
        *current = None;
        let (worker, hooks) = spawn_worker(&self.options).await.map_err(|error| {
            ParseError::new(ErrorCode::ScriptFailed, format!("Cloud code could not start: {error}"))
        })?;
        *self.hooks.write().unwrap_or_else(|p| p.into_inner()) = hooks;
        *current = Some(worker.clone());
        Ok(worker)
    }

    /// Sends a call and waits for its answer, at most `timeout` (`None`: however long).
    async fn call(
        &self,
        kind: &'static str,
        name: &str,
        request: CallRequest<'_>,
        timeout: Option<Duration>,
    ) -> Answer {
        let worker = self.worker().await?;
        let id = worker.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = oneshot::channel();
        worker.pending.lock().unwrap_or_else(|p| p.into_inner()).insert(id, sender);
        let message = ToWorker::Call { id, kind, name, request };
        let mut line = serde_json::to_string(&message)
            .map_err(|error| ParseError::internal(format!("cannot encode a cloud call: {error}")))?;
        line.push('\n');
        let sent = worker.writer.lock().await.write_all(line.as_bytes()).await;
        if sent.is_err() {
            worker.fail_pending("Cloud code worker exited.");
            return Err(ParseError::new(ErrorCode::ScriptFailed, "Cloud code worker exited."));
        }
        let exited = || ParseError::new(ErrorCode::ScriptFailed, "Cloud code worker exited.");
        let Some(timeout) = timeout else {
            return receiver.await.unwrap_or_else(|_| Err(exited()));
        };
        match tokio::time::timeout(timeout, receiver).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => Err(exited()),
            Err(_) => {
                worker.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
                Err(ParseError::new(
                    ErrorCode::ScriptFailed,
                    format!("Cloud code timed out after {} s.", timeout.as_secs_f64()),
                ))
            }
        }
    }
}

#[async_trait]
impl CloudCode for NodeCloud {
    fn hooks(&self) -> Hooks {
        self.hooks.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    async fn run_function(&self, name: &str, params: Map<String, Value>, context: CallContext) -> Answer {
        let request = CallRequest { input: CallInput::Function { params: &params }, context: &context };
        self.call("function", name, request, Some(self.options.call_timeout)).await
    }

    async fn run_job(
        &self,
        name: &str,
        params: Map<String, Value>,
        job_id: &str,
        context: CallContext,
    ) -> Answer {
        let request = CallRequest { input: CallInput::Job { params: &params, job_id }, context: &context };
        self.call("job", name, request, None).await
    }

    async fn run_trigger(
        &self,
        trigger: Trigger,
        input: TriggerInput,
        context: CallContext,
    ) -> Result<TriggerOutcome, ParseError> {
        let request = CallRequest { input: CallInput::Trigger(&input), context: &context };
        let answer = self.call("trigger", trigger.name(), request, Some(self.options.call_timeout)).await?;
        let mut answer = match answer {
            Some(Value::Object(answer)) => answer,
            _ => Map::new(),
        };
        let object = |value: Option<Value>| match value {
            Some(Value::Object(map)) => Some(map),
            _ => None,
        };
        let objects = match answer.remove("objects") {
            Some(Value::Array(objects)) => Some(objects),
            _ => None,
        };
        Ok(TriggerOutcome {
            changes: object(answer.remove("changes")),
            query: object(answer.remove("query")),
            objects,
            object: object(answer.remove("object")),
            event: answer.remove("event").and_then(|event| event.as_str().map(str::to_string)),
            send_event: answer.remove("sendEvent").and_then(|send| send.as_bool()),
            context: object(answer.remove("context")).unwrap_or_default(),
        })
    }
}

/// What changes when a file of the folder does: every file's path, size and modification
/// time (outside `node_modules` and hidden folders), hashed.
fn folder_fingerprint(folder: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut pending = vec![folder.to_path_buf()];
    let mut visited = 0;
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut entries: Vec<_> = entries.flatten().collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name();
            if name == "node_modules" || name.to_string_lossy().starts_with('.') {
                continue;
            }
            let Ok(metadata) = entry.metadata() else { continue };
            visited += 1;
            if visited > 20_000 {
                return hasher.finish();
            }
            if metadata.is_dir() {
                pending.push(entry.path());
            } else {
                entry.path().hash(&mut hasher);
                metadata.len().hash(&mut hasher);
                metadata.modified().ok().hash(&mut hasher);
            }
        }
    }
    hasher.finish()
}

/// The worker script, written once per content to the temp folder (node runs files).
fn worker_script() -> Result<&'static Path, String> {
    static SCRIPT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let script = SCRIPT.get_or_init(|| {
        let digest = WORKER_SOURCE.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        });
        let path = std::env::temp_dir().join(format!("reparse-cloud-worker-{digest:016x}.js"));
        if std::fs::read_to_string(&path).is_ok_and(|text| text == WORKER_SOURCE) {
            return Ok(path);
        }
        let temp = path.with_extension(format!("{}.tmp", std::process::id()));
        std::fs::write(&temp, WORKER_SOURCE)
            .and_then(|()| std::fs::rename(&temp, &path))
            .map(|()| path)
            .map_err(|error| format!("cannot write the cloud worker script: {error}"))
    });
    script.as_deref().map_err(Clone::clone)
}

/// A socket path of its own for each worker.
fn socket_path() -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("reparse-cloud-{}-{n}.sock", std::process::id()))
}

/// Starts a worker process, waits for it to load the code, and starts reading its answers.
async fn spawn_worker(options: &NodeCloudOptions) -> Result<(Arc<Worker>, Hooks), String> {
    let script = worker_script()?;
    let socket = socket_path();
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)
        .map_err(|error| format!("cannot listen on {}: {error}", socket.display()))?;
    let folder = options.main.parent().unwrap_or(Path::new("."));
    let mut child = Command::new(&options.node)
        .arg(script)
        .current_dir(folder)
        .env("REPARSE_CLOUD_SOCKET", &socket)
        .env("REPARSE_CLOUD_MAIN", &options.main)
        .env("REPARSE_CLOUD_PARSE", &options.parse_sdk)
        .env("REPARSE_APP_ID", &options.app_id)
        .env("REPARSE_MASTER_KEY", &options.master_key)
        .env("REPARSE_JAVASCRIPT_KEY", options.javascript_key.as_deref().unwrap_or(""))
        .env("REPARSE_SERVER_URL", &options.server_url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("cannot run {}: {error}", options.node.display()))?;
    let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
    forward_output(&options.app_id, &mut child, stderr_tail.clone());
    let tail = || {
        let lines = stderr_tail.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().cloned().collect::<Vec<_>>().join("\n")
    };

    let connected = tokio::select! {
        accepted = listener.accept() => accepted.map(|(stream, _)| stream).map_err(|error| error.to_string()),
        status = child.wait() => Err(format!("the worker exited ({})", status.map_or_else(|e| e.to_string(), |s| s.to_string()))),
        () = tokio::time::sleep(options.start_timeout) => Err("the worker did not connect in time".to_string()),
    };
    let _ = std::fs::remove_file(&socket);
    let stream = connected.map_err(|why| format!("{why}\n{}", tail()))?;
    let (read_half, write_half) = stream.into_split();
    let mut lines = BufReader::new(read_half).lines();

    // The first message is `ready`, once main.js has run; anything else is a load failure.
    let ready = tokio::time::timeout(options.start_timeout, async {
        loop {
            match lines.next_line().await {
                Ok(Some(line)) => match serde_json::from_str::<FromWorker>(&line) {
                    Ok(FromWorker::Ready { functions, jobs, triggers }) => {
                        let triggers = triggers
                            .into_iter()
                            .filter_map(|defined| {
                                Some((Trigger::from_name(&defined.kind)?, defined.class_name))
                            })
                            .collect();
                        return Ok(Hooks {
                            functions: functions.into_iter().collect(),
                            jobs: jobs.into_iter().collect(),
                            triggers,
                        });
                    }
                    Ok(FromWorker::Log { level, message }) => log(&options.app_id, &level, &message),
                    _ => return Err(format!("unexpected first message from the worker: {line}")),
                },
                Ok(None) | Err(_) => return Err("the cloud code did not load".to_string()),
            }
        }
    })
    .await;
    let hooks = match ready {
        Ok(Ok(hooks)) => hooks,
        Ok(Err(why)) => {
            // Let the process finish printing why it stopped.
            let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            return Err(format!("{why}:\n{}", tail()));
        }
        Err(_) => {
            return Err(format!(
                "loading the cloud code took longer than {:?}\n{}",
                options.start_timeout,
                tail()
            ));
        }
    };

    let worker = Arc::new(Worker {
        writer: tokio::sync::Mutex::new(write_half),
        pending: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(1),
        alive: AtomicBool::new(true),
        _child: Mutex::new(child),
    });
    let reader = Arc::downgrade(&worker);
    let app_id = options.app_id.clone();
    tokio::spawn(async move {
        loop {
            let line = lines.next_line().await;
            let Some(worker) = reader.upgrade() else { return };
            let line = match line {
                Ok(Some(line)) => line,
                Ok(None) | Err(_) => {
                    tracing::error!(target: "cloud", app = %app_id, "cloud code worker exited");
                    worker.fail_pending("Cloud code worker exited.");
                    return;
                }
            };
            match serde_json::from_str::<FromWorker>(&line) {
                Ok(FromWorker::Result { id, result }) => worker.answer(id, Ok(result)),
                Ok(FromWorker::Error { id, code, message }) => {
                    let code =
                        i32::try_from(code).map_or(ErrorCode::ScriptFailed, ErrorCode::from_any_number);
                    worker.answer(id, Err(ParseError::new(code, message)));
                }
                Ok(FromWorker::Log { level, message }) => log(&app_id, &level, &message),
                Ok(FromWorker::Ready { .. }) | Err(_) => {
                    tracing::warn!(target: "cloud", app = %app_id, "unexpected line from the cloud worker: {line}");
                }
            }
        }
    });
    Ok((worker, hooks))
}

/// Files the worker's stdout as info logs and its stderr as error logs (keeping the last
/// lines of stderr for start failures).
fn forward_output(app_id: &str, child: &mut Child, stderr_tail: Arc<Mutex<VecDeque<String>>>) {
    if let Some(stdout) = child.stdout.take() {
        let app_id = app_id.to_string();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!(target: "cloud", app = %app_id, "{line}");
            }
        });
    }
    if let Some(stderr) = child.stderr.take() {
        let app_id = app_id.to_string();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::error!(target: "cloud", app = %app_id, "{line}");
                let mut tail = stderr_tail.lock().unwrap_or_else(|p| p.into_inner());
                if tail.len() == STDERR_TAIL {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        });
    }
}

fn log(app_id: &str, level: &str, message: &str) {
    match level {
        "error" => tracing::error!(target: "cloud", app = %app_id, "{message}"),
        "warn" => tracing::warn!(target: "cloud", app = %app_id, "{message}"),
        "debug" => tracing::debug!(target: "cloud", app = %app_id, "{message}"),
        _ => tracing::info!(target: "cloud", app = %app_id, "{message}"),
    }
}
