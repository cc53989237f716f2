//! The SQLite outbox's tables. Times are seconds since the epoch as REAL
//! (`NOW`), so ages and leases are plain arithmetic.

use sqlx::SqlitePool;

use super::conn::{Mode, Own};

/// Seconds since the epoch, with fractions, in SQL.
pub(crate) const NOW: &str = "((julianday('now') - 2440587.5) * 86400.0)";

/// The whole schema, each statement idempotent: what [`migrate`] runs, and
/// what an application can put in its own migrations instead.
pub(crate) const STATEMENTS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS bento_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_at REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
        dead INTEGER NOT NULL DEFAULT 0,
        reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        failed_at REAL
    )",
    "CREATE INDEX IF NOT EXISTS bento_outbox_live ON bento_outbox (id) WHERE dead = 0",
    // Who relays, until when, and the id range it is sending.
    "CREATE TABLE IF NOT EXISTS bento_outbox_lease (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        holder TEXT,
        expires_at REAL NOT NULL DEFAULT 0,
        sending_first INTEGER,
        sending_last INTEGER
    )",
    "INSERT OR IGNORE INTO bento_outbox_lease (id) VALUES (1)",
    // Pacing shared by every process on the file: each request's slot, held
    // until `until` (its grant plus the longest a request can take) or, once
    // `done`, counting for a window after `until` (when its answer came).
    "CREATE TABLE IF NOT EXISTS bento_outbox_slot (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        family TEXT NOT NULL,
        until REAL NOT NULL,
        done INTEGER NOT NULL DEFAULT 0
    )",
    "CREATE INDEX IF NOT EXISTS bento_outbox_slot_family ON bento_outbox_slot (family, until)",
    // How long Bento asked everyone to wait (Retry-After), per family.
    "CREATE TABLE IF NOT EXISTS bento_outbox_budget (
        family TEXT PRIMARY KEY,
        blocked_until REAL NOT NULL
    )",
];

/// The tables and indexes the schema ends with.
const OBJECTS: &[&str] = &[
    "bento_outbox",
    "bento_outbox_live",
    "bento_outbox_lease",
    "bento_outbox_slot",
    "bento_outbox_slot_family",
    "bento_outbox_budget",
];

/// Creates what is missing, taking the write lock up front (`BEGIN
/// IMMEDIATE`, which waits within the busy timeout) so that it succeeds
/// while other processes write; when everything exists, it only reads.
pub(crate) async fn migrate(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    if complete(pool).await? {
        return Ok(());
    }
    let mut tx = Own::begin(pool, Mode::Write).await?;
    for statement in STATEMENTS {
        sqlx::query(statement).execute(tx.conn()).await?;
    }
    tx.commit().await
}

async fn complete(pool: &SqlitePool) -> Result<bool, sqlx::Error> {
    let mut tx = Own::begin(pool, Mode::Read).await?;
    let list = format!(
        "[{}]",
        OBJECTS
            .iter()
            .map(|name| format!("\"{name}\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    let (found, lease): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM sqlite_master
                 WHERE name IN (SELECT value FROM json_each(?1))),
                (SELECT count(*) FROM sqlite_master WHERE name = 'bento_outbox_lease')",
    )
    .bind(list)
    .fetch_one(tx.conn())
    .await?;
    let rows: i64 = if lease == 1 {
        sqlx::query_scalar("SELECT count(*) FROM bento_outbox_lease")
            .fetch_one(tx.conn())
            .await?
    } else {
        0
    };
    tx.commit().await?;
    Ok(found == OBJECTS.len() as i64 && rows == 1)
}
