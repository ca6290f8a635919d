//! Controllers: what each route does, over the request context. No HTTP types here.

pub mod aggregate;
pub mod batch;
pub mod config;
pub mod functions;
pub mod hooks;
pub mod jobs;
pub mod objects;
pub mod query;
pub mod role_writes;
pub mod schema_writes;
pub mod schemas;
pub mod sessions;
pub mod triggers;
pub mod user_writes;
pub mod users;
