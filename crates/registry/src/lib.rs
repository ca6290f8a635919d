//! The control plane: which apps this installation hosts, with their keys and settings.
//!
//! It lives in its own SQLite file (`<data dir>/registry.sqlite`), apart from any app's data,
//! so that an app's keys never sit in a database the app's own queries reach. An app's data
//! lives under `<data dir>/apps/<appId>/`, or in a schema of the server's apps database on
//! PostgreSQL: its [`AppPlacement`], recorded when the server first opens the app and kept
//! from then on, so that an app never silently moves away from its data.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rand::RngExt;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A hosted app as the registry records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppRecord {
    pub app_id: String,
    pub name: String,
    pub master_key: String,
    pub javascript_key: Option<String>,
    pub rest_api_key: Option<String>,
    pub client_key: Option<String>,
    /// parse-server options for this app (`allowClientClassCreation`, `maxLimit`, …).
    pub settings: Map<String, Value>,
    pub created_at: String,
    /// Where the app's data lives; `None` until a server first opens the app.
    pub placement: Option<AppPlacement>,
}

/// Where an app's data lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppPlacement {
    /// `<data dir>/apps/<appId>/data.sqlite`.
    Sqlite,
    /// This PostgreSQL schema of the server's apps database.
    Postgres { schema: String },
}

impl AppPlacement {
    /// The text the registry stores: `sqlite` or `postgres:<schema>`.
    fn to_text(&self) -> String {
        match self {
            AppPlacement::Sqlite => "sqlite".to_string(),
            AppPlacement::Postgres { schema } => format!("postgres:{schema}"),
        }
    }

    fn from_text(text: &str) -> Option<AppPlacement> {
        match text.split_once(':') {
            None if text == "sqlite" => Some(AppPlacement::Sqlite),
            Some(("postgres", schema)) if !schema.is_empty() => {
                Some(AppPlacement::Postgres { schema: schema.to_string() })
            }
            _ => None,
        }
    }
}

#[derive(Debug)]
pub enum RegistryError {
    Database(rusqlite::Error),
    Io(std::io::Error),
    /// A name is taken or malformed.
    InvalidName(String),
    NotFound(String),
    /// A change the app's record refuses (its placement is already recorded).
    Conflict(String),
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistryError::Database(error) => write!(f, "app registry database error: {error}"),
            RegistryError::Io(error) => write!(f, "app registry: {error}"),
            RegistryError::InvalidName(message) => f.write_str(message),
            RegistryError::NotFound(name) => write!(f, "no app named or with id {name:?}"),
            RegistryError::Conflict(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for RegistryError {}

impl From<rusqlite::Error> for RegistryError {
    fn from(error: rusqlite::Error) -> RegistryError {
        RegistryError::Database(error)
    }
}

pub type RegistryResult<T> = Result<T, RegistryError>;

pub struct Registry {
    data_dir: PathBuf,
    connection: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS apps (
    app_id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    master_key TEXT NOT NULL,
    javascript_key TEXT,
    rest_api_key TEXT,
    client_key TEXT,
    settings TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dashboard_users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    read_only INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dashboard_sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    expires_at TEXT NOT NULL
);";

/// Someone who may sign in to the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardUser {
    pub username: String,
    /// May look, not change.
    pub read_only: bool,
    pub created_at: String,
}

/// A signed-in dashboard user's session, as the dashboard checks it on every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardSession {
    pub username: String,
    /// Read from the user's record on every check, so a changed flag applies at once.
    pub read_only: bool,
    /// What a state-changing request must echo in a header (the cookie alone is not enough).
    pub csrf_token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// How long a dashboard sign-in lasts.
pub const DASHBOARD_SESSION_LENGTH: chrono::Duration = chrono::Duration::hours(12);

/// The shortest dashboard password accepted.
pub const MIN_DASHBOARD_PASSWORD: usize = 8;

/// bcrypt's cost for dashboard passwords (parse-server's for users).
const DASHBOARD_BCRYPT_COST: u32 = 10;

/// An app name: 1-64 letters, digits, '-' or '_'.
fn check_app_name(name: &str) -> RegistryResult<()> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(RegistryError::InvalidName(format!("app name {name:?}: use 1-64 letters, digits, '-' or '_'")))
    }
}

