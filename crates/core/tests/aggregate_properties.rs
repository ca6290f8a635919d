//! Property tests of `/aggregate` requests: arbitrary parameters never panic the parser, every
//! refusal carries a query code (102, 105 or 107), and whatever parses can be planned and run
//! over arbitrary objects without panicking, failing (if at all) with 102.

use proptest::prelude::*;
use reparse_core::ErrorCode;
use reparse_core::aggregate::{AggregateRequest, Evaluation, plan};
use reparse_core::schema::{ClassSchema, FieldSpec, FieldType};
use serde_json::{Map, Value, json};

fn pick(options: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(options).prop_map(str::to_string)
}

/// Keys that reach every branch: stages, accumulators, operators, options, fields, junk.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        pick(&[
            "$match", "$group", "$project", "$sort", "$limit", "$unwind", "$count", "$lookup", "pipeline",
            "where", "distinct", "explain", "_id", "objectId", "$sum", "$max", "$push", "$year", "$divide",
            "$literal", "$or", "$gt", "$in", "$exists", "path", "date", "a", "n", "d", "a.b", "p",
        ]),
        "[a-z$._]{0,5}",
    ]
}

fn object_of(entries: Vec<(String, Value)>) -> Value {
    Value::Object(entries.into_iter().collect::<Map<_, _>>())
}

/// Any JSON, shaped to hit the parser's branches.
fn junk() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop::sample::select(vec![0, 1, -1, 2, 7]).prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        pick(&["$a", "$n", "$a.b", "$$ROOT", "$", "", "x", "2024-01-01T00:00:00Z"]).prop_map(Value::String),
        Just(json!({"__type": "Date", "iso": "2024-01-01T00:00:00.000Z"})),
        Just(json!({"__type": "Pointer", "className": "A", "objectId": "x"})),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..4).prop_map(object_of),
        ]
    })
}

fn field() -> impl Strategy<Value = String> {
    pick(&["n", "d", "a", "a.b", "p", "list", "createdAt", "_id", "objectId", "missing"])
}

/// Aggregation expressions, mostly valid.
fn expression() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        pick(&["$n", "$d", "$a", "$a.b", "$p", "$list", "$list.x", "$createdAt", "$_id", "$missing"])
            .prop_map(Value::String),
        prop::sample::select(vec![0, 1, 3]).prop_map(|n| json!(n)),
        Just(json!("text")),
        Just(Value::Null),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (pick(&["$year", "$month", "$dayOfWeek", "$week", "$isoWeek", "$millisecond"]), inner.clone())
                .prop_map(|(operator, date)| json!({operator: date})),
            (
                pick(&["$add", "$subtract", "$multiply", "$divide"]),
                prop::collection::vec(inner.clone(), 1..3)
            )
                .prop_map(|(operator, operands)| json!({operator: operands})),
            prop::collection::vec((pick(&["k", "l"]), inner), 0..3).prop_map(object_of),
        ]
    })
}

fn match_spec() -> impl Strategy<Value = Value> {
    let condition = prop_oneof![
        junk(),
        (pick(&["$gt", "$lte", "$ne", "$exists", "$in"]), junk())
            .prop_map(|(operator, operand)| json!({operator: operand})),
    ];
    prop::collection::vec((field(), condition), 0..3).prop_map(object_of)
}

fn stage() -> impl Strategy<Value = (String, Value)> {
    let accumulator = pick(&["$sum", "$avg", "$min", "$max", "$push", "$addToSet", "$first", "$last"]);
    prop_oneof![
        match_spec().prop_map(|spec| ("$match".to_string(), spec)),
        (expression(), prop::collection::vec((pick(&["x", "y"]), accumulator, expression()), 0..3)).prop_map(
            |(key, outputs)| {
                let mut spec = Map::new();
                spec.insert("_id".into(), key);
                for (name, accumulator, argument) in outputs {
                    spec.insert(name, json!({accumulator: argument}));
                }
                ("$group".to_string(), Value::Object(spec))
            }
        ),
        prop::collection::vec((field(), prop_oneof![Just(json!(0)), Just(json!(1)), expression()]), 1..3)
            .prop_map(|fields| ("$project".to_string(), object_of(fields))),
        prop::collection::vec((field(), prop::sample::select(vec![1, -1]).prop_map(|n| json!(n))), 1..3)
            .prop_map(|keys| ("$sort".to_string(), object_of(keys))),
        (pick(&["$limit", "$skip"]), 0..4u8).prop_map(|(name, n)| (name, json!(n))),
        (pick(&["$list", "$a", "$n"]), any::<bool>()).prop_map(|(path, keep)| (
            "$unwind".to_string(),
            json!({"path": path, "preserveNullAndEmptyArrays": keep})
        )),
        Just(("$count".to_string(), json!("c"))),
        (key(), junk()),
    ]
}

/// Stored objects: the schema's fields with values of their type, or of any other.
fn stored_object() -> impl Strategy<Value = Map<String, Value>> {
    let value = prop_oneof![
        junk(),
        prop::sample::select(vec![0, 1, 2, 10]).prop_map(|n| json!(n)),
        Just(json!({"__type": "Date", "iso": "2024-06-01T23:45:06.789Z"})),
        Just(json!({"__type": "Pointer", "className": "A", "objectId": "x"})),
        Just(json!([{"x": 1}, 2, "s", []])),
    ];
    (
        pick(&["o1", "o2", "o3"]),
        prop::collection::vec((pick(&["n", "d", "a", "p", "list", "createdAt"]), value), 0..5),
    )
        .prop_map(|(id, fields)| {
            let mut object: Map<String, Value> = fields.into_iter().collect();
            object.insert("objectId".into(), json!(id));
            object
        })
}

fn schema() -> ClassSchema {
    let mut schema = ClassSchema::new("Fuzzed");
    schema.set_field("n", FieldSpec::of(FieldType::Number));
    schema.set_field("d", FieldSpec::of(FieldType::Date));
    schema.set_field("p", FieldSpec::of(FieldType::Pointer { target_class: "A".into() }));
    schema.set_field("a", FieldSpec::of(FieldType::Object));
    schema.set_field("list", FieldSpec::of(FieldType::Array));
    schema
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn requests_never_panic_and_fail_with_query_codes(
        stages in prop::collection::vec(stage(), 0..5),
        extra in prop::collection::vec((key(), junk()), 0..2),
        as_pipeline in any::<bool>(),
        objects in prop::collection::vec(stored_object(), 0..6),
    ) {
        let mut params = Map::new();
        if as_pipeline {
            let stages: Vec<Value> = stages.into_iter().map(|(name, spec)| json!({name: spec})).collect();
            params.insert("pipeline".into(), Value::Array(stages));
        } else {
            params.extend(stages);
        }
        params.extend(extra);
        match AggregateRequest::from_params(&params) {
            Ok(AggregateRequest::Pipeline { stages, .. }) => {
                let plan = plan(stages, &schema());
                let mut evaluation = Evaluation::new(&plan.stages, plan.needed_fields.as_ref());
                let outcome = evaluation.feed(objects).and_then(|()| evaluation.finish());
                if let Err(error) = outcome {
                    prop_assert_eq!(error.code, ErrorCode::InvalidQuery, "{} for {:?}", error.message, params);
                }
            }
            Ok(AggregateRequest::Distinct { .. }) => {}
            Err(error) => prop_assert!(
                matches!(error.code, ErrorCode::InvalidQuery | ErrorCode::InvalidJson | ErrorCode::InvalidKeyName),
                "unexpected code {:?} for {:?}", error.code, params
            ),
        }
    }
}
