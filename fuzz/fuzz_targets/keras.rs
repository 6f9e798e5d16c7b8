//! The parts of Keras-file loading that seqnet owns (feature `keras`): the `.keras` zip
//! archive, its `config.json` (read by `load_weights_bytes` and by `source_from_config`), and
//! the mapping of a `.weights.h5` file's groups and datasets to the model's layers. Property:
//! an error that leaves the model exactly as it was, or a model whose every value is finite;
//! `source_from_config` returns; never a panic.
//!
//! Bytes that reach libhdf5's own parser corrupted are left out on purpose: crashes inside
//! libhdf5 are a documented limit, not seqnet's to fix. So the HDF5 files here are always
//! well-formed, written through the hdf5 crate, with a structure the input chooses.
//!
//! The first byte picks the mode:
//! - 0: `config.json` is the rest of the input (any bytes), beside valid weights;
//! - 1: a well-formed config whose layer list the input writes (classes, names, count);
//! - 2: the valid archive with bytes flipped (`(u16 offset, xor)` triples) outside the
//!   weights member's data, so the zip structure and the config are what break;
//! - 3: a well-formed `.weights.h5` whose groups, dataset names, shapes and dtypes the input
//!   chooses, alone (first bit of the second byte clear) or inside a valid archive.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seqnet::prelude::*;
use std::io::Write;
use std::sync::OnceLock;

sequential! {
    /// Conv2D, BatchNormalization (trainable and state weights), Dense with softmax.
    struct Small {
        Input(shape = (4, 4, 1)),
        Conv2D(2, (3, 3), padding = "same", activation = relu),
        BatchNormalization,
        Flatten,
        Dense(3, activation = softmax),
    }
}

/// Keras' classes as they appear in a config, with the snake-case group each gets in a
/// weights file: Small's own, and others a config may name.
const CLASSES: [&str; 8] = [
    "InputLayer",
    "Conv2D",
    "BatchNormalization",
    "Flatten",
    "Dense",
    "Dropout",
    "MaxPooling2D",
    "LSTM",
];
const GROUPS: [&str; 8] = [
    "conv2d",
    "batch_normalization",
    "dense",
    "flatten",
    "conv2d_1",
    "dense_1",
    "dropout",
    "lstm",
];

/// A config.json for `layers` (class, name) in Keras 3's Sequential form.
fn config(layers: &[(&str, String)]) -> Vec<u8> {
    let layers: Vec<serde_json::Value> = layers
        .iter()
        .map(|(class, name)| {
            let mut config = serde_json::json!({ "name": name, "trainable": true });
            match *class {
                "InputLayer" => config["batch_shape"] = serde_json::json!([null, 4, 4, 1]),
                "Conv2D" => {
                    config["filters"] = 2.into();
                    config["kernel_size"] = serde_json::json!([3, 3]);
                    config["padding"] = "same".into();
                    config["activation"] = "relu".into();
                }
                "Dense" => {
                    config["units"] = 3.into();
                    config["activation"] = "softmax".into();
                }
                _ => {}
            }
            serde_json::json!({ "module": "keras.layers", "class_name": class, "config": config })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "module": "keras",
        "class_name": "Sequential",
        "config": { "name": "sequential", "layers": layers },
    }))
    .expect("a JSON value serializes")
}

/// Small's own layer list, as Keras would write it.
fn valid_layers() -> Vec<(&'static str, String)> {
    [
        ("InputLayer", "input_layer"),
        ("Conv2D", "conv2d"),
        ("BatchNormalization", "batch_normalization"),
        ("Flatten", "flatten"),
        ("Dense", "dense"),
    ]
    .into_iter()
    .map(|(c, n)| (c, n.to_string()))
    .collect()
}

/// A `.keras` archive (stored, as Keras writes it) of these members.
fn archive(config: &[u8], weights: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored);
    zip.start_file("metadata.json", stored).expect("zip");
    zip.write_all(b"{\"keras_version\": \"3.6.0\"}").expect("zip");
    zip.start_file("config.json", stored).expect("zip");
    zip.write_all(config).expect("zip");
    zip.start_file("model.weights.h5", stored).expect("zip");
    zip.write_all(weights).expect("zip");
    zip.finish().expect("zip").into_inner()
}

/// Small's valid `.keras` archive, and where the weights member's data lies in it (found
/// once by search: a stored member is its bytes as they are).
fn valid_archive() -> &'static (Vec<u8>, std::ops::Range<usize>) {
    static ARCHIVE: OnceLock<(Vec<u8>, std::ops::Range<usize>)> = OnceLock::new();
    ARCHIVE.get_or_init(|| {
        let weights = valid_weights();
        let bytes = archive(&config(&valid_layers()), weights);
        let start = bytes
            .windows(weights.len())
            .position(|w| w == weights)
            .expect("a stored member");
        (bytes, start..start + weights.len())
    })
}

