//! Editing `bento-plan.toml` rebuilds the crate that derives against it: a
//! real `cargo check` of a scratch crate, before and after each edit, with
//! no `cargo clean` between.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const LIB: &str = r#"
use bento_core::BentoEvent;

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
pub struct Signup {
    pub email: String,
    pub source: String,
}
"#;

const PLANNED: &str = "[events.\"account.signup\"]\ndetails = { source = \"string\" }\n";
const RENAMED: &str = "[events.\"account.sign_up\"]\ndetails = { source = \"string\" }\n";
const RETYPED: &str = "[events.\"account.signup\"]\ndetails = { source = \"number\" }\n";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The scratch crate, in its own workspace, with the workspace's lockfile
/// so it builds the versions already built; its target directory is the one
/// trybuild uses for the UI tests, so the dependencies are built once.
fn scratch() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plan-rebuild");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let core = workspace().join("bento-core");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"plan-rebuild\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nbento-core = {{ path = {core:?}, features = [\"chrono\", \"time\"] }}\n\n[workspace]\n"
        ),
    )
    .unwrap();
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), LIB).unwrap();
    dir
}

fn check(dir: &Path) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .current_dir(dir)
        .args(["check", "--quiet", "--message-format", "short"])
        .env(
            "CARGO_TARGET_DIR",
            workspace().join("target/tests/trybuild"),
        )
        .env_remove("BENTO_PLAN")
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn editing_the_plan_rebuilds_the_crate_against_it() {
    let dir = scratch();
    let plan = dir.join("bento-plan.toml");

    std::fs::write(&plan, PLANNED).unwrap();
    let first = check(&dir);
    assert!(first.status.success(), "{}", stderr(&first));

    std::fs::write(&plan, RENAMED).unwrap();
    let renamed = check(&dir);
    assert!(!renamed.status.success(), "the edit was picked up");
    assert!(
        stderr(&renamed).contains(
            "event type `account.signup` is not in bento-plan.toml (did you mean `account.sign_up`?)"
        ),
        "{}",
        stderr(&renamed)
    );

    std::fs::write(&plan, RETYPED).unwrap();
    let retyped = check(&dir);
    assert!(
        stderr(&retyped).contains(
            "detail `source` is number in bento-plan.toml, but `String` is sent as a string"
        ),
        "{}",
        stderr(&retyped)
    );

    std::fs::write(&plan, PLANNED).unwrap();
    let restored = check(&dir);
    assert!(restored.status.success(), "{}", stderr(&restored));

    // Without a plan nothing is checked: an event the last plan refused
    // compiles once the file is gone.
    std::fs::write(&plan, RENAMED).unwrap();
    assert!(!check(&dir).status.success());
    std::fs::remove_file(&plan).unwrap();
    let without = check(&dir);
    assert!(without.status.success(), "{}", stderr(&without));
}
