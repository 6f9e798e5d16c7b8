//! Weight files: `.safetensors` round trips are bit-identical for every layer type (moving
//! statistics included), a compiled model's checkpoint resumes training exactly, saves are
//! atomic, and every malformed file is an error that names what differs and changes nothing.

mod common;
use common::on_threads;
use proptest::prelude::*;
use safetensors::tensor::{Dtype, TensorView};
use seqnet::prelude::*;
use seqnet::{Mismatch, Row};
use std::path::{Path, PathBuf};

sequential! {
    /// Every layer type that has weights or state, and the ones that reshape.
    struct EveryLayer {
        Input(shape = (8, 8, 2)),
        Conv2D(4, (3, 3), padding = "same", activation = relu),
        BatchNormalization,
        MaxPooling2D((2, 2)),
        Dropout(0.25),
        Conv2D(3, (1, 1), use_bias = false),
        AveragePooling2D((2, 2)),
        Flatten,
        Dense(5, activation = tanh),
        Dense(3, activation = softmax),
    }
}

sequential! {
    /// Same layer names and count as the start of `EveryLayer`, other shapes.
    struct OtherShapes {
        Input(shape = (8, 8, 2)),
        Conv2D(6, (3, 3), padding = "same", activation = relu),
        BatchNormalization,
        MaxPooling2D((2, 2)),
        Dropout(0.25),
        Conv2D(3, (1, 1), use_bias = false),
        AveragePooling2D((2, 2)),
        Flatten,
        Dense(5, activation = tanh),
        Dense(3, activation = softmax),
    }
}

sequential! {
    /// The tutorial's model.
    struct Tutorial {
        Input(shape = (10,)),
        Dense(64, activation = relu),
        Dense(32, activation = relu),
        Dense(1, activation = sigmoid),
    }
}

type Image = [[[f32; 2]; 8]; 8];

fn images(n: usize) -> Vec<Image> {
    let mut x = vec![Image::zeros(); n];
    for (i, v) in Image::flat_mut(&mut x).iter_mut().enumerate() {
        *v = ((i * 37 % 101) as f32 / 50.0 - 1.0) * 0.8;
    }
    x
}

fn labels(n: usize) -> Vec<f32> {
    (0..n).map(|i| (i % 3) as f32).collect()
}

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// A model with every weight and state value moved from its start, by a few training steps.
fn trained() -> EveryLayer {
    let mut m =
        EveryLayer::new(3).compile(Adam::new(0.01), Loss::sparse_categorical_crossentropy(), []);
    for _ in 0..3 {
        m.train_on_batch(&images(40), &labels(40)).unwrap();
    }
    m.into_model()
}

