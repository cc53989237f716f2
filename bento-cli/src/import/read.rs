//! Reading an import file: a first pass that checks its shape and counts its
//! rows (before anything is sent), then rows one at a time, each with its
//! line and the byte offset where it ends, for the checkpoint.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::Format;
use crate::failure::Failure;

/// The longest CSV header line accepted: a real one is a few hundred bytes;
/// a longer one is not a header (and would cost its size many times over).
pub(crate) const MAX_HEADER_BYTES: u64 = 64 * 1024;

/// The longest message printed about one row.
const MAX_MESSAGE_CHARS: usize = 300;

/// `message`, cut to a length a terminal can show.
pub(crate) fn capped(message: &str) -> String {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        None => message.to_owned(),
        Some((cut, _)) => format!(
            "{}... ({} more bytes)",
            &message[..cut],
            message.len() - cut
        ),
    }
}

pub(crate) fn open_file(path: &Path) -> Result<File, Failure> {
    File::open(path).map_err(|e| Failure::Usage(format!("cannot open {}: {e}", path.display())))
}

/// What the first pass found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Scan {
    /// Data rows (the CSV header excluded), for the progress bar.
    pub(crate) rows: u64,
}

/// Checks the file's shape and counts its rows, so that nothing is sent
/// from a file that cannot be read to its end: an empty file, a CSV header
/// too long to be one, a quote opened and never closed (which would read
/// every row after it as one field).
pub(crate) fn scan(path: &Path, format: Format) -> Result<Scan, Failure> {
    let file = open_file(path)?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    match format {
        Format::Csv => scan_csv(path, &mut reader),
        Format::Jsonl => scan_jsonl(path, &mut reader),
    }
}

fn unreadable(path: &Path, error: std::io::Error) -> Failure {
    Failure::Usage(format!("cannot read {}: {error}", path.display()))
}

fn empty(path: &Path, what: &str) -> Failure {
    Failure::Usage(format!("{} is empty: {what}", path.display()))
}

/// RFC 4180 quoting as the `csv` crate reads it: a quote opens a quoted
/// field only at the field's start, `""` inside is a quote, and a newline
/// inside does not end the record.
fn scan_csv(path: &Path, reader: &mut impl BufRead) -> Result<Scan, Failure> {
    let mut line = 1u64;
    let mut offset = 0u64;
    let mut in_quotes = false;
    let mut quote_at_end = false;
    let mut field_start = true;
    let mut opened = (0u64, 0u64); // line and record of the open quote
    let mut records = 0u64; // records ended so far
    let mut record_has_data = false;
    let mut header_end: Option<u64> = None;
    loop {
        let buffer = reader.fill_buf().map_err(|e| unreadable(path, e))?;
        if buffer.is_empty() {
            break;
        }
        let n = buffer.len();
        for (i, &byte) in buffer.iter().enumerate() {
            if offset == 0 && i < 3 && buffer.starts_with(b"\xEF\xBB\xBF") {
                continue;
            }
            if quote_at_end {
                // The quote before this byte closed the field unless this
                // one is its double.
                quote_at_end = false;
                if byte == b'"' {
                    continue;
                }
                in_quotes = false;
            }
            if in_quotes {
                if byte == b'"' {
                    quote_at_end = true;
                } else if byte == b'\n' {
                    line += 1;
                }
                continue;
            }
            match byte {
                b'"' if field_start => {
                    in_quotes = true;
                    opened = (line, records);
                    field_start = false;
                    record_has_data = true;
                }
                b',' => {
                    field_start = true;
                    record_has_data = true;
                }
                b'\n' => {
                    if record_has_data {
                        records += 1;
                        if header_end.is_none() {
                            header_end = Some(offset + i as u64);
                        }
                    }
                    record_has_data = false;
                    field_start = true;
                    line += 1;
                }
                b'\r' => field_start = true,
                _ => {
                    field_start = false;
                    record_has_data = true;
                }
            }
            if header_end.is_none() && offset + i as u64 > MAX_HEADER_BYTES {
                return Err(Failure::Usage(format!(
                    "the first line of {} is longer than {} KiB: a CSV file starts with a header of column names (email,first_name,...)",
                    path.display(),
                    MAX_HEADER_BYTES / 1024
                )));
            }
        }
        offset += n as u64;
        reader.consume(n);
    }
    if in_quotes && !quote_at_end {
        let (at, record) = opened;
        let row = if record == 0 {
            "the header".to_owned()
        } else {
            format!("row {record}")
        };
        return Err(Failure::Usage(format!(
            "{}: a quote opened on line {at} ({row}) never closes, so every line after it would be read as one field; \
             close the quote (a quote inside a quoted field is written \"\"), nothing was sent",
            path.display()
        )));
    }
    if record_has_data {
        records += 1;
    }
    if records == 0 {
        return Err(empty(
            path,
            "expected a header line (email,first_name,...) and rows",
        ));
    }
    Ok(Scan {
        rows: records.saturating_sub(1),
    })
}

fn scan_jsonl(path: &Path, reader: &mut impl BufRead) -> Result<Scan, Failure> {
    let mut rows = 0u64;
    let mut blank = true;
    let mut first = true;
    loop {
        let buffer = reader.fill_buf().map_err(|e| unreadable(path, e))?;
        if buffer.is_empty() {
            break;
        }
        let n = buffer.len();
        let mut bytes = buffer;
        if first && bytes.starts_with(b"\xEF\xBB\xBF") {
            bytes = &bytes[3..];
        }
        first = false;
        for &byte in bytes {
            match byte {
                b'\n' => {
                    if !blank {
                        rows += 1;
                    }
                    blank = true;
                }
                b' ' | b'\t' | b'\r' => {}
                _ => blank = false,
            }
        }
        reader.consume(n);
    }
    if !blank {
        rows += 1;
    }
    if rows == 0 {
        return Err(empty(path, "expected one JSON object per line"));
    }
    Ok(Scan { rows })
}

