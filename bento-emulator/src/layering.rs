//! The emulator's layering, kept by a test: the server (`server.rs`) sits on
//! top and imports the routes (`api/`, `gate.rs`, `inspect.rs`, `ui/`); they
//! take the shared state and request helpers from below (`shared.rs`,
//! `query.rs`), never from the server.

#[test]
fn no_module_imports_the_server() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![root.clone()];
    let mut offences = Vec::new();
    let mut files = 0;
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(
                std::fs::read_dir(&path)
                    .expect("a folder")
                    .flatten()
                    .map(|e| e.path()),
            );
            continue;
        }
        let name = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        if !name.ends_with(".rs")
            || name == "server.rs"
            || name == "lib.rs"
            || name == "layering.rs"
        {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).expect("readable source");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if code.contains("crate::server") {
                offences.push(format!("{name}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert!(files > 10, "the emulator's modules were found");
    assert!(
        offences.is_empty(),
        "modules below the server import it; take `Shared` from crate::shared and helpers from crate::query:\n{}",
        offences.join("\n")
    );
}
