//! The two benchmark models, trained and run through each framework's public API, side by side:
//! seqnet against dfdx 0.13, candle 0.11 and burn 0.22 (its Flex and NdArray CPU backends).
//!
//! Models (seqnet's from `benches/common/mod.rs`; every peer starts from seqnet's weights, copied
//! in through `get_weights`, and sees the same seeded data):
//! - `tutorial`: 10 → 64 (relu) → 32 (relu) → 1 (sigmoid), binary cross-entropy, Adam(1e-3).
//! - `mlp`: 784 → 512 (relu) → 512 (relu) → 10 (softmax), sparse categorical cross-entropy,
//!   Adam(1e-3).
//!
//! Workloads, each for both models (`<model>_<workload>` in the CSV):
//! - `train_b128`: one optimizer step on 128 rows (forward, loss, backward, Adam update), samples/s.
//! - `infer_b1024`: probabilities for 1024 rows, samples/s.
//! - `predict_b4096`: probabilities for 4096 rows, samples/s.
//! - `one_row`: probabilities for one row, µs per row (seqnet's `predict_one`; the peers' predict
//!   with a batch of one).
//!
//! Every timed call goes from host rows to host results: the peers' times include making their
//! input tensor from the rows and reading the output back, as seqnet's include its own. A
//! measurement is the best of as many calls as fit in about 0.1 s (3 to 100, after a warm-up;
//! `one_row` times loops of calls about 2 ms long); round r times seqnet, dfdx,
//! candle, burn-flex and burn-ndarray in turn, and the figure is the median over `--rounds`.
//!
//! Threads. Some of the peers read their thread count from the environment once per process
//! (matrixmultiply's `MATMUL_NUM_THREADS`), so each thread count runs in a child process of its
//! own, started with the variables set and every framework called inside a rayon pool of that
//! many threads:
//! - seqnet: the current rayon pool (`pool.install`).
//! - dfdx 0.13 (`Cpu`): its matmul is the `gemm` 0.15 crate with
//!   `Parallelism::Rayon(rayon::current_num_threads())`, so the current rayon pool; its other ops
//!   are single-threaded.
//! - candle 0.11: its matmul (`gemm` 0.19) reads `RAYON_NUM_THREADS` on every call (more than one:
//!   `Parallelism::Rayon(n)`, in the current rayon pool; one: no threading). Unset, it uses every
//!   core, so the child sets it.
//! - burn 0.22, Flex backend: `gemm` 0.19 with `Parallelism::Rayon(0)`, i.e. the current rayon
//!   pool; elementwise ops use rayon too.
//! - burn 0.22, NdArray backend: `ndarray`'s matmul is `matrixmultiply` with its `threading`
//!   feature, which sizes its own thread pool (not rayon's) from `MATMUL_NUM_THREADS`, read once
//!   per process (unset: the physical cores, at most 4); the rest uses the rayon pool. Caveat: it
//!   can only be pinned per process, hence the child processes.
//!
//! Every optimizer is Adam with Keras' settings: lr 1e-3, betas 0.9 and 0.999, epsilon 1e-7 (the
//! peers' own default epsilon, 1e-8, is overridden).
//!
//! Checks (before any timing, `--no-check` skips them): each peer's probabilities on 1024 rows of
//! each model must match seqnet's within 1e-4 on the same weights, and one row's as well; the
//! largest difference after one Adam step on the same batch is printed, not asserted: seqnet's
//! Adam is Keras' (epsilon added after the bias correction), the peers' the textbook form, which
//! differ for near-zero gradients, and the first step moves every weight by about ±lr whatever
//! the gradient's size; the difference to the first peer is printed beside it. (With seqnet's
//! epsilon set to 1e-7·√(1 − 0.999), the textbook form's equivalent on step one, seqnet's step
//! matched dfdx's within 4e-6 on the MLP: checked once by hand.)
//!
//! Run (from benches/peers):
//! `cargo run --release --features models --bin models -- [--rounds 5] [--threads 1,2,N]
//! [--csv PATH] [--models tutorial,mlp] [--frameworks seqnet,dfdx,candle,burn-flex,burn-ndarray]`.
//! `N` in `--threads` is every available thread; `--no-check` skips the checks.

#[path = "../../../common/mod.rs"]
mod common;

