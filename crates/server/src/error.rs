//! The error type of the HTTP layer: a Parse error, or one of the raw answers parse-server gives
//! outside Parse's code table, turned into a response in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use reparse_core::{ErrorCode, ParseError};
use serde_json::json;

#[derive(Debug)]
pub enum ApiError {
    /// `{"code": N, "error": "…"}` with the status of the code.
    Parse(ParseError),
    /// parse-server's raw 403 `{"error": "unauthorized…"}` for bad keys or a missing master key.
    Unauthorized(&'static str),
    /// A route that does not exist.
    NotFound(String),
    /// A body over `maxUploadSize`: parse-server's raw 413 from its body parser.
    PayloadTooLarge,
}

impl ApiError {
    pub fn master_key_required() -> ApiError {
        ApiError::Unauthorized("unauthorized: master key is required")
    }

    /// The JSON body and status, shared by HTTP responses and `/batch` entries.
    pub fn status_and_body(&self) -> (u16, serde_json::Value) {
        match self {
            // Like parse-server, internal failures are logged whole and answered with no detail.
            ApiError::Parse(error) if error.internal => {
                (500, json!({"code": 1, "message": "Internal server error."}))
            }
            ApiError::Parse(error) => {
                (error.http_status(), json!({"code": error.code.number(), "error": error.message}))
            }
            ApiError::Unauthorized(message) => (403, json!({"error": message})),
            ApiError::NotFound(path) => (404, json!({"error": format!("Cannot find {path}")})),
            ApiError::PayloadTooLarge => (413, json!({"error": "request entity too large"})),
        }
    }

    /// The `{"code", "error"}` of a `/batch` entry, masked and logged like an HTTP answer.
    pub fn batch_entry(&self) -> serde_json::Value {
        self.log_if_internal();
        let error = self.as_parse_error();
        match error.internal {
            true => json!({"code": 1, "error": "Internal server error."}),
            false => json!({"code": error.code.number(), "error": error.message}),
        }
    }

    fn log_if_internal(&self) {
        if let ApiError::Parse(error) = self
            && error.internal
        {
            tracing::error!(message = %error.message, "internal error");
        }
    }

    /// The Parse code and message, for contexts that can only carry those (batch entries).
    pub fn as_parse_error(&self) -> ParseError {
        match self {
            ApiError::Parse(error) => error.clone(),
            ApiError::Unauthorized(message) => ParseError::new(ErrorCode::OperationForbidden, *message),
            ApiError::NotFound(path) => {
                ParseError::new(ErrorCode::InvalidJson, format!("cannot route batch path {path}"))
            }
            ApiError::PayloadTooLarge => {
                ParseError::new(ErrorCode::ObjectTooLarge, "request entity too large")
            }
        }
    }
}

impl From<ParseError> for ApiError {
    fn from(error: ParseError) -> ApiError {
        ApiError::Parse(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log_if_internal();
        let (status, body) = self.status_and_body();
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
