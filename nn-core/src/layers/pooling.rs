//! Pooling layers over channels-last images: `MaxPooling2D`, `AveragePooling2D` (windows with
//! Keras' padding rules) and their global forms, over `kernels::pool`'s loops. Max pooling keeps
//! the arg-max of every output (as `u32` bits in its scratch) on a training tape, for its
//! backward pass.

use super::{Backward, Forward, Layer, Weights};
use crate::kernels::conv::{Axis, Window2d};
use crate::kernels::pool;
use crate::params::InitRng;
use crate::spec::WeightSpec;

/// The scratch of a max pooling pass as arg-max indices (empty when the tape keeps none).
fn indices(scratch: &mut [f32], len: usize) -> Option<&mut [u32]> {
    (!scratch.is_empty()).then(|| bytemuck::cast_slice_mut(super::head_mut(scratch, len)))
}

/// Every max pooling's backward pass: dy back to the arg-max its training forward pass kept.
fn max_backward(input_len: usize, dy: &[f32], args: Option<&mut [u32]>, dx: &mut [f32]) {
    // A backward pass follows a training forward pass, whose tape kept the arg-max.
    debug_assert!(
        args.is_some(),
        "max pooling backward without a training tape"
    );
    if let Some(args) = args {
        pool::max_pool_backward(input_len, dy, args, dx);
    }
}

