//! The `"schema"` JSON of `_SCHEMA` rows, both ways, so that rows written by parse-server and
//! rows written by Reparse read the same.
//!
//! parse-server stores a class's schema as its PostgreSQL adapter's `toPostgresSchema` leaves
//! it: `fields` lists `_rperm`/`_wperm` (`{"type": "Array", "contents": …}`) and, for `_User`,
//! `_hashed_password`; the default fields of the class may be missing (`ACL` always is);
//! `classLevelPermissions` is absent until one is set; `indexes` is absent until one is added,
//! then also lists `_id_`. When parse-server reads a row it drops those internal fields,
//! reports the default class-level permissions when none are stored and merges stored ones
//! over empty grants (`toParseSchema`), and puts the default fields first
//! (`injectDefaultSchema`). [`schema_from_stored`] does the same.
//!
//! Reparse writes `ClassSchema::to_json` plus one key of its own, `reparseOrder`: jsonb sorts
//! object keys, and the order of fields and of an index's keys is worth keeping (an index on
//! `(s, n)` is not one on `(n, s)`). parse-server reads only the keys it knows and its partial
//! updates (`jsonb_set` of one field, of the permissions, of the indexes) keep the others, so
//! the key survives it; a field parse-server adds is not in the recorded order and comes after
//! the ones that are.

use reparse_core::ParseResult;
use reparse_core::schema::{ClassSchema, FieldSpec, default_fields, internal_fields};
use serde_json::{Map, Value, json};

use crate::columns::{READ_PERMISSIONS, WRITE_PERMISSIONS};

/// Where Reparse records the order of fields and of index keys.
const ORDER_KEY: &str = "reparseOrder";

/// The operations of a class-level permission, in parse-server's order; a stored permission
/// object that leaves one out grants it to nobody (parse-server's `emptyCLPS`).
const CLP_OPERATIONS: [&str; 8] =
    ["find", "get", "count", "create", "update", "delete", "addField", "protectedFields"];

/// The `_SCHEMA` JSON Reparse writes for a class.
pub(crate) fn stored_schema_json(schema: &ClassSchema) -> Value {
    let mut json = schema.to_json();
    let key_order = |value: &Value| -> Value {
        value.as_object().map_or(Value::Null, |map| map.keys().cloned().map(Value::String).collect())
    };
    if let Some(map) = json.as_object_mut() {
        let fields = map.get("fields").map_or(Value::Null, key_order);
        let indexes: Map<String, Value> = map
            .get("indexes")
            .and_then(Value::as_object)
            .map(|indexes| indexes.iter().map(|(name, keys)| (name.clone(), key_order(keys))).collect())
            .unwrap_or_default();
        map.insert(ORDER_KEY.to_string(), json!({"fields": fields, "indexes": indexes}));
    }
    json
}

/// A class's schema from its `_SCHEMA` row, whoever wrote it.
pub(crate) fn schema_from_stored(json: Value) -> ParseResult<ClassSchema> {
    let mut json = restore_schema_order(json);
    if let Some(map) = json.as_object_mut()
        && let Some(Value::Object(stored)) = map.get_mut("classLevelPermissions")
    {
        let mut merged = Map::new();
        for operation in CLP_OPERATIONS {
            merged.insert(operation.to_string(), stored.remove(operation).unwrap_or_else(|| json!({})));
        }
        merged.append(stored);
        *stored = merged;
    }
    let mut schema = ClassSchema::from_json(&json)?;
    let internal = internal_fields(&schema.class_name);
    schema.fields.retain(|(name, _)| {
        name != READ_PERMISSIONS
            && name != WRITE_PERMISSIONS
            && !internal.iter().any(|(internal_name, _)| internal_name == name)
    });
    let mut fields: Vec<(String, FieldSpec)> = Vec::with_capacity(schema.fields.len() + 4);
    for (name, default) in default_fields(&schema.class_name) {
        let spec = schema.remove_field(&name).unwrap_or(default);
        fields.push((name, spec));
    }
    fields.append(&mut schema.fields);
    schema.fields = fields;
    Ok(schema)
}

