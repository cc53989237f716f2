//! `bento import`: files of any size, streamed row by row, checked with the
//! client's own validation, sent 1000 per request under the account's rate
//! limits, with a checkpoint after every acknowledged request so that running
//! the same command again resumes where it stopped (at most one request's
//! rows are sent twice, when a run dies between Bento's answer and the
//! checkpoint).

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bento_core::{Client, Encoded, Event, SubscriberImport};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::failure::Failure;
use crate::output::{Output, Progress};
use crate::{Format, Global, ImportArgs, config};

/// Rows per request: Bento's limit for both endpoints.
const BATCH: usize = 1000;

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

enum Item {
    Subscriber(SubscriberImport),
    Event(Event),
}

/// One data row: its line in the file, and the item or why it is invalid.
struct Row {
    line: u64,
    item: Result<Item, String>,
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
    let total = count_rows(&args.file, format)?;
    let rows = open(&args, kind, format)?;
    if args.dry_run {
        return Ok(dry_run(out, rows, total));
    }
    let client = config::client(global)?;
    let checkpoint_path = args
        .checkpoint
        .clone()
        .unwrap_or_else(|| default_checkpoint(&args.file));
    let file_len = std::fs::metadata(&args.file)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", args.file.display())))?
        .len();
    let resumed = if args.restart {
        None
    } else {
        Checkpoint::load(&checkpoint_path, kind, file_len)
    };
    let mut state = resumed.clone().unwrap_or(Checkpoint {
        kind: kind.name().to_owned(),
        file_len,
        rows_done: 0,
        accepted: 0,
        failed: 0,
    });
    if let Some(resumed) = &resumed {
        eprintln!(
            "resuming after row {} of {} (from {})",
            resumed.rows_done,
            args.file.display(),
            checkpoint_path.display()
        );
    }
    let mut progress = Progress::new(total);
    let mut batch = Batch::new(kind);
    let mut seen = 0u64;
    for row in rows {
        seen += 1;
        if seen <= state.rows_done {
            continue;
        }
        match row.item.and_then(|item| batch.push(item)) {
            Ok(()) => {}
            Err(message) => {
                state.failed += 1;
                eprintln!("line {}: {message}", row.line);
            }
        }
        if batch.len() == BATCH {
            send(&client, &mut batch, &mut state, seen, &checkpoint_path).await?;
            progress.update(seen, state.accepted, state.failed);
        }
    }
    send(&client, &mut batch, &mut state, seen, &checkpoint_path).await?;
    progress.update(seen, state.accepted, state.failed);
    progress.finish();
    // Done: a later run of the same command starts afresh.
    let _ = std::fs::remove_file(&checkpoint_path);
    let skipped = resumed.map_or(0, |r| r.rows_done);
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

/// Rows waiting for their request, of one kind.
enum Batch {
    Subscribers(Vec<SubscriberImport>),
    Events(Vec<Event>),
}

impl Batch {
    fn new(kind: Kind) -> Self {
        match kind {
            Kind::Subscribers => Batch::Subscribers(Vec::with_capacity(BATCH)),
            Kind::Events => Batch::Events(Vec::with_capacity(BATCH)),
        }
    }

    /// Adds a row; the readers only make rows of the command's kind, but a
    /// row of the other kind would be refused, never dropped.
    fn push(&mut self, item: Item) -> Result<(), String> {
        match (self, item) {
            (Batch::Subscribers(batch), Item::Subscriber(record)) => batch.push(record),
            (Batch::Events(batch), Item::Event(event)) => batch.push(event),
            _ => return Err("a row of the other kind (subscriber/event)".into()),
        }
        Ok(())
    }

