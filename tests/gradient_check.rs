//! Finite-difference checks of the whole backward pass: for every loss and every output
//! activation, the analytic gradient of a small random network matches central differences of
//! the loss `evaluate` computes.
//!
//! Probability losses without `from_logits` only pair with activations whose outputs they can
//! read as probabilities (in [0, 1], or positive for categorical cross-entropy, which
//! normalises); their `from_logits` forms and the regression losses pair with every activation.

use rand::{Rng, SeedableRng};
use seqnet::prelude::*;
use seqnet::Row;

macro_rules! models {
    ($($module:ident: $act:ident),* $(,)?) => {$(
        mod $module {
            use seqnet::prelude::*;
            sequential! {
                pub struct Two { Input(shape = (3,)), Dense(4, activation = tanh), Dense(2, activation = $act) }
            }
            sequential! {
                pub struct Three { Input(shape = (3,)), Dense(4, activation = tanh), Dense(3, activation = $act) }
            }
        }
    )*};
}

models!(
    linear: linear, relu: relu, sigmoid: sigmoid, tanh: tanh, softmax: softmax,
    leaky_relu: leaky_relu, elu: elu, selu: selu, gelu: gelu, silu: silu,
    softplus: softplus, softsign: softsign, hard_sigmoid: hard_sigmoid, exponential: exponential,
);

const ROWS: usize = 8;
/// How far every kinked quantity stays from its kink: far more than a step of `H` moves it.
const MARGIN: f32 = 0.05;
const H: f32 = 2e-3;

/// Where the output activation has a kink (its derivative jumps).
fn activation_kinks(name: &str) -> &'static [f32] {
    match name {
        "relu" | "leaky_relu" | "selu" => &[0.0],
        "hard_sigmoid" => &[-3.0, 3.0],
        _ => &[],
    }
}

/// Random rows and labels for `loss`, drawn from `rng`.
fn random_batch<N: Network>(loss: Loss, rng: &mut impl Rng) -> (Vec<N::InputRow>, Vec<f32>) {
    let x: Vec<N::InputRow> = (0..ROWS)
        .map(|_| {
            let mut row = [N::InputRow::zeros()];
            N::InputRow::flat_mut(&mut row)
                .iter_mut()
                .for_each(|v| *v = rng.random_range(-1.0..1.0));
            row[0]
        })
        .collect();
    let out = N::OUTPUT_WIDTH;
    let y: Vec<f32> = match loss {
        Loss::SparseCategoricalCrossentropy { .. } => {
            (0..ROWS).map(|_| rng.random_range(0..out) as f32).collect()
        }
        Loss::CategoricalCrossentropy { .. } => (0..ROWS)
            .flat_map(|_| {
                let c = rng.random_range(0..out);
                (0..out).map(move |j| f32::from(j == c))
            })
            .collect(),
        Loss::BinaryCrossentropy { .. } => (0..ROWS * out)
            .map(|_| f32::from(rng.random_bool(0.5)))
            .collect(),
        _ => (0..ROWS * out)
            .map(|_| rng.random_range(-1.0..1.0))
            .collect(),
    };
    (x, y)
}

/// True when no output pre-activation is near the activation's kink and no MAE residual near 0.
fn away_from_kinks<N: Network>(model: &N, loss: Loss, x: &[N::InputRow], y: &[f32]) -> bool {
    let mut tape = seqnet::Tape::for_network::<N>(ROWS, true);
    let x = N::InputRow::flat(x);
    model
        .forward(x, ROWS, &mut tape, seqnet::layers::Phase::Inference)
        .unwrap();
    let view = model.loss_view(x, ROWS, &mut tape);
    let (output, z) = (view.output, view.logits);
    let kinks = activation_kinks(N::OUTPUT_ACTIVATION);
    let z_ok = z
        .iter()
        .all(|z| kinks.iter().all(|k| (z - k).abs() > MARGIN));
    let residual_ok = loss != Loss::MeanAbsoluteError
        || output.iter().zip(y).all(|(o, t)| (o - t).abs() > MARGIN);
    z_ok && residual_ok
}

