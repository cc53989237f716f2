//! Bento's official Node SDK (npm `@bentonow/bento-node-sdk`, 2.0.0) against
//! the emulator: every one of its methods, called with the arguments its
//! README and types document, succeeds. The SDK is installed once into the
//! test's target folder (npm, from the registry); `scripts/test.sh`
//! installs Node.js and npm when they are missing.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use bento_emulator::Emulator;
use bento_tests::contract::ContractProxy;

const SDK: &str = "@bentonow/bento-node-sdk@2.0.0";

/// A folder with the SDK installed, and the script beside it.
fn installed() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("node-sdk-2.0.0");
    let package = dir.join("node_modules/@bentonow/bento-node-sdk/package.json");
    if !package.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let npm = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&dir)
            .arg(SDK)
            .output()
            .expect("npm runs (scripts/test.sh installs it)");
        assert!(
            npm.status.success(),
            "npm install {SDK} failed: {}",
            String::from_utf8_lossy(&npm.stderr)
        );
    }
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node_sdk/every_method.mjs"),
        dir.join("every_method.mjs"),
    )
    .unwrap();
    dir
}

#[test]
fn every_method_of_the_official_node_sdk_works_against_the_emulator() {
    let dir = installed();
    let emulator = Emulator::builder()
        .no_rate_limits()
        .start_blocking()
        .unwrap();
    // Every exchange goes through the contract check: the emulator's
    // answers to the official SDK must follow Bento's published spec.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let contract = runtime.block_on(ContractProxy::observe(&emulator.base_url()));
    let output = Command::new("node")
        .arg(dir.join("every_method.mjs"))
        .current_dir(&dir)
        .env("BENTO_PUBLISHABLE_KEY", emulator.publishable_key())
        .env("BENTO_SECRET_KEY", emulator.secret_key())
        .env("BENTO_SITE_UUID", emulator.site_uuid())
        .env("BENTO_BASE_URL", contract.base_url())
        .output()
        .expect("node runs (scripts/test.sh installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("no report from the script: {stdout}"));
    let failed = report["failed"].as_array().unwrap();
    assert!(failed.is_empty(), "methods that failed: {failed:#?}");
    let passed = report["passed"].as_array().unwrap();
    assert_eq!(passed.len(), 44, "the SDK's 44 methods ran: {passed:?}");
    // What the SDK sent is what Bento would have stored.
    assert!(emulator.subscriber("eve@example.com").is_some());
    assert!(
        emulator
            .events()
            .iter()
            .any(|e| e.event_type == "$purchase" && e.email == "ada@example.com")
    );
    let answers: Vec<String> = contract
        .violations()
        .into_iter()
        .filter(|v| v.starts_with("contract: the answer"))
        .collect();
    assert!(answers.is_empty(), "answers off the spec: {answers:#?}");
    for request in contract.violations() {
        // The official SDK's requests are its own: reported, not judged.
        eprintln!("the Node SDK sent off the spec: {request}");
    }
    let reached = contract.operations_seen();
    eprintln!(
        "{} operations of the spec reached: {reached:#?}",
        reached.len()
    );
}
