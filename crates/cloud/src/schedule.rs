//! When a scheduled job is due: `_JobSchedule` objects in parse-dashboard's shape (`jobName`,
//! `params` as JSON text, `startAfter` as an ISO date, `repeatMinutes`, `timeOfDay`,
//! `lastRun` in milliseconds), plus Reparse's `cronExpression` (five fields, or six with
//! seconds) and `timeZone` (an IANA name; UTC when absent). Pure: the scheduler loop that
//! claims and starts due jobs lives with the server.
//!
//! - A cron expression runs at each of its times from `startAfter` on, in the time zone.
//! - `repeatMinutes` runs first at `startAfter` (on `timeOfDay`, in the time zone, when given)
//!   and then every that many minutes after the last run.
//! - Otherwise the job runs once, at `startAfter`.
//! - Times missed while no server ran are made up by one run, not one per missed time.

use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct JobSchedule {
    pub id: String,
    pub job_name: String,
    pub params: Map<String, Value>,
    start_after: DateTime<Utc>,
    repeat: Repeat,
    time_zone: Tz,
    time_of_day: Option<NaiveTime>,
    /// When the job last ran (as claimed by a server), milliseconds since the epoch as stored.
    pub last_run: Option<i64>,
}

#[derive(Debug, Clone)]
enum Repeat {
    Once,
    Every(Duration),
    Cron(Box<cron::Schedule>),
}

impl JobSchedule {
    /// Reads a stored `_JobSchedule` (REST JSON); a schedule that cannot run says why.
    pub fn from_object(object: &Map<String, Value>) -> Result<JobSchedule, String> {
        let text = |key: &str| object.get(key).and_then(Value::as_str).filter(|text| !text.is_empty());
        let id = text("objectId").ok_or("a schedule without objectId")?.to_string();
        let job_name = text("jobName").ok_or("a schedule without jobName")?.to_string();
        let params = match object.get("params") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(params)) => params.clone(),
            Some(Value::String(json)) if json.trim().is_empty() => Map::new(),
            Some(Value::String(json)) => match serde_json::from_str(json) {
                Ok(Value::Object(params)) => params,
                _ => return Err(format!("params of schedule {id} is not a JSON object")),
            },
            Some(_) => return Err(format!("params of schedule {id} is not a JSON object")),
        };
        let time_zone = match text("timeZone") {
            Some(name) => Tz::from_str(name).map_err(|_| format!("unknown time zone {name:?}"))?,
            None => Tz::UTC,
        };
        let created_at = object.get("createdAt").and_then(date_of);
        let start_after = match object.get("startAfter") {
            None | Some(Value::Null) => created_at.unwrap_or_else(Utc::now),
            Some(value) => {
                date_of(value).ok_or_else(|| format!("startAfter of schedule {id} is not a date"))?
            }
        };
        let time_of_day = match text("timeOfDay") {
            Some(time) => {
                Some(parse_time_of_day(time).ok_or_else(|| format!("timeOfDay {time:?} is not HH:MM[:SS]"))?)
            }
            None => None,
        };
        let repeat = if let Some(expression) = text("cronExpression") {
            Repeat::Cron(Box::new(parse_cron(expression)?))
        } else {
            match object.get("repeatMinutes").and_then(Value::as_f64) {
                Some(minutes) if minutes > 0.0 => {
                    Repeat::Every(Duration::milliseconds((minutes * 60_000.0) as i64))
                }
                _ => Repeat::Once,
            }
        };
        let last_run = object.get("lastRun").and_then(Value::as_f64).map(|ms| ms as i64);
        Ok(JobSchedule { id, job_name, params, start_after, repeat, time_zone, time_of_day, last_run })
    }

    /// The next time the job should run, after its last run; `None` once a one-off has run.
    pub fn next_run(&self) -> Option<DateTime<Utc>> {
        let last = self.last_run.and_then(DateTime::from_timestamp_millis);
        match (&self.repeat, last) {
            (Repeat::Once, Some(_)) => None,
            (Repeat::Once, None) | (Repeat::Every(_), None) => Some(self.first_run()),
            (Repeat::Every(interval), Some(last)) => Some(last + *interval),
            (Repeat::Cron(schedule), last) => {
                // The first cron time at or after startAfter, then the first after the last run.
                let from = match last {
                    Some(last) => last.max(self.start_after - Duration::seconds(1)),
                    None => self.start_after - Duration::seconds(1),
                };
                schedule.after(&from.with_timezone(&self.time_zone)).next().map(|at| at.with_timezone(&Utc))
            }
        }
    }

    /// Whether the job should run at `now`.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.next_run().is_some_and(|at| at <= now)
    }

    /// `startAfter`, moved to `timeOfDay` on its day (in the time zone) when one is given.
    fn first_run(&self) -> DateTime<Utc> {
        let Some(time) = self.time_of_day else { return self.start_after };
        let day = self.start_after.with_timezone(&self.time_zone).date_naive();
        let at = self.time_zone.from_local_datetime(&day.and_time(time)).earliest();
        match at.map(|at| at.with_timezone(&Utc)) {
            Some(at) if at >= self.start_after => at,
            // That time of day has passed on startAfter's day: the next day.
            Some(at) => at + Duration::days(1),
            None => self.start_after,
        }
    }
}

