//! Pipelines over parse-server's aggregate fixture (spec/ParseQuery.Aggregate.spec.js), each
//! run twice: split by [`plan`] between an emulated storage (the matcher) and an [`Evaluation`]
//! fed in small pages, and wholly in memory. Both must give the same answer.

use serde_json::{Value, json};

use super::stages::sort_documents;
use super::*;
use crate::matcher::matches;
use crate::schema::FieldSpec;
use crate::value::Object;

fn schema() -> ClassSchema {
    let mut schema = ClassSchema::new("TestObject");
    for (name, field_type) in [
        ("score", FieldType::Number),
        ("name", FieldType::String),
        ("sender", FieldType::Object),
        ("views", FieldType::Number),
        ("size", FieldType::Array),
        ("when", FieldType::Date),
        ("owner", FieldType::Pointer { target_class: "_User".into() }),
    ] {
        schema.set_field(name, FieldSpec::of(field_type));
    }
    schema
}

fn date(iso: &str) -> Value {
    json!({"__type": "Date", "iso": iso})
}

fn user(id: &str) -> Value {
    json!({"__type": "Pointer", "className": "_User", "objectId": id})
}

/// Four objects as storage returns them (timestamps as strings, ACL as `_rperm`/`_wperm`).
fn objects() -> Vec<Object> {
    [
        json!({"objectId": "o1", "createdAt": "2024-01-05T10:00:00.000Z", "updatedAt": "2024-02-05T10:00:00.000Z",
               "score": 10, "name": "foo", "sender": {"group": "A"}, "views": 900, "size": ["S", "M"],
               "when": date("2024-03-01T10:00:00.000Z"), "owner": user("u1"), "_rperm": ["*"], "_wperm": ["*"]}),
        json!({"objectId": "o2", "createdAt": "2024-01-06T10:00:00.000Z", "updatedAt": "2024-02-06T10:00:00.000Z",
               "score": 10, "name": "foo", "sender": {"group": "A"}, "views": 800, "size": ["M", "L"],
               "when": date("2024-03-02T10:00:00.000Z"), "owner": user("u2")}),
        json!({"objectId": "o3", "createdAt": "2024-01-07T10:00:00.000Z", "updatedAt": "2024-02-07T10:00:00.000Z",
               "score": 10, "name": "bar", "sender": {"group": "B"}, "views": 700, "size": ["S"],
               "owner": user("u1")}),
        json!({"objectId": "o4", "createdAt": "2024-01-08T10:00:00.000Z", "updatedAt": "2024-02-08T10:00:00.000Z",
               "score": 20, "name": "dpl", "sender": {"group": "B"}, "views": 700, "size": ["S"]}),
    ]
    .into_iter()
    .map(|value| value.as_object().cloned().unwrap_or_default())
    .collect()
}

fn request(params: Value) -> ParseResult<AggregateRequest> {
    AggregateRequest::from_params(params.as_object().expect("parameters are an object"))
}

/// Runs a request both ways and returns the results once they agree.
fn run(params: Value) -> ParseResult<Vec<Value>> {
    let AggregateRequest::Pipeline { stages, filter } = request(params.clone())? else {
        panic!("{params} is not a pipeline");
    };
    let schema = schema();
    let wanted: Vec<Object> = objects().into_iter().filter(|object| matches(&filter, object)).collect();

    let typed: Vec<Stage> = stages
        .iter()
        .cloned()
        .map(|stage| match stage {
            Stage::Match(filter) => Stage::Match(typed_operands(filter, &schema)),
            other => other,
        })
        .collect();
    let mut whole = Evaluation::new(&typed, None);
    whole.feed(wanted.clone())?;
    let in_memory = whole.finish()?;

    let plan = plan(stages, &schema);
    let mut found: Vec<Object> =
        wanted.into_iter().filter(|object| matches(&plan.query.filter, object)).collect();
    sort_documents(&mut found, &plan.query.order);
    let found: Vec<Object> = found
        .into_iter()
        .skip(plan.query.skip as usize)
        .take(plan.query.limit.map_or(usize::MAX, |limit| limit as usize))
        .collect();
    let mut split = Evaluation::new(&plan.stages, plan.needed_fields.as_ref());
    for page in found.chunks(2) {
        split.feed(page.to_vec())?;
    }
    let planned = split.finish()?;
    assert_eq!(planned, in_memory, "plan {plan:?} disagrees with the whole pipeline in memory");
    Ok(planned.into_iter().map(Value::Object).collect())
}

