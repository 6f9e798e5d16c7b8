//! Keras' `adapt` for a layer inside a generated model: Keras adapts a preprocessing layer on
//! its own (`layer.adapt(data)`), but a seqnet layer lives inside the struct `sequential!`
//! generates, so the model's `adapt(x)` adapts each layer whose [`Layer::ADAPTS`] is set, in
//! order, to the rows that reach it: `x` through the layers before it, in inference mode (for a
//! Normalization right after the input, `x` itself, as Keras' usual `layer.adapt(x_train)`).

use crate::error::{check_finite, row_count, Error, Result};
use crate::layers::{Layer, Phase};
use crate::network::{Network, Tape};

/// Rows per forward pass: bounds the tape whatever the data's size; the statistics do not
/// depend on it (the layer merges chunks exactly).
const CHUNK_ROWS: usize = 256;

/// What `x`'s rows make of layer `index` (`layer`)'s `state` (`current`, its `STATE` values
/// now): the values `adapt` stores. Nothing of the model changes here.
///
/// Errors: [`Error::RaggedRows`] or [`Error::InvalidArgument`] (no rows) for `x`;
/// [`Error::NonFinite`] (`what` = `"adapt input"`) for a NaN or infinity in `x`, or
/// (`what` = `"adapt: the rows reaching the layer"`) when the layers before it overflow.
pub fn adapt_layer<N: Network, L: Layer>(
    model: &N,
    layer: &L,
    index: usize,
    x: &[f32],
    current: &[f32],
) -> Result<Vec<f32>> {
    const WHAT: &str = "adapt input";
    let rows = row_count(WHAT, x, N::INPUT_WIDTH)?;
    if rows == 0 {
        return Err(Error::InvalidArgument {
            what: "adapt input",
            expected: "at least one row",
            got: "no rows".into(),
        });
    }
    check_finite(WHAT, x, N::INPUT_WIDTH)?;
    let mut tape = Tape::for_network::<N>(CHUNK_ROWS.min(rows), false);
    let mut acc = vec![0.0f64; L::ADAPT_LEN];
    for chunk in x.chunks(CHUNK_ROWS * N::INPUT_WIDTH) {
        let chunk_rows = chunk.len() / N::INPUT_WIDTH;
        model.forward(chunk, chunk_rows, &mut tape, Phase::Inference)?;
        let (input, _) = tape.input_and_scratch(index, chunk, chunk_rows);
        check_finite("adapt: the rows reaching the layer", input, L::INPUT_WIDTH)?;
        layer.adapt_rows(&mut acc, input, chunk_rows);
    }
    let mut state = current.to_vec();
    layer.adapt_finish(&acc, &mut state);
    Ok(state)
}
