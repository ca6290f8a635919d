//! Aggregation expressions: the values `$group` keys and accumulators, `$project` fields and
//! date parts compute from one document. Parsed once; anything outside the grammar in the
//! module doc of [`super`] is error 102 naming the operator.

use std::borrow::Cow;

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use serde_json::{Map, Value};

use super::ordering::{instant, number_value};
use super::unsupported;
use crate::error::{ParseError, ParseResult};
use crate::query::FieldPath;
use crate::value::{Object, encode_date};

/// An expression over one document.
#[derive(Debug, Clone, PartialEq)]
pub enum Expression {
    /// `"$path"`: the value at a path (through arrays of objects, as MongoDB reads paths).
    Field(FieldPath),
    /// A constant (`{"$literal": …}`, or any value without `$` strings and operators).
    Literal(Value),
    /// `{name: expr, …}`: an object of computed values (missing ones left out).
    Object(Vec<(String, Expression)>),
    /// `[expr, …]` (missing items read as null).
    Array(Vec<Expression>),
    /// `{"$year": expr}` and the other date parts, in UTC.
    DatePart { part: DatePart, date: Box<Expression> },
    /// `{"$add": […]}`, `{"$subtract": [a, b]}`, `{"$multiply": […]}`, `{"$divide": [a, b]}`.
    Arithmetic { operator: Arithmetic, operands: Vec<Expression> },
}

/// The parts of a date an expression can take (MongoDB's operators, in UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatePart {
    Year,
    Month,
    DayOfMonth,
    Hour,
    Minute,
    Second,
    Millisecond,
    /// 1 (Sunday) to 7 (Saturday).
    DayOfWeek,
    /// 1 to 366.
    DayOfYear,
    /// 0 to 53: weeks start on Sunday, days before the year's first Sunday are week 0.
    Week,
    IsoWeek,
    IsoWeekYear,
    /// 1 (Monday) to 7 (Sunday).
    IsoDayOfWeek,
}

const DATE_PARTS: [(&str, DatePart); 13] = [
    ("$year", DatePart::Year),
    ("$month", DatePart::Month),
    ("$dayOfMonth", DatePart::DayOfMonth),
    ("$hour", DatePart::Hour),
    ("$minute", DatePart::Minute),
    ("$second", DatePart::Second),
    ("$millisecond", DatePart::Millisecond),
    ("$dayOfWeek", DatePart::DayOfWeek),
    ("$dayOfYear", DatePart::DayOfYear),
    ("$week", DatePart::Week),
    ("$isoWeek", DatePart::IsoWeek),
    ("$isoWeekYear", DatePart::IsoWeekYear),
    ("$isoDayOfWeek", DatePart::IsoDayOfWeek),
];

impl DatePart {
    pub fn name(self) -> &'static str {
        DATE_PARTS.iter().find(|(_, part)| *part == self).map_or("", |(name, _)| name)
    }

    fn of(self, time: DateTime<Utc>) -> i64 {
        let value = match self {
            DatePart::Year => time.year(),
            DatePart::Month => time.month() as i32,
            DatePart::DayOfMonth => time.day() as i32,
            DatePart::Hour => time.hour() as i32,
            DatePart::Minute => time.minute() as i32,
            DatePart::Second => time.second() as i32,
            DatePart::Millisecond => (time.timestamp_subsec_millis() % 1000) as i32,
            DatePart::DayOfWeek => time.weekday().num_days_from_sunday() as i32 + 1,
            DatePart::DayOfYear => time.ordinal() as i32,
            DatePart::Week => (time.ordinal0() as i32 + 7 - time.weekday().num_days_from_sunday() as i32) / 7,
            DatePart::IsoWeek => time.iso_week().week() as i32,
            DatePart::IsoWeekYear => time.iso_week().year(),
            DatePart::IsoDayOfWeek => time.weekday().number_from_monday() as i32,
        };
        i64::from(value)
    }
}

/// Arithmetic operators on numbers (and dates, as MongoDB allows: date ± milliseconds,
/// date − date in milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arithmetic {
    Add,
    Subtract,
    Multiply,
    Divide,
}

impl Arithmetic {
    pub fn name(self) -> &'static str {
        match self {
            Arithmetic::Add => "$add",
            Arithmetic::Subtract => "$subtract",
            Arithmetic::Multiply => "$multiply",
            Arithmetic::Divide => "$divide",
        }
    }
}

