//! What a handler knows about a request: the app, who is calling, where to read and write, and
//! the time. Handlers take a [`Ctx`] and no HTTP types, so `/batch` re-dispatches without HTTP.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use reparse_core::access::{
    Operation, Permission, check_class_permission, enforce_system_class_access, pointer_permission_filter,
};
use reparse_core::acl::{read_filter, write_filter};
use reparse_core::query::Filter;
use reparse_core::redact::Viewer;
use reparse_core::schema::ClassSchema;
use reparse_core::{ErrorCode, ParseError, ParseResult};
use reparse_storage::Store;

use crate::app::App;
use crate::live_query::PendingEvents;
use crate::schema_cache::{PendingSchemas, SchemaChangeGuard};

/// The caller's credentials, after the keys were checked.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    /// The master key (or the read-only master key) was given.
    pub master: bool,
    /// The read-only master key was given: reads like master, writes nothing.
    pub read_only: bool,
    /// `X-Parse-Session-Token` as sent (also kept for the master key, which ignores it for
    /// permissions but `users/me` and `logout` still act on it).
    pub session_token: Option<String>,
    /// The user the session token belongs to; never set for the master key.
    pub user: Option<SessionUser>,
    /// The user's `role:<name>` entities, every role they hold directly or through the hierarchy.
    pub roles: Vec<String>,
    pub installation_id: Option<String>,
    pub client_version: Option<String>,
}

/// A signed-in caller: the session it used and its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub user_id: String,
    pub session_id: String,
    pub session_token: String,
}

/// The server acting on its own behalf (creating sessions, checking passwords).
pub static MASTER: Auth = Auth {
    master: true,
    read_only: false,
    session_token: None,
    user: None,
    roles: Vec::new(),
    installation_id: None,
    client_version: None,
};

impl Auth {
    pub fn master() -> Auth {
        MASTER.clone()
    }

    /// The caller as `user_id`, for building what that user sees of their own objects (login,
    /// `users/me`, `sessions/me`); no session is attached.
    pub fn viewing_as(user_id: &str) -> Auth {
        let user = SessionUser {
            user_id: user_id.to_string(),
            session_id: String::new(),
            session_token: String::new(),
        };
        Auth { user: Some(user), ..Auth::default() }
    }

    /// The signed-in user's id, if any.
    pub fn user_id(&self) -> Option<&str> {
        self.user.as_ref().map(|user| user.user_id.as_str())
    }

    /// Who the caller is, for ACLs: `*`, and when signed in the user id and its roles.
    pub fn acl_entities(&self) -> Vec<String> {
        let mut entities = Vec::with_capacity(2 + self.roles.len());
        entities.push("*".to_string());
        entities.extend(self.user_id().map(str::to_string));
        entities.extend(self.roles.iter().cloned());
        entities
    }

    /// The caller as `reparse_core::redact` sees it.
    pub fn viewer(&self) -> Viewer<'_> {
        Viewer { master: self.master, user_id: self.user_id(), roles: &self.roles }
    }

    /// `filter` narrowed to what the caller may read (unchanged for the master key).
    pub fn readable(&self, filter: Filter) -> Filter {
        if self.master { filter } else { Filter::And(vec![filter, read_filter(&self.acl_entities())]) }
    }

    /// `filter` narrowed to what the caller may write (unchanged for the master key).
    pub fn writable(&self, filter: Filter) -> Filter {
        if self.master { filter } else { Filter::And(vec![filter, write_filter(&self.acl_entities())]) }
    }

    /// parse-server's rules for system classes (`_Installation` listing, master-only classes).
    pub fn may_access_class(&self, operation: Operation, class_name: &str) -> ParseResult<()> {
        enforce_system_class_access(operation, class_name, self.master)
    }

    /// The class-level permission for `operation`, as the part of the class the caller reaches:
    /// all of it, or (pointer permissions, no user yet) none of it. Errors when denied.
    pub fn class_scope(&self, schema: &ClassSchema, operation: Operation) -> ParseResult<Filter> {
        if self.master {
            return Ok(Filter::everything());
        }
        let permissions = &schema.class_level_permissions;
        match check_class_permission(permissions, operation, &schema.class_name, &self.acl_entities())? {
            Permission::Granted => Ok(Filter::everything()),
            Permission::OwnObjectsOnly { fields } => {
                Ok(pointer_permission_filter(schema, &fields, self.user_id()))
            }
        }
    }

    /// Whether the caller may add fields to the class (CLP `addField`).
    pub fn may_add_fields(&self, schema: &ClassSchema) -> ParseResult<()> {
        match self.class_scope(schema, Operation::AddField)? {
            Filter::And(parts) if parts.is_empty() => Ok(()),
            _ => Err(ParseError::new(
                ErrorCode::OperationForbidden,
                format!("Permission denied for action addField on class {}.", schema.class_name),
            )),
        }
    }

    /// Fails with 119 for the read-only master key, as parse-server does for every write.
    pub fn ensure_writable(&self) -> ParseResult<()> {
        if self.read_only {
            return Err(ParseError::new(
                ErrorCode::OperationForbidden,
                "Cannot perform a write operation when using readOnlyMasterKey",
            ));
        }
        Ok(())
    }
}