/// ‖g − fd‖ / max(‖g‖, ‖fd‖) for the model's loss on random data away from kinks, after
/// checking every element.
fn relative_error<N: Network>(model: N, loss: Loss, seed: u64) -> f64 {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (x, y) = (0..100)
        .map(|_| random_batch::<N>(loss, &mut rng))
        .find(|(x, y)| away_from_kinks(&model, loss, x, y))
        .expect("some random batch stays away from the kinks");
    relative_error_on(model, loss, &x, &y)
}

/// [`relative_error`] on a given batch (token ids, sequences with masked steps).
fn relative_error_on<N: Network>(model: N, loss: Loss, x: &[N::InputRow], y: &[f32]) -> f64 {
    let (x, y) = (x.to_vec(), y.to_vec());
    let mut model = model.compile(SGD::new(0.0), loss, []);
    let (_, grads) = model.loss_and_gradients(&x, &y).unwrap();
    let analytic = grads.to_vec();
    let params = model.params().to_vec();
    let mut numeric = Vec::with_capacity(params.len());
    for i in 0..params.len() {
        let mut loss_at = |value: f32| {
            let mut p = params.clone();
            p[i] = value;
            model.set_params(&p).unwrap();
            model.evaluate(&x, &y).unwrap().loss
        };
        let (up, down) = (loss_at(params[i] + H), loss_at(params[i] - H));
        let fd = ((up - down) / (2.0 * H as f64)) as f32;
        // f32 loss rounding over 2h, plus the O(h²) truncation of a central difference.
        assert!(
            (analytic[i] - fd).abs() <= 5e-3 * analytic[i].abs().max(fd.abs()) + 2e-4,
            "{loss:?} after {}: parameter {i}: gradient {}, finite difference {fd}",
            N::OUTPUT_ACTIVATION,
            analytic[i]
        );
        numeric.push(fd);
    }
    let norm = |v: &[f32]| v.iter().map(|&a| (a as f64).powi(2)).sum::<f64>().sqrt();
    let diff: Vec<f32> = analytic.iter().zip(&numeric).map(|(a, n)| a - n).collect();
    let scale = norm(&analytic).max(norm(&numeric));
    assert!(
        scale > 1e-4,
        "{loss:?}: gradient is vanishingly small, the check would be empty"
    );
    norm(&diff) / scale
}

macro_rules! check_all {
    ($loss:expr, $two:ident, $three:ident, [$($module:ident),*]) => {{
        let mut worst = (0.0f64, "");
        $(
            let err = relative_error($module::$two::new(7), $loss, 11)
                .max(relative_error($module::$three::new(8), $loss, 12));
            assert!(err < 1e-2, "{:?} after {}: relative error {err:e}", $loss, stringify!($module));
            if err > worst.0 { worst = (err, stringify!($module)); }
        )*
        eprintln!("{:?}: worst relative error {:e} ({})", $loss, worst.0, worst.1);
    }};
}

#[test]
fn regression_and_from_logits_losses_with_every_activation() {
    for loss in [
        Loss::MeanSquaredError,
        Loss::MeanAbsoluteError,
        Loss::huber(),
        Loss::BinaryCrossentropy { from_logits: true },
        Loss::CategoricalCrossentropy { from_logits: true },
        Loss::SparseCategoricalCrossentropy { from_logits: true },
    ] {
        check_all!(
            loss,
            Two,
            Three,
            [
                linear,
                relu,
                sigmoid,
                tanh,
                softmax,
                leaky_relu,
                elu,
                selu,
                gelu,
                silu,
                softplus,
                softsign,
                hard_sigmoid,
                exponential
            ]
        );
    }
}

#[test]
fn probability_losses_with_activations_that_give_probabilities() {
    // Binary and sparse cross-entropy clip each output to [ε, 1 − ε]: outputs in [0, 1].
    check_all!(
        Loss::binary_crossentropy(),
        Two,
        Three,
        [sigmoid, softmax, hard_sigmoid]
    );
    check_all!(
        Loss::sparse_categorical_crossentropy(),
        Two,
        Three,
        [sigmoid, softmax, hard_sigmoid]
    );
    // Categorical cross-entropy first normalises each row: any positive outputs.
    check_all!(
        Loss::categorical_crossentropy(),
        Two,
        Three,
        [sigmoid, softmax, hard_sigmoid, softplus, exponential]
    );
}

