//! The app directory of a multi-app server: apps come from the registry and are opened on first
//! use, so apps created with `reparse apps create` while the server runs are served at once.
//! An open app is checked against the registry again at most once per [`RECHECK_AFTER`], so an
//! app deleted (or whose keys or settings change) while the server runs stops being served with
//! its old record within that time.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reparse_registry::{AppRecord, Registry};
use reparse_server::{App, AppConfig, AppDirectory};
use reparse_storage::Storage;

use crate::settings::apply_app_options;
use crate::storage::open_sqlite;

const RECHECK_AFTER: Duration = Duration::from_secs(1);

struct OpenApp {
    app: Arc<App>,
    record: AppRecord,
    checked: Instant,
}

pub(crate) struct RegistryDirectory {
    registry: Arc<Registry>,
    public_url: String,
    open: RwLock<HashMap<String, OpenApp>>,
}

impl RegistryDirectory {
    pub(crate) fn new(registry: Arc<Registry>, public_url: String) -> RegistryDirectory {
        RegistryDirectory { registry, public_url, open: RwLock::new(HashMap::new()) }
    }

    /// Opens an app's database and builds its configuration from the registry record.
    pub(crate) fn open_app(&self, record: &AppRecord) -> Result<Arc<App>, String> {
        // Checked again under the write lock so that two first requests open one database once.
        let mut open = self.open.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(entry) = open.get(&record.app_id) {
            return Ok(entry.app.clone());
        }
        let app =
            self.build_app(record, open_sqlite(&self.registry.app_dir(&record.app_id).join("data.sqlite"))?)?;
        open.insert(
            record.app_id.clone(),
            OpenApp { app: app.clone(), record: record.clone(), checked: Instant::now() },
        );
        Ok(app)
    }

    fn build_app(&self, record: &AppRecord, storage: Arc<dyn Storage>) -> Result<Arc<App>, String> {
        let mut config = AppConfig::new(&record.app_id, &record.master_key, &self.public_url);
        config.name = record.name.clone();
        config.javascript_key = record.javascript_key.clone();
        config.rest_api_key = record.rest_api_key.clone();
        config.client_key = record.client_key.clone();
        apply_app_options(&mut config, &record.settings)?;
        Ok(Arc::new(App::new(config, storage)?))
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
                    match self.build_app(&record, entry.app.storage.clone()) {
                        Ok(app) => {
                            entry.app = app;
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
        match self.open_app(&record) {
            Ok(app) => Some(app),
            Err(error) => {
                tracing::error!(app_id, %error, "could not open app");
                None
            }
        }
    }
}
