//! The layering of bento-core's modules, kept by a test: the wire shapes
//! (`wire/`), the models (`model/`), pacing (`rate_limit/`), the request
//! context and transport (`transport/`), the durable-store seam (`store`)
//! and the engine (`delivery/`) each import only what is below them, never
//! the client handle (`client/`), its builder (`config`) or the endpoints
//! (`resources/`). docs/ARCHITECTURE.md draws the same map.
//!
//! The test reads every path a file names: each `use` statement (grouped
//! imports and re-exports expanded, `super::` and `self::` resolved against
//! the file's module) and every `crate::` path in code. Comments are not
//! code (a doc link may point up), nor is a file's `#[cfg(test)] mod tests`,
//! which may drive the engine through the client.

/// What sits above everything the rules below cover: the handle, its
/// builder, the endpoints, the integrations, and the public paths of the
/// resource modules (which hold endpoints: a lower module names
/// `crate::model::events`, never `crate::events`).
const TOP: &[&str] = &[
    "crate::client",
    "crate::config",
    "crate::Client",
    "crate::ClientBuilder",
    "crate::resources",
    "crate::integration",
    "crate::events",
    "crate::subscribers",
    "crate::commands",
    "crate::__private",
    "crate::mailer",
    "crate::testing",
    "crate::diagnostics",
];

/// Each lower module, bottom to top, with the higher ones it may not name
/// beyond [`TOP`]: `wire` < `model` < `rate_limit` < `transport` < `store`
/// < `delivery` < the top.
const RULES: &[(&str, &[&str])] = &[
    (
        "wire",
        &[
            "crate::model",
            "crate::rate_limit",
            "crate::budget",
            "crate::transport",
            "crate::store",
            "crate::delivery",
        ],
    ),
    (
        "model",
        &[
            "crate::rate_limit",
            "crate::budget",
            "crate::transport",
            "crate::store",
            "crate::delivery",
        ],
    ),
    (
        "rate_limit",
        &["crate::transport", "crate::store", "crate::delivery"],
    ),
    (
        "erasure",
        &[
            "crate::rate_limit",
            "crate::transport",
            "crate::store",
            "crate::delivery",
        ],
    ),
    ("transport", &["crate::store", "crate::delivery"]),
    ("store.rs", &["crate::delivery"]),
    ("delivery", &[]),
];

fn sources(path: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .expect("a source folder")
            .flatten()
            .map(|entry| entry.path())
            .collect();
        entries.sort();
        for entry in entries {
            sources(&entry, out);
        }
    } else if path.extension().is_some_and(|ext| ext == "rs") {
        out.push(path.to_owned());
    }
}

