#!/usr/bin/env python3
"""The peer suite's models (benches/peers, `models`) in onnxruntime and, where installed, PyTorch:
the same workloads, thread counts and CSV rows, so charts and tables set them beside seqnet's;
and `bench_table`'s LSTM rows (`--models lstm`), which the Rust peer suite does not run.

Optional, outside CI. Set up a virtual environment outside the repository and run it there:

    python3 -m venv /tmp/ortvenv
    /tmp/ortvenv/bin/pip install onnxruntime onnx numpy
    /tmp/ortvenv/bin/pip install torch   # optional: PyTorch's rows (a large download)
    /tmp/ortvenv/bin/python tools/peers.py --rounds 5 --threads 1,2,N \\
        --csv benches/peers/results/zen3.csv

Models (the first two as benches/peers/src/bin/models.rs, the third as bench_table's LSTM rows,
`LstmRow` in benches/common):
  tutorial  10 → 64 (relu) → 32 (relu) → 1 (sigmoid), binary cross-entropy, Adam(1e-3)
  mlp       784 → 512 (relu) → 512 (relu) → 10 (softmax), sparse categorical cross-entropy,
            Adam(1e-3)
  lstm      LSTM(128) over 50 steps of 32 features (Keras' LSTM: tanh, sigmoid gates, the last
            step's output) → Dense(1), mean squared error, Adam(1e-3); only with `--models lstm`
with Glorot-uniform kernels and zero biases drawn by NumPy (seeded; the LSTM's recurrent kernel
orthogonal and its forget-gate bias 1, as Keras initialises them), and inputs uniform in [0, 10)
(the LSTM's in [-1, 1); seeded). The values are not seqnet's (NumPy cannot replay seqnet's
generator); the shapes, and so the work, are the same.

Workloads (`<model>_<workload>` in the CSV, benchmark `models`):
  train_b128     one Adam step on 128 rows, samples/s: PyTorch only (onnxruntime's inference
                 sessions have no backward)
  infer_b1024    probabilities for 1024 rows, samples/s
  predict_b4096  probabilities for 4096 rows, samples/s
  one_row        probabilities for one row, µs per row
and for the LSTM, bench_table's three rows:
  train_b64      one Adam step on 64 sequences, sequences/s (PyTorch only)
  infer_b64      outputs for 64 sequences, sequences/s
  one_seq        the output for one sequence, µs per sequence
seqnet's figures for the dense models come from the CSV that `models` wrote; for the LSTM from
`bench_table -- lstm` (µs per call; BENCHMARKS.md sets them side by side).

onnxruntime runs one graph per model, Gemm (+Relu) per layer then Sigmoid or Softmax (the LSTM:
Transpose to time-major, its LSTM op with the gates reordered to ONNX's i, o, f, c and only Y_h
asked for, Squeeze, Gemm), built with onnx.helper, on its CPU execution provider at its default
optimisation level, in a session per thread count (`intra_op_num_threads`,
`inter_op_num_threads = 1`, sequential execution). PyTorch runs nn.Linear/ReLU layers (the LSTM:
nn.LSTM, batch first, then nn.Linear on its last hidden state) under `torch.inference_mode()` for
inference, `torch.optim.Adam` for the step, on `torch.set_num_threads(n)` threads. A timed call goes from a NumPy batch to NumPy
probabilities, as the Rust side's go from host rows to host results. A measurement is the best of
as many calls as fit in about 0.1 s (3 to 100) after a warm-up; each round times onnxruntime then
PyTorch, and the figure is the median over `--rounds`. Both are checked against a NumPy forward
pass on the same weights before timing.
"""

import argparse
import os
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

try:
    import torch
except ImportError:  # PyTorch is optional: its rows are left out.
    torch = None

# bench_table's LSTM rows: LSTM(UNITS) over STEPS steps of FEATURES features, then Dense(1).
LSTM_STEPS, LSTM_FEATURES, LSTM_UNITS = 50, 32, 128

# (name, widths, head): the same models as models.rs, then bench_table's LSTM ("lstm" head).
MODELS = [
    ("tutorial", [10, 64, 32, 1], "sigmoid"),
    ("mlp", [784, 512, 512, 10], "softmax"),
    ("lstm", [LSTM_FEATURES, LSTM_UNITS, 1], "lstm"),
]
WORKLOADS = ["train_b128", "infer_b1024", "predict_b4096", "one_row"]
LSTM_WORKLOADS = ["train_b64", "infer_b64", "one_seq"]
PER_CALL = ("one_row", "one_seq")  # µs per call; the others are samples/s


def workloads_of(head):
    return LSTM_WORKLOADS if head == "lstm" else WORKLOADS


