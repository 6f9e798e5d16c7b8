//! Every bad input to the training API (issue 10's training side and the errors "Training like
//! Keras" lists) is an error of the exact variant, never a panic and never `Ok` with
//! non-finite weights, and leaves the model bit for bit as it was: weights, moving statistics,
//! optimizer state and iterations.

use seqnet::data::tutorial_data;
use seqnet::prelude::*;
use seqnet::train::Compiled;
use std::collections::HashMap;

sequential! {
    /// The tutorial's classifier.
    struct Net {
        Input(shape = (10,)),
        Dense(64, activation = relu),
        Dense(32, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    /// Three classes.
    struct Classes {
        Input(shape = (10,)),
        Dense(8, activation = relu),
        Dense(3, activation = softmax),
    }
}

sequential! {
    /// With moving statistics (non-trainable state).
    struct Normed {
        Input(shape = (10,)),
        Dense(16, activation = relu),
        BatchNormalization,
        Dense(1, activation = sigmoid),
    }
}

/// Everything a failed call must leave as it was, as bits: `get_weights()` (trainable and
/// state, Keras' order), each optimizer slot, the iterations.
type Bits = (Vec<Vec<u32>>, Vec<Vec<u32>>, u64);

/// What a case's call returned, and the model before and after it.
struct Outcome {
    result: Result<()>,
    before: Bits,
    after: Bits,
}

/// Whether an error is the expected variant.
type Expect = fn(&Error) -> bool;

/// One bad input: its name, the call that feeds it to the public API, the variant expected.
struct Case {
    name: &'static str,
    run: Box<dyn Fn() -> Outcome>,
    expect: Expect,
}

fn bits<N: Network, O: Optimizer>(m: &Compiled<N, O>) -> Bits {
    let to_bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    (
        m.get_weights().iter().map(|w| to_bits(w)).collect(),
        m.optimizer()
            .slots()
            .iter()
            .map(|(_, v)| to_bits(v))
            .collect(),
        m.optimizer().iterations(),
    )
}

/// Runs `f` on `m`, recording the model's bits before and after.
fn attempt<N: Network, O: Optimizer, T>(
    mut m: Compiled<N, O>,
    f: impl FnOnce(&mut Compiled<N, O>) -> Result<T>,
) -> Outcome {
    let before = bits(&m);
    let result = f(&mut m).map(|_| ());
    let after = bits(&m);
    Outcome {
        result,
        before,
        after,
    }
}

fn quiet<'a, R, Y: ?Sized>() -> Fit<'a, R, Y> {
    Fit {
        epochs: 2,
        batch_size: 16,
        verbose: 0.into(),
        ..Fit::default()
    }
}

fn data() -> (Vec<[f32; 10]>, Vec<f32>) {
    tutorial_data(64, 3)
}

/// The tutorial model after two Adam steps, so the optimizer has state to keep.
fn trained() -> Compiled<Net, Adam> {
    let (x, y) = data();
    let mut m = Net::new(7).compile(
        Adam::new(0.01),
        Loss::binary_crossentropy(),
        [Metric::Accuracy],
    );
    m.train_on_batch(&x[..32], &y[..32]).unwrap();
    m.train_on_batch(&x[32..], &y[32..]).unwrap();
    m
}

fn net<O: Optimizer>(optimizer: O) -> Compiled<Net, O> {
    Net::new(7).compile(optimizer, Loss::binary_crossentropy(), [])
}

/// Class ids 0, 1, 2 for `Classes`.
fn class_ids(rows: usize) -> Vec<f32> {
    (0..rows).map(|i| (i % 3) as f32).collect()
}

fn classes(metric: Metric) -> Compiled<Classes, Adam> {
    Classes::new(3).compile(
        Adam::new(0.01),
        Loss::sparse_categorical_crossentropy(),
        [metric],
    )
}

/// `fit` on the tutorial data with `options` changed by `change`.
fn fit_with<N: Network, O: Optimizer>(
    m: Compiled<N, O>,
    change: impl FnOnce(&mut Fit<'_, [f32; 10], [f32]>),
) -> Outcome
where
    [f32; 10]: seqnet::network::InputOf<N>,
{
    let (x, y) = data();
    let mut options = quiet();
    change(&mut options);
    attempt(m, |m| m.fit(&x, &y[..], options))
}

/// `fit` on the tutorial data with sample weights 1 except `weight` at `row`.
fn fit_weighted(m: Compiled<Net, Adam>, row: usize, weight: f32) -> Outcome {
    let mut w = [1.0f32; 64];
    w[row] = weight;
    let (x, y) = data();
    attempt(m, |m| {
        m.fit(
            &x,
            &y,
            Fit {
                sample_weight: Some(&w),
                ..quiet()
            },
        )
    })
}

/// `fit` on the tutorial data with these labels.
fn fit_labels<N: Network, O: Optimizer>(m: Compiled<N, O>, y: Vec<f32>) -> Outcome
where
    [f32; 10]: seqnet::network::InputOf<N>,
{
    let (x, _) = data();
    attempt(m, |m| m.fit(&x, &y, quiet()))
}

/// Rows scaled by `factor` (1e30 overflows inside the network).
fn scaled(factor: f32) -> Vec<[f32; 10]> {
    data().0.iter().map(|r| r.map(|v| v * factor)).collect()
}

fn weights(pairs: &[(usize, f32)]) -> Option<HashMap<usize, f32>> {
    Some(pairs.iter().copied().collect())
}

macro_rules! case {
    ($name:expr, $run:expr, $pattern:pat) => {
        Case {
            name: $name,
            run: Box::new($run),
            expect: |e| matches!(e, $pattern),
        }
    };
}

fn cases() -> Vec<Case> {
    vec![
        // 1. Divergence: the first batch's loss, gradient or update is not finite.
        case!(
            "fit on inputs of 1e30 (Adam)",
            || {
                let (_, y) = data();
                let x = scaled(1e30);
                attempt(trained(), |m| {
                    m.fit(
                        &x,
                        &y,
                        Fit {
                            batch_size: 64,
                            ..quiet()
                        },
                    )
                })
            },
            Error::Diverged {
                epoch: 0,
                batch: 0,
                ..
            }
        ),
        case!(
            "train_on_batch on inputs of 1e30",
            || {
                let (_, y) = data();
                let x = scaled(1e30);
                attempt(trained(), |m| m.train_on_batch(&x, &y))
            },
            Error::Diverged {
                epoch: 0,
                batch: 0,
                ..
            }
        ),
        case!(
            "fit on inputs of 1e30 with BatchNormalization",
            || {
                let (_, y) = data();
                let x = scaled(1e30);
                let mut m =
                    Normed::new(2).compile(Adam::new(0.01), Loss::binary_crossentropy(), []);
                let (x0, y0) = data();
                m.train_on_batch(&x0, &y0).unwrap();
                attempt(m, |m| {
                    m.fit(
                        &x,
                        &y,
                        Fit {
                            batch_size: 64,
                            ..quiet()
                        },
                    )
                })
            },
            Error::Diverged {
                epoch: 0,
                batch: 0,
                ..
            }
        ),
        case!(
            "NaN learning rate",
            || fit_with(net(Adam::new(f32::NAN)), |_| {}),
            Error::InvalidArgument {
                what: "learning_rate",
                ..
            }
        ),
        case!(
            "negative learning rate",
            || fit_with(net(SGD::new(-0.1)), |_| {}),
            Error::InvalidArgument {
                what: "learning_rate",
                ..
            }
        ),
        case!(
            "infinite learning rate, train_on_batch",
            || {
                let (x, y) = data();
                attempt(net(RMSprop::new(f32::INFINITY)), |m| {
                    m.train_on_batch(&x, &y)
                })
            },
            Error::InvalidArgument {
                what: "learning_rate",
                ..
            }
        ),
        case!(
            "learning rate -inf",
            || fit_with(net(Adagrad::new(f32::NEG_INFINITY)), |_| {}),
            Error::InvalidArgument {
                what: "learning_rate",
                ..
            }
        ),
        case!(
            "NaN class weight",
            || fit_with(trained(), |o| o.class_weight =
                weights(&[(0, 1.0), (1, f32::NAN)])),
            Error::InvalidArgument {
                what: "class_weight",
                ..
            }
        ),
        // 2. Settings that used to panic inside fit, and the others Keras constrains.
        case!(
            "clipvalue -1",
            || fit_with(net(Adam::new(0.01).clipvalue(-1.0)), |_| {}),
            Error::InvalidArgument {
                what: "clipvalue",
                ..
            }
        ),
        case!(
            "clipvalue NaN",
            || fit_with(net(SGD::new(0.01).clipvalue(f32::NAN)), |_| {}),
            Error::InvalidArgument {
                what: "clipvalue",
                ..
            }
        ),
        case!(
            "clipnorm 0",
            || fit_with(net(Adam::new(0.01).clipnorm(0.0)), |_| {}),
            Error::InvalidArgument {
                what: "clipnorm",
                ..
            }
        ),
        case!(
            "global_clipnorm NaN",
            || fit_with(net(Adam::new(0.01).global_clipnorm(f32::NAN)), |_| {}),
            Error::InvalidArgument {
                what: "global_clipnorm",
                ..
            }
        ),
        // Keras' BaseOptimizer refuses more than one kind of clipping.
        case!(
            "clipnorm and clipvalue",
            || fit_with(net(Adam::new(0.01).clipnorm(1.0).clipvalue(0.5)), |_| {}),
            Error::InvalidArgument {
                what: "gradient clipping",
                ..
            }
        ),
        case!(
            "clipnorm and global_clipnorm",
            || fit_with(
                net(SGD::new(0.01).clipnorm(1.0).global_clipnorm(2.0)),
                |_| {}
            ),
            Error::InvalidArgument {
                what: "gradient clipping",
                ..
            }
        ),
        case!(
            "all three clippings",
            || {
                let sgd = SGD::new(0.01)
                    .clipvalue(0.5)
                    .global_clipnorm(2.0)
                    .clipnorm(1.0);
                fit_with(net(sgd), |_| {})
            },
            Error::InvalidArgument {
                what: "gradient clipping",
                ..
            }
        ),
        case!(
            "Huber delta -1",
            || {
                let m = Net::new(7).compile(Adam::new(0.01), Loss::Huber { delta: -1.0 }, []);
                fit_with(m, |_| {})
            },
            Error::InvalidArgument {
                what: "Huber delta",
                ..
            }
        ),
        case!(
            "Huber delta NaN, evaluate",
            || {
                let (x, y) = data();
                let m = Net::new(7).compile(Adam::new(0.01), Loss::Huber { delta: f32::NAN }, []);
                attempt(m, |m| m.evaluate(&x, &y))
            },
            Error::InvalidArgument {
                what: "Huber delta",
                ..
            }
        ),
        case!(
            "Adam beta_1 = 1",
            || {
                let mut adam = Adam::new(0.01);
                adam.beta_1 = 1.0;
                fit_with(net(adam), |_| {})
            },
            Error::InvalidArgument { what: "beta_1", .. }
        ),
        case!(
            "Adam beta_2 NaN",
            || {
                let mut adam = Adam::new(0.01);
                adam.beta_2 = f32::NAN;
                fit_with(net(adam), |_| {})
            },
            Error::InvalidArgument { what: "beta_2", .. }
        ),
        case!(
            "Adam epsilon 0",
            || {
                let mut adam = Adam::new(0.01);
                adam.epsilon = 0.0;
                fit_with(net(adam), |_| {})
            },
            Error::InvalidArgument {
                what: "epsilon",
                ..
            }
        ),
        case!(
            "AdamW weight_decay NaN",
            || fit_with(net(AdamW::new(0.01).weight_decay(f32::NAN)), |_| {}),
            Error::InvalidArgument {
                what: "weight_decay",
                ..
            }
        ),
        case!(
            "SGD momentum 1.5",
            || fit_with(net(SGD::new(0.01).momentum(1.5)), |_| {}),
            Error::InvalidArgument {
                what: "SGD momentum",
                ..
            }
        ),
        case!(
            "RMSprop rho 1",
            || {
                let mut rms = RMSprop::new(0.01);
                rms.rho = 1.0;
                fit_with(net(rms), |_| {})
            },
            Error::InvalidArgument { what: "rho", .. }
        ),
        case!(
            "RMSprop momentum -0.5",
            || fit_with(net(RMSprop::new(0.01).momentum(-0.5)), |_| {}),
            Error::InvalidArgument {
                what: "RMSprop momentum",
                ..
            }
        ),
        case!(
            "Adagrad initial_accumulator_value -1",
            || {
                let mut a = Adagrad::new(0.01);
                a.initial_accumulator_value = -1.0;
                fit_with(net(a), |_| {})
            },
            Error::InvalidArgument {
                what: "initial_accumulator_value",
                ..
            }
        ),
        case!(
            "BinaryAccuracy threshold NaN",
            || {
                let m = Net::new(7).compile(
                    Adam::new(0.01),
                    Loss::binary_crossentropy(),
                    [Metric::BinaryAccuracy {
                        threshold: f32::NAN,
                    }],
                );
                fit_with(m, |_| {})
            },
            Error::InvalidArgument {
                what: "BinaryAccuracy threshold",
                ..
            }
        ),
        case!(
            "ReduceLROnPlateau factor 1.5",
            || {
                fit_with(trained(), |o| {
                    o.callbacks = vec![Box::new(ReduceLROnPlateau::new("loss").factor(1.5))]
                })
            },
            Error::InvalidArgument {
                what: "ReduceLROnPlateau factor",
                ..
            }
        ),
        case!(
            "ReduceLROnPlateau min_lr -1",
            || {
                fit_with(trained(), |o| {
                    o.callbacks = vec![Box::new(ReduceLROnPlateau::new("loss").min_lr(-1.0))]
                })
            },
            Error::InvalidArgument {
                what: "ReduceLROnPlateau min_lr",
                ..
            }
        ),
        case!(
            "EarlyStopping min_delta NaN",
            || {
                fit_with(trained(), |o| {
                    o.callbacks = vec![Box::new(EarlyStopping::new("loss").min_delta(f64::NAN))]
                })
            },
            Error::InvalidArgument {
                what: "EarlyStopping min_delta",
                ..
            }
        ),
        case!(
            "EarlyStopping baseline inf",
            || {
                fit_with(trained(), |o| {
                    o.callbacks = vec![Box::new(EarlyStopping::new("loss").baseline(f64::INFINITY))]
                })
            },
            Error::InvalidArgument {
                what: "EarlyStopping baseline",
                ..
            }
        ),
        // 3. Labels and weights.
        case!(
            "binary target 2.0",
            || {
                let mut y = data().1;
                y[5] = 2.0;
                fit_labels(trained(), y)
            },
            Error::InvalidLabel {
                loss: "binary_crossentropy",
                row: 5,
                column: 0,
                ..
            }
        ),
        case!(
            "binary target -1",
            || {
                let mut y = data().1;
                y[9] = -1.0;
                fit_labels(trained(), y)
            },
            Error::InvalidLabel { row: 9, .. }
        ),
        case!(
            "class ids 0/1/2 with binary cross-entropy",
            || fit_labels(trained(), class_ids(64)),
            Error::InvalidLabel { row: 2, .. }
        ),
        case!(
            "binary target 2.0, train_on_batch",
            || {
                let (x, mut y) = data();
                y[0] = 2.0;
                attempt(trained(), |m| m.train_on_batch(&x, &y))
            },
            Error::InvalidLabel { row: 0, .. }
        ),
        case!(
            "binary target 2.0, evaluate",
            || {
                let (x, mut y) = data();
                y[0] = 2.0;
                attempt(trained(), |m| m.evaluate(&x, &y))
            },
            Error::InvalidLabel { row: 0, .. }
        ),
        case!(
            "categorical target 3 in a one-hot row",
            || {
                let (x, _) = data();
                let mut y: Vec<[f32; 3]> = (0..64).map(|i| [(i % 2) as f32, 0.0, 0.0]).collect();
                y[4][1] = 3.0;
                let m =
                    Classes::new(3).compile(Adam::new(0.01), Loss::categorical_crossentropy(), []);
                attempt(m, |m| m.fit(&x, &y, quiet()))
            },
            Error::InvalidLabel {
                row: 4,
                column: 1,
                ..
            }
        ),
        case!(
            "binary target 2.0 in validation_data",
            || {
                let (xv, mut yv) = tutorial_data(8, 4);
                yv[3] = 2.0;
                let (x, y) = data();
                attempt(trained(), |m| {
                    m.fit(
                        &x,
                        &y,
                        Fit {
                            validation_data: Some((&xv, &yv)),
                            ..quiet()
                        },
                    )
                })
            },
            Error::InvalidLabel { row: 3, .. }
        ),
        case!(
            "negative class weight",
            || fit_with(trained(), |o| o.class_weight =
                weights(&[(0, 1.0), (1, -2.0)])),
            Error::InvalidArgument {
                what: "class_weight",
                ..
            }
        ),
        case!(
            "infinite class weight",
            || {
                fit_with(trained(), |o| {
                    o.class_weight = weights(&[(0, f32::INFINITY), (1, 1.0)])
                })
            },
            Error::InvalidArgument {
                what: "class_weight",
                ..
            }
        ),
        case!(
            "label -1 with a class weight (mean squared error)",
            || {
                let (x, mut y) = data();
                y[3] = -1.0;
                let m = Net::new(7).compile(Adam::new(0.01), Loss::MeanSquaredError, []);
                attempt(m, |m| {
                    m.fit(
                        &x,
                        &y,
                        Fit {
                            class_weight: weights(&[(0, 1.0), (1, 2.0)]),
                            ..quiet()
                        },
                    )
                })
            },
            Error::InvalidArgument {
                what: "class_weight",
                ..
            }
        ),
        case!(
            "a class without a weight",
            || fit_with(trained(), |o| o.class_weight = weights(&[(0, 1.0)])),
            Error::InvalidArgument {
                what: "class_weight",
                ..
            }
        ),
        case!(
            "empty validation_data",
            || fit_with(trained(), |o| o.validation_data = Some((&[], &[]))),
            Error::NotEnoughData { .. }
        ),
        case!(
            "sample_weight one short",
            || fit_with(trained(), |o| o.sample_weight = Some(&[1.0; 63])),
            Error::SizeMismatch {
                what: "sample_weight (one weight per row of x)",
                expected: 64,
                got: 63,
            }
        ),
        case!(
            "NaN sample weight",
            || fit_weighted(trained(), 10, f32::NAN),
            Error::InvalidArgument {
                what: "sample_weight",
                ..
            }
        ),
        case!(
            "negative sample weight",
            || fit_weighted(trained(), 63, -0.5),
            Error::InvalidArgument {
                what: "sample_weight",
                ..
            }
        ),
        // Labels of another shape than the loss takes: the loss and the fix are named.
        case!(
            "one-hot rows with sparse_categorical_crossentropy",
            || {
                let (x, _) = data();
                let y = one_hot::<3>(&class_ids(64)).unwrap();
                attempt(classes(Metric::Accuracy), |m| m.fit(&x, &y, quiet()))
            },
            Error::LabelShape {
                loss: "sparse_categorical_crossentropy",
                what: "labels",
                ..
            }
        ),
        case!(
            "one-hot rows with sparse_categorical_crossentropy, train_on_batch",
            || {
                let (x, _) = data();
                let y = one_hot::<3>(&class_ids(64)).unwrap();
                attempt(classes(Metric::Accuracy), |m| m.train_on_batch(&x, &y))
            },
            Error::LabelShape {
                loss: "sparse_categorical_crossentropy",
                ..
            }
        ),
        case!(
            "one-hot rows with sparse_categorical_crossentropy, evaluate",
            || {
                let (x, _) = data();
                let y = one_hot::<3>(&class_ids(64)).unwrap();
                attempt(classes(Metric::Accuracy), |m| m.evaluate(&x, &y))
            },
            Error::LabelShape {
                loss: "sparse_categorical_crossentropy",
                ..
            }
        ),
        case!(
            "one-hot rows on a one-output model (binary cross-entropy)",
            || {
                let (x, y) = data();
                let y = one_hot::<2>(&y).unwrap();
                attempt(trained(), |m| m.fit(&x, &y, quiet()))
            },
            Error::LabelShape {
                loss: "binary_crossentropy",
                ..
            }
        ),
        case!(
            "one-hot rows on a one-output model, evaluate",
            || {
                let (x, y) = data();
                let y = one_hot::<2>(&y).unwrap();
                attempt(trained(), |m| m.evaluate(&x, &y))
            },
            Error::LabelShape {
                loss: "binary_crossentropy",
                ..
            }
        ),
        case!(
            "class ids with categorical_crossentropy",
            || {
                let (x, _) = data();
                let y = class_ids(64);
                let m =
                    Classes::new(3).compile(Adam::new(0.01), Loss::categorical_crossentropy(), []);
                attempt(m, |m| m.fit(&x, &y, quiet()))
            },
            Error::LabelShape {
                loss: "categorical_crossentropy",
                ..
            }
        ),
        case!(
            "class ids with categorical_crossentropy, evaluate",
            || {
                let (x, _) = data();
                let y = class_ids(64);
                let m =
                    Classes::new(3).compile(Adam::new(0.01), Loss::categorical_crossentropy(), []);
                attempt(m, |m| m.evaluate(&x, &y))
            },
            Error::LabelShape {
                loss: "categorical_crossentropy",
                ..
            }
        ),
        case!(
            "class ids with binary cross-entropy on three outputs",
            || {
                let (x, _) = data();
                let y = class_ids(64);
                let m = Classes::new(3).compile(Adam::new(0.01), Loss::binary_crossentropy(), []);
                attempt(m, |m| m.fit(&x, &y, quiet()))
            },
            Error::LabelShape {
                loss: "binary_crossentropy",
                ..
            }
        ),
        // 4. Metrics that do not fit the output.
        case!(
            "BinaryAccuracy on a 3-class softmax with class ids",
            || {
                let (x, _) = data();
                let y = class_ids(64);
                attempt(classes(Metric::BinaryAccuracy { threshold: 0.5 }), |m| {
                    m.fit(&x, &y, quiet())
                })
            },
            Error::IncompatibleMetric {
                metric: "binary_accuracy",
                ..
            }
        ),
        case!(
            "Precision on a 3-class softmax with class ids",
            || {
                let (x, _) = data();
                let y = class_ids(64);
                attempt(classes(Metric::Precision), |m| m.fit(&x, &y, quiet()))
            },
            Error::IncompatibleMetric {
                metric: "precision",
                ..
            }
        ),
        case!(
            "Auc on a 3-class softmax with class ids, evaluate",
            || {
                let (x, _) = data();
                let y = class_ids(64);
                attempt(classes(Metric::Auc), |m| m.evaluate(&x, &y))
            },
            Error::IncompatibleMetric { metric: "auc", .. }
        ),
        case!(
            "MeanSquaredError on a 3-class softmax with class ids, train_on_batch",
            || {
                let (x, _) = data();
                let y = class_ids(64);
                attempt(classes(Metric::MeanSquaredError), |m| {
                    m.train_on_batch(&x, &y)
                })
            },
            Error::IncompatibleMetric {
                metric: "mean_squared_error",
                ..
            }
        ),
        case!(
            "CategoricalAccuracy on one output",
            || {
                let m = Net::new(7).compile(
                    Adam::new(0.01),
                    Loss::binary_crossentropy(),
                    [Metric::CategoricalAccuracy],
                );
                fit_with(m, |_| {})
            },
            Error::IncompatibleMetric {
                metric: "categorical_accuracy",
                ..
            }
        ),
        // 5. Callback monitors checked before the first batch.
        case!(
            "EarlyStopping(\"val_los\")",
            || {
                fit_with(trained(), |o| {
                    o.validation_split = 0.25;
                    o.callbacks = vec![Box::new(EarlyStopping::new("val_los"))];
                })
            },
            Error::UnknownMonitor {
                callback: "EarlyStopping",
                suggestion: Some(_),
                ..
            }
        ),
        case!(
            "EarlyStopping(\"val_loss\") without validation",
            || {
                fit_with(trained(), |o| {
                    o.callbacks = vec![Box::new(EarlyStopping::new("val_loss"))];
                })
            },
            Error::UnknownMonitor {
                callback: "EarlyStopping",
                ..
            }
        ),
        case!(
            "ReduceLROnPlateau(\"acuracy\")",
            || {
                fit_with(trained(), |o| {
                    o.callbacks = vec![Box::new(ReduceLROnPlateau::new("acuracy"))];
                })
            },
            Error::UnknownMonitor {
                callback: "ReduceLROnPlateau",
                suggestion: Some(_),
                ..
            }
        ),
        case!(
            "ModelCheckpoint save_best_only on \"val_acc\"",
            || {
                fit_with(trained(), |o| {
                    o.validation_split = 0.25;
                    o.callbacks = vec![Box::new(
                        ModelCheckpoint::new("never-written.safetensors")
                            .monitor("val_acc")
                            .save_best_only(true),
                    )];
                })
            },
            Error::UnknownMonitor {
                callback: "ModelCheckpoint",
                ..
            }
        ),
        case!(
            "ModelCheckpoint path naming an unlogged value",
            || {
                fit_with(trained(), |o| {
                    o.callbacks = vec![Box::new(ModelCheckpoint::new(
                        "never-written-{val_los:.2f}.safetensors",
                    ))];
                })
            },
            Error::InvalidArgument {
                what: "ModelCheckpoint filepath",
                ..
            }
        ),
        // The errors "Training like Keras" already had.
        case!(
            "label count mismatch",
            || {
                let (x, y) = data();
                attempt(trained(), |m| m.fit(&x, &y[..63], quiet()))
            },
            Error::SizeMismatch { .. }
        ),
        case!(
            "class id out of range",
            || {
                let (x, _) = data();
                let mut y = class_ids(64);
                y[7] = 3.0;
                attempt(classes(Metric::Accuracy), |m| m.fit(&x, &y, quiet()))
            },
            Error::LabelOutOfRange { row: 7, .. }
        ),
        case!(
            "validation_split 1.0",
            || fit_with(trained(), |o| o.validation_split = 1.0),
            Error::InvalidArgument {
                what: "validation_split",
                ..
            }
        ),
        case!(
            "validation_split NaN",
            || fit_with(trained(), |o| o.validation_split = f64::NAN),
            Error::InvalidArgument {
                what: "validation_split",
                ..
            }
        ),
        case!(
            "batch_size 0",
            || fit_with(trained(), |o| o.batch_size = 0),
            Error::InvalidArgument {
                what: "batch_size",
                ..
            }
        ),
        case!(
            "NaN input",
            || {
                let (mut x, y) = data();
                x[4][2] = f32::NAN;
                attempt(trained(), |m| m.fit(&x, &y, quiet()))
            },
            Error::NonFinite {
                what: "input",
                row: 4,
                column: 2,
                ..
            }
        ),
        case!(
            "infinite input, train_on_batch",
            || {
                let (mut x, y) = data();
                x[1][0] = f32::INFINITY;
                attempt(trained(), |m| m.train_on_batch(&x, &y))
            },
            Error::NonFinite {
                what: "input",
                row: 1,
                ..
            }
        ),
        case!(
            "NaN label",
            || {
                let mut y = data().1;
                y[2] = f32::NAN;
                fit_labels(trained(), y)
            },
            Error::NonFinite { what: "labels", .. }
        ),
        case!(
            "no rows, train_on_batch",
            || attempt(trained(), |m| m
                .train_on_batch(&[] as &[[f32; 10]], &[] as &[f32])),
            Error::NotEnoughData { .. }
        ),
        case!(
            "no rows, evaluate",
            || attempt(trained(), |m| m
                .evaluate(&[] as &[[f32; 10]], &[] as &[f32])),
            Error::NotEnoughData { .. }
        ),
    ]
}

#[test]
fn every_bad_input_is_its_error_and_changes_nothing() {
    let mut failures = Vec::new();
    for case in cases() {
        let outcome = (case.run)();
        match &outcome.result {
            Err(e) if (case.expect)(e) => {}
            Err(e) => failures.push(format!("{}: wrong error: {e:?}", case.name)),
            Ok(()) => failures.push(format!("{}: returned Ok", case.name)),
        }
        if outcome.before != outcome.after {
            failures.push(format!("{}: the model changed", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn messages_name_the_problem_and_the_fix() {
    let message = |case: &str| {
        let case = cases().into_iter().find(|c| c.name == case).unwrap();
        (case.run)().result.unwrap_err().to_string()
    };
    assert_eq!(
        message("clipnorm and clipvalue"),
        "gradient clipping must be only one of clipnorm, clipvalue and global_clipnorm (Keras \
         refuses more than one), got clipnorm=1, clipvalue=0.5"
    );
    let m = message("EarlyStopping(\"val_los\")");
    assert!(
        m.contains("\"val_los\"") && m.contains("did you mean \"val_loss\""),
        "{m}"
    );
    let m = message("class ids 0/1/2 with binary cross-entropy");
    assert!(
        m.contains("binary_crossentropy")
            && m.contains("Loss::sparse_categorical_crossentropy()")
            && m.contains("softmax")
            && m.contains("one_hot"),
        "{m}"
    );
    assert_eq!(
        message("one-hot rows with sparse_categorical_crossentropy"),
        "sparse_categorical_crossentropy takes one class id per row, but the labels have 3 \
         values per row (one-hot?): use Loss::categorical_crossentropy(), or give class ids (the \
         argmax of each one-hot row)"
    );
    assert_eq!(
        message("class ids with categorical_crossentropy"),
        "categorical_crossentropy takes one-hot rows of 3 values (one per output), but the \
         labels have 1 value per row (class ids?): use \
         Loss::sparse_categorical_crossentropy(), or make one-hot rows with \
         one_hot::<3>(&labels)"
    );
    let m = message("one-hot rows on a one-output model (binary cross-entropy)");
    assert!(
        m.starts_with(
            "binary_crossentropy takes one 0/1 label per row (the model has 1 output), but the \
             labels have 2 values per row (one-hot?): "
        ) && m.contains("Dense(2, activation = softmax)")
            && m.contains("Loss::categorical_crossentropy()"),
        "{m}"
    );
    let m = message("class ids with binary cross-entropy on three outputs");
    assert!(
        m.contains("(class ids?)") && m.contains("Loss::sparse_categorical_crossentropy()"),
        "{m}"
    );
    // The same mistake gives the same error through every entry point.
    assert_eq!(
        message("one-hot rows on a one-output model (binary cross-entropy)"),
        message("one-hot rows on a one-output model, evaluate")
    );
    let m = message("BinaryAccuracy on a 3-class softmax with class ids");
    assert!(
        m.contains("binary_accuracy") && m.contains("Metric::Accuracy"),
        "{m}"
    );
    let m = message("clipvalue -1");
    assert!(
        m.contains("clipvalue must be a finite number > 0, got -1"),
        "{m}"
    );
    let m = message("empty validation_data");
    assert!(m.contains("validation_data has no rows"), "{m}");
}

#[test]
fn inputs_that_overflow_stop_fit_naming_a_layer_and_keep_the_weights() {
    let (_, y) = data();
    let x = scaled(1e30);
    let mut m = trained();
    let start = m.get_weights();
    let err = m
        .fit(
            &x,
            &y,
            Fit {
                batch_size: 64,
                ..quiet()
            },
        )
        .unwrap_err();
    let Error::Diverged { ref layer, .. } = err else {
        panic!("expected Diverged, got {err}");
    };
    assert!(
        ["dense", "dense_1", "dense_2"].contains(&layer.as_str()),
        "{err}"
    );
    assert!(err.to_string().contains("epoch 0, batch 0"), "{err}");
    assert_eq!(m.get_weights(), start);
    assert!(m.params().iter().all(|w| w.is_finite()));

    // With several batches the weights are those before the failing batch: finite, and
    // training goes on from them.
    let mut m = trained();
    let (mut x, mut y) = data();
    // The model answers 0 or 1 for this row with a logit of about ±1e37: labelled both ways,
    // one of the two has a huge loss and gradient, and Adam's second moment (g²) overflows.
    x[40] = [f32::MAX / 2.0; 10];
    x[41] = x[40];
    (y[40], y[41]) = (0.0, 1.0);
    let err = m
        .fit(
            &x,
            &y,
            Fit {
                shuffle: false,
                ..quiet()
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Diverged {
                epoch: 0,
                batch: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(m.params().iter().all(|w| w.is_finite()));
    let (x, y) = data();
    m.fit(&x, &y, quiet()).unwrap();
}

#[test]
fn adam_at_a_huge_learning_rate_trains_to_finite_weights() {
    // Keras accepts lr 1e6; Adam's step is bounded by about the learning rate, so the weights
    // grow large but stay finite and the (large, finite) loss is in the History.
    let (x, y) = data();
    let mut m = net(Adam::new(1e6));
    let history = m.fit(&x, &y, quiet()).unwrap();
    assert!(m.params().iter().all(|w| w.is_finite()));
    assert!(history.get("loss").unwrap().iter().all(|l| l.is_finite()));
}

#[test]
fn a_large_batch_in_row_chunks_trains_as_before_without_a_whole_batch_tape() {
    // 4096 rows in one batch run as 64 chunks; fit and train_on_batch give the same weights.
    let (x, y) = tutorial_data(4096, 11);
    let mut a = net(Adam::new(0.001));
    assert!(a.chunk_count(4096) > 1);
    let mut b = net(Adam::new(0.001));
    a.fit(
        &x,
        &y,
        Fit {
            batch_size: 4096,
            shuffle: false,
            verbose: 0.into(),
            epochs: 3,
            ..Fit::default()
        },
    )
    .unwrap();
    for _ in 0..3 {
        b.train_on_batch(&x, &y).unwrap();
    }
    assert_eq!(a.get_weights(), b.get_weights());
    // A batch with a short last part (4096 + 5 rows: the last batch of 5 runs whole).
    let (x, y) = tutorial_data(4101, 11);
    let mut c = net(Adam::new(0.001));
    c.fit(
        &x,
        &y,
        Fit {
            batch_size: 4096,
            shuffle: false,
            verbose: 0.into(),
            ..Fit::default()
        },
    )
    .unwrap();
    let mut d = net(Adam::new(0.001));
    d.train_on_batch(&x[..4096], &y[..4096]).unwrap();
    d.train_on_batch(&x[4096..], &y[4096..]).unwrap();
    assert_eq!(c.get_weights(), d.get_weights());
}

/// The raw passes every generated network has (`Network::forward`, `backward`,
/// `update_state`) check the tape, rows, input and gradient buffer before touching anything:
/// what does not fit is an error, where the generated code once asserted (a panic in the
/// user's crate).
#[test]
fn raw_passes_check_their_buffers_instead_of_panicking() {
    use seqnet::layers::Phase;
    use seqnet::network::Delta;
    use seqnet::Tape;
    let model = Normed::new(1);
    let x = vec![0.25f32; 4 * 10];
    let mut grads = vec![0.0f32; <Normed as Network>::TRAINABLE_COUNT];

    // A tape of this network, for these rows: all three passes work.
    let mut tape = Tape::for_network::<Normed>(4, true);
    let mut m = Normed::new(1);
    let training = Phase::Training(seqnet::layers::TrainingPass {
        seed: 1,
        step: 0,
        first_row: 0,
    });
    m.forward(&x, 4, &mut tape, training).unwrap();
    // dL/dy = 1 for every output: a gradient that reaches every weight.
    m.loss_view(&x, 4, &mut tape).delta.fill(1.0);
    m.backward(&x, 4, &mut tape, &mut grads, Delta::Output)
        .unwrap();
    assert!(grads.iter().all(|g| g.is_finite()) && grads.iter().any(|&g| g != 0.0));
    let state_before = m.state().to_vec();
    m.update_state(&tape, 4).unwrap();
    assert_ne!(m.state(), &state_before[..], "the moving statistics moved");

    let size = |r: Result<()>, what: &str| match r {
        Err(Error::SizeMismatch { what: w, .. }) if w.starts_with(what) => {}
        other => panic!("expected a size error about {what}, got {other:?}"),
    };
    let tape_error = |r: Result<()>| match r {
        Err(Error::InvalidArgument { what: "tape", .. }) => {}
        other => panic!("expected a tape error, got {other:?}"),
    };
    // Gradient buffer one short (the generated code's old assert_eq!): an error, and not one
    // value written.
    let mut short = vec![f32::NAN; grads.len() - 1];
    size(
        model.backward(&x, 4, &mut tape, &mut short, Delta::Output),
        "gradient values",
    );
    assert!(short.iter().all(|g| g.is_nan()));
    // More rows than the tape holds; an input that is not `rows` rows.
    let x8 = vec![0.25f32; 8 * 10];
    size(model.forward(&x8, 8, &mut tape, Phase::Inference), "rows");
    size(
        model.forward(&x[..35], 4, &mut tape, Phase::Inference),
        "input values",
    );
    // Another network's tape; an inference tape for backward.
    let mut other = Tape::for_network::<Net>(4, true);
    tape_error(model.forward(&x, 4, &mut other, Phase::Inference));
    let mut inference = Tape::for_network::<Normed>(4, false);
    let mut untouched = vec![f32::NAN; grads.len()];
    tape_error(model.backward(&x, 4, &mut inference, &mut untouched, Delta::Output));
    assert!(untouched.iter().all(|g| g.is_nan()));
    // update_state from an inference tape: an error, the moving statistics as they were.
    let state_before = m.state().to_vec();
    tape_error(m.update_state(&inference, 4));
    assert_eq!(m.state(), &state_before[..]);
}