/// A temporary folder for this process, made once.
fn scratch() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("seqnet-fuzz-keras-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        dir
    })
}

/// Small's valid `.weights.h5`.
fn valid_weights() -> &'static [u8] {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = scratch().join("small.weights.h5");
        Small::new(7).save_weights(&path).expect("saving a fresh model");
        std::fs::read(&path).expect("reading it back")
    })
}

/// A well-formed HDF5 file whose layout `spec` chooses: per 3 bytes, a group (of GROUPS), a
/// dataset index 0..3 and a shape/dtype choice; values are small finite floats, or NaN.
fn chosen_weights(spec: &[u8]) -> Vec<u8> {
    use hdf5_metno as hdf5;
    let path = scratch().join("chosen.weights.h5");
    let _ = std::fs::remove_file(&path);
    hdf5::silence_errors(true);
    let file = hdf5::File::create(&path).expect("an HDF5 file");
    let layers = file.create_group("layers").expect("a group");
    for pick in spec.chunks_exact(3).take(12) {
        let group = GROUPS[usize::from(pick[0]) % GROUPS.len()];
        let vars = match layers.group(group) {
            Ok(g) => g.group("vars").expect("vars made with the group"),
            Err(_) => layers
                .create_group(group)
                .and_then(|g| g.create_group("vars"))
                .expect("a group"),
        };
        let name = (pick[1] % 4).to_string();
        if vars.dataset(&name).is_ok() {
            continue;
        }
        // Shapes Small's weights have, and others.
        let shapes: [&[usize]; 6] = [&[3, 3, 1, 2], &[2], &[32, 3], &[3], &[0], &[2, 2, 2]];
        let shape = shapes[usize::from(pick[2] % 6)];
        let len: usize = shape.iter().product();
        if pick[2] & 0x40 != 0 {
            let values = vec![1.0f64; len];
            let ds = vars.new_dataset::<f64>().shape(shape).create(name.as_str());
            if let Ok(ds) = ds {
                let _ = ds.write_raw(&values);
            }
        } else {
            let value = if pick[2] & 0x80 != 0 { f32::NAN } else { 0.25 };
            let ds = vars.new_dataset::<f32>().shape(shape).create(name.as_str());
            if let Ok(ds) = ds {
                let _ = ds.write_raw(&vec![value; len]);
            }
        }
    }
    file.close().expect("closing");
    std::fs::read(&path).expect("reading it back")
}

fn input(data: &[u8]) -> Vec<u8> {
    let Some((&op, rest)) = data.split_first() else {
        return Vec::new();
    };
    match op % 4 {
        0 => {
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(rest) {
                // Whatever a config says, printing its declaration returns.
                let _ = seqnet::keras::source_from_config(&value, "Model");
            }
            archive(rest, valid_weights())
        }
        1 => {
            let layers: Vec<(&str, String)> = rest
                .chunks(2)
                .take(12)
                .map(|p| {
                    let class = CLASSES[usize::from(p[0]) % CLASSES.len()];
                    let name = match p.get(1) {
                        Some(&n) if n < 200 => GROUPS[usize::from(n) % GROUPS.len()].to_string(),
                        Some(&n) => format!("layer_{n}"),
                        None => String::new(),
                    };
                    (class, name)
                })
                .collect();
            let config = config(&layers);
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&config) {
                let _ = seqnet::keras::source_from_config(&value, "Model");
            }
            archive(&config, valid_weights())
        }
        2 => {
            let (valid, weights) = valid_archive();
            let mut bytes = valid.clone();
            for flip in rest.chunks_exact(3) {
                let at = usize::from(u16::from_le_bytes([flip[0], flip[1]])) % bytes.len();
                if !weights.contains(&at) {
                    bytes[at] ^= flip[2];
                }
            }
            bytes
        }
        _ => {
            let Some((&how, spec)) = rest.split_first() else {
                return Vec::new();
            };
            let weights = chosen_weights(spec);
            if how & 1 == 0 {
                weights
            } else {
                archive(&config(&valid_layers()), &weights)
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let bytes = input(data);
    let mut model = Small::new(1);
    let before = model.get_weights();
    match model.load_weights_bytes(&bytes) {
        Ok(()) => assert!(model.get_weights().iter().flatten().all(|v| v.is_finite())),
        Err(_) => assert_eq!(model.get_weights(), before),
    }
});