fn field<'a>(results: &'a [Value], name: &str) -> Vec<&'a Value> {
    results.iter().map(|result| &result[name]).collect()
}

fn code(result: ParseResult<impl std::fmt::Debug>) -> (ErrorCode, String) {
    let error = result.expect_err("an error");
    (error.code, error.message)
}

#[test]
fn groups_by_a_field_with_every_accumulator() {
    let results = run(json!({"pipeline": [{"$group": {
        "_id": "$name",
        "total": {"$sum": "$score"}, "count": {"$sum": 1}, "doubled": {"$sum": 2}, "n": {"$count": {}},
        "low": {"$min": "$views"}, "high": {"$max": "$views"}, "mean": {"$avg": "$views"},
        "views": {"$push": "$views"}, "sizes": {"$addToSet": "$sender.group"},
        "first": {"$first": "$objectId"}, "last": {"$last": "$_id"}, "none": {"$avg": "$missing"},
    }}]}))
    .unwrap();
    assert_eq!(
        results,
        vec![
            json!({"objectId": "foo", "total": 20, "count": 2, "doubled": 4, "n": 2, "low": 800, "high": 900,
                   "mean": 850, "views": [900, 800], "sizes": ["A"], "first": "o1", "last": "o2", "none": null}),
            json!({"objectId": "bar", "total": 10, "count": 1, "doubled": 2, "n": 1, "low": 700, "high": 700,
                   "mean": 700, "views": [700], "sizes": ["B"], "first": "o3", "last": "o3", "none": null}),
            json!({"objectId": "dpl", "total": 20, "count": 1, "doubled": 2, "n": 1, "low": 700, "high": 700,
                   "mean": 700, "views": [700], "sizes": ["B"], "first": "o4", "last": "o4", "none": null}),
        ]
    );
}

#[test]
fn groups_everything_under_empty_keys() {
    for key in [json!(null), json!(""), json!({}), json!([])] {
        let results =
            run(json!({"$group": {"_id": key, "total": {"$sum": "$score"}, "avg": {"$avg": "$score"},
            "min": {"$min": "$score"}, "max": {"$max": "$score"}, "unknown": {"$sum": "$unknownfield"}}}))
            .unwrap();
        assert_eq!(
            results,
            vec![json!({"objectId": null, "total": 50, "avg": 12.5, "min": 10, "max": 20, "unknown": 0})],
            "_id {key}"
        );
    }
}

#[test]
fn groups_by_pointers_dates_and_several_fields() {
    let by_owner = run(json!({"$group": {"_id": "$owner", "count": {"$sum": 1}}})).unwrap();
    assert_eq!(
        by_owner,
        vec![
            json!({"objectId": "u1", "count": 2}),
            json!({"objectId": "u2", "count": 1}),
            json!({"objectId": null, "count": 1})
        ]
    );
    let by_day = run(json!({"$group": {
        "_id": {"day": {"$dayOfMonth": "$_created_at"}, "month": {"$month": "$createdAt"}, "year": {"$year": "$updatedAt"}},
        "count": {"$sum": 1}, "latest": {"$max": "$createdAt"}}}))
    .unwrap();
    assert_eq!(by_day.len(), 4);
    assert_eq!(
        by_day[0],
        json!({"objectId": {"day": 5, "month": 1, "year": 2024}, "count": 1, "latest": date("2024-01-05T10:00:00.000Z")})
    );
    let compound =
        run(json!({"$group": {"_id": {"score": "$score", "views": "$views", "owner": "$owner"}}})).unwrap();
    assert_eq!(
        field(&compound, "objectId"),
        vec![
            &json!({"score": 10, "views": 900, "owner": "u1"}),
            &json!({"score": 10, "views": 800, "owner": "u2"}),
            &json!({"score": 10, "views": 700, "owner": "u1"}),
            &json!({"score": 20, "views": 700}),
        ]
    );
    let when = run(json!({"$match": {"when": {"$exists": true}}, "$group": {"_id": {"$week": "$when"}, "n": {"$sum": 1}}})).unwrap();
    assert_eq!(when, vec![json!({"objectId": 8, "n": 2})]);
}