#[test]
fn safetensors_round_trip_is_bit_identical_for_every_layer_type() {
    let model = trained();
    let d = dir();
    let path = d.path().join("every.safetensors");
    model.save_weights(&path).unwrap();

    let mut fresh = EveryLayer::new(99);
    assert_ne!(fresh.params(), model.params());
    fresh.load_weights(&path).unwrap();
    assert_eq!(fresh.params(), model.params());
    assert_eq!(fresh.state(), model.state());
    assert!(model.state().iter().any(|&v| v != 0.0 && v != 1.0));
    let x = images(7);
    assert_eq!(fresh.predict(&x).unwrap(), model.predict(&x).unwrap());

    // The same bytes, from memory (as `include_bytes!` gives them).
    let bytes = std::fs::read(&path).unwrap();
    let mut from_bytes = EveryLayer::new(5);
    from_bytes.load_weights_bytes(&bytes).unwrap();
    assert_eq!(from_bytes.get_weights(), model.get_weights());

    // Tensors are named layer/weight in Keras' shapes; the metadata lists the layers.
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let kernel = file.tensor("conv2d/kernel").unwrap();
    assert_eq!(kernel.shape(), [3, 3, 2, 4]);
    assert_eq!(
        file.tensor("batch_normalization/moving_variance")
            .unwrap()
            .shape(),
        [4]
    );
    assert!(
        file.tensor("conv2d_1/bias").is_err(),
        "no bias was asked for"
    );
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().unwrap();
    assert_eq!(meta["format"], "seqnet");
    assert_eq!(meta["model"], "EveryLayer");
    assert!(meta["layers"].starts_with(r#"[["conv2d","Conv2D"],["batch_normalization","#));
}

/// Trains `steps` steps of `fit`-sized batches from a fixed start, on `threads` threads.
fn run(steps: usize, resume_from: Option<&Path>, save_to: Option<&Path>) -> Vec<f32> {
    let mut m =
        EveryLayer::new(3).compile(Adam::new(0.01), Loss::sparse_categorical_crossentropy(), []);
    if let Some(path) = resume_from {
        m.load_weights(path).unwrap();
    }
    let x = images(40);
    let y = labels(40);
    for _ in 0..steps {
        m.train_on_batch(&x, &y).unwrap();
    }
    if let Some(path) = save_to {
        m.save_weights(path).unwrap();
    }
    [m.params(), m.state()].concat()
}

#[test]
fn training_resumed_from_a_checkpoint_equals_training_straight_through() {
    let d = dir();
    let checkpoint = d.path().join("ckpt.safetensors");
    let straight = run(6, None, None);
    run(3, None, Some(&checkpoint));
    let resumed = run(3, Some(&checkpoint), None);
    assert_eq!(
        resumed, straight,
        "Adam's moments, iterations and dropout masks resume"
    );
    // Without the optimizer's state the continuation differs: the test can tell.
    let mut m = EveryLayer::new(3);
    m.load_weights(&checkpoint).unwrap();
    let mut m = m.compile(Adam::new(0.01), Loss::sparse_categorical_crossentropy(), []);
    for _ in 0..3 {
        m.train_on_batch(&images(40), &labels(40)).unwrap();
    }
    assert_ne!([m.params(), m.state()].concat(), straight);
    // The same on two threads.
    assert_eq!(on_threads(2, || run(6, None, None)), straight);
}

#[test]
fn saves_replace_the_file_whole_and_leave_no_temporary_file() {
    let d = dir();
    let path = d.path().join("m.safetensors");
    let a = Tutorial::new(1);
    a.save_weights(&path).unwrap();
    let b = Tutorial::new(2);
    b.save_weights(&path).unwrap();
    let mut c = Tutorial::new(3);
    c.load_weights(&path).unwrap();
    assert_eq!(c.params(), b.params());
    let names: Vec<_> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["m.safetensors"]);
    // A folder that does not exist: an error naming the path, and no file.
    let missing = d.path().join("nope").join("m.safetensors");
    let err = a.save_weights(&missing).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    // An extension no format has.
    assert!(matches!(
        a.save_weights(d.path().join("m.bin")).unwrap_err(),
        Error::InvalidArgument { .. }
    ));
}

/// Loads `bytes` into a fresh `EveryLayer`, asserts the load failed without changing a value,
/// and returns the error.
fn rejected(bytes: &[u8]) -> Error {
    let mut model = EveryLayer::new(8);
    let before = model.get_weights();
    let err = model.load_weights_bytes(bytes).unwrap_err();
    assert_eq!(
        model.get_weights(),
        before,
        "a failed load changed the model"
    );
    err
}

/// A tensor as a safetensors file stores it: name, dtype, shape, little-endian bytes.
type RawTensor = (String, Dtype, Vec<usize>, Vec<u8>);

/// A safetensors file of the given tensors (name, dtype, shape, bytes) and metadata.
fn safetensors_bytes(
    tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)],
    layers: Option<&str>,
) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, d, s, b)| (n.to_string(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    let meta =
        layers.map(|l| std::collections::HashMap::from([("layers".to_string(), l.to_string())]));
    safetensors::serialize(views, meta).unwrap()
}

fn mismatch(err: Error) -> (String, Mismatch) {
    match err {
        Error::WeightsMismatch {
            tensor, mismatch, ..
        } => (tensor, mismatch),
        other => panic!("expected a weights mismatch, got {other}"),
    }
}

#[test]
fn malformed_files_are_errors_that_change_nothing() {
    let d = dir();
    let good_path = d.path().join("good.safetensors");
    trained().save_weights(&good_path).unwrap();
    let good = std::fs::read(&good_path).unwrap();

    // A missing file.
    let mut model = EveryLayer::new(8);
    let err = model
        .load_weights(d.path().join("absent.safetensors"))
        .unwrap_err();
    assert!(matches!(err, Error::Io { ref path, .. } if path.ends_with("absent.safetensors")));

    // Truncated at every kind of place: inside the length, the header, the data.
    for cut in [0, 4, 8, 20, good.len() / 2, good.len() - 1] {
        let err = rejected(&good[..cut]);
        assert!(
            matches!(err, Error::BadWeightsFile { .. }),
            "cut {cut}: {err}"
        );
    }
    // A header length past the end of the bytes, and a huge one.
    for n in [good.len() as u64, u64::MAX / 2] {
        let mut bytes = good.clone();
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        assert!(matches!(rejected(&bytes), Error::BadWeightsFile { .. }));
    }
    // Corrupted header JSON; bytes of no known format.
    let mut bytes = good.clone();
    bytes[9] = b'#';
    assert!(matches!(rejected(&bytes), Error::BadWeightsFile { .. }));
    assert!(matches!(
        rejected(b"GIF89a, not weights"),
        Error::BadWeightsFile { .. }
    ));

    // Another architecture: same names, other shapes (the first tensor that differs is named).
    let other = d.path().join("other.safetensors");
    OtherShapes::new(1).save_weights(&other).unwrap();
    let (tensor, m) = mismatch(rejected(&std::fs::read(&other).unwrap()));
    assert_eq!(tensor, "conv2d/kernel");
    assert_eq!(
        m,
        Mismatch::Shape {
            expected: vec![3, 3, 2, 4],
            got: vec![3, 3, 2, 6]
        }
    );
    // Another architecture by its layer list.
    let tutorial = d.path().join("tutorial.safetensors");
    Tutorial::new(1).save_weights(&tutorial).unwrap();
    let (tensor, m) = mismatch(rejected(&std::fs::read(&tutorial).unwrap()));
    assert_eq!(tensor, "conv2d");
    assert_eq!(
        m,
        Mismatch::Layer {
            expected: "conv2d (Conv2D)".into(),
            got: "dense (Dense)".into()
        }
    );

    // Hand-made files: each weight as the model needs it, then one thing wrong.
    let model = trained();
    let spec = EveryLayer::spec();
    let tensors: Vec<(String, Vec<usize>, Vec<f32>)> = spec
        .weights()
        .zip(model.get_weights())
        .map(|((l, w), v)| (format!("{}/{}", l.name, w.name), w.shape.clone(), v))
        .collect();
    let file = |edit: &dyn Fn(&mut Vec<RawTensor>)| {
        let mut t: Vec<RawTensor> = tensors
            .iter()
            .map(|(n, s, v)| {
                (
                    n.clone(),
                    Dtype::F32,
                    s.clone(),
                    v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                )
            })
            .collect();
        edit(&mut t);
        let refs: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)> = t
            .iter()
            .map(|(n, d, s, b)| (n.as_str(), *d, s.clone(), b.clone()))
            .collect();
        safetensors_bytes(&refs, None)
    };
    // Unchanged, it loads.
    let mut fresh = EveryLayer::new(1);
    fresh.load_weights_bytes(&file(&|_| {})).unwrap();
    assert_eq!(fresh.get_weights(), model.get_weights());
    // A missing tensor.
    let (tensor, m) = mismatch(rejected(&file(&|t| {
        t.retain(|x| x.0 != "batch_normalization/moving_mean")
    })));
    assert_eq!(
        (tensor.as_str(), m),
        ("batch_normalization/moving_mean", Mismatch::Missing)
    );
    // An extra tensor.
    let (tensor, m) = mismatch(rejected(&file(&|t| {
        t.push(("dense/extra".into(), Dtype::F32, vec![1], vec![0; 4]))
    })));
    assert_eq!((tensor.as_str(), m), ("dense/extra", Mismatch::Unexpected));
    // Float64 values.
    let (tensor, m) = mismatch(rejected(&file(&|t| {
        t[0].1 = Dtype::F64;
        t[0].3 = vec![0; t[0].3.len() * 2];
    })));
    assert_eq!(
        (tensor.as_str(), m),
        (
            "conv2d/kernel",
            Mismatch::Dtype {
                expected: "float32, int32 or int8".into(),
                got: "F64".into()
            }
        )
    );
    // A NaN and an infinity.
    for bad in [f32::NAN, f32::INFINITY] {
        let (tensor, m) = mismatch(rejected(&file(&|t| {
            t[7].3[8..12].copy_from_slice(&bad.to_le_bytes());
        })));
        assert_eq!(tensor, tensors[7].0);
        assert!(matches!(m, Mismatch::NonFinite { index: 2, .. }), "{m:?}");
    }
    // The message says it in words.
    let err = rejected(&file(&|t| t.truncate(3)));
    assert_eq!(
        err.to_string(),
        "bytes: weight `batch_normalization/beta` is missing from the file"
    );
}

