//! Connections: one writer, a small pool of readers, and how SQLite work is run from async
//! code.
//!
//! Work runs *inline* on the calling thread under a time budget ([`INLINE_BUDGET`]): a point
//! read or a single-object write takes microseconds, far less than handing it to another
//! thread and back (which measured as most of a request's CPU). A statement still running when
//! the budget is spent is interrupted by SQLite's progress handler, rolled back with its
//! transaction or savepoint, and run again from the start on tokio's blocking pool with no
//! budget, so a long scan never holds a runtime thread for more than the budget. Jobs are
//! therefore `Fn`: running one twice must be safe, which holds because a failed attempt leaves
//! nothing behind.
//!
//! A connection sits behind a `std::sync::Mutex` held only while a job runs (never across an
//! await). The writer is also behind a `tokio::sync::Mutex` (see `Database::writer`): that lock
//! says whose turn it is (one write, or one whole transaction across awaits).
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
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};
use std::time::{Duration, Instant};

use reparse_core::{ParseError, ParseResult};
use rusqlite::{Connection, OpenFlags};

use crate::cache::ObjectCache;
use crate::errors::sqlite_error;
use crate::{functions, schema_ops};

/// How long a connection waits for a lock held by another connection before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Prepared statements kept per connection. Queries differ by their shape (fields, operators,
/// list lengths), so the cache is larger than rusqlite's default of 16.
const STATEMENT_CACHE_CAPACITY: usize = 256;

/// How long a job may run on the calling thread before it is moved to the blocking pool.
const INLINE_BUDGET: Duration = Duration::from_millis(2);

/// SQLite virtual-machine steps between two checks of the budget.
const PROGRESS_CHECK_STEPS: i32 = 1000;

/// An open database: its writer and its readers.
pub(crate) struct Database {
    /// The only connection that writes. Holding this lock is holding the right to write: a
    /// single write takes it for its own short transaction, a `Transaction` for its lifetime.
    pub(crate) writer: Arc<tokio::sync::Mutex<SharedConnection>>,
    /// Connections for reads outside transactions. WAL lets them read while the writer writes;
    /// they see the last committed state.
    pub(crate) readers: ReaderPool,
    /// Objects read by id, evicted by every write that may change them.
    pub(crate) cache: Arc<ObjectCache>,
    /// An exclusive lock on `<database>.lock`, held while the database is open: the object
    /// cache is exact only while this process is the database's one writer, so a second
    /// process opening the same file is refused instead of silently serving stale objects.
    _owner: std::fs::File,
}

impl Database {
    /// Opens (creating if needed) the database file and its parent directories.
    pub(crate) fn open(path: &Path) -> ParseResult<Database> {
        if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|error| {
                ParseError::internal(format!("cannot create {}: {error}", parent.display()))
            })?;
        }
        let owner = lock_owner_file(path)?;
        let writer = Guarded::new(open_writer(path)?)?;
        // Inline jobs use at most one reader per runtime thread; the rest serve jobs moved to
        // the blocking pool.
        let reader_count = std::thread::available_parallelism().map_or(4, NonZero::get).clamp(2, 8) + 2;
        let readers = (0..reader_count)
            .map(|_| open_reader(path).and_then(Guarded::new).map(Arc::new))
            .collect::<ParseResult<Vec<_>>>()?;
        Ok(Database {
            writer: Arc::new(tokio::sync::Mutex::new(SharedConnection(Arc::new(writer)))),
            readers: ReaderPool { readers: readers.into(), next: AtomicUsize::new(0) },
            cache: Arc::new(ObjectCache::default()),
            _owner: owner,
        })
    }
}

fn lock_owner_file(path: &Path) -> ParseResult<std::fs::File> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let file =
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(
            |error| ParseError::internal(format!("cannot open {}: {error}", Path::new(&lock_path).display())),
        )?;
    file.try_lock().map_err(|_| {
        ParseError::internal(format!(
            "{} is already open in another process (only one Reparse server may serve an SQLite database)",
            path.display()
        ))
    })?;
    Ok(file)
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

/// Up to 256 MiB of the file mapped, per connection (address space, not memory).
const MEMORY_MAP_PRAGMA: &str = "PRAGMA mmap_size = 268435456;";

