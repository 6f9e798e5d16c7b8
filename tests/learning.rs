//! Learning on real data with fixed seeds reaches the accuracy Keras reaches: the tutorial's
//! synthetic data, Breast Cancer Wisconsin and Iris; the sequence models beat the time-series
//! archives' baseline; the recurrent models learn what their examples say. Same configurations
//! as the examples. Accuracies with margins, never exact values: the kernel paths (AVX-512,
//! AVX2, portable) round differently, so their trained weights differ in the last bits.

mod common;
#[path = "../examples/common/mod.rs"]
mod examples_common;

use examples_common::{a_before_b, one_nn, Split, MAX_WORDS};
use seqnet::data::tutorial_data;
use seqnet::prelude::*;
use seqnet::Row;

sequential! {
    struct SeedNet {
        Input(shape = (10,), name = "input_features"),
        Dense(64, activation = relu),
        Dense(32, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    struct CancerNet {
        Input(shape = (30,)),
        Dense(16, activation = relu),
        Dense(8, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    /// `examples/digits.rs`' CNN.
    struct DigitsCnn {
        Input(shape = (8, 8, 1)),
        Conv2D(32, (3, 3), activation = relu),
        MaxPooling2D((2, 2)),
        Flatten,
        Dense(10, activation = softmax),
    }
}

sequential! {
    /// `examples/seed_regularized.rs`: the tutorial with BatchNormalization and Dropout.
    struct RegularizedNet {
        Input(shape = (10,), name = "input_features"),
        Dense(64, activation = relu),
        BatchNormalization(),
        Dropout(0.3),
        Dense(32, activation = relu),
        BatchNormalization(),
        Dropout(0.3),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    struct IrisNet {
        Dense(16, activation = relu, input_shape = (4,)),
        Dense(3, activation = softmax),
    }
}

#[test]
fn tutorial_pipeline_reaches_keras_accuracy() {
    let (x, y) = tutorial_data(1000, 42);
    let (x_train, x_test, y_train, y_test) = train_test_split(&x, &y, 0.2, 42).unwrap();
    assert_eq!((x_train.len(), x_test.len()), (800, 200));
    let mut model = SeedNet::new(42).compile(
        Adam::new(0.001),
        Loss::binary_crossentropy(),
        [Metric::Accuracy],
    );
    let mut rows_seen = 0;
    let history = model
        .fit(
            &x_train,
            &y_train,
            Fit {
                epochs: 10,
                validation_split: 0.1,
                seed: 42,
                verbose: 0.into(),
                callbacks: vec![Box::new(LambdaCallback::on_batch_end(|epoch, batch, _| {
                    if epoch == 0 {
                        rows_seen = rows_seen.max((batch + 1) * 32);
                    }
                }))],
                ..Fit::default()
            },
        )
        .unwrap();
    // 800 × 0.9 = 720 training rows: 23 batches of 32 (the last one partial).
    assert_eq!(rows_seen, 23 * 32);
    assert_eq!(history.epoch.len(), 10);
    let loss = history.get("loss").unwrap();
    assert!(loss[9] < 0.5 * loss[0], "the loss must fall: {loss:?}");

    let accuracy = model
        .evaluate(&x_test, &y_test)
        .unwrap()
        .get("accuracy")
        .unwrap();
    assert!(
        accuracy >= 0.94,
        "test accuracy {accuracy} (Keras reaches 0.965)"
    );
    let predicted: Vec<f32> = model
        .predict(&x_test)
        .unwrap()
        .iter()
        .map(|p| f32::from(p[0] > 0.5))
        .collect();
    assert_eq!(accuracy_score(&y_test, &predicted).unwrap(), accuracy);
}

/// Loads a data set, or `None` with a message when `../shared/data/` is not there.
fn dataset(name: &str) -> Option<seqnet::data::Dataset> {
    let path = common::data_dir().join(name);
    if !path.exists() {
        eprintln!("skipping: {} not found", path.display());
        return None;
    }
    Some(load_csv(path).unwrap())
}

#[test]
fn breast_cancer_reaches_95_percent() {
    let Some(data) = dataset("breast_cancer.csv") else {
        return;
    };
    assert_eq!((data.len(), data.width), (569, 30));
    let x: Vec<[f32; 30]> = data.rows().unwrap();
    let (x_train, x_test, y_train, y_test) = train_test_split(&x, &data.labels, 0.2, 42).unwrap();
    let (scaler, x_train) = StandardScaler::fit_transform(&x_train).unwrap();
    let x_test = scaler.transform(&x_test).unwrap();
    let mut model = CancerNet::new(7).compile(
        Adam::new(0.001),
        Loss::binary_crossentropy(),
        [Metric::Accuracy, Metric::Auc],
    );
    let options = Fit {
        epochs: 60,
        validation_split: 0.1,
        seed: 7,
        verbose: 0.into(),
        ..Fit::default()
    };
    model.fit(&x_train, &y_train, options).unwrap();
    let scores = model.evaluate(&x_test, &y_test).unwrap();
    let accuracy = scores.get("accuracy").unwrap();
    assert!(accuracy >= 0.95, "breast cancer test accuracy {accuracy}");
    assert!(
        scores.get("auc").unwrap() >= 0.98,
        "AUC {:?}",
        scores.get("auc")
    );
    // Keras' quantize("int8") of the trained model (issue 24's row): at most one test row more
    // misclassified than in float32.
    let int8 = model.quantize("int8").unwrap();
    let int8_accuracy = int8
        .evaluate(&x_test, &y_test)
        .unwrap()
        .get("accuracy")
        .unwrap();
    let wrong = |a: f64| ((1.0 - a) * x_test.len() as f64).round() as usize;
    eprintln!(
        "breast cancer: float32 {} wrong of {}, int8 {} wrong",
        wrong(accuracy),
        x_test.len(),
        wrong(int8_accuracy)
    );
    assert!(
        wrong(int8_accuracy) <= wrong(accuracy) + 1,
        "int8 accuracy {int8_accuracy} against float32 {accuracy}"
    );
}

#[test]
fn iris_reaches_93_percent() {
    let Some(data) = dataset("iris.csv") else {
        return;
    };
    let x: Vec<[f32; 4]> = data.rows().unwrap();
    let (x_train, x_test, y_train, y_test) = train_test_split(&x, &data.labels, 0.2, 42).unwrap();
    let (scaler, x_train) = StandardScaler::fit_transform(&x_train).unwrap();
    let x_test = scaler.transform(&x_test).unwrap();
    let mut model = IrisNet::new(3).compile(
        Adam::new(0.01),
        Loss::sparse_categorical_crossentropy(),
        [Metric::Accuracy],
    );
    let options = Fit {
        epochs: 100,
        batch_size: 16,
        seed: 3,
        verbose: 0.into(),
        ..Fit::default()
    };
    model.fit(&x_train, &y_train, options).unwrap();
    let accuracy = model
        .evaluate(&x_test, &y_test)
        .unwrap()
        .get("accuracy")
        .unwrap();
    assert!(accuracy >= 0.93, "iris test accuracy {accuracy}");
}

/// The digits as the examples read them (`examples/common`), or `None` with a message when the
/// file is not there.
fn digits_split<R: Row + Clone>() -> Option<Split<R>> {
    dataset("digits8x8.csv")?;
    Some(examples_common::digits().unwrap())
}

#[test]
fn digits_cnn_reaches_97_percent() {
    let Some((x_train, x_test, y_train, y_test)) = digits_split::<[[[f32; 1]; 8]; 8]>() else {
        return;
    };
    let mut model = DigitsCnn::new(7).compile(
        Adam::new(0.005),
        Loss::sparse_categorical_crossentropy(),
        [Metric::Accuracy],
    );
    let options = Fit {
        epochs: 20,
        validation_split: 0.1,
        seed: 7,
        verbose: 0.into(),
        ..Fit::default()
    };
    model.fit(&x_train, &y_train, options).unwrap();
    let accuracy = model
        .evaluate(&x_test, &y_test)
        .unwrap()
        .get("accuracy")
        .unwrap();
    assert!(accuracy >= 0.97, "digits CNN test accuracy {accuracy}");
    // After Keras' quantize("int8") (its Dense layers int8, Conv2D float32, as in Keras): within
    // half a point of float32 (issue 24's row).
    let int8_accuracy = model
        .quantize("int8")
        .unwrap()
        .evaluate(&x_test, &y_test)
        .unwrap()
        .get("accuracy")
        .unwrap();
    eprintln!("digits CNN: float32 accuracy {accuracy}, int8 {int8_accuracy}");
    assert!(
        int8_accuracy >= accuracy - 0.005,
        "int8 accuracy {int8_accuracy} against float32 {accuracy}"
    );
}

#[test]
fn tutorial_with_dropout_and_batch_norm_learns() {
    let (x, y) = tutorial_data(1000, 42);
    let (x_train, x_test, y_train, y_test) = train_test_split(&x, &y, 0.2, 42).unwrap();
    let mut model = RegularizedNet::new(42).compile(
        Adam::new(0.001),
        Loss::binary_crossentropy(),
        [Metric::Accuracy],
    );
    let options = Fit {
        epochs: 10,
        validation_split: 0.1,
        seed: 42,
        verbose: 0.into(),
        ..Fit::default()
    };
    let history = model.fit(&x_train, &y_train, options).unwrap();
    // Training runs with dropout, validation in inference mode: the training loss stays above.
    let (loss, val_loss) = (
        history.last("loss").unwrap(),
        history.last("val_loss").unwrap(),
    );
    assert!(loss > val_loss, "dropout in training: {loss} vs {val_loss}");
    let accuracy = model
        .evaluate(&x_test, &y_test)
        .unwrap()
        .get("accuracy")
        .unwrap();
    assert!(
        accuracy >= 0.9,
        "regularized tutorial test accuracy {accuracy}"
    );
    assert!(
        model.state().iter().any(|&v| v != 0.0 && v != 1.0),
        "the moving statistics were updated"
    );
}

sequential! {
    struct PowerDemand {
        Input(shape = (24, 1)),
        Conv1D(32, 5, padding = "same", activation = relu),
        MaxPooling1D(2),
        Conv1D(32, 3, padding = "same", activation = relu),
        Flatten,
        Dense(2, activation = softmax),
    }
}

sequential! {
    struct Motions {
        Input(shape = (100, 6)),
        Conv1D(16, 5, activation = relu),
        MaxPooling1D(2),
        Conv1D(32, 5, activation = relu),
        GlobalAveragePooling1D,
        Dense(4, activation = softmax),
    }
}

/// `epochs` of `batch_size` rows, quietly, with a fixed shuffle.
fn quiet_fit<'a, R, Y: ?Sized>(epochs: usize, batch_size: usize) -> Fit<'a, R, Y> {
    Fit {
        epochs,
        batch_size,
        seed: 1,
        verbose: 0.into(),
        ..Fit::default()
    }
}

/// The Conv1D models of `examples/time_series.rs` on the archive's own splits: each beats the
/// archive's 1-nearest-neighbour baseline (ItalyPowerDemand 0.955, BasicMotions 0.600; 0.974
/// and 1.000 here on every kernel path).
#[test]
fn conv1d_beats_one_nearest_neighbour_on_real_time_series() {
    let (Some(train), Some(test)) = (
        dataset("italypowerdemand_train.csv"),
        dataset("italypowerdemand_test.csv"),
    ) else {
        return;
    };
    type Day = [[f32; 1]; 24];
    let (x, xt): (Vec<Day>, Vec<Day>) = (train.rows().unwrap(), test.rows().unwrap());
    let mut model = PowerDemand::new(1).compile(
        Adam::new(0.003),
        Loss::sparse_categorical_crossentropy(),
        [Metric::Accuracy],
    );
    model.fit(&x, &train.labels, quiet_fit(200, 16)).unwrap();
    let italy = model
        .evaluate(&xt, &test.labels)
        .unwrap()
        .get("accuracy")
        .unwrap();
    assert!(italy > 0.955, "ItalyPowerDemand test accuracy {italy}");

    let (Some(train), Some(test)) = (
        dataset("basicmotions_train.csv"),
        dataset("basicmotions_test.csv"),
    ) else {
        return;
    };
    type Motion = [[f32; 6]; 100];
    let (x, xt): (Vec<Motion>, Vec<Motion>) = (train.rows().unwrap(), test.rows().unwrap());
    let mut model = Motions::new(1).compile(
        Adam::new(0.003),
        Loss::sparse_categorical_crossentropy(),
        [Metric::Accuracy],
    );
    model.fit(&x, &train.labels, quiet_fit(100, 8)).unwrap();
    let motions = model
        .evaluate(&xt, &test.labels)
        .unwrap()
        .get("accuracy")
        .unwrap();
    assert!(motions >= 0.9, "BasicMotions test accuracy {motions}");
    eprintln!("ItalyPowerDemand {italy:.3}, BasicMotions {motions:.3}");
}

sequential! {
    /// `examples/lstm_power_demand.rs`.
    struct PowerDemandLstm {
        Input(shape = (24, 1)),
        LSTM(16),
        Dense(2, activation = softmax),
    }
}

sequential! {
    /// `examples/digits_lstm.rs`.
    struct DigitRows {
        Input(shape = (8, 8)),
        LSTM(32),
        Dense(10, activation = softmax),
    }
}

sequential! {
    /// `examples/word_order.rs`: reads the words in order.
    struct OrderLstm {
        Input(shape = (20,), dtype = "int32"),
        Embedding(30, 8, mask_zero = true),
        LSTM(16),
        Dense(1, activation = sigmoid),
    }
}

sequential! {
    /// `examples/word_order.rs`: the mean of the words' vectors, blind to their order.
    struct BagOfWords {
        Input(shape = (20,), dtype = "int32"),
        Embedding(30, 8, mask_zero = true),
        GlobalAveragePooling1D,
        Dense(1, activation = sigmoid),
    }
}

/// `examples/lstm_power_demand.rs`: 0.960 here on the AVX-512, AVX2 and portable paths (seeds
/// 1–8: 0.958–0.964 on AVX2 and portable), against 1-NN's 0.955. `ReduceLROnPlateau` ends the
/// run at a small learning rate, which is what keeps the result steady across seeds and paths
/// (at a constant 0.01 it ranged over 0.943–0.966 for seeds 1–8, 120–180 epochs, AVX2 and
/// portable).
#[test]
fn lstm_matches_or_beats_one_nearest_neighbour_on_italy_power_demand() {
    let (Some(train), Some(test)) = (
        dataset("italypowerdemand_train.csv"),
        dataset("italypowerdemand_test.csv"),
    ) else {
        return;
    };
    type Day = [[f32; 1]; 24];
    let (x, xt): (Vec<Day>, Vec<Day>) = (train.rows().unwrap(), test.rows().unwrap());
    let baseline = one_nn(&x, &train.labels, &xt, &test.labels);
    assert!(
        (baseline - 0.955).abs() < 5e-4,
        "the archive's 1-NN baseline is 0.955, not {baseline}"
    );
    let mut model = PowerDemandLstm::new(1).compile(
        Adam::new(0.01),
        Loss::sparse_categorical_crossentropy(),
        [Metric::Accuracy],
    );
    let options = Fit {
        callbacks: vec![Box::new(
            ReduceLROnPlateau::new("loss").factor(0.5).patience(10),
        )],
        ..quiet_fit(150, 16)
    };
    model.fit(&x, &train.labels, options).unwrap();
    let lstm = model
        .evaluate(&xt, &test.labels)
        .unwrap()
        .get("accuracy")
        .unwrap();
    eprintln!("ItalyPowerDemand: LSTM {lstm:.3}, 1-NN {baseline:.3}");
    assert!(
        lstm >= baseline,
        "LSTM test accuracy {lstm} below the 1-NN baseline {baseline}"
    );
}

/// `examples/digits_lstm.rs`: 0.989 here on the AVX-512, AVX2 and portable paths (seeds 1–8:
/// 0.961–0.992 on AVX2 and portable).
#[test]
fn lstm_reading_digit_rows_reaches_95_percent() {
    let Some((x_train, x_test, y_train, y_test)) = digits_split::<[[f32; 8]; 8]>() else {
        return;
    };
    let mut model = DigitRows::new(7).compile(
        Adam::new(0.01),
        Loss::sparse_categorical_crossentropy(),
        [Metric::Accuracy],
    );
    let options = Fit {
        seed: 7,
        ..quiet_fit(20, 32)
    };
    model.fit(&x_train, &y_train, options).unwrap();
    let accuracy = model
        .evaluate(&x_test, &y_test)
        .unwrap()
        .get("accuracy")
        .unwrap();
    eprintln!("digits as rows: LSTM {accuracy:.3}");
    assert!(
        accuracy >= 0.95,
        "digits-rows LSTM test accuracy {accuracy}"
    );
}

/// `examples/word_order.rs`, the synthetic word-order task: the LSTM 1.000 here, the bag of
/// words 0.518 (eight other data and model seeds: LSTM 0.997–1.000, bag of words 0.471–0.522,
/// the same on the AVX2 and portable paths; seed 1 the same on AVX-512). No data file needed.
#[test]
fn lstm_on_padded_tokens_solves_word_order_where_a_bag_of_words_cannot() {
    let (train, y_train) = a_before_b(2000, 1);
    let (test, y_test) = a_before_b(1000, 2);
    let x_train: Vec<[i32; MAX_WORDS]> = pad_sequences(&train, Padding::Pre, Padding::Pre, 0);
    let x_test: Vec<[i32; MAX_WORDS]> = pad_sequences(&test, Padding::Pre, Padding::Pre, 0);
    // The classes are balanced: chance is 0.5.
    let ones = y_test.iter().filter(|&&y| y == 1.0).count();
    assert!((450..=550).contains(&ones), "{ones} of 1000 labels are 1");
    let options = || quiet_fit(10, 32);
    let mut lstm = OrderLstm::new(1).compile(
        Adam::new(0.01),
        Loss::binary_crossentropy(),
        [Metric::Accuracy],
    );
    lstm.fit(&x_train, &y_train, options()).unwrap();
    let mut bag = BagOfWords::new(1).compile(
        Adam::new(0.01),
        Loss::binary_crossentropy(),
        [Metric::Accuracy],
    );
    bag.fit(&x_train, &y_train, options()).unwrap();
    let ordered = lstm
        .evaluate(&x_test, &y_test)
        .unwrap()
        .get("accuracy")
        .unwrap();
    let unordered = bag
        .evaluate(&x_test, &y_test)
        .unwrap()
        .get("accuracy")
        .unwrap();
    eprintln!("word order: LSTM {ordered:.3}, bag of words {unordered:.3}");
    assert!(ordered >= 0.95, "LSTM test accuracy {ordered}");
    assert!(
        (0.42..=0.58).contains(&unordered),
        "a bag of words cannot know the order, yet scored {unordered}"
    );
}
