//! An app hosted by the server: its settings, its database and its schema cache, and the
//! directory the server asks to find an app by application id.

use std::sync::Arc;

use async_trait::async_trait;
use reparse_auth_providers::AuthProviders;
use reparse_cloud::CloudCode;
use reparse_files::FilesAdapter;

use crate::live_query::{LiveQuery, LiveQueryOptions};
use crate::webhooks::Webhooks;
use reparse_mail::{MailConfig, Mailer};
use reparse_storage::Storage;

use crate::account_options::AccountOptions;
use crate::files::FileUploadOptions;
use crate::ip_allow::IpAllowList;
use crate::roles::RoleCache;
use crate::schema_cache::SchemaCache;
use crate::sessions::SessionCache;

/// One app's keys and the parse-server options that shape its API.
#[derive(Debug, Clone)]
pub struct AppConfig {
    pub app_id: String,
    pub name: String,
    pub master_key: String,
    pub read_only_master_key: Option<String>,
    pub client_key: Option<String>,
    pub javascript_key: Option<String>,
    pub rest_api_key: Option<String>,
    pub dotnet_key: Option<String>,
    /// The URL clients reach this app's API at (`publicServerURL`, else `serverURL`), without a
    /// trailing slash; used for `Location` headers.
    pub public_server_url: String,
    pub allow_client_class_creation: bool,
    pub allow_custom_object_id: bool,
    /// Upper bound on `limit` (`maxLimit`); `None` means unbounded.
    pub max_limit: Option<u64>,
    pub object_id_size: usize,
    /// Sessions, sign-up, e-mail and password options.
    pub accounts: AccountOptions,
    /// `masterKeyIps`: where the master key is accepted from (default loopback only).
    pub master_key_ips: IpAllowList,
    /// `fileUpload`: who may upload files, and which extensions.
    pub file_upload: FileUploadOptions,
    /// `preserveFileName`: store uploads under their own name, without the random prefix.
    pub preserve_file_name: bool,
    /// `webhookKey`: sent to webhooks in `X-Parse-Webhook-Key`.
    pub webhook_key: Option<String>,
    /// `liveQuery`: which classes publish changes to subscribers.
    pub live_query: LiveQueryOptions,
}

impl AppConfig {
    /// An app with parse-server's defaults for everything but its identity.
    pub fn new(app_id: &str, master_key: &str, public_server_url: &str) -> AppConfig {
        AppConfig {
            app_id: app_id.to_string(),
            name: app_id.to_string(),
            master_key: master_key.to_string(),
            read_only_master_key: None,
            client_key: None,
            javascript_key: None,
            rest_api_key: None,
            dotnet_key: None,
            public_server_url: public_server_url.trim_end_matches('/').to_string(),
            allow_client_class_creation: false,
            allow_custom_object_id: false,
            max_limit: None,
            object_id_size: 10,
            accounts: AccountOptions::default(),
            master_key_ips: IpAllowList::default(),
            file_upload: FileUploadOptions::default(),
            preserve_file_name: false,
            webhook_key: None,
            live_query: LiveQueryOptions::default(),
        }
    }
}

/// A running app.
pub struct App {
    pub config: AppConfig,
    pub storage: Arc<dyn Storage>,
    pub schemas: SchemaCache,
    pub sessions: SessionCache,
    pub roles: RoleCache,
    /// Third-party sign-in (`auth`, `enableAnonymousUsers`).
    pub auth_providers: AuthProviders,
    /// Account e-mails, when `emailAdapter` is set.
    pub mailer: Option<Mailer>,
    /// Where the app's files live (`/files`); `None` answers uploads with 130.
    pub files: Option<Arc<dyn FilesAdapter>>,
    /// The app's cloud code (`cloud`); `None` answers functions with 141.
    pub cloud: Option<Arc<dyn CloudCode>>,
    /// Functions and triggers served by external endpoints (`/hooks`).
    pub webhooks: Webhooks,
    /// Real-time subscriptions (`liveQuery`).
    pub live_query: LiveQuery,
}

impl App {
    /// Starts an app: checks the options that need more than parsing (providers, mail) and
    /// starts its mailer. Must run inside a Tokio runtime (the mailer's worker).
    pub fn new(config: AppConfig, storage: Arc<dyn Storage>) -> Result<App, String> {
        let webhooks = Webhooks::new(config.webhook_key.clone());
        let config_live_query = config.live_query.clone();
        let app_id = config.app_id.clone();
        let accounts = &config.accounts;
        let auth_providers =
            AuthProviders::from_options(accounts.auth.as_ref(), accounts.enable_anonymous_users)?;
        let mailer = match &accounts.email_adapter {
            Some(adapter) => {
                let mail = MailConfig::from_parse_options(&config.name, &config.public_server_url, adapter)?;
                Some(Mailer::start(mail)?)
            }
            None if accounts.verify_user_emails => {
                return Err("verifyUserEmails needs an emailAdapter to send the e-mails with".into());
            }
            None => None,
        };
        Ok(App {
            config,
            storage,
            schemas: SchemaCache::default(),
            sessions: SessionCache::default(),
            roles: RoleCache::default(),
            auth_providers,
            mailer,
            files: None,
            cloud: None,
            webhooks,
            live_query: LiveQuery::new(&app_id, config_live_query),
        })
    }

    /// The app with its files kept in `files`.
    pub fn with_cloud(mut self, cloud: Arc<dyn CloudCode>) -> App {
        self.cloud = Some(cloud);
        self
    }

    pub fn with_files(mut self, files: Arc<dyn FilesAdapter>) -> App {
        self.files = Some(files);
        self
    }
}

/// Finds the app a request is for. The binary implements it over the app registry.
#[async_trait]
pub trait AppDirectory: Send + Sync {
    /// The app with this application id, if it is hosted here.
    async fn app(&self, app_id: &str) -> Option<Arc<App>>;
}

/// A directory of a fixed set of apps (a parse-server config file, tests).
pub struct StaticDirectory {
    apps: Vec<Arc<App>>,
}

impl StaticDirectory {
    pub fn new(apps: Vec<Arc<App>>) -> StaticDirectory {
        StaticDirectory { apps }
    }
}

#[async_trait]
impl AppDirectory for StaticDirectory {
    async fn app(&self, app_id: &str) -> Option<Arc<App>> {
        self.apps.iter().find(|app| app.config.app_id == app_id).cloned()
    }
}