use common::{classes, rows, Mlp784, SeedNet};
use seqnet::prelude::*;
use seqnet_peers::{arg, median, time_best, Csv};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

/// The output layer and its loss: sigmoid + binary cross-entropy on 0/1 labels, or softmax +
/// sparse categorical cross-entropy on class ids.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Head {
    Sigmoid,
    Softmax,
}

/// One of the two models.
struct Spec {
    name: &'static str,
    widths: &'static [usize],
    head: Head,
    /// The seed seqnet initialises it with (as `bench_table` does).
    seed: u64,
}

const TUTORIAL: Spec = Spec {
    name: "tutorial",
    widths: &[10, 64, 32, 1],
    head: Head::Sigmoid,
    seed: 42,
};
const MLP: Spec = Spec {
    name: "mlp",
    widths: &[784, 512, 512, 10],
    head: Head::Softmax,
    seed: 3,
};

impl Spec {
    fn input(&self) -> usize {
        self.widths[0]
    }

    fn output(&self) -> usize {
        self.widths[self.widths.len() - 1]
    }

    /// (kernel, bias) per Dense layer, the kernel `in × out` row-major: Keras' `get_weights()`
    /// order and layout, taken from a freshly initialised seqnet model.
    fn weights(&self) -> Vec<(Vec<f32>, Vec<f32>)> {
        let flat = match self.name {
            "tutorial" => SeedNet::new(self.seed).get_weights(),
            _ => Mlp784::new(self.seed).get_weights(),
        };
        flat.chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect()
    }

    /// The seeded data every framework sees: 4096 rows uniform in [0, 10) (`benches/common`'s
    /// `rows`), and 128 labels (0/1 or class ids).
    fn data(&self) -> (Vec<f32>, Vec<f32>) {
        let x = match self.name {
            "tutorial" => rows::<10>(4096, 11).as_flattened().to_vec(),
            _ => rows::<784>(4096, 11).as_flattened().to_vec(),
        };
        (x, classes(128, self.output().max(2), 12))
    }

    fn peers(&self, frameworks: &[String]) -> Vec<Box<dyn Peer>> {
        let w = self.weights();
        let mut peers: Vec<Box<dyn Peer>> = Vec::new();
        for f in frameworks {
            peers.push(match (f.as_str(), self.name) {
                ("seqnet", "tutorial") => Box::new(SeqnetTutorial::new(&w)),
                ("seqnet", _) => Box::new(SeqnetMlp::new(&w)),
                ("dfdx", "tutorial") => Box::new(dfdx_peer::Tutorial::new(&w, self.head)),
                ("dfdx", _) => Box::new(dfdx_peer::Mlp::new(&w, self.head)),
                ("candle", _) => Box::new(candle_peer::CandlePeer::new(&w, self.head)),
                ("burn-flex", _) => Box::new(burn_peer::BurnPeer::new(
                    "burn-flex",
                    burn::tensor::Device::flex(),
                    &w,
                    self.head,
                )),
                // Deprecated by burn in favour of Flex, but still its most used CPU backend.
                #[allow(deprecated)]
                ("burn-ndarray", _) => Box::new(burn_peer::BurnPeer::new(
                    "burn-ndarray",
                    burn::tensor::Device::ndarray(),
                    &w,
                    self.head,
                )),
                (other, _) => panic!("unknown framework {other}"),
            });
        }
        peers
    }
}

/// A framework running one model, called with flat row-major host data.
trait Peer {
    fn name(&self) -> &'static str;
    /// Probabilities for `rows` rows of `x`, flat `rows × outputs`. With `keep` false a framework
    /// may return nothing once its own result exists (seqnet's rows would otherwise be copied into
    /// a flat vector that its users never make).
    fn predict(&mut self, x: &[f32], rows: usize, keep: bool) -> Vec<f32>;
    /// The first probability of one row.
    fn predict_one(&mut self, x: &[f32]) -> f32 {
        self.predict(x, 1, true)[0]
    }
    /// One Adam step on `labels.len()` rows of `x`.
    fn train_step(&mut self, x: &[f32], labels: &[f32]);
    /// Makes `predict` use the weights training reached (for a framework that keeps a separate
    /// inference copy).
    fn sync_inference(&mut self) {}
}

