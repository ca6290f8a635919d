//! Who may do what to a class, before any object is looked at: parse-server's rules for system
//! classes and class-level permissions (CLPs), evaluated for a caller who is a set of ACL
//! entities (`*`, a user id, `role:<name>`s).
//! An anonymous caller is `["*"]`: only public grants match, and `requiresAuthentication` and
//! pointer permissions admit no one, which is what they mean for it. Protected fields are in
//! `redact`, with the rest of what a caller may not see.

use serde_json::Value;

use crate::error::{ErrorCode, ParseError, ParseResult};
use crate::query::{Constraint, FieldPath, Filter};
use crate::schema::{ClassSchema, FieldType};

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
    /// Only objects whose pointer fields (`fields`) name the caller (pointer permissions): for
    /// a caller who is no user, no object.
    OwnObjectsOnly { fields: Vec<String> },
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
    let names = |value: Option<&Value>| -> Vec<String> {
        value
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    };
    let mut fields = names(grants.get("pointerFields"));
    for field in names(permissions.get(user_fields)) {
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    if !fields.is_empty() {
        return Ok(Permission::OwnObjectsOnly { fields });
    }
    Err(denied())
}

/// The objects pointer permissions let `user_id` reach: those whose field (a `_User` pointer,
/// an array of them, or an object holding one) names the user, in any of `fields`
/// (parse-server's `addPointerPermissions`). Fields of other types match nothing.
pub fn pointer_permission_filter(schema: &ClassSchema, fields: &[String], user_id: Option<&str>) -> Filter {
    let Some(user_id) = user_id else { return Filter::Or(Vec::new()) };
    let pointer = crate::value::pointer_value("_User", user_id);
    let alternatives = fields
        .iter()
        .filter_map(|field| {
            let constraint = match schema.field_type(field)? {
                FieldType::Pointer { .. } | FieldType::Object => Constraint::Eq(pointer.clone()),
                FieldType::Array => Constraint::All(vec![pointer.clone()]),
                _ => return None,
            };
            Some(Filter::Field { path: FieldPath::top(field), constraint })
        })
        .collect();
    Filter::Or(alternatives)
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
    fn pointer_permissions_match_the_users_pointers_and_arrays() {
        let mut schema = ClassSchema::new("Note");
        schema.set_field(
            "owner",
            crate::schema::FieldSpec::of(FieldType::Pointer { target_class: "_User".into() }),
        );
        schema.set_field("editors", crate::schema::FieldSpec::of(FieldType::Array));
        schema.set_field("title", crate::schema::FieldSpec::of(FieldType::String));
        let fields = vec!["owner".to_string(), "editors".to_string(), "title".to_string()];
        let Filter::Or(alternatives) = pointer_permission_filter(&schema, &fields, Some("u1")) else {
            panic!("an Or of the pointer fields");
        };
        assert_eq!(alternatives.len(), 2, "a String field names nobody");
        let me = json!({"__type": "Pointer", "className": "_User", "objectId": "u1"});
        let mine = json!({"owner": me, "editors": []}).as_object().unwrap().clone();
        let shared = json!({"editors": [me]}).as_object().unwrap().clone();
        let other = json!({"owner": {"__type": "Pointer", "className": "_User", "objectId": "u2"}})
            .as_object()
            .unwrap()
            .clone();
        let filter = pointer_permission_filter(&schema, &fields, Some("u1"));
        assert!(crate::matcher::matches(&filter, &mine) && crate::matcher::matches(&filter, &shared));
        assert!(!crate::matcher::matches(&filter, &other));
        assert_eq!(pointer_permission_filter(&schema, &fields, None), Filter::Or(Vec::new()));
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
        assert_eq!(check(Operation::Update), Ok(Permission::OwnObjectsOnly { fields: vec!["owner".into()] }));
        let admin = vec!["*".to_string(), "role:admin".to_string()];
        assert_eq!(check_class_permission(&clp, Operation::Create, "Note", &admin), Ok(Permission::Granted));
    }
}
