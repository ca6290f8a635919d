//! The app directory of a multi-app server: apps come from the registry and are opened on first
//! use, so apps created with `reparse apps create` while the server runs are served at once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use reparse_registry::{AppRecord, Registry};
use reparse_server::{App, AppConfig, AppDirectory};

use crate::settings::{Database, apply_app_options};
use crate::storage::open_storage;

pub(crate) struct RegistryDirectory {
    registry: Arc<Registry>,
    public_url: String,
    open: RwLock<HashMap<String, Arc<App>>>,
}

impl RegistryDirectory {
    pub(crate) fn new(registry: Arc<Registry>, public_url: String) -> RegistryDirectory {
        RegistryDirectory { registry, public_url, open: RwLock::new(HashMap::new()) }
    }

    /// Opens an app's database and builds its configuration from the registry record.
    pub(crate) fn open_app(&self, record: &AppRecord) -> Result<Arc<App>, String> {
        // Checked again under the write lock so that two first requests open one database once.
        let mut open = self.open.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(app) = open.get(&record.app_id) {
            return Ok(app.clone());
        }
        let mut config = AppConfig::new(&record.app_id, &record.master_key, &self.public_url);
        config.name = record.name.clone();
        config.javascript_key = record.javascript_key.clone();
        config.rest_api_key = record.rest_api_key.clone();
        config.client_key = record.client_key.clone();
        apply_app_options(&mut config, &record.settings);
        let database = Database::Sqlite(self.registry.app_dir(&record.app_id).join("data.sqlite"));
        let storage = open_storage(&database)?;
        let app = Arc::new(App::new(config, storage));
        open.insert(record.app_id.clone(), app.clone());
        Ok(app)
    }
}

#[async_trait]
impl AppDirectory for RegistryDirectory {
    async fn app(&self, app_id: &str) -> Option<Arc<App>> {
        if let Some(app) = self.open.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(app_id) {
            return Some(app.clone());
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
