//! Cloud code: the hooks an app's code registers (functions, jobs, triggers) and the runtimes
//! that run it. [`CloudCode`] is what the server calls; [`NodeCloud`] runs an unchanged
//! `cloud/main.js` in a Node.js worker process with the official `parse` SDK as its `Parse`
//! (design.md §4).
//!
//! Errors keep Parse's meaning: what the code throws comes back with its code (a `Parse.Error`)
//! or as 141 with its message; a worker that crashes or does not answer in time is 141 too, and
//! the next call starts a fresh worker.

mod node;
mod protocol;
mod rust;
pub mod schedule;
mod sdk;

use std::collections::BTreeSet;
use std::fmt;

use async_trait::async_trait;
use reparse_core::ParseError;
use serde::Serialize;
use serde_json::{Map, Value};

pub use node::{NodeCloud, NodeCloudOptions, parse_sdk_folder};
pub use rust::{FunctionRequest, RustCloud, TriggerRequest};
pub use sdk::bundled_parse_sdk;

/// What an app's cloud code defines, as its runtime reported after loading it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hooks {
    pub functions: BTreeSet<String>,
    pub jobs: BTreeSet<String>,
    pub triggers: BTreeSet<(Trigger, String)>,
}

impl Hooks {
    /// Whether `trigger` is defined for `class_name`.
    pub fn has_trigger(&self, trigger: Trigger, class_name: &str) -> bool {
        self.triggers.iter().any(|(defined, class)| *defined == trigger && class == class_name)
    }
}

/// The triggers, by their `Parse.Cloud` names. The login and password-reset triggers are on
/// `_User`, afterLogout on `_Session`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trigger {
    BeforeSave,
    AfterSave,
    BeforeDelete,
    AfterDelete,
    BeforeFind,
    AfterFind,
    BeforeLogin,
    AfterLogin,
    AfterLogout,
    BeforePasswordResetRequest,
    /// LiveQuery: a client connects (class `@Connect`, as parse-server keeps it).
    BeforeConnect,
    /// LiveQuery: a client subscribes to a query of the class.
    BeforeSubscribe,
    /// LiveQuery: an event of the class is about to be sent to one subscriber; the trigger may
    /// change the object, or stop the event (`sendEvent = false`).
    AfterLiveQueryEvent,
}

impl Trigger {
    pub const ALL: [Trigger; 13] = [
        Trigger::BeforeSave,
        Trigger::AfterSave,
        Trigger::BeforeDelete,
        Trigger::AfterDelete,
        Trigger::BeforeFind,
        Trigger::AfterFind,
        Trigger::BeforeLogin,
        Trigger::AfterLogin,
        Trigger::AfterLogout,
        Trigger::BeforePasswordResetRequest,
        Trigger::BeforeConnect,
        Trigger::BeforeSubscribe,
        Trigger::AfterLiveQueryEvent,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Trigger::BeforeSave => "beforeSave",
            Trigger::AfterSave => "afterSave",
            Trigger::BeforeDelete => "beforeDelete",
            Trigger::AfterDelete => "afterDelete",
            Trigger::BeforeFind => "beforeFind",
            Trigger::AfterFind => "afterFind",
            Trigger::BeforeLogin => "beforeLogin",
            Trigger::AfterLogin => "afterLogin",
            Trigger::AfterLogout => "afterLogout",
            Trigger::BeforePasswordResetRequest => "beforePasswordResetRequest",
            Trigger::BeforeConnect => "beforeConnect",
            Trigger::BeforeSubscribe => "beforeSubscribe",
            Trigger::AfterLiveQueryEvent => "afterLiveQueryEvent",
        }
    }

    pub fn from_name(name: &str) -> Option<Trigger> {
        Trigger::ALL.into_iter().find(|trigger| trigger.name() == name)
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The object a trigger runs for, as REST JSON (stored values, no internal fields).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerInput {
    pub class_name: String,
    /// The object as it is (after the save, or the one deleted); not for beforeSave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<Map<String, Value>>,
    /// The object before this save (an update's stored object); `None` for a create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original: Option<Map<String, Value>>,
    /// beforeSave only: the write's body, `__op`s included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Map<String, Value>>,
    /// beforeFind: the query as `Parse.Query.toJSON()` writes it (`where`, `limit`, `skip`,
    /// `order`, `keys`, `include`, `excludeKeys`, `count`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<Map<String, Value>>,
    /// beforeFind/afterFind: whether this is a get by id.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub is_get: bool,
    /// afterFind: the objects found (REST JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<Vec<Value>>,
    /// afterLiveQueryEvent: the event (`create`, `enter`, `update`, `leave`, `delete`) and the
    /// server's connected clients and subscriptions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clients: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscriptions: Option<usize>,
}

/// What a trigger answered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriggerOutcome {
    /// beforeSave: the write's body as the trigger left it (its changes included).
    pub changes: Option<Map<String, Value>>,
    /// beforeFind: the query as the trigger left it (or returned it).
    pub query: Option<Map<String, Value>>,
    /// afterFind: the objects as the trigger returned them.
    pub objects: Option<Vec<Value>>,
    /// afterLiveQueryEvent: the object to send (REST JSON), the event's name, and whether to
    /// send it at all (`sendEvent`).
    pub object: Option<Map<String, Value>>,
    pub event: Option<String>,
    pub send_event: Option<bool>,
    /// The context as the trigger left it, for the triggers after it.
    pub context: Map<String, Value>,
}

/// What a handler's `request` carries, besides the call's own arguments.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallContext {
    pub master: bool,
    /// The signed-in user as REST JSON (with `sessionToken`), without password or secrets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<Map<String, Value>>,
    /// `role:Name` for every role the user has, for the role validators.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub user_roles: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installation_id: Option<String>,
    pub headers: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    pub context: Map<String, Value>,
}

/// An app's cloud code, as the server uses it.
#[async_trait]
pub trait CloudCode: Send + Sync {
    /// What the code defines now (it changes when the code is reloaded).
    fn hooks(&self) -> Hooks;

    /// Runs `Parse.Cloud.define(name)` with `params`; `Ok(None)` when it returned nothing.
    async fn run_function(
        &self,
        name: &str,
        params: Map<String, Value>,
        context: CallContext,
    ) -> Result<Option<Value>, ParseError>;

    /// Runs `Parse.Cloud.job(name)` to its end, however long it takes (its `_JobStatus` is
    /// `job_id`); `Ok` with what it returned.
    async fn run_job(
        &self,
        name: &str,
        params: Map<String, Value>,
        job_id: &str,
        context: CallContext,
    ) -> Result<Option<Value>, ParseError>;

    /// Runs `trigger` for `input.class_name` (the caller checks [`Hooks::has_trigger`] first);
    /// an error from a before-trigger stops the write.
    async fn run_trigger(
        &self,
        trigger: Trigger,
        input: TriggerInput,
        context: CallContext,
    ) -> Result<TriggerOutcome, ParseError>;
}
