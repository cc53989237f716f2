//! Shaping the schema's statements into a readable SQL script.

/// `statement` with its continuation lines indented by four spaces, however
/// deep they sit in the Rust source.
pub(crate) fn tidy(statement: &str) -> String {
    let mut lines = statement.lines();
    let mut out = lines.next().unwrap_or_default().trim().to_owned();
    for line in lines {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        out.push('\n');
        if !line.starts_with(')') {
            out.push_str("    ");
        }
        out.push_str(line);
    }
    out
}
