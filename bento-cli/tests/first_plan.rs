//! The first `bento-plan.toml` takes effect on the next build: a real `cargo
//! build` of a scratch crate before and after `bento plan init`, and, for
//! contrast, a plan written by hand into a crate without the build script,
//! which cargo does not notice (a proc macro cannot make cargo watch a file
//! that did not exist at the last build) and which `bento plan lint` warns
//! about.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const LIB: &str = r#"
use bento_core::BentoEvent;

#[derive(BentoEvent)]
#[bento(event = "account.signup")]
pub struct Signup {
    pub email: String,
}
"#;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// A scratch crate deriving one event, with the workspace's lockfile; its
/// target directory is the one the derive's UI tests use, so the
/// dependencies are built once.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let core = workspace().join("bento-core");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nbento-core = {{ path = {core:?}, features = [\"derive\", \"chrono\", \"time\"] }}\n\n[workspace]\n"
        ),
    )
    .unwrap();
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::write(dir.join("src/lib.rs"), LIB).unwrap();
    dir
}

fn build(dir: &Path) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .current_dir(dir)
        .args(["build", "--quiet", "--message-format", "short"])
        .env(
            "CARGO_TARGET_DIR",
            workspace().join("target/tests/trybuild"),
        )
        .env_remove("BENTO_PLAN")
        .output()
        .unwrap()
}

fn bento(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bento"))
        .current_dir(dir)
        .args(args)
        .env("BENTO_CONFIG", "/nonexistent/bento/config.json")
        .env_remove("BENTO_PLAN")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_first_plan_takes_effect_on_the_next_build() {
    // `bento plan init`: the plan and the build script that makes cargo see it.
    let dir = scratch("first-plan");
    let before = build(&dir);
    assert!(before.status.success(), "{}", text(&before));
    let init = bento(&dir, &["plan", "init"]);
    assert!(init.status.success(), "{}", text(&init));
    assert!(dir.join("bento-plan.toml").is_file());
    assert!(
        std::fs::read_to_string(dir.join("build.rs"))
            .unwrap()
            .contains("cargo:rerun-if-changed=bento-plan.toml")
    );
    let after = build(&dir);
    assert!(
        !after.status.success(),
        "the new plan declares no event: the next build must refuse account.signup"
    );
    assert!(
        text(&after).contains("account.signup"),
        "the derive names the undeclared event: {}",
        text(&after)
    );
    // Running it again keeps both files.
    let again = bento(&dir, &["plan", "init"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("kept"), "{}", text(&again));

    // For contrast: a plan written by hand, with no build script, is not
    // noticed by cargo, and lint says why.
    let by_hand = scratch("first-plan-by-hand");
    let before = build(&by_hand);
    assert!(before.status.success(), "{}", text(&before));
    std::fs::write(by_hand.join("bento-plan.toml"), "[fields]\n").unwrap();
    let stale = build(&by_hand);
    assert!(
        stale.status.success(),
        "without a build script, cargo does not rebuild for a new plan"
    );
    let lint = bento(&by_hand, &["plan", "lint"]);
    assert!(lint.status.success(), "{}", text(&lint));
    assert!(
        text(&lint).contains("bento plan init"),
        "lint says how to make the plan count: {}",
        text(&lint)
    );
}
