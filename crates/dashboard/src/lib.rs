//! Reparse's web dashboard, served by the binary at `/dashboard`: its JSON API under
//! `/dashboard/api` and its front end (built from `web/` at build time, see build.rs).
//!
//! - [`session`]: sign-in with the registry's dashboard users, a cookie per session, a CSRF
//!   token every state-changing request must echo, read-only users refused for writes;
//!   [`throttle`] refuses names and addresses after repeated failed sign-ins.
//! - [`apps`]: the apps of the registry: list, create (keys shown once), rename, settings,
//!   key rotation, deletion.
//! - [`forward`]: an app's own Parse REST API, reached through the dashboard with the app's
//!   master key applied in-process (the browser never holds a key).
//! - [`archive`]: whole-app archives, downloaded and imported.
//! - [`classes`]: an app's classes with their (estimated, when large) object counts.
//! - [`cloud`]: an app's cloud code files (read-only) and what they define.
//! - [`assets`]: the front end's files, or a page saying the build left them out.

mod apps;
mod archive;
mod assets;
mod classes;
mod cloud;
mod error;
mod forward;
mod session;
mod throttle;

use std::sync::Arc;

use async_trait::async_trait;
use axum::Router;
use axum::routing::{any, get, post};
use reparse_registry::{AppRecord, Registry};
use reparse_server::AppDirectory;

pub use error::DashboardError;

/// What the dashboard needs from the server that hosts it beyond the registry: the parts of
/// an app's life that depend on how the server runs (its databases, its option parsing).
#[async_trait]
pub trait AppAdmin: Send + Sync {
    /// Whether these settings configure a working app (the check the server makes when it
    /// opens one); the message says what is wrong.
    fn check_settings(&self, record: &AppRecord) -> Result<(), String>;

    /// Deletes an app's data (its database schema, files) and then its registry record.
    async fn delete_app(&self, record: &AppRecord) -> Result<(), String>;
}

/// The dashboard of one server.
pub struct Dashboard {
    pub(crate) registry: Arc<Registry>,
    pub(crate) admin: Arc<dyn AppAdmin>,
    /// The apps as the server runs them (their cloud code, their keys in force).
    pub(crate) directory: Arc<dyn AppDirectory>,
    /// The server's Parse API, which forwarded requests are handed to.
    pub(crate) parse: Router,
    /// Where that API is mounted (`/parse`).
    pub(crate) mount_path: String,
    /// The API's public address, shown to users as each app's server URL.
    pub(crate) public_url: String,
    pub(crate) sign_in_throttle: throttle::SignInThrottle,
}

impl Dashboard {
    pub fn new(
        registry: Arc<Registry>,
        admin: Arc<dyn AppAdmin>,
        directory: Arc<dyn AppDirectory>,
        parse: Router,
        mount_path: &str,
        public_url: &str,
    ) -> Dashboard {
        Dashboard {
            registry,
            admin,
            directory,
            parse,
            mount_path: mount_path.trim_end_matches('/').to_string(),
            public_url: public_url.to_string(),
            sign_in_throttle: throttle::SignInThrottle::default(),
        }
    }
}

/// The server's router: the dashboard under `/dashboard`, everything else to the Parse API.
pub fn router(dashboard: Arc<Dashboard>) -> Router {
    let parse = dashboard.parse.clone();
    Router::new()
        .route("/dashboard/api/login", post(session::login))
        .route("/dashboard/api/logout", post(session::logout))
        .route("/dashboard/api/session", get(session::current))
        .route("/dashboard/api/apps", get(apps::list).post(apps::create))
        .route("/dashboard/api/apps/{app_id}", get(apps::show).put(apps::update).delete(apps::delete))
        .route("/dashboard/api/apps/{app_id}/keys", post(apps::rotate_keys))
        .route("/dashboard/api/apps/{app_id}/archive", get(archive::export).post(archive::import))
        .route("/dashboard/api/apps/{app_id}/classes", get(classes::counts))
        .route("/dashboard/api/apps/{app_id}/cloud", get(cloud::overview))
        .route("/dashboard/api/apps/{app_id}/cloud/file", get(cloud::file))
        .route("/dashboard/api/apps/{app_id}/parse/{*path}", any(forward::to_app))
        .route("/dashboard/api/{*path}", any(error::unknown_route))
        .route("/dashboard", get(assets::serve))
        .route("/dashboard/", get(assets::serve))
        .route("/dashboard/{*path}", get(assets::serve))
        .layer(axum::middleware::map_response(assets::security_headers))
        .with_state(dashboard)
        .fallback_service(parse)
}

/// The router of a server that serves one app from its config: `/dashboard` explains that the
/// dashboard manages a registry's apps; everything else goes to the Parse API.
pub fn single_app_notice(parse: Router) -> Router {
    Router::new()
        .route("/dashboard", get(assets::single_app_page))
        .route("/dashboard/{*path}", get(assets::single_app_page))
        .fallback_service(parse)
}
