//! LiveQuery fan-out client for bench/fanout.
//!
//! Opens `--subscribers` WebSocket connections to a Parse LiveQuery server, each `connect`ed
//! anonymously and `subscribe`d to `{className, where: {room}}`, reads the server's RSS once
//! they are all subscribed and idle, then makes `--saves` creates in that room through the REST
//! API, one at a time, and records when each subscriber receives each `create` event. A save is
//! over when every subscriber has its event or `--wait-s` has passed.
//!
//! Prints one JSON object: delivery latencies (ms) measured from the save's acknowledgement
//! (its HTTP response; an event that arrives before the response counts as 0) and from the
//! moment the save was sent, events delivered and expected, and the server's RSS before the
//! connections, with them idle, and after the saves.
//!
//!     reparse-bench-livequery --ws ws://127.0.0.1:1337/ --rest http://127.0.0.1:1337/parse \
//!         --app-id bench --master-key bench-master --pid 1234 --subscribers 10000 --saves 20

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

struct Options {
    ws: String,
    rest: String,
    app_id: String,
    master_key: String,
    class_name: String,
    subscribers: usize,
    saves: usize,
    pid: Option<u32>,
    /// Connections being opened at once.
    concurrency: usize,
    /// How long a save waits for its events.
    wait: Duration,
}

fn options() -> Result<Options, String> {
    let mut given: HashMap<String, String> = HashMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(name) = args.next() {
        let name = name.strip_prefix("--").ok_or(format!("unexpected argument {name}"))?.to_string();
        let value = args.next().ok_or(format!("--{name} needs a value"))?;
        given.insert(name, value);
    }
    let mut take = |name: &str, default: Option<&str>| -> Result<String, String> {
        given.remove(name).or(default.map(str::to_string)).ok_or(format!("--{name} is required"))
    };
    let number = |text: String, name: &str| text.parse::<u64>().map_err(|_| format!("--{name}: not a number"));
    let options = Options {
        ws: take("ws", None)?,
        rest: take("rest", None)?,
        app_id: take("app-id", None)?,
        master_key: take("master-key", None)?,
        class_name: take("class", Some("BenchLive"))?,
        subscribers: number(take("subscribers", Some("1000"))?, "subscribers")? as usize,
        saves: number(take("saves", Some("20"))?, "saves")? as usize,
        pid: take("pid", Some("0")).ok().and_then(|pid| pid.parse().ok()).filter(|pid| *pid != 0),
        concurrency: number(take("concurrency", Some("100"))?, "concurrency")? as usize,
        wait: Duration::from_secs(number(take("wait-s", Some("10"))?, "wait-s")?),
    };
    if let Some(name) = given.keys().next() {
        return Err(format!("unknown option --{name}"));
    }
    Ok(options)
}