mod sequences {
    use seqnet::prelude::*;
    sequential! {
        /// Every Conv1D padding, strides, dilation, no bias, and the 1-D poolings.
        pub struct Conv1dChain {
            Input(shape = (9, 2)),
            Conv1D(3, 3, strides = 2, padding = "same", use_bias = false, activation = tanh),
            Conv1D(3, 2, padding = "causal", dilation_rate = 2, activation = tanh),
            AveragePooling1D(2, strides = 1),
            Conv1D(2, 2, activation = tanh),
            MaxPooling1D(2, padding = "same"),
            GlobalAveragePooling1D,
            Dense(2),
        }
    }
}

#[test]
fn conv1d_paddings_strides_dilation_and_1d_pooling() {
    let err = relative_error(sequences::Conv1dChain::new(5), Loss::MeanSquaredError, 21);
    assert!(err < 1e-2, "relative error {err:e}");
    eprintln!("Conv1D chain: relative error {err:e}");
}

mod normalization {
    use seqnet::prelude::*;
    sequential! {
        /// LayerNormalization on a flat input and per step of a sequence, γ/β on and off.
        pub struct LayerNorms {
            Input(shape = (3, 4)),
            LayerNormalization(center = false),
            Conv1D(4, 2, padding = "same", activation = tanh),
            LayerNormalization(epsilon = 0.01),
            Flatten,
            Dense(5, activation = tanh),
            LayerNormalization(scale = false),
            Dense(2),
        }
    }
}

#[test]
fn layer_normalization_with_and_without_gamma_and_beta() {
    let err = relative_error(
        normalization::LayerNorms::new(3),
        Loss::MeanSquaredError,
        23,
    );
    assert!(err < 1e-2, "relative error {err:e}");
}

mod text {
    use seqnet::prelude::*;
    sequential! {
        /// Token ids with padding: the masked average, a per-step Dense after it.
        pub struct MaskedIds {
            Input(shape = (5,), dtype = "int32"),
            Embedding(7, 3, mask_zero = true),
            Dense(4, activation = tanh),
            Dropout(0.0),
            GlobalAveragePooling1D,
            Dense(2),
        }
    }
    sequential! {
        /// Masking's gate and the masked average over a per-step Dense.
        pub struct MaskedSteps {
            Input(shape = (4, 3)),
            Masking(mask_value = 0.5),
            Dense(3, activation = tanh),
            GlobalAveragePooling1D,
            Dense(2),
        }
    }
}

#[test]
fn embedding_masks_and_per_step_dense() {
    // Ids with padding (0) at the front of some rows, a repeated id in a row (its gradient is a
    // sum), one id never used (its gradient is zero).
    let ids: Vec<[i32; 5]> = vec![
        [0, 0, 1, 2, 3],
        [4, 4, 5, 1, 2],
        [0, 3, 3, 3, 5],
        [1, 2, 4, 5, 4],
    ];
    let y: Vec<[f32; 2]> = vec![[0.3, -0.2], [-0.5, 0.1], [0.2, 0.4], [-0.1, -0.3]];
    let err = relative_error_on(
        text::MaskedIds::new(9),
        Loss::MeanSquaredError,
        &ids,
        y.as_flattened(),
    );
    assert!(err < 1e-2, "Embedding: relative error {err:e}");

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(31);
    let mut x: Vec<[[f32; 3]; 4]> = (0..6)
        .map(|_| std::array::from_fn(|_| std::array::from_fn(|_| rng.random_range(-1.0..1.0))))
        .collect();
    // Masked steps (every feature 0.5) in several rows, never a whole row.
    x[0][3] = [0.5; 3];
    x[2][0] = [0.5; 3];
    x[2][1] = [0.5; 3];
    x[5][2] = [0.5; 3];
    let y: Vec<f32> = (0..12).map(|i| (i as f32 * 0.37).sin()).collect();
    let err = relative_error_on(text::MaskedSteps::new(4), Loss::MeanSquaredError, &x, &y);
    assert!(err < 1e-2, "Masking: relative error {err:e}");
}
