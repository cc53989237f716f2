//! Connections the outbox can trust, whatever happened on them before.
//!
//! sqlx 0.8's SQLite driver counts the transactions it opened. When SQLite
//! rolls a transaction back by itself (after `SQLITE_FULL`, an I/O error, a
//! busy or out-of-memory failure), the `ROLLBACK` that follows fails and the
//! count stays up: the pool hands the connection out again, the next
//! `begin()` opens a `SAVEPOINT` instead of a transaction, one `ROLLBACK TO`
//! later leaves a transaction open for good, and from then on each
//! `commit()` only releases a savepoint: it returns `Ok`, nothing is
//! written, and SQLite's write lock stays held until the process exits
//! (`docs/upstream/sqlx-sqlite-transaction-depth.md`). SQLite's own state is
//! the truth, and plain SQL can read it: `BEGIN` fails inside a transaction.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::pool::{PoolConnection, PoolConnectionMetadata};
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::{Database, Sqlite, SqliteConnection, SqlitePool, TransactionManager};

/// How many transactions (and savepoints) sqlx believes are open on `conn`.
pub(crate) fn sqlx_depth(conn: &SqliteConnection) -> usize {
    <Sqlite as Database>::TransactionManager::get_transaction_depth(conn)
}

/// Whether SQLite has a transaction open on `conn`: `BEGIN` fails inside
/// one; outside, the probe's own transaction is rolled back at once.
pub(crate) async fn in_transaction(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    match sqlx::Executor::execute(&mut *conn, "BEGIN").await {
        Ok(_) => {
            sqlx::Executor::execute(&mut *conn, "ROLLBACK").await?;
            Ok(false)
        }
        Err(error) if within_transaction(&error) => Ok(true),
        Err(error) => Err(error),
    }
}

/// SQLite's answer to `BEGIN` inside a transaction.
fn within_transaction(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.message().contains("within a transaction"))
}

/// SQLite's `SQLITE_BUSY` (or one of its extended codes): another
/// connection holds the lock past the busy timeout.
pub(crate) fn busy(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(error) = error else {
        return false;
    };
    error
        .code()
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == 5)
}

/// Whether the transaction the caller holds on `conn` is real: refused when
/// sqlx counts one open and SQLite has none (it rolled it back by itself).
/// A connection outside any transaction (autocommit writes) is fine.
pub(crate) async fn check_writable(conn: &mut SqliteConnection) -> Result<(), crate::OutboxError> {
    if sqlx_depth(conn) > 0 && !in_transaction(conn).await? {
        return Err(crate::OutboxError::TransactionLost);
    }
    Ok(())
}

/// Whether `conn` is idle by both counts: no transaction open in sqlx's
/// book nor in SQLite.
async fn idle(conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    // The probe runs after any rollback a dropped transaction queued, so the
    // depth read after it is settled.
    let open = in_transaction(conn).await?;
    Ok(!open && sqlx_depth(conn) == 0)
}

/// Keeps a released connection in the pool only when no transaction is left
/// open on it, by SQLite's account and by sqlx's; otherwise the pool closes
/// it, which rolls back whatever is stuck on it and frees SQLite's write
/// lock. For [`SqlitePoolOptions::after_release`]; [`pool_options`]
/// installs it.
///
/// ```no_run
/// # async fn run() -> Result<(), sqlx::Error> {
/// let pool = sqlx::sqlite::SqlitePoolOptions::new()
///     .max_connections(8)
///     .after_release(bento_outbox::sqlite::check_on_release)
///     .connect("sqlite://app.db?mode=rwc")
///     .await?;
/// # Ok(()) }
/// ```
pub fn check_on_release(
    conn: &mut SqliteConnection,
    _: PoolConnectionMetadata,
) -> Pin<Box<dyn Future<Output = Result<bool, sqlx::Error>> + Send + '_>> {
    Box::pin(async move {
        let idle = idle(conn).await?;
        if !idle {
            warn_closing();
        }
        Ok(idle)
    })
}

