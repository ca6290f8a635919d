//! The lines a worker and the server exchange (js/worker.js documents the same shapes).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{CallContext, TriggerInput};

/// Server → worker.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub(crate) enum ToWorker<'a> {
    Call { id: u64, kind: &'static str, name: &'a str, request: CallRequest<'a> },
}

/// What a call's handler gets: the call's own part and the caller.
#[derive(Debug, Serialize)]
pub(crate) struct CallRequest<'a> {
    #[serde(flatten)]
    pub(crate) input: CallInput<'a>,
    #[serde(flatten)]
    pub(crate) context: &'a CallContext,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum CallInput<'a> {
    Function {
        params: &'a Map<String, Value>,
    },
    Trigger(&'a TriggerInput),
    #[serde(rename_all = "camelCase")]
    Job {
        params: &'a Map<String, Value>,
        job_id: &'a str,
    },
}

/// Worker → server.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub(crate) enum FromWorker {
    Ready {
        functions: Vec<String>,
        jobs: Vec<String>,
        triggers: Vec<DefinedTrigger>,
    },
    Result {
        id: u64,
        #[serde(default)]
        result: Option<Value>,
    },
    Error {
        id: u64,
        code: i64,
        message: String,
    },
    Log {
        level: String,
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DefinedTrigger {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) class_name: String,
}
