//! The new layers through `sequential!`: every argument spelling Keras allows, shapes and
//! parameter counts as Keras computes them, default names, the tutorial image model's summary,
//! typed image rows, generic models with shape-preserving layers, and weights in Keras' order.

use seqnet::prelude::*;
use seqnet::{ModelSpec, Row};

sequential! {
    /// The second Keras tutorial's image model.
    struct ConvTutorial {
        Conv2D(32, (3, 3), activation = relu, input_shape = (28, 28, 1)),
        MaxPooling2D((2, 2)),
        Flatten,
        Dense(10, activation = softmax),
    }
}

sequential! {
    /// Positional and keyword forms, with and without parentheses.
    struct Forms {
        Input(shape = (12, 10, 3)),
        Conv2D(8, 3, strides = (2, 2), padding = "same", activation = relu),
        MaxPooling2D(pool_size = (2, 2), strides = (1, 1), padding = "same"),
        BatchNormalization,
        Conv2D(filters = 6, kernel_size = (3, 2), padding = same, use_bias = false),
        AveragePooling2D((2, 3), 1),
        BatchNormalization(momentum = 0.9, epsilon = 1e-5, center = false),
        Activation("tanh"),
        Dropout(0.25, seed = 3),
        GlobalMaxPooling2D(keepdims = true),
        Reshape((2, 3)),
        Flatten(),
        Dense(4, activation = softmax, name = "head"),
    }
}

sequential! {
    /// No input shape: the shape-preserving layers take the width from the data.
    struct GenericHead {
        Dropout(0.5),
        BatchNormalization,
        Activation(tanh),
        Dense(3, activation = softmax),
    }
}

sequential! {
    /// A strided 'same' conv then global average pooling, for typed rows and weights.
    struct SmallImages {
        Input(shape = (5, 4, 2)),
        Conv2D(3, (3, 3), padding = "same", activation = relu),
        BatchNormalization(),
        GlobalAveragePooling2D,
        Dense(2, activation = sigmoid),
    }
}

fn shapes(spec: &ModelSpec) -> Vec<(String, &'static str, Vec<usize>, usize)> {
    spec.layers
        .iter()
        .map(|l| {
            (
                l.name.clone(),
                l.class_name,
                l.output_shape.clone(),
                l.param_count(),
            )
        })
        .collect()
}

#[test]
fn tutorial_image_model_summary_is_keras() {
    let expected = "\
Model: \"ConvTutorial\"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ conv2d (Conv2D)                 │ (None, 26, 26, 32)     │           320 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ max_pooling2d (MaxPooling2D)    │ (None, 13, 13, 32)     │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ flatten (Flatten)               │ (None, 5408)           │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 10)             │        54,090 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 54,410 (212.54 KB)
 Trainable params: 54,410 (212.54 KB)
 Non-trainable params: 0 (0.00 B)
";
    assert_eq!(ConvTutorial::new(0).summary_string(), expected);
    assert_eq!(<ConvTutorial as Network>::INPUT_WIDTH, 784);
    assert_eq!(<ConvTutorial as Network>::OUTPUT_WIDTH, 10);
    // 26·26 positions × 9 taps × 32 filters, a 2×2 window per pooled value, then 5408 × 10.
    assert_eq!(
        <ConvTutorial as Network>::MACS_PER_ROW,
        26 * 26 * 9 * 32 + 5408 * 4 + 5408 * 10
    );
}

#[test]
fn every_argument_form_builds_the_keras_shapes() {
    let spec = Forms::spec();
    let want: Vec<(String, &str, Vec<usize>, usize)> = vec![
        // 'same', stride 2: ⌈12/2⌉ × ⌈10/2⌉; 3·3·3·8 + 8.
        ("conv2d".into(), "Conv2D", vec![6, 5, 8], 224),
        ("max_pooling2d".into(), "MaxPooling2D", vec![6, 5, 8], 0),
        (
            "batch_normalization".into(),
            "BatchNormalization",
            vec![6, 5, 8],
            32,
        ),
        // 3×2 kernel, no bias: 3·2·8·6.
        ("conv2d_1".into(), "Conv2D", vec![6, 5, 6], 288),
        // 'valid' 2×3 pool, stride 1: 5 × 3.
        (
            "average_pooling2d".into(),
            "AveragePooling2D",
            vec![5, 3, 6],
            0,
        ),
        // No center: γ, moving mean and variance.
        (
            "batch_normalization_1".into(),
            "BatchNormalization",
            vec![5, 3, 6],
            18,
        ),
        ("activation".into(), "Activation", vec![5, 3, 6], 0),
        ("dropout".into(), "Dropout", vec![5, 3, 6], 0),
        (
            "global_max_pooling2d".into(),
            "GlobalMaxPooling2D",
            vec![1, 1, 6],
            0,
        ),
        ("reshape".into(), "Reshape", vec![2, 3], 0),
        ("flatten".into(), "Flatten", vec![6], 0),
        ("head".into(), "Dense", vec![4], 28),
    ];
    assert_eq!(shapes(&spec), want);
    assert_eq!(<Forms as Network>::PARAM_COUNT, 224 + 32 + 288 + 18 + 28);
    assert_eq!(<Forms as Network>::STATE_COUNT, 16 + 12);
    assert_eq!(<Forms as Network>::TRAINABLE_COUNT, 224 + 16 + 288 + 6 + 28);
    let bn = &spec.layers[5];
    let names: Vec<(&str, bool)> = bn.weights.iter().map(|w| (w.name, w.trainable)).collect();
    assert_eq!(
        names,
        [
            ("gamma", true),
            ("moving_mean", false),
            ("moving_variance", false)
        ]
    );
    assert_eq!(spec.layers[6].activation.as_deref(), Some("tanh"));

    // The model runs end to end, and one row alone equals its batch row to rounding.
    let model = Forms::new(4);
    let x: Vec<[[[f32; 3]; 10]; 12]> = (0..3)
        .map(|i| {
            let mut image = [[[0.0f32; 3]; 10]; 12];
            for (j, v) in image.iter_mut().flatten().flatten().enumerate() {
                *v = ((i * 31 + j * 7) % 23) as f32 / 23.0 - 0.5;
            }
            image
        })
        .collect();
    let batch = model.predict(&x).unwrap();
    for (row, want) in x.iter().zip(&batch) {
        let one = model.predict_one(row).unwrap();
        for (a, b) in one.iter().zip(want) {
            assert!((a - b).abs() <= 1e-6, "{one:?} vs {want:?}");
        }
        assert!((one.iter().sum::<f32>() - 1.0).abs() < 1e-5, "softmax");
    }
}

