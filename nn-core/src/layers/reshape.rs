//! `Flatten` and `Reshape`: on seqnet's row-major rows a change of shape is not a change of data,
//! so neither layer runs; the tape gives its output the input's buffer. The macro checks and
//! records the new shape.

use super::{Backward, Forward, Layer, Weights};
use crate::params::InitRng;
use crate::spec::WeightSpec;

macro_rules! reshape_layer {
    ($(#[$doc:meta])* $name:ident, $class:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name<const WIDTH: usize>;

        impl<const WIDTH: usize> Layer for $name<WIDTH> {
            const CLASS_NAME: &'static str = $class;
            const INPUT_WIDTH: usize = WIDTH;
            const OUTPUT_WIDTH: usize = WIDTH;
            const PARAMS: usize = 0;
            const RESHAPE_ONLY: bool = true;

            fn weights(&self) -> Vec<WeightSpec> {
                Vec::new()
            }

            fn init(&self, _params: &mut [f32], _state: &mut [f32], _rng: &mut InitRng) {}

            /// Never called by a chain (the layer is `RESHAPE_ONLY`); copies, for direct use.
            fn forward(&self, _weights: Weights<'_>, pass: Forward<'_>) {
                pass.output.copy_from_slice(pass.input);
            }

            /// Never called by a chain; passes the gradient through, for direct use.
            fn backward(&self, _weights: Weights<'_>, pass: Backward<'_>, _grads: &mut [f32]) {
                if let Some(dx) = pass.input_delta {
                    dx.copy_from_slice(pass.delta);
                }
            }

            fn forward_one(&self, _weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
                y.copy_from_slice(x);
            }
        }
    };
}

reshape_layer!(
    /// Keras' `Flatten`: a (h, w, c) input as one row of h·w·c values, channels last.
    Flatten,
    "Flatten"
);
reshape_layer!(
    /// Keras' `Reshape(target_shape)`: the same values in another shape of the same size.
    Reshape,
    "Reshape"
);
