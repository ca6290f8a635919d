//! LiveQuery: Parse's real-time subscriptions over a WebSocket, with the protocol the SDKs'
//! `query.subscribe()` speaks.
//!
//! - A client connects (`connect` with the app id, keys, optional session token), then
//!   `subscribe`s queries by `requestId` (`className`, `where`, `keys`, `watch`, optional
//!   session token), `update`s or `unsubscribe`s them.
//! - Every write to a class the app's `liveQuery.classNames` lists is published here after it
//!   succeeds; for each subscription on the class the core's matcher decides, on the object
//!   before and after the write, between `create`, `enter`, `update`, `leave` and `delete`
//!   (`watch` limits updates to changes of those fields). Each delivery is checked as a read by
//!   the subscriber: the class-level `find` permission (with pointer permissions), the object's
//!   ACL against the user and their roles (resolved at delivery, so role changes apply), and
//!   protected fields are removed as a find would. A session that is no longer valid ends the
//!   subscriptions that use it.
//! - Each connection has a bounded queue; a client that does not read and lets it fill is
//!   disconnected rather than let memory grow.
//!
//! Fan-out runs in a task of its own, so a write's answer never waits for subscribers.
//!
//! With `liveQuery.redisURL`, changes travel through Redis: every server publishes its writes
//! on the app's channel and fans out what it receives from it, so a subscriber on one server
//! hears of a write made through another. The subscriber connection is re-established (and
//! the channel subscribed again) whenever it drops.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use axum::extract::ws::{Message, WebSocket};
use chrono::Utc;
use futures::{SinkExt, StreamExt};
use reparse_core::access::Operation;
use reparse_core::matcher::matches;
use reparse_core::query::{Filter, parse_where};
use reparse_core::schema::ClassSchema;
use reparse_core::value::Object;
use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::app::{App, AppDirectory};
use crate::context::{Auth, Ctx, SessionUser};
use crate::controllers::functions::call_context;
use crate::controllers::objects::to_client_object;
use crate::controllers::query::{include_path, select_keys};
use crate::controllers::triggers::target;
use reparse_cloud::{Trigger, TriggerInput};

/// Events a connection may have waiting before it counts as too slow and is closed (the
/// default of `liveQuery.queueLimit`).
pub const CONNECTION_QUEUE: usize = 1000;

/// How often an idle connection is pinged (parse-server's `websocketTimeout` default).
pub const DEFAULT_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(10);

/// The largest message a client may send (a subscription's query); longer ones end the
/// connection.
pub const MAX_CLIENT_MESSAGE: usize = 16 * 1024 * 1024;

/// The app's `liveQuery` option.
#[derive(Debug, Clone, Default)]
pub struct LiveQueryOptions {
    /// Classes whose changes are published; no others are.
    pub class_names: HashSet<String>,
    /// `redisURL`: the Redis that carries changes between servers.
    pub redis_url: Option<String>,
    /// `queueLimit` (Reparse's): events a connection may have waiting before it is closed as
    /// too slow; `None` is [`CONNECTION_QUEUE`].
    pub queue_limit: Option<usize>,
    /// `liveQueryServerOptions.websocketTimeout`: how often connections are pinged (a peer
    /// silent for a whole period is closed); `None` is [`DEFAULT_KEEP_ALIVE`].
    pub websocket_timeout: Option<std::time::Duration>,
    /// `liveQueryServerOptions.keyPairs`: when given, a `connect` must carry one of these keys
    /// (name, value) instead of the app's.
    pub key_pairs: Vec<(String, String)>,
}

/// A transactional batch's LiveQuery events, held until it commits: subscribers never hear of
/// writes a rollback undoes.
#[derive(Default)]
pub struct PendingEvents {
    events: Mutex<Vec<Change>>,
}

impl PendingEvents {
    pub(crate) fn hold(
        &self,
        live: &LiveQuery,
        class_name: &str,
        original: Option<Object>,
        current: Option<Object>,
    ) {
        if live.has_subscribers(class_name) {
            let change = Change { class_name: class_name.to_string(), original, current };
            self.events.lock().unwrap_or_else(|p| p.into_inner()).push(change);
        }
    }

    /// Publishes the held events (after the commit).
    pub fn publish(self, live: &LiveQuery) {
        for change in self.events.into_inner().unwrap_or_else(|p| p.into_inner()) {
            live.publish(&change.class_name, change.original, change.current);
        }
    }
}

/// An app's subscriptions.
pub struct LiveQuery {
    options: LiveQueryOptions,
    /// The Redis channel, when changes travel between servers.
    redis: Option<Arc<RedisBus>>,
    /// Shared with the hub of the app this one replaced (see [`LiveQuery::carry_subscribers_from`]).
    clients: Arc<Mutex<HashMap<u64, ClientState>>>,
    next_client: Arc<AtomicU64>,
    /// The app, set by the first connection (a write only publishes when someone listens).
    app: RwLock<Weak<App>>,
}

