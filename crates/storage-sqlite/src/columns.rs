//! The codec between Parse values (REST encoding) and SQLite column values.
//!
//! One [`Codec`] per kind of column. The layout mirrors parse-server's PostgreSQL adapter with
//! SQLite types: scalars in native columns, structured values as JSON text, pointers as the bare
//! objectId (the target class comes back from the schema), dates as ISO-8601 text.

use reparse_core::query::TEXT_SCORE_KEY;
use reparse_core::schema::{ClassSchema, FieldType};
use reparse_core::text::TEXT_SCORE_FIELD;
use reparse_core::value::{
    Object, date_iso, date_value, format_date, parse_date, pointer_parts, pointer_value,
};
use reparse_core::{ParseError, ParseResult};

use crate::errors::sqlite_error;
use rusqlite::Row;
use rusqlite::types::{Value as SqlValue, ValueRef};
use serde_json::{Number, Value};

pub(crate) use reparse_storage::columns::{
    BASE_COLUMNS, CREATED_AT, OBJECT_ID, READ_PERMISSIONS, UPDATED_AT, WRITE_PERMISSIONS,
};

/// How one column stores its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Codec {
    /// String fields and `objectId`: TEXT.
    Text,
    /// Number fields. Declared NUMERIC (not REAL) so that integers stay INTEGER and read back
    /// as JSON integers, while fractional values stay REAL.
    Number,
    /// Boolean fields: INTEGER 0/1.
    Boolean,
    /// Date fields: the canonical ISO text in the column, `{"__type": "Date"}` in objects.
    Date,
    /// `createdAt`/`updatedAt`: canonical ISO text in the column, plain strings in objects.
    Timestamp,
    /// Pointer fields: the target's objectId only.
    Pointer { target_class: String },
    /// Object, Array, File, GeoPoint, Polygon, Bytes, `_rperm`, `_wperm`: JSON text.
    Json,
}

impl Codec {
    /// The codec of a field's column, or `None` when the field has no column (relations,
    /// the ACL, fields the schema does not know).
    pub(crate) fn for_field(schema: &ClassSchema, field: &str) -> Option<Codec> {
        match field {
            OBJECT_ID => Some(Codec::Text),
            CREATED_AT | UPDATED_AT => Some(Codec::Timestamp),
            READ_PERMISSIONS | WRITE_PERMISSIONS => Some(Codec::Json),
            _ => Codec::for_type(schema.field_type(field)?),
        }
    }

    /// The codec for a schema field type; `None` for types stored outside the table.
    pub(crate) fn for_type(field_type: &FieldType) -> Option<Codec> {
        Some(match field_type {
            FieldType::String => Codec::Text,
            FieldType::Number => Codec::Number,
            FieldType::Boolean => Codec::Boolean,
            FieldType::Date => Codec::Date,
            FieldType::Pointer { target_class } => Codec::Pointer { target_class: target_class.clone() },
            FieldType::Object
            | FieldType::Array
            | FieldType::File
            | FieldType::GeoPoint
            | FieldType::Polygon
            | FieldType::Bytes => Codec::Json,
            FieldType::Relation { .. } | FieldType::Acl => return None,
        })
    }

    /// The declared SQL type of the column.
    pub(crate) fn sql_type(&self) -> &'static str {
        match self {
            Codec::Number => "NUMERIC",
            Codec::Boolean => "INTEGER",
            Codec::Text | Codec::Date | Codec::Timestamp | Codec::Pointer { .. } | Codec::Json => "TEXT",
        }
    }

    /// Encodes a non-null field value for its column. `Err` carries what was wrong; the caller
    /// adds the class and field.
    pub(crate) fn encode(&self, value: &Value) -> Result<SqlValue, String> {
        match (self, value) {
            (_, Value::Null) => Ok(SqlValue::Null),
            (Codec::Text, Value::String(text)) => Ok(SqlValue::Text(text.clone())),
            (Codec::Number, Value::Number(number)) => Ok(number_to_sql(number)),
            (Codec::Boolean, Value::Bool(flag)) => Ok(SqlValue::Integer(i64::from(*flag))),
            (Codec::Date, value) => match date_iso(value) {
                Some(iso) => {
                    canonical_iso(iso).map(SqlValue::Text).ok_or_else(|| format!("invalid date {iso}"))
                }
                None => Err(format!("expected a Date, got {value}")),
            },
            (Codec::Timestamp, value) => match date_iso(value).or_else(|| value.as_str()) {
                // Stored canonical so that text order is time order; a timestamp that does not
                // parse is kept as it came rather than refused.
                Some(iso) => Ok(SqlValue::Text(canonical_iso(iso).unwrap_or_else(|| iso.into()))),
                None => Err(format!("expected a date string, got {value}")),
            },
            (Codec::Pointer { .. }, value) => match pointer_parts(value) {
                Some((_, object_id)) => Ok(SqlValue::Text(object_id.to_string())),
                None => Err(format!("expected a Pointer, got {value}")),
            },
            (Codec::Json, Value::Object(_) | Value::Array(_)) => Ok(SqlValue::Text(value.to_string())),
            (codec, value) => Err(format!("cannot store {value} in a {codec:?} column")),
        }
    }

    /// Decodes a column value; `Ok(None)` for NULL (absent fields are omitted from objects).
    pub(crate) fn decode(&self, value: ValueRef<'_>) -> Result<Option<Value>, String> {
        let decoded = match (self, value) {
            (_, ValueRef::Null) => return Ok(None),
            (Codec::Number, ValueRef::Integer(integer)) => Value::from(integer),
            (Codec::Number, ValueRef::Real(real)) => Number::from_f64(real)
                .map(Value::Number)
                .ok_or_else(|| format!("non-finite number {real}"))?,
            (Codec::Boolean, ValueRef::Integer(integer)) => Value::Bool(integer != 0),
            (codec, ValueRef::Text(bytes)) => {
                let text = std::str::from_utf8(bytes).map_err(|error| error.to_string())?;
                match codec {
                    Codec::Text | Codec::Timestamp => Value::String(text.to_string()),
                    Codec::Date => date_value(text),
                    Codec::Pointer { target_class } => pointer_value(target_class, text),
                    Codec::Json => serde_json::from_str(text).map_err(|error| error.to_string())?,
                    Codec::Number | Codec::Boolean => {
                        return Err(format!("unexpected text in a {codec:?} column"));
                    }
                }
            }
            (codec, other) => {
                return Err(format!("unexpected {:?} in a {codec:?} column", other.data_type()));
            }
        };
        Ok(Some(decoded))
    }
}