def glorot_weights(widths, seed):
    """[(kernel in×out, bias)] per Dense layer: Keras' default initialisers."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(widths, widths[1:]):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        kernel = rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32)
        layers.append((kernel, np.zeros(fan_out, dtype=np.float32)))
    return layers


def numpy_forward(weights, head, x):
    """The reference: relu between layers, then the head, in float64."""
    h = x.astype(np.float64)
    for i, (kernel, bias) in enumerate(weights):
        h = h @ kernel + bias
        if i + 1 < len(weights):
            h = np.maximum(h, 0.0)
    if head == "sigmoid":
        return 1.0 / (1.0 + np.exp(-h))
    h = np.exp(h - h.max(axis=1, keepdims=True))
    return h / h.sum(axis=1, keepdims=True)


def onnx_model(weights, head):
    """An ONNX model: Gemm (+Relu) per layer, then Sigmoid or Softmax; a dynamic batch."""
    nodes, inits = [], []
    h = "x"
    for i, (kernel, bias) in enumerate(weights):
        inits += [numpy_helper.from_array(kernel, f"W{i}"), numpy_helper.from_array(bias, f"b{i}")]
        nodes.append(helper.make_node("Gemm", [h, f"W{i}", f"b{i}"], [f"z{i}"]))
        h = f"z{i}"
        if i + 1 < len(weights):
            nodes.append(helper.make_node("Relu", [h], [f"h{i}"]))
            h = f"h{i}"
    if head == "sigmoid":
        nodes.append(helper.make_node("Sigmoid", [h], ["y"]))
    else:
        nodes.append(helper.make_node("Softmax", [h], ["y"], axis=1))
    inputs, outputs = weights[0][0].shape[0], weights[-1][0].shape[1]
    graph = helper.make_graph(
        nodes,
        "dense_stack",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", inputs])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", outputs])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def lstm_weights(seed):
    """Keras' LSTM weights and the head's: kernel (F, 4U), recurrent kernel (U, 4U), bias (4U),
    gates i, f, c, o; Dense kernel (U, 1), bias (1). Glorot kernels, an orthogonal recurrent
    kernel, the forget gate's bias 1 (Keras' `unit_forget_bias`)."""
    rng = np.random.default_rng(seed)
    f, u = LSTM_FEATURES, LSTM_UNITS
    limit = np.sqrt(6.0 / (f + 4 * u))
    kernel = rng.uniform(-limit, limit, (f, 4 * u)).astype(np.float32)
    q, r = np.linalg.qr(rng.normal(size=(4 * u, u)))
    recurrent = (q * np.sign(np.diag(r))).T.astype(np.float32)  # (U, 4U), orthonormal rows
    bias = np.zeros(4 * u, dtype=np.float32)
    bias[u : 2 * u] = 1.0
    limit = np.sqrt(6.0 / (u + 1))
    dense = rng.uniform(-limit, limit, (u, 1)).astype(np.float32)
    return kernel, recurrent, bias, dense, np.zeros(1, dtype=np.float32)


def numpy_lstm_forward(weights, x):
    """The reference: Keras' LSTM over x (batch, steps, features), then Dense(1), in float64."""
    kernel, recurrent, bias, dense, dense_bias = (w.astype(np.float64) for w in weights)
    u = LSTM_UNITS
    h = np.zeros((x.shape[0], u))
    c = np.zeros((x.shape[0], u))
    sigmoid = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    for t in range(x.shape[1]):
        z = x[:, t].astype(np.float64) @ kernel + h @ recurrent + bias
        i, f, g, o = sigmoid(z[:, :u]), sigmoid(z[:, u : 2 * u]), np.tanh(z[:, 2 * u : 3 * u]), sigmoid(z[:, 3 * u :])
        c = f * c + i * g
        h = o * np.tanh(c)
    return h @ dense + dense_bias


