//! `/config`: Parse Config (parse-server's `GlobalConfigRouter`), the app's parameters that
//! clients read with `Parse.Config.get()`. They live in one `_GlobalConfig` object, id `"1"`,
//! as `params` (name → value in Parse's encoding) and `masterKeyOnly` (name → whether only the
//! master key sees it), which is where parse-server keeps them, so its databases carry over.

use reparse_core::query::FieldPath;
use reparse_core::schema::FieldType;
use reparse_core::update::{FieldUpdate, Updates};
use reparse_core::value::{Object, format_date};
use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value, json};

use crate::context::Ctx;
use crate::controllers::objects::by_id;
use crate::controllers::schema_writes::{class_for_write, ensure_fields};
use crate::error::{ApiError, ApiResult};
use crate::routes::ParseResponse;

const CONFIG_CLASS: &str = "_GlobalConfig";
const CONFIG_ID: &str = "1";
const PARAMS: &str = "params";
const MASTER_KEY_ONLY: &str = "masterKeyOnly";

/// `GET /config`: every parameter for the master key; for anyone else, those not marked
/// master-only. An app without a config answers `{"params": {}}`.
pub async fn get(ctx: &Ctx<'_>) -> ApiResult<ParseResponse> {
    let Some(stored) = stored_config(ctx).await? else {
        return Ok(ParseResponse::ok(json!({ PARAMS: {} })));
    };
    let mut params = object_field(&stored, PARAMS);
    let mut master_only = stored.get(MASTER_KEY_ONLY).and_then(Value::as_object).cloned();
    if !ctx.auth.master
        && let Some(master_only) = master_only.as_mut()
    {
        params.retain(|name, _| !master_only.get(name).is_some_and(is_truthy));
        master_only.retain(|_, hidden| !is_truthy(hidden));
    }
    let mut body = json!({ PARAMS: params });
    if let Some(master_only) = master_only {
        body[MASTER_KEY_ONLY] = Value::Object(master_only);
    }
    Ok(ParseResponse::ok(body))
}

/// `PUT /config` (master key) with `{"params": {...}, "masterKeyOnly": {...}}`: sets each named
/// parameter (`{"__op": "Delete"}` removes one) and whether it is master-only; parameters not
/// named are kept. Answers `{"result": true}`.
pub async fn update(ctx: &Ctx<'_>, body: Map<String, Value>) -> ApiResult<ParseResponse> {
    if !ctx.auth.master {
        return Err(ApiError::master_key_required());
    }
    if ctx.auth.read_only {
        return Err(ParseError::new(
            ErrorCode::OperationForbidden,
            "read-only masterKey isn't allowed to update the config.",
        )
        .into());
    }
    let params = optional_object(&body, PARAMS)?;
    let master_only = optional_object(&body, MASTER_KEY_ONLY)?;
    let mut updates: Updates = Vec::new();
    for (name, value) in &params {
        if name.is_empty() || name.contains('.') || name.starts_with('$') {
            return Err(
                ParseError::new(ErrorCode::InvalidKeyName, format!("Invalid key name: {name}")).into()
            );
        }
        let value_update = match value.get("__op").and_then(Value::as_str) {
            Some("Delete") => FieldUpdate::Delete,
            Some(op) => {
                return Err(ParseError::invalid_json(format!("config parameters cannot use {op}")).into());
            }
            None => FieldUpdate::Set(value.clone()),
        };
        let hidden = master_only.get(name).is_some_and(is_truthy);
        updates.push((nested(PARAMS, name), value_update));
        updates.push((nested(MASTER_KEY_ONLY, name), FieldUpdate::Set(Value::Bool(hidden))));
    }
    let now = json!(format_date(ctx.now));
    updates.push((FieldPath::top("updatedAt"), FieldUpdate::Set(now.clone())));

    let schema = class_for_write(ctx, CONFIG_CLASS).await?;
    let fields = [PARAMS, MASTER_KEY_ONLY].map(|name| (name.to_string(), FieldType::Object));
    let schema = ensure_fields(ctx, schema, &fields).await?;
    // The object is made by the first update; two first updates at once both try, and the
    // second then updates what the first made.
    for _ in 0..2 {
        if ctx.store.update(&schema, CONFIG_ID, &by_id(CONFIG_ID), &updates).await?.is_some() {
            return Ok(ParseResponse::ok(json!({"result": true})));
        }
        let mut config = Object::new();
        config.insert("objectId".into(), json!(CONFIG_ID));
        config.insert("createdAt".into(), now.clone());
        config.insert(PARAMS.into(), json!({}));
        config.insert(MASTER_KEY_ONLY.into(), json!({}));
        reparse_core::update::apply_updates(&mut config, &updates)?;
        match ctx.store.insert(&schema, &config).await {
            Ok(()) => return Ok(ParseResponse::ok(json!({"result": true}))),
            Err(error) if error.code == ErrorCode::DuplicateValue => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(ParseError::internal("the config object could be neither updated nor created").into())
}

async fn stored_config(ctx: &Ctx<'_>) -> ApiResult<Option<Object>> {
    let Some(schema) = ctx.schema(CONFIG_CLASS).await? else { return Ok(None) };
    let query = reparse_core::query::Query {
        limit: Some(1),
        ..reparse_core::query::Query::matching(by_id(CONFIG_ID))
    };
    Ok(ctx.store.find(&schema, &query).await?.pop())
}

fn object_field(object: &Object, field: &str) -> Map<String, Value> {
    object.get(field).and_then(Value::as_object).cloned().unwrap_or_default()
}

fn optional_object(body: &Map<String, Value>, key: &str) -> ApiResult<Map<String, Value>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map.clone()),
        Some(_) => Err(ParseError::invalid_json(format!("{key} must be an object")).into()),
    }
}

fn nested(field: &str, name: &str) -> FieldPath {
    FieldPath { field: field.to_string(), subpath: vec![name.to_string()] }
}

/// JavaScript's truthiness, as parse-server tests `masterKeyOnly[name]`.
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0 && !n.is_nan()),
        Value::String(text) => !text.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}