/// seqnet through its public API: `predict`, `predict_one`, `train_on_batch` on the compiled
/// model. Generated per model: the rows' width is part of seqnet's types.
macro_rules! seqnet_peer {
    ($peer:ident, $net:ty, $width:literal, $loss:expr) => {
        struct $peer(seqnet::Compiled<$net, Adam>);

        impl $peer {
            fn new(weights: &[(Vec<f32>, Vec<f32>)]) -> Self {
                let mut net = <$net>::new(0);
                let flat: Vec<&[f32]> = weights
                    .iter()
                    .flat_map(|(k, b)| [k.as_slice(), b.as_slice()])
                    .collect();
                net.set_weights(&flat).expect("seqnet's own weights fit");
                $peer(net.compile(Adam::new(0.001), $loss, []))
            }
        }

        impl Peer for $peer {
            fn name(&self) -> &'static str {
                "seqnet"
            }

            fn predict(&mut self, x: &[f32], rows: usize, keep: bool) -> Vec<f32> {
                let (rows, _) = x[..rows * $width].as_chunks::<$width>();
                let out = self.0.predict(rows).expect("predict");
                if keep {
                    out.as_flattened().to_vec()
                } else {
                    black_box(out);
                    Vec::new()
                }
            }

            fn predict_one(&mut self, x: &[f32]) -> f32 {
                let (rows, _) = x[..$width].as_chunks::<$width>();
                self.0.predict_one(&rows[0]).expect("predict_one")[0]
            }

            fn train_step(&mut self, x: &[f32], labels: &[f32]) {
                let (rows, _) = x[..labels.len() * $width].as_chunks::<$width>();
                self.0.train_on_batch(rows, labels).expect("train_on_batch");
            }
        }
    };
}

seqnet_peer!(SeqnetTutorial, SeedNet, 10, Loss::binary_crossentropy());
seqnet_peer!(
    SeqnetMlp,
    Mlp784,
    784,
    Loss::sparse_categorical_crossentropy()
);

/// Targets as a dense `rows × outputs` matrix: the 0/1 label itself for a sigmoid head, one-hot
/// class ids for a softmax head (what dfdx's losses take).
fn dense_targets(head: Head, labels: &[f32], outputs: usize) -> Vec<f32> {
    match head {
        Head::Sigmoid => labels.to_vec(),
        Head::Softmax => labels
            .iter()
            .flat_map(|&l| (0..outputs).map(move |c| f32::from(c == l as usize)))
            .collect(),
    }
}

/// `in × out` row-major to `out × in` (dfdx keeps `Linear` weights as `(out, in)`).
fn transpose(kernel: &[f32], inputs: usize, outputs: usize) -> Vec<f32> {
    let mut t = vec![0.0; kernel.len()];
    for i in 0..inputs {
        for o in 0..outputs {
            t[o * inputs + i] = kernel[i * outputs + o];
        }
    }
    t
}

/// dfdx 0.13 on its `Cpu` device. The architecture is a type (widths are const generics), so the
/// peer is generated once per model.
mod dfdx_peer {
    use super::{dense_targets, transpose, Head, Peer};
    use dfdx::optim::{Adam, AdamConfig};
    use dfdx::prelude::*;

