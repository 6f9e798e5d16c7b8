//! Recurrent layers on many threads: a batch's rows sweep through time in blocks, one block per
//! thread, and a row's values do not depend on the rows beside it, so `predict` and a training
//! step give the same bits at any thread count and any batch size (the crate's promise), for
//! every recurrent kind, with a mask, with sequences returned, and through Bidirectional.

use rand::{Rng, SeedableRng};
use seqnet::layers::Phase;
use seqnet::prelude::*;
use seqnet::Tape;

sequential! {
    /// Every kind, sequences returned between them, the time axis ended by the last.
    struct Kinds {
        Input(shape = (9, 3)),
        Masking(mask_value = 0.0),
        LSTM(16, return_sequences = true),
        GRU(8, reset_after = false, return_sequences = true),
        Bidirectional(GRU(8, return_sequences = true)),
        SimpleRNN(6),
        Dense(2),
    }
}

/// `count` sequences, a few of them with masked (all-zero) steps.
fn sequences(count: usize, seed: u64) -> Vec<[[f32; 3]; 9]> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|r| {
            std::array::from_fn(|t| {
                if r % 3 == 1 && t % 4 == 2 {
                    [0.0; 3]
                } else {
                    std::array::from_fn(|_| rng.random_range(-1.5..1.5))
                }
            })
        })
        .collect()
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
}

fn bits(values: &[[f32; 2]]) -> Vec<u32> {
    values.iter().flatten().map(|v| v.to_bits()).collect()
}

#[test]
fn predict_gives_the_same_bits_on_any_number_of_threads() {
    let model = Kinds::new(7);
    for rows in [2, 9, 16, 17, 33, 64, 65, 257] {
        let x = sequences(rows, rows as u64);
        let one = pool(1).install(|| model.predict(&x).expect("a prediction"));
        assert!(one.iter().flatten().all(|v| v.is_finite()));
        for threads in [2, 3, 16] {
            let many = pool(threads).install(|| model.predict(&x).expect("a prediction"));
            assert_eq!(
                bits(&one),
                bits(&many),
                "{rows} rows on {threads} threads differ from one thread"
            );
        }
        // And each row alone (predict_one: the one-row path) to rounding.
        for (r, row) in x.iter().enumerate().step_by(7) {
            let alone = model.predict_one(row).expect("a prediction");
            for (a, b) in alone.iter().zip(&one[r]) {
                assert!(
                    (a - b).abs() <= 1e-5,
                    "row {r}: {a} alone, {b} in the batch"
                );
            }
        }
    }
}

/// A tape made for 2 rows runs passes of 1 and 2: the one-row pass projects all 9 steps up
/// front, more than 2 rows' one-step scratch (and more than their whole scratch, unless the
/// layer sizes it for that), as `predict` does in its last, shorter chunk. The same bits as
/// `predict` on those rows.
#[test]
fn a_tape_runs_passes_of_fewer_rows_than_it_was_made_for() {
    let model = Kinds::new(7);
    let x = sequences(2, 5);
    let mut tape = Tape::for_network::<Kinds>(2, false);
    for rows in [1, 2, 1] {
        let flat = <[[f32; 3]; 9] as seqnet::Row>::flat(&x[..rows]);
        model
            .forward(flat, rows, &mut tape, Phase::Inference)
            .expect("a pass");
        let got: Vec<u32> = tape
            .output(flat, rows)
            .iter()
            .map(|v| v.to_bits())
            .collect();
        let want = model.predict(&x[..rows]).expect("a prediction");
        assert_eq!(got, bits(&want), "{rows} rows on a tape for 2");
    }
}

#[test]
fn a_training_step_gives_the_same_bits_on_any_number_of_threads() {
    // 40 rows: one backward pass over them all; 72: in blocks of 32, 32 and 8 rows.
    for rows in [40, 72] {
        training_steps_agree(rows);
    }
}

fn training_steps_agree(rows: usize) {
    let x = sequences(rows, 3);
    let y: Vec<[f32; 2]> = (0..rows)
        .map(|r| [(r % 3) as f32 - 1.0, (r % 5) as f32 / 4.0])
        .collect();
    let step = |threads: usize| {
        let mut model = Kinds::new(11).compile(Adam::new(1e-2), Loss::MeanSquaredError, []);
        let losses: Vec<f64> = pool(threads).install(|| {
            (0..2)
                .map(|_| model.train_on_batch(&x, &y[..]).expect("a step"))
                .collect()
        });
        (losses, model.get_weights())
    };
    let (losses, weights) = step(1);
    assert!(losses.iter().all(|l| l.is_finite() && *l > 0.0));
    for threads in [2, 4] {
        let (l, w) = step(threads);
        assert_eq!(losses, l, "{rows} rows: losses on {threads} threads");
        assert_eq!(weights, w, "{rows} rows: weights on {threads} threads");
    }
}

/// The backward pass over 64 rows or more runs in blocks of 32 with a dR of their own, summed
/// after: its gradient is the batch's, the row-weighted mean of two smaller batches' (each
/// under 64 rows: one pass over all of them), to float rounding.
#[test]
fn the_blocked_backward_pass_gives_the_batch_gradient() {
    let x = sequences(72, 9);
    let y: Vec<[f32; 2]> = (0..72)
        .map(|r| [(r % 4) as f32 - 1.5, (r % 7) as f32 / 6.0])
        .collect();
    let gradient = |rows: std::ops::Range<usize>| {
        let mut model = Kinds::new(4).compile(SGD::new(0.01), Loss::MeanSquaredError, []);
        model
            .train_on_batch(&x[rows.clone()], &y[rows])
            .expect("a step");
        model.gradients().to_vec()
    };
    let (all, first, rest) = (gradient(0..72), gradient(0..40), gradient(40..72));
    let mut largest = 0.0f32;
    for (i, ((g, a), b)) in all.iter().zip(&first).zip(&rest).enumerate() {
        let want = (40.0 * a + 32.0 * b) / 72.0;
        assert!(
            (g - want).abs() <= 1e-5 * (1.0 + want.abs()),
            "gradient {i}: {g} over 72 rows, {want} from 40 + 32"
        );
        largest = largest.max(want.abs());
    }
    assert!(largest > 1e-3, "a gradient that reaches the weights");
}
