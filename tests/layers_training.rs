//! Training models with the new layers: the same weights on any number of threads (Conv2D
//! groups, Dropout masks, row chunks), Dropout reproducible from the model's seed, training and
//! inference modes where Keras uses them, and large image models predicting one row safely.

mod common;
use common::on_threads;
use seqnet::prelude::*;

sequential! {
    /// Conv2D + pooling + Dropout: trained in 64-row chunks on threads for large batches.
    struct ConvDropout {
        Input(shape = (8, 8, 1)),
        Conv2D(8, (3, 3), activation = relu),
        MaxPooling2D((2, 2)),
        Flatten,
        Dropout(0.5),
        Dense(3, activation = softmax),
    }
}

sequential! {
    /// With BatchNormalization a batch runs whole; Conv2D's image groups carry the threads.
    struct ConvBatchNorm {
        Input(shape = (10, 10, 2)),
        Conv2D(16, (3, 3), padding = "same", activation = relu),
        BatchNormalization,
        AveragePooling2D((2, 2)),
        Flatten,
        Dropout(0.2),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    /// Large enough that `predict_one` keeps its intermediate outputs off the stack.
    struct LargeImages {
        Input(shape = (64, 64, 3)),
        Conv2D(32, (3, 3), activation = relu),
        GlobalAveragePooling2D,
        Dense(2, activation = softmax),
    }
}

/// Deterministic pseudo-random values in [−1, 1).
fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

fn images<R: seqnet::Row>(rows: usize, seed: u32) -> Vec<R> {
    let v = values(rows * R::WIDTH, seed);
    let mut out = vec![R::zeros(); rows];
    R::flat_mut(&mut out).copy_from_slice(&v);
    out
}

/// Weights after a few `fit` epochs on `threads` threads.
fn trained_conv_dropout(threads: usize, seed: u64) -> (Vec<f32>, Vec<f64>) {
    on_threads(threads, || {
        let x: Vec<[[[f32; 1]; 8]; 8]> = images(300, 1);
        let y: Vec<f32> = (0..300).map(|i| (i % 3) as f32).collect();
        let mut m = ConvDropout::new(seed).compile(
            Adam::new(0.01),
            Loss::sparse_categorical_crossentropy(),
            [Metric::Accuracy],
        );
        // 256-row batches: four 64-row chunks each, run on the pool.
        assert!(m.chunk_count(256) > 1);
        let history = m
            .fit(
                &x,
                &y,
                Fit {
                    epochs: 3,
                    batch_size: 256,
                    verbose: 0.into(),
                    ..Fit::default()
                },
            )
            .unwrap();
        (m.params().to_vec(), history.get("loss").unwrap().to_vec())
    })
}

#[test]
fn conv_dropout_training_is_bit_identical_on_one_and_two_threads() {
    let one = trained_conv_dropout(1, 5);
    let two = trained_conv_dropout(2, 5);
    assert_eq!(one, two);
    // Dropout masks come from the model's seed: another seed trains other weights.
    let other = trained_conv_dropout(1, 6);
    assert_ne!(one.0, other.0);
    // And the same seed again gives the same run.
    assert_eq!(trained_conv_dropout(1, 5), one);
}

#[test]
fn batch_norm_conv_training_is_bit_identical_on_one_and_two_threads() {
    let run = |threads: usize| {
        on_threads(threads, || {
            let x: Vec<[[[f32; 2]; 10]; 10]> = images(96, 2);
            let y: Vec<f32> = (0..96).map(|i| (i % 2) as f32).collect();
            let mut m = ConvBatchNorm::new(3).compile(
                SGD::new(0.05).momentum(0.9),
                Loss::binary_crossentropy(),
                [Metric::Accuracy],
            );
            assert_eq!(
                m.chunk_count(96),
                1,
                "batch statistics need the whole batch"
            );
            let mut losses = Vec::new();
            for _ in 0..3 {
                losses.push(m.train_on_batch(&x, &y).unwrap());
            }
            (m.params().to_vec(), m.state().to_vec(), losses)
        })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    // The moving statistics moved from their initial 0 and 1.
    let c = 16;
    assert!(one.1[..c].iter().all(|&m| m != 0.0));
    assert!(one.1[c..].iter().all(|&v| v != 1.0));
}

#[test]
fn evaluate_runs_in_inference_mode_and_train_on_batch_in_training_mode() {
    let x: Vec<[[[f32; 2]; 10]; 10]> = images(32, 4);
    let y: Vec<f32> = (0..32).map(|i| (i % 2) as f32).collect();
    let mut m = ConvBatchNorm::new(8).compile(Adam::new(0.0), Loss::binary_crossentropy(), []);
    // Twice in inference mode: the same loss, and nothing changes.
    let state = m.state().to_vec();
    let a = m.evaluate(&x, &y).unwrap().loss;
    assert_eq!(m.evaluate(&x, &y).unwrap().loss, a);
    assert_eq!(m.state(), &state[..]);
    // Training mode (batch statistics, dropout; a zero learning rate changes no weight): a
    // different loss, and the moving statistics move.
    let params = m.params().to_vec();
    let t = m.train_on_batch(&x, &y).unwrap();
    assert_ne!(t, a);
    assert_eq!(m.params(), &params[..]);
    assert_ne!(m.state(), &state[..]);
    // loss_and_gradients is a training pass that leaves the model as it was.
    let state = m.state().to_vec();
    m.loss_and_gradients(&x, &y).unwrap();
    assert_eq!(m.state(), &state[..]);
}

#[test]
fn dropout_draws_new_masks_each_step() {
    let x: Vec<[[[f32; 1]; 8]; 8]> = images(16, 7);
    let y: Vec<f32> = (0..16).map(|i| (i % 3) as f32).collect();
    let mut m =
        ConvDropout::new(1).compile(Adam::new(0.0), Loss::sparse_categorical_crossentropy(), []);
    let losses: Vec<f64> = (0..3).map(|_| m.train_on_batch(&x, &y).unwrap()).collect();
    assert!(
        losses[0] != losses[1] && losses[1] != losses[2],
        "{losses:?}"
    );
    // With the same weights, inference is deterministic.
    let e = m.evaluate(&x, &y).unwrap().loss;
    assert_eq!(m.evaluate(&x, &y).unwrap().loss, e);
}

#[test]
fn large_image_models_predict_one_row_off_the_stack() {
    let model = LargeImages::new(2);
    let x: Vec<[[[f32; 3]; 64]; 64]> = images(3, 9);
    let batch = model.predict(&x).unwrap();
    // On a thread with a small stack: 62·62·32 floats of conv output (492 KB) do not fit in
    // 256 KB; `predict_one` keeps them in a per-thread buffer instead.
    let one = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            (
                model.predict_one(&x[0]).unwrap(),
                model.predict_one(&x[2]).unwrap(),
            )
        })
        .unwrap()
        .join()
        .unwrap();
    for (a, b) in [(one.0, batch[0]), (one.1, batch[2])] {
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() <= 1e-6, "{a:?} vs {b:?}");
        }
    }
}
