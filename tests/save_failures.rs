//! Saves that fail: a write that fails at any step (creating the temporary file, halfway
//! through its bytes, after them, syncing, renaming) returns `Error::Io`, leaves the previous
//! file loadable with the previous weights, and leaves no temporary file behind; with no
//! previous file, it leaves no file at all. For every format seqnet writes: `.safetensors`
//! (a network's, and a compiled model's with its optimizer state) and, with feature `keras`,
//! Keras' `.weights.h5`.
//!
//! The failures are injected through nn-core's hidden `fault-injection` feature, which this
//! package's dev-dependency turns on; each is armed on the calling thread for one save.

use nn_core::io::fault::{fail_next_save_at, SaveStage};
use seqnet::prelude::*;
use std::path::Path;

sequential! {
    /// Trainable and non-trainable weights (BatchNormalization's moving statistics).
    struct Small {
        Input(shape = (6,)),
        Dense(5, activation = relu),
        BatchNormalization,
        Dense(2, activation = softmax),
    }
}

/// Every file in `dir`, by name.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// For each stage: `old` saved, then a save of `new` that fails there: `Io`, the old weights
/// still load from the file, nothing else in the folder; then the same failure with no file
/// there yet leaves none.
fn check_format(file_name: &str, save: impl Fn(&Small, &Path) -> Result<()>) {
    let old = Small::new(1);
    let new = Small::new(2);
    assert_ne!(old.get_weights(), new.get_weights());
    for stage in SaveStage::ALL {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file_name);
        save(&old, &path).unwrap();
        let saved = std::fs::read(&path).unwrap();

        fail_next_save_at(stage);
        let err = save(&new, &path).unwrap_err();
        match &err {
            Error::Io {
                path: named,
                message,
            } => {
                assert_eq!(named, &path.display().to_string(), "{stage:?}");
                assert!(message.contains("injected"), "{stage:?}: {message}");
            }
            other => panic!("{file_name} at {stage:?}: expected Io, got {other:?}"),
        }
        assert_eq!(files(dir.path()), [file_name], "{file_name} at {stage:?}");
        assert_eq!(std::fs::read(&path).unwrap(), saved, "{stage:?}");
        let mut loaded = Small::new(9);
        loaded.load_weights(&path).unwrap();
        assert_eq!(loaded.get_weights(), old.get_weights(), "{stage:?}");

        // No previous file: nothing is left.
        let fresh = dir.path().join(format!("fresh-{file_name}"));
        fail_next_save_at(stage);
        assert!(matches!(save(&new, &fresh), Err(Error::Io { .. })));
        assert!(!fresh.exists(), "{file_name} at {stage:?}");
        assert_eq!(files(dir.path()), [file_name]);

        // The failure was for one save only: the next one replaces the file.
        save(&new, &path).unwrap();
        loaded.load_weights(&path).unwrap();
        assert_eq!(loaded.get_weights(), new.get_weights());
    }
}

#[test]
fn a_failed_safetensors_save_keeps_the_old_file() {
    check_format("small.safetensors", |model, path| model.save_weights(path));
}

#[test]
fn a_failed_checkpoint_with_optimizer_state_keeps_the_old_file() {
    let x: Vec<[f32; 6]> = (0..16)
        .map(|i| std::array::from_fn(|j| ((i * 6 + j) % 7) as f32 / 7.0))
        .collect();
    let y: Vec<f32> = (0..16).map(|i| (i % 2) as f32).collect();
    let compiled = |seed: u64| {
        let mut m =
            Small::new(seed).compile(Adam::new(0.01), Loss::sparse_categorical_crossentropy(), []);
        m.train_on_batch(&x, &y).unwrap();
        m
    };
    let (old, new) = (compiled(1), compiled(2));
    for stage in SaveStage::ALL {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.safetensors");
        old.save_weights(&path).unwrap();
        let saved = std::fs::read(&path).unwrap();
        fail_next_save_at(stage);
        assert!(
            matches!(new.save_weights(&path), Err(Error::Io { .. })),
            "{stage:?}"
        );
        assert_eq!(files(dir.path()), ["run.safetensors"], "{stage:?}");
        assert_eq!(std::fs::read(&path).unwrap(), saved, "{stage:?}");
        // The old run resumes from it: weights and optimizer state.
        let mut resumed =
            Small::new(9).compile(Adam::new(0.01), Loss::sparse_categorical_crossentropy(), []);
        resumed.load_weights(&path).unwrap();
        assert_eq!(resumed.get_weights(), old.get_weights());
        assert_eq!(resumed.optimizer().iterations(), 1);
    }
}

#[cfg(feature = "keras")]
#[test]
fn a_failed_keras_weights_save_keeps_the_old_file() {
    check_format("small.weights.h5", |model, path| model.save_weights(path));
}
