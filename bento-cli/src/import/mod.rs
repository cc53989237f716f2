//! `bento import`: files of any size, streamed row by row, checked with the
//! client's own validation, sent in requests of at most 1000 rows and
//! `--max-request-bytes` under the account's rate limits, with a checkpoint
//! after every acknowledged request so that running the same command again
//! resumes where it stopped (at most one request's rows are sent twice, when
//! a run dies between Bento's answer and the checkpoint).
//!
//! Three parts, one file each: [`read`] (the file's shape, its rows and their
//! byte offsets), [`map`] (rows onto Bento's records), [`cut`] (rows into
//! requests, and sending them); where a run stopped is
//! [`crate::checkpoint`]'s, shared with `bento erase`.

mod cut;
mod map;
mod read;

use std::io::BufReader;
use std::path::Path;
use std::process::ExitCode;

use serde_json::json;

use self::cut::{Added, Request};
use self::map::{Item, Mapping};
use self::read::{JsonLines, capped, open_file};
use crate::checkpoint::{self, Checkpoint, PrefixHasher};
use crate::failure::Failure;
use crate::output::{Output, Progress};
use crate::{Format, Global, ImportArgs, config};

pub(crate) use self::cut::DEFAULT_MAX_BYTES;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Subscribers,
    Events,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Subscribers => "subscribers",
            Kind::Events => "events",
        }
    }
}

/// One data row: its line in the file, the record or why it is invalid, and
/// the byte offset where the row ends.
struct Row {
    line: u64,
    item: Result<Item, String>,
    end: u64,
}

type Rows = Box<dyn Iterator<Item = Row>>;

