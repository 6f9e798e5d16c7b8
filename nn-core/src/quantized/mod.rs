//! Keras 3's `model.quantize("int8")`: [`Quantized<N>`], a model type of its own that runs `N`'s
//! layers with Dense kernels and Embedding tables in int8 (`crate::int8`), every other layer
//! (Conv2D, recurrent, normalization) in float32, as Keras does.
//!
//! It has `predict`, `predict_one` (allocation-free), `evaluate`, `summary` (Keras' counts:
//! an int8 kernel, its bias and its `kernel_scale`) and weight files in Keras' quantized layout
//! (`files.rs`). It has no `fit`: Keras keeps a quantized Dense layer's bias trainable, seqnet
//! does not train a quantized model. It is not a [`Network`], so it cannot be compiled or
//! passed where a float model is expected, and a float file does not load into it (nor the
//! reverse): the error names the int8/float32 mismatch.
//!
//! The float model inside keeps, in a quantized layer's kernel, the values the int8 kernel
//! stands for (`q / scale`); only the int8 weights are read by its passes.

mod files;

pub use files::FileTensor;

use crate::batch::{Widths, INPUT};
use crate::error::{row_count, Error, Result};
use crate::int8::{Int8Layers, Int8Weights};
use crate::loss::Loss;
use crate::metrics::Metric;
use crate::network::{InputOf, Network, Tape};
use crate::pass::Phase;
use crate::rows::{Labels, Row};
use crate::spec::{ModelSpec, Quantize};
use crate::train::Scores;

/// Keras' `Int8QuantizationConfig`, for [`Quantized::new`]: whether Dense layers quantize their
/// inputs at run time (Keras' default `activation_quantizer`, `AbsMaxQuantizer(axis=-1)`) or
/// only their kernels (`activation_quantizer=None`: the float inputs times the int8 kernel).
/// Keras' other quantizer settings (value ranges, custom quantizers) are not built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Int8QuantizationConfig {
    /// True (the default): each input row of a Dense layer is quantized by its abs-max and the
    /// product is integer. False: weight-only.
    pub quantize_inputs: bool,
}

impl Default for Int8QuantizationConfig {
    fn default() -> Self {
        Int8QuantizationConfig {
            quantize_inputs: true,
        }
    }
}

impl Int8QuantizationConfig {
    /// Keras' `Int8QuantizationConfig(activation_quantizer=None)`: int8 kernels, float inputs.
    pub fn weight_only() -> Self {
        Int8QuantizationConfig {
            quantize_inputs: false,
        }
    }
}

/// A model after Keras' `quantize("int8")` (see the module docs).
pub struct Quantized<N: Network> {
    model: N,
    int8: Int8Layers,
    config: Int8QuantizationConfig,
    /// What [`compile`](Self::compile) gave `evaluate`: the loss and metrics.
    scoring: Option<(Loss, Vec<Metric>)>,
}

impl<N: Network> std::fmt::Debug for Quantized<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quantized")
            .field("model", &std::any::type_name::<N>())
            .field("config", &self.config)
            .field("loss", &self.scoring.as_ref().map(|(loss, _)| loss))
            .finish_non_exhaustive()
    }
}

/// Keras' names for the modes of `quantize`, and what seqnet says of those it does not build.
fn check_mode(mode: &str) -> Result<()> {
    match mode {
        "int8" => Ok(()),
        "int4" | "float8" | "gptq" | "awq" => Err(Error::InvalidArgument {
            what: "quantization mode",
            expected: "\"int8\" (seqnet builds Keras' int8 mode only)",
            got: format!("\"{mode}\", a Keras mode seqnet does not build"),
        }),
        _ => Err(Error::InvalidArgument {
            what: "quantization mode",
            expected: "\"int8\" (Keras' modes: int8, int4, float8, gptq, awq)",
            got: format!("\"{mode}\""),
        }),
    }
}