#[test]
fn shape_preserving_layers_work_without_an_input_shape() {
    let model = GenericHead::new(2);
    let x = [[0.5f32, -1.0, 2.0, 0.0, 3.0]];
    let p = model.predict(&x).unwrap();
    // Inference: Dropout passes through, BatchNormalization uses moving mean 0, variance 1.
    // predict_one agrees to rounding (its one-row kernel may group sums otherwise).
    let one = model.predict_one(&x[0]).unwrap();
    for (a, b) in one.iter().zip(&p[0]) {
        assert!(
            (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
            "{one:?} vs {:?}",
            p[0]
        );
    }
    assert_eq!(<GenericHead<5> as Network>::STATE_COUNT, 10);
    assert_eq!(
        shapes(&GenericHead::<5>::spec())[1],
        (
            "batch_normalization".into(),
            "BatchNormalization",
            vec![5],
            20
        )
    );
}

#[test]
fn images_are_typed_rows_and_flat_rows_give_the_same_outputs() {
    let model = SmallImages::new(9);
    let mut images = vec![[[[0.0f32; 2]; 4]; 5]; 4];
    for (i, v) in images.iter_mut().flatten().flatten().flatten().enumerate() {
        *v = (i as f32 * 0.37).sin();
    }
    let flat: Vec<[f32; 40]> = images
        .iter()
        .map(|image| image.as_flat().try_into().unwrap())
        .collect();
    assert_eq!(
        model.predict(&images).unwrap(),
        model.predict(&flat).unwrap()
    );
    assert_eq!(
        model.predict(&images).unwrap(),
        model
            .predict_flat(<[[[f32; 2]; 4]; 5]>::flat(&images))
            .unwrap()
    );
    assert_eq!(
        model.predict_one(&images[1]).unwrap(),
        model.predict_one(&flat[1]).unwrap()
    );
}

#[test]
fn weights_go_in_and_out_in_keras_order() {
    let mut model = SmallImages::new(1);
    let spec = SmallImages::spec();
    let listed: Vec<(&str, Vec<usize>)> = spec
        .weights()
        .map(|(_, w)| (w.name, w.shape.clone()))
        .collect();
    assert_eq!(
        listed,
        [
            ("kernel", vec![3, 3, 2, 3]),
            ("bias", vec![3]),
            ("gamma", vec![3]),
            ("beta", vec![3]),
            ("moving_mean", vec![3]),
            ("moving_variance", vec![3]),
            ("kernel", vec![3, 2]),
            ("bias", vec![2]),
        ]
    );
    // Fresh BatchNormalization: γ = 1, β = 0, moving mean 0, moving variance 1.
    let w = model.get_weights();
    assert_eq!((&w[2][..], &w[3][..]), (&[1.0; 3][..], &[0.0; 3][..]));
    assert_eq!((&w[4][..], &w[5][..]), (&[0.0; 3][..], &[1.0; 3][..]));

    // Distinct values per tensor: each lands in its own place, trainable or not.
    let given: Vec<Vec<f32>> = w
        .iter()
        .enumerate()
        .map(|(t, v)| (0..v.len()).map(|i| t as f32 + i as f32 / 100.0).collect())
        .collect();
    model.set_weights(&given).unwrap();
    assert_eq!(model.get_weights(), given);
    assert_eq!(model.state(), [given[4].clone(), given[5].clone()].concat());
    assert_eq!(model.params()[57..60], given[2][..]);
}

sequential! {
    /// Activation layers of widths 5 and 13 (not multiples of the eight-lane chunk) with the
    /// activations whose vector form differs from the scalar one in the last bits.
    struct OddActivations {
        Input(shape = (7,)),
        Dense(5),
        Activation(tanh),
        Dense(13),
        Activation(sigmoid),
        Dense(13),
        Activation(silu),
        Dense(2),
    }
}

/// A row's output is the same alone and at any place in a batch (the crate's promise): an
/// Activation layer once ran its eight-lane chunks across rows, so rows of odd widths changed
/// in the last bits with their place in the batch.
#[test]
fn activation_layers_give_a_row_the_same_bits_alone_and_in_a_batch() {
    let model = OddActivations::new(5);
    let x: Vec<[f32; 7]> = (0..400)
        .map(|i| std::array::from_fn(|j| ((i * 13 + j * 5) % 17) as f32 / 8.0 - 1.0))
        .collect();
    let batch = model.predict(&x).unwrap();
    for (i, (row, want)) in x.iter().zip(&batch).enumerate() {
        assert_eq!(
            &model.predict(std::slice::from_ref(row)).unwrap()[0],
            want,
            "row {i}"
        );
    }
}
