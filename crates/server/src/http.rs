//! The HTTP edge: turns an HTTP request into a Parse request (body keys lifted, method
//! overridden, keys checked, app found) and a Parse response back into HTTP. Nothing below this
//! module sees axum.

use std::sync::Arc;

use axum::Router;
use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use reparse_core::{ErrorCode, ParseError};
use serde_json::{Map, Value};

use crate::app::{App, AppDirectory};
use crate::context::{Auth, RequestInfo};
use crate::error::{ApiError, ApiResult};
use crate::routes::{self, ParseResponse, Route};

/// Server-wide options (per-app ones live in [`crate::AppConfig`]).
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Where the REST API is mounted, e.g. `/parse`.
    pub mount_path: String,
    /// Largest request body accepted (parse-server's `maxUploadSize`, default 20 MB).
    pub max_body_bytes: usize,
    /// `reparse livequery`: only LiveQuery's WebSocket and the health check are served.
    pub live_query_only: bool,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            mount_path: "/parse".into(),
            max_body_bytes: 20 * 1024 * 1024,
            live_query_only: false,
        }
    }
}

pub(crate) struct ServerState {
    pub(crate) directory: Arc<dyn AppDirectory>,
    pub(crate) options: ServerOptions,
}

/// The axum router serving every app of `directory` under the mount path.
pub fn router(directory: Arc<dyn AppDirectory>, options: ServerOptions) -> Router {
    let state = Arc::new(ServerState { directory, options });
    Router::new().fallback(handle).with_state(state)
}

/// parse-server's `allowCrossDomain` headers.
const ALLOWED_HEADERS: &str = "X-Parse-Master-Key, X-Parse-REST-API-Key, X-Parse-Javascript-Key, \
X-Parse-Application-Id, X-Parse-Client-Version, X-Parse-Session-Token, X-Requested-With, \
X-Parse-Revocable-Session, X-Parse-Request-Id, Content-Type, Pragma, Cache-Control";

fn add_cors_headers(headers: &mut HeaderMap) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET,PUT,POST,DELETE,OPTIONS"),
    );
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOWED_HEADERS));
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("X-Parse-Job-Status-Id, X-Parse-Push-Status-Id"),
    );
}

async fn handle(State(state): State<Arc<ServerState>>, request: Request) -> Response {
    // LiveQuery: a WebSocket upgrade on any path, as parse-server's LiveQuery server takes it.
    if is_websocket_upgrade(request.headers()) {
        use axum::extract::FromRequest;
        return match axum::extract::ws::WebSocketUpgrade::from_request(request, &()).await {
            Ok(upgrade) => {
                let directory = state.directory.clone();
                // Small buffers: LiveQuery clients send short messages and most connections sit
                // idle, so tungstenite's 128 KiB read buffer (zero-filled as it is used) would be
                // most of a connection's memory. Longer messages grow it as they need.
                upgrade
                    .read_buffer_size(4 * 1024)
                    .write_buffer_size(0)
                    .max_message_size(crate::live_query::MAX_CLIENT_MESSAGE)
                    .on_upgrade(move |socket| crate::live_query::serve_socket(directory, socket))
            }
            Err(rejection) => rejection.into_response(),
        };
    }
    let mut response = match handle_request(&state, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    add_cors_headers(response.headers_mut());
    response
}

fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
}

async fn handle_request(state: &ServerState, request: Request) -> ApiResult<Response> {
    let (parts, body) = request.into_parts();
    let peer =
        parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip());
    if parts.method == Method::OPTIONS {
        return Ok(StatusCode::OK.into_response());
    }
    let mount = state.options.mount_path.trim_end_matches('/');
    let Some(path) =
        parts.uri.path().strip_prefix(mount).filter(|rest| rest.is_empty() || rest.starts_with('/'))
    else {
        return Err(ApiError::NotFound(parts.uri.path().to_string()));
    };
    let path = path.trim_matches('/').to_string();
    if state.options.live_query_only && path != "health" {
        return Err(ApiError::NotFound(parts.uri.path().to_string()));
    }
    // Files stream: their bodies are not read here.
    if let Some(file_path) = path.strip_prefix("files/") {
        return crate::files::handle(state, parts, body, peer, file_path).await;
    }
    let bytes = to_bytes(body, state.options.max_body_bytes).await.map_err(|_| ApiError::PayloadTooLarge)?;
    // The pages e-mailed links open: HTML and forms, not the JSON API.
    if path.starts_with("apps/") {
        let query = parts.uri.query().unwrap_or_default();
        return crate::pages::handle(
            state.directory.as_ref(),
            &parts.method,
            &path,
            query,
            &parts.headers,
            &bytes,
        )
        .await;
    }
    let mut body = parse_body(&bytes)?;
    let method = override_method(&parts.method, &mut body)?;
    let request_info = request_info(&parts.headers, peer, body.remove("_context"))?;
    let keys = RequestKeys::read(&parts, &mut body);
    let route = Route::parse(&path).ok_or_else(|| ApiError::NotFound(parts.uri.path().to_string()))?;
    if matches!(route, Route::Health) {
        return Ok(json_response(routes::health()));
    }
    let (app, auth) = authenticate_request(state, &keys, peer).await?;
    let params = if method == Method::GET && body.is_empty() {
        query_string_params(parts.uri.query().unwrap_or_default())?
    } else {
        body
    };
    let response = routes::dispatch_request(&app, &auth, mount, method, route, params, &request_info).await?;
    Ok(json_response(response))
}

