//! The app directory of a multi-app server: apps come from the registry and are opened on first
//! use, so apps created with `reparse apps create` while the server runs are served at once.
//! An app's data is a SQLite file under the data folder, or a schema of the apps database
//! (`appsDatabaseURI`), as its registry record's placement says.
//! An open app is checked against the registry again at most once per [`RECHECK_AFTER`], so an
//! app deleted (or whose keys or settings change) while the server runs stops being served with
//! its old record within that time.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reparse_cloud::CloudCode;
use reparse_registry::{AppPlacement, AppRecord, Registry};
use reparse_server::{App, AppConfig, AppDirectory};
use reparse_storage::Storage;
use reparse_storage_postgres::PostgresDatabase;

use crate::files_config::{app_part_of_shared_files, registry_app_backend};
use crate::settings::apply_app_options;
use crate::storage::{app_schema_name, open_sqlite};

const RECHECK_AFTER: Duration = Duration::from_secs(1);

struct OpenApp {
    app: Arc<App>,
    record: AppRecord,
    checked: Instant,
}

pub(crate) struct RegistryDirectory {
    registry: Arc<Registry>,
    public_url: String,
    /// Where apps without data yet are placed (one schema each); `None`: SQLite files.
    apps_database: Option<PostgresDatabase>,
    /// `appsFilesAdapter`: where apps without a `filesAdapter` of their own keep their files.
    apps_files: Option<serde_json::Value>,
    /// Where apps' cloud code workers reach this server; `None`: cloud code is not started
    /// (a CLI command opening an app).
    cloud_server_url: Option<String>,
    open: RwLock<HashMap<String, OpenApp>>,
    /// Held while an app is being opened, so that two first requests open its database once.
    opening: tokio::sync::Mutex<()>,
}

impl RegistryDirectory {
    pub(crate) fn new(
        registry: Arc<Registry>,
        public_url: String,
        apps_database: Option<PostgresDatabase>,
        apps_files: Option<serde_json::Value>,
        cloud_server_url: Option<String>,
    ) -> RegistryDirectory {
        RegistryDirectory {
            registry,
            public_url,
            apps_database,
            apps_files,
            cloud_server_url,
            open: RwLock::new(HashMap::new()),
            opening: tokio::sync::Mutex::new(()),
        }
    }

    fn opened(&self, app_id: &str) -> Option<Arc<App>> {
        let open = self.open.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        open.get(app_id).map(|entry| entry.app.clone())
    }

    /// Opens an app's database and builds its configuration from the registry record; returns
    /// the record as it now is (a first open records where the app's data lives).
    pub(crate) async fn open_app(&self, record: &AppRecord) -> Result<(Arc<App>, AppRecord), String> {
        let _opening = self.opening.lock().await;
        if let Some(app) = self.opened(&record.app_id) {
            return Ok((app, record.clone()));
        }
        let record = self.place(record)?;
        let storage = self.open_storage(&record).await?;
        let mut app = self.build_app(&record, storage, None)?;
        if let Some(url) = &self.cloud_server_url
            && let Some(cloud) =
                crate::cloud_config::start_cloud(&record.settings, &app.config, url, self.registry.data_dir())
                    .await?
        {
            app = app.with_cloud(cloud);
        }
        let app = with_scheduler(Arc::new(app));
        let mut open = self.open.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        open.insert(
            record.app_id.clone(),
            OpenApp { app: app.clone(), record: record.clone(), checked: Instant::now() },
        );
        Ok((app, record))
    }

    /// Decides where an app without a recorded placement keeps its data, and records it: in the
    /// apps database when the server has one, unless the app already has a SQLite file (an
    /// app from before the apps database was configured keeps its data where it is).
    fn place(&self, record: &AppRecord) -> Result<AppRecord, String> {
        if record.placement.is_some() {
            return Ok(record.clone());
        }
        let has_sqlite_file = self.sqlite_path(&record.app_id).exists();
        let placement = match &self.apps_database {
            Some(_) if !has_sqlite_file => {
                AppPlacement::Postgres { schema: app_schema_name(&record.app_id)? }
            }
            _ => AppPlacement::Sqlite,
        };
        self.registry.set_placement(&record.app_id, &placement).map_err(|error| error.to_string())?;
        Ok(AppRecord { placement: Some(placement), ..record.clone() })
    }

