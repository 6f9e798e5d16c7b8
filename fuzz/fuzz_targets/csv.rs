//! The CSV loader on arbitrary bytes: an error or a well-formed data set, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seqnet::data::load_csv_bytes;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(d) = load_csv_bytes(bytes) {
        assert!(d.width >= 1);
        assert_eq!(d.feature_names.len(), d.width);
        assert_eq!(d.features.len(), d.labels.len() * d.width);
        assert!(d.features.iter().chain(&d.labels).all(|v| v.is_finite()));
        // Typed rows of the file's width come out (a width the fuzzer is likely to reach).
        if d.width == 2 {
            assert_eq!(d.rows::<[f32; 2]>().map(|r| r.len()), Ok(d.len()));
        }
    }
});
