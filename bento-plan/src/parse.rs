//! Reading `bento-plan.toml`: TOML with spans, so that every problem names
//! its line, and every problem reported at once.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::{EventPlan, FILE_NAME, Kind, Plan, Spec, closest};

/// A plan that could not be read: every problem found, each with its line.
///
/// Displayed as `bento-plan.toml:7: unknown kind `strin` for `first_name`
/// (did you mean `string`?)`, one problem per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    file: PathBuf,
    problems: Vec<Problem>,
}

/// One problem in a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based; 0 when the problem is not on a line (an unreadable file).
    pub line: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl PlanError {
    pub(crate) fn io(path: &Path, error: &std::io::Error) -> Self {
        Self {
            file: path.to_owned(),
            problems: vec![Problem {
                line: 0,
                message: format!("cannot read the tracking plan: {error}"),
            }],
        }
    }

    /// The file the plan was read from (`bento-plan.toml` when parsed from text).
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Every problem, in the order of the file.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The first problem, as one line naming the file.
    pub fn first(&self) -> String {
        self.problems
            .first()
            .map(|problem| self.line_of(problem))
            .unwrap_or_default()
    }

    fn line_of(&self, problem: &Problem) -> String {
        if problem.line == 0 {
            format!("{}: {}", self.file.display(), problem.message)
        } else {
            format!(
                "{}:{}: {}",
                self.file.display(),
                problem.line,
                problem.message
            )
        }
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.problems.iter().map(|p| self.line_of(p)).collect();
        f.write_str(&lines.join("\n"))
    }
}

impl std::error::Error for PlanError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    #[serde(default)]
    fields: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    events: BTreeMap<Spanned<String>, RawEvent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent {
    #[serde(default)]
    fields: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    details: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    #[serde(default)]
    description: Option<String>,
}

struct Lines<'a> {
    text: &'a str,
}

impl Lines<'_> {
    fn of(&self, span: Range<usize>) -> usize {
        let end = span.start.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    }
}

/// The line of an inline table (`{`) opened before `error_line` and still
/// open there, if any; strings and comments are skipped.
fn unclosed_inline_table(text: &str, error_line: usize) -> Option<usize> {
    let mut open: Vec<usize> = Vec::new();
    for (index, line) in text.lines().enumerate().take(error_line) {
        let number = index + 1;
        let mut quote: Option<char> = None;
        let mut escaped = false;
        for c in line.chars() {
            match quote {
                Some(q) => {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' && q == '"' {
                        escaped = true;
                    } else if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    '"' | '\'' => quote = Some(c),
                    '#' => break,
                    '{' => open.push(number),
                    '}' => {
                        open.pop();
                    }
                    _ => {}
                },
            }
        }
    }
    open.first().copied().filter(|opened| *opened < error_line)
}

pub(crate) fn parse(text: &str, path: Option<&Path>) -> Result<Plan, PlanError> {
    let file = path.map_or_else(|| PathBuf::from(FILE_NAME), Path::to_owned);
    let lines = Lines { text };
    let raw: RawPlan = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(error) => {
            let line = error.span().map_or(1, |span| lines.of(span));
            let message = error.message().trim().replace('\n', " ");
            // TOML lets an inline table run over lines, so one left open is
            // found where the parser gives up, lines later: name its `{`.
            let problem = match unclosed_inline_table(text, line) {
                Some(opened) => Problem {
                    line: opened,
                    message: format!(
                        "this inline table is never closed: add `}}` at the end of the line \
                         (the parser gave up on line {line}: {message})"
                    ),
                },
                None => Problem { line, message },
            };
            return Err(PlanError {
                file,
                problems: vec![problem],
            });
        }
    };
    let mut problems = Vec::new();
    let mut plan = Plan::default();
    for (name, kind) in &raw.fields {
        check_name(name, "field", &lines, &mut problems);
        if let Some(spec) = spec(kind, name.get_ref(), &lines, &mut problems) {
            plan.fields.insert(name.get_ref().clone(), spec);
        }
    }
    for (name, raw_event) in raw.events {
        if name.get_ref().trim().is_empty() {
            problems.push(Problem {
                line: lines.of(name.span()),
                message: "an event type is empty: name it, such as `account.signup`".into(),
            });
        }
        let mut event = EventPlan {
            description: raw_event.description,
            ..EventPlan::default()
        };
        if let Some(list) = raw_event.fields {
            let mut seen: Vec<&str> = Vec::new();
            for field in &list {
                let field_name = field.get_ref().as_str();
                let line = lines.of(field.span());
                if seen.contains(&field_name) {
                    problems.push(Problem {
                        line,
                        message: format!(
                            "`{field_name}` is listed twice in the fields of `{}`",
                            name.get_ref()
                        ),
                    });
                } else if !plan.fields.contains_key(field_name)
                    && !raw.fields.keys().any(|f| f.get_ref() == field_name)
                {
                    problems.push(Problem {
                        line,
                        message: format!(
                            "event `{}` lists the field `{field_name}`, which `[fields]` does not declare{}",
                            name.get_ref(),
                            did_you_mean(closest(
                                field_name,
                                raw.fields.keys().map(|f| f.get_ref().as_str())
                            ))
                        ),
                    });
                }
                seen.push(field_name);
            }
            event.fields = Some(list.into_iter().map(Spanned::into_inner).collect());
        }
        if let Some(details) = raw_event.details {
            let mut specs = BTreeMap::new();
            for (key, kind) in &details {
                check_name(key, "detail", &lines, &mut problems);
                if let Some(spec) = spec(kind, key.get_ref(), &lines, &mut problems) {
                    specs.insert(key.get_ref().clone(), spec);
                }
            }
            event.details = Some(specs);
        }
        plan.events.insert(name.into_inner(), event);
    }
    if problems.is_empty() {
        Ok(plan)
    } else {
        problems.sort_by_key(|problem| problem.line);
        Err(PlanError { file, problems })
    }
}

