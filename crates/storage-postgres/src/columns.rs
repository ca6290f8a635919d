//! The codec between Parse values (REST encoding) and parse-server's PostgreSQL column types.
//!
//! | Parse type | column | stored as |
//! |---|---|---|
//! | String, objectId | `text` / `varChar(120)` | the text |
//! | Number | `double precision` | the number (integral values read back as integers) |
//! | Boolean | `boolean` | |
//! | Date, createdAt, updatedAt | `timestamp with time zone` | the instant |
//! | Object, Array, Bytes | `jsonb` | the REST value |
//! | Pointer | `text` | the target's objectId |
//! | File | `text` | the file name |
//! | GeoPoint | `point` | `(longitude, latitude)` |
//! | Polygon | `polygon` | `((longitude, latitude), …)` of `[latitude, longitude]` coordinates |
//! | `_rperm`, `_wperm` | `text[]` | |

use std::error::Error;

use chrono::{DateTime, Utc};
use reparse_core::query::TEXT_SCORE_KEY;
use reparse_core::schema::{ClassSchema, FieldType};
use reparse_core::text::TEXT_SCORE_FIELD;
use reparse_core::value::{date_iso, date_value, format_date, parse_date, pointer_parts, pointer_value};
use reparse_core::{ParseError, ParseResult};
use serde_json::{Number, Value, json};
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, Type};

use crate::sql::Params;

pub(crate) use reparse_storage::columns::{
    BASE_COLUMNS, CREATED_AT, OBJECT_ID, READ_PERMISSIONS, UPDATED_AT, WRITE_PERMISSIONS,
};

/// How one column stores its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Codec {
    Text,
    Number,
    Boolean,
    /// Date fields: `{"__type": "Date"}` in objects.
    Date,
    /// `createdAt`/`updatedAt`: plain ISO strings in objects.
    Timestamp,
    Pointer {
        target_class: String,
    },
    File,
    GeoPoint,
    Polygon,
    /// `_rperm`/`_wperm`.
    Permissions,
    /// Object, Array, Bytes.
    Json,
}

impl Codec {
    pub(crate) fn for_field(schema: &ClassSchema, field: &str) -> Option<Codec> {
        match field {
            OBJECT_ID => Some(Codec::Text),
            CREATED_AT | UPDATED_AT => Some(Codec::Timestamp),
            READ_PERMISSIONS | WRITE_PERMISSIONS => Some(Codec::Permissions),
            _ => Codec::for_type(schema.field_type(field)?),
        }
    }

    pub(crate) fn for_type(field_type: &FieldType) -> Option<Codec> {
        Some(match field_type {
            FieldType::String => Codec::Text,
            FieldType::Number => Codec::Number,
            FieldType::Boolean => Codec::Boolean,
            FieldType::Date => Codec::Date,
            FieldType::Pointer { target_class } => Codec::Pointer { target_class: target_class.clone() },
            FieldType::File => Codec::File,
            FieldType::GeoPoint => Codec::GeoPoint,
            FieldType::Polygon => Codec::Polygon,
            FieldType::Object | FieldType::Array | FieldType::Bytes => Codec::Json,
            FieldType::Relation { .. } | FieldType::Acl => return None,
        })
    }

