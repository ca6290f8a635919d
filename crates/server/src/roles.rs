//! Roles: which `role:<name>` ACL entities a user holds.
//!
//! A user is in a role when the role's `users` relation holds them, and in every role whose
//! `roles` relation holds a role they are in, transitively (parse-server's role hierarchy: a
//! parent role lists its child roles, and a child's members inherit the parent's access).
//! Cycles end the walk, since each role is visited once.
//!
//! Resolution is cached per user for [`CACHE_TTL`]; any write to `_Role` in this process clears
//! the cache (role changes are rare, and the relation rows live in join tables a per-user
//! eviction would have to chase).

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reparse_core::ParseResult;
use reparse_core::query::{Constraint, FieldPath, Filter, Query};
use serde_json::{Value, json};

use crate::app::App;

/// How long a user's resolved roles are trusted (bounds a change made on another node).
pub const CACHE_TTL: Duration = Duration::from_secs(30);
const CACHE_CAPACITY: usize = 100_000;
/// A role hierarchy deeper than this is cut short (and logged) rather than walked forever.
const MAX_DEPTH: usize = 64;

/// User id → the `role:<name>` entities they hold.
#[derive(Debug, Default)]
pub struct RoleCache {
    entries: RwLock<HashMap<String, (Vec<String>, Instant)>>,
    /// Bumped by every clear: a resolution that started before a role write must not be cached
    /// after it (it may have read the roles as they were).
    generation: AtomicU64,
}

impl RoleCache {
    fn get(&self, user_id: &str) -> Option<Vec<String>> {
        let entries = self.entries.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let (roles, cached_at) = entries.get(user_id)?;
        (cached_at.elapsed() < CACHE_TTL).then(|| roles.clone())
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `roles` unless the cache was cleared since `generation` was read.
    fn put(&self, user_id: &str, roles: Vec<String>, generation: u64) {
        let mut entries = self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.generation() != generation {
            return;
        }
        if entries.len() >= CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(user_id.to_string(), (roles, Instant::now()));
    }

    /// Forgets every user's roles: called on every `_Role` write, and again when a transaction
    /// that wrote roles commits.
    pub fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

/// The `role:<name>` entities of a user, sorted.
pub async fn role_entities(app: &App, user_id: &str) -> ParseResult<Vec<String>> {
    if let Some(roles) = app.roles.get(user_id) {
        return Ok(roles);
    }
    let generation = app.roles.generation();
    let roles = resolve(app, user_id).await?;
    app.roles.put(user_id, roles.clone(), generation);
    Ok(roles)
}

async fn resolve(app: &App, user_id: &str) -> ParseResult<Vec<String>> {
    let store = app.storage.as_ref();
    let Some(schema) = app.schemas.get(store, "_Role").await? else {
        return Ok(Vec::new());
    };
    let mut seen: HashSet<String> = HashSet::new();
    let mut frontier = store.owning_ids("_Role", "users", "_User", &[user_id.to_string()]).await?;
    for depth in 0.. {
        frontier.retain(|id| seen.insert(id.clone()));
        if frontier.is_empty() {
            break;
        }
        if depth == MAX_DEPTH {
            tracing::warn!(app = %app.config.app_id, user_id, "role hierarchy deeper than {MAX_DEPTH}; cut short");
            break;
        }
        frontier = store.owning_ids("_Role", "roles", "_Role", &frontier).await?;
    }
    if seen.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Value> = seen.into_iter().map(|id| json!(id)).collect();
    let filter = Filter::Field { path: FieldPath::top("objectId"), constraint: Constraint::In(ids) };
    let mut names: Vec<String> = store
        .find(&schema, &Query::matching(filter))
        .await?
        .iter()
        .filter_map(|role| role.get("name").and_then(Value::as_str))
        .map(|name| format!("role:{name}"))
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// parse-server's (and the SDKs') rule for role names.
pub fn role_name_is_valid(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_alphanumerics_underscores_dashes_and_spaces() {
        for good in ["Admins", "team_a", "team-b", "Power Users", "r2"] {
            assert!(role_name_is_valid(good), "{good}");
        }
        for bad in ["", "a.b", "role:x", "ünicode", "a/b"] {
            assert!(!role_name_is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn the_cache_is_cleared_whole() {
        let cache = RoleCache::default();
        cache.put("u1", vec!["role:A".into()], cache.generation());
        assert_eq!(cache.get("u1"), Some(vec!["role:A".to_string()]));
        cache.clear();
        assert_eq!(cache.get("u1"), None);
        // A resolution that began before the clear is not kept.
        let before = cache.generation();
        cache.clear();
        cache.put("u1", vec!["role:A".into()], before);
        assert_eq!(cache.get("u1"), None);
    }
}