/// A process's resident memory in KiB (VmRSS), 0 when unknown.
fn rss_kib(pid: Option<u32>) -> u64 {
    let Some(pid) = pid else { return 0 };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time (user + system) a process has used, in clock ticks (`/proc/<pid>/stat`); 0 when
/// unknown. `None` is this process.
fn cpu_ticks(pid: Option<u32>) -> u64 {
    let path = pid.map_or("/proc/self/stat".to_string(), |pid| format!("/proc/{pid}/stat"));
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after the command name (which may hold spaces): state is the 3rd; utime, stime
    // are the 14th and 15th.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(14) + field(15)
}

/// Clock ticks per second of `/proc` times (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// One delivery: which of the subscriber's events it is (0 for the first save) and when.
type Receipt = (usize, Instant);

/// Opens one subscription; once it is confirmed, reports on `ready` and then forwards the
/// arrival time of every `create` event until the connection ends.
async fn subscriber(
    options: Arc<Options>,
    room: String,
    permits: Arc<Semaphore>,
    ready: mpsc::UnboundedSender<Result<(), String>>,
    receipts: mpsc::UnboundedSender<Receipt>,
) {
    let permit = permits.acquire_owned().await;
    let opened = async {
        // Small buffers: ten thousand connections in this process too.
        let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
        let (mut socket, _) = tokio_tungstenite::connect_async_with_config(options.ws.as_str(), Some(config), true)
            .await
            .map_err(|e| e.to_string())?;
        let connect = json!({"op": "connect", "applicationId": options.app_id});
        socket.send(Message::Text(connect.to_string().into())).await.map_err(|e| e.to_string())?;
        let subscribe = json!({
            "op": "subscribe", "requestId": 1,
            "query": {"className": options.class_name, "where": {"room": room}},
        });
        socket.send(Message::Text(subscribe.to_string().into())).await.map_err(|e| e.to_string())?;
        while let Some(message) = socket.next().await {
            if let Message::Text(text) = message.map_err(|e| e.to_string())? {
                if text.contains("\"op\":\"subscribed\"") {
                    return Ok(socket);
                }
                if text.contains("\"op\":\"error\"") {
                    return Err(text.to_string());
                }
            }
        }
        Err("closed before subscribed".to_string())
    };
    let mut socket = match tokio::time::timeout(Duration::from_secs(60), opened).await {
        Ok(Ok(socket)) => socket,
        Ok(Err(error)) => return drop(ready.send(Err(error))),
        Err(_) => return drop(ready.send(Err("timed out subscribing".into()))),
    };
    drop(permit);
    let _ = ready.send(Ok(()));
    let mut seen = 0;
    while let Some(Ok(message)) = socket.next().await {
        if let Message::Text(text) = message
            && text.contains("\"op\":\"create\"")
        {
            let _ = receipts.send((seen, Instant::now()));
            seen += 1;
        }
    }
}

/// One create through the REST API: (sent, acknowledged).
fn save(options: &Options, room: &str, n: usize) -> Result<(Instant, Instant), String> {
    let url = format!("{}/classes/{}", options.rest.trim_end_matches('/'), options.class_name);
    let sent = Instant::now();
    let response = ureq::post(&url)
        .header("X-Parse-Application-Id", &options.app_id)
        .header("X-Parse-Master-Key", &options.master_key)
        .send_json(json!({"room": room, "n": n}))
        .map_err(|e| e.to_string())?;
    let acknowledged = Instant::now();
    if response.status() != 201 {
        return Err(format!("save answered {}", response.status()));
    }
    Ok((sent, acknowledged))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn summary(mut values: Vec<f64>) -> Value {
    values.sort_by(f64::total_cmp);
    json!({
        "p50": percentile(&values, 50.0), "p90": percentile(&values, 90.0),
        "p99": percentile(&values, 99.0), "max": values.last().copied().unwrap_or(f64::NAN),
    })
}

#[tokio::main]
async fn main() {
    let options = match options() {
        Ok(options) => Arc::new(options),
        Err(error) => {
            eprintln!("reparse-bench-livequery: {error}");
            std::process::exit(2);
        }
    };
    let room = format!("room-{}", std::process::id());
    let rss_before = rss_kib(options.pid);

    let started = Instant::now();
    let permits = Arc::new(Semaphore::new(options.concurrency));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let (receipt_tx, mut receipt_rx) = mpsc::unbounded_channel::<Receipt>();
    for _ in 0..options.subscribers {
        tokio::spawn(subscriber(
            options.clone(),
            room.clone(),
            permits.clone(),
            ready_tx.clone(),
            receipt_tx.clone(),
        ));
    }
    drop(ready_tx);
    drop(receipt_tx);
    let (mut subscribed, mut failures) = (0usize, Vec::new());
    // Every subscriber reports once (its sender lives on with it, so the channel stays open).
    for _ in 0..options.subscribers {
        match ready_rx.recv().await {
            Some(Ok(())) => subscribed += 1,
            Some(Err(error)) => failures.push(error),
            None => break,
        }
    }
    let subscribe_seconds = started.elapsed().as_secs_f64();
    // Settled and idle: what the connections themselves hold.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = rss_kib(options.pid);

    let (server_ticks, client_ticks) = (cpu_ticks(options.pid), cpu_ticks(None));
    let saves_started = Instant::now();
    let mut from_ack = Vec::new();
    let mut from_send = Vec::new();
    let mut delivered = 0usize;
    // Receipts per save, kept until that save's times are known.
    let mut pending: HashMap<usize, Vec<Instant>> = HashMap::new();
    for n in 0..options.saves {
        let (sent, acknowledged) = {
            let options = options.clone();
            let room = room.clone();
            tokio::task::spawn_blocking(move || save(&options, &room, n)).await.expect("save task")
        }
        .unwrap_or_else(|error| {
            eprintln!("reparse-bench-livequery: {error}");
            std::process::exit(1);
        });
        let deadline = tokio::time::Instant::now() + options.wait;
        while pending.get(&n).map_or(0, Vec::len) < subscribed {
            match tokio::time::timeout_at(deadline, receipt_rx.recv()).await {
                Ok(Some((index, at))) => pending.entry(index).or_default().push(at),
                _ => break,
            }
        }
        for at in pending.remove(&n).unwrap_or_default() {
            delivered += 1;
            from_ack.push(at.saturating_duration_since(acknowledged).as_secs_f64() * 1000.0);
            from_send.push(at.saturating_duration_since(sent).as_secs_f64() * 1000.0);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let cpu_ms = |ticks: u64| ticks as f64 * 1000.0 / TICKS_PER_SECOND;
    let server_cpu_ms = cpu_ms(cpu_ticks(options.pid).saturating_sub(server_ticks));
    let client_cpu_ms = cpu_ms(cpu_ticks(None).saturating_sub(client_ticks));
    let saves_seconds = saves_started.elapsed().as_secs_f64();
    let rss_after = rss_kib(options.pid);
    failures.truncate(5);
    let report = json!({
        "subscribers": options.subscribers,
        "subscribed": subscribed,
        "subscribe_seconds": subscribe_seconds,
        "failures": failures,
        "saves": options.saves,
        "delivered": delivered,
        "expected": subscribed * options.saves,
        "latency_ms_from_ack": summary(from_ack),
        "latency_ms_from_send": summary(from_send),
        // CPU while the saves were made and delivered (pauses between saves included).
        "saves_seconds": saves_seconds,
        "server_cpu_ms": server_cpu_ms,
        "client_cpu_ms": client_cpu_ms,
        "server_cpu_us_per_event": if delivered > 0 { server_cpu_ms * 1000.0 / delivered as f64 } else { f64::NAN },
        "rss_kib_before": rss_before,
        "rss_kib_idle": rss_idle,
        "rss_kib_after": rss_after,
        "idle_bytes_per_subscription": if subscribed > 0 {
            (rss_idle.saturating_sub(rss_before) * 1024) as f64 / subscribed as f64
        } else {
            f64::NAN
        },
    });
    println!("{report}");
    std::process::exit(0);
}