/// A JSON number as SQLite stores it: INTEGER when it is one, REAL otherwise.
pub(crate) fn number_to_sql(number: &Number) -> SqlValue {
    match number.as_i64() {
        Some(integer) => SqlValue::Integer(integer),
        None => SqlValue::Real(number.as_f64().unwrap_or(f64::NAN)),
    }
}

/// The ISO text Reparse stores for a date: Parse's format (milliseconds, `Z`), so that text
/// comparison is time comparison. `None` when the text is not a date.
pub(crate) fn canonical_iso(iso: &str) -> Option<String> {
    parse_date(iso).ok().map(format_date)
}

/// Encodes a field value, naming the class and field when it does not fit its column.
pub(crate) fn encode_field(schema: &ClassSchema, field: &str, value: &Value) -> ParseResult<SqlValue> {
    let Some(codec) = Codec::for_field(schema, field) else {
        return Err(ParseError::internal(format!(
            "{}.{field} has no column: add the field to the schema first",
            schema.class_name
        )));
    };
    codec
        .encode(value)
        .map_err(|problem| ParseError::internal(format!("{}.{field}: {problem}", schema.class_name)))
}

/// Decodes a `SELECT *` row of a class table into an object. Columns the schema no longer
/// describes are skipped.
pub(crate) fn decode_row(schema: &ClassSchema, row: &Row<'_>) -> ParseResult<Object> {
    let statement = row.as_ref();
    let mut object = Object::new();
    for index in 0..statement.column_count() {
        let name = statement.column_name(index).map_err(sqlite_error)?;
        // The text score a query asked for (`sql::select_statement`), in the field parse-server
        // names `score`, replacing a stored field of that name in this answer.
        if name == TEXT_SCORE_KEY {
            let score: f64 = row.get(index).map_err(sqlite_error)?;
            object.insert(TEXT_SCORE_FIELD.to_string(), Value::from(score));
            continue;
        }
        let Some(codec) = Codec::for_field(schema, name) else {
            continue;
        };
        let decoded = codec
            .decode(row.get_ref(index).map_err(sqlite_error)?)
            .map_err(|problem| ParseError::internal(format!("{}.{name}: {problem}", schema.class_name)))?;
        if let Some(value) = decoded {
            object.insert(name.to_string(), value);
        }
    }
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_keep_integer_or_float_kind() {
        assert_eq!(Codec::Number.encode(&json!(1)).unwrap(), SqlValue::Integer(1));
        assert_eq!(Codec::Number.encode(&json!(1.5)).unwrap(), SqlValue::Real(1.5));
        assert_eq!(Codec::Number.decode(ValueRef::Integer(1)).unwrap(), Some(json!(1)));
        assert_eq!(Codec::Number.decode(ValueRef::Real(1.5)).unwrap(), Some(json!(1.5)));
    }

    #[test]
    fn dates_are_stored_canonical_and_pointers_as_ids() {
        let date = json!({"__type": "Date", "iso": "2024-03-01T10:20:30+01:00"});
        assert_eq!(Codec::Date.encode(&date).unwrap(), SqlValue::Text("2024-03-01T09:20:30.000Z".into()));
        assert!(Codec::Date.encode(&json!("2024-03-01")).is_err());
        let pointer = Codec::Pointer { target_class: "A".into() };
        assert_eq!(pointer.encode(&pointer_value("A", "x1")).unwrap(), SqlValue::Text("x1".into()));
        assert_eq!(pointer.decode(ValueRef::Text(b"x1")).unwrap(), Some(pointer_value("A", "x1")));
    }

    #[test]
    fn mismatched_values_are_refused() {
        assert!(Codec::Text.encode(&json!(1)).is_err());
        assert!(Codec::Boolean.encode(&json!("true")).is_err());
        assert!(Codec::Json.encode(&json!("text")).is_err());
        assert_eq!(Codec::Text.encode(&Value::Null).unwrap(), SqlValue::Null);
    }
}