macro_rules! window_pooling {
    (
        $(#[$doc:meta])* $name:ident, $class:literal,
        forward($window:ident, $x:ident, $y:ident, $args:ident) $forward:block,
        backward($bwindow:ident, $dy:ident, $bargs:ident, $dx:ident) $backward:block,
        scratch: $keeps_args:expr
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name<
            const H: usize,
            const W: usize,
            const C: usize,
            const PH: usize,
            const PW: usize,
            const SH: usize,
            const SW: usize,
            const SAME: bool,
        >;

        impl<
                const H: usize,
                const W: usize,
                const C: usize,
                const PH: usize,
                const PW: usize,
                const SH: usize,
                const SW: usize,
                const SAME: bool,
            > $name<H, W, C, PH, PW, SH, SW, SAME>
        {
            /// The window geometry.
            pub const WINDOW: Window2d = Window2d {
                rows: Axis::new(H, PH, SH, SAME),
                cols: Axis::new(W, PW, SW, SAME),
                channels: C,
            };
            const OUT: usize = Self::WINDOW.positions() * C;
        }

        impl<
                const H: usize,
                const W: usize,
                const C: usize,
                const PH: usize,
                const PW: usize,
                const SH: usize,
                const SW: usize,
                const SAME: bool,
            > Layer for $name<H, W, C, PH, PW, SH, SW, SAME>
        {
            const CLASS_NAME: &'static str = $class;
            const INPUT_WIDTH: usize = H * W * C;
            const OUTPUT_WIDTH: usize = Self::OUT;
            const PARAMS: usize = 0;
            const MACS_PER_ROW: usize = Self::OUT * PH * PW;

            fn weights(&self) -> Vec<WeightSpec> {
                Vec::new()
            }

            fn init(&self, _params: &mut [f32], _state: &mut [f32], _rng: &mut InitRng) {}

            fn scratch_len(&self, rows: usize, training: bool) -> usize {
                if training && $keeps_args {
                    rows * Self::OUT
                } else {
                    0
                }
            }

            fn forward(&self, _weights: Weights<'_>, pass: Forward<'_>) {
                let $window = &Self::WINDOW;
                let ($x, $y) = (pass.input, pass.output);
                let $args = indices(pass.scratch, pass.rows * Self::OUT);
                $forward
            }

            fn backward(&self, _weights: Weights<'_>, pass: Backward<'_>, _grads: &mut [f32]) {
                let Some($dx) = pass.input_delta else { return };
                let $bwindow = &Self::WINDOW;
                let $dy = &*pass.delta;
                let $bargs = indices(pass.scratch, pass.rows * Self::OUT);
                $backward
            }

            fn forward_one(&self, _weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
                let ($window, $x, $y) = (&Self::WINDOW, x, y);
                let $args: Option<&mut [u32]> = None;
                $forward
            }
        }
    };
}

window_pooling!(
    /// Keras' `MaxPooling2D(pool_size = (PH, PW), strides = (SH, SW), padding)` on (H, W, C).
    MaxPooling2D, "MaxPooling2D",
    forward(window, x, y, args) { pool::max_pool(window, x, y, args) },
    backward(window, dy, args, dx) {
        max_backward(window.input_len(), dy, args, dx)
    },
    scratch: true
);

window_pooling!(
    /// Keras' `AveragePooling2D(pool_size = (PH, PW), strides = (SH, SW), padding)` on
    /// (H, W, C).
    AveragePooling2D, "AveragePooling2D",
    forward(window, x, y, _args) { pool::average_pool(window, x, y) },
    backward(window, dy, _args, dx) { pool::average_pool_backward(window, dy, dx) },
    scratch: false
);

macro_rules! global_pooling {
    (
        $(#[$doc:meta])* $name:ident, $class:literal,
        forward($x:ident, $y:ident, $args:ident) $forward:block,
        backward($dy:ident, $bargs:ident, $dx:ident) $backward:block,
        scratch: $keeps_args:expr
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name<const P: usize, const C: usize>;

        impl<const P: usize, const C: usize> Layer for $name<P, C> {
            const CLASS_NAME: &'static str = $class;
            const INPUT_WIDTH: usize = P * C;
            const OUTPUT_WIDTH: usize = C;
            const PARAMS: usize = 0;
            const MACS_PER_ROW: usize = P * C;

            fn weights(&self) -> Vec<WeightSpec> {
                Vec::new()
            }

            fn init(&self, _params: &mut [f32], _state: &mut [f32], _rng: &mut InitRng) {}

            fn scratch_len(&self, rows: usize, training: bool) -> usize {
                if training && $keeps_args {
                    rows * C
                } else {
                    0
                }
            }

            fn forward(&self, _weights: Weights<'_>, pass: Forward<'_>) {
                let ($x, $y) = (pass.input, pass.output);
                let $args = indices(pass.scratch, pass.rows * C);
                $forward
            }

            fn backward(&self, _weights: Weights<'_>, pass: Backward<'_>, _grads: &mut [f32]) {
                let Some($dx) = pass.input_delta else { return };
                let $dy = &*pass.delta;
                let $bargs = indices(pass.scratch, pass.rows * C);
                $backward
            }

            fn forward_one(&self, _weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
                let ($x, $y) = (x, y);
                let $args: Option<&mut [u32]> = None;
                $forward
            }
        }
    };
}

global_pooling!(
    /// Keras' `GlobalAveragePooling2D`: the mean of each of `C` channels over all `P` positions
    /// (H·W) of an image.
    GlobalAveragePooling2D, "GlobalAveragePooling2D",
    forward(x, y, _args) { pool::global_average_pool(C, x, y) },
    backward(dy, _args, dx) { pool::global_average_pool_backward(C, dy, dx) },
    scratch: false
);

global_pooling!(
    /// Keras' `GlobalMaxPooling2D`: the maximum of each of `C` channels over all `P` positions.
    GlobalMaxPooling2D, "GlobalMaxPooling2D",
    forward(x, y, args) { pool::global_max_pool(C, x, y, args) },
    backward(dy, args, dx) {
        max_backward(P * C, dy, args, dx)
    },
    scratch: true
);

// The 1-D forms are the same loops over a (1, T, F) image: Keras' 1-D windows follow the 2-D
// rules on one axis. The macro instantiates them with H = PH = SH = 1.

window_pooling!(
    /// Keras' `MaxPooling1D(pool_size = PW, strides = SW, padding)` on (T = W, F = C) sequences
    /// (H, PH and SH are 1).
    MaxPooling1D, "MaxPooling1D",
    forward(window, x, y, args) { pool::max_pool(window, x, y, args) },
    backward(window, dy, args, dx) {
        max_backward(window.input_len(), dy, args, dx)
    },
    scratch: true
);

window_pooling!(
    /// Keras' `AveragePooling1D(pool_size = PW, strides = SW, padding)` on (T = W, F = C)
    /// sequences (H, PH and SH are 1).
    AveragePooling1D, "AveragePooling1D",
    forward(window, x, y, _args) { pool::average_pool(window, x, y) },
    backward(window, dy, _args, dx) { pool::average_pool_backward(window, dy, dx) },
    scratch: false
);

/// Keras' `GlobalAveragePooling1D`: the mean of each of `C` features over all `P` steps, or,
/// when a mask reaches it (`Embedding(mask_zero = true)`, `Masking`), over the unmasked steps,
/// as Keras computes it. It ends the mask: its output has none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalAveragePooling1D<const P: usize, const C: usize>;

impl<const P: usize, const C: usize> Layer for GlobalAveragePooling1D<P, C> {
    const CLASS_NAME: &'static str = "GlobalAveragePooling1D";
    const INPUT_WIDTH: usize = P * C;
    const OUTPUT_WIDTH: usize = C;
    const PARAMS: usize = 0;
    const MACS_PER_ROW: usize = P * C;

    fn weights(&self) -> Vec<WeightSpec> {
        Vec::new()
    }

    fn init(&self, _params: &mut [f32], _state: &mut [f32], _rng: &mut InitRng) {}

    fn forward(&self, _weights: Weights<'_>, pass: Forward<'_>) {
        if pass.mask.is_empty() {
            pool::global_average_pool(C, pass.input, pass.output);
        } else {
            pool::masked_average_steps(C, pass.input, pass.mask, pass.output);
        }
    }

    fn backward(&self, _weights: Weights<'_>, pass: Backward<'_>, _grads: &mut [f32]) {
        let Some(dx) = pass.input_delta else { return };
        if pass.mask.is_empty() {
            pool::global_average_pool_backward(C, pass.delta, dx);
        } else {
            pool::masked_average_steps_backward(C, pass.delta, pass.mask, dx);
        }
    }

    fn forward_one(&self, _weights: Weights<'_>, x: &[f32], y: &mut [f32]) {
        pool::global_average_pool(C, x, y);
    }

    fn forward_one_masked(&self, weights: Weights<'_>, x: &[f32], mask: &[f32], y: &mut [f32]) {
        if mask.is_empty() {
            self.forward_one(weights, x, y);
        } else {
            pool::masked_average_steps(C, x, mask, y);
        }
    }
}

global_pooling!(
    /// Keras' `GlobalMaxPooling1D`: the maximum of each of `C` features over all `P` steps.
    GlobalMaxPooling1D, "GlobalMaxPooling1D",
    forward(x, y, args) { pool::global_max_pool(C, x, y, args) },
    backward(dy, args, dx) {
        max_backward(P * C, dy, args, dx)
    },
    scratch: true
);
