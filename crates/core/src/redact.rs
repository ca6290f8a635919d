//! What of a stored object a caller may see: the one place secrets are removed.
//!
//! Every path that returns objects (REST finds and gets, `include`, login and `users/me`, and
//! later LiveQuery, GraphQL and cloud code) passes them through [`redact_secrets`], so a new
//! path cannot forget a field. Protected fields (a class's `protectedFields`) are a per-class
//! setting applied next to this; secrets are never configurable.

use serde_json::{Map, Value};

use crate::value::Object;

/// Who is looking at an object.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    /// The master key: sees stored `authData` whole (cloud code and admin tools need it).
    pub master: bool,
    /// The signed-in user, if any.
    pub user_id: Option<&'a str>,
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
        redact_secrets("_User", &mut object, Viewer { master: false, user_id: Some("u2") });
        assert_eq!(Value::Object(object), json!({"objectId": "u1", "username": "alice", "email": "a@b.c"}));
    }

    #[test]
    fn the_user_sees_provider_ids_only() {
        let mut object = user();
        redact_secrets("_User", &mut object, Viewer { master: false, user_id: Some("u1") });
        assert_eq!(object["authData"], json!({"facebook": {"id": "f1"}}));
        assert!(!object.contains_key("_hashed_password") && !object.contains_key("password"));
    }

    #[test]
    fn the_master_key_sees_stored_auth_data_but_no_hashes() {
        let mut object = user();
        redact_secrets("_User", &mut object, Viewer { master: true, user_id: None });
        assert_eq!(object["authData"]["facebook"]["access_token"], "secret");
        assert!(!object.contains_key("_hashed_password") && !object.contains_key("_perishable_token"));
    }

    #[test]
    fn internal_keys_of_any_class_are_removed() {
        let mut object = json!({"objectId": "x", "_internal": 1, "a": 2}).as_object().unwrap().clone();
        redact_secrets("Thing", &mut object, Viewer { master: true, user_id: None });
        assert_eq!(Value::Object(object), json!({"objectId": "x", "a": 2}));
    }
}
