//! What an object read from an archive may hold before it is handed to storage: the stored form
//! an export writes, checked against the class's schema from the same archive, so a bad line is
//! reported by name and line instead of surfacing as a database error (or, worse, being stored).

use reparse_core::schema::{ClassSchema, FieldType, InternalFieldType, infer_type, internal_fields};
use reparse_core::value::{Object, parse_date};
use reparse_storage::columns::{CREATED_AT, OBJECT_ID, READ_PERMISSIONS, UPDATED_AT, WRITE_PERMISSIONS};
use serde_json::Value;

/// Checks one stored object of `schema`'s class; the error says which field is wrong and why.
pub(crate) fn check_stored_object(schema: &ClassSchema, object: &Object) -> Result<(), String> {
    match object.get(OBJECT_ID) {
        Some(Value::String(id)) if !id.is_empty() => {}
        _ => return Err("the object has no objectId".into()),
    }
    for (field, value) in object {
        if value.is_null() {
            continue;
        }
        check_field(schema, field, value).map_err(|reason| format!("field {field}: {reason}"))?;
    }
    Ok(())
}

fn check_field(schema: &ClassSchema, field: &str, value: &Value) -> Result<(), String> {
    match field {
        OBJECT_ID => Ok(()),
        CREATED_AT | UPDATED_AT => check_date_text(value),
        READ_PERMISSIONS | WRITE_PERMISSIONS => match value {
            Value::Array(entries) if entries.iter().all(Value::is_string) => Ok(()),
            _ => Err("a permission list is an array of strings".into()),
        },
        "ACL" => Err("ACLs are stored as _rperm and _wperm".into()),
        _ => {
            if let Some((_, internal)) =
                internal_fields(&schema.class_name).iter().find(|(name, _)| *name == field)
            {
                return check_internal(*internal, value);
            }
            let Some(expected) = schema.field_type(field) else {
                return Err(format!("{} has no such field in the archive's schema", schema.class_name));
            };
            check_value(expected, value)
        }
    }
}

fn check_value(expected: &FieldType, value: &Value) -> Result<(), String> {
    if matches!(expected, FieldType::Relation { .. }) {
        return Err("relations are stored under relations/, not in objects".into());
    }
    if value.get("__op").is_some() {
        return Err("an operation is not a stored value".into());
    }
    let actual = infer_type(value).map_err(|error| error.message)?;
    match actual {
        Some(actual) if &actual != expected => {
            Err(format!("expected {} but got {}", expected.describe(), actual.describe()))
        }
        _ if *expected == FieldType::Date => check_date_text(&value["iso"]),
        _ => Ok(()),
    }
}

fn check_internal(expected: InternalFieldType, value: &Value) -> Result<(), String> {
    match expected {
        // Internal dates are stored as plain ISO strings or as Parse dates, by adapter.
        InternalFieldType::Date => match value {
            Value::String(_) => check_date_text(value),
            _ => check_value(&FieldType::Date, value),
        },
        other => check_value(&other.field_type(), value),
    }
}

fn check_date_text(value: &Value) -> Result<(), String> {
    let iso = value.as_str().ok_or("a date is an ISO-8601 string")?;
    parse_date(iso).map(|_| ()).map_err(|error| error.message)
}

#[cfg(test)]
mod tests {
    use reparse_core::schema::FieldSpec;
    use serde_json::json;

    use super::*;

    fn schema() -> ClassSchema {
        let mut schema = ClassSchema::new("Game");
        schema.set_field("score", FieldSpec::of(FieldType::Number));
        schema.set_field("when", FieldSpec::of(FieldType::Date));
        schema.set_field("players", FieldSpec::of(FieldType::Relation { target_class: "_User".into() }));
        schema
    }

    fn object(value: Value) -> Object {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn accepts_the_stored_form() {
        let stored = object(json!({
            "objectId": "a1", "createdAt": "2026-01-02T03:04:05.678Z", "updatedAt": "2026-01-02T03:04:05.678Z",
            "_rperm": ["*"], "_wperm": [], "score": 3, "when": {"__type": "Date", "iso": "2026-01-02T00:00:00.000Z"},
        }));
        assert_eq!(check_stored_object(&schema(), &stored), Ok(()));
        let user = object(
            json!({"objectId": "u1", "username": "ann", "_hashed_password": "$2b$10$x", "_failed_login_count": 2}),
        );
        assert_eq!(check_stored_object(&ClassSchema::new("_User"), &user), Ok(()));
    }

    #[test]
    fn names_what_is_wrong() {
        let check = |value: Value| check_stored_object(&schema(), &object(value)).unwrap_err();
        assert_eq!(check(json!({"score": 1})), "the object has no objectId");
        assert_eq!(
            check(json!({"objectId": "a", "score": "3"})),
            "field score: expected Number but got String"
        );
        assert!(check(json!({"objectId": "a", "nope": 1})).contains("no such field"));
        assert!(check(json!({"objectId": "a", "players": []})).contains("relations are stored"));
        assert!(
            check(json!({"objectId": "a", "when": {"__type": "Date", "iso": "soon"}}))
                .starts_with("field when")
        );
        assert!(check(json!({"objectId": "a", "createdAt": 5})).contains("ISO-8601"));
        assert!(check(json!({"objectId": "a", "_rperm": [1]})).contains("array of strings"));
        assert!(check(json!({"objectId": "a", "ACL": {}})).contains("_rperm"));
        assert!(
            check(json!({"objectId": "a", "score": {"__op": "Increment", "amount": 1}}))
                .contains("operation")
        );
    }
}
