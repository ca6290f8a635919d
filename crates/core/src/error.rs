//! The one error type of Reparse, with Parse's numeric codes.
//!
//! Every failure a client can see is a [`ParseError`]: a code from Parse's table and a message.
//! The HTTP status is derived from the code exactly as parse-server does (code 1 → 500,
//! 101 → 404, anything else → 400), so the server crate only has to serialise it.

use std::fmt;

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, )*) => {
        /// Parse's error codes (`Parse.Error.*` in the SDKs).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$doc])* $name, )*
            /// A code of the app's own (cloud code's `new Parse.Error(9001, …)`), passed on as
            /// it is.
            Custom(i32),
        }

        impl ErrorCode {
            /// The number clients see in `{"code": N}`.
            pub fn number(self) -> i32 {
                match self { $( ErrorCode::$name => $code, )* ErrorCode::Custom(number) => number }
            }

            /// The code for any number: Parse's own, or an app's custom one.
            pub fn from_any_number(number: i32) -> ErrorCode {
                ErrorCode::from_number(number).unwrap_or(ErrorCode::Custom(number))
            }

            /// The code for a number, if Parse defines it.
            pub fn from_number(number: i32) -> Option<ErrorCode> {
                match number { $( $code => Some(ErrorCode::$name), )* _ => None }
            }
        }
    };
}

error_codes! {
    OtherCause = -1,
    InternalServerError = 1,
    ConnectionFailed = 100,
    ObjectNotFound = 101,
    InvalidQuery = 102,
    InvalidClassName = 103,
    MissingObjectId = 104,
    InvalidKeyName = 105,
    InvalidPointer = 106,
    InvalidJson = 107,
    CommandUnavailable = 108,
    NotInitialized = 109,
    IncorrectType = 111,
    InvalidChannelName = 112,
    PushMisconfigured = 115,
    ObjectTooLarge = 116,
    OperationForbidden = 119,
    CacheMiss = 120,
    InvalidNestedKey = 121,
    InvalidFileName = 122,
    InvalidAcl = 123,
    Timeout = 124,
    InvalidEmailAddress = 125,
    MissingContentType = 126,
    MissingContentLength = 127,
    InvalidContentLength = 128,
    FileTooLarge = 129,
    FileSaveError = 130,
    MissingRequiredField = 135,
    InvalidFieldDefinition = 136,
    DuplicateValue = 137,
    InvalidRoleName = 139,
    ExceededQuota = 140,
    ScriptFailed = 141,
    ValidationError = 142,
    InvalidImageData = 143,
    UnsavedFileError = 151,
    InvalidPushTimeError = 152,
    FileDeleteError = 153,
    RequestLimitExceeded = 155,
    DuplicateRequest = 159,
    InvalidEventName = 160,
    FileDeleteUnnamedError = 161,
    InvalidValue = 162,
    UsernameMissing = 200,
    PasswordMissing = 201,
    UsernameTaken = 202,
    EmailTaken = 203,
    EmailMissing = 204,
    EmailNotFound = 205,
    SessionMissing = 206,
    MustCreateUserThroughSignup = 207,
    AccountAlreadyLinked = 208,
    InvalidSessionToken = 209,
    MfaError = 210,
    MfaTokenRequired = 211,
    LinkedIdMissing = 250,
    InvalidLinkedSession = 251,
    UnsupportedService = 252,
    InvalidSchemaOperation = 255,
    AggregateError = 600,
    FileReadError = 601,
    XDomainRequest = 602,
}

impl ErrorCode {
    /// 143 as parse-server's webhooks use it (the SDKs name the code `INVALID_IMAGE_DATA`).
    pub const WEBHOOK_ERROR: ErrorCode = ErrorCode::InvalidImageData;

    /// The HTTP status parse-server answers this code with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InternalServerError => 500,
            ErrorCode::ObjectNotFound => 404,
            _ => 400,
        }
    }
}

/// A failure with a Parse error code, as the client will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub code: ErrorCode,
    pub message: String,
    /// An unexpected failure ([`ParseError::internal`]) rather than an answer: its message is for
    /// the server's log, and clients are told only "Internal server error.", as parse-server
    /// answers errors that are not `Parse.Error`s. An error raised on purpose with code 1 (by
    /// cloud code, or where parse-server raises one) keeps its message.
    pub internal: bool,
}

impl ParseError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> ParseError {
        ParseError { code, message: message.into(), internal: false }
    }

    /// The same error with another message (more context), still internal if it was.
    pub fn with_message(self, message: impl Into<String>) -> ParseError {
        ParseError { message: message.into(), ..self }
    }

    /// Shorthands for the codes raised most often.
    pub fn invalid_query(message: impl Into<String>) -> ParseError {
        ParseError::new(ErrorCode::InvalidQuery, message)
    }
    pub fn invalid_json(message: impl Into<String>) -> ParseError {
        ParseError::new(ErrorCode::InvalidJson, message)
    }
    pub fn incorrect_type(message: impl Into<String>) -> ParseError {
        ParseError::new(ErrorCode::IncorrectType, message)
    }
    pub fn object_not_found() -> ParseError {
        ParseError::new(ErrorCode::ObjectNotFound, "Object not found.")
    }
    pub fn forbidden(message: impl Into<String>) -> ParseError {
        ParseError::new(ErrorCode::OperationForbidden, message)
    }
    pub fn internal(message: impl Into<String>) -> ParseError {
        ParseError { internal: true, ..ParseError::new(ErrorCode::InternalServerError, message) }
    }
    pub fn invalid_key_name(key: &str) -> ParseError {
        ParseError::new(ErrorCode::InvalidKeyName, format!("Invalid field name: {key}."))
    }
    pub fn invalid_class_name(class_name: &str) -> ParseError {
        ParseError::new(ErrorCode::InvalidClassName, format!("Invalid class name: {class_name}"))
    }

    pub fn http_status(&self) -> u16 {
        self.code.http_status()
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Parse error {}: {}", self.code.number(), self.message)
    }
}

impl std::error::Error for ParseError {}

pub type ParseResult<T> = Result<T, ParseError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_map_to_parse_server_statuses() {
        for number in [-1, 1, 101, 102, 111, 119, 137, 209, 255, 602] {
            let code = ErrorCode::from_number(number).expect("known code");
            assert_eq!(code.number(), number);
        }
        assert_eq!(ErrorCode::from_number(42), None);
        assert_eq!(ErrorCode::InternalServerError.http_status(), 500);
        assert_eq!(ErrorCode::ObjectNotFound.http_status(), 404);
        assert_eq!(ErrorCode::InvalidQuery.http_status(), 400);
        assert_eq!(ErrorCode::OperationForbidden.http_status(), 400);
    }
}
