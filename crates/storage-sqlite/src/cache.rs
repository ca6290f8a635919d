//! A cache of objects read by id, so that fetching an object again (the commonest read of a
//! Parse app) skips SQLite.
//!
//! It is exact because this adapter is the database's only writer: every write that can change
//! a cached object passes through here and evicts it. A read stores what it found only if no
//! write ended while it ran: it notes the cache's generation before reading, and a write bumps
//! the generation and evicts, under the same lock, after its commit. So a read that raced a
//! write can never leave the old object behind.
//!
//! Bounded by an estimate of its size: past [`CAPACITY_BYTES`] in one database the cache starts
//! again empty, and an object larger than [`LARGEST_OBJECT_BYTES`] is never kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use reparse_core::query::{Constraint, Filter, Query};
use reparse_core::value::Object;
use serde_json::Value;

/// Memory the cached objects of one database may take, estimated by [`estimated_size`].
const CAPACITY_BYTES: usize = 32 * 1024 * 1024;
/// Larger objects are read from SQLite each time rather than crowd out many small ones.
const LARGEST_OBJECT_BYTES: usize = 64 * 1024;

#[derive(Default)]
pub(crate) struct ObjectCache {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    generation: u64,
    /// Estimated bytes held, summed over the cached objects.
    bytes: usize,
    /// Class name → objectId → the stored object, as `find` returns it.
    classes: HashMap<String, HashMap<String, Arc<Object>>>,
}

impl ObjectCache {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn generation(&self) -> u64 {
        self.state().generation
    }

    pub(crate) fn get(&self, class_name: &str, object_id: &str) -> Option<Arc<Object>> {
        self.state().classes.get(class_name)?.get(object_id).cloned()
    }

    /// Keeps an object a read found, unless a write ended since `generation` was noted.
    pub(crate) fn keep(&self, class_name: &str, object_id: &str, object: Object, generation: u64) {
        let size = estimated_size(&object);
        if size > LARGEST_OBJECT_BYTES {
            return;
        }
        let mut state = self.state();
        if state.generation != generation {
            return;
        }
        if state.bytes + size > CAPACITY_BYTES {
            state.classes.clear();
            state.bytes = 0;
        }
        let objects = state.classes.entry(class_name.to_string()).or_default();
        let replaced = objects.insert(object_id.to_string(), Arc::new(object));
        state.bytes += size;
        if let Some(replaced) = replaced {
            state.bytes -= estimated_size(&replaced);
        }
    }

    /// A write to one object of a class ended.
    pub(crate) fn evict(&self, class_name: &str, object_id: &str) {
        let mut state = self.state();
        state.generation += 1;
        let removed = state.classes.get_mut(class_name).and_then(|objects| objects.remove(object_id));
        if let Some(removed) = removed {
            state.bytes -= estimated_size(&removed);
        }
    }

    /// A write that may touch any object of a class (or its schema) ended.
    pub(crate) fn evict_class(&self, class_name: &str) {
        let mut state = self.state();
        state.generation += 1;
        if let Some(objects) = state.classes.remove(class_name) {
            state.bytes -= objects.values().map(|object| estimated_size(object)).sum::<usize>();
        }
    }

    /// A transaction committed: whatever it wrote is evicted.
    pub(crate) fn evict_all(&self) {
        let mut state = self.state();
        state.generation += 1;
        state.classes.clear();
        state.bytes = 0;
    }
}

/// Roughly the memory an object takes: its text, plus a fixed cost per value and key.
fn estimated_size(object: &Object) -> usize {
    fn value_size(value: &Value) -> usize {
        const PER_VALUE: usize = 32;
        PER_VALUE
            + match value {
                Value::String(text) => text.len(),
                Value::Array(items) => items.iter().map(value_size).sum(),
                Value::Object(map) => map.iter().map(|(key, value)| key.len() + value_size(value)).sum(),
                Value::Null | Value::Bool(_) | Value::Number(_) => 0,
            }
    }
    object.iter().map(|(key, value)| key.len() + value_size(value)).sum()
}

