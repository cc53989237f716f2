//! Bento's answer to a batch request: the counts, decoded and bounded.

use serde::Deserialize;

/// The counts Bento returns for a batch request.
///
/// Decodes both `{"results": n, "failed": m}` (what the live service sends)
/// and `{"result": n}` (what the spec shows); an answer with neither is an
/// [`Error::Decode`](crate::Error::Decode), not a silent zero. Counts are bounded by the number of
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

impl std::iter::Sum for BatchResult {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), |mut total, part| {
            total += part;
            total
        })
    }
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
}
