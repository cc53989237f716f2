//! Splitting inputs larger than one request, with one rule for every batch
//! endpoint: inputs are sent in API-sized requests, in order, one after the
//! other; if one fails after others succeeded, the error is
//! [`Error::PartialBatch`] with the count already accepted, so the caller can
//! resend exactly the rest.

use std::future::Future;
use std::ops::Range;

use crate::client::Client;
use crate::error::{Error, truncate_body};
use crate::model::batch::BatchResult;
use crate::transport::ApiRequest;

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
