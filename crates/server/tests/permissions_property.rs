//! Property: for random users, roles, ACLs and queries, the rows a caller gets equal the rows an
//! in-memory reference evaluation of Parse's rules allows.
//!
//! Each case builds a fresh SQLite-backed app and writes, through the server's own controllers
//! (with the master key), a handful of `_Role`s whose `users` and `roles` relations form a random
//! graph (cycles and self-loops included) and up to 30 objects with random ACLs (public, user ids,
//! `role:<name>`s, names of users and roles that do not exist, empty ACLs, no ACL at all). Then,
//! for the master key, an anonymous caller and every user:
//! - `roles::role_entities` equals a naive closure computed here;
//! - `query::find` with a random `where` (and `count`) returns exactly the objects the `where`
//!   matches (`reparse_core::matcher::matches`) and whose read list is absent or names `*`, the
//!   user or one of the roles of the closure; the count agrees;
//! - the `/classes` find route with `order`, `skip` and `limit` returns that slice of the
//!   reference (so the ACL is applied in the query, before skip/limit, not after fetching);
//! - a get by id of every object succeeds exactly for the readable ones (101 otherwise); this
//!   is the read the SQLite object cache answers from memory;
//! - sub-queries (`$select`/`$dontSelect` on `objectId`, `$inQuery`/`$notInQuery` on a pointer
//!   to another object) see only what the caller may read, and an `include`d pointer is
//!   replaced by its object exactly when the caller may read that object.
//!
//! The same checks run again after each of a few random changes: a role membership or a
//! `roles` edge added or removed (the role cache must forget), an object's ACL replaced (the
//! object cache must forget), each sent as a `PUT` or inside a `/batch`, transactional or not.
//!
//! The reference is independent of the server's ACL code: it never calls `acl::read_filter`,
//! `Auth::readable` or the role resolution. It resolves sub-queries itself (into `$in`/`$nin`
//! over the ids the caller may read) and hands the resolved `where` to the matcher.
//!
//! `PROPTEST_CASES=n` runs more (or fewer) cases than the default [`CASES`].

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Utc;
use proptest::collection::{btree_set, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use reparse_core::ErrorCode;
use reparse_core::matcher::matches;
use reparse_core::query::parse_where;
use reparse_core::value::Object;
use reparse_server::context::SessionUser;
use reparse_server::controllers::query::{FIND_PARAMS, FindRequest, find};
use reparse_server::controllers::{batch, objects, schema_writes, schemas};
use reparse_server::error::ApiError;
use reparse_server::roles::role_entities;
use reparse_server::{App, AppConfig, Auth, Ctx};
use reparse_storage_sqlite::SqliteStorage;
use serde_json::{Map, Value, json};

const CASES: u32 = 48;
const MAX_USERS: usize = 6;
const MAX_ROLES: usize = 6;
const MAX_OBJECTS: usize = 30;
const CLASS: &str = "Item";
/// Role names, valid by parse-server's rule (spaces, dashes, underscores, mixed case). Only the
/// first `roles` of a case exist; ACLs may name the others.
const ROLE_NAMES: [&str; MAX_ROLES + 2] =
    ["admins", "Team 1", "mod-2", "r_3", "Viewers4", "x 5", "ghost6", "ghost7"];
const TAGS: [&str; 3] = ["a", "b", "c"];
/// Orders with a total order (`seq` is unique), so a slice of the results is well defined.
const ORDERS: [&str; 5] = ["seq", "-seq", "tag,seq", "-tag,seq", "tag,-seq"];

fn user_id(index: usize) -> String {
    format!("user{index}")
}

fn role_entity(index: usize) -> String {
    format!("role:{}", ROLE_NAMES[index])
}

// ---------------------------------------------------------------------------------------------
// Generated cases

#[derive(Debug, Clone)]
enum Entity {
    Public,
    /// A user id; indices past the case's users name users that do not exist.
    User(usize),
    /// A `role:<name>`; indices past the case's roles name roles that do not exist.
    Role(usize),
}

impl Entity {
    fn name(&self) -> String {
        match self {
            Entity::Public => "*".to_string(),
            Entity::User(index) => user_id(*index),
            Entity::Role(index) => role_entity(*index),
        }
    }
}

/// ACL entries `(entity, read, write)`; a later entry for the same entity replaces an earlier.
type AclSpec = Vec<(Entity, bool, bool)>;

#[derive(Debug, Clone)]
struct RoleSpec {
    /// Its `users` relation (user indices).
    users: BTreeSet<usize>,
    /// Its `roles` relation (role indices): members of these roles are members of this one.
    children: BTreeSet<usize>,
    acl: Option<AclSpec>,
}

#[derive(Debug, Clone)]
struct ObjectSpec {
    n: Option<i64>,
    tag: usize,
    /// A pointer `link` to an earlier object (this index modulo the objects before it).
    link: Option<usize>,
    acl: Option<AclSpec>,
}

#[derive(Debug, Clone)]
enum Leaf {
    NEq(i64),
    NNe(i64),
    NGt(i64),
    NLte(i64),
    NIn(Vec<i64>),
    NExists(bool),
    TagEq(usize),
    TagNe(usize),
    TagIn(Vec<usize>),
    /// `objectId` equal to the id of the object at this index (modulo the object count).
    IdEq(usize),
    IdIn(Vec<usize>),
    /// A sub-query on the same class: `objectId` `$select`/`$dontSelect` the ids it finds, or
    /// `link` `$inQuery`/`$notInQuery` it.
    Sub(SubKind, Box<Leaf>),
}

#[derive(Debug, Clone, Copy)]
enum SubKind {
    Select,
    DontSelect,
    InQuery,
    NotInQuery,
}

#[derive(Debug, Clone)]
enum WhereSpec {
    All,
    Leaf(Leaf),
    /// Two constraints as keys of one object (falls back to `$and` when they share a field).
    Both(Leaf, Leaf),
    Or(Leaf, Leaf),
}

#[derive(Debug, Clone)]
struct QuerySpec {
    filter: WhereSpec,
    order: usize,
    skip: u64,
    limit: u64,
}

#[derive(Debug, Clone)]
enum Change {
    Membership { add: bool, role: usize, user: usize },
    Edge { add: bool, parent: usize, child: usize },
    ObjectAcl { object: usize, acl: AclSpec },
}

/// How a change is sent: `PUT /classes/…`, or inside a `/batch` (transactional or not).
#[derive(Debug, Clone, Copy)]
enum Via {
    Update,
    Batch,
    TransactionalBatch,
}

#[derive(Debug, Clone)]
struct Mutation {
    change: Change,
    via: Via,
}

#[derive(Debug, Clone)]
struct Case {
    users: usize,
    roles: Vec<RoleSpec>,
    objects: Vec<ObjectSpec>,
    queries: Vec<QuerySpec>,
    mutations: Vec<Mutation>,
}

fn entity() -> impl Strategy<Value = Entity> {
    prop_oneof![
        1 => Just(Entity::Public),
        3 => (0..=MAX_USERS).prop_map(Entity::User),
        3 => (0..MAX_ROLES + 2).prop_map(Entity::Role),
    ]
}

fn acl() -> impl Strategy<Value = AclSpec> {
    vec((entity(), any::<bool>(), any::<bool>()), 0..=4)
}

fn leaf() -> impl Strategy<Value = Leaf> {
    let kind = prop_oneof![
        Just(SubKind::Select),
        Just(SubKind::DontSelect),
        Just(SubKind::InQuery),
        Just(SubKind::NotInQuery)
    ];
    prop_oneof![
        6 => plain_leaf(),
        1 => (kind, plain_leaf()).prop_map(|(kind, inner)| Leaf::Sub(kind, Box::new(inner))),
    ]
}

fn plain_leaf() -> impl Strategy<Value = Leaf> {
    prop_oneof![
        (0..5i64).prop_map(Leaf::NEq),
        (0..5i64).prop_map(Leaf::NNe),
        (0..5i64).prop_map(Leaf::NGt),
        (0..5i64).prop_map(Leaf::NLte),
        vec(0..5i64, 0..=3).prop_map(Leaf::NIn),
        any::<bool>().prop_map(Leaf::NExists),
        (0..TAGS.len()).prop_map(Leaf::TagEq),
        (0..TAGS.len()).prop_map(Leaf::TagNe),
        vec(0..TAGS.len(), 0..=2).prop_map(Leaf::TagIn),
        (0..MAX_OBJECTS).prop_map(Leaf::IdEq),
        vec(0..MAX_OBJECTS, 0..=4).prop_map(Leaf::IdIn),
    ]
}

fn where_spec() -> impl Strategy<Value = WhereSpec> {
    prop_oneof![
        1 => Just(WhereSpec::All),
        3 => leaf().prop_map(WhereSpec::Leaf),
        2 => (leaf(), leaf()).prop_map(|(a, b)| WhereSpec::Both(a, b)),
        2 => (leaf(), leaf()).prop_map(|(a, b)| WhereSpec::Or(a, b)),
    ]
}

fn query_spec() -> impl Strategy<Value = QuerySpec> {
    (where_spec(), 0..ORDERS.len(), 0..8u64, 0..8u64).prop_map(|(filter, order, skip, limit)| QuerySpec {
        filter,
        order,
        skip,
        limit,
    })
}

fn object_spec() -> impl Strategy<Value = ObjectSpec> {
    (
        option::weighted(0.8, 0..5i64),
        0..TAGS.len(),
        option::weighted(0.5, 0..MAX_OBJECTS),
        option::weighted(0.8, acl()),
    )
        .prop_map(|(n, tag, link, acl)| ObjectSpec { n, tag, link, acl })
}

fn mutation(users: usize, roles: usize) -> impl Strategy<Value = Mutation> {
    let roles = roles.max(1);
    let change = prop_oneof![
        (any::<bool>(), 0..roles, 0..users).prop_map(|(add, role, user)| Change::Membership {
            add,
            role,
            user
        }),
        (any::<bool>(), 0..roles, 0..roles).prop_map(|(add, parent, child)| Change::Edge {
            add,
            parent,
            child
        }),
        (0..MAX_OBJECTS, acl()).prop_map(|(object, acl)| Change::ObjectAcl { object, acl }),
    ];
    let via = prop_oneof![Just(Via::Update), Just(Via::Batch), Just(Via::TransactionalBatch)];
    (change, via).prop_map(|(change, via)| Mutation { change, via })
}

fn case() -> impl Strategy<Value = Case> {
    (1..=MAX_USERS, 0..=MAX_ROLES).prop_flat_map(|(users, roles)| {
        let role = (
            btree_set(0..users, 0..=users.min(3)),
            btree_set(0..roles.max(1), 0..=roles.min(3)),
            option::weighted(0.5, acl()),
        )
            .prop_map(|(users, children, acl)| RoleSpec { users, children, acl });
        (
            vec(role, roles),
            vec(object_spec(), 0..=MAX_OBJECTS),
            vec(query_spec(), 1..=3),
            vec(mutation(users, roles), 0..=3),
        )
            .prop_map(move |(roles, objects, queries, mutations)| Case {
                users,
                roles,
                objects,
                queries,
                mutations,
            })
    })
}

// ---------------------------------------------------------------------------------------------
// The reference

/// An ACL as the JSON a client sends, and the read list it grants.
fn acl_json(spec: &AclSpec) -> (Value, BTreeSet<String>) {
    let mut acl = Map::new();
    for (entity, read, write) in spec {
        acl.insert(entity.name(), json!({"read": read, "write": write}));
    }
    let readers = acl
        .iter()
        .filter(|(_, grant)| grant["read"] == json!(true))
        .map(|(entity, _)| entity.clone())
        .collect();
    (Value::Object(acl), readers)
}

struct ModelObject {
    id: String,
    seq: i64,
    n: Option<i64>,
    tag: &'static str,
    /// The index and id of the object `link` points to.
    link: Option<(usize, String)>,
    /// `None`: saved without an ACL (public). `Some`: the entities granted read (maybe none).
    readers: Option<BTreeSet<String>>,
}

impl ModelObject {
    fn client_fields(&self) -> Object {
        let mut fields = Object::new();
        fields.insert("objectId".into(), json!(self.id));
        fields.insert("seq".into(), json!(self.seq));
        if let Some(n) = self.n {
            fields.insert("n".into(), json!(n));
        }
        fields.insert("tag".into(), json!(self.tag));
        if let Some((_, link)) = &self.link {
            fields.insert("link".into(), pointer(CLASS, link));
        }
        fields
    }
}

/// Who is calling.
#[derive(Debug, Clone, Copy)]
enum Caller {
    Master,
    Anonymous,
    User(usize),
}

struct Model {
    users: usize,
    role_ids: Vec<String>,
    role_users: Vec<BTreeSet<usize>>,
    role_children: Vec<BTreeSet<usize>>,
    objects: Vec<ModelObject>,
}

impl Model {
    /// The `role:<name>`s a user holds: roles whose `users` hold them, then, until nothing
    /// changes, every role whose `roles` holds a role already held.
    fn closure(&self, user: usize) -> Vec<String> {
        let roles = self.role_ids.len();
        let mut held: BTreeSet<usize> =
            (0..roles).filter(|&role| self.role_users[role].contains(&user)).collect();
        loop {
            let parents: Vec<usize> = (0..roles)
                .filter(|parent| !held.contains(parent))
                .filter(|&parent| self.role_children[parent].iter().any(|child| held.contains(child)))
                .collect();
            if parents.is_empty() {
                break;
            }
            held.extend(parents);
        }
        let mut names: Vec<String> = held.into_iter().map(role_entity).collect();
        names.sort();
        names
    }

    fn may_read(&self, caller: Caller, object: &ModelObject) -> bool {
        let Some(readers) = &object.readers else { return true };
        let mut entities = vec!["*".to_string()];
        match caller {
            Caller::Master => return true,
            Caller::Anonymous => {}
            Caller::User(user) => {
                entities.push(user_id(user));
                entities.extend(self.closure(user));
            }
        }
        entities.iter().any(|entity| readers.contains(entity))
    }

    fn object_id(&self, index: usize) -> String {
        match self.objects.len() {
            0 => "noSuchObject".to_string(),
            len => self.objects[index % len].id.clone(),
        }
    }

    /// A leaf as `(field, constraint)`: as the client sends it (`resolve_for: None`), or with
    /// its sub-query resolved for a caller by the reference.
    fn leaf_json(&self, leaf: &Leaf, resolve_for: Option<Caller>) -> (&'static str, Value) {
        match leaf {
            Leaf::NEq(n) => ("n", json!(n)),
            Leaf::NNe(n) => ("n", json!({"$ne": n})),
            Leaf::NGt(n) => ("n", json!({"$gt": n})),
            Leaf::NLte(n) => ("n", json!({"$lte": n})),
            Leaf::NIn(values) => ("n", json!({"$in": values})),
            Leaf::NExists(exists) => ("n", json!({"$exists": exists})),
            Leaf::TagEq(tag) => ("tag", json!(TAGS[*tag])),
            Leaf::TagNe(tag) => ("tag", json!({"$ne": TAGS[*tag]})),
            Leaf::TagIn(tags) => {
                ("tag", json!({"$in": tags.iter().map(|tag| TAGS[*tag]).collect::<Vec<_>>()}))
            }
            Leaf::IdEq(index) => ("objectId", json!(self.object_id(*index))),
            Leaf::IdIn(indices) => (
                "objectId",
                json!({"$in": indices.iter().map(|index| self.object_id(*index)).collect::<Vec<_>>()}),
            ),
            Leaf::Sub(kind, inner) => {
                let field = match kind {
                    SubKind::Select | SubKind::DontSelect => "objectId",
                    SubKind::InQuery | SubKind::NotInQuery => "link",
                };
                let inner_where = self.leaf_where(inner, None);
                let Some(caller) = resolve_for else {
                    let sub = json!({"className": CLASS, "where": inner_where});
                    let constraint = match kind {
                        SubKind::Select => json!({"$select": {"query": sub, "key": "objectId"}}),
                        SubKind::DontSelect => json!({"$dontSelect": {"query": sub, "key": "objectId"}}),
                        SubKind::InQuery => json!({"$inQuery": sub}),
                        SubKind::NotInQuery => json!({"$notInQuery": sub}),
                    };
                    return (field, constraint);
                };
                let found = self.expected(caller, &inner_where);
                let values: Vec<Value> = found
                    .iter()
                    .map(|&index| match kind {
                        SubKind::Select | SubKind::DontSelect => json!(self.objects[index].id),
                        SubKind::InQuery | SubKind::NotInQuery => pointer(CLASS, &self.objects[index].id),
                    })
                    .collect();
                let operator = match kind {
                    SubKind::Select | SubKind::InQuery => "$in",
                    SubKind::DontSelect | SubKind::NotInQuery => "$nin",
                };
                (field, json!({ operator: values }))
            }
        }
    }

    fn leaf_where(&self, leaf: &Leaf, resolve_for: Option<Caller>) -> Value {
        let (field, constraint) = self.leaf_json(leaf, resolve_for);
        json!({ field: constraint })
    }

    /// The `where` a client sends (`resolve_for: None`), or the reference's resolution of it for
    /// a caller (sub-queries replaced by what that caller may read).
    fn where_json(&self, spec: &WhereSpec, resolve_for: Option<Caller>) -> Value {
        match spec {
            WhereSpec::All => json!({}),
            WhereSpec::Leaf(leaf) => self.leaf_where(leaf, resolve_for),
            WhereSpec::Both(a, b) => {
                let ((field_a, a), (field_b, b)) =
                    (self.leaf_json(a, resolve_for), self.leaf_json(b, resolve_for));
                if field_a == field_b {
                    json!({"$and": [{ field_a: a }, { field_b: b }]})
                } else {
                    json!({ field_a: a, field_b: b })
                }
            }
            WhereSpec::Or(a, b) => {
                json!({"$or": [self.leaf_where(a, resolve_for), self.leaf_where(b, resolve_for)]})
            }
        }
    }

    /// Indices of the objects `caller` gets for a resolved `where_clause`, in insertion order.
    fn expected(&self, caller: Caller, where_clause: &Value) -> Vec<usize> {
        let filter = parse_where(where_clause).expect("generated where clauses parse");
        assert!(filter.is_resolved(), "the reference resolves sub-queries itself: {where_clause}");
        (0..self.objects.len())
            .filter(|&index| matches(&filter, &self.objects[index].client_fields()))
            .filter(|&index| self.may_read(caller, &self.objects[index]))
            .collect()
    }

    fn sort(&self, indices: &mut [usize], order: &str) {
        let keys: Vec<(&str, bool)> = order
            .split(',')
            .map(|key| key.strip_prefix('-').map_or((key, false), |field| (field, true)))
            .collect();
        indices.sort_by(|&a, &b| {
            let (a, b) = (&self.objects[a], &self.objects[b]);
            for (field, descending) in &keys {
                let ordering = match *field {
                    "seq" => a.seq.cmp(&b.seq),
                    "tag" => a.tag.cmp(b.tag),
                    other => panic!("no reference order for {other}"),
                };
                let ordering = if *descending { ordering.reverse() } else { ordering };
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
            Ordering::Equal
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Driving the server

fn ctx<'a>(app: &'a App, auth: &'a Auth) -> Ctx<'a> {
    Ctx::new(app, auth, "/parse")
}

fn body(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("a body is an object, not {other}"),
    }
}

fn pointer(class_name: &str, object_id: &str) -> Value {
    json!({"__type": "Pointer", "className": class_name, "objectId": object_id})
}

fn relation_op(add: bool, pointers: Vec<Value>) -> Value {
    json!({"__op": if add { "AddRelation" } else { "RemoveRelation" }, "objects": pointers})
}

fn ids_of(results: &[Value]) -> Vec<String> {
    results.iter().map(|object| object["objectId"].as_str().unwrap_or_default().to_string()).collect()
}

type Outcome = Result<(), String>;

macro_rules! check_eq {
    ($actual:expr, $expected:expr, $($context:tt)+) => {{
        let (actual, expected) = (&$actual, &$expected);
        if actual != expected {
            return Err(format!("{}:\n  server:    {actual:?}\n  reference: {expected:?}", format!($($context)+)));
        }
    }};
}

fn api<T>(result: Result<T, ApiError>, what: &str) -> Result<T, String> {
    result.map_err(|error| format!("{what}: {error:?}"))
}

/// Writes the case through the controllers (master key) and returns the reference model.
async fn build(app: &App, case: &Case) -> Result<Model, String> {
    let master = Auth::master();
    let ctx = ctx(app, &master);

    // Users: rows in `_User` (no passwords: none of this reads them).
    let users_schema = api(schema_writes::class_for_write(&ctx, "_User").await, "create _User")?;
    for user in 0..case.users {
        let now = reparse_core::value::format_date(Utc::now());
        let row = body(json!({
            "objectId": user_id(user), "createdAt": now, "updatedAt": now, "username": user_id(user),
        }));
        app.storage.insert(&users_schema, &row).await.map_err(|error| format!("insert user: {error}"))?;
    }

    // Roles, with their `users` saved on creation and their `roles` once every role has an id.
    let mut role_ids = Vec::new();
    for (index, role) in case.roles.iter().enumerate() {
        // A role needs an ACL (parse-server's required columns); "none" is master-only.
        let mut fields = json!({"name": ROLE_NAMES[index], "ACL": {}});
        if let Some(acl) = &role.acl {
            fields["ACL"] = acl_json(acl).0;
        }
        if !role.users.is_empty() {
            let users = role.users.iter().map(|&user| pointer("_User", &user_id(user))).collect();
            fields["users"] = relation_op(true, users);
        }
        let created = api(objects::create(&ctx, "_Role", body(fields)).await, "create role")?;
        role_ids.push(created.body["objectId"].as_str().unwrap_or_default().to_string());
    }
    for (index, role) in case.roles.iter().enumerate() {
        if role.children.is_empty() {
            continue;
        }
        let children = role.children.iter().map(|&child| pointer("_Role", &role_ids[child])).collect();
        let update = body(json!({"roles": relation_op(true, children)}));
        api(objects::update(&ctx, "_Role", &role_ids[index], update).await, "add child roles")?;
    }

    // The queried class, declared first so that a case without objects still has it.
    let declared = json!({"className": CLASS, "fields": {
        "seq": {"type": "Number"}, "n": {"type": "Number"}, "tag": {"type": "String"},
        "link": {"type": "Pointer", "targetClass": CLASS},
    }});
    api(schemas::create(&ctx, None, body(declared)).await, "create class")?;
    let mut objects: Vec<ModelObject> = Vec::new();
    for (seq, spec) in case.objects.iter().enumerate() {
        let mut fields = json!({"seq": seq, "tag": TAGS[spec.tag]});
        if let Some(n) = spec.n {
            fields["n"] = json!(n);
        }
        let link = match (spec.link, seq) {
            (Some(link), 1..) => Some((link % seq, objects[link % seq].id.clone())),
            _ => None,
        };
        if let Some((_, id)) = &link {
            fields["link"] = pointer(CLASS, id);
        }
        let readers = spec.acl.as_ref().map(|acl| {
            let (acl, readers) = acl_json(acl);
            fields["ACL"] = acl;
            readers
        });
        let created = api(objects::create(&ctx, CLASS, body(fields)).await, "create object")?;
        objects.push(ModelObject {
            id: created.body["objectId"].as_str().unwrap_or_default().to_string(),
            seq: seq as i64,
            n: spec.n,
            tag: TAGS[spec.tag],
            link,
            readers,
        });
    }

    Ok(Model {
        users: case.users,
        role_ids,
        role_users: case.roles.iter().map(|role| role.users.clone()).collect(),
        role_children: case.roles.iter().map(|role| role.children.clone()).collect(),
        objects,
    })
}

/// `PUT /classes/<class>/<id>` with the master key, directly or as the one request of a batch.
async fn put(app: &App, via: Via, class_name: &str, object_id: &str, update: Map<String, Value>) -> Outcome {
    let master = Auth::master();
    let ctx = ctx(app, &master);
    let transaction = match via {
        Via::Update => {
            return api(objects::update(&ctx, class_name, object_id, update).await, "update").map(drop);
        }
        Via::Batch => false,
        Via::TransactionalBatch => true,
    };
    let request =
        json!({"method": "PUT", "path": format!("/parse/classes/{class_name}/{object_id}"), "body": update});
    let response = api(
        batch::run(&ctx, body(json!({"requests": [request], "transaction": transaction}))).await,
        "batch",
    )?;
    match response.body[0].get("success") {
        Some(_) => Ok(()),
        None => Err(format!("batch update failed: {}", response.body)),
    }
}

/// Applies a change through the controllers and to the model. Returns a description.
async fn apply(app: &App, model: &mut Model, mutation: &Mutation) -> Result<String, String> {
    let roles = model.role_ids.len();
    let via = mutation.via;
    let done = match mutation.change {
        Change::Membership { add, role, user } if roles > 0 => {
            let role = role % roles;
            let update = body(json!({"users": relation_op(add, vec![pointer("_User", &user_id(user))])}));
            put(app, via, "_Role", &model.role_ids[role], update).await?;
            match add {
                true => model.role_users[role].insert(user),
                false => model.role_users[role].remove(&user),
            };
            format!(
                "{} {} in role {}",
                if add { "added" } else { "removed" },
                user_id(user),
                ROLE_NAMES[role]
            )
        }
        Change::Edge { add, parent, child } if roles > 0 => {
            let (parent, child) = (parent % roles, child % roles);
            let update =
                body(json!({"roles": relation_op(add, vec![pointer("_Role", &model.role_ids[child])])}));
            put(app, via, "_Role", &model.role_ids[parent], update).await?;
            match add {
                true => model.role_children[parent].insert(child),
                false => model.role_children[parent].remove(&child),
            };
            format!(
                "{} role {} in roles of {}",
                if add { "added" } else { "removed" },
                ROLE_NAMES[child],
                ROLE_NAMES[parent]
            )
        }
        Change::ObjectAcl { object, ref acl } if !model.objects.is_empty() => {
            let index = object % model.objects.len();
            let (acl, readers) = acl_json(acl);
            put(app, via, CLASS, &model.objects[index].id, body(json!({"ACL": acl}))).await?;
            model.objects[index].readers = Some(readers);
            format!("set the ACL of object seq={index} to {acl}")
        }
        _ => return Ok("nothing (no role or object to change)".to_string()),
    };
    Ok(format!("{done} ({via:?})"))
}

/// Every check, for every caller.
async fn check(app: &App, model: &Model, queries: &[QuerySpec], stage: &str) -> Outcome {
    let mut callers = vec![Caller::Master, Caller::Anonymous];
    callers.extend((0..model.users).map(Caller::User));
    for caller in callers {
        let auth = match caller {
            Caller::Master => Auth::master(),
            Caller::Anonymous => Auth::default(),
            Caller::User(user) => {
                let id = user_id(user);
                let roles =
                    role_entities(app, &id).await.map_err(|error| format!("role_entities: {error}"))?;
                check_eq!(roles, model.closure(user), "[{stage}] roles of {id}");
                let session =
                    SessionUser { user_id: id, session_id: "s".into(), session_token: "r:t".into() };
                Auth { user: Some(session), roles, ..Auth::default() }
            }
        };
        let ctx = ctx(app, &auth);

        for query in queries {
            let where_clause = model.where_json(&query.filter, None);
            let expected = model.expected(caller, &model.where_json(&query.filter, Some(caller)));
            let expected_ids: BTreeSet<String> =
                expected.iter().map(|&index| model.objects[index].id.clone()).collect();

            // The query controller, with a count.
            let params = body(json!({"where": where_clause, "count": 1}));
            let request =
                FindRequest::from_params(&ctx, params, FIND_PARAMS).map_err(|e| format!("params: {e}"))?;
            let (found, count) =
                find(&ctx, CLASS, request).await.map_err(|error| format!("find: {error}"))?;
            let found: Vec<Value> = found.into_iter().map(Value::Object).collect();
            let found_ids = ids_of(&found);
            check_eq!(
                found_ids.len(),
                expected_ids.len(),
                "[{stage}] {caller:?} find {where_clause}: row count"
            );
            check_eq!(
                found_ids.iter().cloned().collect::<BTreeSet<_>>(),
                expected_ids,
                "[{stage}] {caller:?} find {where_clause}"
            );
            check_eq!(count, Some(expected.len() as u64), "[{stage}] {caller:?} count {where_clause}");

            // The `/classes` route, ordered, skipped and limited, with `link` included.
            let order = ORDERS[query.order];
            let mut ordered = expected.clone();
            model.sort(&mut ordered, order);
            let slice: Vec<String> = ordered
                .iter()
                .skip(query.skip as usize)
                .take(query.limit as usize)
                .map(|&index| model.objects[index].id.clone())
                .collect();
            let params =
                body(json!({"where": where_clause, "order": order, "skip": query.skip, "limit": query.limit,
                    "include": "link"}));
            let response = api(objects::find(&ctx, CLASS, params).await, "find route")?;
            let results = response.body["results"].as_array().cloned().unwrap_or_default();
            check_eq!(
                ids_of(&results),
                slice,
                "[{stage}] {caller:?} find {where_clause} order={order} skip={} limit={}",
                query.skip,
                query.limit
            );
            for (result, index) in results.iter().zip(ordered.iter().skip(query.skip as usize)) {
                let Some((link, link_id)) = &model.objects[*index].link else { continue };
                let included = result["link"]["__type"] == json!("Object");
                check_eq!(
                    result["link"]["objectId"],
                    json!(link_id),
                    "[{stage}] {caller:?} link of seq={index}"
                );
                check_eq!(
                    included,
                    model.may_read(caller, &model.objects[*link]),
                    "[{stage}] {caller:?} include link of seq={index} (seq={link}, readers {:?})",
                    model.objects[*link].readers
                );
            }
        }

        // Gets by id (the reads the object cache answers).
        for object in &model.objects {
            let got = match objects::get(&ctx, CLASS, &object.id, Map::new()).await {
                Ok(response) => {
                    check_eq!(response.body["objectId"], json!(object.id), "[{stage}] {caller:?} get");
                    true
                }
                Err(ApiError::Parse(error)) if error.code == ErrorCode::ObjectNotFound => false,
                Err(error) => return Err(format!("[{stage}] {caller:?} get {}: {error:?}", object.id)),
            };
            check_eq!(
                got,
                model.may_read(caller, object),
                "[{stage}] {caller:?} get seq={} (readers {:?})",
                object.seq,
                object.readers
            );
        }
    }
    Ok(())
}

async fn run_case(case: &Case) -> Outcome {
    let directory = tempfile::tempdir().map_err(|error| error.to_string())?;
    let storage =
        SqliteStorage::open(&directory.path().join("app.sqlite")).map_err(|error| error.to_string())?;
    let app =
        App::new(AppConfig::new("permissions", "masterKey", "http://localhost/parse"), Arc::new(storage))?;
    let mut model = build(&app, case).await?;
    check(&app, &model, &case.queries, "initial").await?;
    for (step, mutation) in case.mutations.iter().enumerate() {
        let done = apply(&app, &mut model, mutation).await?;
        check(&app, &model, &case.queries, &format!("after change {step}: {done}")).await?;
    }
    Ok(())
}

#[test]
fn reads_agree_with_a_reference_evaluation_of_roles_and_acls() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    // `Config::default()` reads `PROPTEST_CASES`.
    let config = match std::env::var_os("PROPTEST_CASES") {
        Some(_) => Config::default(),
        None => Config { cases: CASES, ..Config::default() },
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&case(), |case| runtime.block_on(run_case(&case)).map_err(TestCaseError::fail));
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => panic!("{reason}\nminimal case: {case:#?}"),
        Err(error) => panic!("{error}"),
    }
}
