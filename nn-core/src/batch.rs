//! A batch's forward pass in fixed row chunks, each through a reused [`Tape`]: the loop under
//! every batch prediction (`inference::predict_into`, and through it `predict`,
//! `predict_classes`; `Network::predict_flat`), with the non-finite checks they all keep.
//!
//! Rows run in fixed chunks, so a prediction on a million rows needs buffers for one chunk per
//! thread only; large batches spread their chunks over rayon's threads. The chunks are the same
//! whatever the thread count, and rows never interact, so the outputs are too.
//!
//! It is written over what a network is asked for (its widths, a tape, a forward pass) rather
//! than over the `Network` trait, so that the trait's own `predict_flat` can run it from below
//! `inference`, which adds the generic entry the generated code calls.

use crate::error::{check_finite, check_input, row_count, Error, Result};
use crate::par::prelude::*;
use crate::tape::Tape;

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

/// A network's widths and work per row: what the batch loop needs to cut and share a batch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Widths {
    /// Values in one input row.
    pub input: usize,
    /// Values in one output row.
    pub output: usize,
    /// Multiply-adds per row (decides when a batch is worth threads).
    pub macs_per_row: usize,
    /// The vocabulary of a model of token ids (`Network::INPUT_IDS`), 0 for float input.
    pub ids: usize,
}

/// Writes a network's outputs for the rows of `x` into `out`, with the checks of
/// [`inference::predict_into`](crate::inference::predict_into) (which calls it with the
/// network's `tape` and inference `forward`; see there for the errors).
pub(crate) fn predict_into(
    widths: Widths,
    x: &[f32],
    out: &mut [f32],
    tape: impl Fn(usize) -> Tape + Sync + Send,
    forward: impl Fn(&[f32], usize, &mut Tape) -> Result<()> + Sync + Send,
) -> Result<()> {
    let rows = row_count(INPUT, x, widths.input)?;
    if out.len() != rows * widths.output {
        return Err(Error::SizeMismatch {
            what: "output values (one output row per input row)",
            expected: rows * widths.output,
            got: out.len(),
        });
    }
    check_input(INPUT, x, widths.input, widths.ids)?;
    forward_rows(widths, x, out, tape, forward)?;
    check_finite(OUTPUT, out, widths.output)
}

/// The forward pass of `predict_into`, on rows its checks have passed: `x` whole rows and `out`
/// one output row per input row. Each chunk's tape is made by `tape` for the chunk's rows, so
/// the pass's own checks (`Network::forward`) always pass.
fn forward_rows(
    widths: Widths,
    x: &[f32],
    out: &mut [f32],
    tape: impl Fn(usize) -> Tape + Sync + Send,
    forward: impl Fn(&[f32], usize, &mut Tape) -> Result<()> + Sync + Send,
) -> Result<()> {
    let rows = x.len() / widths.input;
    debug_assert_eq!(out.len(), rows * widths.output);
    if rows == 0 {
        return Ok(());
    }
    let chunk_rows = rows.min(PREDICT_CHUNK_ROWS);
    let run = |tape: &mut Tape, (xc, oc): (&[f32], &mut [f32])| {
        let r = xc.len() / widths.input;
        forward(xc, r, tape)?;
        oc.copy_from_slice(tape.output(xc, r));
        Ok(())
    };
    let x_chunks = x.chunks(PREDICT_CHUNK_ROWS * widths.input);
    let out_chunks = out.chunks_mut(PREDICT_CHUNK_ROWS * widths.output);
    let parallel = rows > PREDICT_CHUNK_ROWS
        && rows.saturating_mul(widths.macs_per_row) >= PARALLEL_MIN_WORK
        && crate::par::current_num_threads() > 1;
    if parallel {
        x.par_chunks(PREDICT_CHUNK_ROWS * widths.input)
            .zip(out.par_chunks_mut(PREDICT_CHUNK_ROWS * widths.output))
            .try_for_each_init(|| tape(chunk_rows), run)
    } else {
        let mut tape = tape(chunk_rows);
        x_chunks
            .zip(out_chunks)
            .try_for_each(|pair| run(&mut tape, pair))
    }
}
