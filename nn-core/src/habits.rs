//! Keras habits as short compile errors. These traits exist for the message rustc prints when a
//! Keras user writes what Keras accepts:
//!
//! - `model.compile(...)` and then `model.fit(...)` on the same variable: in seqnet `compile`
//!   returns the trainable model; without [`CompileFirst`], rustc says only "no method named
//!   `fit`", never mentioning `compile`.
//! - `compile("adam", "binary_crossentropy", ["accuracy"])`: [`LossArg`] and [`MetricList`] (and
//!   `Optimizer`'s own message) name the value to write instead of listing impls.
//!
//! Each message is pinned by a case in `tests/compile_fail/`.

use crate::loss::Loss;
use crate::metrics::Metric;
use crate::network::Network;
use crate::train::History;
use crate::Result;

mod sealed {
    /// No type implements it: [`super::IsCompiled`] must stay unimplementable.
    pub trait Sealed {}
}

/// Implemented by no type: the bound that makes [`CompileFirst`]'s methods an error with
/// `compile`'s name in it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not compiled: `fit`, `evaluate` and `train_on_batch` belong to the \
               model `compile` returns",
    label = "this is the network before `compile`",
    note = "write `let mut model = model.compile(Adam::new(0.001), Loss::binary_crossentropy(), \
            [Metric::Accuracy]);` and call `fit` on that value (Keras changes the model in place; \
            seqnet's `compile` returns a new type that has `fit`)"
)]
pub trait IsCompiled: sealed::Sealed {
    /// Never called: no type implements this trait.
    fn never(&self) -> !;
}

/// Keras' training methods on a network that was not compiled, so that calling them names
/// `compile` ([`IsCompiled`]'s message) instead of "no method named `fit`". None of them can be
/// called: their bound holds for no type. The real ones are on [`crate::train::Compiled`].
pub trait CompileFirst: Network {
    /// Not callable: see [`crate::train::Compiled::fit`].
    fn fit<R, Y: ?Sized, F>(&mut self, _x: &[R], _y: &Y, _options: F) -> Result<History>
    where
        Self: IsCompiled,
    {
        self.never()
    }

    /// Not callable: see [`crate::train::Compiled::evaluate`].
    fn evaluate<R, Y: ?Sized>(&self, _x: &[R], _y: &Y) -> Result<crate::train::Scores>
    where
        Self: IsCompiled,
    {
        self.never()
    }

    /// Not callable: see [`crate::train::Compiled::train_on_batch`].
    fn train_on_batch<R, Y: ?Sized>(&mut self, _x: &[R], _y: &Y) -> Result<f64>
    where
        Self: IsCompiled,
    {
        self.never()
    }
}

impl<N: Network> CompileFirst for N {}

/// `compile`'s loss argument: a [`Loss`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a loss",
    label = "expected a `Loss`",
    note = "write `Loss::binary_crossentropy()` (or `categorical_crossentropy()`, \
            `sparse_categorical_crossentropy()`, `Loss::MeanSquaredError`, …), or parse Keras' \
            name: `\"binary_crossentropy\".parse::<Loss>()?`"
)]
pub trait LossArg {
    /// The loss.
    fn into_loss(self) -> Loss;
}

impl LossArg for Loss {
    fn into_loss(self) -> Loss {
        self
    }
}

/// `compile`'s metrics argument: `[Metric; N]` (`[]` for none), `Vec<Metric>` or `&[Metric]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a list of metrics",
    label = "expected `[Metric; N]`, `Vec<Metric>` or `&[Metric]`",
    note = "write `[Metric::Accuracy]` (or `[]` for none), or parse Keras' names: \
            `\"accuracy\".parse::<Metric>()?`"
)]
pub trait MetricList {
    /// The metrics, in order.
    fn into_metrics(self) -> Vec<Metric>;
}

impl<const K: usize> MetricList for [Metric; K] {
    fn into_metrics(self) -> Vec<Metric> {
        self.to_vec()
    }
}

impl MetricList for Vec<Metric> {
    fn into_metrics(self) -> Vec<Metric> {
        self
    }
}

impl MetricList for &[Metric] {
    fn into_metrics(self) -> Vec<Metric> {
        self.to_vec()
    }
}

impl<const K: usize> MetricList for &[Metric; K] {
    fn into_metrics(self) -> Vec<Metric> {
        self.to_vec()
    }
}
