//! Class schemas: field types, the default fields of Parse's system classes, name rules and
//! the inference of a field's type from a value written to it.

use serde_json::{Map, Value, json};

use crate::error::{ErrorCode, ParseError, ParseResult};

/// The type of a field, as `/schemas` spells it (`{"type": "Pointer", "targetClass": "X"}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldType {
    String,
    Number,
    Boolean,
    Date,
    Object,
    Array,
    Pointer { target_class: String },
    Relation { target_class: String },
    File,
    GeoPoint,
    Polygon,
    Bytes,
    Acl,
}

impl FieldType {
    /// The name used in `/schemas` and in error messages.
    pub fn name(&self) -> &'static str {
        match self {
            FieldType::String => "String",
            FieldType::Number => "Number",
            FieldType::Boolean => "Boolean",
            FieldType::Date => "Date",
            FieldType::Object => "Object",
            FieldType::Array => "Array",
            FieldType::Pointer { .. } => "Pointer",
            FieldType::Relation { .. } => "Relation",
            FieldType::File => "File",
            FieldType::GeoPoint => "GeoPoint",
            FieldType::Polygon => "Polygon",
            FieldType::Bytes => "Bytes",
            FieldType::Acl => "ACL",
        }
    }

    /// `Pointer<_User>`-style text used by parse-server's mismatch messages.
    pub fn describe(&self) -> String {
        match self {
            FieldType::Pointer { target_class } => format!("Pointer<{target_class}>"),
            FieldType::Relation { target_class } => format!("Relation<{target_class}>"),
            other => other.name().to_string(),
        }
    }

    pub fn target_class(&self) -> Option<&str> {
        match self {
            FieldType::Pointer { target_class } | FieldType::Relation { target_class } => Some(target_class),
            _ => None,
        }
    }

    /// Parses `{"type": "...", "targetClass": "..."}`.
    pub fn from_json(value: &Value) -> ParseResult<FieldType> {
        let Some(type_name) = value.get("type").and_then(Value::as_str) else {
            return Err(ParseError::new(
                ErrorCode::InvalidJson,
                "invalid JSON: field type must be an object with a \"type\" string",
            ));
        };
        let target = || -> ParseResult<String> {
            match value.get("targetClass").and_then(Value::as_str) {
                Some(target) if class_name_is_valid(target) => Ok(target.to_string()),
                Some(target) => {
                    Err(ParseError::new(ErrorCode::InvalidJson, invalid_class_name_message(target)))
                }
                None => Err(ParseError::new(
                    ErrorCode::MissingObjectId,
                    format!("type {type_name} needs a class name"),
                )),
            }
        };
        Ok(match type_name {
            "String" => FieldType::String,
            "Number" => FieldType::Number,
            "Boolean" => FieldType::Boolean,
            "Date" => FieldType::Date,
            "Object" => FieldType::Object,
            "Array" => FieldType::Array,
            "File" => FieldType::File,
            "GeoPoint" => FieldType::GeoPoint,
            "Polygon" => FieldType::Polygon,
            "Bytes" => FieldType::Bytes,
            "ACL" => FieldType::Acl,
            "Pointer" => FieldType::Pointer { target_class: target()? },
            "Relation" => FieldType::Relation { target_class: target()? },
            other => {
                return Err(ParseError::incorrect_type(format!("invalid field type: {other}")));
            }
        })
    }

    pub fn to_json(&self) -> Value {
        match self.target_class() {
            Some(target) => json!({"type": self.name(), "targetClass": target}),
            None => json!({"type": self.name()}),
        }
    }
}

/// A field of a class: its type plus the optional `required` flag and `defaultValue`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    pub field_type: FieldType,
    pub required: bool,
    pub default_value: Option<Value>,
}

impl FieldSpec {
    pub fn of(field_type: FieldType) -> FieldSpec {
        FieldSpec { field_type, required: false, default_value: None }
    }

    pub fn from_json(value: &Value) -> ParseResult<FieldSpec> {
        let field_type = FieldType::from_json(value)?;
        let required = value.get("required").and_then(Value::as_bool).unwrap_or(false);
        let default_value = value.get("defaultValue").filter(|v| !v.is_null()).cloned();
        if let Some(default) = &default_value {
            let default_type = infer_type(default)?;
            if default_type.as_ref().is_some_and(|t| !types_compatible(t, &field_type)) {
                return Err(ParseError::incorrect_type(format!(
                    "schema mismatch for default value; expected {} but got {}",
                    field_type.describe(),
                    default_type.map(|t| t.describe()).unwrap_or_default()
                )));
            }
        }
        Ok(FieldSpec { field_type, required, default_value })
    }

