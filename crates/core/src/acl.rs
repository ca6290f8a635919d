//! Access control lists: Parse's `ACL` JSON and the `_rperm`/`_wperm` lists storage keeps.
//!
//! `{"*": {"read": true}, "u1": {"read": true, "write": true}, "role:admin": {"write": true}}`
//! is stored as `_rperm = ["*", "u1"]`, `_wperm = ["u1", "role:admin"]`.

use serde_json::{Map, Value};

use crate::error::{ErrorCode, ParseError, ParseResult};

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
        let entry = acl
            .entry(entity.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(entry) = entry {
            entry.insert(permission.to_string(), Value::Bool(true));
        }
    };
    read.iter().for_each(|entity| grant(entity, "read"));
    write.iter().for_each(|entity| grant(entity, "write"));
    Value::Object(acl)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_both_ways() {
        let acl = json!({"*": {"read": true}, "u1": {"read": true, "write": true}, "role:admin": {"write": true}});
        let permissions = permissions_from_acl(&acl).unwrap();
        assert_eq!(permissions.read, vec!["*", "u1"]);
        assert_eq!(permissions.write, vec!["u1", "role:admin"]);
        assert_eq!(
            acl_from_permissions(&permissions.read, &permissions.write),
            acl
        );
    }

    #[test]
    fn rejects_malformed_acls() {
        for bad in [
            json!([]),
            json!({"*": true}),
            json!({"*": {"read": "yes"}}),
            json!({"*": {"admin": true}}),
        ] {
            assert_eq!(
                permissions_from_acl(&bad).unwrap_err().code,
                ErrorCode::InvalidAcl
            );
        }
    }
}
