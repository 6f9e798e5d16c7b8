//! Inference over any `Network`: the checked batch entry every prediction goes through, and the
//! checks and per-thread buffer of the generated `predict_one`. The batch's chunk loop (fixed
//! row chunks through reused `Tape`s, over rayon's threads for large batches) is `batch.rs`,
//! which `Network::predict_flat` shares.
//!
//! Every inference path (`predict`, `predict_flat`, `predict_one`, `predict_classes`) keeps one
//! rule: a NaN or infinity in the input is [`Error::NonFinite`] naming its row and column (the
//! error `evaluate` gives), and a finite input whose outputs are not finite is the same error
//! for the output, naming that row and column; no path answers a finite number for a NaN.
//! An overflow inside the network reaches that output check even where an activation would
//! saturate it (`sigmoid(+inf)` = 1, `relu(-inf)` = 0): the kernels apply activations as
//! act(z) + z·0, NaN for a non-finite z (see `kernels::activations`), and NaN flows on through
//! every later layer. No extra scan is needed. (A −∞ that a `linear` layer passes on can still
//! be dropped by a max pooling after it, as in Keras.)
//!
//! [`Error::NonFinite`]: crate::Error::NonFinite

pub use crate::batch::{INPUT, OUTPUT, PREDICT_CHUNK_ROWS};

use crate::batch::Widths;
use crate::error::{all_finite, check_finite, Result};
use crate::network::{Network, Tape};
use crate::pass::Phase;

/// Writes the network's outputs for the rows of `x` into `out`: the checked entry every batch
/// prediction goes through (`predict`, `predict_flat`, `predict_classes`).
///
/// Errors, each checked before anything is computed unless said otherwise:
/// - [`Error::RaggedRows`] (`what` = `"input"`): `x` is not a whole number of rows;
/// - [`Error::SizeMismatch`]: `out` does not hold one output row per input row;
/// - [`Error::NonFinite`] (`what` = `"input"`): a NaN or infinity in `x`, naming the first by row
///   and column, the error `evaluate` gives for the same rows;
/// - [`Error::NonFinite`] (`what` = `"output"`), after the forward pass: finite input whose
///   outputs are not finite (inputs so large that the pass overflowed, or non-finite weights),
///   naming the first such output by row and column.
///
/// On an error `out` holds nothing to use. The input is scanned once, before the forward pass
/// (far cheaper than the pass itself); the outputs once after it.
///
/// [`Error::RaggedRows`]: crate::Error::RaggedRows
/// [`Error::SizeMismatch`]: crate::Error::SizeMismatch
/// [`Error::NonFinite`]: crate::Error::NonFinite
pub fn predict_into<N: Network>(net: &N, x: &[f32], out: &mut [f32]) -> Result<()> {
    let widths = Widths {
        input: N::INPUT_WIDTH,
        output: N::OUTPUT_WIDTH,
        macs_per_row: N::MACS_PER_ROW,
        ids: N::INPUT_IDS,
    };
    crate::batch::predict_into(
        widths,
        x,
        out,
        |rows| Tape::for_network::<N>(rows, false),
        |x, rows, tape| net.forward(x, rows, tape, Phase::Inference),
    )
}

/// `predict_one`'s checks, around the generated allocation-free chain: a non-finite value in the
/// one row `x` is [`Error::NonFinite`] with `what` = `"input"` and row 0, before `forward` runs;
/// a non-finite value in the output `forward` returns is the same error with `what` =
/// `"output"`. Generic over the output so that the generated code stays a plain array.
///
/// The checks are one branch-free pass each, inlined into `predict_one` with the widths known;
/// only a failed check searches again (out of line) for the value to name.
///
/// [`Error::NonFinite`]: crate::Error::NonFinite
/// For a model of token ids (`ids` its Embedding's `input_dim`, 0 otherwise) the input check
/// is the ids' range instead ([`Error::TokenId`](crate::Error::TokenId)).
#[inline(always)]
pub fn checked_one<const OUT: usize>(
    x: &[f32],
    ids: usize,
    forward: impl FnOnce(&[f32]) -> [f32; OUT],
) -> Result<[f32; OUT]> {
    if ids > 0 {
        crate::error::check_input(INPUT, x, x.len(), ids)?;
    } else if !all_finite(x) {
        check_finite(INPUT, x, x.len())?;
    }
    let y = forward(x);
    if !all_finite(&y) {
        check_finite(OUTPUT, &y, OUT)?;
    }
    Ok(y)
}

thread_local! {
    /// `predict_one`'s buffer for models too large for the stack, grown once per thread.
    static ROW_WORKSPACE: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's one-row workspace, at least `len` values long (zeroed when first
/// made; afterwards it holds whatever the last call left). Used by `predict_one` of models whose
/// intermediate outputs would not fit on a thread's stack; allocates only on a thread's first
/// call (or a re-entrant one).
pub fn with_row_workspace<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut buffer = ROW_WORKSPACE.with(|w| std::mem::take(&mut *w.borrow_mut()));
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    let result = f(buffer.get_mut(..len).unwrap_or_default());
    ROW_WORKSPACE.with(|w| *w.borrow_mut() = buffer);
    result
}