#[test]
fn matches_like_parse_server() {
    let ids = |params: Value| -> Vec<Value> {
        run(params).unwrap().iter().map(|result| result["objectId"].clone()).collect()
    };
    assert_eq!(ids(json!({"$match": {"score": {"$gt": 15}}})), vec![json!("o4")]);
    assert_eq!(ids(json!({"$match": {"score": {"$gt": 5, "$lt": 15}, "views": 900}})), vec![json!("o1")]);
    assert_eq!(
        ids(
            json!({"$match": {"$or": [{"score": {"$gt": 15, "$lt": 25}}, {"views": {"$gt": 750, "$lt": 850}}]}})
        ),
        vec![json!("o2"), json!("o4")]
    );
    assert_eq!(ids(json!({"$match": {"_id": "o3"}})), vec![json!("o3")]);
    // A Pointer field matches a plain object id, or a pointer.
    assert_eq!(ids(json!({"$match": {"owner": "u1"}})), vec![json!("o1"), json!("o3")]);
    assert_eq!(ids(json!({"$match": {"owner": {"$in": ["u2"]}}})), vec![json!("o2")]);
    assert_eq!(ids(json!({"$match": {"owner": user("u2")}})), vec![json!("o2")]);
    // Dates as JSON strings (what a JavaScript Date becomes) on Date fields and timestamps.
    assert_eq!(ids(json!({"$match": {"when": {"$lt": "2024-03-02T00:00:00.000Z"}}})), vec![json!("o1")]);
    assert_eq!(ids(json!({"$match": {"when": "2024-03-02T10:00:00.000Z"}})), vec![json!("o2")]);
    assert_eq!(
        ids(json!({"$match": {"createdAt": {"$gte": "2024-01-07T00:00:00.000Z"}}})),
        vec![json!("o3"), json!("o4")]
    );
    assert_eq!(ids(json!({"$match": {"_created_at": "2024-01-05T10:00:00.000Z"}})), vec![json!("o1")]);
    assert_eq!(
        ids(json!({"$match": {"updatedAt": {"$lt": date("2024-02-06T00:00:00Z")}}})),
        vec![json!("o1")]
    );
    // After a reshaping stage, later $match stages run in memory on the new documents.
    let later = run(json!({"pipeline": [
        {"$group": {"_id": "$name", "total": {"$sum": "$score"}}},
        {"$match": {"total": {"$gte": 20}}},
        {"$sort": {"objectId": 1}},
    ]}))
    .unwrap();
    assert_eq!(later, vec![json!({"objectId": "dpl", "total": 20}), json!({"objectId": "foo", "total": 20})]);
    // `where` filters before the pipeline.
    assert_eq!(
        ids(json!({"where": {"name": "foo"}, "pipeline": [{"$match": {"views": {"$lt": 850}}}]})),
        vec![json!("o2")]
    );
}

