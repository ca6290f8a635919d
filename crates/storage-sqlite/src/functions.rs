//! SQL functions Reparse registers on every connection, for what SQLite cannot say natively
//! the way the in-memory matcher means it:
//!
//! - `reparse_regex(text, pattern, options)`: `$regex` with Parse's options, through
//!   [`compile_regex`], compiled regexes cached process-wide.
//! - `reparse_json_equal(a, b)`: equality of two JSON texts by [`values_equal`] (object key
//!   order ignored, pointers by class and id, dates by instant).
//! - `reparse_compare(actual, bound)`: `-1/0/1` (or NULL when incomparable) for two JSON texts
//!   by [`compare`]; used for ordering operators on values inside JSON columns.
//! - `reparse_instant(text)`: the canonical ISO text of a date string, NULL if it is not one.
//! - Geo, through `reparse_core::geo` (so SQLite and the matcher share the arithmetic); each
//!   takes the JSON text of the value (`doc -> path`) and is NULL when it is not a GeoPoint
//!   (resp. Polygon):
//!   `reparse_geo_distance(point, latitude, longitude)` (radians, haversine),
//!   `reparse_geo_in_box(point, west, south, east, north)`,
//!   `reparse_geo_in_polygon(point, polygon)` (the query's polygon as a REST Polygon's JSON,
//!   parsed once per statement) and `reparse_polygon_contains(polygon, latitude, longitude)`.
//! - `reparse_text_match(text, term, language, case_sensitive, diacritic_sensitive)` and
//!   `reparse_text_score(…same…)`: `$text` by [`TextSearch`] (the core's tokenizer, stemmer
//!   and scorer): whether the text matches, and its score (0 when it does not occur, and for
//!   NULL or non-text values). Compiled searches are cached process-wide like regexes.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use regex::Regex;
use reparse_core::geo::{self, GeoPoint, GeoRegion};
use reparse_core::matcher::{compare, compile_regex};
use reparse_core::text::{CompiledSearch, Language, TextSearch};
use reparse_core::value::values_equal;
use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::ValueRef;
use serde_json::Value;

use crate::columns::canonical_iso;

/// How many distinct `(pattern, options)` pairs stay compiled before the cache starts over.
const REGEX_CACHE_CAPACITY: usize = 256;

/// Compiled regexes by `(pattern, options)`.
type RegexCache = HashMap<(String, String), Arc<Regex>>;

static REGEX_CACHE: LazyLock<Mutex<RegexCache>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// How many distinct text searches stay compiled before the cache starts over.
const TEXT_SEARCH_CACHE_CAPACITY: usize = 256;

/// Compiled text searches by (term, language, case sensitive, diacritic sensitive).
type TextSearchCache = HashMap<(String, String, bool, bool), Arc<CompiledSearch>>;

static TEXT_SEARCH_CACHE: LazyLock<Mutex<TextSearchCache>> = LazyLock::new(|| Mutex::new(HashMap::new()));

pub(crate) fn register(connection: &Connection) -> rusqlite::Result<()> {
    let flags =
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_INNOCUOUS;
    connection.create_scalar_function("reparse_regex", 3, flags, |context| {
        let (Some(text), Some(pattern)) = (text_argument(context, 0)?, text_argument(context, 1)?) else {
            return Ok(false);
        };
        let options = text_argument(context, 2)?.unwrap_or_default();
        Ok(cached_regex(pattern, options)?.is_match(text))
    })?;
    connection.create_scalar_function("reparse_json_equal", 2, flags, |context| {
        let (Some(a), Some(b)) = (json_argument(context, 0)?, json_argument(context, 1)?) else {
            return Ok(None);
        };
        Ok(Some(values_equal(&a, &b)))
    })?;
    connection.create_scalar_function("reparse_compare", 2, flags, |context| {
        let (Some(actual), Some(bound)) = (json_argument(context, 0)?, json_argument(context, 1)?) else {
            return Ok(None);
        };
        // The matcher treats a JSON null like a missing value: nothing to compare.
        if actual.is_null() {
            return Ok(None);
        }
        Ok(compare(Some(&actual), &bound).map(|ordering| ordering as i64))
    })?;
    connection.create_scalar_function("reparse_instant", 1, flags, |context| {
        Ok(text_argument(context, 0)?.and_then(canonical_iso))
    })?;
    // Unicode case folding, the matcher's; SQLite's own lower() folds ASCII only. Indexed
    // (usernames and emails), so it must stay deterministic.
    connection.create_scalar_function("reparse_lower", 1, flags, |context| {
        Ok(text_argument(context, 0)?.map(reparse_core::matcher::fold_case))
    })?;
    connection.create_scalar_function("reparse_geo_distance", 3, flags, |context| {
        let (Some(found), Some(from)) = (stored_point(context, 0)?, point_arguments(context, 1)?) else {
            return Ok(None);
        };
        Ok(Some(geo::distance_radians(found, from)))
    })?;
    connection.create_scalar_function("reparse_geo_in_box", 5, flags, |context| {
        let Some(found) = stored_point(context, 0)? else { return Ok(None) };
        let [west, south, east, north] =
            [1, 2, 3, 4].map(|index| context.get::<Option<f64>>(index).ok().flatten());
        let (Some(west), Some(south), Some(east), Some(north)) = (west, south, east, north) else {
            return Ok(None);
        };
        Ok(Some(GeoRegion::Box { west, south, east, north }.contains(found)))
    })?;
    connection.create_scalar_function("reparse_geo_in_polygon", 2, flags, |context| {
        let Some(found) = stored_point(context, 0)? else { return Ok(None) };
        // The polygon is a bound parameter: parsed on the first row, kept for the statement.
        let vertices = context.get_or_create_aux(1, |value| -> Result<Vec<GeoPoint>, String> {
            let text = value.as_str().map_err(|error| error.to_string())?;
            let polygon: Value = serde_json::from_str(text).map_err(|error| error.to_string())?;
            geo::polygon_vertices(&polygon).ok_or_else(|| format!("not a polygon: {text}"))
        })?;
        Ok(Some(geo::polygon_contains(&vertices, found)))
    })?;
    connection.create_scalar_function("reparse_polygon_contains", 3, flags, |context| {
        let stored = json_argument(context, 0)?;
        let (Some(vertices), Some(point)) =
            (stored.as_ref().and_then(geo::polygon_vertices), point_arguments(context, 1)?)
        else {
            return Ok(None);
        };
        Ok(Some(geo::polygon_contains(&vertices, point)))
    })?;
    connection.create_scalar_function("reparse_text_match", 5, flags, |context| {
        let Some(text) = text_argument(context, 0)? else {
            return Ok(false);
        };
        Ok(text_search_argument(context)?.matches(text))
    })?;
    connection.create_scalar_function("reparse_text_score", 5, flags, |context| {
        let Some(text) = text_argument(context, 0)? else {
            return Ok(0.0);
        };
        Ok(text_search_argument(context)?.score(text))
    })?;
    Ok(())
}