/// A request's context.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub auth: &'a Auth,
    /// The app's storage, or the open transaction of a transactional batch.
    pub store: &'a dyn Store,
    /// Held for the whole of a transactional batch; `None` elsewhere (taken on demand).
    pub schema_guard: Option<&'a SchemaChangeGuard>,
    /// In a transactional batch, its schema changes, kept from others until it commits.
    pub pending_schemas: Option<&'a PendingSchemas>,
    /// In a transactional batch, its LiveQuery events, sent once it commits.
    pub pending_events: Option<&'a PendingEvents>,
    pub now: DateTime<Utc>,
    /// Where the API is mounted (`/parse`), for batch paths.
    pub mount_path: &'a str,
    /// What the client sent besides keys and body (for cloud code's `request`); `None` for the
    /// server's own work.
    pub request: Option<&'a RequestInfo>,
}

/// What cloud code's `request` carries about the HTTP request: its headers (lowercase names),
/// the client's address, and the cloud context (`X-Parse-Cloud-Context` or `_context`).
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    pub headers: serde_json::Map<String, serde_json::Value>,
    pub ip: Option<String>,
    pub context: serde_json::Map<String, serde_json::Value>,
}

impl<'a> Ctx<'a> {
    /// A context on the app's own storage (no transaction), as of now.
    pub fn new(app: &'a App, auth: &'a Auth, mount_path: &'a str) -> Ctx<'a> {
        Ctx {
            app,
            auth,
            store: app.storage.as_ref(),
            schema_guard: None,
            pending_schemas: None,
            pending_events: None,
            now: chrono::Utc::now(),
            mount_path,
            request: None,
        }
    }

    /// Tells LiveQuery's subscribers of a write: at once, or in a transactional batch once it
    /// commits (never, if it rolls back).
    pub fn publish_live(
        &self,
        class_name: &str,
        original: Option<reparse_core::value::Object>,
        current: Option<reparse_core::value::Object>,
    ) {
        match self.pending_events {
            Some(pending) => pending.hold(&self.app.live_query, class_name, original, current),
            None => self.app.live_query.publish(class_name, original, current),
        }
    }

    /// The same request acting with `auth` (the server's own writes use [`MASTER`]).
    pub fn with_auth<'b>(&self, auth: &'b Auth) -> Ctx<'b>
    where
        'a: 'b,
    {
        Ctx {
            app: self.app,
            auth,
            store: self.store,
            schema_guard: self.schema_guard,
            pending_schemas: self.pending_schemas,
            pending_events: self.pending_events,
            now: self.now,
            mount_path: self.mount_path,
            request: self.request,
        }
    }

    /// Whether `store` is a transaction (a transactional batch, which also holds the schema
    /// lock for its whole length).
    pub fn in_transaction(&self) -> bool {
        self.schema_guard.is_some()
    }

    /// A class's schema as this request sees it (with its transaction's changes).
    pub async fn schema(&self, class_name: &str) -> ParseResult<Option<Arc<ClassSchema>>> {
        if let Some(latest) = self.pending_schemas.and_then(|pending| pending.latest(class_name)) {
            return Ok(latest);
        }
        self.app.schemas.get(self.store, class_name).await
    }

    /// Every schema as this request sees it.
    pub async fn all_schemas(&self) -> ParseResult<Vec<Arc<ClassSchema>>> {
        let shared = self.app.schemas.all(self.store).await?;
        let schemas = match self.pending_schemas {
            Some(pending) => {
                let mut schemas = (*shared).clone();
                pending.apply_to(&mut schemas);
                schemas.into_values().collect()
            }
            None => shared.values().cloned().collect(),
        };
        Ok(schemas)
    }

    /// Records a schema written to `store`: for everyone now, or for the transaction until it
    /// commits.
    pub fn record_schema(&self, guard: &SchemaChangeGuard, schema: ClassSchema) -> Arc<ClassSchema> {
        match self.pending_schemas {
            Some(pending) => pending.put(schema),
            None => self.app.schemas.put(guard, schema),
        }
    }

    /// Records a class deleted from `store`, like [`Ctx::record_schema`].
    pub fn forget_schema(&self, guard: &SchemaChangeGuard, class_name: &str) {
        match self.pending_schemas {
            Some(pending) => pending.remove(class_name),
            None => self.app.schemas.remove(guard, class_name),
        }
    }
}
