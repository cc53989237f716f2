//! The layering of bento-core's modules, kept by a test: the engine
//! (`dispatch/`), the request context and transport (`transport/`), the wire
//! shapes (`wire/`) and the seams (`store`, `budget`) sit below the client
//! handle (`client/`) and its builder (`config`), and never import them.
//! See docs/DESIGN-NOTES.md, "bento-core's layers".

/// Modules below the client, and what they may not name.
const LOWER: &[&str] = &["dispatch", "transport", "wire", "store.rs", "budget.rs"];
const HIGHER: &[&str] = &[
    "crate::client",
    "crate::config",
    "crate::Client",
    "crate::ClientBuilder",
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

#[test]
fn lower_modules_never_import_the_client_or_its_builder() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for module in LOWER {
        sources(&root.join(module), &mut files);
    }
    assert!(files.len() > 10, "the lower modules were found: {files:?}");
    let mut offences = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("readable source");
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for higher in HIGHER {
                // `crate::Client` is also the start of `crate::ClientBuilder`;
                // both are refused, so a prefix match is what is wanted.
                if code.contains(higher) {
                    offences.push(format!(
                        "{}:{}: {}",
                        file.strip_prefix(&root).unwrap_or(file).display(),
                        number + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "lower modules import the client or its builder; move what they need below \
         (transport::Api, dispatch::Owner) instead:\n{}",
        offences.join("\n")
    );
}