    fn len(&self) -> usize {
        match self {
            Batch::Subscribers(batch) => batch.len(),
            Batch::Events(batch) => batch.len(),
        }
    }
}

/// Sends one batch and records it in the checkpoint once Bento accepted it.
async fn send(
    client: &Client,
    batch: &mut Batch,
    state: &mut Checkpoint,
    rows_done: u64,
    checkpoint: &Path,
) -> Result<(), Failure> {
    if batch.len() == 0 {
        state.rows_done = rows_done;
        return Ok(());
    }
    let result = match batch {
        Batch::Subscribers(records) => {
            let result = client.import_subscribers(records).await;
            records.clear();
            result
        }
        Batch::Events(events) => {
            let result = client.send_events(events).await;
            events.clear();
            result
        }
    };
    let counts = result.map_err(|error| {
        let resume = format!(
            "{error}; {} rows were done: run the same command again to resume",
            state.rows_done
        );
        match Failure::from(error) {
            Failure::Config(_) => Failure::Config(resume),
            _ => Failure::Failed(resume),
        }
    })?;
    state.accepted += counts.results;
    state.failed += counts.failed;
    state.rows_done = rows_done;
    state.save(checkpoint)
}

fn dry_run(out: &Output, rows: Rows, total: u64) -> ExitCode {
    let mut invalid = Vec::new();
    let mut seen = 0u64;
    for row in rows {
        seen += 1;
        if let Err(message) = row.item {
            if !out.json() {
                println!("line {}: {message}", row.line);
            }
            invalid.push(json!({"line": row.line, "error": message}));
        }
    }
    debug_assert!(seen <= total.max(seen));
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

fn open_file(path: &Path) -> Result<File, Failure> {
    File::open(path).map_err(|e| Failure::Usage(format!("cannot open {}: {e}", path.display())))
}

/// The number of data rows, for the progress bar's ETA (one quick pass).
fn count_rows(path: &Path, format: Format) -> Result<u64, Failure> {
    let file = open_file(path)?;
    Ok(match format {
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .from_reader(BufReader::new(file));
            let mut record = csv::ByteRecord::new();
            let mut n = 0;
            while reader.read_byte_record(&mut record).unwrap_or(false) {
                n += 1;
            }
            n
        }
        Format::Jsonl => BufReader::new(file)
            .split(b'\n')
            .filter(|line| line.as_ref().is_ok_and(|l| !l.trim_ascii().is_empty()))
            .count() as u64,
    })
}

fn open(args: &ImportArgs, kind: Kind, format: Format) -> Result<Rows, Failure> {
    let file = open_file(&args.file)?;
    match format {
        Format::Csv => {
            let mut reader = csv::ReaderBuilder::new()
                .flexible(true)
                .from_reader(BufReader::new(file));
            let headers = reader
                .headers()
                .map_err(|e| Failure::Usage(format!("cannot read the CSV header: {e}")))?
                .clone();
            let mapping = Mapping::new(&headers, &args.map, &args.tags)?;
            Ok(Box::new(CsvRows {
                reader,
                mapping,
                record: csv::StringRecord::new(),
                done: false,
            }))
        }
        Format::Jsonl => {
            let tags = args.tags.clone();
            let lines = BufReader::new(file).lines().enumerate();
            Ok(Box::new(lines.filter_map(move |(index, line)| {
                let line_number = index as u64 + 1;
                let item = match line {
                    Ok(text) if text.trim().is_empty() => return None,
                    Ok(text) => json_item(kind, &text, &tags),
                    Err(e) => Err(format!("cannot read the line: {e}")),
                };
                Some(Row {
                    line: line_number,
                    item,
                })
            })))
        }
    }
}

/// Checks an item exactly as the client will before sending it.
fn checked(item: Item) -> Result<Item, String> {
    let check = match &item {
        Item::Subscriber(record) => Encoded::subscriber(record).map(drop),
        Item::Event(event) => Encoded::event(event).map(drop),
    };
    check.map(|()| item).map_err(|error| error.to_string())
}

fn json_item(kind: Kind, text: &str, extra_tags: &[String]) -> Result<Item, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(mut object) = value else {
        return Err("expected a JSON object".into());
    };
    let mut take_str = |key: &str| match object.remove(key) {
        Some(Value::String(text)) => Ok(Some(text)),
        None | Some(Value::Null) => Ok(None),
        Some(other) => Err(format!("`{key}` must be a string, not {other}")),
    };
    match kind {
        Kind::Events => {
            let event_type = take_str("type")?.ok_or("`type` is missing")?;
            let email = take_str("email")?.ok_or("`email` is missing")?;
            let date = take_str("date")?;
            let mut event = Event::new(event_type, email);
            for (member, is_fields) in [("fields", true), ("details", false)] {
                match object.remove(member) {
                    Some(Value::Object(map)) => {
                        for (key, value) in map {
                            event = if is_fields {
                                event.field(key, value)
                            } else {
                                event.detail(key, value)
                            };
                        }
                    }
                    None | Some(Value::Null) => {}
                    Some(other) => {
                        return Err(format!("`{member}` must be an object, not {other}"));
                    }
                }
            }
            if let Some(date) = date {
                event = event.date(date);
            }
            if let Some(key) = object.keys().next() {
                return Err(format!(
                    "unknown member `{key}`: an event has type, email, fields, details and date"
                ));
            }
            checked(Item::Event(event))
        }
        Kind::Subscribers => {
            let email = take_str("email")?.ok_or("`email` is missing")?;
            let mut record = SubscriberImport::new(email);
            if let Some(name) = take_str("first_name")? {
                record = record.first_name(name);
            }
            if let Some(name) = take_str("last_name")? {
                record = record.last_name(name);
            }
            for (member, remove) in [("tags", false), ("remove_tags", true)] {
                for tag in tag_list(object.remove(member))? {
                    record = if remove {
                        record.remove_tag(tag)
                    } else {
                        record.tag(tag)
                    };
                }
            }
            let fields = match object.remove("fields") {
                Some(Value::Object(map)) => map,
                None | Some(Value::Null) => Map::new(),
                Some(other) => return Err(format!("`fields` must be an object, not {other}")),
            };
            for (key, value) in fields.into_iter().chain(object) {
                record = record.field(key, value);
            }
            for tag in extra_tags {
                record = record.tag(tag);
            }
            checked(Item::Subscriber(record))
        }
    }
}

