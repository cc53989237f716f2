//! Human tables or JSON on stdout; progress on stderr, as a bar on a
//! terminal and as plain periodic lines otherwise (no escape codes).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

/// Where results go.
#[derive(Debug)]
pub(crate) struct Output {
    json: bool,
}

impl Output {
    pub(crate) fn new(json: bool) -> Self {
        Self { json }
    }

    pub(crate) fn json(&self) -> bool {
        self.json
    }

    /// A table for people, or the JSON value for scripts.
    pub(crate) fn table(&self, headers: &[&str], rows: Vec<Vec<String>>, json: Value) {
        if self.json {
            println!("{json}");
            return;
        }
        let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            println!("{}", padded.join("  ").trim_end());
        };
        line(headers.to_vec());
        for row in &rows {
            line(row.iter().map(String::as_str).collect());
        }
    }

    /// A one-line result for people, or the JSON value for scripts.
    pub(crate) fn done(&self, human: &str, json: Value) {
        if self.json {
            println!("{json}");
        } else {
            println!("{human}");
        }
    }
}

/// Progress of a long import.
pub(crate) enum Progress {
    Bar(ProgressBar),
    Lines {
        total: u64,
        done: u64,
        started: Instant,
        last: Instant,
    },
}

const LINE_EVERY: Duration = Duration::from_secs(2);

impl Progress {
    pub(crate) fn new(total: u64) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:30} {pos}/{len} rows  {per_sec}  ETA {eta}  {msg}",
            ) {
                bar.set_style(style);
            }
            Progress::Bar(bar)
        } else {
            let now = Instant::now();
            Progress::Lines {
                total,
                done: 0,
                started: now,
                last: now,
            }
        }
    }

    /// `done` rows handled so far, of which `accepted` and `failed`.
    pub(crate) fn update(&mut self, done: u64, accepted: u64, failed: u64) {
        match self {
            Progress::Bar(bar) => {
                bar.set_position(done);
                bar.set_message(format!("accepted {accepted}, failed {failed}"));
            }
            Progress::Lines {
                total,
                done: seen,
                started,
                last,
            } => {
                *seen = done;
                if last.elapsed() < LINE_EVERY {
                    return;
                }
                *last = Instant::now();
                let elapsed = started.elapsed().as_secs_f64();
                let rate = done as f64 / elapsed.max(1e-3);
                let eta = (*total).saturating_sub(done) as f64 / rate.max(1e-3);
                eprintln!(
                    "progress: {done}/{total} rows, {rate:.0} rows/s, accepted {accepted}, \
                     failed {failed}, ETA {eta:.0}s"
                );
            }
        }
    }

    pub(crate) fn finish(self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