    fn sqlite_path(&self, app_id: &str) -> std::path::PathBuf {
        self.registry.app_dir(app_id).join("data.sqlite")
    }

    async fn open_storage(&self, record: &AppRecord) -> Result<Arc<dyn Storage>, String> {
        match &record.placement {
            Some(AppPlacement::Postgres { schema }) => {
                let Some(database) = &self.apps_database else {
                    return Err(format!(
                        "app {:?} keeps its data in PostgreSQL (schema {schema}): start the server with \
                         --apps-database-uri",
                        record.name
                    ));
                };
                let storage = database.open_schema(schema).await.map_err(|error| {
                    format!(
                        "app {:?}: cannot open PostgreSQL schema {schema}: {}",
                        record.name, error.message
                    )
                })?;
                Ok(Arc::new(storage))
            }
            Some(AppPlacement::Sqlite) | None => open_sqlite(&self.sqlite_path(&record.app_id)),
        }
    }

    /// The app's configuration and files as its record sets them (what opening it would
    /// build, without its database).
    fn configure(
        &self,
        record: &AppRecord,
    ) -> Result<(AppConfig, crate::files_config::FilesBackend), String> {
        // An app may have an address of its own (its domain, for file URLs and e-mailed links).
        let public_url =
            record.settings.get("publicServerURL").and_then(|url| url.as_str()).unwrap_or(&self.public_url);
        let mut config = AppConfig::new(&record.app_id, &record.master_key, public_url);
        config.name = record.name.clone();
        config.javascript_key = record.javascript_key.clone();
        config.rest_api_key = record.rest_api_key.clone();
        config.client_key = record.client_key.clone();
        apply_app_options(&mut config, &record.settings)?;
        let backend = registry_app_backend(
            &record.settings,
            self.apps_files.as_ref(),
            &record.app_id,
            self.registry.app_dir(&record.app_id).join("files"),
            &crate::environment_variable,
        )?;
        Ok((config, backend))
    }

    /// The app as its record configures it, on `storage`, with `cloud` (kept when a changed
    /// record is applied to an open app).
    fn build_app(
        &self,
        record: &AppRecord,
        storage: Arc<dyn Storage>,
        cloud: Option<Arc<dyn CloudCode>>,
    ) -> Result<App, String> {
        let (config, backend) = self.configure(record)?;
        let files = crate::storage::open_files(&backend)?;
        let app = App::new(config, storage)?.with_files(files);
        Ok(match cloud {
            Some(cloud) => app.with_cloud(cloud),
            None => app,
        })
    }

    /// Re-reads an open app's record: forgets the app when it was deleted, rebuilds its
    /// configuration (same database) when its record changed.
    fn recheck(&self, app_id: &str) -> Option<Arc<App>> {
        let current = self.registry.find(app_id);
        let mut open = self.open.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        match current {
            Ok(None) => {
                open.remove(app_id);
                None
            }
            // A registry that cannot be read keeps the app as it was rather than failing requests.
            Err(error) => {
                tracing::warn!(app_id, %error, "could not re-read the app registry");
                open.get(app_id).map(|entry| entry.app.clone())
            }
            Ok(Some(record)) => {
                let entry = open.get_mut(app_id)?;
                if entry.record != record {
                    // The cloud code keeps running as it was loaded (a changed `cloud` setting
                    // applies when the server starts again).
                    match self.build_app(&record, entry.app.storage.clone(), entry.app.cloud.clone()) {
                        Ok(mut app) => {
                            app.live_query.carry_subscribers_from(&entry.app.live_query);
                            entry.app = with_scheduler(Arc::new(app));
                            entry.record = record;
                        }
                        // Bad new settings keep the app running as it was configured.
                        Err(error) => tracing::error!(app_id, %error, "app settings not applied"),
                    }
                }
                entry.checked = Instant::now();
                Some(entry.app.clone())
            }
        }
    }
}

