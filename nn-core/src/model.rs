//! [`Model`]: Keras' workflow methods on every network (`compile`, `save_weights`,
//! `load_weights`, `quantize`), an extension of [`Network`] implemented for every type that has it.
//!
//! They live here rather than on `Network` because they need the modules built on top of it:
//! `compile` makes a [`Compiled`] (`train`), the weight files are `io`'s. With them on the
//! trait, `network` and the modules generic over it would name each other. The prelude
//! (`use seqnet::prelude::*`) brings `Model` into scope with `Network`, so `model.compile(…)` and
//! `model.save_weights(…)` read as before.

use crate::error::Result;
use crate::io;
use crate::network::Network;
use crate::quantized::{Int8QuantizationConfig, Quantized};
use crate::train::Compiled;

/// Keras' `Model` methods that build on a [`Network`]: `compile` for training, and the weight
/// files. Implemented for every `Network`; in scope through `seqnet::prelude::*`.
pub trait Model: Network {
    /// Keras' `compile`: this network with an optimizer, a loss and metrics, ready to `fit`.
    /// Unlike Keras, it returns the trainable model (a new type that has `fit`, `evaluate` and
    /// `train_on_batch`) rather than changing this one: keep the value it returns.
    ///
    /// `metrics` is `[Metric; N]` (`[]` for none), a `Vec<Metric>` or a `&[Metric]`. Keras'
    /// strings parse: `"adam".parse::<Adam>()?`, `"binary_crossentropy".parse::<Loss>()?`,
    /// `"accuracy".parse::<Metric>()?`.
    #[must_use = "`compile` returns the trainable model; the network it was called on is moved"]
    fn compile<O: crate::optim::Optimizer>(
        self,
        optimizer: O,
        loss: impl crate::habits::LossArg,
        metrics: impl crate::habits::MetricList,
    ) -> Compiled<Self, O> {
        Compiled::new(self, optimizer, loss.into_loss(), metrics.into_metrics())
    }

    /// Keras' `save_weights`: every weight (and the non-trainable state) to `path`, in the
    /// format its extension names: `.safetensors` (tensors `layer/weight` in Keras' shapes, the
    /// layer list in the metadata) or, with the `keras` feature, Keras 3's `.weights.h5`. The
    /// file is written beside the target and renamed over it, so a crash leaves the old file.
    fn save_weights(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        io::save(self, None, path.as_ref())
    }

    /// Keras' `load_weights`: the weights in `path` (seqnet's `.safetensors`, or with the
    /// `keras` feature a Keras 3 `.weights.h5` or `.keras`), recognised by the file's own
    /// signature. Nothing changes unless the whole file fits this model: an error names the
    /// first layer or tensor that differs and what was expected.
    fn load_weights(&mut self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = io::read_file(path)?;
        io::load(self, &bytes, &path.display().to_string())
    }

    /// Keras' `model.quantize("int8")`: a quantized copy of this model (this one is left as
    /// it is), a type of its own with `predict`, `predict_one`, `evaluate`, `summary` and
    /// weight files, and no `fit` (see [`Quantized`]). Dense kernels and Embedding tables
    /// become int8 with Keras' per-unit (per-id) abs-max scales; each Dense layer quantizes its
    /// input rows at run time. Errors: [`crate::Error::InvalidArgument`] for a mode other than
    /// `"int8"` (Keras' int4, float8, gptq and awq are named as modes seqnet does not build),
    /// or for a Dense layer of more than 65,536 inputs, whose int8 sums would not stay exact in
    /// int32 (weight-only has no such limit).
    fn quantize(&self, mode: &str) -> Result<Quantized<Self>> {
        Quantized::quantize(self, mode)
    }

    /// Keras' `model.quantize(config=Int8QuantizationConfig(…))`: as [`quantize`](Self::quantize)
    /// with the weight-only variant available (`Int8QuantizationConfig::weight_only()`).
    fn quantize_with(&self, config: Int8QuantizationConfig) -> Result<Quantized<Self>> {
        Quantized::new(self, config)
    }

    /// `load_weights` from bytes already in memory, such as `include_bytes!("model.safetensors")`
    /// in an app that opens no file at run time; the format is told by the bytes' signature.
    fn load_weights_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        io::load(self, bytes, "bytes")
    }
}

impl<N: Network> Model for N {}