fn tag_list(value: Option<Value>) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(split_tags(&text)),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(tag) => Ok(tag),
                other => Err(format!("a tag must be a string, not {other}")),
            })
            .collect(),
        Some(other) => Err(format!("tags must be a string or a list, not {other}")),
    }
}

fn split_tags(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `First Name` -> `first_name`: Bento's keys are lowercase and underscored.
fn normalize(header: &str) -> String {
    let mut key = String::with_capacity(header.len());
    for c in header.trim().chars() {
        if c.is_alphanumeric() {
            key.extend(c.to_lowercase());
        } else if !key.ends_with('_') {
            key.push('_');
        }
    }
    key.trim_matches('_').to_owned()
}

/// Which CSV column becomes what.
struct Mapping {
    email: usize,
    first_name: Option<usize>,
    last_name: Option<usize>,
    /// Columns of tags: a comma-separated list (`tags`) or one tag each (`tag`, `tag_2`).
    tags: Vec<(usize, bool)>,
    remove_tags: Option<usize>,
    fields: Vec<(usize, String)>,
    extra_tags: Vec<String>,
}

impl Mapping {
    fn new(
        headers: &csv::StringRecord,
        renames: &[(String, String)],
        extra_tags: &[String],
    ) -> Result<Self, Failure> {
        let names: Vec<String> = headers
            .iter()
            .map(|header| {
                renames
                    .iter()
                    .find(|(column, _)| column == header || normalize(column) == normalize(header))
                    .map_or_else(|| normalize(header), |(_, field)| normalize(field))
            })
            .collect();
        for (column, _) in renames {
            if !headers
                .iter()
                .any(|h| h == column || normalize(h) == normalize(column))
            {
                return Err(Failure::Usage(format!("--map names no column `{column}`")));
            }
        }
        let find = |candidates: &[&str]| {
            names
                .iter()
                .position(|name| candidates.contains(&name.as_str()))
        };
        let email = find(&["email", "email_address", "e_mail", "e_mail_address", "mail"])
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "no email column among {:?}: name one `email`, or pass --map \"COLUMN=email\"",
                    headers.iter().collect::<Vec<_>>()
                ))
            })?;
        let first_name = find(&["first_name", "firstname"]);
        let last_name = find(&["last_name", "lastname"]);
        let remove_tags = find(&["remove_tags"]);
        let is_single_tag = |name: &str| {
            name == "tag"
                || name
                    .strip_prefix("tag")
                    .map(|rest| rest.trim_start_matches('_'))
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        };
        let mut tags = Vec::new();
        let mut fields = Vec::new();
        for (index, name) in names.iter().enumerate() {
            let special = [Some(email), first_name, last_name, remove_tags].contains(&Some(index));
            if special {
                continue;
            }
            if name == "tags" {
                tags.push((index, true));
            } else if is_single_tag(name) {
                tags.push((index, false));
            } else if !name.is_empty() {
                fields.push((index, name.clone()));
            }
        }
        Ok(Self {
            email,
            first_name,
            last_name,
            tags,
            remove_tags,
            fields,
            extra_tags: extra_tags.to_vec(),
        })
    }

    fn subscriber(&self, record: &csv::StringRecord) -> Result<Item, String> {
        let cell = |index: usize| record.get(index).map(str::trim).unwrap_or_default();
        let email = cell(self.email);
        if email.is_empty() {
            return Err("the email is empty".into());
        }
        let mut subscriber = SubscriberImport::new(email);
        if let Some(index) = self.first_name.filter(|&i| !cell(i).is_empty()) {
            subscriber = subscriber.first_name(cell(index));
        }
        if let Some(index) = self.last_name.filter(|&i| !cell(i).is_empty()) {
            subscriber = subscriber.last_name(cell(index));
        }
        for &(index, list) in &self.tags {
            let value = cell(index);
            if list {
                subscriber = subscriber.tags(split_tags(value));
            } else if !value.is_empty() {
                subscriber = subscriber.tag(value);
            }
        }
        if let Some(index) = self.remove_tags {
            for tag in split_tags(cell(index)) {
                subscriber = subscriber.remove_tag(tag);
            }
        }
        for (index, key) in &self.fields {
            let value = cell(*index);
            if !value.is_empty() {
                subscriber = subscriber.field(key, value);
            }
        }
        for tag in &self.extra_tags {
            subscriber = subscriber.tag(tag);
        }
        checked(Item::Subscriber(subscriber))
    }
}