#[test]
fn projects_sorts_skips_and_limits() {
    let projected =
        run(json!({"$project": {"name": 1, "sender": {"group": 1}, "twice": {"$multiply": ["$score", 2]}}}))
            .unwrap();
    assert_eq!(projected[0], json!({"objectId": "o1", "name": "foo", "sender": {"group": "A"}, "twice": 20}));
    let through_arrays = run(json!({"pipeline": [
        {"$match": {"objectId": "o1"}},
        {"$project": {"_id": 0, "list.b": 1, "list.c": 1, "deep.x.y": 1}},
    ]}));
    assert_eq!(through_arrays.unwrap(), vec![json!({})], "no such fields in the fixture: nothing kept");
    let projection = Projection::parse(&json!({"_id": 0, "list.b": 1, "list.c": 1, "deep.x.y": 1})).unwrap();
    let document =
        json!({"list": [{"b": 1, "c": 5, "d": 0}, {"c": 2}, 3, {"e": 1}], "deep": {"x": {"y": 1, "z": 2}}});
    assert_eq!(
        Value::Object(projection.apply(document.as_object().cloned().unwrap_or_default()).unwrap()),
        json!({"list": [{"b": 1, "c": 5}, {"c": 2}, {}], "deep": {"x": {"y": 1}}})
    );
    let without_id = run(json!({"$project": {"_id": 0, "updatedAt": 1}})).unwrap();
    assert_eq!(without_id[0], json!({"updatedAt": "2024-02-05T10:00:00.000Z"}));
    let excluded =
        run(json!({"$project": {"size": 0, "sender": 0, "when": 0, "owner": 0, "objectId": 0}})).unwrap();
    assert_eq!(
        excluded[3],
        json!({"createdAt": "2024-01-08T10:00:00.000Z", "updatedAt": "2024-02-08T10:00:00.000Z", "score": 20, "name": "dpl", "views": 700})
    );
    let names = |params: Value| -> Vec<Value> {
        run(params).unwrap().iter().map(|result| result["name"].clone()).collect()
    };
    assert_eq!(
        names(json!({"$sort": {"name": 1}})),
        vec![json!("bar"), json!("dpl"), json!("foo"), json!("foo")]
    );
    assert_eq!(
        names(json!({"$sort": {"name": -1, "views": 1}, "$limit": 3})),
        vec![json!("foo"), json!("foo"), json!("dpl")]
    );
    assert_eq!(
        names(json!({"pipeline": [{"$sort": {"views": -1}}, {"$skip": 1}, {"$limit": 2}]})),
        vec![json!("foo"), json!("bar")]
    );
    assert_eq!(
        names(json!({"pipeline": [{"$sort": {"views": -1}}, {"$limit": 3}, {"$skip": 1}]})),
        vec![json!("foo"), json!("bar")]
    );
    assert_eq!(run(json!({"$skip": 2})).unwrap().len(), 2);
    assert_eq!(run(json!({"$limit": 2})).unwrap().len(), 2);
    // Missing values sort last ascending, first descending; nested keys sort in memory.
    let by_when =
        run(json!({"pipeline": [{"$sort": {"when": 1}}, {"$limit": 4}, {"$project": {"_id": 1}}]})).unwrap();
    assert_eq!(field(&by_when, "objectId"), vec![&json!("o1"), &json!("o2"), &json!("o3"), &json!("o4")]);
    let by_when =
        run(json!({"pipeline": [{"$sort": {"when": -1, "objectId": 1}}, {"$project": {"_id": 1}}]})).unwrap();
    assert_eq!(field(&by_when, "objectId"), vec![&json!("o3"), &json!("o4"), &json!("o2"), &json!("o1")]);
    let nested =
        run(json!({"pipeline": [{"$sort": {"sender.group": -1, "score": -1}}, {"$limit": 1}]})).unwrap();
    assert_eq!(nested[0]["objectId"], json!("o4"));
}

#[test]
fn unwinds_and_counts() {
    let sizes = run(json!({"pipeline": [{"$unwind": "$size"}, {"$group": {"_id": "$size", "n": {"$sum": 1}}}, {"$sort": {"n": -1, "_id": 1}}]})).unwrap();
    assert_eq!(
        sizes,
        vec![
            json!({"objectId": "S", "n": 3}),
            json!({"objectId": "M", "n": 2}),
            json!({"objectId": "L", "n": 1})
        ]
    );
    let indexed = run(json!({"pipeline": [
        {"$match": {"objectId": {"$in": ["o2", "o4"]}}},
        {"$unwind": {"path": "$owner", "includeArrayIndex": "at", "preserveNullAndEmptyArrays": true}},
        {"$project": {"owner": 1, "at": 1}},
    ]}))
    .unwrap();
    assert_eq!(
        indexed,
        vec![
            json!({"objectId": "o2", "owner": user("u2"), "at": null}),
            json!({"objectId": "o4", "at": null})
        ]
    );
    let dropped = run(json!({"pipeline": [{"$unwind": "$owner"}, {"$count": "withOwner"}]})).unwrap();
    assert_eq!(dropped, vec![json!({"withOwner": 3})]);
    assert_eq!(run(json!({"$count": "total"})).unwrap(), vec![json!({"total": 4})]);
    assert_eq!(run(json!({"$match": {"score": 99}, "$count": "total"})).unwrap(), Vec::<Value>::new());
}

