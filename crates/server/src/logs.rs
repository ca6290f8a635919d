//! Each app's recent log lines, kept in memory for parse-server's `GET /scriptlog` (which the
//! Parse Dashboard's logs page reads) and Reparse's dashboard: every `tracing` event carrying
//! an `app` field (cloud code's `console.log` and `request.log`, jobs, triggers, schedules) is
//! also recorded under that app, the newest [`KEPT_PER_APP`] of them. Lines live as long as
//! the process: the server's own log (stderr) is the record that lasts.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{LazyLock, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::error::ApiResult;

/// Lines kept per app (older ones are dropped first).
pub const KEPT_PER_APP: usize = 5_000;

#[derive(Debug, Clone)]
struct LogLine {
    timestamp: DateTime<Utc>,
    level: Level,
    message: String,
}

static LINES: LazyLock<Mutex<HashMap<String, VecDeque<LogLine>>>> = LazyLock::new(Default::default);

/// The `tracing` layer recording app-tagged events (installed by the binary beside its output).
pub struct AppLogLayer;

impl<S: Subscriber> Layer<S> for AppLogLayer {
    fn on_event(&self, event: &Event<'_>, _context: Context<'_, S>) {
        let mut visitor = LineVisitor::default();
        event.record(&mut visitor);
        let (Some(app), message) = visitor.finish() else { return };
        record(&app, LogLine { timestamp: Utc::now(), level: *event.metadata().level(), message });
    }
}

fn record(app_id: &str, line: LogLine) {
    let mut lines = LINES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let kept = lines.entry(app_id.to_string()).or_default();
    if kept.len() == KEPT_PER_APP {
        kept.pop_front();
    }
    kept.push_back(line);
}

/// The message, with the event's other fields after it (`trigger=beforeSave class_name=…`).
#[derive(Default)]
struct LineVisitor {
    app: Option<String>,
    message: String,
    extra: String,
}

impl Visit for LineVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "app" => self.app = Some(value.to_string()),
            "message" => self.message = value.to_string(),
            name => {
                let _ = write!(self.extra, " {name}={value}");
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "app" => self.app = Some(format!("{value:?}")),
            "message" => self.message = format!("{value:?}"),
            name => {
                let _ = write!(self.extra, " {name}={value:?}");
            }
        }
    }
}

impl LineVisitor {
    fn finish(mut self) -> (Option<String>, String) {
        self.message.push_str(&self.extra);
        (self.app, self.message)
    }
}

/// parse-server's levels: `error` shows errors only, `info` (the default) everything up to info.
fn shown_at(level: Level, wanted: &str) -> bool {
    match wanted {
        "error" => level == Level::ERROR,
        "warn" => level <= Level::WARN,
        "debug" | "verbose" | "silly" => true,
        _ => level <= Level::INFO,
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "verbose",
    }
}

/// `GET /scriptlog` (master key): the app's lines as parse-server's logger answers them, with
/// its parameters: `level` (info | error), `from`/`until` (dates; a week back to now by
/// default), `size` or `n` (10), `order` (desc | asc).
pub fn script_log(app_id: &str, params: &Map<String, Value>) -> ApiResult<Value> {
    let text = |name: &str| {
        params.get(name).and_then(|value| match value {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        })
    };
    let date = |name: &str| -> ApiResult<Option<DateTime<Utc>>> {
        let Some(text) = text(name) else { return Ok(None) };
        if let Ok(millis) = text.parse::<i64>() {
            return Ok(DateTime::from_timestamp_millis(millis));
        }
        DateTime::parse_from_rfc3339(&text)
            .map(|date| Some(date.to_utc()))
            .map_err(|_| reparse_core::ParseError::invalid_query(format!("{name} must be a date")).into())
    };
    let until = date("until")?.unwrap_or_else(Utc::now);
    let from = date("from")?.unwrap_or(until - chrono::Duration::weeks(1));
    let size = text("n").or_else(|| text("size")).and_then(|size| size.parse::<usize>().ok()).unwrap_or(10);
    let level = text("level").unwrap_or_else(|| "info".into());
    let ascending = text("order").is_some_and(|order| order.eq_ignore_ascii_case("asc"));
    let lines = LINES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let kept = lines.get(app_id);
    let matching = kept
        .into_iter()
        .flatten()
        .filter(|line| line.timestamp >= from && line.timestamp <= until && shown_at(line.level, &level));
    let as_json = |line: &LogLine| {
        json!({
            "level": level_name(line.level),
            "message": line.message,
            "timestamp": line.timestamp.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        })
    };
    let entries: Vec<Value> = if ascending {
        matching.take(size).map(as_json).collect()
    } else {
        matching.rev().take(size).map(as_json).collect()
    };
    Ok(Value::Array(entries))
}