    /// The column type, as parse-server's PostgresStorageAdapter declares it.
    pub(crate) fn sql_type(&self) -> &'static str {
        match self {
            Codec::Text | Codec::Pointer { .. } | Codec::File => "text",
            Codec::Number => "double precision",
            Codec::Boolean => "boolean",
            Codec::Date | Codec::Timestamp => "timestamp with time zone",
            Codec::GeoPoint => "point",
            Codec::Polygon => "polygon",
            Codec::Permissions => "text[]",
            Codec::Json => "jsonb",
        }
    }

    /// Binds a field value for its column and returns the SQL expression of the value.
    pub(crate) fn encode(&self, value: &Value, params: &mut Params) -> Result<String, String> {
        Ok(match (self, value) {
            (_, Value::Null) => "NULL".to_string(),
            (Codec::Text, Value::String(text)) => params.text(text.clone()),
            (Codec::Number, Value::Number(number)) => params.float(number.as_f64().unwrap_or(f64::NAN)),
            (Codec::Boolean, Value::Bool(flag)) => params.boolean(*flag),
            (Codec::Date, value) => match date_iso(value) {
                Some(iso) => params.time(parse_date(iso).map_err(|_| format!("invalid date {iso}"))?),
                None => return Err(format!("expected a Date, got {value}")),
            },
            (Codec::Timestamp, value) => match date_iso(value).or_else(|| value.as_str()) {
                Some(iso) => params.time(parse_date(iso).map_err(|_| format!("invalid date {iso}"))?),
                None => return Err(format!("expected a date string, got {value}")),
            },
            (Codec::Pointer { .. }, value) => match pointer_parts(value) {
                Some((_, object_id)) => params.text(object_id.to_string()),
                None => return Err(format!("expected a Pointer, got {value}")),
            },
            (Codec::File, Value::Object(file)) => match file.get("name").and_then(Value::as_str) {
                Some(name) => params.text(name.to_string()),
                None => return Err(format!("expected a File, got {value}")),
            },
            (Codec::GeoPoint, Value::Object(point)) => {
                let coordinate = |key: &str| point.get(key).and_then(Value::as_f64);
                match (coordinate("latitude"), coordinate("longitude")) {
                    (Some(latitude), Some(longitude)) => {
                        format!("point({}, {})", params.float(longitude), params.float(latitude))
                    }
                    _ => return Err(format!("expected a GeoPoint, got {value}")),
                }
            }
            (Codec::Polygon, Value::Object(polygon)) => {
                let Some(coordinates) = polygon.get("coordinates").and_then(Value::as_array) else {
                    return Err(format!("expected a Polygon, got {value}"));
                };
                let mut points = Vec::with_capacity(coordinates.len());
                for coordinate in coordinates {
                    let pair = coordinate.as_array().map(|pair| {
                        (pair.first().and_then(Value::as_f64), pair.get(1).and_then(Value::as_f64))
                    });
                    let Some((Some(latitude), Some(longitude))) = pair else {
                        return Err(format!("expected [latitude, longitude], got {coordinate}"));
                    };
                    points.push(format!("({longitude}, {latitude})"));
                }
                format!("{}::polygon", params.text(format!("({})", points.join(", "))))
            }
            (Codec::Permissions, Value::Array(entries)) => {
                let entries: Option<Vec<String>> =
                    entries.iter().map(|entry| entry.as_str().map(str::to_string)).collect();
                match entries {
                    Some(entries) => params.text_array(entries),
                    None => return Err(format!("expected a list of strings, got {value}")),
                }
            }
            (Codec::Json, Value::Object(_) | Value::Array(_)) => params.json(value.clone()),
            (codec, value) => return Err(format!("cannot store {value} in a {codec:?} column")),
        })
    }

    /// Decodes column `index` of `row`; `Ok(None)` for NULL.
    pub(crate) fn decode(
        &self,
        row: &Row,
        index: usize,
    ) -> Result<Option<Value>, Box<dyn Error + Sync + Send>> {
        Ok(match self {
            Codec::Text => row.try_get::<_, Option<String>>(index)?.map(Value::String),
            Codec::Number => row.try_get::<_, Option<f64>>(index)?.map(number_value),
            Codec::Boolean => row.try_get::<_, Option<bool>>(index)?.map(Value::Bool),
            Codec::Date => {
                row.try_get::<_, Option<DateTime<Utc>>>(index)?.map(|time| date_value(&format_date(time)))
            }
            Codec::Timestamp => {
                row.try_get::<_, Option<DateTime<Utc>>>(index)?.map(|time| Value::String(format_date(time)))
            }
            Codec::Pointer { target_class } => {
                row.try_get::<_, Option<String>>(index)?.map(|id| pointer_value(target_class, &id))
            }
            Codec::File => {
                row.try_get::<_, Option<String>>(index)?.map(|name| json!({"__type": "File", "name": name}))
            }
            Codec::GeoPoint => row.try_get::<_, Option<Geometry>>(index)?.and_then(|geometry| {
                let (longitude, latitude) = *geometry.0.first()?;
                Some(json!({"__type": "GeoPoint", "latitude": latitude, "longitude": longitude}))
            }),
            Codec::Polygon => row.try_get::<_, Option<Geometry>>(index)?.map(|geometry| {
                let coordinates: Vec<Value> = geometry
                    .0
                    .iter()
                    .map(|(longitude, latitude)| json!([number_value(*latitude), number_value(*longitude)]))
                    .collect();
                json!({"__type": "Polygon", "coordinates": coordinates})
            }),
            Codec::Permissions => row
                .try_get::<_, Option<Vec<String>>>(index)?
                .map(|entries| Value::Array(entries.into_iter().map(Value::String).collect())),
            Codec::Json => row.try_get::<_, Option<Value>>(index)?,
        })
    }
}