impl<N: Network> Quantized<N> {
    /// Keras' `model.quantize(mode)` on a copy of `model` (which is left as it is): `"int8"`
    /// with Keras' default config. Errors: [`Error::InvalidArgument`] for another mode (Keras'
    /// int4, float8, gptq and awq are named as modes seqnet does not build), or for a Dense
    /// layer deeper than the int8 product sums exactly (more than 65,536 inputs).
    pub fn quantize(model: &N, mode: &str) -> Result<Self> {
        check_mode(mode)?;
        Self::new(model, Int8QuantizationConfig::default())
    }

    /// Keras' `model.quantize(config=Int8QuantizationConfig(…))`: int8 with `config`.
    /// Errors: as [`quantize`](Self::quantize).
    pub fn new(model: &N, config: Int8QuantizationConfig) -> Result<Self> {
        let mut model = model.duplicate();
        let spec = N::spec();
        let mut layers = Vec::with_capacity(spec.layers.len());
        for (layer, place) in spec.layers.iter().zip(first_weights(&spec)) {
            let Some(place) = place.filter(|_| layer.quantize != Quantize::No) else {
                layers.push(None);
                continue;
            };
            let (rows, cols) = matrix(&place.weight.shape);
            let float = model.params().get(place.range()).unwrap_or_default();
            let q =
                Int8Weights::quantize(layer.quantize, float, rows, cols, config.quantize_inputs)
                    .ok_or_else(|| too_deep(&layer.name, rows))?;
            // The float kernel becomes what the int8 one stands for, as a loaded file sets it.
            let dequantized = q.dequantized();
            if let Some(dest) = model.params_mut().get_mut(place.range()) {
                dest.copy_from_slice(&dequantized);
            }
            layers.push(Some(q));
        }
        Ok(Quantized {
            model,
            int8: Int8Layers::new(layers),
            config,
            scoring: None,
        })
    }

    /// The config it was quantized with.
    pub fn config(&self) -> Int8QuantizationConfig {
        self.config
    }

    /// A float model with the weights the int8 ones stand for (each quantized kernel or table
    /// dequantized, `q / scale`; every other weight as it is): Keras' `dequantize`. A new
    /// model: the one this type runs keeps no float packs for its int8 layers, so it is not
    /// lent out.
    pub fn dequantized_model(&self) -> N {
        self.model.duplicate()
    }

    /// Layer `i`'s int8 weights (Keras' int8 kernel or table and its scales), if it is quantized.
    pub fn int8_weights(&self, i: usize) -> Option<&Int8Weights> {
        self.int8.layer(i)
    }

    /// Every weight tensor as the weight files store it, in Keras' file order (per quantized
    /// Dense layer `kernel` (int8 values, as integral f32), `bias`, `kernel_scale`).
    pub fn file_tensors(&self) -> Vec<FileTensor> {
        files::tensors(self)
    }

    /// The checked layer list as Keras describes the quantized model: each quantized layer's
    /// weights as Keras' files and summary list them (`kernel` int8, `bias`, `kernel_scale`;
    /// `embeddings` int8, `embeddings_scale`).
    pub fn spec() -> ModelSpec {
        files::quantized_spec(N::spec())
    }

    /// Keras' model summary as text (parameter counts and memory as Keras gives them for a
    /// quantized model: int8 values take one byte).
    pub fn summary_string(&self) -> String {
        crate::summary::render(&Self::spec())
    }

    /// Prints Keras' model summary to stdout.
    pub fn summary(&self) {
        print!("{}", self.summary_string());
    }

    /// Every parameter, as Keras' `count_params()` counts a quantized model's (the scales
    /// included).
    pub fn count_params(&self) -> usize {
        Self::spec().param_count()
    }

    /// The model's outputs for a batch of rows, as the float model's `predict` (same checks,
    /// same errors), through the int8 layers.
    pub fn predict<R: InputOf<N>>(&self, x: &[R]) -> Result<Vec<N::OutputRow>> {
        let mut out = vec![N::OutputRow::zeros(); x.len()];
        self.predict_into(R::flat(x), N::OutputRow::flat_mut(&mut out))?;
        Ok(out)
    }