#[test]
fn results_look_like_parse_server_objects() {
    let results = run(json!({"$match": {"objectId": "o1"}})).unwrap();
    let result = &results[0];
    assert_eq!(result["createdAt"], json!("2024-01-05T10:00:00.000Z"));
    assert_eq!(result["when"], date("2024-03-01T10:00:00.000Z"));
    assert_eq!(result["owner"], user("u1"));
    assert!(result.get("_rperm").is_none() && result.get("_wperm").is_none() && result.get("ACL").is_none());
}

#[test]
fn plans_what_storage_can_do() {
    let schema = schema();
    let planned = |params: Value| {
        let AggregateRequest::Pipeline { stages, .. } = request(params).unwrap() else { panic!() };
        plan(stages, &schema)
    };
    let grouped = planned(json!({"pipeline": [
        {"$match": {"score": {"$gt": 5}}}, {"$match": {"owner": "u1"}},
        {"$group": {"_id": "$name", "total": {"$sum": "$views"}}}, {"$sort": {"total": 1}},
    ]}));
    assert_eq!(
        grouped.query.filter,
        Filter::And(vec![
            parse_where(&json!({"score": {"$gt": 5}})).unwrap(),
            parse_where(&json!({"owner": user("u1")})).unwrap()
        ])
    );
    assert_eq!(grouped.stages.len(), 2);
    assert_eq!(grouped.needed_fields, Some(["name".to_string(), "views".to_string()].into_iter().collect()));
    let top = planned(
        json!({"pipeline": [{"$sort": {"score": -1}}, {"$skip": 1}, {"$limit": 2}, {"$project": {"name": 1}}]}),
    );
    assert_eq!((top.query.order.len(), top.query.skip, top.query.limit), (1, 1, Some(2)));
    assert_eq!(top.needed_fields, Some(["name".to_string(), "objectId".to_string()].into_iter().collect()));
    // A sort storage orders differently (an Object field), or with no limit, stays in memory.
    assert!(planned(json!({"$sort": {"sender": 1}, "$limit": 2})).query.order.is_empty());
    assert!(planned(json!({"$sort": {"score": 1}})).query.order.is_empty());
    assert_eq!(planned(json!({"$match": {"score": 10}})).needed_fields, None);
}

#[test]
fn a_reached_limit_saturates_the_evaluation() {
    let AggregateRequest::Pipeline { stages, .. } =
        request(json!({"$match": {"score": 10}, "$limit": 1})).unwrap()
    else {
        panic!()
    };
    let plan = plan(stages, &schema());
    let mut evaluation = Evaluation::new(&plan.stages, plan.needed_fields.as_ref());
    assert!(!evaluation.is_saturated());
    evaluation.feed(objects().into_iter().take(1)).unwrap();
    assert!(evaluation.is_saturated());
    let AggregateRequest::Pipeline { stages, .. } =
        request(json!({"$sort": {"score": 1}, "$limit": 1})).unwrap()
    else {
        panic!()
    };
    let mut evaluation = Evaluation::new(&stages, None);
    evaluation.feed(objects()).unwrap();
    assert!(!evaluation.is_saturated(), "a $sort needs every object before its $limit");
}