def onnx_lstm_model(weights):
    """An ONNX model: x (batch, steps, features) → Transpose → LSTM (Y_h only) → Squeeze → Gemm."""
    kernel, recurrent, bias, dense, dense_bias = weights
    u = LSTM_UNITS
    # Keras' gate blocks i, f, c, o → ONNX's i, o, f, c; ONNX keeps each gate's weights as rows.
    order = [0, 3, 1, 2]
    blocks = lambda m: np.concatenate([m[..., g * u : (g + 1) * u] for g in order], axis=-1)  # noqa: E731
    w = blocks(kernel).T[None]  # (1, 4U, F)
    r = blocks(recurrent).T[None]  # (1, 4U, U)
    b = np.concatenate([blocks(bias), np.zeros(4 * u, dtype=np.float32)])[None]  # (1, 8U)
    inits = [
        numpy_helper.from_array(np.ascontiguousarray(w), "W"),
        numpy_helper.from_array(np.ascontiguousarray(r), "R"),
        numpy_helper.from_array(b, "B"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0"),
        numpy_helper.from_array(dense, "Wd"),
        numpy_helper.from_array(dense_bias, "bd"),
    ]
    nodes = [
        helper.make_node("Transpose", ["x"], ["x_tbf"], perm=[1, 0, 2]),
        helper.make_node("LSTM", ["x_tbf", "W", "R", "B"], ["", "h_last"], hidden_size=u),
        helper.make_node("Squeeze", ["h_last", "axis0"], ["h"]),
        helper.make_node("Gemm", ["h", "Wd", "bd"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "lstm_dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", LSTM_STEPS, LSTM_FEATURES])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def best_of_budget(f):
    """Best seconds of as many calls of f as fit in about 0.1 s (3 to 100), after a warm-up."""
    start = time.perf_counter()
    f()
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(max(3, min(100, int(0.1 / max(first, 1e-9))))):
        start = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - start)
    return best


def measure(workload, predict, train, x, labels):
    """One measurement: samples/s for `train_bN` (N rows' step), `infer_bN` and `predict_bN` (N
    rows' outputs); µs per row for one_row and one_seq."""
    kind, _, n = workload.rpartition("_b")
    if kind == "train":
        n = int(n)
        return n / best_of_budget(lambda: train(x[:n], labels[:n]))
    if kind in ("infer", "predict"):
        n = int(n)
        return n / best_of_budget(lambda: predict(x[:n]))
    row = x[:1]
    start = time.perf_counter()
    predict(row)
    calls = max(1, min(20_000, int(2e-3 / max(time.perf_counter() - start, 1e-9))))

    def many():
        for _ in range(calls):
            predict(row)

    return best_of_budget(many) / calls * 1e6


class Ort:
    name = "onnxruntime"

    def __init__(self, weights, head, threads):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        graph = onnx_lstm_model(weights) if head == "lstm" else onnx_model(weights, head)
        self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])

    def predict(self, x):
        return self.session.run(None, {"x": x})[0]

    train = None


class Torch:
    name = "pytorch"

    def __init__(self, weights, head, threads):
        torch.set_num_threads(threads)
        self.head = head
        if head == "lstm":
            self.net = TorchLstm(weights)
            self.loss = torch.nn.MSELoss()
            self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3, eps=1e-7)
            return
        layers = []
        for i, (kernel, bias) in enumerate(weights):
            linear = torch.nn.Linear(*kernel.shape)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(kernel.T.copy()))
                linear.bias.copy_(torch.from_numpy(bias))
            layers.append(linear)
            if i + 1 < len(weights):
                layers.append(torch.nn.ReLU())
        self.net = torch.nn.Sequential(*layers)
        self.loss = torch.nn.BCEWithLogitsLoss() if head == "sigmoid" else torch.nn.CrossEntropyLoss()
        # Keras' (and seqnet's) epsilon, not PyTorch's 1e-8.
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3, eps=1e-7)

    def predict(self, x):
        with torch.inference_mode():
            logits = self.net(torch.from_numpy(x))
            if self.head == "lstm":
                return logits.numpy()
            probs = torch.sigmoid(logits) if self.head == "sigmoid" else torch.softmax(logits, 1)
            return probs.numpy()

    def train(self, x, labels):
        target = (
            torch.from_numpy(labels).reshape(-1, 1)
            if self.head in ("sigmoid", "lstm")
            else torch.from_numpy(labels.astype(np.int64))
        )
        self.opt.zero_grad()
        loss = self.loss(self.net(torch.from_numpy(x)), target)
        loss.backward()
        self.opt.step()