/// Parse-server's names of the base fields in MongoDB form, and the stored name of pointers
/// (`_p_<field>`), read as the Parse field they stand for.
pub(crate) fn parse_field_name(name: &str) -> &str {
    match name {
        "_id" => "objectId",
        "_created_at" => "createdAt",
        "_updated_at" => "updatedAt",
        _ => name.strip_prefix("_p_").filter(|field| !field.is_empty()).unwrap_or(name),
    }
}

/// A dotted path written in a stage (`a.b`), its first segment in Parse's naming.
pub(crate) fn parse_path(text: &str, context: &str) -> ParseResult<FieldPath> {
    if text.is_empty() || text.split('.').any(|segment| segment.is_empty() || segment.starts_with('$')) {
        return Err(ParseError::invalid_query(format!("Invalid field path '{text}' in {context}.")));
    }
    let mut path = FieldPath::parse(text);
    path.field = parse_field_name(&path.field).to_string();
    Ok(path)
}

impl Expression {
    /// Parses an expression; `context` names where it is (`$group`, `$project`) for errors.
    pub fn parse(value: &Value, context: &str) -> ParseResult<Expression> {
        match value {
            Value::String(text) if text.starts_with("$$") => {
                Err(unsupported(format!("Variable '{text}' in {context} is not supported.")))
            }
            Value::String(text) if text.starts_with('$') => {
                Ok(Expression::Field(parse_path(&text[1..], context)?))
            }
            Value::Array(items) => Ok(Expression::Array(
                items.iter().map(|item| Expression::parse(item, context)).collect::<ParseResult<_>>()?,
            )),
            Value::Object(map) => Expression::parse_object(map, context),
            other => Ok(Expression::Literal(other.clone())),
        }
    }

    fn parse_object(map: &Map<String, Value>, context: &str) -> ParseResult<Expression> {
        let operators: Vec<&String> = map.keys().filter(|key| key.starts_with('$')).collect();
        let Some(operator) = operators.first() else {
            let mut fields = Vec::with_capacity(map.len());
            for (name, value) in map {
                if name.contains('.') {
                    return Err(ParseError::invalid_query(format!(
                        "Field name '{name}' in {context} cannot contain '.'."
                    )));
                }
                fields.push((name.clone(), Expression::parse(value, context)?));
            }
            return Ok(Expression::Object(fields));
        };
        if map.len() != 1 {
            return Err(ParseError::invalid_query(format!(
                "An expression object in {context} with an operator ({operator}) must have exactly one key."
            )));
        }
        let argument = &map[operator.as_str()];
        if operator.as_str() == "$literal" {
            return Ok(Expression::Literal(argument.clone()));
        }
        if let Some((_, part)) = DATE_PARTS.iter().find(|(name, _)| name == operator) {
            return Ok(Expression::DatePart {
                part: *part,
                date: Box::new(parse_date_argument(operator, argument, context)?),
            });
        }
        let arithmetic = match operator.as_str() {
            "$add" => Arithmetic::Add,
            "$subtract" => Arithmetic::Subtract,
            "$multiply" => Arithmetic::Multiply,
            "$divide" => Arithmetic::Divide,
            other => {
                return Err(unsupported(format!(
                    "Expression operator {other} in {context} is not supported."
                )));
            }
        };
        let Value::Array(items) = argument else {
            return Err(ParseError::invalid_query(format!(
                "{operator} in {context} takes an array of expressions."
            )));
        };
        let binary = matches!(arithmetic, Arithmetic::Subtract | Arithmetic::Divide);
        if binary && items.len() != 2 {
            return Err(ParseError::invalid_query(format!(
                "{operator} in {context} takes exactly 2 expressions."
            )));
        }
        let operands =
            items.iter().map(|item| Expression::parse(item, context)).collect::<ParseResult<_>>()?;
        Ok(Expression::Arithmetic { operator: arithmetic, operands })
    }

    /// The top-level fields the expression reads.
    pub(crate) fn collect_fields(&self, out: &mut Vec<String>) {
        match self {
            Expression::Field(path) => out.push(path.field.clone()),
            Expression::Literal(_) => {}
            Expression::Object(fields) => {
                fields.iter().for_each(|(_, expression)| expression.collect_fields(out))
            }
            Expression::Array(items) => items.iter().for_each(|item| item.collect_fields(out)),
            Expression::DatePart { date, .. } => date.collect_fields(out),
            Expression::Arithmetic { operands, .. } => {
                operands.iter().for_each(|item| item.collect_fields(out))
            }
        }
    }