struct ClientState {
    sender: mpsc::Sender<String>,
    /// Events sent to the connection and not yet written to its socket.
    queued: Arc<AtomicUsize>,
    /// Wakes the connection to close it (a client too slow to keep up).
    kicked: Arc<tokio::sync::Notify>,
    /// The connection's session token, for subscriptions that name none.
    session_token: Option<String>,
    /// The connection gave the master key: it reads everything.
    master: bool,
    subscriptions: HashMap<u64, Arc<Subscription>>,
}

struct Subscription {
    class_name: String,
    filter: Filter,
    keys: Option<Vec<String>>,
    watch: Option<Vec<String>>,
    /// Pointer fields (paths) sent as the objects they point to: Reparse's own, beyond
    /// parse-server's protocol.
    include: Vec<Vec<String>>,
    session_token: Option<String>,
}

/// A subscription to deliver a change to, copied out of the hub's lock.
struct Listener {
    client_id: u64,
    request_id: u64,
    subscription: Arc<Subscription>,
    /// The subscription's session token, else its connection's.
    session_token: Option<String>,
    master: bool,
    sender: mpsc::Sender<String>,
    queued: Arc<AtomicUsize>,
    kicked: Arc<tokio::sync::Notify>,
}

impl Listener {
    /// Tells the subscriber of an error about their subscription (a refused event, a session
    /// no longer valid).
    fn send_error(&self, error: ParseError) {
        let _ = self.sender.try_send(error_message(
            error.code.number(),
            &error.message,
            false,
            Some(self.request_id),
        ));
    }
}

/// One change to publish: the object before and after (stored form); `None` before a create
/// and after a delete.
#[derive(serde::Serialize, serde::Deserialize)]
struct Change {
    #[serde(rename = "className")]
    class_name: String,
    original: Option<Object>,
    current: Option<Object>,
}

/// Changes over Redis pub/sub: one channel per app.
struct RedisBus {
    url: String,
    channel: String,
    /// The publishing connection, made on first use (and re-made by the manager when it drops).
    publisher: tokio::sync::Mutex<Option<redis::aio::ConnectionManager>>,
    /// Whether this server is subscribed to the channel now (Redis keeps no message for a
    /// subscriber that is not there yet).
    subscribed: tokio::sync::watch::Sender<bool>,
}

/// How long a `subscribe` waits for the server's Redis subscription before it fails.
const REDIS_READY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long to wait before connecting to Redis again.
const REDIS_RETRY: std::time::Duration = std::time::Duration::from_secs(1);

impl RedisBus {
    fn new(url: &str, app_id: &str) -> Arc<RedisBus> {
        Arc::new(RedisBus {
            url: url.to_string(),
            channel: format!("reparse:livequery:{app_id}"),
            publisher: tokio::sync::Mutex::new(None),
            subscribed: tokio::sync::watch::Sender::new(false),
        })
    }

    fn publish(self: &Arc<Self>, change: &Change) {
        let Ok(payload) = serde_json::to_string(change) else { return };
        let bus = self.clone();
        tokio::spawn(async move {
            let manager = {
                let mut publisher = bus.publisher.lock().await;
                if publisher.is_none() {
                    let client = redis::Client::open(bus.url.as_str());
                    if let Ok(client) = client {
                        *publisher = redis::aio::ConnectionManager::new(client).await.ok();
                    }
                }
                publisher.clone()
            };
            let Some(mut manager) = manager else {
                tracing::warn!(url = %bus.url, "LiveQuery change not published: Redis is not reachable");
                return;
            };
            let sent: redis::RedisResult<i64> =
                redis::cmd("PUBLISH").arg(&bus.channel).arg(payload).query_async(&mut manager).await;
            if let Err(error) = sent {
                tracing::warn!(url = %bus.url, %error, "LiveQuery change not published");
            }
        });
    }

    /// Subscribes to the channel (again after each failure) for as long as the app lives.
    fn listen(self: &Arc<Self>, app: Weak<App>) {
        let bus = self.clone();
        tokio::spawn(async move {
            while app.upgrade().is_some() {
                let outcome = subscribe_loop(&bus.url, &bus.channel, &app, &bus.subscribed).await;
                bus.subscribed.send_replace(false);
                match outcome {
                    Ok(()) => return,
                    Err(error) => {
                        tracing::warn!(url = %bus.url, %error, "LiveQuery's Redis subscription dropped; subscribing again");
                        tokio::time::sleep(REDIS_RETRY).await;
                    }
                }
            }
        });
    }
}

/// Receives the channel's changes and fans them out here, until the app is gone (`Ok`) or the
/// connection fails (`Err`).
async fn subscribe_loop(
    url: &str,
    channel: &str,
    app: &Weak<App>,
    subscribed: &tokio::sync::watch::Sender<bool>,
) -> redis::RedisResult<()> {
    let client = redis::Client::open(url)?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(channel).await?;
    subscribed.send_replace(true);
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        let Some(app) = app.upgrade() else { return Ok(()) };
        let payload: String = match message.get_payload() {
            Ok(payload) => payload,
            Err(_) => continue,
        };
        if let Ok(change) = serde_json::from_str::<Change>(&payload) {
            app.live_query.deliver(change);
        }
    }
    Err(std::io::Error::other("the subscription ended").into())
}

