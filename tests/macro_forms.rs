//! What `sequential!` expands to: the three input forms, Keras' default names and parameter
//! counts, the summary table, initialisation, and the run-time errors of the flat entry point.

mod common;

use seqnet::prelude::*;
use seqnet::ModelSpec;

sequential! {
    /// Explicit input.
    #[derive(Clone)]
    pub struct Explicit {
        Input(shape = (10,), name = "input_features"),
        Dense(64, activation = relu),
        Dense(32, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    /// Implicit input, activations written the other ways Keras allows.
    struct Implicit {
        Dense(64, "relu", input_shape = (10,)),
        Dense(32, relu, name = "hidden"),
        Dense(1, activation = "sigmoid"),
    }
}

sequential! {
    /// No input shape: generic over the width.
    struct Tiny {
        Dense(32, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    /// A 2-D input flattened, every activation with arguments, and a bias-free layer.
    struct Images {
        Input(shape = (8, 8)),
        Flatten,
        Dense(5, activation = leaky_relu(negative_slope = 0.1), use_bias = false),
        Dense(4, activation = gelu(approximate = true)),
        Dense(3, activation = leaky_relu),
        Dense(2, activation = None),
    }
}

#[test]
fn parameter_counts_match_keras() {
    assert_eq!(<Explicit as Network>::PARAM_COUNT, 2_817);
    assert_eq!(<Implicit as Network>::PARAM_COUNT, 2_817);
    assert_eq!(<Tiny<10> as Network>::PARAM_COUNT, 385);
    assert_eq!(<Tiny<3> as Network>::PARAM_COUNT, 161);
    // 64·5 (no bias) + 5·4+4 + 4·3+3 + 3·2+2
    assert_eq!(<Images as Network>::PARAM_COUNT, 320 + 24 + 15 + 8);
    assert_eq!(<Images as Network>::INPUT_WIDTH, 64);
    assert_eq!(<Images as Network>::OUTPUT_WIDTH, 2);
}

#[test]
fn layer_names_default_the_keras_way() {
    let names = |spec: ModelSpec| spec.layers.into_iter().map(|l| l.name).collect::<Vec<_>>();
    assert_eq!(names(Explicit::spec()), ["dense", "dense_1", "dense_2"]);
    assert_eq!(names(Implicit::spec()), ["dense", "hidden", "dense_1"]);
    assert_eq!(
        names(Images::spec()),
        ["flatten", "dense", "dense_1", "dense_2", "dense_3"]
    );
    assert_eq!(Explicit::spec().input.name, "input_features");
    assert_eq!(Images::spec().input.name, "input_layer");
    let act = |spec: ModelSpec| {
        spec.layers
            .into_iter()
            .map(|l| l.activation)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        act(Images::spec()),
        [
            None,
            Some("leaky_relu(negative_slope=0.1)".into()),
            Some("gelu(approximate=True)".into()),
            Some("leaky_relu(negative_slope=0.2)".into()),
            Some("linear".into()),
        ]
    );
}

#[test]
fn summary_is_keras_table() {
    let expected = "\
Model: \"Explicit\"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ input_features (InputLayer)     │ (None, 10)             │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 64)             │           704 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 32)             │         2,080 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_2 (Dense)                 │ (None, 1)              │            33 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 2,817 (11.00 KB)
 Trainable params: 2,817 (11.00 KB)
 Non-trainable params: 0 (0.00 B)
";
    assert_eq!(Explicit::new(1).summary_string(), expected);
    // The implicit form has no InputLayer row.
    let implicit = Implicit::new(1).summary_string();
    assert!(!implicit.contains("InputLayer"));
    assert!(implicit
        .contains("│ hidden (Dense)                  │ (None, 32)             │         2,080 │"));
    let images = Images::new(1).summary_string();
    assert!(images
        .contains("│ input_layer (InputLayer)        │ (None, 8, 8)           │             0 │"));
    assert!(images
        .contains("│ flatten (Flatten)               │ (None, 64)             │             0 │"));
    assert!(images.contains(" Total params: 367 (1.43 KB)"));
}

#[test]
fn memory_sizes_and_thousands_as_keras_prints_them() {
    use seqnet::summary::{memory_size, thousands};
    assert_eq!(memory_size(0), "0.00 B");
    assert_eq!(memory_size(1023), "1023.00 B");
    assert_eq!(memory_size(11_268), "11.00 KB");
    assert_eq!(memory_size(3 * 1024 * 1024 + 512 * 1024), "3.50 MB");
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1_000), "1,000");
    assert_eq!(thousands(1_234_567), "1,234,567");
}

#[test]
fn new_is_glorot_uniform_zero_bias_and_deterministic() {
    let a = Explicit::new(42);
    assert_eq!(a.params(), Explicit::new(42).params());
    assert_ne!(a.params(), Explicit::new(43).params());
    let w = a.get_weights();
    assert_eq!(w.len(), 6);
    for (i, (fan_in, fan_out)) in [(10, 64), (64, 32), (32, 1)].into_iter().enumerate() {
        let limit = (6.0f32 / (fan_in + fan_out) as f32).sqrt();
        let kernel = &w[2 * i];
        assert_eq!(kernel.len(), fan_in * fan_out);
        assert!(kernel.iter().all(|v| v.abs() < limit));
        // A uniform draw fills its range: the extremes come near ±limit and the mean near 0.
        let max = kernel.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(
            max > 0.8 * limit,
            "layer {i}: largest |w| {max} of limit {limit}"
        );
        let mean = kernel.iter().sum::<f32>() / kernel.len() as f32;
        assert!(mean.abs() < 0.25 * limit, "layer {i}: mean {mean}");
        assert!(w[2 * i + 1].iter().all(|&b| b == 0.0));
    }
}

#[test]
fn generic_input_width_is_inferred_from_the_data() {
    let model = Tiny::new(3);
    let x = [[0.5f32; 7]; 3];
    let y = model.predict(&x).unwrap();
    assert_eq!(y.len(), 3);
    assert!((y[0][0] - model.predict_one(&x[0]).unwrap()[0]).abs() < 1e-6);
    assert!(y[0][0] > 0.0 && y[0][0] < 1.0);
    // Same weights as the 7-wide model for the same seed and width.
    assert_eq!(Tiny::<7>::new(3).params(), model.params());
}

#[test]
fn predict_agrees_across_entry_points_and_chunks() {
    let model = Explicit::new(9);
    // More rows than one inference chunk, and not a multiple of it.
    let x: Vec<[f32; 10]> = (0..600)
        .map(|i| std::array::from_fn(|j| ((i * 7 + j * 3) % 11) as f32 - 5.0))
        .collect();
    let batch = model.predict(&x).unwrap();
    for (row, out) in x.iter().zip(&batch) {
        // predict_one sums in another order (latency path): equal to rounding.
        let one = model.predict_one(row).unwrap();
        assert!(
            (one[0] - out[0]).abs() <= 1e-6 * (1.0 + out[0].abs()),
            "{one:?} vs {out:?}"
        );
    }
    assert_eq!(model.predict_flat(x.as_flattened()).unwrap(), batch);
    assert_eq!(model.predict::<[f32; 10]>(&[]).unwrap().len(), 0);
}

#[test]
fn images_forward_flattens_row_major() {
    let mut model = Images::new(5);
    // With the first kernel set to pick pixel (2, 3) = index 2·8 + 3 into unit 0, the flattened
    // order is visible in the first layer's output.
    let mut params = model.params().to_vec();
    params[..320].fill(0.0);
    params[19 * 5] = 1.0;
    model.set_params(&params).unwrap();
    let zero = model.predict_one(&[0.0f32; 64]).unwrap();
    // Pixel (2, 3) reaches the output; its neighbour (2, 4) has no weight and changes nothing.
    let mut image = [0.0f32; 64];
    image[19] = 3.0;
    assert_ne!(model.predict_one(&image).unwrap(), zero);
    image[19] = 0.0;
    image[20] = 3.0;
    assert_eq!(model.predict_one(&image).unwrap(), zero);
}

#[test]
fn flat_input_of_the_wrong_width_is_a_clear_error() {
    let model = Explicit::new(1);
    let err = model.predict_flat(&[0.0; 25]).unwrap_err();
    assert_eq!(
        err,
        Error::RaggedRows {
            what: "input",
            len: 25,
            width: 10,
            full: 2,
            rest: 5
        }
    );
    assert_eq!(
        err.to_string(),
        "input has 25 values, which is not a whole number of rows of width 10 \
         (2 full rows and 5 values left over)"
    );
    assert_eq!(model.predict_flat(&[]).unwrap().len(), 0);
    assert!(Network::predict_flat(&model, &[0.0; 25]).is_err());
}

#[test]
fn weights_of_the_wrong_size_are_rejected_and_change_nothing() {
    let mut model = Explicit::new(1);
    let before = model.params().to_vec();
    let mut w = model.get_weights();
    w[3].pop();
    let err = model.set_weights(&w).unwrap_err();
    assert_eq!(
        err,
        Error::SizeMismatch {
            what: "values in a weight tensor",
            expected: 32,
            got: 31
        }
    );
    assert_eq!(model.params(), &before[..]);
    assert!(model.set_weights(&w[..5]).is_err());
    assert!(model.set_params(&before[1..]).is_err());
    assert_eq!(model.params(), &before[..]);
}

#[test]
fn large_predictions_are_the_same_on_one_and_two_threads() {
    // 5000 rows: past the parallel threshold for this model (rows × params ≥ 2^22), and not a
    // multiple of the 256-row chunk.
    let model = Explicit::new(11);
    let x: Vec<[f32; 10]> = (0..5000)
        .map(|i| std::array::from_fn(|j| ((i * 13 + j * 7) % 19) as f32 - 9.0))
        .collect();
    let run = |threads: usize| common::on_threads(threads, || model.predict(&x).unwrap());
    let one = run(1);
    assert_eq!(one, run(2));
    // And each row equals its prediction alone, to rounding (predict_one's order differs).
    for (row, out) in x.iter().zip(&one).step_by(97) {
        assert!((model.predict_one(row).unwrap()[0] - out[0]).abs() <= 1e-6 * (1.0 + out[0].abs()));
        assert_eq!(
            model.predict(std::slice::from_ref(row)).unwrap()[0],
            *out,
            "a row's result does not depend on its batch"
        );
    }
}

sequential! {
    /// Widths that are not multiples of 8: the last columns of each layer take the activations'
    /// single-value form, the others the eight-lane form.
    struct Ragged {
        Input(shape = (10,)),
        Dense(20, activation = tanh),
        Dense(13, activation = sigmoid),
        Dense(11, activation = silu),
        Dense(3, activation = softmax),
    }
}

#[test]
fn a_row_gives_the_same_bits_alone_and_in_any_batch_with_vector_activations() {
    let model = Ragged::new(3);
    let x: Vec<[f32; 10]> = (0..3000)
        .map(|i| std::array::from_fn(|j| ((i * 7 + j * 11) % 23) as f32 / 4.0 - 2.8))
        .collect();
    let run = |threads: usize| common::on_threads(threads, || model.predict(&x).unwrap());
    let all = run(1);
    assert_eq!(all, run(2), "1 and 2 threads differ");
    for (i, (row, out)) in x.iter().zip(&all).enumerate().step_by(37) {
        assert_eq!(
            model.predict(std::slice::from_ref(row)).unwrap()[0],
            *out,
            "row {i}"
        );
        assert_eq!(
            model.predict(&x[i..(i + 5).min(x.len())]).unwrap()[0],
            *out,
            "row {i}"
        );
        let one = model.predict_one(row).unwrap();
        for (a, b) in one.iter().zip(out) {
            assert!((a - b).abs() <= 1e-6, "predict_one row {i}: {a} vs {b}");
        }
    }
}

#[test]
fn literal_rows_infer_their_float_type() {
    let model = Explicit::new(1);
    let p = model.predict(&[[0.5; 10]]).unwrap();
    let one = model.predict_one(&[0.25; 10]).unwrap();
    assert!(p[0][0] > 0.0 && one[0] > 0.0);
}
