//! Non-finite input at inference: every entry point (`predict`, `predict_one`, `predict_flat`,
//! `predict_classes`, and `evaluate` beside them) answers a NaN or infinity with the same
//! `Error::NonFinite { what: "input", row, column, .. }`, naming the first bad value, and never
//! a finite number; nothing about the model changes. One table of cases over a Dense model and
//! a Conv2D image model (typed `[[[f32; C]; W]; H]` rows), with the bad value at the first,
//! a middle and the last row and column.

use seqnet::prelude::*;
use seqnet::train::{Compiled, Logs, TrainState};
use seqnet::{Labels, Row};

sequential! {
    /// The tutorial's shape: one sigmoid output, so classes are `p > 0.5`.
    struct Tabular {
        Input(shape = (10,)),
        Dense(16, activation = relu),
        Dense(8, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    /// Images of 6 × 5 pixels of 2 channels, three classes.
    struct Images {
        Input(shape = (6, 5, 2)),
        Conv2D(4, (3, 3), activation = relu),
        BatchNormalization,
        MaxPooling2D((2, 2)),
        Flatten,
        Dense(3, activation = softmax),
    }
}

sequential! {
    /// A linear output, so an overflow inside shows in the output.
    struct Regressor {
        Input(shape = (10,)),
        Dense(8, activation = relu),
        Dense(2),
    }
}

const H: usize = 6;
const W: usize = 5;
const C: usize = 2;
type Image = [[[f32; C]; W]; H];

type Run<'a> = Box<dyn Fn() -> Result<()> + 'a>;
type Expect = Box<dyn Fn(&Error) -> bool>;

/// One row of the table: what it feeds where, the call, and the error it must give.
struct Case<'a> {
    name: String,
    run: Run<'a>,
    expect: Expect,
}

/// The bad values, by name.
fn bad_values() -> [(&'static str, f32); 3] {
    [
        ("NaN", f32::NAN),
        ("+inf", f32::INFINITY),
        ("-inf", f32::NEG_INFINITY),
    ]
}

/// The same value, NaN included.
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// `Error::NonFinite` for the input at `row`, `column`, holding `value`.
fn input_error(row: usize, column: usize, value: f32) -> Expect {
    Box::new(move |e| {
        matches!(e, Error::NonFinite { what: "input", row: r, column: c, value: v }
            if *r == row && *c == column && same(*v, value))
    })
}

/// Whether `e` is `Error::NonFinite` for the output at `row`, `column` (a non-finite value:
/// NaN, as the kernels make of an overflow, or ±∞).
fn is_output_error(e: &Error, row: usize, column: usize) -> bool {
    matches!(e, Error::NonFinite { what: "output", row: r, column: c, value }
        if *r == row && *c == column && !value.is_finite())
}

/// Deterministic finite rows.
fn values(n: usize, seed: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7 + seed * 13) as f32 * 0.37).sin())
        .collect()
}

fn tabular_rows(n: usize) -> Vec<[f32; 10]> {
    values(n * 10, 1)
        .chunks(10)
        .map(|c| c.try_into().unwrap())
        .collect()
}

fn images(n: usize) -> Vec<Image> {
    let mut out = vec![[[[0.0f32; C]; W]; H]; n];
    Image::flat_mut(&mut out).copy_from_slice(&values(n * H * W * C, 2));
    out
}

/// The bits of every weight, trainable or not.
fn weight_bits<N: Network>(model: &N) -> Vec<u32> {
    model
        .params()
        .iter()
        .chain(model.state())
        .map(|v| v.to_bits())
        .collect()
}

