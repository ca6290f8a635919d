//! Update operators (`{"__op": "Increment" | "Add" | …}`): parsed from a request body into
//! [`FieldUpdate`]s and applied to an object by [`apply_updates`], a pure function. Storage
//! adapters call it inside their write transaction, which makes each update atomic.

use serde_json::{Map, Number, Value};

use crate::error::{ParseError, ParseResult};
use crate::query::FieldPath;
use crate::value::{Object, pointer_parts, values_equal};

/// A change to one path of an object.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldUpdate {
    Set(Value),
    Delete,
    Increment(Number),
    Add(Vec<Value>),
    AddUnique(Vec<Value>),
    Remove(Vec<Value>),
    /// Relation changes, stored in the `_Join` table rather than in the object.
    Relation(RelationChange),
}

/// Pointers to add to and remove from a relation field.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RelationChange {
    pub target_class: String,
    pub add: Vec<String>,
    pub remove: Vec<String>,
}

/// The updates of one write, in request order.
pub type Updates = Vec<(FieldPath, FieldUpdate)>;

/// Reads a body value: plain values are `Set`, `{"__op": …}` are operators.
pub fn parse_field_update(value: &Value) -> ParseResult<FieldUpdate> {
    let Some(op) = value.as_object().and_then(|map| map.get("__op")).and_then(Value::as_str) else {
        return Ok(FieldUpdate::Set(value.clone()));
    };
    let objects = || -> ParseResult<Vec<Value>> {
        match value.get("objects") {
            Some(Value::Array(objects)) => Ok(objects.clone()),
            _ => Err(ParseError::invalid_json("objects to add must be an array")),
        }
    };
    Ok(match op {
        "Delete" => FieldUpdate::Delete,
        "Increment" => match value.get("amount") {
            Some(Value::Number(amount)) => FieldUpdate::Increment(amount.clone()),
            _ => {
                return Err(ParseError::invalid_json("incrementing must provide a number"));
            }
        },
        "Add" => FieldUpdate::Add(objects()?),
        "AddUnique" => FieldUpdate::AddUnique(objects()?),
        "Remove" => FieldUpdate::Remove(objects()?),
        "AddRelation" | "RemoveRelation" => {
            let mut change = RelationChange::default();
            add_relation_objects(&mut change, op == "AddRelation", &objects()?)?;
            FieldUpdate::Relation(change)
        }
        "Batch" => {
            let Some(ops) = value.get("ops").and_then(Value::as_array) else {
                return Err(ParseError::invalid_json("Batch needs ops"));
            };
            let mut change = RelationChange::default();
            for inner in ops {
                match parse_field_update(inner)? {
                    FieldUpdate::Relation(part) => merge_relation(&mut change, part)?,
                    _ => {
                        return Err(ParseError::invalid_json(
                            "Batch supports only AddRelation and RemoveRelation",
                        ));
                    }
                }
            }
            FieldUpdate::Relation(change)
        }
        other => {
            return Err(ParseError::invalid_json(format!("The {other} operator is not supported yet.")));
        }
    })
}

fn add_relation_objects(change: &mut RelationChange, adding: bool, objects: &[Value]) -> ParseResult<()> {
    for object in objects {
        let Some((class_name, object_id)) = pointer_parts(object) else {
            return Err(ParseError::new(
                crate::error::ErrorCode::InvalidPointer,
                "relation objects must be pointers",
            ));
        };
        if change.target_class.is_empty() {
            change.target_class = class_name.to_string();
        } else if change.target_class != class_name {
            return Err(ParseError::incorrect_type("relation objects must all be of one class"));
        }
        let list = if adding { &mut change.add } else { &mut change.remove };
        list.push(object_id.to_string());
    }
    Ok(())
}

fn merge_relation(into: &mut RelationChange, part: RelationChange) -> ParseResult<()> {
    if into.target_class.is_empty() {
        into.target_class = part.target_class;
    } else if !part.target_class.is_empty() && into.target_class != part.target_class {
        return Err(ParseError::incorrect_type("relation objects must all be of one class"));
    }
    into.add.extend(part.add);
    into.remove.extend(part.remove);
    Ok(())
}

/// Applies updates to an object in place. Relation changes are skipped (storage writes them to
/// the join table). Fails with 111 when an operator meets a value of the wrong kind.
pub fn apply_updates(object: &mut Object, updates: &Updates) -> ParseResult<()> {
    for (path, update) in updates {
        apply_update(object, path, update)?;
    }
    Ok(())
}

