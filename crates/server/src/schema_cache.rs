//! The per-app schema cache: every class schema in memory, loaded once from storage, replaced
//! as a whole on each change so readers never lock.
//!
//! Changes are serialised by one lock, always taken *before* any storage write lock (a
//! transactional batch takes it before it begins). That order is what keeps a schema change
//! and a transaction from waiting on each other.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use reparse_core::ParseResult;
use reparse_core::schema::ClassSchema;
use reparse_storage::Store;
use tokio::sync::{Mutex, OwnedMutexGuard};

type Schemas = Arc<HashMap<String, Arc<ClassSchema>>>;

#[derive(Default)]
pub struct SchemaCache {
    loaded: RwLock<Option<Schemas>>,
    /// Counts recorded changes, so a reload can tell that one happened while it read.
    changes: AtomicU64,
    change_lock: Arc<Mutex<()>>,
}

/// Proof that the holder may change schemas.
pub struct SchemaChangeGuard {
    _guard: OwnedMutexGuard<()>,
}

impl SchemaCache {
    /// All schemas, loading them on first use.
    pub async fn all(&self, store: &dyn Store) -> ParseResult<Schemas> {
        if let Some(schemas) = self.snapshot() {
            return Ok(schemas);
        }
        self.reload(store).await
    }

    fn snapshot(&self) -> Option<Schemas> {
        self.loaded.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    /// The schema of one class.
    pub async fn get(&self, store: &dyn Store, class_name: &str) -> ParseResult<Option<Arc<ClassSchema>>> {
        Ok(self.all(store).await?.get(class_name).cloned())
    }

    /// Re-reads every schema from storage (after a rolled-back transaction, or a change made
    /// elsewhere).
    ///
    /// A change recorded while the schemas were being read would be lost by installing what was
    /// read, so the read is repeated until no change slipped in (changes are rare and brief).
    pub async fn reload(&self, store: &dyn Store) -> ParseResult<Schemas> {
        loop {
            let changes_before = self.changes.load(Ordering::Acquire);
            let schemas: HashMap<_, _> = store
                .load_schemas()
                .await?
                .into_iter()
                .map(|schema| (schema.class_name.clone(), Arc::new(schema)))
                .collect();
            let schemas = Arc::new(schemas);
            let mut loaded = self.loaded.write().unwrap_or_else(|poisoned| poisoned.into_inner());
            if self.changes.load(Ordering::Acquire) == changes_before {
                *loaded = Some(schemas.clone());
                return Ok(schemas);
            }
        }
    }

    pub async fn lock_changes(&self) -> SchemaChangeGuard {
        SchemaChangeGuard { _guard: self.change_lock.clone().lock_owned().await }
    }

    /// Records a class's new schema (already written to storage) under the change lock.
    pub fn put(&self, _guard: &SchemaChangeGuard, schema: ClassSchema) -> Arc<ClassSchema> {
        let schema = Arc::new(schema);
        self.replace(|map| {
            map.insert(schema.class_name.clone(), schema.clone());
        });
        schema
    }

    /// Forgets a deleted class, under the change lock.
    pub fn remove(&self, _guard: &SchemaChangeGuard, class_name: &str) {
        self.replace(|map| {
            map.remove(class_name);
        });
    }

    fn replace(&self, change: impl FnOnce(&mut HashMap<String, Arc<ClassSchema>>)) {
        let mut loaded = self.loaded.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.changes.fetch_add(1, Ordering::AcqRel);
        let mut map = loaded.as_ref().map(|schemas| (**schemas).clone()).unwrap_or_default();
        change(&mut map);
        *loaded = Some(Arc::new(map));
    }
}

/// Schema changes made inside a transaction: visible to the transaction only, published to the
/// shared cache when it commits, dropped when it does not. Other requests never see a class or
/// field that may yet be rolled back.
#[derive(Default)]
pub struct PendingSchemas {
    changes: std::sync::Mutex<Vec<PendingChange>>,
}

#[derive(Clone)]
enum PendingChange {
    Put(Arc<ClassSchema>),
    Remove(String),
}

impl PendingSchemas {
    fn changes(&self) -> std::sync::MutexGuard<'_, Vec<PendingChange>> {
        self.changes.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The transaction's latest change to a class: `Some(None)` when it deleted it.
    pub fn latest(&self, class_name: &str) -> Option<Option<Arc<ClassSchema>>> {
        self.changes().iter().rev().find_map(|change| match change {
            PendingChange::Put(schema) if schema.class_name == class_name => Some(Some(schema.clone())),
            PendingChange::Remove(name) if name == class_name => Some(None),
            _ => None,
        })
    }

    pub fn put(&self, schema: ClassSchema) -> Arc<ClassSchema> {
        let schema = Arc::new(schema);
        self.changes().push(PendingChange::Put(schema.clone()));
        schema
    }

    pub fn remove(&self, class_name: &str) {
        self.changes().push(PendingChange::Remove(class_name.to_string()));
    }

    /// `schemas` as the transaction sees them.
    pub fn apply_to(&self, schemas: &mut HashMap<String, Arc<ClassSchema>>) {
        for change in self.changes().iter() {
            match change {
                PendingChange::Put(schema) => {
                    schemas.insert(schema.class_name.clone(), schema.clone());
                }
                PendingChange::Remove(name) => {
                    schemas.remove(name);
                }
            }
        }
    }

    /// After the commit: the changes become everyone's.
    pub fn publish(self, cache: &SchemaCache, guard: &SchemaChangeGuard) {
        for change in self.changes.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()) {
            match change {
                PendingChange::Put(schema) => {
                    cache.put(guard, Arc::unwrap_or_clone(schema));
                }
                PendingChange::Remove(name) => cache.remove(guard, &name),
            }
        }
    }
}
