//! Many threads, one model: a model shared by reference across 16 threads, each calling
//! `predict`, `predict_one` and `evaluate` in a loop while rayon's pool is kept busy by other
//! work, answers every call exactly as the same call on one thread does (the crate promises
//! bit-identical results at any thread count; a shared model is read-only, and the packed
//! weights are packed once, whoever asks first).

use rand::{Rng, SeedableRng};
use seqnet::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

sequential! {
    /// Wide enough that a 600-row prediction runs its chunks on rayon's threads, its GEMMs
    /// split, and its kernels are packed (300 × 256, 256 × 256).
    struct Wide {
        Input(shape = (300,)),
        Dense(256, activation = relu),
        Dense(256, activation = tanh),
        Dense(3, activation = softmax),
    }
}

sequential! {
    /// The tutorial's model: every call stays on the calling thread.
    struct Tutorial {
        Input(shape = (10,)),
        Dense(64, activation = relu),
        Dense(32, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

fn rows<const W: usize>(count: usize, seed: u64) -> Vec<[f32; W]> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| std::array::from_fn(|_| rng.random_range(-1.0..1.0)))
        .collect()
}

const THREADS: usize = 16;
const ROUNDS: usize = 6;

#[test]
fn sixteen_threads_sharing_a_model_get_the_single_threaded_answers() {
    let x = rows::<300>(600, 1);
    let labels: Vec<f32> = (0..600).map(|i| (i % 3) as f32).collect();
    let wide = Wide::new(3).compile(
        Adam::new(0.01),
        Loss::sparse_categorical_crossentropy(),
        [Metric::Accuracy],
    );
    let tx = rows::<10>(300, 2);
    let t_labels: Vec<f32> = (0..300).map(|i| (i % 2) as f32).collect();
    let tutorial = Tutorial::new(4).compile(
        Adam::new(0.01),
        Loss::binary_crossentropy(),
        [Metric::Accuracy],
    );

    // The answers on one thread.
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let (want_wide, want_wide_one, want_wide_scores) = one.install(|| {
        (
            wide.predict(&x).unwrap(),
            wide.predict_one(&x[17]).unwrap(),
            wide.evaluate(&x, labels.as_slice()).unwrap(),
        )
    });
    let (want_tut, want_tut_one, want_tut_scores) = one.install(|| {
        (
            tutorial.predict(&tx).unwrap(),
            tutorial.predict_one(&tx[5]).unwrap(),
            tutorial.evaluate(&tx, t_labels.as_slice()).unwrap(),
        )
    });

    // Keep rayon's global pool busy with unrelated parallel work the whole time.
    let stop = AtomicBool::new(false);
    let calls = AtomicUsize::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            use rayon::prelude::*;
            while !stop.load(Ordering::Relaxed) {
                let v: Vec<f64> = (0..1 << 16)
                    .into_par_iter()
                    .map(|i| (i as f64).sqrt())
                    .collect();
                std::hint::black_box(v);
            }
        });
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (wide, tutorial, x, tx) = (&wide, &tutorial, &x, &tx);
                let (labels, t_labels, calls) = (&labels, &t_labels, &calls);
                let want = (&want_wide, &want_wide_one, &want_wide_scores);
                let want_t = (&want_tut, &want_tut_one, &want_tut_scores);
                s.spawn(move || {
                    for round in 0..ROUNDS {
                        // Threads start on different calls, so every kind overlaps every other.
                        match (t + round) % 3 {
                            0 => {
                                assert_eq!(&wide.predict(x).unwrap(), want.0, "thread {t}");
                                assert_eq!(&tutorial.predict(tx).unwrap(), want_t.0);
                            }
                            1 => {
                                assert_eq!(&wide.predict_one(&x[17]).unwrap(), want.1);
                                assert_eq!(&tutorial.predict_one(&tx[5]).unwrap(), want_t.1);
                            }
                            _ => {
                                let scores = wide.evaluate(x, labels.as_slice()).unwrap();
                                assert_eq!(&scores, want.2, "thread {t}");
                                let scores = tutorial.evaluate(tx, t_labels.as_slice()).unwrap();
                                assert_eq!(&scores, want_t.2);
                            }
                        }
                        calls.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let results: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
        stop.store(true, Ordering::Relaxed);
        for r in results {
            if let Err(panic) = r {
                std::panic::resume_unwind(panic);
            }
        }
    });
    assert_eq!(calls.load(Ordering::Relaxed), THREADS * ROUNDS);
}

/// A fresh model's first predictions race to pack its weights: every thread still gets the
/// answer of a model that packed before anyone asked.
#[test]
fn threads_racing_to_pack_a_fresh_model_agree() {
    let x = rows::<300>(300, 5);
    let want = Wide::new(8).predict(&x).unwrap();
    let fresh = Wide::new(8);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| s.spawn(|| fresh.predict(&x).unwrap()))
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), want);
        }
    });
}