/// Starts the app's background work: its job scheduler when it has cloud code, LiveQuery's
/// Redis subscription when it has one (both stop when the app is dropped, as when a changed
/// record replaces it).
fn with_scheduler(app: Arc<App>) -> Arc<App> {
    if app.cloud.is_some() {
        reparse_server::spawn_job_scheduler(&app, reparse_server::SCHEDULER_TICK);
    }
    reparse_server::live_query::LiveQuery::start(&app);
    app
}

#[async_trait]
impl AppDirectory for RegistryDirectory {
    async fn app(&self, app_id: &str) -> Option<Arc<App>> {
        let fresh = {
            let open = self.open.read().unwrap_or_else(|poisoned| poisoned.into_inner());
            open.get(app_id).map(|entry| (entry.app.clone(), entry.checked.elapsed() < RECHECK_AFTER))
        };
        match fresh {
            Some((app, true)) => return Some(app),
            // A registry read is a primary-key lookup in a small local file: done in place.
            Some((_, false)) => return self.recheck(app_id),
            None => {}
        }
        let registry = self.registry.clone();
        let wanted = app_id.to_string();
        let record = tokio::task::spawn_blocking(move || registry.find(&wanted)).await.ok()?.ok()??;
        match self.open_app(&record).await {
            Ok((app, _)) => Some(app),
            Err(error) => {
                tracing::error!(app_id, %error, "could not open app");
                None
            }
        }
    }
}

/// Options a registry app cannot set for itself: the server's own (but `publicServerURL`, an
/// app's own address), and what the registry decides (its id, its master key, where its data
/// lives).
const NOT_PER_APP: [&str; 3] = ["appId", "masterKey", "databaseURI"];

#[async_trait]
impl reparse_dashboard::AppAdmin for RegistryDirectory {
    fn check_settings(&self, record: &AppRecord) -> Result<(), String> {
        let text = serde_json::Value::Object(record.settings.clone()).to_string();
        let options = crate::options::from_config_file(&text)?;
        let server_wide = |key: &str| crate::settings::SERVER_WIDE.contains(&key) && key != "publicServerURL";
        if let Some(key) = options.keys().find(|key| server_wide(key) || NOT_PER_APP.contains(&key.as_str()))
        {
            return Err(format!(
                "{key} is not an app setting: it is the server's or the registry's to decide"
            ));
        }
        self.configure(&AppRecord { settings: options, ..record.clone() }).map(|_| ())
    }

    async fn delete_app(&self, record: &AppRecord) -> Result<(), String> {
        // The data first: an app whose files or schema cannot be deleted stays in the registry.
        if let Some(files) = app_part_of_shared_files(
            &record.settings,
            self.apps_files.as_ref(),
            &record.app_id,
            self.registry.app_dir(&record.app_id).join("files"),
            &crate::environment_variable,
        )? {
            let removed = crate::storage::remove_all_files(&files).await?;
            tracing::info!(app = %record.app_id, removed, "the app's files in shared storage were deleted");
        }
        if let Some(AppPlacement::Postgres { schema }) = &record.placement {
            let database = self.apps_database.as_ref().ok_or_else(|| {
                format!("its data is in PostgreSQL schema {schema}, and this server has no apps database")
            })?;
            database.drop_schema(schema).await.map_err(|error| error.message)?;
        }
        let registry = self.registry.clone();
        let app_id = record.app_id.clone();
        tokio::task::spawn_blocking(move || registry.delete(&app_id))
            .await
            .map_err(|error| error.to_string())?
            .map_err(|error| error.to_string())?;
        // Served no more from now on (other servers notice within RECHECK_AFTER).
        let forgotten =
            self.open.write().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&record.app_id);
        drop(forgotten);
        Ok(())
    }
}
