//! `fit`'s options, callbacks, History and errors behave as Keras' do.

use seqnet::data::tutorial_data;
mod common;

use seqnet::prelude::*;
use seqnet::train::{Logs, Mode, TrainState, TRAIN_CHUNK_ROWS};
use std::collections::HashMap;

sequential! {
    struct Net {
        Input(shape = (10,)),
        Dense(8, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    struct Classes {
        Input(shape = (10,)),
        Dense(3, activation = softmax),
    }
}

fn quiet<R, Y: ?Sized>(epochs: usize) -> Fit<'static, R, Y> {
    Fit {
        epochs,
        verbose: 0.into(),
        ..Fit::default()
    }
}

#[test]
fn same_seed_same_weights_other_seed_other_weights() {
    let (x, y) = tutorial_data(200, 1);
    let train = |seed: u64| {
        let mut m = Net::new(5).compile(Adam::new(0.01), Loss::binary_crossentropy(), []);
        m.fit(&x, &y, Fit { seed, ..quiet(3) }).unwrap();
        m.params().to_vec()
    };
    assert_eq!(train(1), train(1));
    assert_ne!(train(1), train(2));
}

#[test]
fn a_diverging_run_stops_with_the_epoch_and_batch() {
    let (x, y) = tutorial_data(64, 3);
    // With or without TerminateOnNaN, fit stops at the first batch whose loss, gradient or
    // update is not finite, names it, and keeps the last finite weights.
    for callbacks in [vec![Box::new(TerminateOnNaN) as Box<dyn Callback>], vec![]] {
        let mut m = Net::new(1).compile(SGD::new(1e30), Loss::binary_crossentropy(), []);
        let options = Fit {
            batch_size: 16,
            callbacks,
            ..quiet(5)
        };
        let err = m.fit(&x, &y, options).unwrap_err();
        let Error::Diverged {
            epoch,
            batch,
            ref layer,
            ..
        } = err
        else {
            panic!("expected Diverged, got {err}");
        };
        // lr 1e30 blows the weights up within the first two batches.
        assert_eq!(epoch, 0);
        assert!(batch <= 1, "{err}");
        assert!(["dense", "dense_1"].contains(&layer.as_str()), "{err}");
        assert!(
            err.to_string()
                .contains(&format!("at epoch 0, batch {batch}")),
            "{err}"
        );
        assert!(m.params().iter().all(|w| w.is_finite()));
    }
}

#[test]
fn early_stopping_follows_keras_and_restores_the_best_weights() {
    let mut params = vec![0.0f32; 3];
    let mut es = EarlyStopping::new("val_loss")
        .patience(2)
        .restore_best_weights(true);
    let losses = [1.0, 0.8, 0.9, 0.85, 0.7];
    let mut stopped_at = None;
    let mut state = TrainState {
        params: &mut params,
        state: &mut [],
        learning_rate: 0.1,
        stop_training: false,
        save_requests: Vec::new(),
    };
    es.on_train_begin(&mut state).unwrap();
    for (epoch, &l) in losses.iter().enumerate() {
        state.params.fill(epoch as f32); // the weights "of" this epoch
        let mut logs = Logs::from([("val_loss".to_string(), l)]);
        es.on_epoch_end(epoch, &mut logs, &mut state).unwrap();
        if state.stop_training {
            stopped_at = Some(epoch);
            break;
        }
    }
    // Best at epoch 1; epochs 2 and 3 do not improve; patience 2 stops at epoch 3.
    assert_eq!(stopped_at, Some(3));
    assert_eq!(es.best_epoch, Some(1));
    assert_eq!(
        state.params,
        &[1.0, 1.0, 1.0],
        "weights of the best epoch restored"
    );

    // min_delta: an improvement smaller than it does not count; mode max for accuracy.
    let mut es = EarlyStopping::new("val_accuracy")
        .min_delta(0.05)
        .patience(1);
    let mut state = TrainState {
        params: &mut params,
        state: &mut [],
        learning_rate: 0.1,
        stop_training: false,
        save_requests: Vec::new(),
    };
    for (epoch, acc) in [0.80, 0.83, 0.84].into_iter().enumerate() {
        let mut logs = Logs::from([("val_accuracy".to_string(), acc)]);
        es.on_epoch_end(epoch, &mut logs, &mut state).unwrap();
        if state.stop_training {
            assert_eq!(epoch, 1);
            break;
        }
    }
    assert!(state.stop_training);

    let mut bad = EarlyStopping::new("val_los");
    let mut logs = Logs::from([("val_loss".to_string(), 1.0)]);
    let err = bad.on_epoch_end(0, &mut logs, &mut state).unwrap_err();
    assert!(err.to_string().contains("val_los"), "{err}");
}

#[test]
fn reduce_lr_on_plateau_follows_keras() {
    let mut params = vec![0.0f32];
    let mut cb = ReduceLROnPlateau::new("loss")
        .factor(0.5)
        .patience(2)
        .min_lr(0.03);
    let mut state = TrainState {
        params: &mut params,
        state: &mut [],
        learning_rate: 0.1,
        stop_training: false,
        save_requests: Vec::new(),
    };
    cb.on_train_begin(&mut state).unwrap();
    let mut rates = Vec::new();
    for (epoch, l) in [1.0, 1.0, 1.0, 1.0, 1.0, 1.0].into_iter().enumerate() {
        let mut logs = Logs::from([("loss".to_string(), l)]);
        cb.on_epoch_end(epoch, &mut logs, &mut state).unwrap();
        assert_eq!(
            logs["learning_rate"] as f32,
            rates.last().copied().unwrap_or(0.1)
        );
        rates.push(state.learning_rate);
    }
    assert_eq!(rates, [0.1, 0.1, 0.05, 0.05, 0.03, 0.03]);
    assert_eq!(Mode::Auto, cb.mode);
}

#[test]
fn reduce_lr_changes_the_optimizer_during_fit() {
    let (x, y) = tutorial_data(64, 3);
    let mut m = Net::new(1).compile(Adam::new(0.01), Loss::binary_crossentropy(), []);
    let options = Fit {
        callbacks: vec![Box::new(
            // min_delta 10: no epoch counts as an improvement after the first.
            ReduceLROnPlateau::new("loss").patience(1).min_delta(10.0),
        )],
        ..quiet(3)
    };
    let history = m.fit(&x, &y, options).unwrap();
    assert_eq!(
        history.get("learning_rate").unwrap(),
        &[0.01f32 as f64, 0.01f32 as f64, 0.001f32 as f64]
    );
    // Reduced after epochs 1 and 2 (the log shows the rate each epoch ran with).
    assert_eq!(m.optimizer().learning_rate, 0.01f32 * 0.1 * 0.1);
}

#[test]
fn history_reads_by_name_and_writes_csv_and_json() {
    let (x, y) = tutorial_data(100, 4);
    let mut m = Net::new(2).compile(
        Adam::new(0.01),
        Loss::binary_crossentropy(),
        [Metric::Accuracy],
    );
    let h = m
        .fit(
            &x,
            &y,
            Fit {
                validation_split: 0.2,
                initial_epoch: 1,
                ..quiet(3)
            },
        )
        .unwrap();
    assert_eq!(h.epoch, [1, 2]);
    let keys: Vec<&str> = h.keys().collect();
    assert_eq!(keys, ["accuracy", "loss", "val_accuracy", "val_loss"]);
    let csv = h.to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "epoch,accuracy,loss,val_accuracy,val_loss");
    assert!(lines[1].starts_with("1,"));
    assert_eq!(lines.len(), 3);
    let json: serde_json::Value = serde_json::from_str(&h.to_json()).unwrap();
    assert_eq!(json["epoch"], serde_json::json!([1, 2]));
    // serde_json's default parser may be one ulp off (exact parsing is its float_roundtrip feature).
    let written = json["val_loss"][1].as_f64().unwrap();
    let recorded = h.get("val_loss").unwrap()[1];
    assert!(
        (written - recorded).abs() <= 1e-15 * recorded.abs(),
        "{written} vs {recorded}"
    );

    // The validation values are evaluate() on the last 20 rows, unshuffled.
    let val = m.evaluate(&x[80..], &y[80..]).unwrap();
    assert!((val.loss - h.last("val_loss").unwrap()).abs() < 1e-12);
}