    /// The expression's value for `document`; `None` when it reads a missing field.
    pub fn evaluate(&self, document: &Object) -> ParseResult<Option<Value>> {
        Ok(match self {
            Expression::Field(path) => field_value(document, path).map(Cow::into_owned),
            Expression::Literal(value) => Some(value.clone()),
            Expression::Object(fields) => {
                let mut object = Map::with_capacity(fields.len());
                for (name, expression) in fields {
                    if let Some(value) = expression.evaluate(document)? {
                        object.insert(name.clone(), value);
                    }
                }
                Some(Value::Object(object))
            }
            Expression::Array(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(item.evaluate(document)?.unwrap_or(Value::Null));
                }
                Some(Value::Array(values))
            }
            Expression::DatePart { part, date } => Some(date_part(*part, date.evaluate(document)?)?),
            Expression::Arithmetic { operator, operands } => {
                let mut values = Vec::with_capacity(operands.len());
                for operand in operands {
                    values.push(operand.evaluate(document)?);
                }
                Some(arithmetic(*operator, &values)?)
            }
        })
    }
}

/// The date of a date-part operator: `expr`, `[expr]`, or `{"date": expr, "timezone": "UTC"}`.
fn parse_date_argument(operator: &str, argument: &Value, context: &str) -> ParseResult<Expression> {
    match argument {
        Value::Array(items) if items.len() == 1 => Expression::parse(&items[0], context),
        Value::Array(_) => {
            Err(ParseError::invalid_query(format!("{operator} in {context} takes exactly 1 expression.")))
        }
        Value::Object(spec) if spec.contains_key("date") => {
            if let Some(key) = spec.keys().find(|key| !matches!(key.as_str(), "date" | "timezone")) {
                return Err(ParseError::invalid_query(format!("Unknown argument '{key}' to {operator}.")));
            }
            match spec.get("timezone") {
                None | Some(Value::Null) => {}
                Some(Value::String(zone))
                    if matches!(zone.as_str(), "UTC" | "GMT" | "Etc/UTC" | "Z" | "+00:00") => {}
                Some(zone) => {
                    return Err(unsupported(format!(
                        "Time zone {zone} in {operator} is not supported (UTC only)."
                    )));
                }
            }
            Expression::parse(&spec["date"], context)
        }
        other => Expression::parse(other, context),
    }
}

/// The value at `path` in `document`. Through an array of objects, the values found in its
/// elements, as an array (MongoDB's reading of paths).
pub(crate) fn field_value<'a>(document: &'a Object, path: &FieldPath) -> Option<Cow<'a, Value>> {
    let top = document.get(&path.field)?;
    value_at(top, &path.subpath)
}

fn value_at<'a>(value: &'a Value, rest: &[String]) -> Option<Cow<'a, Value>> {
    let Some((key, deeper)) = rest.split_first() else {
        return Some(Cow::Borrowed(value));
    };
    match value {
        Value::Object(map) => value_at(map.get(key)?, deeper),
        Value::Array(items) => Some(Cow::Owned(Value::Array(
            items
                .iter()
                .filter(|item| item.is_object())
                .filter_map(|item| value_at(item, rest).map(Cow::into_owned))
                .collect(),
        ))),
        _ => None,
    }
}

fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) if instant(value).is_some() => "date",
        Value::Object(_) => "object",
    }
}

fn date_part(part: DatePart, date: Option<Value>) -> ParseResult<Value> {
    let date = match date {
        None | Some(Value::Null) => return Ok(Value::Null),
        Some(date) => date,
    };
    match instant(&date) {
        Some(time) => Ok(Value::from(part.of(time))),
        None => Err(ParseError::invalid_query(format!(
            "{} can't convert from {} to Date.",
            part.name(),
            kind_name(&date)
        ))),
    }
}

/// A number operand: an integer when it is one, so sums of integers stay integers.
#[derive(Debug, Clone, Copy)]
enum Operand {
    Integer(i64),
    Float(f64),
    Date(DateTime<Utc>),
}

impl Operand {
    fn float(self) -> f64 {
        match self {
            Operand::Integer(integer) => integer as f64,
            Operand::Float(float) => float,
            Operand::Date(time) => time.timestamp_millis() as f64,
        }
    }
}