    macro_rules! dfdx_model {
        ($peer:ident, $arch:ty, $in:literal, $hidden:literal, $hidden2:literal, $out:literal) => {
            type Built = <$arch as BuildOnDevice<Cpu, f32>>::Built;

            pub struct $peer {
                dev: Cpu,
                model: Built,
                /// The gradient buffers, reused step to step (dfdx's `alloc_grads` idiom); only
                /// `None` while a step has them on its tape.
                grads: Option<Gradients<f32, Cpu>>,
                opt: Adam<Built, f32, Cpu>,
                head: Head,
            }

            impl $peer {
                pub fn new(weights: &[(Vec<f32>, Vec<f32>)], head: Head) -> Self {
                    let dev = Cpu::default();
                    let mut model = dev.build_module::<$arch, f32>();
                    let widths = [$in, $hidden, $hidden2, $out];
                    model
                        .0
                        .weight
                        .copy_from(&transpose(&weights[0].0, widths[0], widths[1]));
                    model.0.bias.copy_from(&weights[0].1);
                    model
                        .2
                        .weight
                        .copy_from(&transpose(&weights[1].0, widths[1], widths[2]));
                    model.2.bias.copy_from(&weights[1].1);
                    model
                        .4
                        .weight
                        .copy_from(&transpose(&weights[2].0, widths[2], widths[3]));
                    model.4.bias.copy_from(&weights[2].1);
                    let grads = Some(model.alloc_grads());
                    let config = AdamConfig {
                        lr: 1e-3,
                        eps: 1e-7,
                        ..Default::default()
                    };
                    let opt = Adam::new(&model, config);
                    $peer {
                        dev,
                        model,
                        grads,
                        opt,
                        head,
                    }
                }
            }

            impl Peer for $peer {
                fn name(&self) -> &'static str {
                    "dfdx"
                }

                fn predict(&mut self, x: &[f32], rows: usize, _keep: bool) -> Vec<f32> {
                    let x = self
                        .dev
                        .tensor_from_vec(x[..rows * $in].to_vec(), (rows, Const::<$in>));
                    let logits = self.model.forward(x);
                    match self.head {
                        Head::Sigmoid => logits.sigmoid().as_vec(),
                        Head::Softmax => logits.softmax::<Axis<1>>().as_vec(),
                    }
                }

                fn train_step(&mut self, x: &[f32], labels: &[f32]) {
                    let rows = labels.len();
                    let x = self
                        .dev
                        .tensor_from_vec(x[..rows * $in].to_vec(), (rows, Const::<$in>));
                    let y = self.dev.tensor_from_vec(
                        dense_targets(self.head, labels, $out),
                        (rows, Const::<$out>),
                    );
                    let grads = self.grads.take().expect("gradient buffers");
                    let logits = self.model.forward_mut(x.traced(grads));
                    let loss = match self.head {
                        Head::Sigmoid => binary_cross_entropy_with_logits_loss(logits, y),
                        Head::Softmax => cross_entropy_with_logits_loss(logits, y),
                    };
                    let mut grads = loss.backward();
                    self.opt
                        .update(&mut self.model, &grads)
                        .expect("dfdx's Adam step");
                    self.model.zero_grads(&mut grads);
                    self.grads = Some(grads);
                }
            }
        };
    }

    pub mod tutorial {
        use super::*;
        type Arch = (Linear<10, 64>, ReLU, Linear<64, 32>, ReLU, Linear<32, 1>);
        dfdx_model!(Tutorial, Arch, 10, 64, 32, 1);
    }

    pub mod mlp {
        use super::*;
        type Arch = (
            Linear<784, 512>,
            ReLU,
            Linear<512, 512>,
            ReLU,
            Linear<512, 10>,
        );
        dfdx_model!(Mlp, Arch, 784, 512, 512, 10);
    }

    pub use mlp::Mlp;
    pub use tutorial::Tutorial;
}

