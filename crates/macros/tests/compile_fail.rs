//! The macro's error messages, pinned: each `tests/ui/*.rs` must fail to compile with exactly
//! the message in its `.stderr` (regenerate with `TRYBUILD=overwrite` after a deliberate change).

#[test]
fn macro_errors() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