fn open_reader(path: &Path) -> ParseResult<Connection> {
    let flags =
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let connection = Connection::open_with_flags(path, flags).map_err(sqlite_error)?;
    configure(&connection)?;
    Ok(connection)
}

fn configure(connection: &Connection) -> ParseResult<()> {
    connection.busy_timeout(BUSY_TIMEOUT).map_err(sqlite_error)?;
    // Reads through a memory map instead of a `pread` per page that is not in this
    // connection's own cache: a query that skips rows (ACL-filtered ones) touches many pages.
    connection.execute_batch(MEMORY_MAP_PRAGMA).map_err(sqlite_error)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
    functions::register(connection).map_err(sqlite_error)
}

/// A connection with its time budget: the progress handler interrupts the running statement
/// once `deadline` (microseconds since [`epoch`], 0 = none) has passed, and says so in
/// `interrupted`.
pub(crate) struct Guarded {
    connection: Mutex<Connection>,
    deadline: Arc<AtomicU64>,
    interrupted: Arc<AtomicBool>,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn micros_since_epoch() -> u64 {
    u64::try_from(epoch().elapsed().as_micros()).unwrap_or(u64::MAX)
}

impl Guarded {
    fn new(mut connection: Connection) -> ParseResult<Guarded> {
        let deadline = Arc::new(AtomicU64::new(0));
        let interrupted = Arc::new(AtomicBool::new(false));
        let (handler_deadline, handler_interrupted) = (Arc::clone(&deadline), Arc::clone(&interrupted));
        connection
            .progress_handler(
                PROGRESS_CHECK_STEPS,
                Some(move || {
                    let deadline = handler_deadline.load(Ordering::Relaxed);
                    let expired = deadline != 0 && micros_since_epoch() > deadline;
                    if expired {
                        handler_interrupted.store(true, Ordering::Relaxed);
                    }
                    expired
                }),
            )
            .map_err(sqlite_error)?;
        Ok(Guarded { connection: Mutex::new(connection), deadline, interrupted })
    }