/// candle 0.11 on its CPU device: the layers written out as `x·W + b` over `Var`s (candle-nn's
/// `Linear` stores `(out, in)` and multiplies by the transpose; the Keras layout needs no copy),
/// candle-nn's losses, and its `AdamW` with no weight decay, which is Adam.
mod candle_peer {
    use super::{Head, Peer};
    use candle_core::{Device, Tensor, Var};
    use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};

    pub struct CandlePeer {
        layers: Vec<(Var, Var)>,
        opt: AdamW,
        head: Head,
        inputs: usize,
    }

    impl CandlePeer {
        pub fn new(weights: &[(Vec<f32>, Vec<f32>)], head: Head) -> Self {
            let layers: Vec<(Var, Var)> = weights
                .iter()
                .map(|(k, b)| {
                    let (inputs, outputs) = (k.len() / b.len(), b.len());
                    (
                        Var::from_slice(k, (inputs, outputs), &Device::Cpu).expect("a Var"),
                        Var::from_slice(b, outputs, &Device::Cpu).expect("a Var"),
                    )
                })
                .collect();
            let params = ParamsAdamW {
                lr: 1e-3,
                eps: 1e-7,
                weight_decay: 0.0,
                ..Default::default()
            };
            let vars = layers
                .iter()
                .flat_map(|(k, b)| [k.clone(), b.clone()])
                .collect();
            CandlePeer {
                inputs: weights[0].0.len() / weights[0].1.len(),
                opt: AdamW::new(vars, params).expect("AdamW"),
                layers,
                head,
            }
        }

        /// Logits; `tracked` builds the graph `backward` needs, otherwise the weights are taken
        /// detached, as inference should be.
        fn logits(&self, x: Tensor, tracked: bool) -> candle_core::Result<Tensor> {
            let mut h = x;
            for (i, (k, b)) in self.layers.iter().enumerate() {
                let (k, b) = if tracked {
                    (k.as_tensor().clone(), b.as_tensor().clone())
                } else {
                    (k.as_detached_tensor(), b.as_detached_tensor())
                };
                h = h.matmul(&k)?.broadcast_add(&b)?;
                if i + 1 < self.layers.len() {
                    h = h.relu()?;
                }
            }
            Ok(h)
        }
    }

    impl Peer for CandlePeer {
        fn name(&self) -> &'static str {
            "candle"
        }

        fn predict(&mut self, x: &[f32], rows: usize, _keep: bool) -> Vec<f32> {
            let run = || -> candle_core::Result<Vec<f32>> {
                let x = Tensor::from_slice(
                    &x[..rows * self.inputs],
                    (rows, self.inputs),
                    &Device::Cpu,
                )?;
                let logits = self.logits(x, false)?;
                let probs = match self.head {
                    Head::Sigmoid => candle_nn::ops::sigmoid(&logits)?,
                    Head::Softmax => candle_nn::ops::softmax_last_dim(&logits)?,
                };
                probs.flatten_all()?.to_vec1::<f32>()
            };
            run().expect("candle predict")
        }

        fn train_step(&mut self, x: &[f32], labels: &[f32]) {
            let rows = labels.len();
            let mut run = || -> candle_core::Result<()> {
                let x = Tensor::from_slice(
                    &x[..rows * self.inputs],
                    (rows, self.inputs),
                    &Device::Cpu,
                )?;
                let logits = self.logits(x, true)?;
                let loss = match self.head {
                    Head::Sigmoid => {
                        let y = Tensor::from_slice(labels, (rows, 1), &Device::Cpu)?;
                        candle_nn::loss::binary_cross_entropy_with_logit(&logits, &y)?
                    }
                    Head::Softmax => {
                        let ids: Vec<u32> = labels.iter().map(|&l| l as u32).collect();
                        let y = Tensor::from_vec(ids, rows, &Device::Cpu)?;
                        candle_nn::loss::cross_entropy(&logits, &y)?
                    }
                };
                self.opt.backward_step(&loss)
            };
            run().expect("candle train step");
        }
    }
}

/// burn 0.22 on one of its CPU backends (Flex or NdArray), through its device-dispatched API:
/// `burn::nn::Linear` layers (stored `in × out`, Keras' layout), burn-nn's losses, burn-optim's
/// Adam. Inference runs a copy of the model on the plain device, training one on the autodiff
/// device (`device.autodiff()`), as burn's own examples split them.
mod burn_peer {
    use super::{Head, Peer};
    use burn::module::{Module, Param};
    use burn::nn::loss::{
        BinaryCrossEntropyLoss, BinaryCrossEntropyLossConfig, CrossEntropyLoss,
        CrossEntropyLossConfig,
    };
    use burn::nn::Linear;
    use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
    use burn::tensor::activation::{relu, sigmoid, softmax};
    use burn::tensor::{Device, Int, Tensor, TensorData};

    #[derive(Module, Debug)]
    pub struct Net {
        layers: Vec<Linear>,
    }

    impl Net {
        fn new(weights: &[(Vec<f32>, Vec<f32>)], device: &Device) -> Self {
            let layers = weights
                .iter()
                .map(|(k, b)| {
                    let (inputs, outputs) = (k.len() / b.len(), b.len());
                    Linear {
                        weight: Param::from_data(
                            TensorData::new(k.clone(), [inputs, outputs]),
                            device,
                        ),
                        bias: Some(Param::from_data(
                            TensorData::new(b.clone(), [outputs]),
                            device,
                        )),
                    }
                })
                .collect();
            Net { layers }
        }

        fn forward(&self, x: Tensor<2>) -> Tensor<2> {
            let last = self.layers.len() - 1;
            self.layers.iter().enumerate().fold(x, |h, (i, layer)| {
                let z = layer.forward(h);
                if i < last {
                    relu(z)
                } else {
                    z
                }
            })
        }
    }

