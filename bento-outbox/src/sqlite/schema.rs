//! The SQLite outbox's tables. Times are seconds since the epoch as REAL
//! (`NOW`), so ages and leases are plain arithmetic.

use sqlx::SqlitePool;

/// Seconds since the epoch, with fractions, in SQL.
pub(crate) const NOW: &str = "((julianday('now') - 2440587.5) * 86400.0)";

pub(crate) async fn migrate(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    let statements = [
        format!(
            "CREATE TABLE IF NOT EXISTS bento_outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                kind INTEGER NOT NULL,
                body TEXT NOT NULL,
                created_at REAL NOT NULL DEFAULT {NOW},
                dead INTEGER NOT NULL DEFAULT 0,
                reason TEXT,
                attempts INTEGER NOT NULL DEFAULT 0,
                failed_at REAL
            )"
        ),
        "CREATE INDEX IF NOT EXISTS bento_outbox_live ON bento_outbox (id) WHERE dead = 0"
            .to_owned(),
        "CREATE TABLE IF NOT EXISTS bento_outbox_lease (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            holder TEXT,
            expires_at REAL NOT NULL DEFAULT 0,
            sending_first INTEGER,
            sending_last INTEGER
        )"
        .to_owned(),
        "INSERT OR IGNORE INTO bento_outbox_lease (id) VALUES (1)".to_owned(),
    ];
    for statement in statements {
        sqlx::query(&statement).execute(&mut *tx).await?;
    }
    tx.commit().await
}