/// Pool options for an application's SQLite pool that holds the outbox:
/// `SqlitePoolOptions::new()` with [`check_on_release`], so that a connection
/// whose transaction SQLite rolled back by itself is closed instead of
/// reused. Without it, sqlx 0.8 can report a later `commit()` as done
/// though nothing was written (see the crate's README, "SQLite").
pub fn pool_options() -> SqlitePoolOptions {
    SqlitePoolOptions::new().after_release(check_on_release)
}

/// Warns once per process: the cause (a full disk...) is logged by whoever
/// saw the error; this says what the outbox did about it.
fn warn_closing() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "closing a SQLite connection whose transaction SQLite rolled back by itself (after a full disk, an I/O error...) though sqlx still counted it open; this frees the write lock it held"
        );
    }
}

/// How a transaction of the outbox's own is begun.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mode {
    /// `BEGIN`: reads see one snapshot.
    Read,
    /// `BEGIN IMMEDIATE`: takes the write lock up front, waiting for it
    /// within the busy timeout, instead of failing at once when a read
    /// transaction has to become a write one.
    Write,
}

/// A transaction of the outbox's own, begun with plain SQL on a connection
/// both sqlx and SQLite agree is idle. Anything but a commit (an error, a
/// cancelled future) closes the connection, which rolls back: no state is
/// ever left for the next user of the connection to trip on.
pub(crate) struct Own {
    conn: PoolConnection<Sqlite>,
    open: bool,
}

impl Own {
    /// Begins on a sound connection of `pool`; a connection found in a
    /// broken state is closed (ending whatever is stuck on it) and another
    /// tried. A busy database (the lock held past the busy timeout) also
    /// looks through the pool's idle connections for one holding the lock
    /// by mistake.
    pub(crate) async fn begin(pool: &SqlitePool, mode: Mode) -> Result<Own, sqlx::Error> {
        let statement = match mode {
            Mode::Read => "BEGIN",
            Mode::Write => "BEGIN IMMEDIATE",
        };
        // Each broken connection is closed, so after max_connections of them
        // the pool opens a fresh one.
        let tries = pool.options().get_max_connections() + 1;
        let mut last = None;
        for _ in 0..tries {
            let mut conn = pool.acquire().await?;
            if sqlx_depth(&conn) != 0 {
                broken(conn).await;
                continue;
            }
            match sqlx::Executor::execute(&mut *conn, statement).await {
                Ok(_) => return Ok(Own { conn, open: true }),
                Err(error) if within_transaction(&error) => {
                    broken(conn).await;
                    last = Some(error);
                }
                Err(error) => {
                    if busy(&error) {
                        drop(conn);
                        heal(pool).await;
                    }
                    return Err(error);
                }
            }
        }
        Err(last.unwrap_or(sqlx::Error::PoolTimedOut))
    }

    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }

    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        sqlx::Executor::execute(&mut *self.conn, "COMMIT").await?;
        self.open = false;
        Ok(())
    }
}

impl Drop for Own {
    fn drop(&mut self) {
        if self.open {
            // Closing rolls back; a rollback here could not be awaited.
            self.conn.close_on_drop();
        }
    }
}

async fn broken(conn: PoolConnection<Sqlite>) {
    warn_closing();
    let _ = conn.close().await;
}

/// Closes every idle connection of `pool` that holds a transaction nobody
/// owns (the lock such a connection holds makes everyone else busy).
pub(crate) async fn heal(pool: &SqlitePool) -> usize {
    let mut closed = 0;
    let mut sound = Vec::new();
    while sound.len() < pool.size() as usize {
        let Some(mut conn) = pool.try_acquire() else {
            break;
        };
        match idle(&mut conn).await {
            Ok(true) => sound.push(conn),
            _ => {
                closed += 1;
                broken(conn).await;
            }
        }
    }
    closed
}
