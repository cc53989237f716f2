//! Cutting rows into requests: at most 1000 rows (Bento's limit for both
//! endpoints) and at most `max_bytes` of body, in file order; a request
//! answered 413 is split in halves until the row Bento finds too large is
//! alone, and that row is reported by its line.

use std::collections::VecDeque;

use bento_core::{Client, Event, SubscriberImport};

use super::map::{Item, Record};
use crate::failure::Failure;

/// Rows per request: Bento's limit for both endpoints.
pub(crate) const MAX_ROWS: usize = 1000;

/// The default body limit: the delivery engine's `max_batch_bytes`.
pub(crate) const DEFAULT_MAX_BYTES: usize = 4 * 1024 * 1024;

/// `{"subscribers":[` and `]}`, with room to spare.
const BODY_OVERHEAD: usize = 32;

/// Rows waiting for their request, of one kind, with their lines.
pub(crate) struct Request {
    lines: Vec<u64>,
    records: Records,
    bytes: usize,
}

enum Records {
    Subscribers(Vec<SubscriberImport>),
    Events(Vec<Event>),
}

/// What adding a row did.
pub(crate) enum Added {
    /// It is in the request.
    Taken,
    /// The request is full: send it, then add the row to the next one.
    Full(Item),
    /// No request can carry it.
    TooLarge { size: usize },
}

/// What Bento made of a request's rows.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) accepted: u64,
    pub(crate) failed: u64,
}

impl Request {
    pub(crate) fn new(events: bool) -> Self {
        Self {
            lines: Vec::new(),
            records: if events {
                Records::Events(Vec::new())
            } else {
                Records::Subscribers(Vec::new())
            },
            bytes: BODY_OVERHEAD,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Adds the row of `line` unless that would take the request past
    /// `MAX_ROWS` or `max_bytes`.
    pub(crate) fn add(&mut self, line: u64, item: Item, max_bytes: usize) -> Added {
        let size = item.size + 1;
        if BODY_OVERHEAD + size > max_bytes {
            return Added::TooLarge { size: item.size };
        }
        if self.len() >= MAX_ROWS || self.bytes + size > max_bytes {
            return Added::Full(item);
        }
        match (&mut self.records, item.record) {
            (Records::Subscribers(all), Record::Subscriber(record)) => all.push(record),
            (Records::Events(all), Record::Event(event)) => all.push(event),
            // The readers make rows of the command's kind only.
            _ => return Added::TooLarge { size: 0 },
        }
        self.lines.push(line);
        self.bytes += size;
        Added::Taken
    }

    fn split(mut self) -> (Self, Self) {
        let half = self.len() / 2;
        let records = match &mut self.records {
            Records::Subscribers(all) => Records::Subscribers(all.split_off(half)),
            Records::Events(all) => Records::Events(all.split_off(half)),
        };
        let tail = Self {
            lines: self.lines.split_off(half),
            records,
            bytes: 0,
        };
        (self, tail)
    }

    async fn send_once(
        &self,
        client: &Client,
    ) -> Result<bento_core::BatchResult, bento_core::Error> {
        match &self.records {
            Records::Subscribers(records) => client.import_subscribers(records).await,
            Records::Events(events) => client.send_events(events).await,
        }
    }

    /// Sends the rows, splitting on a 413; `refused` hears of each row
    /// Bento finds too large alone. Any other error ends the import.
    pub(crate) async fn send(
        self,
        client: &Client,
        refused: &mut dyn FnMut(u64, &bento_core::Error),
    ) -> Result<Counts, bento_core::Error> {
        let mut counts = Counts::default();
        let mut work = VecDeque::from([self]);
        while let Some(request) = work.pop_front() {
            if request.is_empty() {
                continue;
            }
            match request.send_once(client).await {
                Ok(result) => {
                    counts.accepted += result.results;
                    counts.failed += result.failed;
                }
                Err(error) if error.status().map(|s| s.as_u16()) == Some(413) => {
                    if request.len() == 1 {
                        refused(request.lines[0], &error);
                        counts.failed += 1;
                    } else {
                        let (first, second) = request.split();
                        work.push_front(second);
                        work.push_front(first);
                    }
                }
                Err(error) => return Err(error),
            }
        }
        Ok(counts)
    }
}

/// The message for a row no request can carry.
pub(crate) fn too_large(size: usize, max_bytes: usize) -> String {
    format!(
        "this row is {size} bytes as JSON, more than one request may carry ({max_bytes} bytes, \
         --max-request-bytes): shorten its longest values; it was not sent"
    )
}

/// The message for a failed request: what was done, and what running the
/// command again does.
pub(crate) fn resume_advice(error: bento_core::Error, rows_done: u64, next_line: u64) -> Failure {
    let message = format!(
        "{error}; the first {rows_done} rows were done: running the same command again resumes at line {next_line}"
    );
    match Failure::from(error) {
        Failure::Config(_) => Failure::Config(message),
        _ => Failure::Failed(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(size_of_name: usize) -> Item {
        let record = SubscriberImport::new("a@example.com").first_name("x".repeat(size_of_name));
        let size = bento_core::Encoded::subscriber(&record)
            .map(|e| e.json().len())
            .unwrap_or_default();
        Item {
            record: Record::Subscriber(record),
            size,
        }
    }

    #[test]
    fn requests_are_cut_by_rows_and_by_bytes() {
        let mut request = Request::new(false);
        for line in 0..MAX_ROWS as u64 {
            assert!(matches!(
                request.add(line, item(1), DEFAULT_MAX_BYTES),
                Added::Taken
            ));
        }
        assert!(matches!(
            request.add(1000, item(1), DEFAULT_MAX_BYTES),
            Added::Full(_)
        ));

        let limit = 10_000;
        let mut request = Request::new(false);
        let mut taken = 0;
        while let Added::Taken = request.add(taken, item(1_000), limit) {
            taken += 1;
        }
        assert_eq!(taken, 9, "nine rows of about 1 KB fit in 10 KB");
        assert!(request.bytes <= limit);
        assert!(matches!(
            Request::new(false).add(0, item(20_000), limit),
            Added::TooLarge { .. }
        ));
    }

    #[test]
    fn a_split_keeps_rows_and_lines_together() {
        let mut request = Request::new(false);
        for line in 10..15 {
            let _ = request.add(line, item(1), DEFAULT_MAX_BYTES);
        }
        let (first, second) = request.split();
        assert_eq!(first.lines, vec![10, 11]);
        assert_eq!(second.lines, vec![12, 13, 14]);
        let Records::Subscribers(records) = &second.records else {
            panic!("subscribers")
        };
        assert_eq!(records.len(), 3);
    }
}