impl LiveQuery {
    pub fn new(app_id: &str, options: LiveQueryOptions) -> LiveQuery {
        let redis = options.redis_url.as_deref().map(|url| RedisBus::new(url, app_id));
        LiveQuery {
            redis,
            options,
            clients: Arc::default(),
            next_client: Arc::new(AtomicU64::new(1)),
            app: RwLock::new(Weak::new()),
        }
    }

    /// Takes over the connected clients of the hub of the app this one replaces (its registry
    /// record changed): their subscriptions go on hearing of writes, which now reach this hub.
    pub fn carry_subscribers_from(&mut self, previous: &LiveQuery) {
        self.clients = previous.clients.clone();
        self.next_client = previous.next_client.clone();
    }

    /// Whether writes to this class are published.
    pub fn publishes(&self, class_name: &str) -> bool {
        self.options.class_names.contains(class_name)
    }

    /// Whether anyone subscribes to the class now (writes skip the work when no one does).
    /// With Redis, subscribers on other servers are not known here: always.
    pub fn has_subscribers(&self, class_name: &str) -> bool {
        if !self.publishes(class_name) {
            return false;
        }
        if self.redis.is_some() {
            return true;
        }
        let clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        clients.values().any(|client| client.subscriptions.values().any(|s| s.class_name == class_name))
    }

    /// Publishes a write; the fan-out runs in the background (on every server, with Redis).
    pub fn publish(&self, class_name: &str, original: Option<Object>, current: Option<Object>) {
        if !self.has_subscribers(class_name) {
            return;
        }
        let change = Change { class_name: class_name.to_string(), original, current };
        if let Some(redis) = &self.redis {
            redis.publish(&change);
            return;
        }
        self.deliver(change);
    }

    /// Fans a change out to this server's subscribers.
    fn deliver(&self, change: Change) {
        let Some(app) = self.app.read().unwrap_or_else(|p| p.into_inner()).upgrade() else { return };
        tokio::spawn(fan_out(app, change));
    }

    /// Starts listening to the app's Redis channel (with `redisURL`), for as long as the app
    /// lives. Called once the app is shared.
    pub fn start(app: &Arc<App>) {
        *app.live_query.app.write().unwrap_or_else(|p| p.into_inner()) = Arc::downgrade(app);
        if let Some(redis) = &app.live_query.redis {
            redis.listen(Arc::downgrade(app));
        }
    }

    /// Ends every subscription that uses `token` (a revoked session), telling its client.
    pub fn revoke_session(&self, token: &str) {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        for client in clients.values_mut() {
            let doomed: Vec<u64> = client
                .subscriptions
                .iter()
                .filter(|(_, s)| {
                    s.session_token.as_deref().or(client.session_token.as_deref()) == Some(token)
                })
                .map(|(id, _)| *id)
                .collect();
            for id in doomed {
                client.subscriptions.remove(&id);
                let _ = client.sender.try_send(error_message(209, "Invalid session token", false, Some(id)));
            }
        }
    }

    fn subscriptions_of(&self, class_name: &str) -> Vec<Listener> {
        let clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let mut found = Vec::new();
        for (client_id, client) in clients.iter() {
            for (request_id, subscription) in &client.subscriptions {
                if subscription.class_name == class_name {
                    let token = subscription.session_token.clone().or_else(|| client.session_token.clone());
                    found.push(Listener {
                        client_id: *client_id,
                        request_id: *request_id,
                        subscription: subscription.clone(),
                        session_token: token,
                        master: client.master,
                        sender: client.sender.clone(),
                        queued: client.queued.clone(),
                        kicked: client.kicked.clone(),
                    });
                }
            }
        }
        found
    }

    fn remove_subscription(&self, client_id: u64, request_id: u64) {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = clients.get_mut(&client_id) {
            client.subscriptions.remove(&request_id);
        }
    }

    /// Closes a connection that let its queue fill (its task notices the closed channel).
    fn drop_client(&self, client_id: u64) {
        self.clients.lock().unwrap_or_else(|p| p.into_inner()).remove(&client_id);
    }
}

fn error_message(code: i32, error: &str, reconnect: bool, request_id: Option<u64>) -> String {
    let mut message = json!({"op": "error", "code": code, "error": error, "reconnect": reconnect});
    if let Some(id) = request_id {
        message["requestId"] = json!(id);
    }
    message.to_string()
}

/// The subscriber as a reader: from their session, with their roles now. `None` when the
/// session is no longer valid.
async fn subscriber_auth(app: &App, token: Option<&str>) -> Result<Auth, ParseError> {
    let Some(token) = token else { return Ok(Auth::default()) };
    let user: SessionUser = crate::sessions::authenticate(app, token, Utc::now()).await?;
    let roles = crate::roles::role_entities(app, &user.user_id).await?;
    Ok(Auth { session_token: Some(token.to_string()), user: Some(user), roles, ..Auth::default() })
}

/// Subscriptions one fan-out task serves: past this, a change's deliveries are split between
/// tasks, so that every core works on a large fan-out.
const FAN_OUT_CHUNK: usize = 1000;

