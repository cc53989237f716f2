//! Every diagnostic of the derives, checked against the installed compiler's
//! output. Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test
//! -p bento-derive --test ui` and review the diff.

#[test]
fn diagnostics() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