/// The request as cloud code sees it: headers, the client's address, and the cloud context
/// from `X-Parse-Cloud-Context` (JSON) or the body's `_context` (what the JS SDK sends).
fn request_info(
    headers: &axum::http::HeaderMap,
    peer: Option<std::net::IpAddr>,
    body_context: Option<Value>,
) -> ApiResult<RequestInfo> {
    let mut info = RequestInfo { ip: peer.map(|ip| ip.to_string()), ..RequestInfo::default() };
    for (name, value) in headers {
        if let Ok(value) = value.to_str() {
            info.headers.insert(name.as_str().to_string(), Value::String(value.to_string()));
        }
    }
    let header_context = headers.get("x-parse-cloud-context").and_then(|value| value.to_str().ok());
    let context = match (header_context, body_context) {
        (Some(text), _) => serde_json::from_str::<Value>(text).ok(),
        (None, None | Some(Value::Null)) => Some(Value::Object(Map::new())),
        (None, Some(Value::String(text))) => serde_json::from_str::<Value>(&text).ok(),
        (None, Some(value)) => Some(value),
    };
    match context {
        Some(Value::Object(context)) => info.context = context,
        _ => return Err(ParseError::new(ErrorCode::InvalidJson, "Context is not an object").into()),
    }
    Ok(info)
}

/// The app a request is for and who is calling: keys checked, session token resolved.
pub(crate) async fn authenticate_request(
    state: &ServerState,
    keys: &RequestKeys,
    peer: Option<std::net::IpAddr>,
) -> ApiResult<(Arc<App>, Auth)> {
    let app = find_app(state, keys.application_id.as_deref()).await?;
    let mut auth = keys.authenticate(&app, peer)?;
    // parse-server answers a bad token with 209 on every route, except for the master key,
    // which acts as itself whatever token comes with it.
    if !auth.master
        && let Some(token) = &auth.session_token
    {
        let user = crate::sessions::authenticate(&app, token, chrono::Utc::now()).await?;
        auth.roles = crate::roles::role_entities(&app, &user.user_id).await?;
        auth.user = Some(user);
    }
    Ok((app, auth))
}

fn json_response(response: ParseResponse) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
    let mut http = (status, axum::Json(response.body)).into_response();
    if let Some(location) = response.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        http.headers_mut().insert(header::LOCATION, location);
    }
    for (name, value) in response.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            http.headers_mut().insert(name, value);
        }
    }
    http
}

/// Any content type is read as JSON (the JS SDK posts `text/plain`); an empty body is `{}`.
fn parse_body(bytes: &[u8]) -> ApiResult<Map<String, Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(reparse_core::ParseError::invalid_json("request body must be a JSON object").into()),
        Err(_) => Err(reparse_core::ParseError::invalid_json("invalid JSON").into()),
    }
}

/// `POST` with `"_method": "GET" | "PUT" | "DELETE"` in the body acts as that method.
fn override_method(method: &Method, body: &mut Map<String, Value>) -> ApiResult<Method> {
    let Some(override_to) = body.remove("_method") else {
        return Ok(method.clone());
    };
    if method != Method::POST {
        return Ok(method.clone());
    }
    match override_to.as_str().map(str::to_ascii_uppercase).as_deref() {
        Some("GET") => Ok(Method::GET),
        Some("PUT") => Ok(Method::PUT),
        Some("DELETE") => Ok(Method::DELETE),
        Some("POST") => Ok(Method::POST),
        _ => Err(reparse_core::ParseError::invalid_json("invalid _method").into()),
    }
}

/// A request the dashboard forwards for a signed-in dashboard user: it acts with the master key
/// of `app_id` (read-only for read-only users) without carrying the key. Only code in this
/// process can attach it (a request extension is never read off the wire), and the dashboard
/// does so only after checking its sign-in.
#[derive(Debug, Clone)]
pub struct TrustedMaster {
    pub app_id: String,
    pub read_only: bool,
}

/// Keys and identity from headers, or from the body the way the JS SDK sends them.
#[derive(Debug, Default)]
pub(crate) struct RequestKeys {
    trusted: Option<TrustedMaster>,
    application_id: Option<String>,
    master_key: Option<String>,
    client_key: Option<String>,
    javascript_key: Option<String>,
    rest_api_key: Option<String>,
    dotnet_key: Option<String>,
    session_token: Option<String>,
    installation_id: Option<String>,
    client_version: Option<String>,
}