    /// The outputs for a flat slice of rows (`rows × INPUT_WIDTH`), as a flat vector.
    /// Errors: [`Error::RaggedRows`] for a partial row, and `predict`'s.
    pub fn predict_flat(&self, x: &[f32]) -> Result<Vec<f32>> {
        let rows = row_count(INPUT, x, N::INPUT_WIDTH)?;
        let mut out = vec![0.0f32; rows * N::OUTPUT_WIDTH];
        self.predict_into(x, &mut out)?;
        Ok(out)
    }

    fn predict_into(&self, x: &[f32], out: &mut [f32]) -> Result<()> {
        crate::batch::predict_into(
            Widths {
                input: N::INPUT_WIDTH,
                output: N::OUTPUT_WIDTH,
                macs_per_row: N::MACS_PER_ROW,
                ids: N::INPUT_IDS,
            },
            x,
            out,
            |rows| Tape::for_network::<N>(rows, false),
            |x, rows, tape| {
                self.model
                    .forward_with(x, rows, tape, Phase::Inference, &self.int8)
            },
        )
    }

    /// The output for one row without allocating (after a thread's first call, which makes
    /// the buffer its int8 rows are quantized into). Errors: the float model's `predict_one`'s.
    pub fn predict_one<R: InputOf<N>>(&self, x: &R) -> Result<N::OutputRow> {
        self.model.predict_one_with(R::as_flat(x), &self.int8)
    }

    /// The loss and metrics `evaluate` reports (Keras' `compile` of a quantized model; there is
    /// no optimizer, as there is no `fit`).
    #[must_use = "`compile` returns the model with its loss and metrics"]
    pub fn compile(
        mut self,
        loss: impl crate::habits::LossArg,
        metrics: impl crate::habits::MetricList,
    ) -> Self {
        self.scoring = Some((loss.into_loss(), metrics.into_metrics()));
        self
    }

    /// Keras' `evaluate`: the loss and metrics over all rows, through the int8 layers, as the
    /// float model's `evaluate` computes them. Errors: [`Error::InvalidArgument`] before
    /// [`compile`](Self::compile) (or [`Compiled::quantize`](crate::Compiled::quantize)) gave it a
    /// loss; otherwise those of the float model's `evaluate`.
    pub fn evaluate<R: InputOf<N>, Y: Labels + ?Sized>(&self, x: &[R], y: &Y) -> Result<Scores> {
        let Some((loss, metrics)) = &self.scoring else {
            return Err(Error::InvalidArgument {
                what: "evaluate on a quantized model",
                expected:
                    "a loss: call `compile(loss, metrics)` first, or quantize a compiled model",
                got: "no loss".into(),
            });
        };
        let scoring = crate::train::Scoring {
            model: &self.model,
            loss,
            metrics,
        };
        scoring.validate()?;
        let (xf, yf) = scoring.checked(R::flat(x), y.values())?;
        if x.is_empty() {
            return Err(Error::NotEnoughData {
                what: "evaluate needs at least one row".into(),
            });
        }
        scoring.evaluate_flat(xf, yf, None, |x, rows, tape| {
            self.model
                .forward_with(x, rows, tape, Phase::Inference, &self.int8)
        })
    }

    /// Keras' `save_weights` for the quantized model: `.safetensors` or (feature `keras`)
    /// `.weights.h5`, each quantized layer's tensors as Keras writes them (`kernel` int8,
    /// `bias`, `kernel_scale`), which Keras' `load_weights` reads into the same model after
    /// `quantize("int8")`.
    pub fn save_weights(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        files::save(self, path.as_ref())
    }

    /// Loads a quantized model's weights (seqnet's or Keras' files, `.keras` included):
    /// nothing changes unless all of them fit. A float model's file is an error naming the
    /// first float32 kernel where int8 is needed ([`crate::Mismatch::Quantization`]).
    pub fn load_weights(&mut self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = crate::io::read_file(path)?;
        files::load(self, &bytes, &path.display().to_string())
    }