pub(crate) async fn run(
    global: &Global,
    out: &Output,
    kind: Kind,
    args: ImportArgs,
) -> Result<ExitCode, Failure> {
    let format = match args.format {
        Some(format) => format,
        None => format_of(&args.file)?,
    };
    if kind == Kind::Events && format == Format::Csv {
        return Err(Failure::Usage(
            "events are imported from JSON Lines (one {\"type\", \"email\", ...} object per line)"
                .into(),
        ));
    }
    let max_bytes = args.max_request_bytes;
    if max_bytes < 1024 {
        return Err(Failure::Usage(
            "--max-request-bytes must be at least 1024".into(),
        ));
    }
    // Nothing is sent from a file that cannot be read to its end.
    let total = read::scan(&args.file, format)?.rows;
    let plan = config::plan(global)?.map(std::sync::Arc::new);
    let rows = open(&args, kind, format, plan)?;
    if args.dry_run {
        return Ok(dry_run(out, rows, max_bytes));
    }
    let client = config::client(global)?;
    let (checkpoint_path, resumed) = checkpoint::resume(
        &args.file,
        args.checkpoint.clone(),
        args.restart,
        kind.name(),
    )?;
    if let Some(done) = resumed.as_ref().filter(|r| r.finished)
        && std::fs::metadata(&args.file).map(|m| m.len()).ok() == Some(done.offset)
    {
        // The same content, imported to its end by an earlier run.
        out.done(
            &format!(
                "every row of {} was imported by an earlier run ({} rows: {} accepted, {} failed; \
                 recorded in {}); nothing was sent: pass --restart to send the file again",
                args.file.display(),
                done.rows_done,
                done.accepted,
                done.failed,
                checkpoint_path.display()
            ),
            json!({
                "rows": done.rows_done,
                "accepted": 0,
                "failed": 0,
                "already_imported": true,
            }),
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(resumed) = &resumed {
        eprintln!(
            "resuming at line {} of {}: the first {} rows are unchanged since the run that sent them \
             (recorded in {}); the rest are sent now",
            resumed.next_line,
            args.file.display(),
            resumed.rows_done,
            checkpoint_path.display()
        );
    }
    let mut state = resumed
        .clone()
        .unwrap_or_else(|| Checkpoint::start(kind.name()));
    state.finished = false;
    let skipped = state.rows_done;
    let mut hasher = PrefixHasher::new(&args.file, state.offset)?;
    let mut progress = Progress::new(total);
    let mut request = Request::new(kind == Kind::Events);
    let mut seen = 0u64;
    // The end of the last row read, and the line after it.
    let mut read_to = (state.offset, state.next_line);
    let mut refused = |line: u64, error: &bento_core::Error| {
        eprintln!(
            "line {line}: Bento refused this row as too large alone ({}); it was not imported",
            capped(&error.to_string())
        );
    };
    for row in rows {
        if row.end <= state.offset {
            seen += 1;
            continue;
        }
        let row_line = row.line;
        let done_before = seen;
        seen += 1;
        match row.item {
            Ok(item) => match request.add(row.line, item, max_bytes) {
                Added::Taken => {}
                Added::TooLarge { size } => {
                    state.failed += 1;
                    eprintln!("line {}: {}", row.line, cut::too_large(size, max_bytes));
                }
                Added::Full(item) => {
                    // Every row before this one is in the request.
                    let full = std::mem::replace(&mut request, Request::new(kind == Kind::Events));
                    let counts = full.send(&client, &mut refused).await.map_err(|error| {
                        cut::resume_advice(error, state.rows_done, state.next_line)
                    })?;
                    state.accepted += counts.accepted;
                    state.failed += counts.failed;
                    state.rows_done = done_before;
                    state.advance(&mut hasher, read_to.0, row_line)?;
                    state.save(&checkpoint_path)?;
                    progress.update(done_before, state.accepted, state.failed);
                    if let Added::TooLarge { size } = request.add(row.line, item, max_bytes) {
                        state.failed += 1;
                        eprintln!("line {}: {}", row.line, cut::too_large(size, max_bytes));
                    }
                }
            },
            Err(message) => {
                state.failed += 1;
                eprintln!("line {}: {}", row.line, capped(&message));
            }
        }
        read_to = (row.end, row.line + 1);
    }
    let last = std::mem::replace(&mut request, Request::new(kind == Kind::Events));
    let counts = last
        .send(&client, &mut refused)
        .await
        .map_err(|error| cut::resume_advice(error, state.rows_done, state.next_line))?;
    state.accepted += counts.accepted;
    state.failed += counts.failed;
    state.rows_done = seen;
    progress.update(seen, state.accepted, state.failed);
    progress.finish();
    // Done: kept as the record of what was sent, so that running the same
    // command again sends nothing (and rows appended later are sent alone).
    state.advance(&mut hasher, read_to.0, read_to.1)?;
    state.finished = true;
    state.save(&checkpoint_path)?;
    out.done(
        &format!(
            "{} rows of {}: {} accepted, {} failed{}",
            seen,
            args.file.display(),
            state.accepted,
            state.failed,
            if skipped > 0 {
                format!(" (the first {skipped} done by an earlier run)")
            } else {
                String::new()
            }
        ),
        json!({
            "rows": seen,
            "accepted": state.accepted,
            "failed": state.failed,
            "resumed_after": skipped,
        }),
    );
    Ok(if state.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn dry_run(out: &Output, rows: Rows, max_bytes: usize) -> ExitCode {
    let mut invalid = Vec::new();
    let mut seen = 0u64;
    for row in rows {
        seen += 1;
        let problem = match row.item {
            Err(message) => Some(capped(&message)),
            Ok(item) => match Request::new(false).add(row.line, item, max_bytes) {
                Added::TooLarge { size } => Some(cut::too_large(size, max_bytes)),
                _ => None,
            },
        };
        if let Some(message) = problem {
            if !out.json() {
                println!("line {}: {message}", row.line);
            }
            invalid.push(json!({"line": row.line, "error": message}));
        }
    }
    out.done(
        &format!(
            "checked {seen} rows: {} invalid, nothing sent (dry run)",
            invalid.len()
        ),
        json!({"rows": seen, "invalid": invalid}),
    );
    if invalid.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn format_of(path: &Path) -> Result<Format, Failure> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => Ok(Format::Csv),
        Some("jsonl" | "ndjson" | "json") => Ok(Format::Jsonl),
        _ => Err(Failure::Usage(format!(
            "cannot tell the format of {} from its name: pass --format csv or --format jsonl",
            path.display()
        ))),
    }
}

fn open(
    args: &ImportArgs,
    kind: Kind,
    format: Format,
    plan: Option<std::sync::Arc<bento_core::plan::Plan>>,
) -> Result<Rows, Failure> {
    let file = open_file(&args.file)?;
    match format {
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .from_reader(BufReader::new(file));
            let headers = reader
                .headers()
                .map_err(|e| {
                    Failure::Usage(format!(
                        "cannot read the CSV header: {}",
                        capped(&e.to_string())
                    ))
                })?
                .clone();
            let mapping = Mapping::new(&headers, &args.map, &args.tags)?.with_plan(plan);
            Ok(Box::new(CsvRows {
                reader,
                mapping,
                record: csv::StringRecord::new(),
                done: false,
            }))
        }
        Format::Jsonl => {
            let options = map::JsonOptions {
                extra_tags: args.tags.clone(),
                verbatim_keys: args.verbatim_keys,
                plan,
            };
            let lines = JsonLines::new(BufReader::new(file));
            Ok(Box::new(lines.map(move |line| {
                Row {
                    line: line.number,
                    item: line
                        .text
                        .and_then(|text| map::json_item(kind, &text, &options)),
                    end: line.end,
                }
            })))
        }
    }
}

struct CsvRows {
    reader: csv::Reader<BufReader<std::fs::File>>,
    mapping: Mapping,
    record: csv::StringRecord,
    done: bool,
}

impl Iterator for CsvRows {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        if self.done {
            return None;
        }
        let read = self.reader.read_record(&mut self.record);
        let end = self.reader.position().byte();
        match read {
            Ok(true) => {
                let line = self.record.position().map_or(0, csv::Position::line);
                Some(Row {
                    line,
                    item: self.mapping.subscriber(&self.record),
                    end,
                })
            }
            Ok(false) => None,
            Err(error) => {
                let line = error.position().map_or(0, csv::Position::line);
                // A record that is not UTF-8 is skipped; anything else ends the file.
                if !matches!(error.kind(), csv::ErrorKind::Utf8 { .. }) {
                    self.done = true;
                }
                Some(Row {
                    line,
                    item: Err(format!("unreadable row: {error}")),
                    end,
                })
            }
        }
    }
}
