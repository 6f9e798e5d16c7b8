//! scikit-learn's `train_test_split`.

use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// Rows of the training part and the test part, and their labels:
/// `(x_train, x_test, y_train, y_test)`.
pub type Split<X, Y> = (Vec<X>, Vec<X>, Vec<Y>, Vec<Y>);

/// Shuffles rows and labels together (seeded) and splits off `test_size` of them for testing,
/// with scikit-learn's sizes: ⌈test_size·n⌉ test rows, the rest for training (1000 rows at 0.2
/// give 800/200). The shuffle is seqnet's own (ChaCha8), not NumPy's: the same `random_state`
/// gives the same split on every machine, but not scikit-learn's split.
///
/// Errors: [`Error::SizeMismatch`] when `x` and `y` differ in length,
/// [`Error::InvalidArgument`] for a `test_size` that is not strictly between 0 and 1 (NaN
/// included), [`Error::NotEnoughData`] when either part would be empty.
pub fn train_test_split<X: Clone, Y: Clone>(
    x: &[X],
    y: &[Y],
    test_size: f64,
    random_state: u64,
) -> Result<Split<X, Y>> {
    if x.len() != y.len() {
        return Err(Error::SizeMismatch {
            what: "train_test_split: labels for the rows",
            expected: x.len(),
            got: y.len(),
        });
    }
    if !(test_size > 0.0 && test_size < 1.0) {
        return Err(Error::InvalidArgument {
            what: "test_size",
            expected: "a fraction strictly between 0 and 1",
            got: test_size.to_string(),
        });
    }
    let n = x.len();
    let n_test = (test_size * n as f64).ceil() as usize;
    if n_test == 0 || n_test >= n {
        return Err(Error::NotEnoughData {
            what: format!("{n} rows cannot be split with test_size = {test_size}"),
        });
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(random_state));
    let (test, train) = order.split_at(n_test);
    // `order` is a permutation of 0..n, and x and y have n rows (checked above).
    let pick_x = |idx: &[usize]| {
        idx.iter()
            .filter_map(|&i| x.get(i).cloned())
            .collect::<Vec<_>>()
    };
    let pick_y = |idx: &[usize]| {
        idx.iter()
            .filter_map(|&i| y.get(i).cloned())
            .collect::<Vec<_>>()
    };
    Ok((pick_x(train), pick_x(test), pick_y(train), pick_y(test)))
}
