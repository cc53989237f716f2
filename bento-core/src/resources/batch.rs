//! Splitting inputs larger than one request, with one rule for every batch
//! endpoint: inputs are sent in API-sized requests, in order, one after the
//! other; if one fails after others succeeded, the error is
//! [`Error::PartialBatch`] with the count already accepted, so the caller can
//! resend exactly the rest.

use std::future::Future;
use std::ops::Range;

use serde::Deserialize;

use crate::client::Client;
use crate::error::{Error, truncate_body};
use crate::transport::ApiRequest;

/// The counts Bento returns for a batch request.
///
/// Decodes both `{"results": n, "failed": m}` (what the live service sends)
/// and `{"result": n}` (what the spec shows); an answer with neither is an
/// [`Error::Decode`], not a silent zero. Counts are bounded by the number of
/// items sent, whatever the server claims. When a call was split into
/// several requests, the counts are summed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct BatchResult {
    /// Items Bento accepted.
    #[serde(alias = "result")]
    pub results: u64,
    /// Items Bento refused.
    #[serde(default)]
    pub failed: u64,
}

impl BatchResult {
    /// Decodes Bento's answer to a batch of `sent` items, bounding its
    /// counts by what was sent.
    pub(crate) fn decode(body: &[u8], sent: usize) -> Result<Self, serde_json::Error> {
        // serde also reads a struct from an array (`[1, 2]`); Bento's answer is an object.
        if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
            return Err(serde::de::Error::custom(
                "expected an object of counts, found an array",
            ));
        }
        let counts: Self = serde_json::from_slice(body)?;
        let sent = sent as u64;
        let results = counts.results.min(sent);
        Ok(Self {
            results,
            failed: counts.failed.min(sent - results),
        })
    }
}

impl std::ops::AddAssign for BatchResult {
    fn add_assign(&mut self, other: Self) {
        self.results = self.results.saturating_add(other.results);
        self.failed = self.failed.saturating_add(other.failed);
    }
}

impl Client {
    /// Sends one batch request of `items` items and decodes Bento's counts.
    pub(crate) async fn call_batch(
        &self,
        request: ApiRequest<'_>,
        items: usize,
    ) -> Result<BatchResult, Error> {
        let path = request.path;
        let body = self.call_raw(request).await?;
        BatchResult::decode(&body, items).map_err(|source| Error::Decode {
            endpoint: path.to_owned(),
            body: truncate_body(&body),
            source,
        })
    }
}

impl std::iter::Sum for BatchResult {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), |mut total, part| {
            total += part;
            total
        })
    }
}

/// Sends `items` in chunks of at most `size`, in order, stopping at the first failure.
pub(crate) async fn in_chunks<'a, T, R, F, Fut>(
    items: &'a [T],
    size: usize,
    mut send: F,
) -> Result<Vec<R>, Error>
where
    F: FnMut(usize, &'a [T]) -> Fut,
    Fut: Future<Output = Result<R, Error>>,
{
    in_ranges(items.len(), size, |range| send(range.start, &items[range])).await
}

/// Sends the items `0..total` as ranges of at most `size`, in order, stopping
/// at the first failure.
pub(crate) async fn in_ranges<R, F, Fut>(
    total: usize,
    size: usize,
    mut send: F,
) -> Result<Vec<R>, Error>
where
    F: FnMut(Range<usize>) -> Fut,
    Fut: Future<Output = Result<R, Error>>,
{
    let size = size.max(1);
    let mut results = Vec::with_capacity(total.div_ceil(size));
    for start in (0..total).step_by(size) {
        match send(start..total.min(start + size)).await {
            Ok(result) => results.push(result),
            Err(error) if start == 0 => return Err(error),
            Err(error) => {
                return Err(Error::PartialBatch {
                    accepted: start,
                    total,
                    source: Box::new(error),
                });
            }
        }
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_documented_shape() {
        let live: BatchResult = serde_json::from_str(r#"{"results": 3, "failed": 1}"#).unwrap();
        assert_eq!((live.results, live.failed), (3, 1));
        let spec: BatchResult = serde_json::from_str(r#"{"result": 1000}"#).unwrap();
        assert_eq!((spec.results, spec.failed), (1000, 0));
        let bare: BatchResult = serde_json::from_str(r#"{"results": 2}"#).unwrap();
        assert_eq!((bare.results, bare.failed), (2, 0));
    }

    #[test]
    fn refuses_answers_that_are_not_counts_and_bounds_lies() {
        for body in [
            &br#"{"not":"expected"}"#[..],
            b"{}",
            b"",
            b"<html>ok</html>",
            br#"{"results":"3"}"#,
            br#"{"results":-1}"#,
            br#"[1,2]"#,
            b"null",
        ] {
            assert!(
                BatchResult::decode(body, 3).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let lie =
            BatchResult::decode(br#"{"results":3,"failed":18446744073709551615}"#, 3).unwrap();
        assert_eq!((lie.results, lie.failed), (3, 0));
        let lie = BatchResult::decode(br#"{"results":99,"failed":99}"#, 10).unwrap();
        assert_eq!((lie.results, lie.failed), (10, 0));
        let mut total = BatchResult {
            results: u64::MAX,
            failed: u64::MAX,
        };
        total += lie;
        assert_eq!(total.results, u64::MAX);
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    #[test]
    fn splits_in_order_and_reports_partial_failures() {
        let items: Vec<u32> = (0..25).collect();
        let sizes = block_on(in_chunks(&items, 10, |offset, chunk| async move {
            Ok((offset, chunk.len()))
        }));
        assert_eq!(sizes.unwrap(), vec![(0, 10), (10, 10), (20, 5)]);

        let failing = block_on(in_chunks(&items, 10, |offset, _| async move {
            if offset == 20 {
                Err(Error::Invalid(crate::ValidationError::Arguments(
                    "boom".into(),
                )))
            } else {
                Ok(())
            }
        }));
        match failing {
            Err(Error::PartialBatch {
                accepted: 20,
                total: 25,
                ..
            }) => {}
            other => panic!("unexpected {other:?}"),
        }
        let first_fails = block_on(in_chunks(&items, 10, |_, _| async move {
            Err::<(), _>(Error::Invalid(crate::ValidationError::Arguments(
                "boom".into(),
            )))
        }));
        assert!(matches!(first_fails, Err(Error::Invalid(_))));
    }
}
