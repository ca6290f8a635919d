//! Reparse's HTTP server: the Parse REST API for every app a directory knows.
//!
//! Layers, top to bottom: [`http`] (axum edge: body keys, method override, keys, CORS) →
//! [`routes`] (the route table) → [`controllers`] (what each route does, over a [`Ctx`]) →
//! `reparse_core` + the `reparse_storage::Store` trait.

pub mod account_mail;
pub mod account_options;
pub mod app;
pub mod auth_data;
pub mod context;
pub mod controllers;
pub mod error;
pub mod files;
pub mod http;
pub mod ip_allow;
pub mod live_query;
pub mod logs;
pub mod pages;
pub mod passwords;
pub mod roles;
pub mod routes;
pub mod scheduler;
pub mod schema_cache;
pub mod sessions;
pub mod webhooks;

pub use account_options::AccountOptions;
pub use app::{App, AppConfig, AppDirectory, StaticDirectory};
pub use context::{Auth, Ctx};
pub use http::{ServerOptions, TrustedMaster, router, serve};
pub use scheduler::{SCHEDULER_TICK, spawn_job_scheduler};
