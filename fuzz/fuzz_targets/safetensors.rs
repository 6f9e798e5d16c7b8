//! The weight loader on arbitrary bytes (format sniffed: safetensors; with feature `keras`,
//! HDF5 and zip as well): an error that leaves the model exactly as it was, or a model whose
//! every value is finite; never a panic.
//!
//! A random header rarely gets past safetensors' length prefix and JSON, so most inputs are
//! applied to a valid file of the model instead (made once at start): the first byte picks
//! raw bytes (0), byte flips (1: `(u16 offset, xor)` triples) or an overwrite (2: a u16 offset,
//! then the bytes written there, the file cut after them when the first byte is 2 + 3·k with k odd).
#![no_main]

use libfuzzer_sys::fuzz_target;
use seqnet::prelude::*;
use std::sync::OnceLock;

sequential! {
    /// Conv2D, BatchNormalization (trainable and state weights), Dense with softmax.
    struct Small {
        Input(shape = (4, 4, 1)),
        Conv2D(2, (3, 3), padding = "same", activation = relu),
        BatchNormalization,
        Flatten,
        Dense(3, activation = softmax),
    }
}

/// A valid safetensors file of `Small`.
fn valid_file() -> &'static [u8] {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("seqnet-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        let path = dir.join("small.safetensors");
        Small::new(7)
            .save_weights(&path)
            .expect("saving a fresh model");
        let bytes = std::fs::read(&path).expect("reading it back");
        let _ = std::fs::remove_dir_all(&dir);
        bytes
    })
}

fn input(data: &[u8]) -> Vec<u8> {
    let Some((&op, rest)) = data.split_first() else {
        return Vec::new();
    };
    let valid = valid_file();
    match op % 3 {
        0 => rest.to_vec(),
        1 => {
            let mut bytes = valid.to_vec();
            for flip in rest.chunks_exact(3) {
                let at = usize::from(u16::from_le_bytes([flip[0], flip[1]])) % bytes.len();
                bytes[at] ^= flip[2];
            }
            bytes
        }
        _ => {
            let mut bytes = valid.to_vec();
            if rest.len() < 2 {
                return bytes;
            }
            let at = usize::from(u16::from_le_bytes([rest[0], rest[1]])) % (bytes.len() + 1);
            let patch = &rest[2..];
            let end = at + patch.len();
            if end > bytes.len() {
                bytes.resize(end, 0);
            }
            bytes[at..end].copy_from_slice(patch);
            if (op / 3) % 2 == 1 {
                bytes.truncate(end);
            }
            bytes
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let bytes = input(data);
    let mut model = Small::new(1);
    let before = model.get_weights();
    match model.load_weights_bytes(&bytes) {
        Ok(()) => assert!(model.get_weights().iter().flatten().all(|v| v.is_finite())),
        Err(_) => assert_eq!(model.get_weights(), before),
    }
});
