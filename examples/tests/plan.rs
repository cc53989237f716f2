//! The demo ships a tracking plan (`examples/bento-plan.toml`): its derives
//! are checked against it at compile time, and `include_plan!()` embeds the
//! same file for the client and emulator to check at run time.
#![allow(clippy::unwrap_used)]

use bento_core::plan::Plan;

#[test]
fn include_plan_embeds_the_file_the_derives_were_checked_against() {
    let embedded = bento_core::include_plan!();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bento-plan.toml");
    assert_eq!(embedded, Plan::load(&path).unwrap());
    for event in ["account.signup", "$purchase", "plan.upgraded", "$view"] {
        assert!(embedded.event(event).is_some(), "{event}");
    }
}
