//! Mapping SQLite failures to Parse errors.

use reparse_core::{ErrorCode, ParseError};
use rusqlite::ffi;

/// parse-server's message for a unique-constraint violation (code 137).
pub(crate) const DUPLICATE_VALUE_MESSAGE: &str =
    "A duplicate value for a field with unique values was provided";

/// Maps a SQLite failure: primary-key and unique violations are code 137, Parse errors raised
/// inside our SQL functions keep their code, anything else is an internal error carrying
/// SQLite's message.
pub(crate) fn sqlite_error(error: rusqlite::Error) -> ParseError {
    if let Some(code) = error.sqlite_extended_error_code()
        && (code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY || code == ffi::SQLITE_CONSTRAINT_UNIQUE)
    {
        return ParseError::new(ErrorCode::DuplicateValue, DUPLICATE_VALUE_MESSAGE);
    }
    if let rusqlite::Error::UserFunctionError(inner) = &error
        && let Some(parse_error) = inner.downcast_ref::<ParseError>()
    {
        return parse_error.clone();
    }
    ParseError::internal(format!("SQLite: {error}"))
}

/// Whether the failure is SQLite saying a table does not exist. parse-server answers queries
/// on a class without a table as if the class were empty; so do we.
pub(crate) fn is_missing_table(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(_, Some(message)) if message.starts_with("no such table"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn primary_key_violations_are_137() {
        let connection = Connection::open_in_memory().unwrap();
        connection
            .execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY); INSERT INTO t VALUES ('a');")
            .unwrap();
        let error = connection.execute("INSERT INTO t VALUES ('a')", []).unwrap_err();
        let parse_error = sqlite_error(error);
        assert_eq!(parse_error.code, ErrorCode::DuplicateValue);
        assert_eq!(parse_error.message, DUPLICATE_VALUE_MESSAGE);
    }

    #[test]
    fn missing_tables_are_recognised() {
        let connection = Connection::open_in_memory().unwrap();
        let error = connection.prepare("SELECT * FROM nowhere").unwrap_err();
        assert!(is_missing_table(&error));
        assert_eq!(sqlite_error(error).code, ErrorCode::InternalServerError);
    }
}