fn operand(operator: Arithmetic, value: &Value) -> ParseResult<Operand> {
    if let Value::Number(number) = value {
        return Ok(match number.as_i64() {
            Some(integer) => Operand::Integer(integer),
            None => Operand::Float(number.as_f64().unwrap_or(f64::NAN)),
        });
    }
    if let Some(time) = instant(value) {
        return Ok(Operand::Date(time));
    }
    Err(ParseError::invalid_query(format!(
        "{} only supports numeric or date types, not {}.",
        operator.name(),
        kind_name(value)
    )))
}

fn combine(
    left: Operand,
    right: Operand,
    integer: fn(i64, i64) -> Option<i64>,
    float: fn(f64, f64) -> f64,
) -> Operand {
    match (left, right) {
        (Operand::Integer(a), Operand::Integer(b)) => match integer(a, b) {
            Some(result) => Operand::Integer(result),
            None => Operand::Float(float(a as f64, b as f64)),
        },
        (a, b) => Operand::Float(float(a.float(), b.float())),
    }
}

fn arithmetic(operator: Arithmetic, values: &[Option<Value>]) -> ParseResult<Value> {
    // As in MongoDB, a missing or null operand makes the result null.
    let mut operands = Vec::with_capacity(values.len());
    for value in values {
        match value {
            None | Some(Value::Null) => return Ok(Value::Null),
            Some(value) => operands.push(operand(operator, value)?),
        }
    }
    let dates = operands.iter().filter(|operand| matches!(operand, Operand::Date(_))).count();
    let refuse =
        || ParseError::invalid_query(format!("{} cannot combine these dates and numbers.", operator.name()));
    let result = match operator {
        Arithmetic::Add => {
            if dates > 1 {
                return Err(refuse());
            }
            let date = operands.iter().find_map(|operand| match operand {
                Operand::Date(time) => Some(*time),
                _ => None,
            });
            let numbers = operands.iter().filter(|operand| !matches!(operand, Operand::Date(_)));
            let sum = numbers
                .fold(Operand::Integer(0), |sum, next| combine(sum, *next, i64::checked_add, |a, b| a + b));
            if let Some(time) = date {
                return Ok(encode_date(time + Duration::milliseconds(sum.float().round() as i64)));
            }
            sum
        }
        Arithmetic::Multiply => {
            if dates > 0 {
                return Err(refuse());
            }
            operands.iter().fold(Operand::Integer(1), |product, next| {
                combine(product, *next, i64::checked_mul, |a, b| a * b)
            })
        }
        Arithmetic::Subtract => match (operands[0], operands[1]) {
            (Operand::Date(a), Operand::Date(b)) => Operand::Integer((a - b).num_milliseconds()),
            (Operand::Date(a), b) => {
                return Ok(encode_date(a - Duration::milliseconds(b.float().round() as i64)));
            }
            (_, Operand::Date(_)) => return Err(refuse()),
            (a, b) => combine(a, b, i64::checked_sub, |a, b| a - b),
        },
        Arithmetic::Divide => {
            if dates > 0 {
                return Err(refuse());
            }
            let divisor = operands[1].float();
            if divisor == 0.0 {
                return Err(ParseError::invalid_query("$divide cannot divide by zero."));
            }
            Operand::Float(operands[0].float() / divisor)
        }
    };
    Ok(match result {
        Operand::Integer(integer) => Value::from(integer),
        Operand::Float(float) => number_value(float),
        Operand::Date(time) => encode_date(time),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn evaluate(expression: Value, document: Value) -> ParseResult<Option<Value>> {
        let document = document.as_object().cloned().unwrap_or_default();
        Expression::parse(&expression, "test")?.evaluate(&document)
    }

    fn date(iso: &str) -> Value {
        json!({"__type": "Date", "iso": iso})
    }

    #[test]
    fn reads_paths_through_objects_and_arrays() {
        let document = json!({"a": {"b": 1}, "list": [{"x": 1}, {"y": 2}, {"x": 3}, 4], "_id": "no"});
        assert_eq!(evaluate(json!("$a.b"), document.clone()).unwrap(), Some(json!(1)));
        assert_eq!(evaluate(json!("$list.x"), document.clone()).unwrap(), Some(json!([1, 3])));
        assert_eq!(evaluate(json!("$missing"), document.clone()).unwrap(), None);
        assert_eq!(evaluate(json!("$a.b.c"), document.clone()).unwrap(), None);
        assert_eq!(
            evaluate(json!({"k": "$a.b", "gone": "$missing"}), document.clone()).unwrap(),
            Some(json!({"k": 1}))
        );
        assert_eq!(
            evaluate(json!(["$a.b", "$missing", "text"]), document.clone()).unwrap(),
            Some(json!([1, null, "text"]))
        );
        assert_eq!(evaluate(json!({"$literal": "$a"}), document).unwrap(), Some(json!("$a")));
        let stamped = json!({"objectId": "o1", "createdAt": 1});
        assert_eq!(evaluate(json!("$_id"), stamped.clone()).unwrap(), Some(json!("o1")));
        assert_eq!(evaluate(json!("$_created_at"), stamped).unwrap(), Some(json!(1)));
    }

    #[test]
    fn extracts_date_parts_in_utc() {
        // A Saturday, the 1st of June 2024: day 153, in week 21 (Sunday-based) and ISO week 22.
        let document = json!({"d": date("2024-06-01T23:45:06.789+00:00")});
        let cases = [
            ("$year", 2024),
            ("$month", 6),
            ("$dayOfMonth", 1),
            ("$hour", 23),
            ("$minute", 45),
            ("$second", 6),
            ("$millisecond", 789),
            ("$dayOfWeek", 7),
            ("$dayOfYear", 153),
            ("$week", 21),
            ("$isoWeek", 22),
            ("$isoWeekYear", 2024),
            ("$isoDayOfWeek", 6),
        ];
        for (operator, expected) in cases {
            assert_eq!(
                evaluate(json!({operator: "$d"}), document.clone()).unwrap(),
                Some(json!(expected)),
                "{operator}"
            );
        }
        // 1 January 2023 was a Sunday: week 1; ISO puts it in the last week of 2022.
        let new_year = json!({"d": date("2023-01-01T00:00:00Z")});
        assert_eq!(evaluate(json!({"$week": ["$d"]}), new_year.clone()).unwrap(), Some(json!(1)));
        assert_eq!(
            evaluate(json!({"$isoWeekYear": {"date": "$d", "timezone": "UTC"}}), new_year).unwrap(),
            Some(json!(2022))
        );
        assert_eq!(evaluate(json!({"$year": "$missing"}), json!({})).unwrap(), Some(Value::Null));
        let error = evaluate(json!({"$year": "$s"}), json!({"s": "2024-01-01"})).unwrap_err();
        assert_eq!(error.code, crate::ErrorCode::InvalidQuery);
        assert!(error.message.contains("$year"), "{}", error.message);
    }

    #[test]
    fn computes_arithmetic() {
        let document = json!({"q": 2, "p": 10, "f": 0.5, "d": date("2024-01-01T00:00:00Z")});
        assert_eq!(evaluate(json!({"$multiply": ["$q", "$p"]}), document.clone()).unwrap(), Some(json!(20)));
        assert_eq!(evaluate(json!({"$add": ["$q", "$f", 1]}), document.clone()).unwrap(), Some(json!(3.5)));
        assert_eq!(evaluate(json!({"$subtract": ["$p", "$q"]}), document.clone()).unwrap(), Some(json!(8)));
        assert_eq!(evaluate(json!({"$divide": ["$p", 4]}), document.clone()).unwrap(), Some(json!(2.5)));
        assert_eq!(
            evaluate(json!({"$add": ["$q", "$missing"]}), document.clone()).unwrap(),
            Some(Value::Null)
        );
        assert_eq!(
            evaluate(json!({"$add": ["$d", 86_400_000]}), document.clone()).unwrap(),
            Some(date("2024-01-02T00:00:00.000Z"))
        );
        assert_eq!(
            evaluate(json!({"$divide": ["$p", 0]}), document.clone()).unwrap_err().code,
            crate::ErrorCode::InvalidQuery
        );
        assert!(evaluate(json!({"$add": ["$p", "text"]}), document).is_err());
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        for bad in [
            json!({"$concat": ["a", "b"]}),
            json!("$$ROOT"),
            json!({"$year": "$d", "$month": "$d"}),
            json!({"$subtract": [1]}),
            json!({"$year": {"date": "$d", "timezone": "Europe/Paris"}}),
            json!({"a.b": 1}),
            json!("$"),
            json!("$a..b"),
        ] {
            let error = Expression::parse(&bad, "test").unwrap_err();
            assert_eq!(error.code, crate::ErrorCode::InvalidQuery, "{bad}");
        }
        let error = Expression::parse(&json!({"$concat": []}), "$group").unwrap_err();
        assert!(error.message.contains("$concat"), "{}", error.message);
    }
}