/// First, middle and last: (row, column) in a batch of `rows` rows of `width` values.
fn places(rows: usize, width: usize) -> [(&'static str, usize, usize); 3] {
    [
        ("first", 0, 0),
        ("middle", rows / 2, width / 2),
        ("last", rows - 1, width - 1),
    ]
}

/// Every entry point on `rows` with `bad` written at (`row`, `column`).
fn cases_for<'a, N, O, Y>(
    model: &'a seqnet::train::Compiled<N, O>,
    label: &str,
    rows: &[N::InputRow],
    labels: &'a Y,
) -> Vec<Case<'a>>
where
    N: Network + 'a,
    O: Optimizer + 'a,
    Y: Labels + ?Sized,
    N::InputRow: InputOfModel<N>,
{
    let width = N::INPUT_WIDTH;
    let mut cases = Vec::new();
    for (bad_name, bad) in bad_values() {
        for (place, row, column) in places(rows.len(), width) {
            let mut x = rows.to_vec();
            N::InputRow::flat_mut(&mut x)[row * width + column] = bad;
            let tag = format!("{label} {bad_name} at the {place} row and column");
            let xb = x.clone();
            cases.push(Case {
                name: format!("predict, {tag}"),
                run: Box::new(move || N::InputRow::predict(model.model(), &xb)),
                expect: input_error(row, column, bad),
            });
            let one = x[row];
            cases.push(Case {
                name: format!("predict_one, {tag}"),
                run: Box::new(move || N::InputRow::predict_one(model.model(), &one)),
                // One row: row 0, the same column.
                expect: input_error(0, column, bad),
            });
            let flat = N::InputRow::flat(&x).to_vec();
            cases.push(Case {
                name: format!("predict_flat, {tag}"),
                run: Box::new(move || N::InputRow::predict_flat(model.model(), &flat)),
                expect: input_error(row, column, bad),
            });
            let flat = N::InputRow::flat(&x).to_vec();
            cases.push(Case {
                name: format!("Network::predict_flat, {tag}"),
                run: Box::new(move || Network::predict_flat(model.model(), &flat).map(drop)),
                expect: input_error(row, column, bad),
            });
            let xb = x.clone();
            cases.push(Case {
                name: format!("predict_classes, {tag}"),
                run: Box::new(move || model.predict_classes(&xb).map(drop)),
                expect: input_error(row, column, bad),
            });
            cases.push(Case {
                name: format!("evaluate, {tag}"),
                run: Box::new(move || model.evaluate(&x, labels).map(drop)),
                expect: input_error(row, column, bad),
            });
        }
    }
    // Two bad values: the first in row-major order is named, whatever the kind.
    let mut x = rows.to_vec();
    let last = rows.len() * width - 1;
    N::InputRow::flat_mut(&mut x)[last] = f32::NAN;
    N::InputRow::flat_mut(&mut x)[width + 1] = f32::NEG_INFINITY;
    cases.push(Case {
        name: format!("predict, {label} two bad values"),
        run: Box::new(move || N::InputRow::predict(model.model(), &x)),
        expect: input_error(1, 1, f32::NEG_INFINITY),
    });
    cases
}

/// The generated inherent methods, reached through the row type so that one generic table
/// covers both models.
trait InputOfModel<N: Network>: Row + Copy {
    fn predict(model: &N, x: &[Self]) -> Result<()>;
    fn predict_one(model: &N, x: &Self) -> Result<()>;
    fn predict_flat(model: &N, x: &[f32]) -> Result<()>;
}

impl InputOfModel<Tabular> for [f32; 10] {
    fn predict(model: &Tabular, x: &[Self]) -> Result<()> {
        model.predict(x).map(drop)
    }
    fn predict_one(model: &Tabular, x: &Self) -> Result<()> {
        model.predict_one(x).map(drop)
    }
    fn predict_flat(model: &Tabular, x: &[f32]) -> Result<()> {
        model.predict_flat(x).map(drop)
    }
}

impl InputOfModel<Images> for Image {
    fn predict(model: &Images, x: &[Self]) -> Result<()> {
        model.predict(x).map(drop)
    }
    fn predict_one(model: &Images, x: &Self) -> Result<()> {
        model.predict_one(x).map(drop)
    }
    fn predict_flat(model: &Images, x: &[f32]) -> Result<()> {
        model.predict_flat(x).map(drop)
    }
}