#[test]
fn reads_every_request_form() {
    // The URL form: every parameter is JSON text.
    let url =
        request(json!({"$group": "{\"_id\":\"$name\"}", "$limit": "2", "where": "{\"score\":10}"})).unwrap();
    let AggregateRequest::Pipeline { stages, filter } = url else { panic!() };
    assert_eq!(stages.len(), 2);
    assert_eq!(filter, parse_where(&json!({"score": 10})).unwrap());
    let object_form = request(
        json!({"pipeline": {"$group": {"_id": "$name"}}, "hint": "name_1", "readPreference": "SECONDARY"}),
    )
    .unwrap();
    assert!(matches!(object_form, AggregateRequest::Pipeline { ref stages, .. } if stages.len() == 1));
    assert_eq!(
        request(json!({"distinct": "sender.group", "where": {"score": 10}, "hint": "x", "explain": false}))
            .unwrap(),
        AggregateRequest::Distinct {
            path: FieldPath::parse("sender.group"),
            filter: parse_where(&json!({"score": 10})).unwrap()
        }
    );
    assert!(
        matches!(request(json!({})).unwrap(), AggregateRequest::Pipeline { ref stages, .. } if stages.is_empty())
    );
}

#[test]
fn refuses_what_it_cannot_answer_with_102() {
    let cases = [
        json!({"unknown": {}}),
        json!({"$group": {}}),
        json!({"$group": {"objectId": "$name"}}),
        json!({"$lookup": {"from": "Other"}}),
        json!({"$bogus": 1}),
        json!({"$group": {"_id": "$name", "spread": {"$stdDevPop": "$score"}}}),
        json!({"$group": {"_id": "$name", "total": "$score"}}),
        json!({"$group": {"_id": "$name", "a.b": {"$sum": 1}}}),
        json!({"$group": {"_id": "$name", "total": {"$sum": ["$a", "$b"]}}}),
        json!({"$group": {"_id": {"$concat": ["$a", "$b"]}}}),
        json!({"$sort": {"score": 2}}),
        json!({"$sort": {"score": {"$meta": "textScore"}}}),
        json!({"$sort": {}}),
        json!({"$limit": 0}),
        json!({"$limit": 1.5}),
        json!({"$skip": -1}),
        json!({"$count": "$total"}),
        json!({"$count": ""}),
        json!({"$unwind": "size"}),
        json!({"$project": {}}),
        json!({"$project": {"name": 1, "size": 0}}),
        json!({"$project": {"sender": 1, "sender.group": 1}}),
        json!({"$match": {"$expr": {"$gt": ["$a", "$b"]}}}),
        json!({"$match": {"owner": {"$inQuery": {"className": "_User"}}}}),
        json!({"$match": "score"}),
        json!({"pipeline": [{"$match": {}, "$limit": 1}]}),
        json!({"pipeline": ["$match"]}),
        json!({"pipeline": 3}),
        json!({"pipeline": [], "limit": 3}),
        json!({"distinct": "score", "$match": {"score": 10}}),
        json!({"distinct": {"field": "score"}}),
        json!({"explain": true}),
        json!({"rawValues": true, "pipeline": []}),
        json!({"rawFieldNames": true, "pipeline": []}),
    ];
    for params in cases {
        let (code, message) = code(request(params.clone()));
        assert_eq!(code, ErrorCode::InvalidQuery, "{params}: {message}");
    }
    let (_, message) = code(request(json!({"unknown": {}})));
    assert_eq!(message, "Invalid aggregate stage 'unknown'.");
    let (_, message) = code(request(json!({"$group": {}})));
    assert_eq!(message, "Invalid parameter for query: group. Missing key _id");
    let (_, message) = code(request(json!({"$lookup": {}})));
    assert!(message.contains("$lookup"), "{message}");
    let (_, message) = code(request(json!({"$group": {"_id": null, "s": {"$stdDevPop": "$score"}}})));
    assert!(message.contains("$stdDevPop"), "{message}");
    assert_eq!(code(request(json!({"distinct": "_hashed_password"}))).0, ErrorCode::InvalidKeyName);
    assert_eq!(code(request(json!({"where": "{not json"}))).0, ErrorCode::InvalidJson);
    let (code_of_match, message) = code(request(json!({"$match": {"score": {"$bogus": 1}}})));
    assert_eq!((code_of_match, message.as_str()), (ErrorCode::InvalidQuery, "bad constraint: $bogus"));
    // Evaluation errors are 102 too: a date part of something that is no date.
    assert_eq!(code(run(json!({"$group": {"_id": {"$year": "$name"}}}))).0, ErrorCode::InvalidQuery);
}
