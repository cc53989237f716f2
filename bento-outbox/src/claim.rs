//! Claiming rows within a byte limit, the same for every database: rows are
//! read one by one in id order while their bodies add up to the limit (and
//! always the first), and the reading stops there, so what the relay holds
//! is bounded by bytes however large the rows are.

use std::time::Duration;

use bento_core::integration::store::StoredRow;
use futures_util::{Stream, TryStreamExt};

/// A row as read: its body's size, and what it becomes once kept.
pub(crate) trait Read {
    fn size(&self) -> usize;
    fn into_row(self) -> Result<StoredRow, sqlx::Error>;
}

/// The rows of `rows` while their bodies add up to `bytes`.
pub(crate) async fn within_bytes<R: Read>(
    mut rows: impl Stream<Item = Result<R, sqlx::Error>> + Unpin,
    bytes: usize,
) -> Result<Vec<StoredRow>, sqlx::Error> {
    let mut claimed = Vec::new();
    let mut held = 0usize;
    while let Some(row) = rows.try_next().await? {
        let size = row.size();
        if !claimed.is_empty() && held + size > bytes {
            break;
        }
        held += size;
        claimed.push(row.into_row()?);
    }
    Ok(claimed)
}

/// A row's age, from the milliseconds the database computed.
pub(crate) fn age(ms: f64) -> Duration {
    Duration::from_secs_f64(ms.clamp(0.0, 1e12) / 1000.0)
}