def TorchLstm(weights):
    """nn.LSTM (batch first; PyTorch's gates i, f, g, o are Keras' i, f, c, o) on Keras' weights,
    then nn.Linear on the last step's hidden state."""
    kernel, recurrent, bias, dense, dense_bias = weights

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(LSTM_FEATURES, LSTM_UNITS, batch_first=True)
            self.dense = torch.nn.Linear(LSTM_UNITS, 1)
            with torch.no_grad():
                self.lstm.weight_ih_l0.copy_(torch.from_numpy(kernel.T.copy()))
                self.lstm.weight_hh_l0.copy_(torch.from_numpy(recurrent.T.copy()))
                self.lstm.bias_ih_l0.copy_(torch.from_numpy(bias))
                self.lstm.bias_hh_l0.zero_()
                self.dense.weight.copy_(torch.from_numpy(dense.T.copy()))
                self.dense.bias.copy_(torch.from_numpy(dense_bias))

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.dense(h[-1])

    return Net()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds (median over them)")
    parser.add_argument("--threads", default="1,2,N", help="thread counts; N = all")
    parser.add_argument("--csv", help="append rows benchmark,workload,threads,framework,value,unit")
    parser.add_argument("--models", default="tutorial,mlp", help="tutorial, mlp, lstm")
    args = parser.parse_args()
    every = os.cpu_count() or 1
    threads = []
    for t in args.threads.split(","):
        t = every if t.strip() in ("N", "all") else int(t)
        if t not in threads:
            threads.append(t)

    frameworks = [Ort] + ([Torch] if torch is not None else [])
    print(
        f"onnxruntime {ort.__version__}; "
        + (f"PyTorch {torch.__version__}" if torch is not None else "PyTorch not installed: left out")
        + f"; medians of {args.rounds} rounds; threads {threads}"
    )
    seqnet = read_seqnet(args.csv) if args.csv else {}
    csv = None
    if args.csv:
        new = not os.path.exists(args.csv)
        csv = open(args.csv, "a", encoding="utf-8")
        if new:
            csv.write("benchmark,workload,threads,framework,value,unit\n")
    wanted = args.models.split(",")
    results = {}  # (workload id, threads) → {framework: value}
    for name, widths, head in MODELS:
        if name not in wanted:
            continue
        if head == "lstm":
            weights = lstm_weights(42)
            rng = np.random.default_rng(11)
            x = rng.uniform(-1.0, 1.0, (64, LSTM_STEPS, LSTM_FEATURES)).astype(np.float32)
            labels = np.random.default_rng(12).uniform(0.0, 1.0, 64).astype(np.float32)
            want = numpy_lstm_forward(weights, x)
        else:
            weights = glorot_weights(widths, 42)
            rng = np.random.default_rng(11)
            x = rng.uniform(0.0, 10.0, (4096, widths[0])).astype(np.float32)
            classes = max(2, widths[-1])
            labels = np.random.default_rng(12).integers(0, classes, 128).astype(np.float32)
            want = numpy_forward(weights, head, x[:1024])
        checked = len(want)
        for t in threads:
            peers = [f(weights, head, t) for f in frameworks]
            for p in peers:
                err = np.abs(p.predict(x[:checked]) - want).max()
                assert err < 1e-4, f"{p.name} {name}: differs from NumPy by {err}"
                print(f"check {name} {p.name:<12} {t} thread(s): max |Δ| vs NumPy on {checked} rows {err:.1e}")
            for workload in workloads_of(head):
                samples = {p.name: [] for p in peers if not workload.startswith("train") or p.train}
                if not samples:
                    continue
                for _ in range(args.rounds):
                    for p in peers:
                        if p.name in samples:
                            samples[p.name].append(measure(workload, p.predict, p.train, x, labels))
                unit = "us/row" if workload in PER_CALL else "samples/s"
                for framework, values in samples.items():
                    value = float(np.median(values))
                    results.setdefault((f"{name}_{workload}", t), {})[framework] = (value, unit)
                    if csv:
                        csv.write(f"models,{name}_{workload},{t},{framework},{value:.3f},{unit}\n")
    if csv:
        csv.close()

    names = [f.name for f in frameworks]
    for name, _, head in MODELS:
        for workload in workloads_of(head):
            rows = [(t, results.get((f"{name}_{workload}", t))) for t in threads]
            if not any(r for _, r in rows):
                continue
            unit = "µs per row" if workload in PER_CALL else "samples/s"
            print(f"\n### {name}_{workload} ({unit}; seqnet's from the CSV, where it has them)\n")
            print("| threads | seqnet | " + " | ".join(names) + " | seqnet ÷ best of these |")
            print("|---|---|" + "---|" * len(names) + "---|")
            for t, row in rows:
                row = row or {}
                ours = seqnet.get((f"{name}_{workload}", t))
                cells = [fmt(ours, workload)] + [fmt(row.get(n, (None,))[0], workload) for n in names]
                ratio = "-"
                if ours is not None and row:
                    # As speeds: µs per row inverts.
                    speed = (lambda v: 1.0 / v) if workload in PER_CALL else (lambda v: v)
                    best = max(row, key=lambda n: speed(row[n][0]))
                    ratio = f"{speed(ours) / speed(row[best][0]):.2f}× ({best})"
                print(f"| {t} | " + " | ".join(cells) + f" | {ratio} |")


def fmt(value, workload):
    if value is None:
        return "-"
    if workload in PER_CALL:
        return f"{value:.2f} µs"
    return f"{value / 1e6:.2f} M" if value >= 1e6 else f"{value / 1e3:.1f} k"


def read_seqnet(path):
    """seqnet's latest figures in the CSV: (workload id, threads) → value."""
    figures = {}
    if not os.path.exists(path):
        return figures
    with open(path, encoding="utf-8") as f:
        next(f, None)
        for line in f:
            fields = line.strip().split(",")
            if len(fields) == 6 and fields[0] == "models" and fields[3] == "seqnet":
                figures[(fields[1], int(fields[2]))] = float(fields[4])
    return figures


if __name__ == "__main__":
    main()
