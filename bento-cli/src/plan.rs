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

/// A new plan: nothing declared yet, so every derived event is off it until
/// declared (the derive's errors say what to add).
const STARTER_PLAN: &str = r#"# The tracking plan: the account's custom fields (with kinds) and, per event type,
# the fields it may write and its details. The derives are checked against it at
# compile time, the client and the emulator at run time. `bento plan pull` adds the
# account's fields; the README's "Tracking plan" documents the format.

[fields]
# first_name = "string"

# [events."account.signup"]
# fields = ["first_name"]
# details = { plan = "string", referrer = "string?" }
"#;

/// What a crate's build script needs to say for the first plan to count.
const RERUN_LINE: &str = "cargo:rerun-if-changed=bento-plan.toml";

const BUILD_SCRIPT: &str = r#"// Rebuild when bento-plan.toml appears or changes: the derives read it at
// compile time, and a proc macro cannot make cargo watch a file that did not
// exist at the last build (a build script can). Written by `bento plan init`.
fn main() {
    println!("cargo:rerun-if-changed=bento-plan.toml");
}
"#;

/// The build script a crate's manifest names: `package.build` (a path, or
/// `false` for none), else `build.rs` when it exists.
enum BuildScript {
    /// A script at this path (it may not exist yet).
    At(PathBuf),
    /// `build = false`: the crate refuses build scripts.
    Disabled,
}

fn build_script(dir: &Path) -> Option<BuildScript> {
    let manifest: toml::Table = std::fs::read_to_string(dir.join("Cargo.toml"))
        .ok()?
        .parse()
        .ok()?;
    let declared = manifest
        .get("package")
        .and_then(|package| package.get("build"));
    Some(match declared {
        Some(toml::Value::Boolean(false)) => BuildScript::Disabled,
        Some(toml::Value::String(path)) => BuildScript::At(dir.join(path)),
        _ => BuildScript::At(dir.join("build.rs")),
    })
}

/// Whether the crate in `dir` tells cargo to watch its plan, and what to do
/// when it does not.
fn build_script_gap(dir: &Path) -> Option<String> {
    match build_script(dir)? {
        BuildScript::Disabled => Some(format!(
            "{}/Cargo.toml says `build = false`: cargo will not rebuild when bento-plan.toml \
             first appears; remove that line and run `bento plan init`, or touch a source file \
             after adding the plan",
            dir.display()
        )),
        BuildScript::At(script) => match std::fs::read_to_string(&script) {
            Ok(text) if text.contains(RERUN_LINE) => None,
            Ok(_) => Some(format!(
                "{} does not tell cargo about the plan: add `println!(\"{RERUN_LINE}\");` to \
                 its main, or cargo will not rebuild when bento-plan.toml first appears",
                script.display()
            )),
            Err(_) => Some(format!(
                "{} has no build script watching bento-plan.toml: without one, cargo does not \
                 rebuild when the first plan appears (run `bento plan init` to add it)",
                dir.display()
            )),
        },
    }
}

/// `bento plan init`: a starter plan and the build script that makes cargo
/// notice it; exit 1 when an existing build script has to be edited by hand.
pub(crate) fn init(dir: &Path, out: &Output) -> Result<ExitCode, Failure> {
    if !dir.join("Cargo.toml").is_file() {
        return Err(Failure::Usage(format!(
            "{} has no Cargo.toml: run `bento plan init` in the crate that derives the events, \
             or pass --dir",
            dir.display()
        )));
    }
    let plan = dir.join(bento_core::plan::FILE_NAME);
    let wrote_plan = !plan.exists();
    if wrote_plan {
        std::fs::write(&plan, STARTER_PLAN).map_err(|error| {
            Failure::Failed(format!("cannot write {}: {error}", plan.display()))
        })?;
    }
    let script = match build_script(dir) {
        Some(BuildScript::At(script)) => script,
        _ => dir.join("build.rs"),
    };
    let mut wrote_script = false;
    let gap = match build_script_gap(dir) {
        Some(_) if !script.exists() && matches!(build_script(dir), Some(BuildScript::At(_))) => {
            std::fs::write(&script, BUILD_SCRIPT).map_err(|error| {
                Failure::Failed(format!("cannot write {}: {error}", script.display()))
            })?;
            wrote_script = true;
            None
        }
        gap => gap,
    };
    let said = |done: bool, what: &Path| {
        format!("{} {}", if done { "wrote" } else { "kept" }, what.display())
    };
    if let Some(gap) = &gap {
        eprintln!("warning: {gap}");
    }
    out.done(
        &format!(
            "{}; {}",
            said(wrote_plan, &plan),
            if gap.is_some() {
                "the build script needs the line above".to_owned()
            } else {
                said(wrote_script, &script)
            }
        ),
        json!({"plan": plan, "wrote_plan": wrote_plan, "build_script": script, "wrote_build_script": wrote_script, "build_script_watches_plan": gap.is_none()}),
    );
    Ok(if gap.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `bento plan lint`: the file alone (and a warning when the crate beside it
/// would not rebuild as the plan changes).
pub(crate) fn lint(path: &Path, out: &Output) -> Result<ExitCode, Failure> {
    let plan = match Plan::load(path) {
        Ok(plan) => plan,
        Err(error) => {
            // Problems in the file are lint's findings (exit 1), every one
            // of them, not a usage mistake.
            let problems: Vec<_> = error
                .problems()
                .iter()
                .map(|p| json!({"line": p.line, "message": p.message}))
                .collect();
            if out.json() {
                out.done("", json!({"file": path, "ok": false, "problems": problems}));
            } else {
                eprintln!("{error}");
            }
            return Ok(ExitCode::from(1));
        }
    };
    if let Some(dir) = path.parent()
        && dir.join("Cargo.toml").is_file()
        && let Some(gap) = build_script_gap(dir)
    {
        eprintln!("warning: {gap}");
    }
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
    // Loaded from its path, so that a problem names this file and line.
    let plan = if text.is_empty() {
        Plan::parse(&text).map_err(|error| Failure::Usage(error.first()))?
    } else {
        load(path)?
    };
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