    pub struct BurnPeer {
        name: &'static str,
        device: Device,
        train_device: Device,
        infer: Net,
        /// `None` only inside a step: burn's optimizer takes the module by value.
        train: Option<Net>,
        optim: ModuleOptimizer,
        bce: BinaryCrossEntropyLoss,
        ce: CrossEntropyLoss,
        head: Head,
        inputs: usize,
    }

    impl BurnPeer {
        pub fn new(
            name: &'static str,
            device: Device,
            weights: &[(Vec<f32>, Vec<f32>)],
            head: Head,
        ) -> Self {
            let train_device = device.clone().autodiff();
            BurnPeer {
                name,
                infer: Net::new(weights, &device),
                train: Some(Net::new(weights, &train_device)),
                optim: AdamConfig::new().with_epsilon(1e-7).init(),
                bce: BinaryCrossEntropyLossConfig::new()
                    .with_logits(true)
                    .init(&train_device),
                ce: CrossEntropyLossConfig::new().init(&train_device),
                head,
                inputs: weights[0].0.len() / weights[0].1.len(),
                device,
                train_device,
            }
        }
    }

    impl Peer for BurnPeer {
        fn name(&self) -> &'static str {
            self.name
        }

        fn predict(&mut self, x: &[f32], rows: usize, _keep: bool) -> Vec<f32> {
            let data = TensorData::new(x[..rows * self.inputs].to_vec(), [rows, self.inputs]);
            let logits = self.infer.forward(Tensor::from_data(data, &self.device));
            let probs = match self.head {
                Head::Sigmoid => sigmoid(logits),
                Head::Softmax => softmax(logits, 1),
            };
            probs
                .into_data()
                .try_into_vec::<f32>()
                .expect("f32 probabilities")
        }

        fn train_step(&mut self, x: &[f32], labels: &[f32]) {
            let rows = labels.len();
            let data = TensorData::new(x[..rows * self.inputs].to_vec(), [rows, self.inputs]);
            let x = Tensor::<2>::from_data(data, &self.train_device);
            let model = self.train.take().expect("the training model");
            let logits = model.forward(x);
            let ids: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
            let loss = match self.head {
                Head::Sigmoid => {
                    let y = Tensor::<2, Int>::from_data(
                        TensorData::new(ids, [rows, 1]),
                        &self.train_device,
                    );
                    self.bce.forward(logits, y)
                }
                Head::Softmax => {
                    let y = Tensor::<1, Int>::from_data(
                        TensorData::new(ids, [rows]),
                        &self.train_device,
                    );
                    self.ce.forward(logits, y)
                }
            };
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            self.train = Some(self.optim.step(1e-3, model, grads));
        }

        fn sync_inference(&mut self) {
            self.infer = self.train.as_ref().expect("the training model").valid();
        }
    }
}

/// The four workloads.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Train128,
    Infer1024,
    Predict4096,
    OneRow,
}

const KINDS: [Kind; 4] = [
    Kind::Train128,
    Kind::Infer1024,
    Kind::Predict4096,
    Kind::OneRow,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Train128 => "train_b128",
            Kind::Infer1024 => "infer_b1024",
            Kind::Predict4096 => "predict_b4096",
            Kind::OneRow => "one_row",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Kind::OneRow => "us/row",
            _ => "samples/s",
        }
    }

    /// One measurement: samples/s, or µs per row.
    fn measure(self, peer: &mut dyn Peer, x: &[f32], labels: &[f32], width: usize) -> f64 {
        match self {
            Kind::Train128 => 128.0 / best_of_budget(|| peer.train_step(&x[..128 * width], labels)),
            Kind::Infer1024 => {
                1024.0
                    / best_of_budget(|| {
                        drop(black_box(peer.predict(&x[..1024 * width], 1024, false)))
                    })
            }
            Kind::Predict4096 => {
                4096.0 / best_of_budget(|| drop(black_box(peer.predict(x, 4096, false))))
            }
            Kind::OneRow => {
                let row = &x[..width];
                // Enough calls per timing that the clock's resolution does not matter (~2 ms).
                let t = Instant::now();
                black_box(peer.predict_one(black_box(row)));
                let calls = ((2e-3 / t.elapsed().as_secs_f64()) as usize).clamp(1, 20_000);
                let t = best_of_budget(|| {
                    for _ in 0..calls {
                        black_box(peer.predict_one(black_box(row)));
                    }
                });
                t / calls as f64 * 1e6
            }
        }
    }
}

