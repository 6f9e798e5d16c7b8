//! Shape and spelling mistakes are compile errors with Keras-worded messages pointing at the
//! offending token. The expected messages are checked in beside each case (`*.stderr`); after a
//! deliberate change to a message, regenerate them with `TRYBUILD=overwrite cargo test --test
//! compile_fail` and review the diff.

#[test]
fn mistakes_are_compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile_fail/*.rs");
}
