//! What of a stored object a caller may see: the one place secrets and protected fields are
//! removed.
//!
//! Every path that returns objects (REST finds and gets, `include`, login and `users/me`, and
//! later LiveQuery, GraphQL and cloud code) passes them through [`redact_object`], so a new
//! path cannot forget a field: secrets ([`redact_secrets`], never configurable) and the class's
//! `protectedFields` ([`protected_fields`], per caller and per object) in one call.

use serde_json::{Map, Value};

use crate::value::Object;

/// Who is looking at an object.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    /// The master key: sees stored `authData` whole (cloud code and admin tools need it) and
    /// every protected field.
    pub master: bool,
    /// The signed-in user, if any.
    pub user_id: Option<&'a str>,
    /// The user's `role:<name>` entities.
    pub roles: &'a [String],
}

/// Removes from `object` of `class_name` everything `viewer` may not see: secrets, then the
/// protected fields of the class's permissions `clp`.
pub fn redact_object(class_name: &str, clp: &Value, object: &mut Object, viewer: Viewer<'_>) {
    redact_secrets(class_name, object, viewer);
    if viewer.master {
        return;
    }
    let hidden = protected_fields_of_object(class_name, clp, object, viewer);
    if !hidden.is_empty() {
        object.retain(|field, _| !hidden.contains(field));
    }
}

/// The fields of `class_name` hidden from `viewer` whatever the object (parse-server's
/// `addProtectedFields`): the `protectedFields` entries that apply to the viewer — `*`,
/// `authenticated` for a signed-in user, each of its roles, its user id — intersected, so an
/// entry can only reveal what another hides. A `where` or `order` on one of these is refused.
/// `_User` gets parse-server's default `{"*": ["email"]}` on top of its own entries.
pub fn protected_fields(class_name: &str, clp: &Value, viewer: Viewer<'_>) -> Vec<String> {
    if viewer.master || nothing_protected(class_name, clp) {
        return Vec::new();
    }
    let entries = protected_entries(class_name, clp);
    let mut sets: Vec<&Vec<String>> = Vec::new();
    for (key, fields) in &entries {
        let applies = key == "*"
            || (viewer.user_id.is_some() && key == "authenticated")
            || viewer.user_id == Some(key.as_str())
            || (key.starts_with("role:") && viewer.roles.contains(key));
        if applies {
            sets.push(fields);
        }
    }
    intersect(&sets)
}

/// [`protected_fields`] for one object: `userField:<field>` entries apply when the object's
/// `field` points at the viewer, and a user always sees all of their own `_User` object.
fn protected_fields_of_object(
    class_name: &str,
    clp: &Value,
    object: &Object,
    viewer: Viewer<'_>,
) -> Vec<String> {
    let Some(user_id) = viewer.user_id else {
        return protected_fields(class_name, clp, viewer);
    };
    if class_name == "_User" && object.get("objectId").and_then(Value::as_str) == Some(user_id) {
        return Vec::new();
    }
    let class_wide = protected_fields(class_name, clp, viewer);
    // `userField:` entries can only narrow what is hidden class-wide.
    if class_wide.is_empty() {
        return class_wide;
    }
    let entries = protected_entries(class_name, clp);
    let mut sets: Vec<&Vec<String>> = Vec::new();
    for (key, fields) in &entries {
        if let Some(field) = key.strip_prefix("userField:")
            && points_at(object.get(field), user_id)
        {
            sets.push(fields);
        }
    }
    if sets.is_empty() {
        return class_wide;
    }
    sets.push(&class_wide);
    intersect(&sets)
}

/// Whether the class hides nothing from anyone: its `*` entry is an empty list (the default
/// CLP), so every intersection is empty. Checked first because it is the common case and
/// costs no allocation.
fn nothing_protected(class_name: &str, clp: &Value) -> bool {
    let public = clp.get("protectedFields").and_then(|fields| fields.get("*"));
    class_name != "_User" && public.and_then(Value::as_array).is_some_and(Vec::is_empty)
}

/// The class's `protectedFields` entries, with the `_User` default merged in.
fn protected_entries(class_name: &str, clp: &Value) -> Vec<(String, Vec<String>)> {
    let mut entries: Vec<(String, Vec<String>)> = clp
        .get("protectedFields")
        .and_then(Value::as_object)
        .map(|map| {
            map.iter()
                .map(|(key, list)| {
                    let fields = list
                        .as_array()
                        .map(|l| l.iter().filter_map(Value::as_str).map(str::to_string).collect());
                    (key.clone(), fields.unwrap_or_default())
                })
                .collect()
        })
        .unwrap_or_default();
    if class_name == "_User" {
        match entries.iter_mut().find(|(key, _)| key == "*") {
            Some((_, fields)) if !fields.iter().any(|f| f == "email") => fields.push("email".into()),
            Some(_) => {}
            None => entries.push(("*".into(), vec!["email".into()])),
        }
    }
    entries
}

fn intersect(sets: &[&Vec<String>]) -> Vec<String> {
    let Some((first, rest)) = sets.split_first() else { return Vec::new() };
    first.iter().filter(|field| rest.iter().all(|set| set.contains(field))).cloned().collect()
}

/// Whether a field holds a `_User` pointer to `user_id` (or an array holding one).
fn points_at(value: Option<&Value>, user_id: &str) -> bool {
    let is_user = |value: &Value| value.get("objectId").and_then(Value::as_str) == Some(user_id);
    match value {
        Some(Value::Array(items)) => items.iter().any(is_user),
        Some(value) => is_user(value),
        None => false,
    }
}

