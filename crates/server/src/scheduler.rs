//! The job scheduler: runs the app's `_JobSchedule` entries when they are due
//! (`reparse_cloud::schedule` says when), once per cluster.
//!
//! Every server with the app's cloud code looks at the schedules each tick. A server runs a
//! due job only after claiming the run: an update of the schedule's `lastRun` conditioned on the
//! value it read, so of several servers on one database exactly one wins each run.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reparse_cloud::CallContext;
use reparse_cloud::schedule::JobSchedule;
use reparse_core::ParseError;
use reparse_core::query::{Constraint, FieldPath, Filter, Query};
use reparse_core::schema::ClassSchema;
use reparse_core::update::FieldUpdate;
use reparse_core::value::format_date;
use reparse_storage::Store;
use serde_json::json;

use crate::app::App;
use crate::context::{Ctx, MASTER};
use crate::controllers::jobs;

/// How often schedules are looked at.
pub const SCHEDULER_TICK: Duration = Duration::from_secs(1);

/// Starts the app's scheduler; it stops when the app is dropped.
pub fn spawn_job_scheduler(app: &Arc<App>, tick: Duration) -> tokio::task::JoinHandle<()> {
    let app = Arc::downgrade(app);
    tokio::spawn(async move {
        let mut reported = HashSet::new();
        loop {
            tokio::time::sleep(tick).await;
            let Some(app) = Weak::upgrade(&app) else { return };
            if app.cloud.is_some() {
                run_due_jobs(&app, &mut reported).await;
            }
        }
    })
}

/// Starts every due job this server claims. `reported`: schedules already logged as unusable.
async fn run_due_jobs(app: &App, reported: &mut HashSet<String>) {
    let ctx = Ctx::new(app, &MASTER, "");
    let app_id = &app.config.app_id;
    let schema = match ctx.schema("_JobSchedule").await {
        Ok(Some(schema)) => schema,
        Ok(None) => return,
        Err(error) => return tracing::warn!(target: "cloud", app = %app_id, "schedules not read: {error:?}"),
    };
    let stored = match app.storage.find(&schema, &Query::matching(Filter::everything())).await {
        Ok(stored) => stored,
        Err(error) => {
            return tracing::warn!(target: "cloud", app = %app_id, "schedules not read: {}", error.message);
        }
    };
    for object in stored {
        let schedule = match JobSchedule::from_object(&object) {
            Ok(schedule) => schedule,
            Err(why) => {
                let id = object.get("objectId").and_then(|id| id.as_str()).unwrap_or_default().to_string();
                if reported.insert(id) {
                    tracing::warn!(target: "cloud", app = %app_id, "schedule not run: {why}");
                }
                continue;
            }
        };
        if !schedule.is_due(ctx.now) {
            continue;
        }
        match claim_run(app.storage.as_ref(), &schema, &schedule, ctx.now).await {
            Ok(true) => {}
            // Another server claimed this run.
            Ok(false) => continue,
            Err(error) => {
                tracing::warn!(target: "cloud", app = %app_id, "schedule {} not claimed: {}", schedule.id, error.message);
                continue;
            }
        }
        let call = CallContext { master: true, ..CallContext::default() };
        match jobs::launch(&ctx, &schedule.job_name, schedule.params, "schedule", call).await {
            Ok(job_id) => {
                tracing::info!(target: "cloud", app = %app_id, "scheduled job {} started ({job_id})", schedule.job_name)
            }
            Err(error) => {
                tracing::warn!(target: "cloud", app = %app_id, "scheduled job {} not started: {error:?}", schedule.job_name)
            }
        }
    }
}

/// Claims the schedule's due run for this server: sets `lastRun` to `now` only if it is still
/// what was read. Of several servers claiming the same run, one gets `true`.
async fn claim_run(
    store: &dyn Store,
    schema: &ClassSchema,
    schedule: &JobSchedule,
    now: DateTime<Utc>,
) -> Result<bool, ParseError> {
    let last_run = FieldPath::top("lastRun");
    let unchanged = match schedule.last_run {
        Some(ms) => Constraint::Eq(json!(ms)),
        None => Constraint::Exists(false),
    };
    let filter = Filter::Field { path: last_run.clone(), constraint: unchanged };
    let updates = vec![
        (last_run, FieldUpdate::Set(json!(now.timestamp_millis()))),
        (FieldPath::top("updatedAt"), FieldUpdate::Set(json!(format_date(now)))),
    ];
    Ok(store.update(schema, &schedule.id, &filter, &updates).await?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reparse_core::schema::{FieldSpec, FieldType, default_fields};
    use reparse_storage_sqlite::SqliteStorage;

    #[tokio::test]
    async fn of_two_servers_claiming_one_run_exactly_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("app.sqlite")).unwrap();
        let mut schema = ClassSchema::new("_JobSchedule");
        schema.fields = default_fields("_JobSchedule");
        // As the first REST write of a schedule with a cron expression adds it.
        schema.fields.push(("cronExpression".into(), FieldSpec::of(FieldType::String)));
        storage.create_class(&schema).await.unwrap();
        let now = Utc::now();
        let stored = json!({"objectId": "s1", "jobName": "j", "cronExpression": "* * * * * *",
                            "createdAt": format_date(now), "updatedAt": format_date(now)});
        storage.insert(&schema, stored.as_object().unwrap()).await.unwrap();
        let read = storage.find(&schema, &Query::matching(Filter::everything())).await.unwrap();
        // Both servers read the schedule before either claims it.
        let first_view = JobSchedule::from_object(&read[0]).unwrap();
        let second_view = first_view.clone();
        let (first, second) = tokio::join!(
            claim_run(&storage, &schema, &first_view, now),
            claim_run(&storage, &schema, &second_view, now + chrono::Duration::milliseconds(3)),
        );
        assert_eq!([first.unwrap(), second.unwrap()].iter().filter(|won| **won).count(), 1);
        // The next run is claimed against the new lastRun.
        let read = storage.find(&schema, &Query::matching(Filter::everything())).await.unwrap();
        let updated = JobSchedule::from_object(&read[0]).unwrap();
        assert!(updated.last_run.is_some());
        assert!(!claim_run(&storage, &schema, &first_view, now).await.unwrap(), "a stale view never claims");
        assert!(claim_run(&storage, &schema, &updated, now + chrono::Duration::seconds(1)).await.unwrap());
    }
}