    pub fn to_json(&self) -> Value {
        let mut out = self.field_type.to_json();
        if self.required {
            out["required"] = Value::Bool(true);
        }
        if let Some(default) = &self.default_value {
            out["defaultValue"] = default.clone();
        }
        out
    }
}

/// The schema of one class, as stored in `_SCHEMA` and shown by `/schemas`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassSchema {
    pub class_name: String,
    /// Fields in declaration order, defaults first.
    pub fields: Vec<(String, FieldSpec)>,
    /// Class-level permissions, kept as Parse's JSON (enforced in a later layer).
    pub class_level_permissions: Value,
    /// Index name → `{field: 1 | -1 | "text"}`.
    pub indexes: Map<String, Value>,
}

impl ClassSchema {
    /// A new class with the default fields Parse gives it.
    pub fn new(class_name: &str) -> ClassSchema {
        let fields = default_fields(class_name);
        ClassSchema {
            class_name: class_name.to_string(),
            fields,
            class_level_permissions: default_class_level_permissions(),
            indexes: Map::new(),
        }
    }

    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|(field, _)| field == name).map(|(_, spec)| spec)
    }

    pub fn field_type(&self, name: &str) -> Option<&FieldType> {
        self.field(name).map(|spec| &spec.field_type)
    }

    /// Adds or replaces a field, keeping declaration order.
    pub fn set_field(&mut self, name: &str, spec: FieldSpec) {
        match self.fields.iter_mut().find(|(field, _)| field == name) {
            Some((_, existing)) => *existing = spec,
            None => self.fields.push((name.to_string(), spec)),
        }
    }

    pub fn remove_field(&mut self, name: &str) -> Option<FieldSpec> {
        let position = self.fields.iter().position(|(field, _)| field == name)?;
        Some(self.fields.remove(position).1)
    }

    /// Fields that hold relations (stored in `_Join` tables, not in columns).
    pub fn relation_fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().filter_map(|(name, spec)| match &spec.field_type {
            FieldType::Relation { target_class } => Some((name.as_str(), target_class.as_str())),
            _ => None,
        })
    }

    /// The `/schemas` representation.
    pub fn to_json(&self) -> Value {
        let mut fields = Map::new();
        for (name, spec) in &self.fields {
            fields.insert(name.clone(), spec.to_json());
        }
        let mut out = json!({
            "className": self.class_name,
            "fields": fields,
            "classLevelPermissions": self.class_level_permissions,
        });
        if !self.indexes.is_empty() {
            out["indexes"] = Value::Object(self.indexes.clone());
        }
        out
    }

    /// Reads the representation written by [`ClassSchema::to_json`].
    pub fn from_json(value: &Value) -> ParseResult<ClassSchema> {
        let class_name = value
            .get("className")
            .and_then(Value::as_str)
            .ok_or_else(|| ParseError::invalid_json("schema without className"))?;
        let mut fields = Vec::new();
        if let Some(map) = value.get("fields").and_then(Value::as_object) {
            for (name, spec) in map {
                fields.push((name.clone(), FieldSpec::from_json(spec)?));
            }
        }
        Ok(ClassSchema {
            class_name: class_name.to_string(),
            fields,
            class_level_permissions: value
                .get("classLevelPermissions")
                .cloned()
                .unwrap_or_else(default_class_level_permissions),
            indexes: value.get("indexes").and_then(Value::as_object).cloned().unwrap_or_default(),
        })
    }
}

/// Parse's open-to-everyone class-level permissions.
pub fn default_class_level_permissions() -> Value {
    json!({
        "find": {"*": true},
        "count": {"*": true},
        "get": {"*": true},
        "create": {"*": true},
        "update": {"*": true},
        "delete": {"*": true},
        "addField": {"*": true},
        "protectedFields": {"*": []}
    })
}

/// The fields every class has.
pub const BASE_FIELDS: [&str; 4] = ["objectId", "createdAt", "updatedAt", "ACL"];

/// Parse's system classes that clients may use by name.
pub const SYSTEM_CLASSES: [&str; 12] = [
    "_User",
    "_Installation",
    "_Role",
    "_Session",
    "_Product",
    "_PushStatus",
    "_JobStatus",
    "_JobSchedule",
    "_Audience",
    "_Idempotency",
    "_GlobalConfig",
    "_Hooks",
];

/// System classes parse-server keeps without a `_SCHEMA` row (its "volatile" classes), which
/// `GET /schemas` therefore never lists, though each answers `GET /schemas/<name>` and its own
/// routes. Reparse stores their schemas like any other and leaves them out of the list alike.
pub const UNLISTED_CLASSES: [&str; 7] =
    ["_Hooks", "_JobStatus", "_JobSchedule", "_PushStatus", "_GlobalConfig", "_Audience", "_Idempotency"];

