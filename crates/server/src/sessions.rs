//! Sessions: tokens, the `_Session` rows behind them, and the cache that turns a token into a
//! user without a query on every request.
//!
//! A token is valid while its `_Session` row exists, its user exists and its `expiresAt` (if
//! any) is in the future. The cache remembers the row's facts for [`CACHE_TTL`]; every write
//! that ends a session in this process (logout, session delete, password change, user delete)
//! evicts it at once, and the TTL bounds how long a session ended elsewhere (another node, or
//! the database edited by hand) keeps working here.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::RngExt;
use reparse_core::query::{Constraint, FieldPath, Filter, Query};
use reparse_core::value::{Object, encode_date, format_date, parse_date, pointer_value};
use reparse_core::{ErrorCode, ParseError, ParseResult};
use serde_json::{Map, Value, json};

use crate::app::App;
use crate::context::{Ctx, MASTER, SessionUser};
use crate::controllers::objects::{new_object_id, to_client_object};
use crate::controllers::schema_writes::class_for_write;
use crate::error::ApiResult;

/// How long a cached session is trusted before the row is read again.
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// Beyond this many cached sessions the cache starts over (a bound, not an LRU: rare).
const CACHE_CAPACITY: usize = 100_000;

/// What the cache keeps of a session.
#[derive(Debug, Clone)]
struct CachedSession {
    session_id: String,
    user_id: String,
    expires_at: Option<DateTime<Utc>>,
    cached_at: Instant,
}

/// Token → session facts, per app.
#[derive(Debug, Default)]
pub struct SessionCache {
    entries: RwLock<HashMap<String, CachedSession>>,
    /// Bumped by every eviction: a lookup that started before a session ended must not be
    /// cached after it.
    generation: AtomicU64,
}

impl SessionCache {
    fn get(&self, token: &str) -> Option<CachedSession> {
        let entries = self.entries.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.get(token).filter(|entry| entry.cached_at.elapsed() < CACHE_TTL).cloned()
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `entry` unless something was evicted since `generation` was read.
    fn put(&self, token: &str, entry: CachedSession, generation: u64) {
        let mut entries = self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.generation() != generation {
            return;
        }
        if entries.len() >= CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(token.to_string(), entry);
    }

    /// Forgets one token.
    pub fn evict_token(&self, token: &str) {
        self.evict(|entries| {
            entries.remove(token);
        });
    }

    /// Forgets every token (a purge, or a transaction that ended sessions committing).
    pub fn clear(&self) {
        self.evict(HashMap::clear);
    }

    /// Forgets every token of a user.
    pub fn evict_user(&self, user_id: &str) {
        self.evict(|entries| entries.retain(|_, entry| entry.user_id != user_id));
    }

    fn evict(&self, change: impl FnOnce(&mut HashMap<String, CachedSession>)) {
        let mut entries = self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        change(&mut entries);
    }
}

/// A new session token: `r:` and 32 hex digits, parse-server's revocable-session format.
pub fn new_session_token() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("r:{hex}")
}

/// A random alphanumeric string (generated usernames, email and reset tokens).
pub fn random_string(length: usize) -> String {
    new_object_id(length)
}

fn invalid_session(message: &str) -> ParseError {
    ParseError::new(ErrorCode::InvalidSessionToken, message)
}

/// The user behind `token`, or 209: unknown, expired, or its user is gone.
pub async fn authenticate(app: &App, token: &str, now: DateTime<Utc>) -> ParseResult<SessionUser> {
    let cached = match app.sessions.get(token) {
        Some(cached) => cached,
        None => {
            let generation = app.sessions.generation();
            let cached = load_session(app, token).await?;
            app.sessions.put(token, cached.clone(), generation);
            cached
        }
    };
    if cached.expires_at.is_some_and(|expires_at| expires_at <= now) {
        return Err(invalid_session("Session token is expired."));
    }
    Ok(SessionUser {
        user_id: cached.user_id,
        session_id: cached.session_id,
        session_token: token.to_string(),
    })
}

async fn load_session(app: &App, token: &str) -> ParseResult<CachedSession> {
    let store = app.storage.as_ref();
    let Some(session) = find_by_token(app, store, token).await? else {
        return Err(invalid_session("Invalid session token"));
    };
    let user_id = pointer_id(&session, "user").ok_or_else(|| invalid_session("Invalid session token"))?;
    let Some(users) = app.schemas.get(store, "_User").await? else {
        return Err(invalid_session("Invalid session token"));
    };
    let by_id = Query { limit: Some(1), ..Query::matching(equals("objectId", &user_id)) };
    if store.find(&users, &by_id).await?.is_empty() {
        return Err(invalid_session("Invalid session token"));
    }
    let expires_at = match session.get("expiresAt") {
        Some(value) => match reparse_core::value::date_iso(value) {
            Some(iso) => Some(parse_date(iso)?),
            None => None,
        },
        None => None,
    };
    Ok(CachedSession {
        session_id: session.get("objectId").and_then(Value::as_str).unwrap_or_default().to_string(),
        user_id,
        expires_at,
        cached_at: Instant::now(),
    })
}

