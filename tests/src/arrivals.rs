//! What the emulator saw of a paced client, window by window: for the
//! tests that prove the pacer finds a limit it was not told.
#![allow(clippy::print_stderr)]

use std::time::Duration;

use bento_core::Client;
use bento_emulator::Emulator;

/// `callers` tasks fetching tags with `client` until `span` has passed: more
/// than any limit of the tests allows, so the pacer decides the rate.
pub async fn fetch_tags_for(client: &Client, callers: usize, span: Duration) {
    let deadline = tokio::time::Instant::now() + span;
    let callers: Vec<_> = (0..callers)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                while tokio::time::Instant::now() < deadline {
                    // A call the pacer holds past the deadline, or that runs
                    // out of retries, is not what is measured: the
                    // emulator's log is.
                    let _ = tokio::time::timeout_at(deadline, client.tags()).await;
                }
            })
        })
        .collect();
    for caller in callers {
        caller.await.expect("a caller panicked");
    }
}

/// What the emulator saw on `path`: when each request arrived, counted from
/// the first, answered 2xx or 429.
#[derive(Debug)]
pub struct Seen {
    /// Requests answered 2xx.
    pub accepted: Vec<Duration>,
    /// Requests answered 429.
    pub refused: Vec<Duration>,
    window: Duration,
}

impl Seen {
    /// What `emulator` saw on `path`, counted in windows of `window`.
    pub fn of(emulator: &Emulator, path: &str, window: Duration) -> Self {
        let requests: Vec<_> = emulator
            .requests()
            .into_iter()
            .filter(|r| r.path == path)
            .map(|r| (millis(&r.at), r.status))
            .collect();
        let start = requests.iter().map(|&(at, _)| at).min().unwrap_or(0);
        let since = |at: u64| Duration::from_millis(at - start);
        Self {
            accepted: requests
                .iter()
                .filter(|(_, status)| (200..300).contains(status))
                .map(|&(at, _)| since(at))
                .collect(),
            refused: requests
                .iter()
                .filter(|(_, status)| *status == 429)
                .map(|&(at, _)| since(at))
                .collect(),
            window,
        }
    }

    /// Prints what was seen, window by window.
    pub fn report(&self, test: &str) {
        eprintln!(
            "{test}: 429s at {:?}; accepted per window {:?}",
            self.refused,
            (0..13)
                .map(|w| self.accepted_in(w, w + 1))
                .collect::<Vec<_>>()
        );
    }

    /// Asserts what a client that assumed more than Bento allows must show:
    /// between one and `handful` 429s, all in the first window, then at
    /// least 90% of `capacity` requests a window used from window `from` to
    /// window `to` (excluded).
    pub fn found_the_limit_at_once(&self, handful: usize, capacity: usize, from: u32, to: u32) {
        assert!(
            !self.refused.is_empty() && self.refused.len() <= handful,
            "a handful of 429s: {:?}",
            self.refused
        );
        assert!(
            self.refused.iter().all(|&at| at < self.window),
            "429s only in the first window: {:?}",
            self.refused
        );
        let used = self.accepted_in(from, to);
        let offered = capacity * (to - from) as usize;
        assert!(
            used >= offered * 9 / 10,
            "{used} of Bento's {offered} requests in windows {from} to {to}"
        );
    }

    /// Requests accepted from window `from` to window `to` (excluded).
    pub fn accepted_in(&self, from: u32, to: u32) -> usize {
        self.accepted
            .iter()
            .filter(|&&at| at >= self.window * from && at < self.window * to)
            .count()
    }
}

/// Milliseconds since the epoch of the emulator's `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn millis(at: &str) -> u64 {
    let number = |range: std::ops::Range<usize>| {
        at[range]
            .parse::<i64>()
            .expect("the emulator writes YYYY-MM-DDTHH:MM:SS.mmmZ")
    };
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    // Howard Hinnant's days-from-civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let seconds = days * 86_400 + number(11..13) * 3600 + number(14..16) * 60 + number(17..19);
    (seconds * 1000 + number(20..23)) as u64
}

#[cfg(test)]
#[test]
fn emulator_times_parse() {
    assert_eq!(millis("1970-01-01T00:00:01.250Z"), 1250);
    assert_eq!(millis("2026-12-06T10:00:00.000Z"), 1_796_551_200_000);
    assert_eq!(
        millis("2024-03-01T00:00:00.000Z") - millis("2024-02-28T23:59:59.999Z"),
        86_400_001
    );
}