struct CsvRows {
    reader: csv::Reader<BufReader<File>>,
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
        match self.reader.read_record(&mut self.record) {
            Ok(true) => {
                let line = self.record.position().map_or(0, csv::Position::line);
                Some(Row {
                    line,
                    item: self.mapping.subscriber(&self.record),
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
                })
            }
        }
    }
}

/// `people.csv` -> `people.csv.bento-checkpoint`, next to the file.
fn default_checkpoint(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".bento-checkpoint");
    PathBuf::from(name)
}

/// How far an import got: rows up to `rows_done` were acknowledged by Bento.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Checkpoint {
    kind: String,
    /// The file's size: a checkpoint of another file (or of this one before
    /// it changed) is not used.
    file_len: u64,
    rows_done: u64,
    accepted: u64,
    failed: u64,
}

impl Checkpoint {
    fn load(path: &Path, kind: Kind, file_len: u64) -> Option<Self> {
        let saved: Self = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        if saved.kind == kind.name() && saved.file_len == file_len {
            Some(saved)
        } else {
            eprintln!(
                "ignoring {}: it belongs to another file or kind (pass --restart to silence this)",
                path.display()
            );
            None
        }
    }

    /// Written to a temporary file and renamed, so a kill never leaves half a checkpoint.
    fn save(&self, path: &Path) -> Result<(), Failure> {
        let cannot = |e: std::io::Error| {
            Failure::Failed(format!(
                "cannot write the checkpoint {}: {e}",
                path.display()
            ))
        };
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let mut file = File::create(&temporary).map_err(cannot)?;
        file.write_all(&serde_json::to_vec(self).map_err(|e| Failure::Failed(e.to_string()))?)
            .map_err(cannot)?;
        file.sync_all().map_err(cannot)?;
        std::fs::rename(&temporary, path).map_err(cannot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_become_bento_keys() {
        assert_eq!(normalize(" First Name "), "first_name");
        assert_eq!(normalize("E-Mail Address"), "e_mail_address");
        assert_eq!(normalize("Plan (2024)"), "plan_2024");
    }

    #[test]
    fn columns_are_mapped_by_name() {
        let headers = csv::StringRecord::from(vec![
            "E-Mail Address",
            "First Name",
            "Tags",
            "tag_2",
            "Company",
            "remove_tags",
        ]);
        let mapping = Mapping::new(
            &headers,
            &[("E-Mail Address".into(), "email".into())],
            &["imported".into()],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mapping.email, 0);
        assert_eq!(mapping.first_name, Some(1));
        assert_eq!(mapping.tags, vec![(2, true), (3, false)]);
        assert_eq!(mapping.fields, vec![(4, "company".to_owned())]);
        let row = csv::StringRecord::from(vec![
            "ada@example.com",
            "Ada",
            "lead, mql",
            "vip",
            "Acme",
            "old",
        ]);
        let Ok(Item::Subscriber(record)) = mapping.subscriber(&row) else {
            panic!("valid row")
        };
        let json: Value = serde_json::from_slice(
            Encoded::subscriber(&record)
                .unwrap_or_else(|e| panic!("{e}"))
                .json(),
        )
        .unwrap_or_default();
        assert_eq!(json["email"], "ada@example.com");
        assert_eq!(json["first_name"], "Ada");
        assert_eq!(json["tags"], "lead,mql,vip,imported");
        assert_eq!(json["remove_tags"], "old");
        assert_eq!(json["company"], "Acme");
    }
}
