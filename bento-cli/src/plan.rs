//! `bento plan`: the tracking plan (`bento-plan.toml`) against the account.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bento_core::Client;
use bento_core::plan::{Kind, Plan, Spec};
use serde_json::json;

use crate::failure::Failure;
use crate::output::Output;

/// The plan file: the one given, else the one the derive would find from
/// here, else `bento-plan.toml` here.
pub(crate) fn path(given: Option<PathBuf>) -> PathBuf {
    given.unwrap_or_else(|| {
        let here = std::env::current_dir().unwrap_or_default();
        Plan::find(&here).unwrap_or_else(|| here.join(bento_core::plan::FILE_NAME))
    })
}

fn load(path: &Path) -> Result<Plan, Failure> {
    Plan::load(path).map_err(|error| Failure::Usage(error.to_string()))
}

/// The account's custom field keys, sorted.
async fn account_fields(client: &Client) -> Result<Vec<String>, Failure> {
    let mut keys: Vec<String> = client
        .fields()
        .await?
        .into_iter()
        .map(|field| field.key)
        .filter(|key| !key.is_empty())
        .collect();
    keys.sort();
    keys.dedup();
    Ok(keys)
}

/// `bento plan lint`: the file alone.
pub(crate) fn lint(path: &Path, out: &Output) -> Result<ExitCode, Failure> {
    let plan = load(path)?;
    out.done(
        &format!(
            "{}: ok ({} fields, {} events)",
            path.display(),
            plan.fields().count(),
            plan.events().count()
        ),
        json!({"file": path, "ok": true, "fields": plan.fields().count(), "events": plan.events().count()}),
    );
    Ok(ExitCode::SUCCESS)
}

/// `bento plan check`: the plan's fields against the account's; exit 1
/// when they differ.
pub(crate) async fn check(client: &Client, path: &Path, out: &Output) -> Result<ExitCode, Failure> {
    let plan = load(path)?;
    let account = account_fields(client).await?;
    let missing_in_account: Vec<&str> = plan
        .fields()
        .map(|(name, _)| name)
        .filter(|name| !account.iter().any(|key| key == name))
        .collect();
    let missing_in_plan: Vec<&str> = account
        .iter()
        .map(String::as_str)
        .filter(|key| plan.field(key).is_none())
        .collect();
    let same = missing_in_account.is_empty() && missing_in_plan.is_empty();
    let mut human = Vec::new();
    for name in &missing_in_account {
        human.push(format!("in the plan, not in the account: {name}"));
    }
    for key in &missing_in_plan {
        human.push(format!(
            "in the account, not in the plan: {key} (run `bento plan pull` to add it)"
        ));
    }
    if same {
        human.push(format!(
            "{}: the plan's {} fields match the account",
            path.display(),
            account.len()
        ));
    }
    out.done(
        &human.join("\n"),
        json!({
            "file": path,
            "same": same,
            "missing_in_account": missing_in_account,
            "missing_in_plan": missing_in_plan,
        }),
    );
    Ok(if same {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `bento plan pull`: adds the account's fields the plan lacks, as
/// `string` (Bento's fields carry no kind), keeping everything in the file.
pub(crate) async fn pull(client: &Client, path: &Path, out: &Output) -> Result<ExitCode, Failure> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => {
            return Err(Failure::Usage(format!(
                "cannot read {}: {error}",
                path.display()
            )));
        }
    };
    let plan = Plan::parse(&text)
        .map_err(|error| Failure::Usage(format!("{}: {}", path.display(), error.first())))?;
    let added: Vec<String> = account_fields(client)
        .await?
        .into_iter()
        .filter(|key| plan.field(key).is_none())
        .collect();
    if !added.is_empty() {
        let merged = merge(&text, &added);
        // The merge only appends lines; a plan that no longer parses would
        // be a bug here, and the file is left as it was.
        Plan::parse(&merged).map_err(|error| {
            Failure::Failed(format!(
                "the merged plan does not parse ({error}); {} is unchanged",
                path.display()
            ))
        })?;
        std::fs::write(path, merged).map_err(|error| {
            Failure::Failed(format!("cannot write {}: {error}", path.display()))
        })?;
    }
    out.done(
        &if added.is_empty() {
            format!("{}: already has every field of the account", path.display())
        } else {
            format!(
                "{}: added {} field(s) as \"string\": {}",
                path.display(),
                added.len(),
                added.join(", ")
            )
        },
        json!({"file": path, "added": added}),
    );
    Ok(ExitCode::SUCCESS)
}

/// `text` with `keys` appended to its `[fields]` table (created at the top
/// when there is none), every other line kept as written.
fn merge(text: &str, keys: &[String]) -> String {
    let spec = Spec {
        kind: Kind::String,
        optional: false,
    };
    let entries: Vec<String> = keys
        .iter()
        .map(|key| format!("{} = \"{spec}\"", toml_key(key)))
        .collect();
    let lines: Vec<&str> = text.lines().collect();
    let header = lines
        .iter()
        .position(|line| is_header(line, Some("fields")));
    let Some(header) = header else {
        let mut out = format!("[fields]\n{}\n", entries.join("\n"));
        if !text.trim().is_empty() {
            out.push('\n');
            out.push_str(text);
            if !text.ends_with('\n') {
                out.push('\n');
            }
        }
        return out;
    };
    // After the table's last non-blank line, before the next header.
    let end = lines[header + 1..]
        .iter()
        .position(|line| is_header(line, None))
        .map_or(lines.len(), |offset| header + 1 + offset);
    let mut insert = end;
    while insert > header + 1 && lines[insert - 1].trim().is_empty() {
        insert -= 1;
    }
    let mut out: Vec<String> = lines[..insert].iter().map(|l| (*l).to_owned()).collect();
    out.extend(entries);
    out.extend(lines[insert..].iter().map(|l| (*l).to_owned()));
    let mut merged = out.join("\n");
    merged.push('\n');
    merged
}

/// Whether `line` is a table header (`[fields]`, or any when `name` is `None`).
fn is_header(line: &str, name: Option<&str>) -> bool {
    let line = line.split('#').next().unwrap_or_default().trim();
    match name {
        Some(name) => line == format!("[{name}]"),
        None => line.starts_with('['),
    }
}

/// A bare TOML key when it may be one, else a quoted one.
fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_keeps_every_line_and_adds_to_the_fields_table() {
        let text = "# our plan\n[fields]\nfirst_name = \"string\"  # given\n\n[events.\"a.b\"]\nfields = [\"first_name\"]\n";
        let merged = merge(text, &["seats".into(), "odd key".into()]);
        assert_eq!(
            merged,
            "# our plan\n[fields]\nfirst_name = \"string\"  # given\nseats = \"string\"\n\"odd key\" = \"string\"\n\n[events.\"a.b\"]\nfields = [\"first_name\"]\n"
        );
        let plan = Plan::parse(&merged).unwrap();
        assert!(plan.field("odd key").is_some());
        let fresh = merge("[events.\"a\"]\n", &["plan".into()]);
        assert_eq!(fresh, "[fields]\nplan = \"string\"\n\n[events.\"a\"]\n");
        assert_eq!(merge("", &["plan".into()]), "[fields]\nplan = \"string\"\n");
    }
}
