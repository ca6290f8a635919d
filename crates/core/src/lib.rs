//! The pure core of Reparse: everything about Parse's data model that needs no IO.
//!
//! Invariants: no IO, no async, no clock, no randomness. Times and ids come in as parameters.

pub mod access;
pub mod acl;
pub mod aggregate;
pub mod error;
pub mod geo;
pub mod matcher;
pub mod query;
pub mod redact;
pub mod schema;
pub mod text;
pub mod update;
pub mod value;

pub use error::{ErrorCode, ParseError, ParseResult};
