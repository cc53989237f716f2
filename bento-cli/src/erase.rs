//! `bento erase FILE`: a file of addresses, one per line, each erased with
//! `Client::erase` (Bento's deletion request), under the deletion quota
//! (1,000 a day unless `--per-day` says less), with progress, and a
//! checkpoint after every address, so that running the same command again
//! resumes after the last address Bento took. When the day's quota is used
//! up, the run stops and says when to run it again, instead of waiting for
//! a day. The file names people who asked to be forgotten: output names
//! lines, never addresses.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use bento_core::{EraseError, Error, deletion::Deletion};
use serde_json::json;

use crate::checkpoint::{self, Checkpoint, PrefixHasher};
use crate::failure::Failure;
use crate::output::{Output, Progress};
use crate::{EraseArgs, Global, config};

const KIND: &str = "erasures";

/// One line that names an address: its number, the address, and the byte
/// offset where the line ends.
struct Line {
    number: u64,
    email: String,
    end: u64,
}

pub(crate) async fn run(
    global: &Global,
    out: &Output,
    args: EraseArgs,
) -> Result<ExitCode, Failure> {
    let lines = read(&args.file)?;
    let (checkpoint_path, resumed) =
        checkpoint::resume(&args.file, args.checkpoint.clone(), args.restart, KIND)?;
    let size = std::fs::metadata(&args.file).map(|m| m.len()).ok();
    if let Some(done) = resumed
        .as_ref()
        .filter(|r| r.finished && Some(r.offset) == size)
    {
        out.done(
            &format!(
                "every address of {} was erased by an earlier run ({} erased, {} lines invalid; \
                 recorded in {}); nothing was sent: pass --restart to ask again",
                args.file.display(),
                done.accepted,
                done.failed,
                checkpoint_path.display()
            ),
            json!({ "erased": 0, "already_erased": true }),
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (builder, _) = config::builder(global)?;
    let client = config::configure(builder, global)
        .rate_limits(config::limits(global).set(
            bento_core::EndpointFamily::Deletion,
            bento_core::RateLimit::per_day(args.per_day.max(1)),
        ))
        .build()?;
    let mut state = resumed.unwrap_or_else(|| Checkpoint::start(KIND));
    if state.offset > 0 {
        eprintln!(
            "resuming at line {} of {}: {} addresses were erased by earlier runs (recorded in {})",
            state.next_line,
            args.file.display(),
            state.accepted,
            checkpoint_path.display()
        );
    }
    state.finished = false;
    let mut hasher = PrefixHasher::new(&args.file, state.offset)?;
    let total = lines.len() as u64;
    let mut progress = Progress::new(total);
    let (mut queued, mut unknown) = (0u64, 0u64);
    for (index, line) in lines.into_iter().enumerate() {
        if line.end <= state.offset {
            continue;
        }
        if let Err(error) = bento_core::integration::erasure::check_email(&line.email) {
            // The message describes the address without showing it.
            eprintln!("line {}: {error}; skipped", line.number);
            state.failed += 1;
        } else {
            match client.erase(&line.email).await {
                Ok(erasure) => {
                    state.accepted += 1;
                    match erasure.deletion {
                        Some(Deletion::NotFound) => unknown += 1,
                        _ => queued += 1,
                    }
                }
                Err(error) => {
                    state.save(&checkpoint_path)?;
                    progress.finish();
                    return Err(stopped(&error, &state, line.number, &args.file));
                }
            }
        }
        state.rows_done = index as u64 + 1;
        state.advance(&mut hasher, line.end, line.number + 1)?;
        state.save(&checkpoint_path)?;
        progress.update(state.rows_done, state.accepted, state.failed);
    }
    progress.finish();
    if let Some(size) = size {
        state.advance(&mut hasher, size, state.next_line)?;
    }
    state.finished = true;
    state.save(&checkpoint_path)?;
    out.done(
        &format!(
            "{queued} erasures queued by Bento, {unknown} addresses Bento did not know (nothing \
             to delete), {} lines skipped as invalid",
            state.failed
        ),
        json!({ "queued": queued, "not_found": unknown, "invalid": state.failed }),
    );
    Ok(if state.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Why the run stopped at `line`, and how to go on.
fn stopped(error: &EraseError, state: &Checkpoint, line: u64, file: &Path) -> Failure {
    let again = format!(
        "run the same command again to resume at line {line} of {} ({} erased so far)",
        file.display(),
        state.accepted
    );
    let quota = match error {
        EraseError::Request { source, .. } => match source.as_ref() {
            Error::RateLimited { retry_after, .. } => Some(*retry_after),
            other if other.status().map(|s| s.as_u16()) == Some(429) => {
                Some(other.retry_after().unwrap_or(Duration::from_secs(86_400)))
            }
            _ => None,
        },
        _ => None,
    };
    match quota {
        Some(wait) => Failure::Failed(format!(
            "the day's quota of deletion requests is used up; {again} in {}",
            humanize(wait)
        )),
        None => Failure::Failed(format!("line {line}: {error}; {again}")),
    }
}

fn humanize(wait: Duration) -> String {
    let secs = wait.as_secs();
    if secs >= 3600 {
        format!("about {} h", secs.div_ceil(3600))
    } else {
        format!("about {} min", secs.div_ceil(60).max(1))
    }
}

/// Every line naming an address (blank lines and `#` comments are not
/// counted), with the byte offset where it ends.
fn read(file: &Path) -> Result<Vec<Line>, Failure> {
    let cannot = |e: std::io::Error| Failure::Usage(format!("cannot read {}: {e}", file.display()));
    let mut reader = BufReader::new(std::fs::File::open(file).map_err(cannot)?);
    let mut lines = Vec::new();
    let (mut offset, mut number) = (0u64, 0u64);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        let read = reader.read_until(b'\n', &mut buffer).map_err(cannot)?;
        if read == 0 {
            return Ok(lines);
        }
        offset += read as u64;
        number += 1;
        let Ok(text) = std::str::from_utf8(&buffer) else {
            return Err(Failure::Usage(format!(
                "{} line {number} is not UTF-8 text",
                file.display()
            )));
        };
        let email = text.trim();
        if email.is_empty() || email.starts_with('#') {
            continue;
        }
        lines.push(Line {
            number,
            email: email.to_owned(),
            end: offset,
        });
    }
}