/// Removes what no client may read from `object` of `class_name`:
/// - every top-level key starting with `_` (password hash, verification and reset tokens,
///   lockout state, `_rperm`/`_wperm` once turned into `ACL`), and a user's `password`;
/// - of a user's `authData`: everything for other users; for the user itself, each provider
///   reduced to its `id`, because tokens and secrets are the server's to check, not to echo.
pub fn redact_secrets(class_name: &str, object: &mut Object, viewer: Viewer<'_>) {
    object.retain(|key, _| !key.starts_with('_'));
    if class_name != "_User" {
        return;
    }
    object.remove("password");
    object.remove("sessionToken");
    if let Some(Value::Object(providers)) = object.get_mut("authData") {
        providers.retain(|_, data| !data.is_null());
    }
    if object.get("authData").and_then(Value::as_object).is_some_and(Map::is_empty) {
        object.remove("authData");
    }
    if viewer.master {
        return;
    }
    let is_self =
        viewer.user_id.is_some() && object.get("objectId").and_then(Value::as_str) == viewer.user_id;
    if !is_self {
        object.remove("authData");
        return;
    }
    if let Some(Value::Object(providers)) = object.get_mut("authData") {
        for data in providers.values_mut() {
            *data = public_provider_data(data);
        }
    }
}

/// A provider's `authData` as its own user may see it: the account id only.
fn public_provider_data(data: &Value) -> Value {
    let mut public = Map::new();
    if let Some(id) = data.get("id") {
        public.insert("id".into(), id.clone());
    }
    Value::Object(public)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Object {
        json!({
            "objectId": "u1", "username": "alice", "password": "x", "_hashed_password": "$2b$",
            "_perishable_token": "t", "email": "a@b.c",
            "authData": {"facebook": {"id": "f1", "access_token": "secret"}, "twitter": null},
        })
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn other_users_see_no_secrets_and_no_auth_data() {
        let mut object = user();
        redact_secrets("_User", &mut object, Viewer { master: false, user_id: Some("u2"), roles: &[] });
        assert_eq!(Value::Object(object), json!({"objectId": "u1", "username": "alice", "email": "a@b.c"}));
    }

    #[test]
    fn the_user_sees_provider_ids_only() {
        let mut object = user();
        redact_secrets("_User", &mut object, Viewer { master: false, user_id: Some("u1"), roles: &[] });
        assert_eq!(object["authData"], json!({"facebook": {"id": "f1"}}));
        assert!(!object.contains_key("_hashed_password") && !object.contains_key("password"));
    }

    #[test]
    fn the_master_key_sees_stored_auth_data_but_no_hashes() {
        let mut object = user();
        redact_secrets("_User", &mut object, Viewer { master: true, user_id: None, roles: &[] });
        assert_eq!(object["authData"]["facebook"]["access_token"], "secret");
        assert!(!object.contains_key("_hashed_password") && !object.contains_key("_perishable_token"));
    }

    #[test]
    fn protected_fields_intersect_the_entries_that_apply() {
        let clp = json!({"protectedFields": {
            "*": ["phone", "salary", "email"], "authenticated": ["salary", "email", "phone"],
            "role:hr": ["email"], "userField:owner": ["email"],
        }});
        let anonymous = Viewer { master: false, user_id: None, roles: &[] };
        assert_eq!(protected_fields("Staff", &clp, anonymous), ["phone", "salary", "email"]);
        let user = Viewer { master: false, user_id: Some("u1"), roles: &[] };
        assert_eq!(protected_fields("Staff", &clp, user), ["phone", "salary", "email"]);
        let roles = ["role:hr".to_string()];
        let hr = Viewer { master: false, user_id: Some("u1"), roles: &roles };
        assert_eq!(protected_fields("Staff", &clp, hr), ["email"]);

        let mut owned =
            json!({"objectId": "s1", "owner": {"__type": "Pointer", "className": "_User", "objectId": "u1"},
            "phone": "1", "salary": 2, "email": "e"})
            .as_object()
            .unwrap()
            .clone();
        redact_object("Staff", &clp, &mut owned, user);
        assert_eq!(owned.keys().collect::<Vec<_>>(), ["objectId", "owner", "phone", "salary"]);
    }

    #[test]
    fn users_see_their_own_email_and_nobody_else_does() {
        let me = Viewer { master: false, user_id: Some("u1"), roles: &[] };
        let mut mine = json!({"objectId": "u1", "email": "a@b.c"}).as_object().unwrap().clone();
        redact_object("_User", &json!({}), &mut mine, me);
        assert_eq!(mine["email"], "a@b.c");
        let mut theirs = json!({"objectId": "u2", "email": "x@y.z"}).as_object().unwrap().clone();
        redact_object("_User", &json!({}), &mut theirs, me);
        assert!(!theirs.contains_key("email"));
    }

    #[test]
    fn internal_keys_of_any_class_are_removed() {
        let mut object = json!({"objectId": "x", "_internal": 1, "a": 2}).as_object().unwrap().clone();
        redact_secrets("Thing", &mut object, Viewer { master: true, user_id: None, roles: &[] });
        assert_eq!(Value::Object(object), json!({"objectId": "x", "a": 2}));
    }
}
