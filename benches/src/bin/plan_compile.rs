//! What a tracking plan costs at compile time: `cargo check` of a generated
//! crate of 200 derived events, with and without a 200-event
//! `bento-plan.toml` (every event declared, so both builds succeed),
//! interleaved run by run so the machine's noise falls on both alike.
//!
//! The crate is re-checked from scratch each run (its source is rewritten);
//! its dependencies are built once, before the first measured run. The plan
//! is parsed once per compiler process and shared by the 200 derives.
//!
//! `cargo run --release -p bento-benches --bin plan_compile [events] [runs]`

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_owned()
}

fn source(events: usize, run: usize) -> String {
    let mut out = format!("// run {run}\nuse bento_core::BentoEvent;\n");
    for n in 0..events {
        write!(
            out,
            "\n#[derive(BentoEvent)]\n#[bento(event = \"event.number_{n}\")]\npub struct Event{n} {{\n    pub email: String,\n    #[bento(field)]\n    pub first_name: String,\n    #[bento(field)]\n    pub seats: u32,\n    pub source: String,\n    pub count: u64,\n    pub referrer: Option<String>,\n}}\n"
        )
        .expect("a String takes writes");
    }
    out
}

fn plan(events: usize) -> String {
    let mut out =
        String::from("[fields]\nfirst_name = \"string\"\nseats = \"number\"\nplan = \"string\"\n");
    for n in 0..events {
        write!(
            out,
            "\n[events.\"event.number_{n}\"]\nfields = [\"first_name\", \"seats\"]\ndetails = {{ source = \"string\", count = \"number\", referrer = \"string?\" }}\n"
        )
        .expect("a String takes writes");
    }
    out
}

fn check(dir: &Path, target: &Path, plan: Option<&Path>) -> Duration {
    let (elapsed, ok) = run_check(dir, target, plan);
    assert!(ok, "cargo check of the generated crate");
    elapsed
}

fn run_check(dir: &Path, target: &Path, plan: Option<&Path>) -> (Duration, bool) {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command
        .current_dir(dir)
        .args(["check", "--quiet"])
        .env("CARGO_TARGET_DIR", target)
        .env_remove("BENTO_PLAN");
    if let Some(plan) = plan {
        command.env("BENTO_PLAN", plan);
    }
    let start = Instant::now();
    let output = command.output().expect("cargo runs");
    (start.elapsed(), output.status.success())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let events: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(200);
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(7);
    let root = workspace().join("target/plan-compile-bench");
    let dir = root.join("crate");
    std::fs::create_dir_all(dir.join("src")).expect("a scratch folder");
    let core = workspace().join("bento-core");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"plan-compile\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nbento-core = {{ path = {core:?} }}\n\n[workspace]\n"
        ),
    )
    .expect("a manifest");
    std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).expect("the lockfile");
    // Outside the crate, so the run without `BENTO_PLAN` finds no plan.
    let plan_file = root.join("bento-plan.toml");
    std::fs::write(&plan_file, plan(events)).expect("the plan");
    let target = root.join("target");

    std::fs::write(dir.join("src/lib.rs"), source(events, 0)).expect("the source");
    check(&dir, &target, Some(&plan_file));
    // The plan is really applied: one that lacks an event fails the check.
    let broken = root.join("broken-plan.toml");
    std::fs::write(
        &broken,
        plan(events).replacen("event.number_0\"", "event.number_x\"", 1),
    )
    .expect("the broken plan");
    std::fs::write(dir.join("src/lib.rs"), source(events, 1)).expect("the source");
    assert!(
        !run_check(&dir, &target, Some(&broken)).1,
        "a plan without event.number_0 fails the check"
    );
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        for planned in [false, true] {
            std::fs::write(
                dir.join("src/lib.rs"),
                source(events, run * 2 + usize::from(planned)),
            )
            .expect("the source");
            let time = check(&dir, &target, planned.then_some(plan_file.as_path()));
            if planned {
                with.push(time);
            } else {
                without.push(time);
            }
        }
    }
    let (without, with) = (median(without), median(with));
    println!("cargo check of {events} derived events, median of {runs} runs each, interleaved:");
    println!("  without a plan:        {:>8.3} s", without.as_secs_f64());
    println!(
        "  with a {events}-event plan: {:>8.3} s",
        with.as_secs_f64()
    );
    println!(
        "  ratio:                 {:>8.3}x",
        with.as_secs_f64() / without.as_secs_f64()
    );
}
