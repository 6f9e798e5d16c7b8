//! Batch inference over any `Network`: the rows are run in chunks through one reused `Tape`, so a
//! prediction on a million rows needs buffers for one chunk only.

use crate::network::{Network, Tape};

/// Rows per forward pass: large enough to amortise the per-layer call overhead, small enough that
/// a chunk's activations stay in L2 for the tutorial-sized networks.
pub const PREDICT_CHUNK_ROWS: usize = 256;

/// Writes the network's outputs for the rows of `x` into `out`.
///
/// Panics on a caller bug: `x` and `out` not holding the same whole number of rows (the typed
/// and checked entry points guarantee it).
pub fn predict_into<N: Network>(net: &N, x: &[f32], out: &mut [f32]) {
    let rows = x.len() / N::INPUT_WIDTH;
    assert_eq!(x.len(), rows * N::INPUT_WIDTH, "input is not whole rows");
    assert_eq!(
        out.len(),
        rows * N::OUTPUT_WIDTH,
        "output is not one row per input row"
    );
    if rows == 0 {
        return;
    }
    let mut tape = Tape::for_network::<N>(rows.min(PREDICT_CHUNK_ROWS), false);
    for (xc, oc) in x
        .chunks(PREDICT_CHUNK_ROWS * N::INPUT_WIDTH)
        .zip(out.chunks_mut(PREDICT_CHUNK_ROWS * N::OUTPUT_WIDTH))
    {
        let chunk_rows = xc.len() / N::INPUT_WIDTH;
        net.forward(xc, chunk_rows, &mut tape, false);
        oc.copy_from_slice(tape.output(chunk_rows));
    }
}