async fn fan_out(app: Arc<App>, change: Change) {
    // A class another server made (with Redis) may be missing from this server's schema
    // cache: read the schemas again before giving up.
    let store = app.storage.as_ref();
    let schema = match app.schemas.get(store, &change.class_name).await {
        Ok(Some(schema)) => schema,
        _ => {
            match app.schemas.reload(store).await.ok().and_then(|all| all.get(&change.class_name).cloned()) {
                Some(schema) => schema,
                None => return,
            }
        }
    };
    // afterLiveQueryEvent, when the app defines one for the class, sees each delivery.
    let hook = {
        let ctx = Ctx::new(&app, &crate::context::MASTER, "");
        target(&ctx, Trigger::AfterLiveQueryEvent, &change.class_name).await.ok().flatten()
    };
    let mut listeners = app.live_query.subscriptions_of(&change.class_name);
    let total = listeners.len();
    let tasks =
        std::thread::available_parallelism().map_or(1, usize::from).min(total.div_ceil(FAN_OUT_CHUNK));
    if tasks <= 1 {
        return deliver(&app, &schema, &change, hook.as_ref(), listeners, total).await;
    }
    let change = Arc::new(change);
    let per_task = total.div_ceil(tasks);
    let mut running = Vec::with_capacity(tasks);
    while !listeners.is_empty() {
        let part = listeners.split_off(listeners.len().saturating_sub(per_task));
        let (app, schema, change, hook) = (app.clone(), schema.clone(), change.clone(), hook.clone());
        running.push(tokio::spawn(async move {
            deliver(&app, &schema, &change, hook.as_ref(), part, total).await;
        }));
    }
    for task in running {
        let _ = task.await;
    }
}

