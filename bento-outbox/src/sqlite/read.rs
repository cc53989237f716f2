//! Reading rows whatever they hold. SQLite stores any value in any column,
//! and a row written by hand (the sqlite3 CLI's `readfile()` makes BLOBs)
//! must become a dead letter, never an error that stops every row after it:
//! each column is read as what it surely is (its type's name, its bytes)
//! and judged here.

use bento_core::integration::store::{Claim, StoredRow};
use std::time::Duration;

use futures_util::StreamExt;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::schema::NOW;
use crate::DeadLetter;
use crate::row::{kind_of, unknown_kind};

/// A row as read: `(id, typeof(kind), kind if an integer, typeof(body),
/// body's bytes)`.
type Raw = (i64, String, Option<i64>, String, Option<Vec<u8>>);

/// The oldest live rows within `claim`'s limits: rows in id order while their
/// bodies add up to `claim.bytes` (and always the first). Rows are read one
/// by one and the reading stops at the limit, so what is held is bounded by
/// bytes however large the rows are.
pub(crate) async fn claim(
    conn: &mut SqliteConnection,
    claim: Claim,
) -> Result<Vec<StoredRow>, sqlx::Error> {
    let (first, last) = claim.outside.unwrap_or((0, -1));
    let query = format!(
        "SELECT id, typeof(kind), CASE WHEN typeof(kind) = 'integer' THEN kind END,
                typeof(body), CAST(body AS BLOB),
                CASE WHEN typeof(created_at) IN ('integer', 'real')
                     THEN ({NOW} - created_at) * 1000.0 ELSE 0.0 END
         FROM bento_outbox WHERE dead = 0 AND (id < ?1 OR id > ?2)
         ORDER BY id LIMIT ?3"
    );
    let rows = sqlx::query(&query)
        .bind(first)
        .bind(last)
        .bind(i64::try_from(claim.rows).unwrap_or(i64::MAX))
        .fetch(conn)
        .map(|row| row.and_then(Claimed::read));
    crate::claim::within_bytes(rows, claim.bytes).await
}

/// A claimed row, read column by column as what each surely is, and its age.
struct Claimed(Raw, Duration);

impl Claimed {
    fn read(row: SqliteRow) -> Result<Self, sqlx::Error> {
        let raw: Raw = (
            row.try_get(0)?,
            row.try_get(1)?,
            row.try_get(2)?,
            row.try_get(3)?,
            row.try_get(4)?,
        );
        Ok(Self(raw, crate::claim::age(row.try_get(5)?)))
    }
}

impl crate::claim::Read for Claimed {
    fn size(&self) -> usize {
        self.0.4.as_ref().map_or(0, Vec::len)
    }

    fn into_row(self) -> Result<StoredRow, sqlx::Error> {
        let Self(raw, age) = self;
        let id = raw.0;
        Ok(match item(raw) {
            Ok((kind, json)) => StoredRow::new(id, age, kind, json),
            Err(reason) => StoredRow::unreadable(id, age, reason),
        })
    }
}

/// A row's kind and JSON, or why it has none.
fn item(
    (_, kind_type, kind, body_type, body): Raw,
) -> Result<(bento_core::ItemKind, String), String> {
    let kind = match kind {
        Some(code) => kind_of(code).ok_or_else(|| unknown_kind(code))?,
        None => return Err(format!("its kind is {}, not an integer", a(&kind_type))),
    };
    if body_type != "text" {
        return Err(format!("its body is {}, not text", a(&body_type)));
    }
    let json = String::from_utf8(body.unwrap_or_default())
        .map_err(|e| format!("its body is not UTF-8 ({e})"))?;
    Ok((kind, json))
}

/// `a blob`, `an integer`, for SQLite's type names.
fn a(type_name: &str) -> String {
    match type_name {
        "integer" => "an integer".to_owned(),
        "null" => "NULL".to_owned(),
        other => format!("a {other}"),
    }
}

/// The oldest `limit` dead letters: every row that is not live
/// (`dead = 0`), whatever its columns hold.
pub(crate) async fn dead_letters(
    conn: &mut SqliteConnection,
    limit: u32,
) -> Result<Vec<DeadLetter>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, CASE WHEN typeof(kind) = 'integer' THEN kind END, CAST(body AS BLOB),
                    CASE WHEN typeof(attempts) = 'integer' THEN attempts END,
                    CAST(reason AS BLOB)
             FROM bento_outbox WHERE dead IS NOT 0 ORDER BY id LIMIT ?1",
    )
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let kind: Option<i64> = row.try_get(1)?;
            let body: Option<Vec<u8>> = row.try_get(2)?;
            let attempts: Option<i64> = row.try_get(3)?;
            let reason: Option<Vec<u8>> = row.try_get(4)?;
            Ok(DeadLetter {
                id: row.try_get(0)?,
                kind: kind.and_then(kind_of),
                json: String::from_utf8_lossy(&body.unwrap_or_default()).into_owned(),
                attempts: attempts.unwrap_or(0),
                reason: String::from_utf8_lossy(&reason.unwrap_or_default()).into_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(kind_type: &str, kind: Option<i64>, body_type: &str, body: &[u8]) -> Raw {
        (
            1,
            kind_type.into(),
            kind,
            body_type.into(),
            Some(body.to_vec()),
        )
    }

    #[test]
    fn every_column_problem_is_named() {
        let ok = item(raw("integer", Some(1), "text", b"{}")).unwrap();
        assert_eq!(ok, (bento_core::ItemKind::Event, "{}".to_owned()));
        let cases = [
            (
                raw("text", None, "text", b"{}"),
                "its kind is a text, not an integer",
            ),
            (
                raw("blob", None, "text", b"{}"),
                "its kind is a blob, not an integer",
            ),
            (
                raw("integer", Some(9), "text", b"{}"),
                "its kind 9 is none the SDK knows",
            ),
            (
                raw("integer", Some(1), "blob", b"{}"),
                "its body is a blob, not text",
            ),
            (
                raw("integer", Some(1), "integer", b"7"),
                "its body is an integer, not text",
            ),
            (
                raw("integer", Some(1), "text", b"{\xff}"),
                "its body is not UTF-8",
            ),
        ];
        for (row, expected) in cases {
            let reason = item(row).unwrap_err();
            assert!(reason.starts_with(expected), "{reason}");
        }
    }
}
