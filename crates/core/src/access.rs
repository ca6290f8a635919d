//! Who may do what to a class, before any object is looked at: parse-server's rules for system
//! classes and class-level permissions (CLPs), evaluated for a caller who is a set of ACL
//! entities (`*`, a user id, `role:<name>`s).
//!
//! Until users and roles exist the server passes `["*"]`, so only public grants match; grants to
//! users, roles, `requiresAuthentication` and pointer permissions admit no one yet, which is
//! exactly what they mean for an anonymous caller.

use serde_json::Value;

use crate::error::{ErrorCode, ParseError, ParseResult};

/// A class-level operation, named as in CLPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Find,
    Get,
    Count,
    Create,
    Update,
    Delete,
    AddField,
}

impl Operation {
    pub fn name(self) -> &'static str {
        match self {
            Operation::Find => "find",
            Operation::Get => "get",
            Operation::Count => "count",
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::AddField => "addField",
        }
    }

    fn reads(self) -> bool {
        matches!(self, Operation::Find | Operation::Get | Operation::Count)
    }
}

/// System classes only the master key may touch (parse-server's `classesWithMasterOnlyAccess`).
const MASTER_ONLY_CLASSES: [&str; 8] = [
    "_JobStatus",
    "_PushStatus",
    "_Hooks",
    "_GlobalConfig",
    "_GraphQLConfig",
    "_JobSchedule",
    "_Idempotency",
    "_Audience",
];

/// parse-server's `enforceRoleSecurity`: clients may not list or delete installations, and
/// master-only classes are master-only.
pub fn enforce_system_class_access(operation: Operation, class_name: &str, master: bool) -> ParseResult<()> {
    if master {
        return Ok(());
    }
    let installation_listing =
        class_name == "_Installation" && matches!(operation, Operation::Find | Operation::Delete);
    if installation_listing || MASTER_ONLY_CLASSES.contains(&class_name) {
        let collection = if class_name == "_Installation" { "installation" } else { class_name };
        return Err(ParseError::new(
            ErrorCode::OperationForbidden,
            format!(
                "Clients aren't allowed to perform the {} operation on the {collection} collection.",
                operation.name()
            ),
        ));
    }
    Ok(())
}

/// What the CLP lets a non-master caller do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Permission {
    /// Go ahead (object ACLs still apply).
    Granted,
    /// Only objects whose pointer fields name the caller (pointer permissions): for a caller
    /// who is no user, no object.
    OwnObjectsOnly,
}

/// Checks the class-level permission for `operation`, parse-server's `validatePermission`.
pub fn check_class_permission(
    permissions: &Value,
    operation: Operation,
    class_name: &str,
    entities: &[String],
) -> ParseResult<Permission> {
    let Some(grants) = permissions.get(operation.name()).and_then(Value::as_object) else {
        return Ok(Permission::Granted);
    };
    let granted = |entity: &str| grants.get(entity).and_then(Value::as_bool) == Some(true);
    if granted("*") || entities.iter().any(|entity| granted(entity)) {
        return Ok(Permission::Granted);
    }
    if grants.get("requiresAuthentication").and_then(Value::as_bool) == Some(true) {
        let anonymous = entities.iter().all(|entity| entity == "*");
        if anonymous {
            return Err(ParseError::new(
                ErrorCode::ObjectNotFound,
                "Permission denied, user needs to be authenticated.",
            ));
        }
        return Ok(Permission::Granted);
    }
    let denied = || {
        ParseError::new(
            ErrorCode::OperationForbidden,
            format!("Permission denied for action {} on class {class_name}.", operation.name()),
        )
    };
    if operation == Operation::Create {
        return Err(denied());
    }
    let user_fields = if operation.reads() { "readUserFields" } else { "writeUserFields" };
    let has_list =
        |value: Option<&Value>| value.and_then(Value::as_array).is_some_and(|list| !list.is_empty());
    if has_list(permissions.get(user_fields)) || has_list(grants.get("pointerFields")) {
        return Ok(Permission::OwnObjectsOnly);
    }
    Err(denied())
}

/// Fields hidden from a caller who is all of `entities`. Each of the caller's entities with a
/// `protectedFields` entry hides its list; a field stays hidden only if every such entry hides
/// it (parse-server intersects them, so a role's entry can reveal what `*` hides).
pub fn protected_fields(permissions: &Value, entities: &[String]) -> Vec<String> {
    let Some(protected) = permissions.get("protectedFields").and_then(Value::as_object) else {
        return Vec::new();
    };
    let lists: Vec<Vec<&str>> = entities
        .iter()
        .filter_map(|entity| protected.get(entity).and_then(Value::as_array))
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .collect();
    let Some((first, rest)) = lists.split_first() else { return Vec::new() };
    first
        .iter()
        .filter(|field| rest.iter().all(|list| list.contains(field)))
        .map(|field| field.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn public() -> Vec<String> {
        vec!["*".to_string()]
    }

    #[test]
    fn system_classes_follow_parse_server() {
        assert!(enforce_system_class_access(Operation::Create, "_Installation", false).is_ok());
        assert!(enforce_system_class_access(Operation::Get, "_Installation", false).is_ok());
        let error = enforce_system_class_access(Operation::Find, "_Installation", false).unwrap_err();
        assert_eq!(
            error.message,
            "Clients aren't allowed to perform the find operation on the installation collection."
        );
        assert_eq!(
            enforce_system_class_access(Operation::Create, "_GlobalConfig", false).unwrap_err().code,
            ErrorCode::OperationForbidden
        );
        assert!(enforce_system_class_access(Operation::Find, "_GlobalConfig", true).is_ok());
        assert!(enforce_system_class_access(Operation::Find, "GameScore", false).is_ok());
    }

    #[test]
    fn class_permissions_grant_deny_and_narrow() {
        let clp = json!({
            "find": {"*": true}, "get": {}, "count": {"requiresAuthentication": true},
            "create": {"role:admin": true}, "update": {"pointerFields": ["owner"]},
            "readUserFields": [], "writeUserFields": []
        });
        let check = |operation| check_class_permission(&clp, operation, "Note", &public());
        assert_eq!(check(Operation::Find), Ok(Permission::Granted));
        assert_eq!(check(Operation::Delete), Ok(Permission::Granted), "absent means open");
        assert_eq!(
            check(Operation::Get).unwrap_err().message,
            "Permission denied for action get on class Note."
        );
        assert_eq!(check(Operation::Count).unwrap_err().code, ErrorCode::ObjectNotFound);
        assert_eq!(check(Operation::Create).unwrap_err().code, ErrorCode::OperationForbidden);
        assert_eq!(check(Operation::Update), Ok(Permission::OwnObjectsOnly));
        let admin = vec!["*".to_string(), "role:admin".to_string()];
        assert_eq!(check_class_permission(&clp, Operation::Create, "Note", &admin), Ok(Permission::Granted));
    }

    #[test]
    fn protected_fields_collect_the_callers_entries() {
        let clp = json!({"protectedFields": {"*": ["email", "phone"], "role:staff": ["phone", "salary"]}});
        assert_eq!(protected_fields(&clp, &public()), vec!["email", "phone"]);
        let staff = vec!["*".to_string(), "role:staff".to_string()];
        assert_eq!(protected_fields(&clp, &staff), vec!["phone"]);
    }
}
