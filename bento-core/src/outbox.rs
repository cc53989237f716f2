//! The transactional outbox on PostgreSQL (feature `postgres`): events and
//! subscriber records written in the application's own database
//! transaction, so that a commit means "will be delivered" and a rollback
//! means "never sent".
//!
//! ```no_run
//! use bento_core::{Event, outbox::Outbox};
//!
//! # async fn run(pool: sqlx::PgPool) -> Result<(), Box<dyn std::error::Error>> {
//! let outbox = Outbox::new(pool.clone());
//! outbox.migrate().await?; // idempotent; safe when several processes run it at once
//!
//! let mut tx = pool.begin().await?;
//! // ... the app's own writes: INSERT INTO users ...
//! outbox.track(&mut *tx, &Event::new("account.signup", "ada@example.com")).await?;
//! tx.commit().await?; // the event is stored with the user, or neither is
//! # Ok(()) }
//! ```
//!
//! Items are checked and encoded exactly as [`Client::track`](crate::Client::track)
//! does (an invalid item is a typed error and nothing is written) and stored
//! as those bytes, in a `json` column, so delivery never re-encodes and the
//! table is readable with plain SQL. Every insert notifies the channel
//! `bento_outbox` (at commit), for a relay to wake on.
//!
//! sqlx 0.8 is used (the pool and transaction types axum and actix-web apps
//! already hold); it builds on the workspace's Rust 1.89 (sqlx 0.9 needs 1.94).
//!
//! **Status:** this is the writing half. The relay that drains the table
//! into Bento (leader election, LISTEN/NOTIFY, dead letters, fleet-wide
//! pacing) is not built yet: until it is, rows written here are not delivered.

use sqlx::{PgConnection, PgPool, Postgres};

use crate::dispatch::{Encoded, ItemKind};
use crate::error::ValidationError;
use crate::events::BentoEvent;
use crate::subscribers::BentoSubscriber;

/// The key of the advisory lock `migrate` holds, so concurrent migrations
/// run one after the other.
const MIGRATION_LOCK: i64 = 0x6265_6e74_6f5f_6d31; // "bento_m1"

/// The schema, one step per version (each a list of statements); a step
/// never changes once released.
const MIGRATIONS: &[(i32, &[&str])] = &[(
    1,
    &[
        "CREATE TABLE bento_outbox (
        id bigserial PRIMARY KEY,
        kind smallint NOT NULL,
        body json NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 0,
        dead boolean NOT NULL DEFAULT false,
        reason text,
        failed_at timestamptz
    )",
        "CREATE INDEX bento_outbox_live ON bento_outbox (id) WHERE NOT dead",
        "CREATE FUNCTION bento_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('bento_outbox', ''); RETURN NULL; END $$",
        "CREATE TRIGGER bento_outbox_inserted AFTER INSERT ON bento_outbox
        FOR EACH STATEMENT EXECUTE FUNCTION bento_outbox_notify()",
    ],
)];

/// Why an outbox call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The item is invalid; nothing was written.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The database refused or failed.
    #[error("the Bento outbox's database call failed: {0}")]
    Database(#[from] sqlx::Error),
}

/// The outbox table in one PostgreSQL database.
#[derive(Debug, Clone)]
pub struct Outbox {
    pool: PgPool,
}

fn kind_code(kind: ItemKind) -> i16 {
    match kind {
        ItemKind::Event => 1,
        ItemKind::Subscriber => 2,
    }
}

impl Outbox {
    /// The outbox in `pool`'s database.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// The pool it uses.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Creates or upgrades the outbox's tables. Idempotent and versioned
    /// (`bento_outbox_migrations`); concurrent calls from several processes
    /// wait on an advisory lock and find the work done.
    pub async fn migrate(&self) -> Result<(), OutboxError> {
        let mut conn = self.pool.acquire().await?;
        let conn: &mut PgConnection = &mut conn;
        sqlx::query("BEGIN").execute(&mut *conn).await?;
        match migrate_on(conn).await {
            Ok(()) => {
                sqlx::query("COMMIT").execute(&mut *conn).await?;
                Ok(())
            }
            Err(error) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                Err(error.into())
            }
        }
    }

    /// Writes `event` to the outbox inside the caller's transaction (pass
    /// `&mut *tx`): checked and encoded as [`Client::track`](crate::Client::track)
    /// does, so an invalid event is an error and nothing is written.
    pub async fn track<E: BentoEvent + ?Sized>(
        &self,
        conn: &mut PgConnection,
        event: &E,
    ) -> Result<(), OutboxError> {
        let item = Encoded::event(event)?;
        insert(conn, &[item]).await
    }

    /// Writes subscriber records to the outbox inside the caller's
    /// transaction, all or none: every record is checked first.
    pub async fn import<S: BentoSubscriber>(
        &self,
        conn: &mut PgConnection,
        records: &[S],
    ) -> Result<(), OutboxError> {
        let items = records
            .iter()
            .enumerate()
            .map(|(index, record)| {
                Encoded::subscriber(record).map_err(|e| e.within(&format!("subscribers[{index}]")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        insert(conn, &items).await
    }

    /// Items waiting for delivery (not dead letters).
    pub async fn pending(&self) -> Result<u64, OutboxError> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM bento_outbox WHERE NOT dead")
            .fetch_one(&self.pool)
            .await?;
        Ok(count.max(0) as u64)
    }
}

/// The migration steps not yet applied, inside the caller's transaction.
async fn migrate_on(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS bento_outbox_migrations (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .execute(&mut *conn)
    .await?;
    let applied: Option<i32> =
        sqlx::query_scalar("SELECT max(version) FROM bento_outbox_migrations")
            .fetch_one(&mut *conn)
            .await?;
    for &(version, statements) in MIGRATIONS {
        if applied.is_some_and(|done| done >= version) {
            continue;
        }
        for statement in statements {
            sqlx::query(statement).execute(&mut *conn).await?;
        }
        sqlx::query("INSERT INTO bento_outbox_migrations (version) VALUES ($1)")
            .bind(version)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// One statement for any number of items.
async fn insert(conn: &mut PgConnection, items: &[Encoded]) -> Result<(), OutboxError> {
    if items.is_empty() {
        return Ok(());
    }
    let kinds: Vec<i16> = items.iter().map(|item| kind_code(item.kind())).collect();
    // The client's encoding is UTF-8 JSON; `json` keeps the text as given.
    let bodies: Vec<String> = items
        .iter()
        .map(|item| String::from_utf8_lossy(item.json()).into_owned())
        .collect();
    sqlx::query::<Postgres>(
        "INSERT INTO bento_outbox (kind, body)
         SELECT kind, body::json FROM UNNEST($1::smallint[], $2::text[]) AS t(kind, body)",
    )
    .bind(&kinds)
    .bind(&bodies)
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send<T: Send>(_: T) {}

    /// Apps spawn these futures: they must be `Send`.
    #[allow(dead_code)]
    fn futures_are_send(outbox: &Outbox, conn: &mut PgConnection) {
        send(outbox.migrate());
        send(outbox.pending());
        send(outbox.track(conn, &crate::Event::new("x", "a@example.com")));
    }
}
