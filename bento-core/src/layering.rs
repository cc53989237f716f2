//! The layering of bento-core's modules, kept by a test: the wire shapes
//! (`wire/`), the models (`model/`), the request context and transport
//! (`transport/`), the seams (`budget`, `store`) and the engine (`dispatch/`)
//! each import only what is below them, never the client handle (`client/`),
//! its builder (`config`) or the endpoints (`resources/`).
//! See docs/DESIGN-NOTES.md, "bento-core's layers".

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
/// beyond [`TOP`]: `wire` < `model` < `transport`, `budget` < `store` <
/// `dispatch` < `delivery` and the top.
const RULES: &[(&str, &[&str])] = &[
    (
        "wire",
        &[
            "crate::model",
            "crate::transport",
            "crate::budget",
            "crate::store",
            "crate::dispatch",
            "crate::delivery",
        ],
    ),
    (
        "model",
        &[
            "crate::transport",
            "crate::budget",
            "crate::store",
            "crate::dispatch",
            "crate::delivery",
        ],
    ),
    (
        "transport",
        &[
            "crate::model",
            "crate::store",
            "crate::dispatch",
            "crate::delivery",
        ],
    ),
    (
        "budget.rs",
        &["crate::store", "crate::dispatch", "crate::delivery"],
    ),
    ("store.rs", &["crate::dispatch", "crate::delivery"]),
    ("dispatch", &["crate::delivery"]),
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
fn lower_modules_never_import_higher_ones() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    let mut offences = Vec::new();
    for (module, above) in RULES {
        let mut files = Vec::new();
        sources(&root.join(module), &mut files);
        assert!(!files.is_empty(), "{module} was found");
        checked += files.len();
        for file in &files {
            let text = std::fs::read_to_string(file).expect("readable source");
            for (number, line) in text.lines().enumerate() {
                // Doc links may point up (`[Client](crate::Client)`); code may not.
                let code = line.split("//").next().unwrap_or_default();
                // A prefix match is what is wanted: `crate::Client` also
                // refuses `crate::ClientBuilder`, `crate::model` its children.
                for higher in TOP.iter().chain(above.iter()) {
                    if code.contains(higher) {
                        offences.push(format!(
                            "{}:{}: names {higher}: {}",
                            file.strip_prefix(&root).unwrap_or(file).display(),
                            number + 1,
                            line.trim()
                        ));
                    }
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
         (transport::Api, dispatch::Owner, model/) instead:\n{}",
        offences.join("\n")
    );
}