#[test]
fn a_compiled_model_rejects_another_optimizers_state_and_changes_nothing() {
    let d = dir();
    let path = d.path().join("adam.safetensors");
    run(2, None, Some(&path));
    let mut m = EveryLayer::new(3).compile(
        SGD::new(0.1).momentum(0.9),
        Loss::sparse_categorical_crossentropy(),
        [],
    );
    m.train_on_batch(&images(4), &labels(4)).unwrap();
    let before = (m.get_weights(), m.optimizer().iterations());
    let (tensor, mm) = mismatch(m.load_weights(&path).unwrap_err());
    assert_eq!(tensor, "optimizer");
    assert_eq!(
        mm,
        Mismatch::Layer {
            expected: "sgd".into(),
            got: "adam".into()
        }
    );
    assert_eq!((m.get_weights(), m.optimizer().iterations()), before);
}

/// Cases per fuzz property: 256 in CI; `SEQNET_FUZZ_CASES` raises it for a long local run.
fn fuzz_cases() -> u32 {
    std::env::var("SEQNET_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(fuzz_cases()))]

    /// Random bytes never make a load panic or change the model.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut model = Tutorial::new(1);
        let before = model.params().to_vec();
        if model.load_weights_bytes(&bytes).is_err() {
            prop_assert_eq!(model.params(), &before[..]);
        }
    }

    /// A valid file with bytes flipped, cut or grown: an error or a model whose every value is
    /// finite, never a panic.
    #[test]
    fn mutated_files_never_panic(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<Option<usize>>(),
    ) {
        let mut bytes = good_file();
        for (at, value) in flips {
            let i = at % bytes.len();
            bytes[i] ^= value | 1;
        }
        if let Some(c) = cut {
            bytes.truncate(c % (bytes.len() + 1));
        }
        let mut model = Tutorial::new(1);
        let before = model.params().to_vec();
        match model.load_weights_bytes(&bytes) {
            Ok(()) => prop_assert!(model.params().iter().all(|v| v.is_finite())),
            Err(_) => prop_assert_eq!(model.params(), &before[..]),
        }
    }
}

