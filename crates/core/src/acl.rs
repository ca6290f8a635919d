//! Access control lists: Parse's `ACL` JSON and the `_rperm`/`_wperm` lists storage keeps.
//!
//! `{"*": {"read": true}, "u1": {"read": true, "write": true}, "role:admin": {"write": true}}`
//! is stored as `_rperm = ["*", "u1"]`, `_wperm = ["u1", "role:admin"]`.

use serde_json::{Map, Value};

use crate::error::{ErrorCode, ParseError, ParseResult};
use crate::query::{Constraint, FieldPath, Filter};

/// Read and write permission lists of one object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Permissions {
    pub read: Vec<String>,
    pub write: Vec<String>,
}

fn invalid_acl() -> ParseError {
    ParseError::new(ErrorCode::InvalidAcl, "invalid ACL")
}

/// Converts an `ACL` value. Error 123 for anything but `{entity: {"read"|"write": bool}}`.
pub fn permissions_from_acl(acl: &Value) -> ParseResult<Permissions> {
    let Value::Object(entries) = acl else {
        return Err(invalid_acl());
    };
    let mut permissions = Permissions::default();
    for (entity, grant) in entries {
        let Value::Object(grant) = grant else {
            return Err(invalid_acl());
        };
        if entity.is_empty() {
            return Err(invalid_acl());
        }
        for (permission, allowed) in grant {
            let allowed = allowed.as_bool().ok_or_else(invalid_acl)?;
            let list = match permission.as_str() {
                "read" => &mut permissions.read,
                "write" => &mut permissions.write,
                _ => return Err(invalid_acl()),
            };
            if allowed {
                list.push(entity.clone());
            }
        }
    }
    Ok(permissions)
}

/// Rebuilds the `ACL` value from the stored lists.
pub fn acl_from_permissions(read: &[String], write: &[String]) -> Value {
    let mut acl = Map::new();
    let mut grant = |entity: &String, permission: &str| {
        let entry = acl.entry(entity.clone()).or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(entry) = entry {
            entry.insert(permission.to_string(), Value::Bool(true));
        }
    };
    read.iter().for_each(|entity| grant(entity, "read"));
    write.iter().for_each(|entity| grant(entity, "write"));
    Value::Object(acl)
}

/// Objects readable by a caller who is all of `entities` (`*`, a user id, `role:<name>`s):
/// no ACL at all, or one that grants any of them.
pub fn read_filter(entities: &[String]) -> Filter {
    permission_filter("_rperm", entities)
}

/// Objects writable by a caller who is all of `entities`.
pub fn write_filter(entities: &[String]) -> Filter {
    permission_filter("_wperm", entities)
}

fn permission_filter(field: &str, entities: &[String]) -> Filter {
    let mut allowed = Vec::with_capacity(entities.len() + 1);
    // Null matches a missing list: objects saved without an ACL are public.
    allowed.push(Value::Null);
    allowed.extend(entities.iter().cloned().map(Value::String));
    Filter::Field { path: FieldPath::top(field), constraint: Constraint::In(allowed) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_both_ways() {
        let acl =
            json!({"*": {"read": true}, "u1": {"read": true, "write": true}, "role:admin": {"write": true}});
        let permissions = permissions_from_acl(&acl).unwrap();
        assert_eq!(permissions.read, vec!["*", "u1"]);
        assert_eq!(permissions.write, vec!["u1", "role:admin"]);
        assert_eq!(acl_from_permissions(&permissions.read, &permissions.write), acl);
    }

    #[test]
    fn permission_filters_admit_public_objects_and_granted_entities() {
        let filter = read_filter(&["*".to_string()]);
        let object = |value: Value| value.as_object().unwrap().clone();
        assert!(crate::matcher::matches(&filter, &object(json!({"n": 1}))));
        assert!(crate::matcher::matches(&filter, &object(json!({"_rperm": ["*"]}))));
        assert!(!crate::matcher::matches(&filter, &object(json!({"_rperm": []}))));
        assert!(!crate::matcher::matches(&filter, &object(json!({"_rperm": ["u1"]}))));
        let writer = write_filter(&["*".to_string(), "u1".to_string()]);
        assert!(crate::matcher::matches(&writer, &object(json!({"_wperm": ["u1"]}))));
    }

    #[test]
    fn rejects_malformed_acls() {
        for bad in
            [json!([]), json!({"*": true}), json!({"*": {"read": "yes"}}), json!({"*": {"admin": true}})]
        {
            assert_eq!(permissions_from_acl(&bad).unwrap_err().code, ErrorCode::InvalidAcl);
        }
    }
}
