//! Connections: one writer, a small pool of readers, and how blocking SQLite work is run from
//! async code.
//!
//! Every SQLite call runs on tokio's blocking pool (`spawn_blocking`). A connection sits behind
//! a `std::sync::Mutex` that only the blocking job holds, so an async caller never blocks a
//! runtime thread. The writer is also behind a `tokio::sync::Mutex` (see `Database::writer`):
//! that lock says whose turn it is (one write, or one whole transaction across awaits), while
//! the inner mutex only hands the connection to the job running right now.
//!
//! # Durability
//!
//! The database runs in WAL mode with `synchronous=NORMAL`. A commit has been written to the
//! WAL file when it returns, so an acknowledged write survives the process being killed
//! (`kill -9`, a panic, an abort). On a power loss or an OS crash the most recent commits may
//! be lost (those not yet synced by a checkpoint), but the database stays consistent; it is
//! never corrupted. `synchronous=FULL` would close that window at the cost of an fsync per
//! commit.

use std::num::NonZero;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use reparse_core::{ParseError, ParseResult};
use rusqlite::{Connection, OpenFlags};

use crate::errors::sqlite_error;
use crate::{functions, schema_ops};

/// How long a connection waits for a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per connection. Queries differ by their shape (fields, operators,
/// list lengths), so the cache is larger than rusqlite's default of 16.
const STATEMENT_CACHE_CAPACITY: usize = 256;

/// An open database: its writer and its readers.
pub(crate) struct Database {
    /// The only connection that writes. Holding this lock is holding the right to write: a
    /// single write takes it for its own short transaction, a `Transaction` for its lifetime.
    pub(crate) writer: Arc<tokio::sync::Mutex<SharedConnection>>,
    /// Connections for reads outside transactions. WAL lets them read while the writer writes;
    /// they see the last committed state.
    pub(crate) readers: ReaderPool,
}

impl Database {
    /// Opens (creating if needed) the database file and its parent directories.
    pub(crate) fn open(path: &Path) -> ParseResult<Database> {
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|error| {
                ParseError::internal(format!("cannot create {}: {error}", parent.display()))
            })?;
        }
        let writer = open_writer(path)?;
        let reader_count = std::thread::available_parallelism().map_or(4, NonZero::get).clamp(2, 8);
        let readers =
            (0..reader_count).map(|_| open_reader(path).map(Mutex::new)).collect::<ParseResult<Vec<_>>>()?;
        Ok(Database {
            writer: Arc::new(tokio::sync::Mutex::new(SharedConnection::new(writer))),
            readers: ReaderPool { readers: readers.into(), next: AtomicUsize::new(0) },
        })
    }
}

fn open_writer(path: &Path) -> ParseResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let connection = Connection::open_with_flags(path, flags).map_err(sqlite_error)?;
    configure(&connection)?;
    let journal_mode: String =
        connection.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(sqlite_error)?;
    if !journal_mode.eq_ignore_ascii_case("wal") {
        return Err(ParseError::internal(format!(
            "{} cannot use WAL mode (journal_mode is {journal_mode})",
            path.display()
        )));
    }
    connection
        .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;")
        .map_err(sqlite_error)?;
    schema_ops::ensure_schema_table(&connection)?;
    Ok(connection)
}

fn open_reader(path: &Path) -> ParseResult<Connection> {
    let flags =
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let connection = Connection::open_with_flags(path, flags).map_err(sqlite_error)?;
    configure(&connection)?;
    Ok(connection)
}

fn configure(connection: &Connection) -> ParseResult<()> {
    connection.busy_timeout(BUSY_TIMEOUT).map_err(sqlite_error)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    functions::register(connection).map_err(sqlite_error)
}

/// Runs blocking work on tokio's blocking pool.
async fn run_blocking<T, F>(job: F) -> ParseResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> ParseResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|error| ParseError::internal(format!("SQLite job failed: {error}")))?
}

/// A job that panicked leaves the connection usable (rusqlite rolls back its transaction
/// guards while unwinding), so a poisoned lock is taken over rather than propagated.
fn lock(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    connection.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A connection that blocking jobs take turns on.
pub(crate) struct SharedConnection(Arc<Mutex<Connection>>);

impl SharedConnection {
    fn new(connection: Connection) -> SharedConnection {
        SharedConnection(Arc::new(Mutex::new(connection)))
    }

    /// Runs `job` with the connection on the blocking pool.
    pub(crate) async fn run<T, F>(&self, job: F) -> ParseResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> ParseResult<T> + Send + 'static,
    {
        let connection = Arc::clone(&self.0);
        run_blocking(move || job(&mut lock(&connection))).await
    }

    /// Runs `job` on the calling thread (for cleanup where no runtime is available).
    pub(crate) fn run_here<T>(&self, job: impl FnOnce(&mut Connection) -> T) -> T {
        job(&mut lock(&self.0))
    }
}

/// Reader connections, handed out idle-first.
pub(crate) struct ReaderPool {
    readers: Arc<[Mutex<Connection>]>,
    next: AtomicUsize,
}

impl ReaderPool {
    /// Runs `job` on an idle reader, or waits for one when all are busy.
    pub(crate) async fn run<T, F>(&self, job: F) -> ParseResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> ParseResult<T> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        let first = self.next.fetch_add(1, Ordering::Relaxed) % readers.len();
        run_blocking(move || {
            for offset in 0..readers.len() {
                match readers[(first + offset) % readers.len()].try_lock() {
                    Ok(connection) => return job(&connection),
                    Err(TryLockError::Poisoned(poisoned)) => return job(&poisoned.into_inner()),
                    Err(TryLockError::WouldBlock) => {}
                }
            }
            job(&lock(&readers[first]))
        })
        .await
    }
}