impl RequestKeys {
    pub(crate) fn read(parts: &axum::http::request::Parts, body: &mut Map<String, Value>) -> RequestKeys {
        let headers = &parts.headers;
        let trusted = parts.extensions.get::<TrustedMaster>().cloned();
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut from_body = |name: &str| match body.remove(name) {
            Some(Value::String(value)) => Some(value),
            _ => None,
        };
        let body_keys = RequestKeys {
            application_id: from_body("_ApplicationId"),
            master_key: from_body("_MasterKey"),
            client_key: from_body("_ClientKey"),
            javascript_key: from_body("_JavaScriptKey"),
            rest_api_key: from_body("_RESTAPIKey"),
            dotnet_key: from_body("_windowsKey"),
            session_token: from_body("_SessionToken"),
            installation_id: from_body("_InstallationId"),
            client_version: from_body("_ClientVersion"),
            trusted: None,
        };
        // Keys the SDK sends that change nothing here yet.
        body.remove("_RevocableSession");
        RequestKeys {
            application_id: match &trusted {
                Some(trusted) => Some(trusted.app_id.clone()),
                None => header("x-parse-application-id").or(body_keys.application_id),
            },
            trusted,
            master_key: header("x-parse-master-key").or(body_keys.master_key),
            client_key: header("x-parse-client-key").or(body_keys.client_key),
            javascript_key: header("x-parse-javascript-key").or(body_keys.javascript_key),
            rest_api_key: header("x-parse-rest-api-key").or(body_keys.rest_api_key),
            dotnet_key: header("x-parse-windows-key").or(body_keys.dotnet_key),
            session_token: header("x-parse-session-token").or(body_keys.session_token),
            installation_id: header("x-parse-installation-id").or(body_keys.installation_id),
            client_version: header("x-parse-client-version").or(body_keys.client_version),
        }
    }

    /// parse-server's rule: the master key (or read-only master key) grants master; otherwise,
    /// when any client key is configured, one of them must match.
    fn authenticate(&self, app: &App, peer: Option<std::net::IpAddr>) -> ApiResult<Auth> {
        let config = &app.config;
        let mut auth = Auth {
            session_token: self.session_token.clone(),
            installation_id: self.installation_id.clone(),
            client_version: self.client_version.clone(),
            ..Auth::default()
        };
        if let Some(trusted) = &self.trusted {
            auth.master = true;
            auth.read_only = trusted.read_only;
            return Ok(auth);
        }
        if let Some(given) = &self.master_key {
            let master_key_given = constant_time_eq(given, &config.master_key)
                || config.read_only_master_key.as_deref().is_some_and(|key| constant_time_eq(given, key));
            // A router built without peer addresses (tests calling it directly) is local.
            if master_key_given && peer.is_some_and(|peer| !config.master_key_ips.allows(peer)) {
                tracing::error!(
                    app = %config.app_id,
                    peer = ?peer,
                    "master key refused: the request's address is not in masterKeyIps"
                );
                return Err(ApiError::Unauthorized("unauthorized"));
            }
            if constant_time_eq(given, &config.master_key) {
                auth.master = true;
                return Ok(auth);
            }
            if config.read_only_master_key.as_deref().is_some_and(|key| constant_time_eq(given, key)) {
                auth.master = true;
                auth.read_only = true;
                return Ok(auth);
            }
        }
        let pairs = [
            (&config.client_key, &self.client_key),
            (&config.javascript_key, &self.javascript_key),
            (&config.rest_api_key, &self.rest_api_key),
            (&config.dotnet_key, &self.dotnet_key),
        ];
        let one_configured = pairs.iter().any(|(configured, _)| configured.is_some());
        let one_matches = pairs.iter().any(|(configured, given)| match (configured, given) {
            (Some(configured), Some(given)) => constant_time_eq(given, configured),
            _ => false,
        });
        if one_configured && !one_matches {
            return Err(ApiError::Unauthorized("unauthorized"));
        }
        Ok(auth)
    }
}

/// Compares secrets without an early exit, so timing does not reveal a key's prefix.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn find_app(state: &ServerState, application_id: Option<&str>) -> ApiResult<Arc<App>> {
    let Some(application_id) = application_id else {
        return Err(ApiError::Unauthorized("unauthorized"));
    };
    state.directory.app(application_id).await.ok_or(ApiError::Unauthorized("unauthorized"))
}

/// URL parameters of a GET: `where` (and other JSON-valued ones) are decoded from JSON text.
fn query_string_params(query: &str) -> ApiResult<Map<String, Value>> {
    let mut params = Map::new();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let value = match key.as_ref() {
            "where" => serde_json::from_str(&value)
                .map_err(|_| reparse_core::ParseError::invalid_json("invalid JSON in where"))?,
            "limit" | "skip" | "count" => {
                serde_json::from_str(&value).unwrap_or(Value::String(value.into_owned()))
            }
            _ => Value::String(value.into_owned()),
        };
        params.insert(key.into_owned(), value);
    }
    Ok(params)
}

/// Serves `router` on `listener` until `shutdown` resolves, finishing requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer address is kept for `masterKeyIps`.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service).with_graceful_shutdown(shutdown).await
}