/// A cron expression: five fields (minute hour day month weekday) as Unix writes them, or the
/// `cron` crate's six or seven (with seconds, and years).
pub fn parse_cron(expression: &str) -> Result<cron::Schedule, String> {
    let fields = expression.split_whitespace().count();
    let full = if fields == 5 { format!("0 {expression}") } else { expression.to_string() };
    cron::Schedule::from_str(&full).map_err(|error| format!("cron expression {expression:?}: {error}"))
}

fn date_of(value: &Value) -> Option<DateTime<Utc>> {
    let text = match value {
        Value::String(text) => text.as_str(),
        Value::Object(map) if map.get("__type").and_then(Value::as_str) == Some("Date") => {
            map.get("iso")?.as_str()?
        }
        _ => return None,
    };
    DateTime::parse_from_rfc3339(text).ok().map(|date| date.with_timezone(&Utc))
}

/// `HH:MM`, `HH:MM:SS` or parse-dashboard's `HH:MM:SS.000Z`.
fn parse_time_of_day(text: &str) -> Option<NaiveTime> {
    let text = text.trim_end_matches('Z');
    let text = text.split('.').next()?;
    NaiveTime::parse_from_str(text, "%H:%M:%S").or_else(|_| NaiveTime::parse_from_str(text, "%H:%M")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schedule(value: Value) -> JobSchedule {
        JobSchedule::from_object(value.as_object().unwrap()).unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_one_off_runs_once_at_its_start() {
        let mut once =
            schedule(json!({"objectId": "s", "jobName": "j", "startAfter": "2026-01-01T10:00:00.000Z",
                                       "params": "{\"n\": 1}"}));
        assert_eq!(once.params, json!({"n": 1}).as_object().unwrap().clone());
        assert!(!once.is_due(at("2026-01-01T09:59:59Z")));
        assert!(once.is_due(at("2026-01-01T10:00:00Z")));
        once.last_run = Some(at("2026-01-01T10:00:01Z").timestamp_millis());
        assert_eq!(once.next_run(), None);
    }

    #[test]
    fn repeats_every_n_minutes_from_the_time_of_day() {
        let mut daily =
            schedule(json!({"objectId": "s", "jobName": "j", "startAfter": "2026-01-01T10:00:00.000Z",
                                        "timeOfDay": "03:30:00.000Z", "repeatMinutes": 1440}));
        // 03:30 on the start day has passed: the next day.
        assert_eq!(daily.next_run(), Some(at("2026-01-02T03:30:00Z")));
        daily.last_run = Some(at("2026-01-02T03:30:02Z").timestamp_millis());
        assert_eq!(daily.next_run(), Some(at("2026-01-03T03:30:02Z")));
    }

    #[test]
    fn cron_expressions_run_in_their_time_zone() {
        let mut nightly =
            schedule(json!({"objectId": "s", "jobName": "j", "startAfter": "2026-06-01T00:00:00.000Z",
                                          "cronExpression": "0 3 * * *", "timeZone": "Europe/Paris"}));
        // 03:00 in Paris in June is 01:00 UTC.
        assert_eq!(nightly.next_run(), Some(at("2026-06-01T01:00:00Z")));
        nightly.last_run = Some(at("2026-06-01T01:00:00.500Z").timestamp_millis());
        assert_eq!(nightly.next_run(), Some(at("2026-06-02T01:00:00Z")));
        // Runs missed while down are made up by one run.
        assert!(nightly.is_due(at("2026-06-09T12:00:00Z")));
        let every_second = schedule(json!({"objectId": "s", "jobName": "j", "cronExpression": "* * * * * *",
                                           "startAfter": "2026-01-01T00:00:00Z"}));
        assert_eq!(every_second.next_run(), Some(at("2026-01-01T00:00:00Z")));
    }

    #[test]
    fn bad_schedules_say_why() {
        let bad = |value: Value| JobSchedule::from_object(value.as_object().unwrap()).unwrap_err();
        assert!(
            bad(json!({"objectId": "s", "jobName": "j", "cronExpression": "nope"}))
                .contains("cron expression")
        );
        assert!(
            bad(json!({"objectId": "s", "jobName": "j", "timeZone": "Mars/Olympus"})).contains("time zone")
        );
        assert!(bad(json!({"objectId": "s", "jobName": "j", "params": "[1]"})).contains("params"));
        assert!(bad(json!({"objectId": "s"})).contains("jobName"));
    }
}