fn check_name(name: &Spanned<String>, what: &str, lines: &Lines<'_>, out: &mut Vec<Problem>) {
    if name.get_ref().trim().is_empty() {
        out.push(Problem {
            line: lines.of(name.span()),
            message: format!("a {what} name is empty"),
        });
    }
}

fn spec(
    kind: &Spanned<String>,
    owner: &str,
    lines: &Lines<'_>,
    out: &mut Vec<Problem>,
) -> Option<Spec> {
    let written = kind.get_ref().trim();
    let (name, optional) = match written.strip_suffix('?') {
        Some(name) => (name, true),
        None => (written, false),
    };
    match Kind::from_name(name) {
        Some(kind) => Some(Spec { kind, optional }),
        None => {
            out.push(Problem {
                line: lines.of(kind.span()),
                message: format!(
                    "unknown kind `{written}` for `{owner}`{}; the kinds are string, number, boolean, object, array and date, each optionally followed by `?`",
                    did_you_mean(closest(name, Kind::ALL.iter().map(|k| k.name())))
                ),
            });
            None
        }
    }
}

/// ` (did you mean `x`?)` after a message when there is a suggestion, else
/// nothing: the one spelling every checker of the plan uses.
pub fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!(" (did you mean `{s}`?)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUE: &str = r#"
[fields]                      # the account's custom fields, with their kinds
first_name = "string"
plan = "string"
seats = "number"

[events."account.signup"]
fields = ["first_name", "plan"]                         # profile fields it may write
details = { source = "string", referrer = "string?" }   # "?": optional

[events."$purchase"]
details = { unique = "object", value = "object", cart = "object?" }
"#;

    #[test]
    fn reads_the_documented_example() {
        let plan = Plan::parse(ISSUE).unwrap();
        assert_eq!(
            plan.field("seats"),
            Some(Spec {
                kind: Kind::Number,
                optional: false
            })
        );
        let signup = plan.event("account.signup").unwrap();
        assert_eq!(signup.field_list().unwrap(), ["first_name", "plan"]);
        assert!(signup.detail("referrer").unwrap().optional);
        assert!(!signup.detail("source").unwrap().optional);
        let purchase = plan.event("$purchase").unwrap();
        assert!(purchase.allows_field("seats"));
        assert_eq!(purchase.details().count(), 3);
        assert!(!plan.event("account.signup").unwrap().allows_field("seats"));
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = "[fields]\nfirst_name = \"strin\"\n\n[events.\"a.b\"]\nfields = [\"frist_name\", \"frist_name\"]\ndetails = { n = \"numbr?\" }\n";
        let error = Plan::parse(text).unwrap_err();
        let shown = error.to_string();
        assert!(
            shown.contains(
                "bento-plan.toml:2: unknown kind `strin` for `first_name` (did you mean `string`?)"
            ),
            "{shown}"
        );
        assert!(shown.contains("bento-plan.toml:5: event `a.b` lists the field `frist_name`, which `[fields]` does not declare (did you mean `first_name`?)"), "{shown}");
        assert!(
            shown.contains("bento-plan.toml:5: `frist_name` is listed twice"),
            "{shown}"
        );
        assert!(
            shown.contains(
                "bento-plan.toml:6: unknown kind `numbr?` for `n` (did you mean `number`?)"
            ),
            "{shown}"
        );
        assert_eq!(error.problems().len(), 4);
    }

    #[test]
    fn syntax_errors_and_duplicate_keys_name_their_line() {
        let duplicate = Plan::parse("[fields]\na = \"string\"\n\na = \"number\"\n").unwrap_err();
        assert_eq!(duplicate.problems()[0].line, 4, "{duplicate}");
        assert!(
            duplicate.to_string().contains("duplicate key"),
            "{duplicate}"
        );
        let broken = Plan::parse("[fields]\n\nfirst_name = string\n").unwrap_err();
        assert_eq!(broken.problems()[0].line, 3, "{broken}");
        let unknown = Plan::parse("[events.\"a\"]\ndetials = {}\n").unwrap_err();
        assert_eq!(unknown.problems()[0].line, 2, "{unknown}");
        assert!(unknown.to_string().contains("detials"), "{unknown}");
        let unclosed = Plan::parse(
            "[fields]\nplan = \"string\"\n\n[events.\"a\"]\ndetails = { plan = \"string\"\n\n[events.\"b\"]\n",
        )
        .unwrap_err();
        assert_eq!(unclosed.problems()[0].line, 5, "{unclosed}");
        assert!(unclosed.to_string().contains("never closed"), "{unclosed}");
        let top = Plan::parse("[event.\"a\"]\n").unwrap_err();
        assert!(top.to_string().contains("`event`"), "{top}");
    }

    #[test]
    fn an_empty_plan_declares_nothing() {
        let plan = Plan::parse("").unwrap();
        assert!(plan.event("a").is_none());
        assert_eq!(plan.fields().count(), 0);
    }
}
