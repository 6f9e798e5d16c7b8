//! scikit-learn's `train_test_split`.

use super::mt19937::Mt19937;
use crate::error::{Error, Result};

/// Rows of the training part and the test part, and their labels:
/// `(x_train, x_test, y_train, y_test)`.
pub type Split<X, Y> = (Vec<X>, Vec<X>, Vec<Y>, Vec<Y>);

/// scikit-learn's `train_test_split(x, y, test_size=test_size, random_state=random_state)`
/// (`shuffle=True`, no stratification): the same rows, in the same order, as scikit-learn
/// returns them, so a run can be compared row for row with the Keras tutorial it came from.
///
/// Sizes are scikit-learn's: ⌈test_size·n⌉ test rows, the rest for training (1000 rows at 0.2
/// give 800/200). The rows are those of NumPy's legacy `RandomState(random_state)
/// .permutation(n)` (MT19937, Fisher–Yates), the first ⌈test_size·n⌉ for testing and the rest
/// for training, each part in permutation order, as scikit-learn's `ShuffleSplit` takes them;
/// checked against indices recorded with scikit-learn 1.9.1 and NumPy 2.4.6.
///
/// ```
/// # use nn_core::data::train_test_split;
/// let x: Vec<[f32; 1]> = (0..10).map(|i| [i as f32]).collect();
/// let y: Vec<f32> = (0..10).map(|i| i as f32).collect();
/// let (x_train, x_test, _y_train, y_test) = train_test_split(&x, &y, 0.2, 42)?;
/// // sklearn: train_test_split(np.arange(10), test_size=0.2, random_state=42)
/// assert_eq!(y_test, [8.0, 1.0]);
/// assert_eq!(x_train[0], [5.0]);
/// assert_eq!(x_test.len(), 2);
/// # Ok::<(), nn_core::Error>(())
/// ```
///
/// Errors: [`Error::SizeMismatch`] when `x` and `y` differ in length,
/// [`Error::InvalidArgument`] for a `test_size` that is not strictly between 0 and 1 (NaN
/// included) or a `random_state` above 2³² − 1 (NumPy's seed range) or more rows than 2³² − 1,
/// [`Error::NotEnoughData`] when either part would be empty.
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
    let Ok(seed) = u32::try_from(random_state) else {
        return Err(Error::InvalidArgument {
            what: "random_state",
            expected: "between 0 and 2**32 - 1 (NumPy's seed range)",
            got: random_state.to_string(),
        });
    };
    if u32::try_from(n).is_err() {
        return Err(Error::InvalidArgument {
            what: "train_test_split's row count",
            expected: "at most 2**32 - 1",
            got: n.to_string(),
        });
    }
    let order = Mt19937::new(seed).permutation(n);
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
