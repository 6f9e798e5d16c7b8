//! Data helpers a Keras tutorial reaches for: scikit-learn's `train_test_split` and
//! `StandardScaler`, one-hot labels, Keras' `pad_sequences` for token ids, a CSV loader for
//! `../shared/data/`, and the tutorial's synthetic data set.

mod csv_file;
mod mt19937;
mod pad;
mod scale;
mod split;
mod synthetic;

pub use csv_file::{load_csv, load_csv_bytes, Dataset};
pub use pad::{pad_sequences, Padding};
pub use scale::StandardScaler;
pub use split::train_test_split;
pub use synthetic::tutorial_data;

use crate::error::{Error, Result};

/// Class ids (`0.0`, `1.0`, …) as one-hot rows of `C` classes.
///
/// Errors: [`Error::LabelOutOfRange`] for a label that is not a whole number in `0..C` (NaN and
/// ±∞ included), [`Error::InvalidArgument`] for `C = 0`.
pub fn one_hot<const C: usize>(labels: &[f32]) -> Result<Vec<[f32; C]>> {
    if C == 0 {
        // No class id exists (and `LabelOutOfRange`'s message needs at least one class).
        return Err(Error::InvalidArgument {
            what: "one_hot's number of classes",
            expected: "at least 1",
            got: "0".into(),
        });
    }
    labels
        .iter()
        .enumerate()
        .map(|(row, &label)| {
            if label < 0.0 || label.fract() != 0.0 || label as usize >= C {
                return Err(Error::LabelOutOfRange {
                    row,
                    label,
                    classes: C,
                });
            }
            // `label` is a whole number in 0..C (checked above).
            Ok(std::array::from_fn(|c| f32::from(c == label as usize)))
        })
        .collect()
}
