//! The dashboard's errors: Parse's `{"code", "error"}` body with the status that fits.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use reparse_core::ErrorCode;
use reparse_registry::RegistryError;

#[derive(Debug)]
pub struct DashboardError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
}

impl DashboardError {
    pub(crate) fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> DashboardError {
        DashboardError { status, code, message: message.into() }
    }

    pub(crate) fn not_signed_in() -> DashboardError {
        DashboardError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidSessionToken,
            "Sign in to the dashboard first.",
        )
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> DashboardError {
        DashboardError::new(StatusCode::FORBIDDEN, ErrorCode::OperationForbidden, message)
    }

    pub(crate) fn invalid(message: impl Into<String>) -> DashboardError {
        DashboardError::new(StatusCode::BAD_REQUEST, ErrorCode::ValidationError, message)
    }

    pub(crate) fn internal(message: impl std::fmt::Display) -> DashboardError {
        tracing::error!(%message, "dashboard");
        DashboardError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalServerError,
            "Internal server error.",
        )
    }
}

impl From<reparse_core::ParseError> for DashboardError {
    fn from(error: reparse_core::ParseError) -> DashboardError {
        if error.internal {
            return DashboardError::internal(error.message);
        }
        let status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        DashboardError::new(status, error.code, error.message)
    }
}

impl From<RegistryError> for DashboardError {
    fn from(error: RegistryError) -> DashboardError {
        match error {
            RegistryError::InvalidName(message) | RegistryError::Conflict(message) => {
                DashboardError::invalid(message)
            }
            RegistryError::NotFound(_) => {
                DashboardError::new(StatusCode::NOT_FOUND, ErrorCode::ObjectNotFound, "No such app.")
            }
            other => DashboardError::internal(other),
        }
    }
}

impl IntoResponse for DashboardError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"code": self.code.number(), "error": self.message});
        (self.status, axum::Json(body)).into_response()
    }
}

pub(crate) async fn unknown_route(uri: axum::http::Uri) -> DashboardError {
    DashboardError::new(StatusCode::NOT_FOUND, ErrorCode::InvalidJson, format!("Cannot find {}", uri.path()))
}

pub(crate) type DashboardResult<T> = Result<T, DashboardError>;