/// The best time of as many calls of `f` as fit in about 0.1 s (3 to 100), after a warm-up.
fn best_of_budget(mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    f();
    let first = t.elapsed().as_secs_f64();
    time_best(((0.1 / first) as usize).clamp(3, 100), f)
}

fn list(args: &[String], flag: &str, default: &str) -> Vec<String> {
    arg::<String>(args, flag)
        .unwrap_or_else(|| default.into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

const FRAMEWORKS: &str = "seqnet,dfdx,candle,burn-flex,burn-ndarray";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = arg(&args, "--rounds").unwrap_or(5);
    let frameworks = list(&args, "--frameworks", FRAMEWORKS);
    assert_eq!(
        frameworks.first().map(String::as_str),
        Some("seqnet"),
        "seqnet comes first: the ratios are to it"
    );
    let models: Vec<&Spec> = list(&args, "--models", "tutorial,mlp")
        .iter()
        .map(|m| match m.as_str() {
            "tutorial" => &TUTORIAL,
            "mlp" => &MLP,
            other => panic!("unknown model {other} (tutorial, mlp)"),
        })
        .collect();
    if let Some(threads) = arg::<usize>(&args, "--child") {
        child(threads, rounds, &models, &frameworks);
        return;
    }

    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut threads: Vec<usize> = list(&args, "--threads", "1,2,N")
        .iter()
        .map(|t| match t.as_str() {
            "N" | "all" => all,
            n => n.parse().expect("--threads: numbers or N"),
        })
        .collect();
    threads.dedup();
    println!(
        "CPU: {} ({all} threads); medians of {rounds} rounds; threads {threads:?}",
        seqnet_peers::cpu_name()
    );
    if !args.iter().any(|a| a == "--no-check") {
        for spec in &models {
            check(spec, &frameworks);
        }
    }

    // (model_workload, threads) → framework → value.
    let mut results: BTreeMap<(String, usize), BTreeMap<String, f64>> = BTreeMap::new();
    let mut csv = Csv::from_args(&args);
    for &t in &threads {
        eprintln!("running with {t} thread(s)…");
        let exe = std::env::current_exe().expect("this program's path");
        let output = std::process::Command::new(exe)
            .args(["--child", &t.to_string(), "--rounds", &rounds.to_string()])
            .args([
                "--models",
                &models.iter().map(|m| m.name).collect::<Vec<_>>().join(","),
            ])
            .args(["--frameworks", &frameworks.join(",")])
            .env("RAYON_NUM_THREADS", t.to_string())
            .env("MATMUL_NUM_THREADS", t.to_string())
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("start the child run");
        assert!(output.status.success(), "the {t}-thread run failed");
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let Some(rest) = line.strip_prefix("RESULT,") else {
                println!("{line}");
                continue;
            };
            let f: Vec<&str> = rest.split(',').collect();
            let [workload, threads, framework, value, unit] = f[..] else {
                panic!("a malformed result line: {line}");
            };
            csv.row(&["models", workload, threads, framework, value, unit]);
            results
                .entry((workload.to_string(), t))
                .or_default()
                .insert(framework.to_string(), value.parse().expect("a number"));
        }
    }
    print_tables(&models, &frameworks, &threads, &results);
}

/// The timed rounds at one thread count: one `RESULT,workload,threads,framework,value,unit`
/// line per figure on stdout.
fn child(threads: usize, rounds: usize, models: &[&Spec], frameworks: &[String]) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool");
    pool.install(|| {
        for spec in models {
            let (x, labels) = spec.data();
            let mut peers = spec.peers(frameworks);
            for kind in KINDS {
                let mut samples = vec![Vec::new(); peers.len()];
                for _ in 0..rounds {
                    for (peer, s) in peers.iter_mut().zip(&mut samples) {
                        s.push(kind.measure(peer.as_mut(), &x, &labels, spec.input()));
                    }
                }
                for (peer, s) in peers.iter().zip(&samples) {
                    println!(
                        "RESULT,{}_{},{threads},{},{:.3},{}",
                        spec.name,
                        kind.name(),
                        peer.name(),
                        median(s),
                        kind.unit()
                    );
                }
                eprintln!("  {} {} done", spec.name, kind.name());
            }
        }
    });
}