/// A write refused by a UNIQUE constraint, as the name being taken.
fn name_taken(error: rusqlite::Error, message: String) -> RegistryError {
    match error {
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            RegistryError::InvalidName(message)
        }
        error => error.into(),
    }
}

fn now_text() -> String {
    timestamp_text(chrono::Utc::now())
}

/// Timestamps as text that sorts in time order (fixed width, UTC), so SQL compares them.
fn timestamp_text(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// How a session token is kept: its SHA-256, in hex.
fn token_hash(token: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

impl Registry {
    /// Opens (creating if needed) the registry of the data directory.
    pub fn open(data_dir: &Path) -> RegistryResult<Registry> {
        std::fs::create_dir_all(data_dir).map_err(RegistryError::Io)?;
        let connection = Connection::open(data_dir.join("registry.sqlite"))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.execute_batch(SCHEMA)?;
        // Registries made before apps could live in PostgreSQL have no placement column.
        let has_placement: bool = connection
            .query_row("SELECT count(*) FROM pragma_table_info('apps') WHERE name = 'placement'", [], |row| {
                row.get::<_, i64>(0)
            })
            .map(|count| count > 0)?;
        if !has_placement {
            connection.execute_batch("ALTER TABLE apps ADD COLUMN placement TEXT")?;
        }
        Ok(Registry { data_dir: data_dir.to_path_buf(), connection: Mutex::new(connection) })
    }

    fn connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The data folder the registry is in.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Where an app's data lives.
    pub fn app_dir(&self, app_id: &str) -> PathBuf {
        self.data_dir.join("apps").join(app_id)
    }

    /// Adds an app with fresh keys.
    pub fn create_app(&self, name: &str) -> RegistryResult<AppRecord> {
        check_app_name(name)?;
        let record = AppRecord {
            app_id: random_key(20),
            name: name.to_string(),
            master_key: random_key(32),
            javascript_key: Some(random_key(32)),
            rest_api_key: Some(random_key(32)),
            client_key: Some(random_key(32)),
            settings: Map::new(),
            created_at: now_text(),
            placement: None,
        };
        let inserted = self.connection().execute(
            "INSERT INTO apps (app_id, name, master_key, javascript_key, rest_api_key, client_key, settings, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                record.app_id,
                record.name,
                record.master_key,
                record.javascript_key,
                record.rest_api_key,
                record.client_key,
                Value::Object(record.settings.clone()).to_string(),
                record.created_at
            ],
        );
        match inserted {
            Ok(_) => Ok(record),
            Err(error) => Err(name_taken(error, format!("an app named {name:?} already exists"))),
        }
    }

    /// Gives an app another name (its application id and data stay).
    pub fn rename(&self, name_or_id: &str, new_name: &str) -> RegistryResult<AppRecord> {
        check_app_name(new_name)?;
        let record = self.find_by_name_or_id(name_or_id)?;
        self.connection()
            .execute("UPDATE apps SET name = ?2 WHERE app_id = ?1", params![record.app_id, new_name])
            .map_err(|error| name_taken(error, format!("an app named {new_name:?} already exists")))?;
        Ok(AppRecord { name: new_name.to_string(), ..record })
    }

    /// Replaces an app's master key and client keys with fresh ones (the application id stays):
    /// the old keys stop working once servers re-read the record.
    pub fn rotate_keys(&self, name_or_id: &str) -> RegistryResult<AppRecord> {
        let record = self.find_by_name_or_id(name_or_id)?;
        let fresh = |key: &Option<String>| key.as_ref().map(|_| random_key(32));
        let rotated = AppRecord {
            master_key: random_key(32),
            javascript_key: fresh(&record.javascript_key),
            rest_api_key: fresh(&record.rest_api_key),
            client_key: fresh(&record.client_key),
            ..record
        };
        self.connection().execute(
            "UPDATE apps SET master_key = ?2, javascript_key = ?3, rest_api_key = ?4, client_key = ?5
             WHERE app_id = ?1",
            params![
                rotated.app_id,
                rotated.master_key,
                rotated.javascript_key,
                rotated.rest_api_key,
                rotated.client_key
            ],
        )?;
        Ok(rotated)
    }

    /// Adds a dashboard user; the password is kept as a bcrypt hash.
    pub fn add_dashboard_user(
        &self,
        username: &str,
        password: &str,
        read_only: bool,
    ) -> RegistryResult<DashboardUser> {
        let valid = !username.is_empty()
            && username.chars().count() <= 64
            && !username.chars().any(|c| c.is_whitespace() || c.is_control());
        if !valid {
            return Err(RegistryError::InvalidName(format!(
                "dashboard user name {username:?}: use 1-64 characters, no spaces"
            )));
        }
        if password.chars().count() < MIN_DASHBOARD_PASSWORD {
            return Err(RegistryError::InvalidName(format!(
                "a dashboard password needs at least {MIN_DASHBOARD_PASSWORD} characters"
            )));
        }
        let hash = bcrypt::hash(password, DASHBOARD_BCRYPT_COST)
            .map_err(|error| RegistryError::Io(std::io::Error::other(error.to_string())))?;
        let user = DashboardUser { username: username.to_string(), read_only, created_at: now_text() };
        self.connection()
            .execute(
                "INSERT INTO dashboard_users (username, password_hash, read_only, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![user.username, hash, user.read_only, user.created_at],
            )
            .map_err(|error| name_taken(error, format!("a dashboard user named {username:?} already exists")))?;
        Ok(user)
    }

    pub fn dashboard_users(&self) -> RegistryResult<Vec<DashboardUser>> {
        let connection = self.connection();
        let mut statement = connection
            .prepare("SELECT username, read_only, created_at FROM dashboard_users ORDER BY username")?;
        let rows = statement.query_map([], |row| {
            Ok(DashboardUser { username: row.get(0)?, read_only: row.get(1)?, created_at: row.get(2)? })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Removes a dashboard user and signs them out everywhere.
    pub fn remove_dashboard_user(&self, username: &str) -> RegistryResult<()> {
        let connection = self.connection();
        connection.execute("DELETE FROM dashboard_sessions WHERE username = ?1", [username])?;
        let removed = connection.execute("DELETE FROM dashboard_users WHERE username = ?1", [username])?;
        if removed == 0 {
            return Err(RegistryError::NotFound(format!("dashboard user {username}")));
        }
        Ok(())
    }

    /// The dashboard user these credentials sign in, if any. An unknown name costs a hash
    /// check too, so that timing does not tell which names exist.
    pub fn verify_dashboard_user(
        &self,
        username: &str,
        password: &str,
    ) -> RegistryResult<Option<DashboardUser>> {
        let found: Option<(String, bool, String)> = self
            .connection()
            .query_row(
                "SELECT password_hash, read_only, created_at FROM dashboard_users WHERE username = ?1",
                [username],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        let Some((hash, read_only, created_at)) = found else {
            let _ = bcrypt::verify(password, unknown_user_hash());
            return Ok(None);
        };
        Ok(bcrypt::verify(password, &hash).unwrap_or(false).then(|| DashboardUser {
            username: username.to_string(),
            read_only,
            created_at,
        }))
    }

    /// Starts a dashboard session for a user who signed in; returns the secret token for the
    /// cookie (the registry keeps only its hash, so a copy of the file signs nobody in).
    pub fn start_dashboard_session(
        &self,
        user: &DashboardUser,
    ) -> RegistryResult<(String, DashboardSession)> {
        let token = random_key(43);
        let session = DashboardSession {
            username: user.username.clone(),
            read_only: user.read_only,
            csrf_token: random_key(32),
            // Whole milliseconds: what the registry stores, so the session read back is equal.
            expires_at: chrono::DurationRound::duration_trunc(
                chrono::Utc::now() + DASHBOARD_SESSION_LENGTH,
                chrono::Duration::milliseconds(1),
            )
            .map_err(|error| RegistryError::Io(std::io::Error::other(error.to_string())))?,
        };
        let connection = self.connection();
        connection.execute("DELETE FROM dashboard_sessions WHERE expires_at < ?1", [now_text()])?;
        connection.execute(
            "INSERT INTO dashboard_sessions (token_hash, username, csrf_token, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![token_hash(&token), session.username, session.csrf_token, timestamp_text(session.expires_at)],
        )?;
        Ok((token, session))
    }

    /// The live session a cookie's token names, if any (expired sessions and those of removed
    /// users are none).
    pub fn dashboard_session(&self, token: &str) -> RegistryResult<Option<DashboardSession>> {
        let connection = self.connection();
        let mut statement = connection.prepare_cached(
            "SELECT s.username, u.read_only, s.csrf_token, s.expires_at
             FROM dashboard_sessions s JOIN dashboard_users u ON u.username = s.username
             WHERE s.token_hash = ?1 AND s.expires_at > ?2",
        )?;
        let found = statement
            .query_row(params![token_hash(token), now_text()], |row| {
                Ok((row.get::<_, String>(0)?, row.get(1)?, row.get(2)?, row.get::<_, String>(3)?))
            })
            .optional()?;
        Ok(found.and_then(|(username, read_only, csrf_token, expires_at)| {
            let expires_at = chrono::DateTime::parse_from_rfc3339(&expires_at).ok()?.to_utc();
            Some(DashboardSession { username, read_only, csrf_token, expires_at })
        }))
    }

    /// Ends a dashboard session (signing out).
    pub fn end_dashboard_session(&self, token: &str) -> RegistryResult<()> {
        self.connection()
            .execute("DELETE FROM dashboard_sessions WHERE token_hash = ?1", [token_hash(token)])?;
        Ok(())
    }

    pub fn list(&self) -> RegistryResult<Vec<AppRecord>> {
        let connection = self.connection();
        let mut statement =
            connection.prepare(&format!("SELECT {COLUMNS} FROM apps ORDER BY created_at, name"))?;
        let rows = statement.query_map([], read_record)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The app with this application id.
    pub fn find(&self, app_id: &str) -> RegistryResult<Option<AppRecord>> {
        let connection = self.connection();
        let mut statement =
            connection.prepare_cached(&format!("SELECT {COLUMNS} FROM apps WHERE app_id = ?1"))?;
        Ok(statement.query_row([app_id], read_record).optional()?)
    }

    /// The app with this name or application id.
    pub fn find_by_name_or_id(&self, name_or_id: &str) -> RegistryResult<AppRecord> {
        let connection = self.connection();
        let mut statement =
            connection.prepare(&format!("SELECT {COLUMNS} FROM apps WHERE name = ?1 OR app_id = ?1"))?;
        statement
            .query_row([name_or_id], read_record)
            .optional()?
            .ok_or_else(|| RegistryError::NotFound(name_or_id.to_string()))
    }

    /// Removes an app from the registry and deletes its data folder.
    pub fn delete(&self, name_or_id: &str) -> RegistryResult<AppRecord> {
        let record = self.find_by_name_or_id(name_or_id)?;
        self.connection().execute("DELETE FROM apps WHERE app_id = ?1", [&record.app_id])?;
        let dir = self.app_dir(&record.app_id);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(RegistryError::Io)?;
        }
        Ok(record)
    }

    /// Records where an app's data lives. Only a first placement is recorded: an app that has
    /// one keeps it (the call then fails), since its data is there.
    pub fn set_placement(&self, app_id: &str, placement: &AppPlacement) -> RegistryResult<()> {
        let changed = self.connection().execute(
            "UPDATE apps SET placement = ?2 WHERE app_id = ?1 AND placement IS NULL",
            params![app_id, placement.to_text()],
        )?;
        if changed == 0 {
            return match self.find(app_id)? {
                None => Err(RegistryError::NotFound(app_id.to_string())),
                Some(record) => Err(RegistryError::Conflict(format!(
                    "app {app_id:?} already keeps its data in {:?}",
                    record.placement
                ))),
            };
        }
        Ok(())
    }

    /// Replaces an app's settings.
    pub fn set_settings(&self, app_id: &str, settings: &Map<String, Value>) -> RegistryResult<()> {
        let changed = self.connection().execute(
            "UPDATE apps SET settings = ?2 WHERE app_id = ?1",
            params![app_id, Value::Object(settings.clone()).to_string()],
        )?;
        if changed == 0 {
            return Err(RegistryError::NotFound(app_id.to_string()));
        }
        Ok(())
    }
}

const COLUMNS: &str =
    "app_id, name, master_key, javascript_key, rest_api_key, client_key, settings, created_at, placement";

fn read_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<AppRecord> {
    let settings: String = row.get(6)?;
    Ok(AppRecord {
        app_id: row.get(0)?,
        name: row.get(1)?,
        master_key: row.get(2)?,
        javascript_key: row.get(3)?,
        rest_api_key: row.get(4)?,
        client_key: row.get(5)?,
        settings: serde_json::from_str(&settings).unwrap_or_default(),
        created_at: row.get(7)?,
        placement: row.get::<_, Option<String>>(8)?.as_deref().and_then(AppPlacement::from_text),
    })
}

/// A hash of a password nobody has, checked for unknown user names (made once, at the cost
/// real ones have).
fn unknown_user_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| bcrypt::hash(random_key(24), DASHBOARD_BCRYPT_COST).unwrap_or_default())
}

/// A random alphanumeric key.
pub fn random_key(length: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..length).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_are_renamed_and_their_keys_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::open(dir.path()).unwrap();
        let app = registry.create_app("shop").unwrap();
        registry.create_app("blog").unwrap();
        assert!(matches!(registry.rename("shop", "blog"), Err(RegistryError::InvalidName(_))));
        assert!(matches!(registry.rename("shop", "no spaces"), Err(RegistryError::InvalidName(_))));
        let renamed = registry.rename("shop", "store").unwrap();
        assert_eq!((renamed.app_id.as_str(), renamed.name.as_str()), (app.app_id.as_str(), "store"));
        assert_eq!(registry.find(&app.app_id).unwrap().unwrap().name, "store");

        let rotated = registry.rotate_keys("store").unwrap();
        assert_eq!(rotated.app_id, app.app_id);
        assert_ne!(rotated.master_key, app.master_key);
        assert_ne!(rotated.javascript_key, app.javascript_key);
        assert_ne!(rotated.rest_api_key, app.rest_api_key);
        assert_eq!(
            registry.find(&app.app_id).unwrap().unwrap(),
            AppRecord { name: "store".into(), ..rotated }
        );
    }

    #[test]
    fn dashboard_sessions_last_until_signed_out_or_the_user_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::open(dir.path()).unwrap();
        let ann = registry.add_dashboard_user("ann", "correct horse", false).unwrap();
        let (token, session) = registry.start_dashboard_session(&ann).unwrap();
        assert_eq!(registry.dashboard_session(&token).unwrap(), Some(session.clone()));
        assert_eq!(registry.dashboard_session("not-a-token").unwrap(), None);
        // Only the token's hash is stored.
        let stored: String = registry
            .connection()
            .query_row("SELECT token_hash FROM dashboard_sessions", [], |row| row.get(0))
            .unwrap();
        assert!(!stored.contains(&token));

        let (second, _) = registry.start_dashboard_session(&ann).unwrap();
        registry.end_dashboard_session(&token).unwrap();
        assert_eq!(registry.dashboard_session(&token).unwrap(), None);
        assert!(registry.dashboard_session(&second).unwrap().is_some());
        registry.remove_dashboard_user("ann").unwrap();
        assert_eq!(registry.dashboard_session(&second).unwrap(), None);

        // An expired session is none.
        let bob = registry.add_dashboard_user("bob", "correct horse", true).unwrap();
        let (token, _) = registry.start_dashboard_session(&bob).unwrap();
        registry
            .connection()
            .execute("UPDATE dashboard_sessions SET expires_at = '2000-01-01T00:00:00.000Z'", [])
            .unwrap();
        assert_eq!(registry.dashboard_session(&token).unwrap(), None);
    }

    #[test]
    fn dashboard_users_sign_in_with_their_password_only() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::open(dir.path()).unwrap();
        let ann = registry.add_dashboard_user("ann", "correct horse", false).unwrap();
        registry.add_dashboard_user("viewer", "look but do not touch", true).unwrap();
        assert!(matches!(
            registry.add_dashboard_user("ann", "another one", false),
            Err(RegistryError::InvalidName(_))
        ));
        assert!(matches!(
            registry.add_dashboard_user("bob", "short", false),
            Err(RegistryError::InvalidName(_))
        ));
        assert!(matches!(
            registry.add_dashboard_user("b o b", "long enough", false),
            Err(RegistryError::InvalidName(_))
        ));

        assert_eq!(registry.verify_dashboard_user("ann", "correct horse").unwrap(), Some(ann));
        assert_eq!(registry.verify_dashboard_user("ann", "wrong horse").unwrap(), None);
        assert_eq!(registry.verify_dashboard_user("nobody", "correct horse").unwrap(), None);
        assert!(
            registry.verify_dashboard_user("viewer", "look but do not touch").unwrap().unwrap().read_only
        );
        // Only a hash is kept.
        let stored: String = registry
            .connection()
            .query_row("SELECT password_hash FROM dashboard_users WHERE username = 'ann'", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert!(stored.starts_with("$2") && !stored.contains("horse"));

        let names: Vec<String> =
            registry.dashboard_users().unwrap().into_iter().map(|u| u.username).collect();
        assert_eq!(names, ["ann", "viewer"]);
        registry.remove_dashboard_user("ann").unwrap();
        assert!(matches!(registry.remove_dashboard_user("ann"), Err(RegistryError::NotFound(_))));
        assert_eq!(registry.verify_dashboard_user("ann", "correct horse").unwrap(), None);
    }

    #[test]
    fn creates_lists_finds_and_deletes_apps() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::open(dir.path()).unwrap();
        let first = registry.create_app("first").unwrap();
        let second = registry.create_app("second").unwrap();
        assert_ne!(first.app_id, second.app_id);
        assert_ne!(first.master_key, second.master_key);
        assert!(matches!(registry.create_app("first"), Err(RegistryError::InvalidName(_))));
        assert!(matches!(registry.create_app("bad name"), Err(RegistryError::InvalidName(_))));
        assert_eq!(registry.list().unwrap().len(), 2);
        assert_eq!(registry.find(&first.app_id).unwrap(), Some(first.clone()));

        let mut settings = Map::new();
        settings.insert("maxLimit".into(), Value::from(5));
        registry.set_settings(&first.app_id, &settings).unwrap();
        drop(registry);

        let reopened = Registry::open(dir.path()).unwrap();
        assert_eq!(reopened.find(&first.app_id).unwrap().unwrap().settings, settings);
        std::fs::create_dir_all(reopened.app_dir(&second.app_id)).unwrap();
        reopened.delete("second").unwrap();
        assert!(!reopened.app_dir(&second.app_id).exists());
        assert_eq!(reopened.list().unwrap().len(), 1);
        assert!(matches!(reopened.delete("second"), Err(RegistryError::NotFound(_))));
    }

    #[test]
    fn an_apps_first_placement_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::open(dir.path()).unwrap();
        let app = registry.create_app("placed").unwrap();
        assert_eq!(app.placement, None);
        let placement = AppPlacement::Postgres { schema: format!("app_{}", app.app_id) };
        registry.set_placement(&app.app_id, &placement).unwrap();
        assert!(registry.set_placement(&app.app_id, &AppPlacement::Sqlite).is_err());
        drop(registry);
        let reopened = Registry::open(dir.path()).unwrap();
        assert_eq!(reopened.find(&app.app_id).unwrap().unwrap().placement, Some(placement));
        assert!(matches!(
            reopened.set_placement("nope", &AppPlacement::Sqlite),
            Err(RegistryError::NotFound(_))
        ));
    }

    /// A registry.sqlite written before placements existed opens, its apps unplaced.
    #[test]
    fn registries_without_placements_are_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let connection = Connection::open(dir.path().join("registry.sqlite")).unwrap();
        connection.execute_batch(SCHEMA).unwrap();
        connection
            .execute(
                "INSERT INTO apps (app_id, name, master_key, created_at) VALUES ('old', 'old', 'm', '2024-01-01')",
                [],
            )
            .unwrap();
        drop(connection);
        let registry = Registry::open(dir.path()).unwrap();
        assert_eq!(registry.find("old").unwrap().unwrap().placement, None);
        registry.set_placement("old", &AppPlacement::Sqlite).unwrap();
        assert_eq!(registry.find("old").unwrap().unwrap().placement, Some(AppPlacement::Sqlite));
    }
}
