//! Every diagnostic of the derives, checked against the installed compiler's
//! output. Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test
//! -p bento-derive --test ui` and review the diff.

use std::process::Command;

#[test]
fn diagnostics() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    // Runs the cases above now, before the ones with a plan.
    drop(cases);

    // With a tracking plan. The UI crates trybuild builds have no plan of
    // their own (no `bento-plan.toml` above target/tests/trybuild), so they
    // are checked against the file `BENTO_PLAN` names, which reaches the
    // derive through cargo and rustc from the environment of this test
    // binary, re-run for one ignored test with the variable set.
    for (plan, cases) in [
        ("tests/ui-plan/bento-plan.toml", "tests/ui-plan"),
        (
            "tests/ui-plan-malformed/bento-plan.toml",
            "tests/ui-plan-malformed",
        ),
    ] {
        let status = Command::new(std::env::current_exe().expect("the test binary"))
            .args(["with_plan", "--exact", "--ignored", "--nocapture"])
            .env(
                "BENTO_PLAN",
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(plan),
            )
            .env(CASES, cases)
            .status()
            .expect("the test binary runs again");
        assert!(status.success(), "the UI cases of {cases} (see above)");
    }
}

const CASES: &str = "BENTO_UI_CASES";

#[test]
#[ignore = "run by `diagnostics` with BENTO_PLAN set; not a test on its own"]
fn with_plan() {
    let folder = std::env::var(CASES).expect("started by `diagnostics`");
    let cases = trybuild::TestCases::new();
    let pass = format!("{folder}/pass.rs");
    if std::path::Path::new(&pass).exists() {
        cases.pass(pass);
    }
    for entry in std::fs::read_dir(&folder).expect("the cases' folder") {
        let path = entry.expect("a folder entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.ends_with(".rs") && name != "pass.rs" {
            cases.compile_fail(path);
        }
    }
}