/// Puts back the order [`stored_schema_json`] recorded (keys it does not list keep jsonb's).
fn restore_schema_order(mut json: Value) -> Value {
    let Some(map) = json.as_object_mut() else { return json };
    let Some(order) = map.remove(ORDER_KEY) else { return json };
    fn reorder(value: &mut Value, order: Option<&Value>) {
        let (Some(map), Some(order)) = (value.as_object_mut(), order.and_then(Value::as_array)) else {
            return;
        };
        let mut ordered = Map::new();
        for key in order.iter().filter_map(Value::as_str) {
            if let Some(entry) = map.remove(key) {
                ordered.insert(key.to_string(), entry);
            }
        }
        ordered.append(map);
        *map = ordered;
    }
    if let Some(fields) = map.get_mut("fields") {
        reorder(fields, order.get("fields"));
    }
    if let Some(indexes) = map.get_mut("indexes").and_then(Value::as_object_mut) {
        for (name, keys) in indexes.iter_mut() {
            reorder(keys, order.get("indexes").and_then(|indexes| indexes.get(name)));
        }
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;
    use reparse_core::schema::{FieldType, default_class_level_permissions};

    fn field_names(schema: &ClassSchema) -> Vec<&str> {
        schema.fields.iter().map(|(name, _)| name.as_str()).collect()
    }

    /// A `_User` row as parse-server 8 writes it at start-up (keys in jsonb's order).
    #[test]
    fn reads_parse_servers_rows_as_parse_server_does() {
        let stored = json!({
            "fields": {
                "email": {"type": "String"},
                "_rperm": {"type": "Array", "contents": {"type": "String"}},
                "_wperm": {"type": "Array", "contents": {"type": "String"}},
                "authData": {"type": "Object"},
                "objectId": {"type": "String"},
                "username": {"type": "String"},
                "createdAt": {"type": "Date"},
                "updatedAt": {"type": "Date"},
                "nickname": {"type": "String"},
                "emailVerified": {"type": "Boolean"},
                "_hashed_password": {"type": "String"}
            },
            "className": "_User"
        });
        let schema = schema_from_stored(stored).unwrap();
        assert_eq!(
            field_names(&schema),
            [
                "objectId",
                "createdAt",
                "updatedAt",
                "ACL",
                "username",
                "password",
                "email",
                "emailVerified",
                "authData",
                "nickname"
            ]
        );
        assert_eq!(schema.field_type("ACL"), Some(&FieldType::Acl));
        assert_eq!(schema.class_level_permissions, default_class_level_permissions());
        assert!(schema.indexes.is_empty());
    }

    #[test]
    fn a_stored_permission_object_grants_only_what_it_lists() {
        let stored = json!({
            "className": "Thing",
            "fields": {"label": {"type": "String"}},
            "classLevelPermissions": {"find": {"*": true}, "readUserFields": ["owner"]},
            "indexes": {"_id_": {"_id": 1}, "by_label": {"label": 1}}
        });
        let schema = schema_from_stored(stored).unwrap();
        assert_eq!(
            schema.class_level_permissions,
            json!({
                "find": {"*": true}, "get": {}, "count": {}, "create": {}, "update": {}, "delete": {},
                "addField": {}, "protectedFields": {}, "readUserFields": ["owner"]
            })
        );
        let keys: Vec<&String> = schema.class_level_permissions.as_object().unwrap().keys().collect();
        assert_eq!(keys.first().map(|key| key.as_str()), Some("find"));
        assert_eq!(schema.indexes.len(), 2);
    }

    #[test]
    fn reparses_rows_keep_their_order_and_fields_added_by_parse_server_come_last() {
        let mut schema = ClassSchema::new("Thing");
        schema.set_field("zeta", FieldSpec::of(FieldType::String));
        schema.set_field("alpha", FieldSpec::of(FieldType::Number));
        schema.indexes.insert("by_zeta_alpha".into(), json!({"zeta": 1, "alpha": -1}));
        let mut stored = stored_schema_json(&schema);
        assert!(stored.get(ORDER_KEY).is_some());
        // jsonb gives the keys back in another order; parse-server's addFieldIfNotExists
        // jsonb_sets one more field.
        let reversed = |value: &Value| -> Value {
            Value::Object(
                value.as_object().unwrap().iter().rev().map(|(k, v)| (k.clone(), v.clone())).collect(),
            )
        };
        stored["fields"] = reversed(&stored["fields"]);
        stored["indexes"]["by_zeta_alpha"] = reversed(&stored["indexes"]["by_zeta_alpha"]);
        stored["fields"]["added"] = json!({"type": "Boolean"});
        let read = schema_from_stored(stored).unwrap();
        assert_eq!(
            field_names(&read),
            ["objectId", "createdAt", "updatedAt", "ACL", "zeta", "alpha", "added"]
        );
        let index_keys: Vec<&String> = read.indexes["by_zeta_alpha"].as_object().unwrap().keys().collect();
        assert_eq!(index_keys, ["zeta", "alpha"]);
        assert_eq!(read.class_level_permissions, schema.class_level_permissions);
    }
}
