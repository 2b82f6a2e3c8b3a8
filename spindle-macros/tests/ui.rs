//! Compile-fail checks of `#[spindle::main]` and `#[spindle::test]`: each misuse in `tests/ui/`
//! must fail with the error (and span) in its committed `.stderr`, and the program in
//! `tests/ui/pass/` must compile and run. After an intended change of a message, regenerate the
//! `.stderr` files with `TRYBUILD=overwrite cargo test -p spindle-macros --test ui` and review the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
