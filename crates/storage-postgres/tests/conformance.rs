//! The shared storage conformance suite, run on the local PostgreSQL (127.0.0.1:5432, user
//! `postgres`): each test gets a fresh schema with a random name, dropped at the end (best
//! effort), so tests run in parallel. When PostgreSQL is unreachable the tests are skipped,
//! unless `CI=true`, where that is a failure.
//!
//! The suite runs twice: in database `postgres` with geo distances in plain SQL (PostGIS is
//! never used there, even if installed), and in database `reparse_test_postgis`, which the
//! support module creates with the PostGIS extension (when the server has it available;
//! required under `CI=true`, since `scripts/test` installs it there).
//! Both databases get the `unaccent` extension, which `$text` with `$diacriticSensitive:
//! false` needs (`tests/text_search.rs` covers its absence).

mod support;

use support::{fresh_storage, fresh_storage_with_postgis};

reparse_storage::storage_conformance_tests!(optional fresh_storage());

/// The same suite where geo distances come from PostGIS.
mod with_postgis {
    use super::fresh_storage_with_postgis;

    reparse_storage::storage_conformance_tests!(optional fresh_storage_with_postgis());
}
