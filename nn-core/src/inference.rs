//! Batch inference over any `Network`: rows run in fixed chunks, each through a reused `Tape`,
//! so a prediction on a million rows needs buffers for one chunk per thread only. Large batches
//! spread their chunks over rayon's threads. The chunks are the same whatever the thread count,
//! and rows never interact, so the outputs are too.

use crate::network::{Network, Tape};
use rayon::prelude::*;

/// Rows per forward pass: large enough to amortise the per-layer call overhead, small enough that
/// a chunk's activations stay in L2 for the tutorial-sized networks.
pub const PREDICT_CHUNK_ROWS: usize = 256;

/// Below this many parameter-rows (a proxy for multiply-adds) a prediction stays on the calling
/// thread: spawning costs more than it saves.
const PARALLEL_MIN_WORK: usize = 1 << 22;

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
    let chunk_rows = rows.min(PREDICT_CHUNK_ROWS);
    let run = |tape: &mut Tape, (xc, oc): (&[f32], &mut [f32])| {
        let r = xc.len() / N::INPUT_WIDTH;
        net.forward(xc, r, tape, false);
        oc.copy_from_slice(tape.output(r));
    };
    let x_chunks = x.chunks(PREDICT_CHUNK_ROWS * N::INPUT_WIDTH);
    let out_chunks = out.chunks_mut(PREDICT_CHUNK_ROWS * N::OUTPUT_WIDTH);
    let parallel = rows > PREDICT_CHUNK_ROWS
        && rows.saturating_mul(N::PARAM_COUNT) >= PARALLEL_MIN_WORK
        && rayon::current_num_threads() > 1;
    if parallel {
        x.par_chunks(PREDICT_CHUNK_ROWS * N::INPUT_WIDTH)
            .zip(out.par_chunks_mut(PREDICT_CHUNK_ROWS * N::OUTPUT_WIDTH))
            .for_each_init(|| Tape::for_network::<N>(chunk_rows, false), run);
    } else {
        let mut tape = Tape::for_network::<N>(chunk_rows, false);
        x_chunks
            .zip(out_chunks)
            .for_each(|pair| run(&mut tape, pair));
    }
}