/// The GeoPoint whose JSON text is argument `index`; `None` for NULL, for JSON that is not a
/// GeoPoint, and for text that is not JSON at all.
fn stored_point(context: &Context<'_>, index: usize) -> rusqlite::Result<Option<GeoPoint>> {
    Ok(json_argument(context, index)?.as_ref().and_then(GeoPoint::from_value))
}

/// The point given as arguments `index` (latitude) and `index + 1` (longitude).
fn point_arguments(context: &Context<'_>, index: usize) -> rusqlite::Result<Option<GeoPoint>> {
    let latitude = context.get::<Option<f64>>(index)?;
    let longitude = context.get::<Option<f64>>(index + 1)?;
    Ok(latitude.zip(longitude).map(|(latitude, longitude)| GeoPoint { latitude, longitude }))
}

/// The compiled search given by arguments 1–4 (term, language, case and diacritic flags).
fn text_search_argument(context: &Context<'_>) -> rusqlite::Result<Arc<CompiledSearch>> {
    let (Some(term), Some(language)) = (text_argument(context, 1)?, text_argument(context, 2)?) else {
        return Err(rusqlite::Error::UserFunctionError("a text search needs a term and a language".into()));
    };
    let case_sensitive = context.get::<bool>(3)?;
    let diacritic_sensitive = context.get::<bool>(4)?;
    let key = (term.to_string(), language.to_string(), case_sensitive, diacritic_sensitive);
    if let Some(search) = TEXT_SEARCH_CACHE.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
        return Ok(Arc::clone(search));
    }
    let language = Language::from_name(language).ok_or_else(|| {
        rusqlite::Error::UserFunctionError(format!("unknown text search language {language}").into())
    })?;
    let search = TextSearch { term: term.to_string(), language, case_sensitive, diacritic_sensitive };
    let compiled = Arc::new(search.compile());
    let mut cache = TEXT_SEARCH_CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= TEXT_SEARCH_CACHE_CAPACITY {
        cache.clear();
    }
    cache.insert(key, Arc::clone(&compiled));
    Ok(compiled)
}

/// A text argument; `None` for NULL or any non-text value.
fn text_argument<'a>(context: &'a Context<'_>, index: usize) -> rusqlite::Result<Option<&'a str>> {
    match context.get_raw(index) {
        ValueRef::Text(bytes) => std::str::from_utf8(bytes)
            .map(Some)
            .map_err(|error| rusqlite::Error::UserFunctionError(error.into())),
        _ => Ok(None),
    }
}

/// A JSON text argument, or `None` when it is not JSON. SQLite does not promise to evaluate
/// the `json_type(…) IN ('array', 'object')` guard beside a call first, so the call may see a
/// scalar that `json_extract` returned as plain text (`a` for the string "a"); the guard makes
/// the call's result irrelevant then, and it must not fail the statement.
fn json_argument(context: &Context<'_>, index: usize) -> rusqlite::Result<Option<Value>> {
    Ok(text_argument(context, index)?.and_then(|text| serde_json::from_str(text).ok()))
}

