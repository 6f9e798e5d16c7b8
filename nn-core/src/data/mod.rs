//! Data helpers a Keras tutorial reaches for: scikit-learn's `train_test_split` and
//! `StandardScaler`, one-hot labels, a CSV loader for `../shared/data/`, and the tutorial's
//! synthetic data set.

mod csv_file;
mod scale;
mod split;
mod synthetic;

pub use csv_file::{load_csv, Dataset};
pub use scale::StandardScaler;
pub use split::train_test_split;
pub use synthetic::tutorial_data;

use crate::error::{Error, Result};

/// Class ids (`0.0`, `1.0`, …) as one-hot rows of `C` classes.
pub fn one_hot<const C: usize>(labels: &[f32]) -> Result<Vec<[f32; C]>> {
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
            let mut out = [0.0; C];
            out[label as usize] = 1.0;
            Ok(out)
        })
        .collect()
}