/// The file's code without comments, string and char literals (a string
/// may say anything, and a lifetime is not a char).
fn code_of(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').map_or(bytes.len(), |n| i + n);
            i = end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(bytes.len(), |n| i + n + 2);
            i = end;
        } else if rest.starts_with("r#\"") || rest.starts_with("r\"") {
            let hashes = rest[1..].chars().take_while(|c| *c == '#').count();
            let close = format!("\"{}", "#".repeat(hashes));
            let start = i + 2 + hashes;
            let end = text[start..]
                .find(&close)
                .map_or(bytes.len(), |n| start + n + close.len());
            out.push_str("\"\"");
            i = end;
        } else if bytes[i] == b'"' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != b'"' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i = j + 1;
        } else if bytes[i] == b'\'' && rest.len() >= 3 && {
            // 'x' or '\n', not a lifetime
            let inner = &rest[1..];
            inner.starts_with('\\') || inner.chars().nth(1) == Some('\'')
        } {
            let end = rest[1..].find('\'').map_or(bytes.len(), |n| i + n + 2);
            out.push_str("' '");
            i = end;
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `a::{b, c::{d, e}}` as `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    let join = |p: &str, s: &str| {
        if p.is_empty() {
            s.to_owned()
        } else {
            format!("{p}::{s}")
        }
    };
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(tree).trim();
        if !path.is_empty() {
            out.push(join(prefix, path));
        }
        return;
    };
    let head = tree[..open].trim().trim_end_matches("::");
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let prefix = if head.is_empty() {
        prefix.to_owned()
    } else {
        join(prefix, head)
    };
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand(&inner[start..i], &prefix, out);
                start = i + 1;
            }
            _ => {}
        }
    }
    expand(&inner[start..], &prefix, out);
}

/// Every path the code names through `use`, and every `crate::` path, with
/// `self::` and `super::` resolved against `module` (`crate::delivery::relay`).
fn named_paths(code: &str, module: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let words: Vec<&str> = code.split(';').collect();
    for statement in &words {
        let statement = statement.trim();
        let Some(at) = statement.find("use ") else {
            continue;
        };
        let before = statement[..at].trim_end();
        let is_use = before.is_empty()
            || before.ends_with("pub")
            || before.ends_with(')')
            || before.ends_with('}')
            || before.ends_with(']');
        if !is_use {
            continue;
        }
        let tree = &statement[at + 4..];
        expand(tree, "", &mut paths);
    }
    // Inline paths in code: `crate::x::y(..)`.
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(tail.len());
        paths.push(tail[..end].trim_end_matches(':').to_owned());
        rest = &tail[end..];
    }
    paths
        .into_iter()
        .map(|path| resolve(&path, module))
        .collect()
}

fn resolve(path: &str, module: &str) -> String {
    let mut base: Vec<&str> = module.split("::").collect();
    let mut segments = path.split("::").peekable();
    match segments.peek() {
        Some(&"self") => {
            segments.next();
        }
        Some(&"super") => {
            while segments.peek() == Some(&"super") {
                segments.next();
                base.pop();
            }
        }
        _ => return path.to_owned(),
    }
    base.extend(segments);
    base.join("::")
}

/// `delivery/relay.rs` as `crate::delivery::relay`; `mod.rs` is its folder.
fn module_of(file: &std::path::Path, root: &std::path::Path) -> String {
    let relative = file.strip_prefix(root).unwrap_or(file);
    let mut parts: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts
        .last()
        .is_some_and(|last| last == "mod" || last == "lib")
    {
        parts.pop();
    }
    let mut module = String::from("crate");
    for part in parts {
        module.push_str("::");
        module.push_str(&part);
    }
    module
}

/// Whether `path` is `prefix` or inside it (segment-wise: `crate::model`
/// covers `crate::model::events`, not `crate::models`).
fn within(path: &str, prefix: &str) -> bool {
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with("::"))
        || (prefix.ends_with("Client") && path.starts_with(prefix))
}

#[test]
fn lower_modules_never_import_higher_ones() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    let mut offences = Vec::new();
    for (index, (module, above)) in RULES.iter().enumerate() {
        // Everything a higher rule's module covers is above this one too.
        let higher: Vec<String> = RULES[index + 1..]
            .iter()
            .map(|(m, _)| format!("crate::{}", m.trim_end_matches(".rs")))
            .chain(above.iter().map(|a| (*a).to_owned()))
            .chain(TOP.iter().map(|t| (*t).to_owned()))
            .collect();
        let mut files = Vec::new();
        sources(&root.join(module), &mut files);
        assert!(!files.is_empty(), "{module} was found");
        checked += files.len();
        for file in &files {
            let text = std::fs::read_to_string(file).expect("readable source");
            let text = text
                .split("#[cfg(test)]\nmod tests")
                .next()
                .unwrap_or_default();
            let here = module_of(file, &root);
            for path in named_paths(&code_of(text), &here) {
                if let Some(up) = higher.iter().find(|h| within(&path, h)) {
                    offences.push(format!(
                        "{}: names {path} ({up} is above {module})",
                        file.strip_prefix(&root).unwrap_or(file).display(),
                    ));
                }
            }
        }
    }
    assert!(
        checked > 25,
        "the lower modules were found ({checked} files)"
    );
    assert!(
        offences.is_empty(),
        "lower modules import higher ones; move what they need below \
         (transport::Api, delivery::Owner, model/) instead:\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_reader_sees_grouped_imports_re_exports_and_relative_paths() {
    let code = code_of(
        "// use crate::client::Hidden;\n\
         use crate::{model::kind::ItemKind, delivery::{Encoded, relay::Relay as R}};\n\
         pub(crate) use super::super::config::DeliveryConfig;\n\
         pub use self::inner::Thing;\n\
         fn f() { let _ = crate::client::Client::builder(); let s = \"crate::testing\"; }\n",
    );
    let paths = named_paths(&code, "crate::delivery::worker");
    for expected in [
        "crate::model::kind::ItemKind",
        "crate::delivery::Encoded",
        "crate::delivery::relay::Relay",
        "crate::config::DeliveryConfig",
        "crate::delivery::worker::inner::Thing",
        "crate::client::Client::builder",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} in {paths:?}"
        );
    }
    assert!(
        !paths
            .iter()
            .any(|p| p.contains("Hidden") || p.contains("testing")),
        "comments and strings are not code: {paths:?}"
    );
    assert!(within("crate::model::events", "crate::model"));
    assert!(!within("crate::models", "crate::model"));
}