fn cached_regex(pattern: &str, options: &str) -> rusqlite::Result<Arc<Regex>> {
    let key = (pattern.to_string(), options.to_string());
    if let Some(regex) = REGEX_CACHE.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
        return Ok(Arc::clone(regex));
    }
    // Compiled outside the lock: a slow pattern must not stall other connections.
    let regex = Arc::new(
        compile_regex(pattern, options)
            .map_err(|error| rusqlite::Error::UserFunctionError(Box::new(error)))?,
    );
    let mut cache = REGEX_CACHE.lock().unwrap_or_else(PoisonError::into_inner);
    if cache.len() >= REGEX_CACHE_CAPACITY {
        cache.clear();
    }
    cache.insert(key, Arc::clone(&regex));
    Ok(regex)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection() -> Connection {
        let connection = Connection::open_in_memory().unwrap();
        register(&connection).unwrap();
        connection
    }

    fn query<T: rusqlite::types::FromSql>(sql: &str) -> T {
        connection().query_row(sql, [], |row| row.get(0)).unwrap()
    }

    #[test]
    fn regex_follows_parse_options() {
        assert!(query::<bool>("SELECT reparse_regex('Apple', '^a', 'i')"));
        assert!(!query::<bool>("SELECT reparse_regex('Apple', '^a', '')"));
        assert!(!query::<bool>("SELECT reparse_regex(NULL, '^a', '')"));
        let error =
            connection().query_row("SELECT reparse_regex('a', '(', '')", [], |row| row.get::<_, bool>(0));
        assert!(error.is_err());
    }

    #[test]
    fn json_equality_and_comparison_follow_the_matcher() {
        assert!(query::<bool>(r#"SELECT reparse_json_equal('{"a":1,"b":2}', '{"b":2,"a":1.0}')"#));
        assert!(!query::<bool>(r#"SELECT reparse_json_equal('[1,2]', '[2,1]')"#));
        assert_eq!(query::<Option<i64>>(r#"SELECT reparse_compare('2', '1')"#), Some(1));
        assert_eq!(query::<Option<i64>>(r#"SELECT reparse_compare('"a"', '1')"#), None);
        assert_eq!(query::<Option<i64>>(r#"SELECT reparse_compare('null', '1')"#), None);
        assert_eq!(
            query::<Option<String>>("SELECT reparse_instant('2024-01-01T01:00:00+01:00')"),
            Some("2024-01-01T00:00:00.000Z".into())
        );
        assert_eq!(query::<Option<String>>("SELECT reparse_instant('soon')"), None);
    }

    #[test]
    fn geo_functions_call_the_core() {
        let point = r#"'{"__type":"GeoPoint","latitude":0,"longitude":1}'"#;
        let distance: f64 = query(&format!("SELECT reparse_geo_distance({point}, 0.0, 0.0)"));
        assert_eq!(
            distance,
            geo::distance_radians(
                GeoPoint { latitude: 0.0, longitude: 1.0 },
                GeoPoint { latitude: 0.0, longitude: 0.0 }
            )
        );
        assert_eq!(query::<Option<f64>>("SELECT reparse_geo_distance('\"text\"', 0.0, 0.0)"), None);
        assert_eq!(query::<Option<f64>>("SELECT reparse_geo_distance('not json', 0.0, 0.0)"), None);
        assert!(query::<bool>(&format!("SELECT reparse_geo_in_box({point}, 0.0, 0.0, 1.0, 1.0)")));
        assert!(!query::<bool>(&format!("SELECT reparse_geo_in_box({point}, 0.0, 0.5, 1.0, 1.0)")));
        let triangle = r#"'{"__type":"Polygon","coordinates":[[0,0],[0,1],[1,1]]}'"#;
        assert!(query::<bool>(&format!("SELECT reparse_geo_in_polygon({point}, {triangle})")));
        assert!(query::<bool>(&format!("SELECT reparse_polygon_contains({triangle}, 0.5, 0.9)")));
        assert!(!query::<bool>(&format!("SELECT reparse_polygon_contains({triangle}, 0.9, 0.5)")));
        assert_eq!(
            query::<Option<bool>>(&format!("SELECT reparse_polygon_contains({point}, 0.5, 0.9)")),
            None
        );
    }

    #[test]
    fn text_search_follows_the_core() {
        assert!(query::<bool>("SELECT reparse_text_match('Coffee Shopping', 'coffees', 'english', 0, 1)"));
        assert!(!query::<bool>("SELECT reparse_text_match('Coffee Shopping', 'coffee', 'english', 1, 1)"));
        assert!(query::<bool>("SELECT reparse_text_match('Café', 'CAFE', 'simple', 0, 0)"));
        assert!(!query::<bool>("SELECT reparse_text_match(NULL, 'coffee', 'english', 0, 1)"));
        let score = "SELECT reparse_text_score('coffee and coffee', 'coffee', 'en', 0, 1)";
        assert_eq!(query::<f64>(score), 0.1666666716337204);
        assert_eq!(query::<f64>("SELECT reparse_text_score(42, 'coffee', 'english', 0, 1)"), 0.0);
        let unknown = "SELECT reparse_text_match('a', 'a', 'klingon', 0, 1)";
        assert!(connection().query_row(unknown, [], |row| row.get::<_, bool>(0)).is_err());
    }
}