    /// Runs `job` with a budget, or without one (`None`).
    fn attempt<T>(
        &self,
        connection: &mut Connection,
        budget: Option<Duration>,
        job: &impl Fn(&mut Connection) -> ParseResult<T>,
    ) -> Attempt<T> {
        let deadline = budget.map_or(0, |budget| {
            micros_since_epoch().saturating_add(u64::try_from(budget.as_micros()).unwrap_or(u64::MAX))
        });
        self.interrupted.store(false, Ordering::Relaxed);
        self.deadline.store(deadline, Ordering::Relaxed);
        let result = job(connection);
        self.deadline.store(0, Ordering::Relaxed);
        if result.is_err() && self.interrupted.swap(false, Ordering::Relaxed) {
            Attempt::OverBudget
        } else {
            Attempt::Done(result)
        }
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        lock(&self.connection)
    }
}

enum Attempt<T> {
    Done(ParseResult<T>),
    OverBudget,
}

/// Runs `job` on `guarded`'s connection: inline within the budget, else again on the blocking
/// pool.
async fn run_on<T, F>(guarded: &Arc<Guarded>, job: F) -> ParseResult<T>
where
    T: Send + 'static,
    F: Fn(&mut Connection) -> ParseResult<T> + Send + 'static,
{
    {
        let mut connection = guarded.lock();
        if let Attempt::Done(result) = guarded.attempt(&mut connection, Some(INLINE_BUDGET), &job) {
            return result;
        }
    }
    let guarded = Arc::clone(guarded);
    run_blocking(move || match guarded.attempt(&mut guarded.lock(), None, &job) {
        Attempt::Done(result) => result,
        Attempt::OverBudget => Err(ParseError::internal("SQLite job interrupted without a budget")),
    })
    .await
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

/// A connection that jobs take turns on.
pub(crate) struct SharedConnection(Arc<Guarded>);

impl SharedConnection {
    /// Runs `job` with the connection (inline within the budget, else on the blocking pool).
    pub(crate) async fn run<T, F>(&self, job: F) -> ParseResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut Connection) -> ParseResult<T> + Send + 'static,
    {
        run_on(&self.0, job).await
    }

    /// Runs `job` on the calling thread (for cleanup where no runtime is available).
    pub(crate) fn run_here<T>(&self, job: impl FnOnce(&mut Connection) -> T) -> T {
        job(&mut self.0.lock())
    }
}

/// Reader connections, handed out idle-first.
pub(crate) struct ReaderPool {
    readers: Arc<[Arc<Guarded>]>,
    next: AtomicUsize,
}

impl ReaderPool {
    /// Runs `job` on an idle reader (inline within the budget, else on the blocking pool).
    /// When every reader is busy, the job waits for one on the blocking pool.
    pub(crate) async fn run<T, F>(&self, job: F) -> ParseResult<T>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> ParseResult<T> + Send + 'static,
    {
        let first = self.next.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        let job = move |connection: &mut Connection| job(connection);
        for offset in 0..self.readers.len() {
            let reader = &self.readers[(first + offset) % self.readers.len()];
            let attempt = match reader.connection.try_lock() {
                Ok(mut connection) => reader.attempt(&mut connection, Some(INLINE_BUDGET), &job),
                Err(TryLockError::Poisoned(poisoned)) => {
                    reader.attempt(&mut poisoned.into_inner(), Some(INLINE_BUDGET), &job)
                }
                Err(TryLockError::WouldBlock) => continue,
            };
            match attempt {
                Attempt::Done(result) => return result,
                Attempt::OverBudget => break,
            }
        }
        let reader = Arc::clone(&self.readers[first]);
        run_blocking(move || match reader.attempt(&mut reader.lock(), None, &job) {
            Attempt::Done(result) => result,
            Attempt::OverBudget => Err(ParseError::internal("SQLite job interrupted without a budget")),
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Counts to `limit` in SQL: seconds of work for large limits.
    fn count_to(connection: &Connection, limit: i64) -> ParseResult<i64> {
        connection
            .query_row(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?1) SELECT count(*) FROM c",
                [limit],
                |row| row.get(0),
            )
            .map_err(sqlite_error)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn short_jobs_run_once_inline_and_long_ones_move_to_the_blocking_pool() {
        let dir = tempfile::tempdir().unwrap();
        let database = Database::open(&dir.path().join("budget.sqlite")).unwrap();
        let runs = Arc::new(AtomicUsize::new(0));

        let counter = Arc::clone(&runs);
        let short = database
            .readers
            .run(move |connection| {
                counter.fetch_add(1, Ordering::SeqCst);
                count_to(connection, 10)
            })
            .await
            .unwrap();
        assert_eq!((short, runs.swap(0, Ordering::SeqCst)), (10, 1));

        let counter = Arc::clone(&runs);
        let long = database
            .readers
            .run(move |connection| {
                counter.fetch_add(1, Ordering::SeqCst);
                count_to(connection, 3_000_000)
            })
            .await
            .unwrap();
        assert_eq!(long, 3_000_000);
        assert_eq!(runs.swap(0, Ordering::SeqCst), 2, "interrupted inline, then run again off the runtime");

        // A write over budget is rolled back before it runs again: its effect lands once.
        let writer = database.writer.lock().await;
        writer
            .run(|connection| {
                connection.execute_batch("CREATE TABLE IF NOT EXISTS t (n INTEGER)").map_err(sqlite_error)
            })
            .await
            .unwrap();
        let counter = Arc::clone(&runs);
        writer
            .run(move |connection| {
                counter.fetch_add(1, Ordering::SeqCst);
                let transaction = connection.transaction().map_err(sqlite_error)?;
                transaction.execute("INSERT INTO t VALUES (1)", []).map_err(sqlite_error)?;
                count_to(&transaction, 3_000_000)?;
                transaction.commit().map_err(sqlite_error)
            })
            .await
            .unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        let rows: i64 = writer
            .run(|connection| {
                connection.query_row("SELECT count(*) FROM t", [], |row| row.get(0)).map_err(sqlite_error)
            })
            .await
            .unwrap();
        assert_eq!(rows, 1);
    }
}