    /// [`load_weights`](Self::load_weights) from bytes in memory.
    pub fn load_weights_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        files::load(self, bytes, "bytes")
    }
}

/// Keras' `quantize` on a compiled model, written here (beside the type it makes) so that
/// `train` does not name this module, which builds on it.
impl<N: Network, O: crate::optim::Optimizer> crate::Compiled<N, O> {
    /// Keras' `quantize("int8")` on a compiled model: the quantized copy keeps the loss and
    /// metrics, so `evaluate` works on it as Keras' does (it has no `fit`). Errors: as
    /// [`Quantized::quantize`].
    pub fn quantize(&self, mode: &str) -> Result<Quantized<N>> {
        Ok(Quantized::quantize(self.model(), mode)?.compile(self.loss(), self.metrics().to_vec()))
    }

    /// `quantize_with` on a compiled model, keeping the loss and metrics (see
    /// [`quantize`](Self::quantize)).
    pub fn quantize_with(&self, config: Int8QuantizationConfig) -> Result<Quantized<N>> {
        Ok(Quantized::new(self.model(), config)?.compile(self.loss(), self.metrics().to_vec()))
    }
}

/// Each layer's first weight (a Dense kernel, the embeddings) with where it lives in the float
/// model's buffers; `None` for a layer without weights.
fn first_weights(spec: &ModelSpec) -> Vec<Option<crate::spec::WeightPlace<'_>>> {
    let places = spec.weight_places();
    spec.layers
        .iter()
        .map(|layer| {
            places
                .iter()
                .find(|p| std::ptr::eq(p.layer, layer))
                .copied()
        })
        .collect()
}

/// A kernel's (rows, cols): `[in, out]` or `[input_dim, output_dim]`.
fn matrix(shape: &[usize]) -> (usize, usize) {
    match shape {
        [rows, cols] => (*rows, *cols),
        _ => (0, 0),
    }
}

/// The error for a Dense layer whose int8 sums would not be exact.
fn too_deep(layer: &str, rows: usize) -> Error {
    Error::InvalidArgument {
        what: "a Dense layer to quantize with its inputs",
        expected: "at most 65,536 inputs (the int8 product's int32 sums stay exact); \
                   quantize_with(Int8QuantizationConfig::weight_only()) has no such limit",
        got: format!("{rows} inputs in `{layer}`"),
    }
}

mod sealed {
    /// No type implements it: [`super::IsFloat`] must stay unimplementable.
    pub trait Sealed {}
}

/// Implemented by no type: the bound that makes [`TrainFloatFirst`]'s methods a compile error
/// that says what to do.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is quantized: it has no `fit` or `train_on_batch`",
    label = "this model runs Keras' int8 layers, for inference",
    note = "train the float model (`compile`, then `fit`), then call `quantize(\"int8\")` on it \
            (Keras keeps a quantized Dense layer's bias trainable; seqnet does not train a \
            quantized model)"
)]
pub trait IsFloat: sealed::Sealed {
    /// Never called: no type implements this trait.
    fn never(&self) -> !;
}

/// Keras' training methods on a quantized model, so that calling them says why not
/// ([`IsFloat`]'s message) instead of "no method named `fit`". None can be called.
pub trait TrainFloatFirst {
    /// Not callable: train the float model, then quantize it.
    fn fit<R, Y: ?Sized, F>(&mut self, _x: &[R], _y: &Y, _options: F) -> Result<crate::History>
    where
        Self: IsFloat,
    {
        self.never()
    }

    /// Not callable: train the float model, then quantize it.
    fn train_on_batch<R, Y: ?Sized>(&mut self, _x: &[R], _y: &Y) -> Result<f64>
    where
        Self: IsFloat,
    {
        self.never()
    }
}

impl<N: Network> TrainFloatFirst for Quantized<N> {}