/// The objectId a query reads, when it is a read of one object by id that the cache may answer:
/// `objectId` equality, ANDed only with permission filters on `_rperm`, no skip. The matcher
/// then decides those filters on the cached object exactly as the SQL would (the conformance
/// suite holds the two equal).
pub(crate) fn point_lookup(query: &Query) -> Option<&str> {
    // Cached objects carry no text score.
    if query.skip != 0 || query.limit == Some(0) || query.text_score {
        return None;
    }
    let mut object_id = None;
    if !collect_point_lookup(&query.filter, &mut object_id) {
        return None;
    }
    object_id
}

fn collect_point_lookup<'q>(filter: &'q Filter, object_id: &mut Option<&'q str>) -> bool {
    match filter {
        Filter::And(parts) => parts.iter().all(|part| collect_point_lookup(part, object_id)),
        Filter::Field { path, constraint } if !path.is_nested() => match (path.field.as_str(), constraint) {
            ("objectId", Constraint::Eq(Value::String(id))) if object_id.is_none() => {
                *object_id = Some(id);
                true
            }
            ("_rperm", Constraint::In(_)) => true,
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reparse_core::acl::read_filter;
    use reparse_core::query::{FieldPath, parse_where};
    use serde_json::json;

    fn query(filter: Filter) -> Query {
        Query { filter, order: Vec::new(), skip: 0, limit: Some(1), text_score: false }
    }

    #[test]
    fn recognises_reads_by_id_with_permission_filters_only() {
        let by_id = parse_where(&json!({"objectId": "a1"})).unwrap();
        assert_eq!(point_lookup(&query(by_id.clone())), Some("a1"));
        let guarded = Filter::And(vec![by_id.clone(), read_filter(&["*".to_string()]), Filter::everything()]);
        assert_eq!(point_lookup(&query(guarded)), Some("a1"));
        let narrowed = parse_where(&json!({"objectId": "a1", "n": 1})).unwrap();
        assert_eq!(point_lookup(&query(narrowed)), None);
        assert_eq!(point_lookup(&query(Filter::And(vec![by_id.clone(), Filter::Or(Vec::new())]))), None);
        let mut skipped = query(by_id);
        skipped.skip = 1;
        assert_eq!(point_lookup(&skipped), None);
        let nested =
            Filter::Field { path: FieldPath::parse("objectId.x"), constraint: Constraint::Eq(json!("a")) };
        assert_eq!(point_lookup(&query(nested)), None);
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let cache = ObjectCache::default();
        let object = json!({"objectId": "a1", "n": 1}).as_object().unwrap().clone();
        let before = cache.generation();
        cache.evict("Note", "a1");
        cache.keep("Note", "a1", object.clone(), before);
        assert!(cache.get("Note", "a1").is_none());
        cache.keep("Note", "a1", object, cache.generation());
        assert!(cache.get("Note", "a1").is_some());
        cache.evict_class("Note");
        assert!(cache.get("Note", "a1").is_none());
        assert_eq!(cache.state().bytes, 0);
    }

    #[test]
    fn large_objects_are_not_kept_and_the_budget_holds() {
        let cache = ObjectCache::default();
        let large = json!({"objectId": "big", "blob": "x".repeat(LARGEST_OBJECT_BYTES)});
        cache.keep("Note", "big", large.as_object().unwrap().clone(), cache.generation());
        assert!(cache.get("Note", "big").is_none());
        let medium = json!({"blob": "y".repeat(LARGEST_OBJECT_BYTES / 2)}).as_object().unwrap().clone();
        for n in 0..(2 * CAPACITY_BYTES / LARGEST_OBJECT_BYTES) {
            cache.keep("Note", &n.to_string(), medium.clone(), cache.generation());
            assert!(cache.state().bytes <= CAPACITY_BYTES);
        }
    }
}