/// Sends `change` to the `listeners` who may see it.
async fn deliver(
    app: &App,
    schema: &ClassSchema,
    change: &Change,
    hook: Option<&Arc<dyn reparse_cloud::CloudCode>>,
    listeners: Vec<Listener>,
    subscription_count: usize,
) {
    let live = &app.live_query;
    let limit = live.options.queue_limit.unwrap_or(CONNECTION_QUEUE);
    // What each reader (session token; apart with and without the master key) may see of the
    // change, worked out once for all their subscriptions: thousands of subscribers usually
    // share a handful of readers.
    let mut readers: [HashMap<Option<String>, Option<Reader>>; 2] = Default::default();
    for listener in listeners {
        let readers = &mut readers[usize::from(listener.master)];
        if !readers.contains_key(&listener.session_token) {
            let reader = match subscriber_auth(app, listener.session_token.as_deref()).await {
                Ok(auth) => Reader::new(Auth { master: listener.master, ..auth }, schema, change),
                Err(_) => None,
            };
            readers.insert(listener.session_token.clone(), reader);
        }
        let Some(reader) = readers.get_mut(&listener.session_token).and_then(Option::as_mut) else {
            live.remove_subscription(listener.client_id, listener.request_id);
            listener.send_error(ParseError::new(ErrorCode::InvalidSessionToken, "Invalid session token"));
            continue;
        };
        let Some(op) = reader.event(&listener.subscription, change) else { continue };
        let shown = reader.shown(app, schema, &listener.subscription, change).await;
        let message = match hook {
            None => event_message(op, &listener, shown.for_event(op), shown.original()),
            Some(cloud) => {
                let input = TriggerInput {
                    class_name: change.class_name.clone(),
                    object: shown.current.as_ref().map(|(object, _)| object.clone()),
                    original: shown.original.as_ref().map(|(object, _)| object.clone()),
                    event: Some(op.to_string()),
                    clients: Some(live.clients.lock().unwrap_or_else(|p| p.into_inner()).len()),
                    subscriptions: Some(subscription_count),
                    ..TriggerInput::default()
                };
                let ctx = Ctx::new(app, &reader.auth, "");
                let outcome = match call_context(&ctx).await {
                    Ok(call) => cloud.run_trigger(Trigger::AfterLiveQueryEvent, input, call).await,
                    Err(error) => Err(ParseError::internal(format!("{error:?}"))),
                };
                match outcome {
                    Err(error) => {
                        listener.send_error(error);
                        continue;
                    }
                    Ok(outcome) if outcome.send_event == Some(false) => continue,
                    Ok(outcome) => {
                        let op = outcome.event.as_deref().filter(|e| EVENTS.contains(e)).unwrap_or(op);
                        let object = outcome.object.map(|mut object| {
                            object.insert("className".into(), json!(change.class_name));
                            Arc::<str>::from(Value::Object(object).to_string())
                        });
                        event_message(op, &listener, object.or_else(|| shown.for_event(op)), shown.original())
                    }
                }
            }
        };
        let Some(message) = message else { continue };
        let full = listener.queued.load(Ordering::SeqCst) >= limit;
        if full || matches!(listener.sender.try_send(message), Err(mpsc::error::TrySendError::Full(_))) {
            tracing::warn!(app = %app.config.app_id, client_id = listener.client_id, "LiveQuery client too slow: disconnected");
            live.drop_client(listener.client_id);
            listener.kicked.notify_one();
        } else {
            listener.queued.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// The events a subscriber may be sent.
const EVENTS: [&str; 5] = ["create", "enter", "update", "leave", "delete"];

/// An event's message: `object` is the object as the subscriber sees it (JSON), `original` the
/// one before the change (sent with update, enter and leave).
fn event_message(
    op: &str,
    listener: &Listener,
    object: Option<Arc<str>>,
    original: Option<Arc<str>>,
) -> Option<String> {
    let object = object?;
    let (client_id, request_id) = (listener.client_id, listener.request_id);
    let mut message =
        format!(r#"{{"op":"{op}","clientId":{client_id},"requestId":{request_id},"object":{object}"#);
    if matches!(op, "update" | "enter" | "leave")
        && let Some(original) = original
    {
        message.push_str(r#","original":"#);
        message.push_str(&original);
    }
    message.push('}');
    Some(message)
}

/// What a [`Shown`] was made for: a subscription's `keys` and `include`.
type ShownFor = (Option<Vec<String>>, Vec<Vec<String>>);

/// The objects of a change as one reader sees them with one `keys` list: client form, and
/// serialized.
#[derive(Default)]
struct Shown {
    current: Option<(Map<String, Value>, Arc<str>)>,
    original: Option<(Map<String, Value>, Arc<str>)>,
}

impl Shown {
    /// The object an event carries: the one deleted for `delete`, else the object now.
    fn for_event(&self, op: &str) -> Option<Arc<str>> {
        let side = if op == "delete" { &self.original } else { &self.current };
        side.as_ref().map(|(_, json)| json.clone())
    }

    fn original(&self) -> Option<Arc<str>> {
        self.original.as_ref().map(|(_, json)| json.clone())
    }
}

/// One reader's view of a change: whether they may read the object before and after it (CLP
/// `find` and ACL), and the objects as shown to them, serialized once per `keys` list.
struct Reader {
    auth: Auth,
    /// Readable before the change (`None`: created by it).
    readable_before: Option<bool>,
    /// Readable after the change (`None`: deleted by it).
    readable_after: Option<bool>,
    /// The change as shown for each (keys, include) seen so far.
    shown: Vec<(ShownFor, Arc<Shown>)>,
}

impl Reader {
    /// `None` when the class does not let this reader find anything.
    fn new(auth: Auth, schema: &ClassSchema, change: &Change) -> Option<Reader> {
        let scope = auth.class_scope(schema, Operation::Find).ok()?;
        let acl = auth.readable(Filter::everything());
        let readable = |object: &Object| matches(&scope, object) && matches(&acl, object);
        Some(Reader {
            readable_before: change.original.as_ref().map(readable),
            readable_after: change.current.as_ref().map(readable),
            auth,
            shown: Vec::new(),
        })
    }

    /// The event this change is for this subscription, if any.
    fn event(&self, subscription: &Subscription, change: &Change) -> Option<&'static str> {
        let before = change.original.as_ref().map(|o| matches(&subscription.filter, o));
        let after = change.current.as_ref().map(|o| matches(&subscription.filter, o));
        let before = before.zip(self.readable_before).map(|(matched, readable)| matched && readable);
        let after = after.zip(self.readable_after).map(|(matched, readable)| matched && readable);
        Some(match (before, after) {
            (None, Some(true)) => "create",
            (Some(true), Some(true)) => {
                if let (Some(watch), Some(original), Some(current)) =
                    (&subscription.watch, &change.original, &change.current)
                    && !watch.iter().any(|field| original.get(field) != current.get(field))
                {
                    return None;
                }
                "update"
            }
            (Some(false), Some(true)) => "enter",
            (Some(true), Some(false)) => "leave",
            (Some(true), None) => "delete",
            _ => return None,
        })
    }

    /// The objects of the change as this reader sees them for `subscription`: protected fields
    /// removed, pointers it `include`s replaced by the objects they point to (as this reader may
    /// read them), only its `keys`, in the client's encoding; made once per keys and include.
    async fn shown(
        &mut self,
        app: &App,
        schema: &ClassSchema,
        subscription: &Subscription,
        change: &Change,
    ) -> Arc<Shown> {
        let wanted = (&subscription.keys, &subscription.include);
        if let Some((_, shown)) = self.shown.iter().find(|(seen, _)| (&seen.0, &seen.1) == wanted) {
            return shown.clone();
        }
        let ctx = Ctx::new(app, &self.auth, "");
        let sides = [change.current.as_ref(), change.original.as_ref()];
        let mut objects: Vec<Object> =
            sides.iter().flatten().map(|object| to_client_object(&ctx, schema, (*object).clone())).collect();
        for path in &subscription.include {
            if let Err(error) = include_path(&ctx, &mut objects, path).await {
                tracing::debug!(app = %app.config.app_id, %error, "LiveQuery include not resolved");
            }
        }
        let mut objects = objects.into_iter().map(|mut object| {
            if let Some(keys) = &subscription.keys {
                select_keys(&mut object, keys);
            }
            let mut with_class = object.clone();
            with_class.insert("className".into(), json!(schema.class_name));
            let json: Arc<str> = Value::Object(with_class).to_string().into();
            (object, json)
        });
        let current = sides[0].and_then(|_| objects.next());
        let original = sides[1].and_then(|_| objects.next());
        let shown = Arc::new(Shown { current, original });
        self.shown.push(((subscription.keys.clone(), subscription.include.clone()), shown.clone()));
        shown
    }
}

/// Serves one WebSocket connection until it closes.
pub async fn serve_socket(directory: Arc<dyn AppDirectory>, mut socket: WebSocket) {
    // One task per connection, reading and writing: an idle subscription costs this future and
    // its socket's small buffers, nothing more.
    // Bounded twice over: the queue limit (counted in `queued`) closes a slow client first; the
    // channel's own bound caps it whatever the limit says.
    let (sender, mut outgoing) = mpsc::channel::<String>(CONNECTION_QUEUE.max(16) * 2);
    let queued = Arc::new(AtomicUsize::new(0));
    let kicked = Arc::new(tokio::sync::Notify::new());
    // Keep-alive: a ping every period; a peer that sent nothing (not even the pong) since the
    // last one is gone, and its connection is closed. The period is the app's once it connects.
    let keep_alive = Arc::new(AtomicU64::new(DEFAULT_KEEP_ALIVE.as_millis() as u64));
    let mut heard = true;
    let mut last_ping = tokio::time::Instant::now();
    let mut connection: Option<(Arc<App>, u64)> = None;
    let shared =
        Connection { sender, queued: queued.clone(), kicked: kicked.clone(), keep_alive: keep_alive.clone() };
    loop {
        // Read again on every turn: the period changes when the client connects.
        let next_ping = last_ping + std::time::Duration::from_millis(keep_alive.load(Ordering::Relaxed));
        tokio::select! {
            () = kicked.notified() => break,
            text = outgoing.recv() => {
                let Some(text) = text else { break };
                // A peer that does not read blocks this write; being kicked (its queue is full)
                // ends the wait.
                let sent = tokio::select! {
                    sent = socket.send(Message::Text(text.into())) => sent,
                    () = kicked.notified() => break,
                };
                if sent.is_err() {
                    break;
                }
                let _ = queued.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some(n.saturating_sub(1)));
            }
            () = tokio::time::sleep_until(next_ping) => {
                if !std::mem::replace(&mut heard, false) {
                    break;
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
                last_ping = tokio::time::Instant::now();
            }
            message = socket.next() => {
                let Some(Ok(message)) = message else { break };
                heard = true;
                let text = match message {
                    Message::Text(text) => text.to_string(),
                    Message::Close(_) => break,
                    _ => continue,
                };
                let reply = match serde_json::from_str::<Value>(&text) {
                    // Boxed: its state (session checks, hooks) is large and exists only while a
                    // message is handled, not for as long as the connection idles.
                    Ok(Value::Object(request)) => {
                        Box::pin(handle(&directory, &mut connection, &shared, request)).await
                    }
                    _ => Some(error_message(1, "Invalid JSON", false, None)),
                };
                // Sent ahead of events already queued: `subscribed` comes before the first event.
                if let Some(reply) = reply
                    && socket.send(Message::Text(reply.into())).await.is_err()
                {
                    break;
                }
                // A client dropped for being slow has lost its state: end the connection too.
                if let Some((app, client_id)) = &connection
                    && !app.live_query.clients.lock().unwrap_or_else(|p| p.into_inner()).contains_key(client_id)
                {
                    break;
                }
            }
        }
    }
    if let Some((app, client_id)) = connection {
        app.live_query.drop_client(client_id);
    }
    // A closing handshake, unless the peer does not read.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), socket.close()).await;
}

/// What a connection's client state shares with it.
struct Connection {
    sender: mpsc::Sender<String>,
    /// The keep-alive period in milliseconds (the app's `websocketTimeout` once connected).
    keep_alive: Arc<AtomicU64>,
    queued: Arc<AtomicUsize>,
    kicked: Arc<tokio::sync::Notify>,
}

/// Answers one client message (`None`: nothing to send back).
async fn handle(
    directory: &Arc<dyn AppDirectory>,
    connection: &mut Option<(Arc<App>, u64)>,
    shared: &Connection,
    request: Map<String, Value>,
) -> Option<String> {
    let text =
        |key: &str| request.get(key).and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_string);
    let op = text("op").unwrap_or_default();
    let request_id = request.get("requestId").and_then(Value::as_u64);
    match op.as_str() {
        "connect" => {
            let app = match text("applicationId") {
                Some(app_id) => directory.app(&app_id).await,
                None => None,
            };
            let Some(app) = app else {
                return Some(error_message(4, "Key in request is not valid", false, None));
            };
            if app.live_query.options.class_names.is_empty() {
                return Some(error_message(4, "LiveQuery is not enabled for this app", false, None));
            }
            if !keys_accepted(&app, &request) {
                return Some(error_message(4, "Key in request is not valid", false, None));
            }
            let session_token = text("sessionToken");
            let mut auth = match subscriber_auth(&app, session_token.as_deref()).await {
                Ok(auth) => auth,
                Err(error) => return Some(error_message(error.code.number(), &error.message, false, None)),
            };
            auth.master =
                request.get("masterKey").and_then(Value::as_str) == Some(app.config.master_key.as_str());
            auth.installation_id = text("installationId");
            let described = json!({"sessionToken": session_token, "installationId": auth.installation_id});
            let input = TriggerInput {
                class_name: CONNECT_CLASS.into(),
                object: described.as_object().cloned(),
                ..TriggerInput::default()
            };
            if let Err(error) = run_hook(&app, &auth, Trigger::BeforeConnect, input).await {
                return Some(error_message(error.code.number(), &error.message, false, None));
            }
            let live = &app.live_query;
            *live.app.write().unwrap_or_else(|p| p.into_inner()) = Arc::downgrade(&app);
            let client_id = live.next_client.fetch_add(1, Ordering::Relaxed);
            live.clients.lock().unwrap_or_else(|p| p.into_inner()).insert(
                client_id,
                ClientState {
                    sender: shared.sender.clone(),
                    queued: shared.queued.clone(),
                    kicked: shared.kicked.clone(),
                    session_token,
                    master: auth.master,
                    subscriptions: HashMap::new(),
                },
            );
            if let Some(period) = live.options.websocket_timeout {
                shared.keep_alive.store(period.as_millis() as u64, Ordering::Relaxed);
            }
            *connection = Some((app, client_id));
            Some(json!({"op": "connected", "clientId": client_id}).to_string())
        }
        "subscribe" | "update" => {
            let Some((app, client_id)) = connection.as_ref() else {
                return Some(error_message(
                    4,
                    "Can not find this client, make sure you connect to server before subscribing",
                    true,
                    request_id,
                ));
            };
            let Some(request_id) = request_id else {
                return Some(error_message(1, "Request is missing a requestId", false, None));
            };
            let refuse = |error: ParseError| {
                Some(error_message(error.code.number(), &error.message, false, Some(request_id)))
            };
            let mut subscription = match subscription_from(&request) {
                Ok(subscription) => subscription,
                Err(error) => return refuse(error),
            };
            let (client_token, master) = {
                let clients = app.live_query.clients.lock().unwrap_or_else(|p| p.into_inner());
                let client = clients.get(client_id)?;
                (client.session_token.clone(), client.master)
            };
            let token = subscription.session_token.clone().or(client_token);
            let auth = match subscriber_auth(app, token.as_deref()).await {
                Ok(auth) => Auth { master, ..auth },
                Err(error) => return refuse(error),
            };
            // With Redis, a client is told it is subscribed only once changes can reach it.
            if let Some(redis) = &app.live_query.redis {
                let mut ready = redis.subscribed.subscribe();
                let waited =
                    tokio::time::timeout(REDIS_READY_WAIT, ready.wait_for(|subscribed| *subscribed)).await;
                if !matches!(waited, Ok(Ok(_))) {
                    return refuse(ParseError::new(
                        reparse_core::ErrorCode::ConnectionFailed,
                        "LiveQuery cannot reach its Redis server",
                    ));
                }
            }
            // beforeSubscribe sees the query and may narrow it (or refuse it by throwing).
            let query = request.get("query").and_then(Value::as_object).cloned().unwrap_or_default();
            let input = TriggerInput {
                class_name: subscription.class_name.clone(),
                query: Some(query),
                ..TriggerInput::default()
            };
            match run_hook(app, &auth, Trigger::BeforeSubscribe, input).await {
                Err(error) => return refuse(error),
                Ok(Some(query)) => {
                    let mut changed = request.clone();
                    let mut query = query;
                    query.insert("className".into(), json!(subscription.class_name));
                    changed.insert("query".into(), Value::Object(query));
                    subscription = match subscription_from(&changed) {
                        Ok(subscription) => subscription,
                        Err(error) => return refuse(error),
                    };
                }
                Ok(None) => {}
            }
            let mut clients = app.live_query.clients.lock().unwrap_or_else(|p| p.into_inner());
            let client = clients.get_mut(client_id)?;
            client.subscriptions.insert(request_id, Arc::new(subscription));
            Some(json!({"op": "subscribed", "clientId": client_id, "requestId": request_id}).to_string())
        }
        "unsubscribe" => {
            let Some((app, client_id)) = connection.as_ref() else {
                return Some(error_message(
                    4,
                    "Can not find this client, make sure you connect to server before unsubscribing",
                    true,
                    request_id,
                ));
            };
            let request_id = request_id?;
            let mut clients = app.live_query.clients.lock().unwrap_or_else(|p| p.into_inner());
            let removed =
                clients.get_mut(client_id).and_then(|client| client.subscriptions.remove(&request_id));
            match removed {
                Some(_) => Some(
                    json!({"op": "unsubscribed", "clientId": client_id, "requestId": request_id}).to_string(),
                ),
                None => Some(error_message(
                    2,
                    &format!(
                        "Cannot find subscription with clientId {client_id} subscriptionId {request_id}."
                    ),
                    false,
                    Some(request_id),
                )),
            }
        }
        _ => Some(error_message(1, "Invalid op", false, request_id)),
    }
}

/// The class parse-server keeps beforeConnect under.
const CONNECT_CLASS: &str = "@Connect";

/// Runs a LiveQuery hook (beforeConnect, beforeSubscribe) if the app defines one; returns the
/// query as the hook left it (beforeSubscribe).
async fn run_hook(
    app: &App,
    auth: &Auth,
    trigger: Trigger,
    input: TriggerInput,
) -> Result<Option<Map<String, Value>>, ParseError> {
    let ctx = Ctx::new(app, auth, "");
    let error = |error: crate::error::ApiError| match error {
        crate::error::ApiError::Parse(error) => error,
        other => ParseError::internal(format!("{other:?}")),
    };
    let Some(cloud) = target(&ctx, trigger, &input.class_name).await.map_err(error)? else { return Ok(None) };
    let call = call_context(&ctx).await.map_err(error)?;
    let outcome = cloud.run_trigger(trigger, input, call).await?;
    Ok(outcome.query)
}

/// The connect message's keys: the master key, or one of `liveQueryServerOptions.keyPairs`
/// when they are given, else a client key the app has (any, when the app configures none), as
/// the REST API accepts them.
fn keys_accepted(app: &App, request: &Map<String, Value>) -> bool {
    let given = |key: &str| request.get(key).and_then(Value::as_str);
    let config = &app.config;
    if given("masterKey").is_some_and(|key| key == config.master_key) {
        return true;
    }
    let key_pairs = &app.live_query.options.key_pairs;
    if !key_pairs.is_empty() {
        return key_pairs.iter().any(|(name, key)| given(name) == Some(key.as_str()));
    }
    let configured = [
        ("javascriptKey", &config.javascript_key),
        ("clientKey", &config.client_key),
        ("restAPIKey", &config.rest_api_key),
    ];
    if configured.iter().all(|(_, key)| key.is_none()) {
        return true;
    }
    configured.iter().any(|(name, key)| key.is_some() && given(name) == key.as_deref())
}

fn subscription_from(request: &Map<String, Value>) -> Result<Subscription, ParseError> {
    let query = request
        .get("query")
        .and_then(Value::as_object)
        .ok_or_else(|| ParseError::invalid_json("query is required"))?;
    let class_name = query
        .get("className")
        .and_then(Value::as_str)
        .filter(|name| !name.is_empty())
        .ok_or_else(|| ParseError::invalid_json("query.className is required"))?
        .to_string();
    let filter = match query.get("where") {
        None | Some(Value::Null) => Filter::everything(),
        Some(value) => parse_where(value)?,
    };
    // A list, or (as `Parse.Query.toJSON()` writes `keys`) comma-separated text.
    let list = |key: &str| -> Option<Vec<String>> {
        match query.get(key)? {
            Value::Array(items) => Some(items.iter().filter_map(Value::as_str).map(str::to_string).collect()),
            Value::String(text) => {
                Some(text.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_string).collect())
            }
            _ => None,
        }
    };
    let session_token =
        request.get("sessionToken").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_string);
    let mut include: Vec<Vec<String>> = list("include")
        .unwrap_or_default()
        .iter()
        .map(|path| path.split('.').map(str::to_string).collect())
        .collect();
    // As in a find, `keys` naming `a.b` includes `a`.
    for key in list("keys").unwrap_or_default() {
        if let Some((parent, _)) = key.rsplit_once('.') {
            let path: Vec<String> = parent.split('.').map(str::to_string).collect();
            if !include.contains(&path) {
                include.push(path);
            }
        }
    }
    Ok(Subscription { class_name, filter, keys: list("keys"), watch: list("watch"), include, session_token })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(class_name: &str) -> LiveQueryOptions {
        LiveQueryOptions {
            class_names: HashSet::from([class_name.to_string()]),
            ..LiveQueryOptions::default()
        }
    }

    #[test]
    fn a_rebuilt_hub_keeps_the_subscribers_of_the_one_it_replaces() {
        let previous = LiveQuery::new("app", options("Message"));
        let (sender, _receiver) = mpsc::channel(1);
        let subscription = Subscription {
            class_name: "Message".into(),
            filter: Filter::everything(),
            keys: None,
            watch: None,
            include: Vec::new(),
            session_token: None,
        };
        previous.clients.lock().unwrap().insert(
            1,
            ClientState {
                sender,
                queued: Arc::default(),
                kicked: Arc::default(),
                session_token: None,
                master: false,
                subscriptions: HashMap::from([(1, Arc::new(subscription))]),
            },
        );
        let mut rebuilt = LiveQuery::new("app", options("Message"));
        assert!(!rebuilt.has_subscribers("Message"));
        rebuilt.carry_subscribers_from(&previous);
        assert!(rebuilt.has_subscribers("Message"));
        // New clients of either hub get ids the other has not given.
        let next = rebuilt.next_client.fetch_add(1, Ordering::Relaxed);
        assert_ne!(previous.next_client.fetch_add(1, Ordering::Relaxed), next);
    }
}