/// The default fields of a class (parse-server's `defaultColumns`).
pub fn default_fields(class_name: &str) -> Vec<(String, FieldSpec)> {
    let string = || FieldSpec::of(FieldType::String);
    let mut fields = vec![
        ("objectId".to_string(), string()),
        ("createdAt".to_string(), FieldSpec::of(FieldType::Date)),
        ("updatedAt".to_string(), FieldSpec::of(FieldType::Date)),
        ("ACL".to_string(), FieldSpec::of(FieldType::Acl)),
    ];
    let extra: Vec<(&str, FieldType)> = match class_name {
        "_User" => vec![
            ("username", FieldType::String),
            ("password", FieldType::String),
            ("email", FieldType::String),
            ("emailVerified", FieldType::Boolean),
            ("authData", FieldType::Object),
        ],
        "_Installation" => vec![
            ("installationId", FieldType::String),
            ("deviceToken", FieldType::String),
            ("channels", FieldType::Array),
            ("deviceType", FieldType::String),
            ("pushType", FieldType::String),
            ("GCMSenderId", FieldType::String),
            ("timeZone", FieldType::String),
            ("localeIdentifier", FieldType::String),
            ("badge", FieldType::Number),
            ("appVersion", FieldType::String),
            ("appName", FieldType::String),
            ("appIdentifier", FieldType::String),
            ("parseVersion", FieldType::String),
        ],
        "_Role" => vec![
            ("name", FieldType::String),
            ("users", FieldType::Relation { target_class: "_User".into() }),
            ("roles", FieldType::Relation { target_class: "_Role".into() }),
        ],
        // parse-server 8 dropped `restricted` (older versions stored `false` there); a stored
        // schema that has it keeps it.
        "_Session" => vec![
            ("user", FieldType::Pointer { target_class: "_User".into() }),
            ("installationId", FieldType::String),
            ("sessionToken", FieldType::String),
            ("expiresAt", FieldType::Date),
            ("createdWith", FieldType::Object),
        ],
        "_JobStatus" => vec![
            ("jobName", FieldType::String),
            ("source", FieldType::String),
            ("status", FieldType::String),
            ("message", FieldType::String),
            ("params", FieldType::Object),
            ("finishedAt", FieldType::Date),
        ],
        "_Hooks" => vec![
            ("functionName", FieldType::String),
            ("className", FieldType::String),
            ("triggerName", FieldType::String),
            ("url", FieldType::String),
        ],
        // Parse Config: the one object (id "1") `/config` reads and writes.
        "_GlobalConfig" => vec![("params", FieldType::Object), ("masterKeyOnly", FieldType::Object)],
        // parse-dashboard's schedules: times and parameters as text, as it writes them.
        "_JobSchedule" => vec![
            ("jobName", FieldType::String),
            ("description", FieldType::String),
            ("params", FieldType::String),
            ("startAfter", FieldType::String),
            ("daysOfWeek", FieldType::Array),
            ("timeOfDay", FieldType::String),
            ("lastRun", FieldType::Number),
            ("repeatMinutes", FieldType::Number),
        ],
        _ => vec![],
    };
    fields.extend(extra.into_iter().map(|(name, t)| (name.to_string(), FieldSpec::of(t))));
    fields
}

/// Columns a class's table has beyond its schema's fields: what parse-server keeps of a user
/// besides the fields clients see (password hash, verification and reset tokens, lockout and
/// password-policy state). They never appear in `/schemas` and never leave the server.
pub fn internal_fields(class_name: &str) -> &'static [(&'static str, InternalFieldType)] {
    use InternalFieldType::{Array, Date, Number, String};
    match class_name {
        "_User" => &[
            ("_hashed_password", String),
            ("_email_verify_token", String),
            ("_email_verify_token_expires_at", Date),
            ("_perishable_token", String),
            ("_perishable_token_expires_at", Date),
            ("_failed_login_count", Number),
            ("_account_lockout_expires_at", Date),
            ("_password_changed_at", Date),
            ("_password_history", Array),
        ],
        _ => &[],
    }
}

/// The type of an [`internal_fields`] column (a subset of [`FieldType`] that can be `const`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InternalFieldType {
    String,
    Date,
    Number,
    Array,
}

impl InternalFieldType {
    pub fn field_type(self) -> FieldType {
        match self {
            InternalFieldType::String => FieldType::String,
            InternalFieldType::Date => FieldType::Date,
            InternalFieldType::Number => FieldType::Number,
            InternalFieldType::Array => FieldType::Array,
        }
    }
}