#[test]
fn class_weight_scales_each_row_loss() {
    let (x, y) = tutorial_data(40, 5);
    let weights = HashMap::from([(0, 1.0f32), (1, 3.0)]);
    let mut m = Net::new(3).compile(SGD::new(0.0), Loss::binary_crossentropy(), []);
    let h = m
        .fit(
            &x,
            &y,
            Fit {
                batch_size: 40,
                class_weight: Some(weights.clone()),
                ..quiet(1)
            },
        )
        .unwrap();
    // Keras: Σ w·loss over the batch, divided by the number of rows.
    let expected: f64 = x
        .iter()
        .zip(&y)
        .map(|(row, &label)| {
            let l = m
                .evaluate(std::slice::from_ref(row), &[label])
                .unwrap()
                .loss;
            l * if label == 1.0 { 3.0 } else { 1.0 }
        })
        .sum::<f64>()
        / 40.0;
    assert!((h.last("loss").unwrap() - expected).abs() < 1e-6);

    let partial = HashMap::from([(0, 1.0f32)]);
    let err = m
        .fit(
            &x,
            &y,
            Fit {
                class_weight: Some(partial),
                ..quiet(1)
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("no weight for class 1"), "{err}");
}

#[test]
fn bad_data_is_a_clear_error_and_trains_nothing() {
    let (x, y) = tutorial_data(20, 6);
    let mut m =
        Classes::new(1).compile(Adam::new(0.01), Loss::sparse_categorical_crossentropy(), []);
    let before = m.params().to_vec();

    let mut labels = vec![0.0f32; 20];
    labels[7] = 3.0;
    let err = m.fit(&x, &labels, quiet(1)).unwrap_err();
    assert_eq!(
        err,
        Error::LabelOutOfRange {
            row: 7,
            label: 3.0,
            classes: 3
        }
    );
    assert_eq!(
        err.to_string(),
        "label 3 at row 7 is not a class id: the model has 3 outputs, so labels must be whole \
         numbers from 0 to 2"
    );
    labels[7] = 1.5;
    assert!(matches!(
        m.fit(&x, &labels, quiet(1)),
        Err(Error::LabelOutOfRange { row: 7, .. })
    ));

    let err = m.fit(&x, &y[..19], quiet(1)).unwrap_err();
    assert_eq!(
        err,
        Error::SizeMismatch {
            what: "label values (rows × labels per row)",
            expected: 20,
            got: 19
        }
    );

    let mut nan_x = x.clone();
    nan_x[4][2] = f32::NAN;
    let err = m.fit(&nan_x, &y, quiet(1)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFinite {
                what: "input",
                row: 4,
                column: 2,
                ..
            }
        ),
        "{err}"
    );

    // One row at 0.1: floor(0.9) = 0 training rows.
    let err = m
        .fit(
            &x[..1],
            &y[..1],
            Fit {
                validation_split: 0.1,
                ..quiet(1)
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("cannot be split"), "{err}");
    assert!(m
        .fit(
            &x,
            &y,
            Fit {
                batch_size: 0,
                ..quiet(1)
            }
        )
        .is_err());
    assert!(m
        .fit(
            &x,
            &y,
            Fit {
                validation_split: 1.0,
                ..quiet(1)
            }
        )
        .is_err());
    assert!(m.evaluate(&x[..0], &y[..0]).is_err());

    assert_eq!(m.params(), &before[..], "a rejected call must not train");
}

#[test]
fn validation_data_and_predict_classes() {
    let (x, y) = tutorial_data(300, 8);
    let (xv, yv) = tutorial_data(50, 9);
    let mut m = Net::new(4).compile(
        Adam::new(0.01),
        Loss::binary_crossentropy(),
        [Metric::Accuracy],
    );
    let h = m
        .fit(
            &x,
            &y,
            Fit {
                validation_data: Some((&xv, &yv)),
                ..quiet(2)
            },
        )
        .unwrap();
    let val = m.evaluate(&xv, &yv).unwrap();
    assert_eq!(h.last("val_accuracy"), val.get("accuracy"));
    let classes = m.predict_classes(&xv).unwrap();
    let probabilities = m.predict(&xv).unwrap();
    for (c, p) in classes.iter().zip(&probabilities) {
        assert_eq!(*c, usize::from(p[0] > 0.5));
    }
    // Typed rows cannot be ragged; validation labels can still be one short.
    let err = m
        .fit(
            &x,
            &y[..],
            Fit {
                validation_data: Some((&xv, &yv[1..])),
                ..quiet(1)
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::SizeMismatch {
                what: "validation label values (rows × labels per row)",
                expected: 50,
                got: 49,
            }
        ),
        "{err}"
    );
}

sequential! {
    /// Wide enough that its GEMMs are split among threads (≥ 2M multiply-adds at batch 128).
    struct Wide {
        Input(shape = (64,)),
        Dense(256, activation = relu),
        Dense(256, activation = tanh),
        Dense(10, activation = softmax),
    }
}

#[test]
fn training_is_bit_identical_on_one_and_two_threads() {
    let x: Vec<[f32; 64]> = (0..512)
        .map(|i| std::array::from_fn(|j| ((i * 31 + j * 17) % 23) as f32 / 11.0 - 1.0))
        .collect();
    let y: Vec<f32> = (0..512).map(|i| (i % 10) as f32).collect();
    let train = |threads: usize| {
        common::on_threads(threads, || {
            let mut m = Wide::new(9).compile(
                Adam::new(0.001),
                Loss::sparse_categorical_crossentropy(),
                [],
            );
            m.fit(
                &x,
                &y,
                Fit {
                    batch_size: 128,
                    seed: 4,
                    ..quiet(2)
                },
            )
            .unwrap();
            m.params().to_vec()
        })
    };
    let one = train(1);
    assert_eq!(one, train(2), "weights differ between 1 and 2 threads");
    assert_ne!(one, Wide::new(9).params(), "training changed the weights");
}

sequential! {
    /// The tutorial's shape: GEMMs too small to split, so large batches run as row chunks.
    struct Tutorial {
        Input(shape = (10,)),
        Dense(64, activation = relu),
        Dense(32, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

/// The loss and gradients of `rows` rows, run as chunks, against the row-weighted mean of each
/// 64-row part run on its own (whole: the path Keras' parity tests check).
fn chunked_equals_its_parts(m: &mut seqnet::Compiled<Tutorial, Adam>, rows: usize, chunks: usize) {
    let (x, y) = tutorial_data(rows, 3);
    assert_eq!(
        m.chunk_count(rows),
        chunks,
        "{rows} rows should run as {chunks} chunks"
    );
    let (loss, grads) = m.loss_and_gradients(&x, &y[..]).unwrap();
    let grads = grads.to_vec();
    let mut want_loss = 0.0;
    let mut want = vec![0.0f64; grads.len()];
    for start in (0..rows).step_by(TRAIN_CHUNK_ROWS) {
        let end = (start + TRAIN_CHUNK_ROWS).min(rows);
        let share = (end - start) as f64 / rows as f64;
        let (l, g) = m
            .loss_and_gradients(&x[start..end], &y[start..end])
            .unwrap();
        want_loss += share * l;
        want.iter_mut()
            .zip(g)
            .for_each(|(w, &g)| *w += share * g as f64);
    }
    assert!(
        (loss - want_loss).abs() < 1e-6,
        "{rows} rows: loss {loss} vs {want_loss}"
    );
    let scale = want.iter().fold(0.0f64, |s, w| s.max(w.abs()));
    for (i, (g, w)) in grads.iter().zip(&want).enumerate() {
        assert!(
            (*g as f64 - w).abs() <= 1e-6 * scale,
            "{rows} rows, gradient {i}: chunked {g} vs parts {w}"
        );
    }
}

#[test]
fn row_chunks_add_up_to_the_whole_batch() {
    let mut m = Tutorial::new(2).compile(Adam::new(0.001), Loss::binary_crossentropy(), []);
    assert_eq!(m.chunk_count(32), 1, "a small batch runs whole");
    chunked_equals_its_parts(&mut m, 300, 5);
    // More chunks than run at once (16): two waves, folded in order.
    chunked_equals_its_parts(&mut m, 1100, 18);

    let (x, y) = tutorial_data(300, 3);
    // Class weights reach every chunk: a weighted one-batch fit differs from an unweighted one.
    let fit_with = |class_weight: Option<HashMap<usize, f32>>| {
        let mut m = Tutorial::new(2).compile(Adam::new(0.01), Loss::binary_crossentropy(), []);
        m.fit(
            &x,
            &y,
            Fit {
                batch_size: 300,
                class_weight,
                shuffle: false,
                ..quiet(1)
            },
        )
        .unwrap();
        m.params().to_vec()
    };
    let weighted = fit_with(Some(HashMap::from([(0, 1.0), (1, 3.0)])));
    assert_ne!(weighted, fit_with(None));
}

#[test]
fn chunked_training_is_bit_identical_on_one_and_two_threads() {
    let (x, y) = tutorial_data(1024, 5);
    let train = |threads: usize| {
        common::on_threads(threads, || {
            let mut m = Tutorial::new(4).compile(
                Adam::new(0.001),
                Loss::binary_crossentropy(),
                [Metric::Accuracy],
            );
            assert!(m.chunk_count(256) > 1, "the test must exercise row chunks");
            let history = m
                .fit(
                    &x,
                    &y,
                    Fit {
                        batch_size: 256,
                        seed: 8,
                        ..quiet(3)
                    },
                )
                .unwrap();
            (
                m.params().to_vec(),
                history.get("accuracy").unwrap().to_vec(),
            )
        })
    };
    let (one, acc_one) = train(1);
    let (two, acc_two) = train(2);
    assert_eq!(one, two, "weights differ between 1 and 2 threads");
    assert_eq!(acc_one, acc_two, "metrics differ between 1 and 2 threads");
    assert_ne!(
        one,
        Tutorial::new(4).params(),
        "training changed the weights"
    );
}

#[test]
fn a_progress_sink_receives_keras_epoch_lines_and_silent_sends_nothing() {
    use seqnet::train::{ProgressEvent, Verbose};
    let (x, y) = tutorial_data(100, 3);
    let run = |verbose: Verbose| {
        let mut lines = Vec::new();
        let mut m = Net::new(2).compile(
            Adam::new(0.01),
            Loss::binary_crossentropy(),
            [Metric::Accuracy],
        );
        m.fit(
            &x,
            &y,
            Fit {
                epochs: 2,
                batch_size: 25,
                validation_split: 0.2,
                verbose,
                progress: Some(Box::new(|event: &ProgressEvent<'_>| {
                    lines.push(event.to_string())
                })),
                ..Fit::default()
            },
        )
        .unwrap();
        lines
    };
    for verbose in [Verbose::ProgressBar, 2.into()] {
        let lines = run(verbose);
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0], "Epoch 1/2");
        assert_eq!(lines[2], "Epoch 2/2");
        let bar = if verbose == Verbose::ProgressBar {
            "4/4 ━━━━━━━━━━━━━━━━━━━━ "
        } else {
            "4/4 - "
        };
        for end in [&lines[1], &lines[3]] {
            // 80 training rows in batches of 25: 4 steps; values sorted by name as Keras logs.
            assert!(end.starts_with(bar), "{end}");
            let values = end.split_once("/step - ").unwrap().1;
            let names: Vec<&str> = values
                .split(" - ")
                .map(|v| v.split_once(": ").unwrap().0)
                .collect();
            assert_eq!(
                names,
                ["accuracy", "loss", "val_accuracy", "val_loss"],
                "{end}"
            );
        }
    }
    assert!(run(Verbose::Silent).is_empty());
    assert_eq!(Verbose::from(0), Verbose::Silent);
    assert_eq!(Verbose::from(1), Verbose::ProgressBar);
    assert_eq!(Verbose::from(2), Verbose::EpochLines);
    assert_eq!(Verbose::default(), Verbose::ProgressBar);
}

#[test]
fn options_bound_first_infer_the_row_and_label_types() {
    let (x, y) = tutorial_data(60, 3);
    let (xv, yv) = tutorial_data(20, 4);
    let mut m = Net::new(2).compile(Adam::new(0.01), Loss::binary_crossentropy(), []);
    let options = Fit {
        epochs: 2,
        validation_data: Some((&xv, &yv)),
        verbose: 0.into(),
        ..Fit::default()
    };
    let h = m.fit(&x, &y, options).unwrap();
    assert_eq!(h.get("val_loss").map(<[f64]>::len), Some(2));
    let h = m
        .fit(
            &x,
            &y,
            Fit {
                epochs: 1,
                verbose: 0.into(),
                ..Fit::default()
            },
        )
        .unwrap();
    assert!(h.get("val_loss").is_none());
}

/// Net with SGD, trained one epoch of one batch (no shuffle) on `x`, `y`, `weights`.
fn one_sgd_step(
    lr: f32,
    x: &[[f32; 10]],
    y: &[f32],
    weights: Option<&[f32]>,
) -> (f64, Vec<Vec<f32>>) {
    let mut m = Net::new(11).compile(SGD::new(lr), Loss::binary_crossentropy(), []);
    let h = m
        .fit(
            x,
            y,
            Fit {
                batch_size: x.len(),
                shuffle: false,
                sample_weight: weights,
                ..quiet(1)
            },
        )
        .unwrap();
    (h.last("loss").unwrap(), m.get_weights())
}

#[test]
fn sample_weight_scales_the_reported_loss_as_keras_reduces_it() {
    let (x, y) = tutorial_data(64, 5);
    let (plain, _) = one_sgd_step(0.1, &x, &y, None);
    let (twice, _) = one_sgd_step(0.1, &x, &y, Some(&[2.0; 64]));
    // One batch: the logged loss is the batch loss before the step; weights of 2 double it
    // exactly (Keras reports the weighted loss, divided by the row count, not by Σw).
    assert_eq!(twice, 2.0 * plain);
    let (ones, w_ones) = one_sgd_step(0.1, &x, &y, Some(&[1.0; 64]));
    let (_, w_plain) = one_sgd_step(0.1, &x, &y, None);
    assert_eq!((ones, w_ones), (plain, w_plain));
}

#[test]
fn rows_of_weight_zero_do_not_move_the_weights_beyond_the_batch_size_divisor() {
    // 64 rows, the last 32 weighted 0. Keras divides the weighted sum by the batch's 64 rows,
    // so the gradient is half the gradient of the first 32 rows alone (divided by 32): one SGD
    // step at lr 0.1 with the zero-weighted rows equals one step at lr 0.05 on the 32 rows.
    let (x, y) = tutorial_data(64, 5);
    let mut w = [1.0f32; 64];
    w[32..].fill(0.0);
    let (loss_weighted, weighted) = one_sgd_step(0.1, &x, &y, Some(&w));
    let (loss_kept, kept) = one_sgd_step(0.05, &x[..32], &y[..32], None);
    assert!(
        (loss_weighted - loss_kept / 2.0).abs() <= 1e-7 * loss_kept,
        "{loss_weighted} vs {loss_kept} / 2"
    );
    let start = Net::new(11).get_weights();
    for (a, b) in weighted.iter().flatten().zip(kept.iter().flatten()) {
        assert!((a - b).abs() <= 1e-6, "{a} vs {b}");
    }
    assert_ne!(weighted, start, "the step changed nothing");
    // Changing a zero-weighted row's label changes nothing at all.
    let mut y2 = y.clone();
    y2[40] = 1.0 - y2[40];
    y2[63] = 1.0 - y2[63];
    assert_eq!(one_sgd_step(0.1, &x, &y2, Some(&w)).1, weighted);
}

#[test]
fn sample_weight_multiplies_class_weight_and_weights_val_loss_with_validation_split() {
    let (x, y) = tutorial_data(80, 6);
    let class_weight: HashMap<usize, f32> = [(0, 1.0), (1, 3.0)].into_iter().collect();
    let per_row: Vec<f32> = (0..80).map(|i| 0.5 + (i % 4) as f32 * 0.25).collect();
    // class_weight × sample_weight equals the product given as sample_weight alone.
    let product: Vec<f32> = per_row
        .iter()
        .zip(&y)
        .map(|(w, &label)| w * class_weight[&(label as usize)])
        .collect();
    let fit = |class_weight: Option<HashMap<usize, f32>>, weights: &[f32]| {
        let mut m = Net::new(3).compile(Adam::new(0.01), Loss::binary_crossentropy(), []);
        let h = m
            .fit(
                &x,
                &y,
                Fit {
                    batch_size: 16,
                    validation_split: 0.25,
                    class_weight,
                    sample_weight: Some(weights),
                    ..quiet(2)
                },
            )
            .unwrap();
        (h, m)
    };
    let (h_both, m_both) = fit(Some(class_weight), &per_row);
    let (h_product, _) = fit(None, &product);
    assert_eq!(h_both.get("loss"), h_product.get("loss"));
    // val_loss: the held-out rows (60..80) weighted by their sample weights (not by the class
    // weights, which are for training only), summed and divided by their count.
    let probabilities = m_both.predict(&x[60..]).unwrap();
    let expected: f64 = probabilities
        .iter()
        .zip(&y[60..])
        .zip(&per_row[60..])
        .map(|((p, &t), &w)| {
            let p = f64::from(p[0]);
            let t = f64::from(t);
            f64::from(w) * -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
        })
        .sum::<f64>()
        / 20.0;
    let got = h_both.last("val_loss").unwrap();
    assert!(
        (got - expected).abs() <= 1e-5 * expected,
        "{got} vs {expected}"
    );
}