/// A double as JSON: integral values (within f64's exact range) as integers, as parse-server's
/// JSON output shows them.
pub(crate) fn number_value(number: f64) -> Value {
    if number.fract() == 0.0 && number.abs() < 9_007_199_254_740_992.0 {
        Value::from(number as i64)
    } else {
        Number::from_f64(number).map_or(Value::Null, Value::Number)
    }
}

/// A `point` or `polygon` read in PostgreSQL's binary format: its (x, y) pairs.
struct Geometry(Vec<(f64, f64)>);

impl<'a> FromSql<'a> for Geometry {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        let float = |at: usize| -> Result<f64, Box<dyn Error + Sync + Send>> {
            let bytes: [u8; 8] = raw.get(at..at + 8).ok_or("short geometry")?.try_into()?;
            Ok(f64::from_be_bytes(bytes))
        };
        if *ty == Type::POINT {
            return Ok(Geometry(vec![(float(0)?, float(8)?)]));
        }
        let count: [u8; 4] = raw.get(0..4).ok_or("short polygon")?.try_into()?;
        let count = u32::from_be_bytes(count) as usize;
        let mut points = Vec::with_capacity(count);
        for index in 0..count {
            points.push((float(4 + index * 16)?, float(12 + index * 16)?));
        }
        Ok(Geometry(points))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::POINT || *ty == Type::POLYGON
    }
}

/// Encodes a field value, naming the class and field when it does not fit its column.
pub(crate) fn encode_field(
    schema: &ClassSchema,
    field: &str,
    value: &Value,
    params: &mut Params,
) -> ParseResult<String> {
    let Some(codec) = Codec::for_field(schema, field) else {
        return Err(ParseError::internal(format!(
            "{}.{field} has no column: add the field to the schema first",
            schema.class_name
        )));
    };
    codec
        .encode(value, params)
        .map_err(|problem| ParseError::internal(format!("{}.{field}: {problem}", schema.class_name)))
}

/// Decodes a `SELECT *` row of a class table. Columns the schema does not describe are skipped.
pub(crate) fn decode_row(schema: &ClassSchema, row: &Row) -> ParseResult<serde_json::Map<String, Value>> {
    let mut object = serde_json::Map::new();
    for (index, column) in row.columns().iter().enumerate() {
        let name = column.name();
        // The text score a query asked for (`sql::select_statement`), in the field parse-server
        // names `score`, replacing a stored field of that name in this answer.
        if name == TEXT_SCORE_KEY {
            let score: f64 = row
                .try_get(index)
                .map_err(|problem| ParseError::internal(format!("text score: {problem}")))?;
            object.insert(TEXT_SCORE_FIELD.to_string(), Value::from(score));
            continue;
        }
        let Some(codec) = Codec::for_field(schema, name) else {
            continue;
        };
        let decoded = codec
            .decode(row, index)
            .map_err(|problem| ParseError::internal(format!("{}.{name}: {problem}", schema.class_name)))?;
        if let Some(value) = decoded {
            object.insert(name.to_string(), value);
        }
    }
    Ok(object)
}