/// One line of a JSON Lines file: its number, its text (or why it cannot be
/// read), and the byte offset where it ends.
pub(crate) struct Line {
    pub(crate) number: u64,
    pub(crate) text: Result<String, String>,
    pub(crate) end: u64,
}

/// The non-blank lines of a JSON Lines file, a leading UTF-8 BOM removed.
pub(crate) struct JsonLines<R> {
    reader: R,
    number: u64,
    offset: u64,
    buffer: Vec<u8>,
    failed: bool,
}

impl<R: BufRead> JsonLines<R> {
    pub(crate) fn new(reader: R) -> Self {
        Self {
            reader,
            number: 0,
            offset: 0,
            buffer: Vec::new(),
            failed: false,
        }
    }
}

impl<R: BufRead> Iterator for JsonLines<R> {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        if self.failed {
            return None;
        }
        loop {
            self.buffer.clear();
            let read = match self.reader.read_until(b'\n', &mut self.buffer) {
                Ok(0) => return None,
                Ok(n) => n,
                Err(error) => {
                    // Nothing more can be read: report it once, on its line.
                    self.failed = true;
                    self.number += 1;
                    return Some(Line {
                        number: self.number,
                        text: Err(format!("cannot read the line: {error}")),
                        end: self.offset,
                    });
                }
            };
            let start = self.offset;
            self.offset += read as u64;
            self.number += 1;
            let mut bytes = &self.buffer[..];
            if start == 0 && bytes.starts_with(b"\xEF\xBB\xBF") {
                bytes = &bytes[3..];
            }
            if bytes.trim_ascii().is_empty() {
                continue;
            }
            let text = std::str::from_utf8(bytes.trim_ascii_end())
                .map(str::to_owned)
                .map_err(|e| format!("the line is not UTF-8: {e}"));
            return Some(Line {
                number: self.number,
                text,
                end: self.offset,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Result<Scan, String> {
        scan_csv(Path::new("t.csv"), &mut text.as_bytes()).map_err(|e| e.to_string())
    }

    fn jsonl(text: &str) -> Result<Scan, String> {
        scan_jsonl(Path::new("t.jsonl"), &mut text.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn csv_rows_are_counted_with_quoted_newlines_and_doubled_quotes() {
        assert_eq!(csv("email\na@x.io\nb@x.io\n"), Ok(Scan { rows: 2 }));
        assert_eq!(csv("email\na@x.io\nb@x.io"), Ok(Scan { rows: 2 }));
        assert_eq!(
            csv("email,notes\na@x.io,\"two\nlines, \"\"quoted\"\"\"\r\nb@x.io,x\r\n"),
            Ok(Scan { rows: 2 })
        );
        assert_eq!(csv("\u{feff}email\na@x.io\n"), Ok(Scan { rows: 1 }));
        // A quote inside an unquoted field is a character.
        assert_eq!(csv("email,n\na@x.io,5\"\nb@x.io,6\n"), Ok(Scan { rows: 2 }));
    }

    #[test]
    fn an_unterminated_quote_names_where_it_opened() {
        let mut text = String::from("email,notes\n");
        for n in 0..5 {
            text.push_str(&format!("u{n}@x.io,fine\n"));
        }
        text.push_str("u5@x.io,\"never closed\n");
        for n in 6..10 {
            text.push_str(&format!("u{n}@x.io,fine\n"));
        }
        let error = csv(&text).unwrap_err();
        assert!(error.contains("line 7 (row 6)"), "{error}");
        assert!(error.len() < 400, "{error}");
        // closed at the very end of the file: fine
        assert_eq!(csv("email,n\na@x.io,\"ok\""), Ok(Scan { rows: 1 }));
    }

    #[test]
    fn empty_files_and_huge_headers_are_refused() {
        assert!(csv("").unwrap_err().contains("is empty"));
        assert!(csv("\n\n").unwrap_err().contains("is empty"));
        assert!(jsonl("").unwrap_err().contains("is empty"));
        assert!(jsonl(" \n\n").unwrap_err().contains("is empty"));
        let header = "x".repeat(MAX_HEADER_BYTES as usize + 10);
        assert!(csv(&header).unwrap_err().contains("longer than 64 KiB"));
    }

    #[test]
    fn json_lines_skip_blanks_and_a_bom_and_know_their_offsets() {
        let text = "\u{feff}{\"a\":1}\n\n  \n{\"b\":2}\r\n{\"c\":3}";
        assert_eq!(jsonl(text), Ok(Scan { rows: 3 }));
        let lines: Vec<Line> = JsonLines::new(text.as_bytes()).collect();
        let seen: Vec<(u64, String, u64)> = lines
            .into_iter()
            .map(|l| (l.number, l.text.unwrap(), l.end))
            .collect();
        assert_eq!(
            seen,
            vec![
                (1, "{\"a\":1}".to_owned(), 11),
                (4, "{\"b\":2}".to_owned(), 24),
                (5, "{\"c\":3}".to_owned(), 31),
            ]
        );
    }

    #[test]
    fn messages_are_capped() {
        let long = "é".repeat(10_000);
        let message = capped(&long);
        assert!(message.chars().count() < 400, "{message}");
        assert!(message.contains("more bytes"));
        assert_eq!(capped("short"), "short");
    }
}