/// An index every adapter keeps on a system class, whatever its schema says: the unique
/// usernames, emails and role names Parse promises, and the lookups sign-in depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemIndex {
    /// A name unique within the class.
    pub name: &'static str,
    pub field: &'static str,
    pub unique: bool,
    /// On the field's case-folded value (what `Constraint::EqIgnoringCase` compares).
    pub case_insensitive: bool,
}

/// The [`SystemIndex`]es of a class.
pub fn system_indexes(class_name: &str) -> &'static [SystemIndex] {
    const fn index(
        name: &'static str,
        field: &'static str,
        unique: bool,
        case_insensitive: bool,
    ) -> SystemIndex {
        SystemIndex { name, field, unique, case_insensitive }
    }
    const USER: [SystemIndex; 4] = [
        index("unique_username", "username", true, false),
        index("unique_email", "email", true, false),
        index("case_insensitive_username", "username", true, true),
        index("case_insensitive_email", "email", true, true),
    ];
    const SESSION: [SystemIndex; 2] =
        [index("session_token", "sessionToken", true, false), index("session_user", "user", false, false)];
    const ROLE: [SystemIndex; 1] = [index("unique_name", "name", true, false)];
    match class_name {
        "_User" => &USER,
        "_Session" => &SESSION,
        "_Role" => &ROLE,
        _ => &[],
    }
}