fn apply_update(object: &mut Object, path: &FieldPath, update: &FieldUpdate) -> ParseResult<()> {
    if matches!(update, FieldUpdate::Relation(_)) {
        return Ok(());
    }
    let (container, key) = container_for(object, path)?;
    match update {
        FieldUpdate::Set(value) => {
            container.insert(key.to_string(), value.clone());
        }
        FieldUpdate::Delete => {
            container.remove(key);
        }
        FieldUpdate::Increment(amount) => {
            let current = match container.get(key) {
                None | Some(Value::Null) => None,
                Some(Value::Number(number)) => Some(number.clone()),
                Some(_) => {
                    return Err(ParseError::incorrect_type(format!("Cannot increment a non-number: {path}")));
                }
            };
            container.insert(key.to_string(), Value::Number(add_numbers(current.as_ref(), amount)));
        }
        FieldUpdate::Add(items) | FieldUpdate::AddUnique(items) | FieldUpdate::Remove(items) => {
            let mut array = match container.remove(key) {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(array)) => array,
                Some(_) => {
                    return Err(ParseError::incorrect_type(format!("{path} is not an array")));
                }
            };
            match update {
                FieldUpdate::Add(_) => array.extend(items.iter().cloned()),
                FieldUpdate::AddUnique(_) => {
                    for item in items {
                        if !array.iter().any(|existing| values_equal(existing, item)) {
                            array.push(item.clone());
                        }
                    }
                }
                _ => array.retain(|existing| !items.iter().any(|item| values_equal(existing, item))),
            }
            container.insert(key.to_string(), Value::Array(array));
        }
        FieldUpdate::Relation(_) => {}
    }
    Ok(())
}

/// The map holding the last key of `path`, creating intermediate objects as needed.
fn container_for<'a>(
    object: &'a mut Object,
    path: &'a FieldPath,
) -> ParseResult<(&'a mut Map<String, Value>, &'a str)> {
    let Some((last, middle)) = path.subpath.split_last() else {
        return Ok((object, path.field.as_str()));
    };
    let mut current = object;
    for key in std::iter::once(&path.field).chain(middle) {
        let entry = current.entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
        if entry.is_null() {
            *entry = Value::Object(Map::new());
        }
        current = entry
            .as_object_mut()
            .ok_or_else(|| ParseError::incorrect_type(format!("{path}: {key} is not an object")))?;
    }
    Ok((current, last.as_str()))
}

fn add_numbers(current: Option<&Number>, amount: &Number) -> Number {
    let Some(current) = current else {
        return amount.clone();
    };
    if let (Some(a), Some(b)) = (current.as_i64(), amount.as_i64())
        && let Some(sum) = a.checked_add(b)
    {
        return Number::from(sum);
    }
    let sum = current.as_f64().unwrap_or(0.0) + amount.as_f64().unwrap_or(0.0);
    Number::from_f64(sum).unwrap_or_else(|| Number::from(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn updates(body: Value) -> Updates {
        body.as_object()
            .unwrap()
            .iter()
            .map(|(key, value)| (FieldPath::parse(key), parse_field_update(value).unwrap()))
            .collect()
    }

    fn apply(object: Value, body: Value) -> Value {
        let mut object = object.as_object().unwrap().clone();
        apply_updates(&mut object, &updates(body)).unwrap();
        Value::Object(object)
    }

    #[test]
    fn applies_each_operator() {
        assert_eq!(apply(json!({"n": 1}), json!({"n": {"__op": "Increment", "amount": 2}})), json!({"n": 3}));
        assert_eq!(apply(json!({}), json!({"n": {"__op": "Increment", "amount": 1.5}})), json!({"n": 1.5}));
        assert_eq!(
            apply(json!({"a": [1]}), json!({"a": {"__op": "Add", "objects": [1, 2]}})),
            json!({"a": [1, 1, 2]})
        );
        assert_eq!(
            apply(json!({"a": [1]}), json!({"a": {"__op": "AddUnique", "objects": [1, 2]}})),
            json!({"a": [1, 2]})
        );
        assert_eq!(
            apply(json!({"a": [1, 2, 1]}), json!({"a": {"__op": "Remove", "objects": [1]}})),
            json!({"a": [2]})
        );
        assert_eq!(apply(json!({"a": 1, "b": 2}), json!({"a": {"__op": "Delete"}})), json!({"b": 2}));
        assert_eq!(apply(json!({"o": {"x": 1}}), json!({"o.y.z": 2})), json!({"o": {"x": 1, "y": {"z": 2}}}));
        assert_eq!(
            apply(json!({"o": {"x": 1}}), json!({"o.x": {"__op": "Increment", "amount": 1}})),
            json!({"o": {"x": 2}})
        );
    }

    #[test]
    fn parses_relation_batches() {
        let pointer = |id: &str| json!({"__type": "Pointer", "className": "B", "objectId": id});
        let update = parse_field_update(&json!({"__op": "Batch", "ops": [
            {"__op": "AddRelation", "objects": [pointer("x")]},
            {"__op": "RemoveRelation", "objects": [pointer("y")]},
        ]}))
        .unwrap();
        assert_eq!(
            update,
            FieldUpdate::Relation(RelationChange {
                target_class: "B".into(),
                add: vec!["x".into()],
                remove: vec!["y".into()]
            })
        );
    }

    #[test]
    fn rejects_wrong_kinds() {
        let mut object = json!({"s": "text"}).as_object().unwrap().clone();
        let error = apply_updates(&mut object, &updates(json!({"s": {"__op": "Increment", "amount": 1}})))
            .unwrap_err();
        assert_eq!(error.code, crate::error::ErrorCode::IncorrectType);
        assert!(parse_field_update(&json!({"__op": "Increment", "amount": "1"})).is_err());
        assert!(parse_field_update(&json!({"__op": "Explode"})).is_err());
        assert!(parse_field_update(&json!({"__op": "Add", "objects": 1})).is_err());
    }
}