fn good_file() -> Vec<u8> {
    static FILE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let d = dir();
        let path: PathBuf = d.path().join("t.safetensors");
        Tutorial::new(4).save_weights(&path).unwrap();
        std::fs::read(path).unwrap()
    })
    .clone()
}

#[test]
fn model_checkpoint_saves_as_keras_does() {
    let d = dir();
    let x = images(60);
    let y = labels(60);
    let every = d.path().join("e{epoch:02d}.safetensors");
    let best = d.path().join("best-{epoch}-{loss:.3f}.safetensors");
    let mut m =
        EveryLayer::new(3).compile(Adam::new(0.01), Loss::sparse_categorical_crossentropy(), []);
    let history = m
        .fit(
            &x,
            &y,
            Fit {
                epochs: 4,
                batch_size: 20,
                verbose: 0.into(),
                callbacks: vec![
                    Box::new(ModelCheckpoint::new(every.to_str().unwrap())),
                    Box::new(
                        ModelCheckpoint::new(best.to_str().unwrap())
                            .monitor("loss")
                            .save_best_only(true)
                            .save_weights_only(true),
                    ),
                ],
                ..Fit::default()
            },
        )
        .unwrap();
    // One file per epoch, numbered from 1; the last holds the final weights and Adam's state.
    let last = d.path().join("e04.safetensors");
    for e in 1..=4 {
        assert!(d.path().join(format!("e{e:02}.safetensors")).exists());
    }
    let mut back = EveryLayer::new(0);
    back.load_weights(&last).unwrap();
    assert_eq!(back.get_weights(), m.get_weights());
    let bytes = std::fs::read(&last).unwrap();
    let names = safetensors::SafeTensors::deserialize(&bytes)
        .unwrap()
        .names()
        .len();
    assert!(
        names > EveryLayer::spec().weights().count(),
        "optimizer state saved"
    );

    // save_best_only: a file for each epoch whose loss beat every earlier one.
    let losses = history.get("loss").unwrap();
    let mut expected: Vec<String> = Vec::new();
    let mut best_so_far = f64::INFINITY;
    for (e, &l) in losses.iter().enumerate() {
        if l < best_so_far {
            best_so_far = l;
            expected.push(format!("best-{}-{l:.3}.safetensors", e + 1));
        }
    }
    let mut saved: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("best-"))
        .collect();
    saved.sort();
    expected.sort();
    assert_eq!(saved, expected);

    // A file name no format has is refused before training changes anything.
    let before = m.get_weights();
    let err = m
        .fit(
            &x,
            &y,
            Fit {
                verbose: 0.into(),
                callbacks: vec![Box::new(ModelCheckpoint::new("weights.bin"))],
                ..Fit::default()
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    assert_eq!(m.get_weights(), before);
}
