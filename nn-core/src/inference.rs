//! Batch inference over any `Network`: rows run in fixed chunks, each through a reused `Tape`,
//! so a prediction on a million rows needs buffers for one chunk per thread only. Large batches
//! spread their chunks over rayon's threads. The chunks are the same whatever the thread count,
//! and rows never interact, so the outputs are too.
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

use crate::error::{all_finite, check_finite, row_count, Error, Result};
use crate::layers::Phase;
use crate::network::{Network, Tape};
use crate::par::prelude::*;

/// Rows per forward pass: large enough to amortise the per-layer call overhead, small enough that
/// a chunk's activations stay in L2 for the tutorial-sized networks.
pub const PREDICT_CHUNK_ROWS: usize = 256;

/// Below this many multiply-adds a prediction stays on the calling thread: spawning costs more
/// than it saves.
const PARALLEL_MIN_WORK: usize = 1 << 22;

/// What the input and output checks call the values they name in an [`Error::NonFinite`].
pub const INPUT: &str = "input";
/// See [`INPUT`]: a non-finite output from finite input (the forward pass overflowed, or the
/// weights themselves are not finite).
pub const OUTPUT: &str = "output";

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
pub fn predict_into<N: Network>(net: &N, x: &[f32], out: &mut [f32]) -> Result<()> {
    let rows = row_count(INPUT, x, N::INPUT_WIDTH)?;
    if out.len() != rows * N::OUTPUT_WIDTH {
        return Err(Error::SizeMismatch {
            what: "output values (one output row per input row)",
            expected: rows * N::OUTPUT_WIDTH,
            got: out.len(),
        });
    }
    check_finite(INPUT, x, N::INPUT_WIDTH)?;
    forward_rows(net, x, out)?;
    check_finite(OUTPUT, out, N::OUTPUT_WIDTH)
}

/// The forward pass of `predict_into`, on rows its checks have passed: `x` whole rows and `out`
/// one output row per input row. Each chunk's tape is made here for `N` and the chunk's rows,
/// so the pass's own checks ([`Network::forward`]) always pass.
fn forward_rows<N: Network>(net: &N, x: &[f32], out: &mut [f32]) -> Result<()> {
    let rows = x.len() / N::INPUT_WIDTH;
    debug_assert_eq!(out.len(), rows * N::OUTPUT_WIDTH);
    if rows == 0 {
        return Ok(());
    }
    let chunk_rows = rows.min(PREDICT_CHUNK_ROWS);
    let run = |tape: &mut Tape, (xc, oc): (&[f32], &mut [f32])| {
        let r = xc.len() / N::INPUT_WIDTH;
        net.forward(xc, r, tape, Phase::Inference)?;
        oc.copy_from_slice(tape.output(xc, r));
        Ok(())
    };
    let x_chunks = x.chunks(PREDICT_CHUNK_ROWS * N::INPUT_WIDTH);
    let out_chunks = out.chunks_mut(PREDICT_CHUNK_ROWS * N::OUTPUT_WIDTH);
    let parallel = rows > PREDICT_CHUNK_ROWS
        && rows.saturating_mul(N::MACS_PER_ROW) >= PARALLEL_MIN_WORK
        && crate::par::current_num_threads() > 1;
    if parallel {
        x.par_chunks(PREDICT_CHUNK_ROWS * N::INPUT_WIDTH)
            .zip(out.par_chunks_mut(PREDICT_CHUNK_ROWS * N::OUTPUT_WIDTH))
            .try_for_each_init(|| Tape::for_network::<N>(chunk_rows, false), run)
    } else {
        let mut tape = Tape::for_network::<N>(chunk_rows, false);
        x_chunks
            .zip(out_chunks)
            .try_for_each(|pair| run(&mut tape, pair))
    }
}

/// `predict_one`'s checks, around the generated allocation-free chain: a non-finite value in the
/// one row `x` is [`Error::NonFinite`] with `what` = `"input"` and row 0, before `forward` runs;
/// a non-finite value in the output `forward` returns is the same error with `what` =
/// `"output"`. Generic over the output so that the generated code stays a plain array.
///
/// The checks are one branch-free pass each, inlined into `predict_one` with the widths known;
/// only a failed check searches again (out of line) for the value to name.
#[inline(always)]
pub fn checked_one<const OUT: usize>(
    x: &[f32],
    forward: impl FnOnce(&[f32]) -> [f32; OUT],
) -> Result<[f32; OUT]> {
    if !all_finite(x) {
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