fn run_table(cases: Vec<Case<'_>>, check_weights: impl Fn() -> bool) {
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in &cases {
        match (case.run)() {
            Ok(()) => failures.push(format!("{}: Ok, expected an error", case.name)),
            Err(e) if !(case.expect)(&e) => failures.push(format!("{}: {e:?}", case.name)),
            Err(_) => {}
        }
        if !check_weights() {
            failures.push(format!("{}: the weights changed", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn non_finite_input_is_the_same_error_on_every_path_for_a_dense_model() {
    let model = Tabular::new(3).compile(Adam::new(0.01), Loss::binary_crossentropy(), []);
    let before = weight_bits(&*model);
    let x = tabular_rows(7);
    let y: Vec<f32> = (0..7).map(|i| (i % 2) as f32).collect();
    // Finite rows are answered.
    assert_eq!(model.predict(&x).unwrap().len(), 7);
    let cases = cases_for(&model, "tabular", &x, &y);
    assert_eq!(cases.len(), 3 * 3 * 6 + 1);
    run_table(cases, || weight_bits(&*model) == before);
}

#[test]
fn non_finite_input_is_the_same_error_on_every_path_for_an_image_model() {
    let model =
        Images::new(4).compile(Adam::new(0.01), Loss::sparse_categorical_crossentropy(), []);
    let before = weight_bits(&*model);
    let x = images(5);
    let y: Vec<f32> = (0..5).map(|i| (i % 3) as f32).collect();
    assert_eq!(model.predict(&x).unwrap().len(), 5);
    let cases = cases_for(&model, "images", &x, &y);
    assert_eq!(cases.len(), 3 * 3 * 6 + 1);
    run_table(cases, || weight_bits(&*model) == before);
}

#[test]
fn image_errors_name_the_flat_column_of_the_pixel_and_channel() {
    let model = Images::new(4);
    let mut x = images(3);
    // Row 2, pixel (4, 1), channel 1: column (4·W + 1)·C + 1.
    x[2][4][1][1] = f32::INFINITY;
    let column = (4 * W + 1) * C + 1;
    let err = model.predict(&x).unwrap_err();
    assert_eq!(
        err,
        Error::NonFinite {
            what: "input",
            row: 2,
            column,
            value: f32::INFINITY
        }
    );
    assert_eq!(
        err.to_string(),
        format!("input contains a non-finite value (inf) at row 2, column {column}")
    );
    assert_eq!(
        model.predict_one(&x[2]).unwrap_err(),
        Error::NonFinite {
            what: "input",
            row: 0,
            column,
            value: f32::INFINITY
        }
    );
}

#[test]
fn ragged_flat_input_is_an_error_before_its_values_are_read() {
    let model = Images::new(1);
    let width = H * W * C;
    // Two rows and 7 values, one of them NaN: the shape is wrong first.
    let mut x = values(2 * width + 7, 3);
    x[5] = f32::NAN;
    let ragged = Error::RaggedRows {
        what: "input",
        len: 2 * width + 7,
        width,
        full: 2,
        rest: 7,
    };
    assert_eq!(model.predict_flat(&x).unwrap_err(), ragged);
    assert_eq!(Network::predict_flat(&model, &x).unwrap_err(), ragged);
    let dense = Tabular::new(1);
    assert!(matches!(
        dense.predict_flat(&[0.0; 25]),
        Err(Error::RaggedRows {
            what: "input",
            len: 25,
            width: 10,
            full: 2,
            rest: 5
        })
    ));
    // No rows is no outputs, not an error.
    assert!(dense.predict_flat(&[]).unwrap().is_empty());
    assert!(dense.predict(&[] as &[[f32; 10]]).unwrap().is_empty());
}

#[test]
fn predict_into_reports_an_output_buffer_of_the_wrong_size() {
    let model = Tabular::new(1);
    let x = tabular_rows(3);
    let mut out = [0.0f32; 2];
    assert!(matches!(
        seqnet::inference::predict_into(&model, <[f32; 10]>::flat(&x), &mut out),
        Err(Error::SizeMismatch {
            expected: 3,
            got: 2,
            ..
        })
    ));
}

#[test]
fn finite_input_whose_pass_overflows_is_an_error_naming_the_output() {
    let mut model = Regressor::new(3);
    // Every weight 0.5: a row of 1e38 sums to 5e38 in the first layer, past f32's range, so
    // the outputs of that row are not finite (relu of +inf is NaN: the kernels apply
    // activations as act(z) + z·0); the other rows stay small.
    let halves = vec![0.5; model.params().len()];
    model.set_params(&halves).unwrap();
    let model = model.compile(SGD::new(0.01), Loss::MeanSquaredError, []);
    let before = weight_bits(&*model);
    let mut x = tabular_rows(4);
    x[2] = [1e38; 10];
    let is_output_row_2 = |e: &Error| is_output_error(e, 2, 0);
    let err = model.predict(&x).unwrap_err();
    assert!(is_output_row_2(&err), "{err:?}");
    let err = model.predict_classes(&x).unwrap_err();
    assert!(is_output_row_2(&err), "{err:?}");
    let err = model.predict_flat(<[f32; 10]>::flat(&x)).unwrap_err();
    assert!(is_output_row_2(&err), "{err:?}");
    let err = Network::predict_flat(model.model(), <[f32; 10]>::flat(&x)).unwrap_err();
    assert!(is_output_row_2(&err), "{err:?}");
    let err = model.predict_one(&x[2]).unwrap_err();
    assert!(is_output_error(&err, 0, 0), "{err:?}");
    assert_eq!(
        err.to_string(),
        "output contains a non-finite value (NaN) at row 0, column 0"
    );
    // The other rows alone are answered.
    assert!(model.predict(&x[..2]).is_ok());
    assert_eq!(weight_bits(&*model), before);
}

/// An overflow inside the network that an activation would saturate back to a finite output
/// (`sigmoid(+∞)` = 1, `relu(−∞)` = 0) is the same error as one that reaches the output: the
/// kernels apply activations as act(z) + z·0, NaN for a non-finite z.
#[test]
fn an_overflow_an_activation_would_saturate_is_an_output_error() {
    let x = {
        let mut x = tabular_rows(3);
        x[1] = [1e38; 10];
        x
    };
    // Every weight +0.5: the first layer sums to +inf; by the formulas relu would pass it, the
    // second layer sum to +inf and the sigmoid output be exactly 1. Every first-layer weight
    // −0.5: the first layer sums to −inf, which relu's formula would make 0, the row's outputs
    // finite.
    for first_kernel in [0.5f32, -0.5] {
        let mut model = Tabular::new(3);
        let mut params = vec![0.5f32; model.params().len()];
        params[..160].fill(first_kernel);
        model.set_params(&params).unwrap();
        let model = model.compile(SGD::new(0.01), Loss::binary_crossentropy(), []);
        let is_output_row_1 = |e: &Error| is_output_error(e, 1, 0);
        let err = model.predict(&x).unwrap_err();
        assert!(is_output_row_1(&err), "{first_kernel}: {err:?}");
        let err = model.predict_classes(&x).unwrap_err();
        assert!(is_output_row_1(&err), "{err:?}");
        let err = model.evaluate(&x, &[0.0f32, 1.0, 0.0][..]).unwrap_err();
        assert!(is_output_row_1(&err), "{err:?}");
        assert!(matches!(
            model.predict_one(&x[1]),
            Err(Error::NonFinite { what: "output", .. })
        ));
        // The finite rows alone are answered, and predict_one agrees with them.
        let fine = model.predict(&[x[0], x[2]]).unwrap();
        assert!((model.predict_one(&x[2]).unwrap()[0] - fine[1][0]).abs() < 1e-6);
    }
}

#[test]
fn evaluate_keeps_predicts_rule_for_outputs_that_overflow() {
    let mut model = Regressor::new(3);
    model.set_params(&vec![0.5; model.params().len()]).unwrap();
    let model = model.compile(
        SGD::new(0.01),
        Loss::MeanSquaredError,
        [Metric::MeanAbsoluteError],
    );
    let before = weight_bits(&*model);
    // 40 rows: the overflowing one (row 37) sits in evaluate's second batch of 32.
    let mut x = tabular_rows(40);
    x[37] = [1e38; 10];
    let y = vec![0.0f32; 40 * 2];
    let err = model.evaluate(&x, &y).unwrap_err();
    let predicted = model.predict(&x).unwrap_err();
    assert!(is_output_error(&err, 37, 0), "{err:?}");
    assert_eq!(err.to_string(), predicted.to_string());
    // Without that row, a finite loss.
    let scores = model.evaluate(&x[..37], &y[..74]).unwrap();
    assert!(scores.loss.is_finite());
    assert_eq!(weight_bits(&*model), before);
}

/// Multiplies the first layer's kernel (its first 80 parameters) by 1e38 at the end of one
/// epoch, after that epoch's validation pass.
struct InflateFirstKernelAfter(usize);

impl Callback for InflateFirstKernelAfter {
    fn on_epoch_end(
        &mut self,
        epoch: usize,
        _logs: &mut Logs,
        state: &mut TrainState<'_>,
    ) -> Result<()> {
        if epoch == self.0 {
            state.params[..80].iter_mut().for_each(|w| *w *= 1e38);
        }
        Ok(())
    }
}

fn halves_fit(
    epochs: usize,
    validation: Option<(&[[f32; 10]], &[f32])>,
) -> (Result<History>, Compiled<Regressor, SGD>) {
    let mut model = Regressor::new(3);
    model.set_params(&vec![0.5; model.params().len()]).unwrap();
    let mut model = model.compile(SGD::new(1e-3), Loss::MeanSquaredError, []);
    // Training rows of zeros: the first kernel's gradient is zero, so only the callback
    // changes it, and the training loss stays finite after it does.
    let x = vec![[0.0f32; 10]; 16];
    let y = vec![1.0f32; 16 * 2];
    let result = model.fit(
        &x,
        y.as_slice(),
        Fit {
            epochs,
            batch_size: 8,
            validation_data: validation,
            verbose: Verbose::Silent,
            callbacks: vec![Box::new(InflateFirstKernelAfter(1))],
            ..Fit::default()
        },
    );
    (result, model)
}

#[test]
fn fit_stops_when_its_validation_outputs_overflow_keeping_the_history_so_far() {
    // Validation rows of ones: outputs near 22 while the first kernel is 0.5; once it is
    // 5e37 (after epoch 1), the first layer sums to 5e38, past f32's range.
    let vx = vec![[1.0f32; 10]; 3];
    let vy = vec![0.0f32; 3 * 2];
    let (result, model) = halves_fit(4, Some((&vx, &vy)));
    let err = result.unwrap_err();
    assert!(is_output_error(&err, 0, 0), "{err:?}");
    // Epochs 0 and 1 finished (finite validation losses); epoch 2 trained, then its
    // validation pass overflowed.
    let history = model.history();
    assert_eq!(history.epoch, [0, 1]);
    assert!(history
        .get("val_loss")
        .unwrap()
        .iter()
        .all(|v| v.is_finite()));
    // The weights are those epoch 2's last step left, all finite: the same as a run of three
    // epochs without validation (validation changes nothing).
    let (plain, trained) = halves_fit(3, None);
    assert_eq!(plain.unwrap().epoch, [0, 1, 2]);
    assert_eq!(weight_bits(&*model), weight_bits(&*trained));
    assert!(model.params().iter().all(|w| w.is_finite()));
}

#[test]
fn non_finite_weights_give_an_output_error_not_a_finite_answer() {
    let mut model = Tabular::new(3);
    // The output layer's bias (the last parameter) NaN, written through the raw buffer (the
    // checked setters refuse it): every row's output is NaN.
    *model.params_mut().last_mut().unwrap() = f32::NAN;
    let x = tabular_rows(2);
    assert!(matches!(
        model.predict(&x),
        Err(Error::NonFinite {
            what: "output",
            row: 0,
            column: 0,
            ..
        })
    ));
    assert!(matches!(
        model.predict_one(&x[1]),
        Err(Error::NonFinite { what: "output", .. })
    ));
}

sequential! {
    /// Wide enough that a 64-row batch runs the packed GEMM's register tiles (not the direct
    /// path for small products), whose fused relu must keep an overflow non-finite.
    struct WideRelu {
        Input(shape = (300,)),
        Dense(256, activation = relu),
        Dense(2, activation = sigmoid),
    }
}

sequential! {
    /// A convolution's fused relu (im2col + GEMM, or AVX2's implicit GEMM), then max pooling.
    struct ConvRelu {
        Input(shape = (8, 8, 2)),
        Conv2D(16, (3, 3), activation = relu),
        GlobalMaxPooling2D,
        Dense(2, activation = sigmoid),
    }
}

/// The same rule in the GEMM's register tiles and in the convolution kernels: a first layer
/// whose weights are all −0.5 sums a row of 1e38 to −inf, which relu's formula would make 0.
#[test]
fn overflows_under_relu_are_caught_in_gemm_tiles_and_convolutions() {
    let mut wide = WideRelu::new(1);
    let mut params = vec![0.5f32; wide.params().len()];
    params[..300 * 256].fill(-0.5);
    wide.set_params(&params).unwrap();
    let mut x = vec![[0.01f32; 300]; 64];
    x[3] = [1e38; 300];
    let err = wide.predict(&x).unwrap_err();
    assert!(is_output_error(&err, 3, 0), "{err:?}");
    assert!(wide.predict_one(&x[3]).is_err());
    assert!(wide.predict(&x[4..]).is_ok());

    let mut conv = ConvRelu::new(1);
    let mut params = vec![0.5f32; conv.params().len()];
    params[..3 * 3 * 2 * 16].fill(-0.5);
    conv.set_params(&params).unwrap();
    let mut images = vec![[[[0.01f32; 2]; 8]; 8]; 12];
    images[7] = [[[1e38; 2]; 8]; 8];
    let err = conv.predict(&images).unwrap_err();
    assert!(is_output_error(&err, 7, 0), "{err:?}");
    assert!(conv.predict_one(&images[7]).is_err());
    assert!(conv.predict(&images[..7]).is_ok());
}
