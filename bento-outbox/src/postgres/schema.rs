//! The outbox's tables, versioned: a step never changes once released, and
//! `migrate` applies the missing ones under an advisory lock, so several
//! processes starting at once run them one after the other.

use crate::schema_text::tidy;
use sqlx::PgConnection;

/// The key of the advisory lock `migrate` holds.
const MIGRATION_LOCK: i64 = 0x6265_6e74_6f5f_6d31; // "bento_m1"

/// The key of the session advisory lock the relaying instance holds.
pub(crate) const RELAY_LOCK: i64 = 0x6265_6e74_6f5f_7231; // "bento_r1"

/// The schema, one step per version, each a list of statements.
const MIGRATIONS: &[(i32, &[&str])] = &[
    (
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
    ),
    (
        2,
        &[
            // One row: who relays, and the id range of the batch it is
            // sending, so the next leader can count what may reach Bento twice.
            "CREATE TABLE bento_outbox_relay (
                singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                leader text,
                leader_since timestamptz,
                sending_first bigint,
                sending_last bigint,
                sending_since timestamptz
            )",
            "INSERT INTO bento_outbox_relay DEFAULT VALUES",
            // Fleet-wide pacing: the send times of the last N requests of each
            // endpoint family, and how long Bento asked everyone to wait.
            "CREATE TABLE bento_outbox_budget (
                family text PRIMARY KEY,
                sent timestamptz[] NOT NULL DEFAULT '{}',
                blocked_until timestamptz
            )",
            "INSERT INTO bento_outbox_budget (family)
                VALUES ('fetch'), ('batch'), ('experimental'), ('stats')",
            // 0 when a slot was taken, else the milliseconds to wait for one:
            // at most `p_limit` sends in any window of `p_window_ms`, on the
            // database's clock, whichever instance sends.
            "CREATE FUNCTION bento_outbox_take_slot(
                p_family text, p_limit integer, p_window_ms double precision
            ) RETURNS double precision LANGUAGE plpgsql AS $$
            DECLARE
                t timestamptz := clock_timestamp();
                w interval := p_window_ms * interval '1 millisecond';
                b bento_outbox_budget%ROWTYPE;
                recent timestamptz[];
            BEGIN
                SELECT * INTO b FROM bento_outbox_budget WHERE family = p_family FOR UPDATE;
                IF NOT FOUND THEN
                    RETURN 0;
                END IF;
                IF b.blocked_until IS NOT NULL AND b.blocked_until > t THEN
                    RETURN extract(epoch FROM b.blocked_until - t) * 1000;
                END IF;
                recent := ARRAY(SELECT s FROM unnest(b.sent) AS s WHERE s > t - w ORDER BY s);
                IF cardinality(recent) < p_limit THEN
                    UPDATE bento_outbox_budget SET sent = recent || t WHERE family = p_family;
                    RETURN 0;
                END IF;
                UPDATE bento_outbox_budget SET sent = recent WHERE family = p_family;
                RETURN greatest(extract(epoch FROM recent[1] + w - t) * 1000, 1);
            END $$",
            "CREATE FUNCTION bento_outbox_defer(p_family text, p_ms double precision)
            RETURNS void LANGUAGE sql AS $$
                UPDATE bento_outbox_budget
                SET blocked_until = greatest(
                    coalesce(blocked_until, '-infinity'),
                    clock_timestamp() + p_ms * interval '1 millisecond')
                WHERE family = p_family
            $$",
        ],
    ),
    (
        3,
        &[
            // Fleet-wide pacing holds each slot until its request ended: a
            // slot counts while `done` is false and `until` (its grant plus
            // the longest a request can take) has not passed, and for a
            // window after `until` (then the time its answer arrived).
            "CREATE TABLE bento_outbox_slot (
                id bigserial PRIMARY KEY,
                family text NOT NULL,
                until timestamptz NOT NULL,
                done boolean NOT NULL DEFAULT false
            )",
            "CREATE INDEX bento_outbox_slot_family ON bento_outbox_slot (family, until)",
            // (0, the slot's id) when a slot was taken, else (the
            // milliseconds to wait at least, NULL): at most `p_limit`
            // requests in flight or answered within `p_window_ms`, on the
            // database's clock, whichever instance sends.
            "CREATE FUNCTION bento_outbox_hold_slot(
                p_family text, p_limit integer, p_window_ms double precision,
                p_hold_ms double precision, OUT wait_ms double precision, OUT slot bigint
            ) LANGUAGE plpgsql AS $$
            DECLARE
                t timestamptz := clock_timestamp();
                w interval := p_window_ms * interval '1 millisecond';
                b bento_outbox_budget%ROWTYPE;
                counted integer;
                freed timestamptz;
            BEGIN
                SELECT * INTO b FROM bento_outbox_budget WHERE family = p_family FOR UPDATE;
                IF b.blocked_until IS NOT NULL AND b.blocked_until > t THEN
                    wait_ms := extract(epoch FROM b.blocked_until - t) * 1000;
                    RETURN;
                END IF;
                DELETE FROM bento_outbox_slot WHERE family = p_family AND until <= t - w;
                SELECT count(*), min(CASE WHEN done OR until <= t THEN until + w ELSE t + w END)
                    INTO counted, freed
                    FROM bento_outbox_slot WHERE family = p_family;
                IF counted < p_limit THEN
                    INSERT INTO bento_outbox_slot (family, until)
                        VALUES (p_family, t + p_hold_ms * interval '1 millisecond')
                        RETURNING id INTO slot;
                    wait_ms := 0;
                    RETURN;
                END IF;
                wait_ms := greatest(extract(epoch FROM freed - t) * 1000, 1);
            END $$",
            // The slot's request ended now (`p_used`), or never went out.
            "CREATE FUNCTION bento_outbox_end_slot(p_slot bigint, p_used boolean)
            RETURNS void LANGUAGE plpgsql AS $$
            BEGIN
                IF p_used THEN
                    UPDATE bento_outbox_slot SET until = clock_timestamp(), done = true
                        WHERE id = p_slot AND NOT done;
                ELSE
                    DELETE FROM bento_outbox_slot WHERE id = p_slot AND NOT done;
                END IF;
            END $$",
        ],
    ),
    (
        4,
        &[
            // The fleet's rate of a family after Bento answered 429: what the
            // fleet had sent in the window, until `until`; `before` and
            // `refused` describe the episode (429s less than a window apart).
            "CREATE TABLE bento_outbox_ceiling (
                family text PRIMARY KEY,
                requests integer NOT NULL,
                until timestamptz NOT NULL,
                before integer NOT NULL,
                refused integer NOT NULL,
                refused_at timestamptz NOT NULL
            )",
            // Every family's slots are taken under its budget row's lock.
            "INSERT INTO bento_outbox_budget (family)
                VALUES ('deletion'), ('delivery'), ('chat') ON CONFLICT DO NOTHING",
            // As in version 3, and no more than the fleet's rate a 429 found.
            "CREATE OR REPLACE FUNCTION bento_outbox_hold_slot(
                p_family text, p_limit integer, p_window_ms double precision,
                p_hold_ms double precision, OUT wait_ms double precision, OUT slot bigint
            ) LANGUAGE plpgsql AS $$
            DECLARE
                t timestamptz := clock_timestamp();
                w interval := p_window_ms * interval '1 millisecond';
                b bento_outbox_budget%ROWTYPE;
                cap integer;
                counted integer;
                freed timestamptz;
            BEGIN
                SELECT * INTO b FROM bento_outbox_budget WHERE family = p_family FOR UPDATE;
                IF b.blocked_until IS NOT NULL AND b.blocked_until > t THEN
                    wait_ms := extract(epoch FROM b.blocked_until - t) * 1000;
                    RETURN;
                END IF;
                SELECT requests INTO cap FROM bento_outbox_ceiling
                    WHERE family = p_family AND until > t;
                IF cap IS NOT NULL AND cap < p_limit THEN
                    p_limit := cap;
                END IF;
                DELETE FROM bento_outbox_slot WHERE family = p_family AND until <= t - w;
                SELECT count(*), min(CASE WHEN done OR until <= t THEN until + w ELSE t + w END)
                    INTO counted, freed
                    FROM bento_outbox_slot WHERE family = p_family;
                IF counted < p_limit THEN
                    INSERT INTO bento_outbox_slot (family, until)
                        VALUES (p_family, t + p_hold_ms * interval '1 millisecond')
                        RETURNING id INTO slot;
                    wait_ms := 0;
                    RETURN;
                END IF;
                wait_ms := greatest(extract(epoch FROM freed - t) * 1000, 1);
            END $$",
            // The slot's request was answered 429: ends it, and lowers the
            // fleet's rate to what it had sent in the window, less the 429s
            // of the episode and a margin, within [p_before / 2, p_before],
            // for `p_settle_ms`. Returns that rate.
            "CREATE FUNCTION bento_outbox_refused(
                p_slot bigint, p_family text, p_before integer,
                p_window_ms double precision, p_settle_ms double precision
            ) RETURNS integer LANGUAGE plpgsql AS $$
            DECLARE
                t timestamptz := clock_timestamp();
                w interval := p_window_ms * interval '1 millisecond';
                c bento_outbox_ceiling%ROWTYPE;
                v_counted integer;
                v_refused integer := 1;
                v_before integer := p_before;
                v_learned integer;
            BEGIN
                PERFORM 1 FROM bento_outbox_budget WHERE family = p_family FOR UPDATE;
                UPDATE bento_outbox_slot SET until = t, done = true WHERE id = p_slot AND NOT done;
                SELECT count(*) INTO v_counted FROM bento_outbox_slot
                    WHERE family = p_family AND until > t - w;
                SELECT * INTO c FROM bento_outbox_ceiling WHERE family = p_family;
                IF FOUND AND c.refused_at > t - w THEN
                    v_refused := c.refused + 1;
                    v_before := c.before;
                ELSIF FOUND AND c.until > t THEN
                    v_before := least(v_before, c.requests);
                END IF;
                v_learned := greatest(
                    least(v_counted - v_refused - greatest(v_counted / 50, 1), v_before),
                    greatest(v_before / 2, 1));
                INSERT INTO bento_outbox_ceiling
                    VALUES (p_family, v_learned, t + p_settle_ms * interval '1 millisecond',
                            v_before, v_refused, t)
                    ON CONFLICT (family) DO UPDATE SET
                        requests = excluded.requests, until = excluded.until,
                        before = excluded.before, refused = excluded.refused,
                        refused_at = excluded.refused_at;
                RETURN v_learned;
            END $$",
        ],
    ),
    (
        5,
        &[
            // Erasure: how many there were (the relay's fence reads it),
            // how many fences there were (an erasure waits until the one it
            // saw in flight is followed), and the database's own key for
            // the tombstones' keyed hashes (random, 32 bytes).
            "ALTER TABLE bento_outbox_relay
                ADD COLUMN erasures bigint NOT NULL DEFAULT 0,
                ADD COLUMN fences bigint NOT NULL DEFAULT 0,
                ADD COLUMN erasure_key bytea NOT NULL
                    DEFAULT uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())",
            // The tombstones: the keyed hash of each erased address, until
            // it expires.
            "CREATE TABLE bento_outbox_erasure (
                digest bytea PRIMARY KEY,
                until timestamptz NOT NULL
            )",
        ],
    ),
];

/// The newest schema version.
pub(crate) const VERSION: i32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The version table `migrate` keeps.
const VERSIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS bento_outbox_migrations (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )";

/// The whole schema as one SQL script, for an application's own migrations:
/// every step, each recording its version as `migrate` does, so that
/// `migrate` afterwards finds nothing to do (and applies only later steps).
pub(crate) fn sql() -> String {
    let mut script = format!(
        "-- The Bento outbox's tables (bento-outbox, schema version {VERSION}).\n\
         -- Generated by bento_outbox::postgres::Outbox::schema_sql(); apply it once.\n\n{};\n",
        tidy(VERSIONS_TABLE)
    );
    for &(version, statements) in MIGRATIONS {
        script.push_str(&format!("\n-- Version {version}\n"));
        for statement in statements {
            script.push_str(&tidy(statement));
            script.push_str(";\n");
        }
        script.push_str(&format!(
            "INSERT INTO bento_outbox_migrations (version) VALUES ({version});\n"
        ));
    }
    script
}

/// Applies the steps not yet applied, inside the caller's transaction.
pub(crate) async fn migrate_on(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
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