/// Each peer's probabilities against seqnet's on the same weights: 1024 rows and one row must
/// agree within 1e-4; after one Adam step on the same batch the difference is printed.
fn check(spec: &Spec, frameworks: &[String]) {
    let (x, labels) = spec.data();
    let mut peers = spec.peers(frameworks);
    let n = 1024;
    let expect = peers[0].predict(&x, n, true);
    let expect_one = peers[0].predict_one(&x);
    assert_eq!(expect.len(), n * spec.output());
    assert!(
        expect.iter().all(|p| (0.0..=1.0).contains(p)),
        "seqnet's outputs are probabilities"
    );
    let width = spec.input();
    for peer in &mut peers {
        peer.train_step(&x[..128 * width], &labels);
    }
    let trained = peers[0].predict(&x, n, true);
    // The first peer's outputs after the step: the peers' Adam is the textbook one, seqnet's is
    // Keras' (epsilon added after the bias correction, so effectively larger on early steps),
    // which moves weights with near-zero gradients differently; the peers should agree closely.
    let mut first_peer: Option<Vec<f32>> = None;
    for peer in peers.iter_mut().skip(1) {
        let mut fresh = spec.peers(&[peer.name().to_string()]).remove(0);
        let got = fresh.predict(&x, n, true);
        assert_eq!(got.len(), expect.len(), "{}: output shape", peer.name());
        let diff = max_diff(&got, &expect);
        let one = (fresh.predict_one(&x) - expect_one).abs();
        assert!(
            diff < 1e-4 && one < 1e-4,
            "{} {}: probabilities differ from seqnet's by {diff:e} (one row {one:e})",
            peer.name(),
            spec.name
        );
        peer.sync_inference();
        let stepped = peer.predict(&x, n, true);
        let after = max_diff(&stepped, &trained);
        let reference = first_peer.get_or_insert_with(|| stepped.clone());
        println!(
            "check {} {:<12}: max |Δp| vs seqnet on {n} rows {diff:.1e}, one row {one:.1e}; \
             after one Adam step {after:.1e} (vs {} {:.1e})",
            spec.name,
            peer.name(),
            frameworks[1],
            max_diff(&stepped, reference)
        );
    }
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// One Markdown table per workload: a row per thread count, a column per framework, and
/// seqnet's speed over the best peer's (above 1: seqnet is faster).
fn print_tables(
    models: &[&Spec],
    frameworks: &[String],
    threads: &[usize],
    results: &BTreeMap<(String, usize), BTreeMap<String, f64>>,
) {
    for spec in models {
        for kind in KINDS {
            let workload = format!("{}_{}", spec.name, kind.name());
            let lower_is_better = kind.unit() == "us/row";
            println!(
                "\n### {workload} ({}; seqnet ÷ best peer as speed, above 1 = seqnet faster)\n",
                if lower_is_better {
                    "µs per row, lower is better"
                } else {
                    "samples/s"
                }
            );
            println!(
                "| threads | {} | seqnet ÷ best peer |",
                frameworks.join(" | ")
            );
            println!("|---|{}---|", "---|".repeat(frameworks.len()));
            for &t in threads {
                let Some(row) = results.get(&(workload.clone(), t)) else {
                    continue;
                };
                let cells: Vec<String> = frameworks
                    .iter()
                    .map(|f| {
                        row.get(f)
                            .map_or("-".into(), |&v| fmt_value(v, lower_is_better))
                    })
                    .collect();
                let ours = row.get("seqnet").copied().unwrap_or(f64::NAN);
                let best = row
                    .iter()
                    .filter(|(f, _)| f.as_str() != "seqnet")
                    .max_by(|a, b| {
                        let key = |v: f64| if lower_is_better { -v } else { v };
                        key(*a.1).total_cmp(&key(*b.1))
                    });
                let ratio = best.map_or("-".into(), |(f, &v)| {
                    let r = if lower_is_better { v / ours } else { ours / v };
                    format!("{r:.2}× ({f})")
                });
                println!("| {t} | {} | {ratio} |", cells.join(" | "));
            }
        }
    }
}

fn fmt_value(v: f64, micros: bool) -> String {
    if micros {
        format!("{v:.2} µs")
    } else if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else {
        format!("{:.1} k", v / 1e3)
    }
}
