//! Property tests of the `where` parser: arbitrary JSON never panics it, every failure carries
//! one of the codes parse-server uses for bad queries (102/105/107, and 1 for geo coordinates
//! out of range), and whatever parses can be evaluated by the matcher without panicking.

use proptest::prelude::*;
use reparse_core::ErrorCode;
use reparse_core::matcher::matches;
use reparse_core::query::parse_where;
use serde_json::{Map, Value, json};

/// Keys that reach every branch of the parser: operators, field names, nested paths, junk.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("$or".to_string()),
        Just("$and".to_string()),
        Just("$nor".to_string()),
        Just("$relatedTo".to_string()),
        Just("$in".to_string()),
        Just("$nin".to_string()),
        Just("$all".to_string()),
        Just("$exists".to_string()),
        Just("$regex".to_string()),
        Just("$options".to_string()),
        Just("$gt".to_string()),
        Just("$lte".to_string()),
        Just("$ne".to_string()),
        Just("$inQuery".to_string()),
        Just("$select".to_string()),
        Just("$containedBy".to_string()),
        Just("$nearSphere".to_string()),
        Just("$maxDistance".to_string()),
        Just("$maxDistanceInMiles".to_string()),
        Just("$within".to_string()),
        Just("$box".to_string()),
        Just("$geoWithin".to_string()),
        Just("$polygon".to_string()),
        Just("$centerSphere".to_string()),
        Just("$geoIntersects".to_string()),
        Just("$point".to_string()),
        Just("__type".to_string()),
        Just("className".to_string()),
        Just("where".to_string()),
        Just("a".to_string()),
        Just("a.b".to_string()),
        "[a-z$._]{0,6}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "[a-z(\\[\\\\Q.*]{0,5}".prop_map(Value::String),
        Just(json!({"__type": "Date", "iso": "2024-01-01T00:00:00.000Z"})),
        Just(json!({"__type": "Pointer", "className": "A", "objectId": "x"})),
        (-200.0..200.0f64, -200.0..200.0f64).prop_map(|(latitude, longitude)| {
            json!({"__type": "GeoPoint", "latitude": latitude, "longitude": longitude})
        }),
        Just(json!({"__type": "Polygon", "coordinates": [[0, 0], [0, 1], [1, 1]]})),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parsing_never_panics_and_fails_with_query_codes(value in json_value(), object in json_value()) {
        match parse_where(&value) {
            Ok(filter) => {
                if let Value::Object(object) = object {
                    let _ = matches(&filter, &object);
                }
            }
            // Geo coordinates out of range are code 1, as parse-server's TypeError is.
            Err(error) => prop_assert!(
                matches!(error.code, ErrorCode::InvalidQuery | ErrorCode::InvalidJson | ErrorCode::InvalidKeyName)
                    || (error.code == ErrorCode::InternalServerError && error.message.starts_with("GeoPoint")),
                "unexpected code {:?} for {}", error.code, value
            ),
        }
    }
}
