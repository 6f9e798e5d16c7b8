//! Batch inference over any `Network`: rows run in fixed chunks, each through a reused `Tape`,
//! so a prediction on a million rows needs buffers for one chunk per thread only. Large batches
//! spread their chunks over rayon's threads. The chunks are the same whatever the thread count,
//! and rows never interact, so the outputs are too.

use crate::layers::Phase;
use crate::network::{Network, Tape};
use rayon::prelude::*;

/// Rows per forward pass: large enough to amortise the per-layer call overhead, small enough that
/// a chunk's activations stay in L2 for the tutorial-sized networks.
pub const PREDICT_CHUNK_ROWS: usize = 256;

/// Below this many multiply-adds a prediction stays on the calling thread: spawning costs more
/// than it saves.
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
        net.forward(xc, r, tape, Phase::Inference);
        oc.copy_from_slice(tape.output(xc, r));
    };
    let x_chunks = x.chunks(PREDICT_CHUNK_ROWS * N::INPUT_WIDTH);
    let out_chunks = out.chunks_mut(PREDICT_CHUNK_ROWS * N::OUTPUT_WIDTH);
    let parallel = rows > PREDICT_CHUNK_ROWS
        && rows.saturating_mul(N::MACS_PER_ROW) >= PARALLEL_MIN_WORK
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
    let result = f(&mut buffer[..len]);
    ROW_WORKSPACE.with(|w| *w.borrow_mut() = buffer);
    result
}