fn is_alnum_underscore_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Whether clients may name a class this (user classes or Parse's system classes).
pub fn class_name_is_valid(class_name: &str) -> bool {
    SYSTEM_CLASSES.contains(&class_name) || is_alnum_underscore_name(class_name)
}

/// parse-server's wording for an invalid class name (code 103).
pub fn invalid_class_name_message(class_name: &str) -> String {
    format!(
        "Invalid classname: {class_name}, classnames can only have alphanumeric characters and _, and must start with an alpha character "
    )
}

pub fn validate_class_name(class_name: &str) -> ParseResult<()> {
    if class_name_is_valid(class_name) {
        Ok(())
    } else {
        Err(ParseError::new(ErrorCode::InvalidClassName, invalid_class_name_message(class_name)))
    }
}

/// Whether a top-level field name is acceptable (`^[A-Za-z][A-Za-z0-9_]*$`).
pub fn field_name_is_valid(field_name: &str) -> bool {
    is_alnum_underscore_name(field_name)
}

/// Infers the type a value would give a new field. `Ok(None)` for values that carry no type
/// (`null`, `{"__op": "Delete"}`).
pub fn infer_type(value: &Value) -> ParseResult<Option<FieldType>> {
    Ok(Some(match value {
        Value::Null => return Ok(None),
        Value::Bool(_) => FieldType::Boolean,
        Value::Number(_) => FieldType::Number,
        Value::String(_) => FieldType::String,
        Value::Array(_) => FieldType::Array,
        Value::Object(map) => {
            if let Some(type_tag) = map.get("__type") {
                return infer_tagged_type(type_tag, map).map(Some);
            }
            if let Some(op) = map.get("__op").and_then(Value::as_str) {
                return infer_operation_type(op, map);
            }
            FieldType::Object
        }
    }))
}

fn infer_tagged_type(type_tag: &Value, map: &Map<String, Value>) -> ParseResult<FieldType> {
    let has = |key: &str| map.contains_key(key);
    let field_type = match type_tag.as_str() {
        Some("Pointer") if has("className") => FieldType::Pointer { target_class: target_class(map)? },
        Some("Relation") if has("className") => FieldType::Relation { target_class: target_class(map)? },
        Some("File") if has("name") => FieldType::File,
        Some("Date") if has("iso") => FieldType::Date,
        Some("GeoPoint") if has("latitude") && has("longitude") => FieldType::GeoPoint,
        Some("Bytes") if has("base64") => FieldType::Bytes,
        Some("Polygon") if has("coordinates") => FieldType::Polygon,
        _ => {
            let name = type_tag.as_str().map(str::to_string).unwrap_or_else(|| type_tag.to_string());
            return Err(ParseError::incorrect_type(format!("This is not a valid {name}")));
        }
    };
    Ok(field_type)
}

/// The `className` a pointer or relation targets; 107 unless it is a valid class name, since a
/// schema naming an impossible class could not be loaded again.
fn target_class(map: &Map<String, Value>) -> ParseResult<String> {
    match map.get("className").and_then(Value::as_str) {
        Some(class_name) if class_name_is_valid(class_name) => Ok(class_name.to_string()),
        other => {
            let shown = other.unwrap_or_default();
            Err(ParseError::new(ErrorCode::InvalidJson, invalid_class_name_message(shown)))
        }
    }
}

fn infer_operation_type(op: &str, map: &Map<String, Value>) -> ParseResult<Option<FieldType>> {
    Ok(match op {
        "Increment" => Some(FieldType::Number),
        "Delete" => None,
        "Add" | "AddUnique" | "Remove" => Some(FieldType::Array),
        "AddRelation" | "RemoveRelation" => {
            let first = map
                .get("objects")
                .and_then(Value::as_array)
                .and_then(|objects| objects.first())
                .and_then(Value::as_object)
                .ok_or_else(|| ParseError::new(ErrorCode::InvalidJson, "relation operation needs objects"))?;
            Some(FieldType::Relation { target_class: target_class(first)? })
        }
        "Batch" => {
            let first = map
                .get("ops")
                .and_then(Value::as_array)
                .and_then(|ops| ops.first())
                .ok_or_else(|| ParseError::invalid_json("Batch operation needs ops"))?;
            return infer_type(first);
        }
        other => {
            return Err(ParseError::new(ErrorCode::InvalidJson, format!("unexpected op: {other}")));
        }
    })
}

/// Whether a value of `actual` type may be stored in a field of `expected` type.
pub fn types_compatible(actual: &FieldType, expected: &FieldType) -> bool {
    actual == expected
}

/// The error for writing a value of the wrong type (code 111), in parse-server's words.
pub fn type_mismatch(class_name: &str, field: &str, expected: &FieldType, got: &FieldType) -> ParseError {
    ParseError::incorrect_type(format!(
        "schema mismatch for {class_name}.{field}; expected {} but got {}",
        expected.describe(),
        got.describe()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_types_from_parse_encodings() {
        let cases = [
            (json!(1.5), Some("Number")),
            (json!("x"), Some("String")),
            (json!(true), Some("Boolean")),
            (json!([1]), Some("Array")),
            (json!({"a": 1}), Some("Object")),
            (json!({"__type": "Date", "iso": "2020-01-01T00:00:00.000Z"}), Some("Date")),
            (json!({"__type": "Pointer", "className": "A", "objectId": "x"}), Some("Pointer")),
            (json!({"__type": "GeoPoint", "latitude": 1, "longitude": 2}), Some("GeoPoint")),
            (json!({"__type": "File", "name": "f.txt"}), Some("File")),
            (json!({"__type": "Bytes", "base64": "AA=="}), Some("Bytes")),
            (json!({"__type": "Polygon", "coordinates": [[0,0],[0,1],[1,1]]}), Some("Polygon")),
            (json!({"__op": "Increment", "amount": 1}), Some("Number")),
            (json!({"__op": "AddUnique", "objects": [1]}), Some("Array")),
            (json!({"__op": "Delete"}), None),
            (json!(null), None),
        ];
        for (value, expected) in cases {
            let inferred = infer_type(&value).unwrap();
            assert_eq!(inferred.as_ref().map(FieldType::name), expected, "{value}");
        }
        let relation = json!({"__op": "AddRelation", "objects": [{"__type": "Pointer", "className": "B", "objectId": "x"}]});
        assert_eq!(infer_type(&relation).unwrap(), Some(FieldType::Relation { target_class: "B".into() }));
        assert_eq!(infer_type(&json!({"__type": "Nope"})).unwrap_err().code, ErrorCode::IncorrectType);
        for bad in [json!("Foo Bar"), json!(""), json!(5)] {
            let pointer = json!({"__type": "Pointer", "className": bad, "objectId": "x"});
            assert_eq!(infer_type(&pointer).unwrap_err().code, ErrorCode::InvalidJson, "{pointer}");
        }
    }

    #[test]
    fn validates_names() {
        assert!(class_name_is_valid("GameScore"));
        assert!(class_name_is_valid("_User"));
        assert!(!class_name_is_valid("_Secret"));
        assert!(!class_name_is_valid("1abc"));
        assert!(!class_name_is_valid("a-b"));
        assert!(field_name_is_valid("score_2"));
        assert!(!field_name_is_valid("_score"));
        assert!(!field_name_is_valid("a.b"));
    }

    #[test]
    fn schema_json_round_trips() {
        let mut schema = ClassSchema::new("_Role");
        schema.set_field(
            "owner",
            FieldSpec {
                field_type: FieldType::Pointer { target_class: "_User".into() },
                required: true,
                default_value: None,
            },
        );
        let parsed = ClassSchema::from_json(&schema.to_json()).unwrap();
        assert_eq!(parsed, schema);
        assert_eq!(schema.relation_fields().count(), 2);
    }
}