/// The stored `_Session` row with this token, if any.
pub async fn find_by_token(
    app: &App,
    store: &dyn reparse_storage::Store,
    token: &str,
) -> ParseResult<Option<Object>> {
    let Some(schema) = app.schemas.get(store, "_Session").await? else {
        return Ok(None);
    };
    let query = Query { limit: Some(1), ..Query::matching(equals("sessionToken", token)) };
    Ok(store.find(&schema, &query).await?.pop())
}

/// `field == value` on a top-level field.
pub fn equals(field: &str, value: &str) -> Filter {
    Filter::Field { path: FieldPath::top(field), constraint: Constraint::Eq(json!(value)) }
}

/// `field` points at `_User` `user_id`.
pub fn points_to_user(field: &str, user_id: &str) -> Filter {
    Filter::Field { path: FieldPath::top(field), constraint: Constraint::Eq(pointer_value("_User", user_id)) }
}

/// A stored session's token.
pub fn token_of(session: &Object) -> Option<&str> {
    session.get("sessionToken").and_then(Value::as_str)
}

/// The objectId a pointer field holds.
pub fn pointer_id(object: &Object, field: &str) -> Option<String> {
    object.get(field)?.get("objectId")?.as_str().map(str::to_string)
}

/// How a session came to be (`createdWith`).
pub fn created_with(action: &str, auth_provider: Option<&str>) -> Value {
    match auth_provider {
        Some(provider) => json!({"action": action, "authProvider": provider}),
        None => json!({"action": action}),
    }
}

/// Creates a session for `user_id` and returns it as stored. Earlier sessions of the same
/// user on the same installation end (parse-server keeps one session per installation).
pub async fn create_session(
    ctx: &Ctx<'_>,
    user_id: &str,
    created_with: Value,
    extra: Map<String, Value>,
) -> ApiResult<Object> {
    let master = ctx.with_auth(&MASTER);
    let schema = class_for_write(&master, "_Session").await?;
    let installation_id = ctx.auth.installation_id.as_deref();
    if let Some(installation_id) = installation_id {
        let duplicates =
            Filter::And(vec![points_to_user("user", user_id), equals("installationId", installation_id)]);
        revoke_sessions(&master, duplicates).await?;
    }
    let now = format_date(ctx.now);
    let mut session = Object::new();
    session.insert("objectId".into(), json!(new_object_id(ctx.app.config.object_id_size)));
    session.insert("createdAt".into(), json!(now));
    session.insert("updatedAt".into(), json!(now));
    session.extend(extra);
    session.insert("sessionToken".into(), json!(new_session_token()));
    session.insert("user".into(), pointer_value("_User", user_id));
    session.insert("createdWith".into(), created_with);
    if let Some(installation_id) = installation_id {
        session.insert("installationId".into(), json!(installation_id));
    }
    if let Some(expires_at) = ctx.app.config.accounts.session_expiry(ctx.now) {
        session.insert("expiresAt".into(), encode_date(expires_at));
    }
    session.insert("_rperm".into(), json!([user_id]));
    session.insert("_wperm".into(), json!([user_id]));
    let schema = crate::controllers::schema_writes::ensure_fields(
        &master,
        schema,
        &crate::controllers::schema_writes::field_types_of(&session)?,
    )
    .await?;
    ctx.store.insert(&schema, &session).await?;
    Ok(session)
}

/// Deletes the sessions `filter` selects and forgets their tokens. Returns how many ended.
pub async fn revoke_sessions(ctx: &Ctx<'_>, filter: Filter) -> ApiResult<u64> {
    let Some(schema) = ctx.schema("_Session").await? else {
        return Ok(0);
    };
    let doomed = ctx.store.find(&schema, &Query::matching(filter.clone())).await?;
    if doomed.is_empty() {
        return Ok(0);
    }
    let deleted = ctx.store.delete(&schema, &filter).await?;
    for session in &doomed {
        if let Some(token) = session.get("sessionToken").and_then(Value::as_str) {
            ctx.app.sessions.evict_token(token);
            ctx.app.live_query.revoke_session(token);
        }
    }
    Ok(deleted)
}

/// A session as its user sees it.
pub async fn session_for_client(ctx: &Ctx<'_>, session: Object) -> ApiResult<Object> {
    let schema = ctx.schema("_Session").await?.ok_or_else(ParseError::object_not_found)?;
    Ok(to_client_object(ctx, &schema, session))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_revocable_format_and_distinct() {
        let token = new_session_token();
        assert!(token.starts_with("r:") && token.len() == 34, "{token}");
        assert!(token[2..].chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(token, new_session_token());
    }

    #[test]
    fn cache_evicts_by_token_and_by_user() {
        let cache = SessionCache::default();
        let entry = |user: &str| CachedSession {
            session_id: "s".into(),
            user_id: user.into(),
            expires_at: None,
            cached_at: Instant::now(),
        };
        cache.put("t1", entry("u1"), cache.generation());
        cache.put("t2", entry("u1"), cache.generation());
        cache.put("t3", entry("u2"), cache.generation());
        cache.evict_token("t3");
        assert!(cache.get("t3").is_none());
        cache.evict_user("u1");
        assert!(cache.get("t1").is_none() && cache.get("t2").is_none());
    }
}
