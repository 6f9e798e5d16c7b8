//! Which instruction-set paths this CPU has and which one the kernels use now
//! (`SEQNET_ISA` forces a lower one; a path the CPU lacks falls back to its best). `.ci/run`
//! prints it before each test pass, so a green run says which paths it exercised. The int8
//! kernels' paths follow on a second line.
//!
//! `cargo run --example isa_paths --features bench-internals`

use seqnet::kernels::int8::Int8Path;
use seqnet::kernels::isa::Isa;

fn main() {
    let available: Vec<&str> = Isa::available().into_iter().map(Isa::name).collect();
    let asked = std::env::var("SEQNET_ISA").unwrap_or_else(|_| "(unset)".into());
    let current = Isa::current();
    let fell_back = match Isa::parse(&asked) {
        Some(isa) if isa != current => "  (not on this CPU: fell back)",
        _ => "",
    };
    println!(
        "kernel path in use: {}; this CPU has: {}; SEQNET_ISA={asked}{fell_back}",
        current.name(),
        available.join(", "),
    );
    // The int8 kernels read the same variable (see `kernels::isa`).
    let int8: Vec<&str> = Int8Path::available()
        .into_iter()
        .map(Int8Path::name)
        .collect();
    println!(
        "int8 path in use: {}; this CPU has: {}",
        Int8Path::current().name(),
        int8.join(", "),
    );
}
