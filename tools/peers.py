#!/usr/bin/env python3
"""The peer suite's models (benches/peers, `models`) in onnxruntime and, where installed, PyTorch
and OpenVINO: the same workloads, thread counts and CSV rows, so charts and tables set them beside
seqnet's; `bench_table`'s recurrent and Conv1D rows (`--models lstm,gru,conv1d`), which the
Rust peer suite does not run; and, with `--int8`, the mlp's int8 rows in onnxruntime (dynamic)
and OpenVINO (static), to set beside `bench_table -- int8` (issue 24).

Optional, outside CI. Set up a virtual environment outside the repository and run it there:

    python3 -m venv /tmp/ortvenv
    /tmp/ortvenv/bin/pip install onnxruntime onnx numpy
    /tmp/ortvenv/bin/pip install torch      # optional: PyTorch's rows (a large download)
    /tmp/ortvenv/bin/pip install openvino   # optional: OpenVINO's rows
    /tmp/ortvenv/bin/python tools/peers.py --rounds 5 --threads 1,2,N \\
        --csv benches/peers/results/zen3.csv
    /tmp/ortvenv/bin/python tools/peers.py --models lstm,gru,conv1d --rounds 5 --threads 1,2
    /tmp/ortvenv/bin/python tools/peers.py --models mlp --int8 --rounds 3 --threads 1,2 \\
        --csv /tmp/peers_int8.csv
    /tmp/ortvenv/bin/python tools/peers.py --models mlp --sgemm --rounds 5 --threads 1,2

`--sgemm` also times `torch.matmul` on square matrices of bench_table's SGEMM sizes (issue 23's
row), GFLOP/s, checked against NumPy's f64 product first.

`--int8` writes int8 rows under the f32 ones' workload names (`mlp_infer_b1024`, `mlp_one_row`),
told apart by their framework; `charts` compares seqnet with the fastest framework of a row,
whatever its precision, so give `--int8` a CSV of its own, not the charts' (results/zen3.csv).

Models (the first two as benches/peers/src/bin/models.rs, the others as bench_table's LSTM, GRU
and Conv1D rows, `LstmRow` in benches/common; `--int8` quantizes the mlp's f32 graph):
  tutorial  10 → 64 (relu) → 32 (relu) → 1 (sigmoid), binary cross-entropy, Adam(1e-3)
  mlp       784 → 512 (relu) → 512 (relu) → 10 (softmax), sparse categorical cross-entropy,
            Adam(1e-3)
  lstm      LSTM(128) over 50 steps of 32 features (Keras' LSTM: tanh, sigmoid gates, the last
            step's output) → Dense(1), mean squared error, Adam(1e-3); only with `--models lstm`
  gru       GRU(128) over 50 steps of 32 features (Keras 3's defaults: reset_after=True, tanh,
            sigmoid gates, gates z, r, h, an input and a recurrent bias) → Dense(1), mean squared
            error, Adam(1e-3); only with `--models gru`
  conv1d    Conv1D(64, 5), valid padding, relu, on 100 steps × 32 features, forward only; only
            with `--models conv1d`
with Glorot-uniform kernels and zero biases drawn by NumPy (seeded; the recurrent kernels
orthogonal and the LSTM's forget-gate bias 1, as Keras initialises them; the GRU's and the
Conv1D's biases uniform in [-0.1, 0.1) instead of Keras' zeros, so that the checks below see
each engine's bias layout), and inputs uniform in [0, 10) (the LSTM's, GRU's and Conv1D's in
[-1, 1); seeded). The values are not seqnet's (NumPy cannot replay seqnet's generator); the
shapes, and so the work, are the same.

Workloads (`<model>_<workload>` in the CSV, benchmark `models`):
  train_b128     one Adam step on 128 rows, samples/s: PyTorch only (onnxruntime's and
                 OpenVINO's inference sessions have no backward)
  infer_b1024    probabilities for 1024 rows, samples/s
  predict_b4096  probabilities for 4096 rows, samples/s
  one_row        probabilities for one row, µs per row
(`--int8`'s engines: infer_b1024 and one_row only); for the LSTM and the GRU, bench_table's
three rows:
  train_b64      one Adam step on 64 sequences, sequences/s (PyTorch only)
  infer_b64      outputs for 64 sequences, sequences/s
  one_seq        the output for one sequence, µs per sequence (unit `us/row` in the CSV)
for the LSTM, streaming (Keras' `stateful=True`: the state carried from call to call):
  stream_step    one timestep of 32 features through the LSTM cell, carrying its h and c, then
                 the Dense(1) head; µs per step (`us/step`)
  streams64_step 64 independent streams stepping together: 64 rows through the cell in one
                 call, then the head; µs per call (`us/call`)
and for the Conv1D:
  forward_b64    the outputs for 64 sequences, µs per call (`us/call`)
seqnet's figures for the dense models come from the CSV that `models` wrote; for the others from
`bench_table` (µs per call; BENCHMARKS.md sets them side by side).

Engines (the CSV's framework column):
  onnxruntime    one graph per model, built with onnx.helper: Gemm (+Relu) per layer then Sigmoid
                 or Softmax; the LSTM: Transpose to time-major, its LSTM op with the gates
                 reordered to ONNX's i, o, f, c and only Y_h asked for, Squeeze, Gemm; the GRU
                 the same with its GRU op (ONNX's gates z, r, h are Keras' order;
                 `linear_before_reset=1` is Keras' reset_after; B is the input bias then the
                 recurrent one); a stream: a one-step LSTM graph taking x (batch, 32), initial_h
                 and initial_c (1, batch, 128) and returning y, Y_h and Y_c, which the next call
                 takes back; the Conv1D: tools/conv_onnxruntime.py's Conv + Relu graph (a 1 × 5
                 kernel on a 1 × 100 image), imported from there. Its CPU execution provider at
                 its default optimisation level, a session per thread count
                 (`intra_op_num_threads`, `inter_op_num_threads = 1`, sequential execution).
  pytorch        nn.Linear/ReLU layers; the LSTM: nn.LSTM, batch first, then nn.Linear on its
                 last hidden state; a stream: nn.LSTMCell + nn.Linear, the state kept as tensors;
                 the GRU: nn.GRU (its gates r, z, n: Keras' z, r, h blocks permuted; it is
                 reset_after's form, with bias_ih and bias_hh) + nn.Linear; the Conv1D:
                 nn.Conv1d + ReLU on NCW. `torch.inference_mode()` for inference,
                 `torch.optim.Adam` (eps 1e-7, Keras') for the step, `torch.set_num_threads(n)`.
  openvino       the same ONNX graphs as onnxruntime's, compiled for OpenVINO's CPU plugin with
                 INFERENCE_PRECISION_HINT f32, INFERENCE_NUM_THREADS n, NUM_STREAMS 1,
                 PERFORMANCE_HINT LATENCY, run through one infer request that reads the
                 NumPy batch in place (`share_inputs`; OpenVINO's default copies it first, 50–150
                 µs a call on the machine this was written on); a stream keeps its state in its
                 infer request's input tensors (Y_h and Y_c copied back into them each step).
  openvino-default-<p>  the same, with OpenVINO's default precision hint, on the mlp's, LSTM's
                 and GRU's infer rows only; <p> is the precision the compiled model reports
                 (bf16 where OpenVINO finds AVX512_BF16 or AMX, as on the Zen 5 this was written on; f32 where
                 neither), so its rows are not f32 figures unless named so, and the tables'
                 "seqnet ÷ best f32" column leaves them out. Its check allows bf16's rounding
                 (|Δ| < 5e-2 instead of 1e-4).
  onnxruntime-int8-dynamic-per-channel  `--int8`, the mlp only: the onnxruntime graph quantized
                 by onnxruntime.quantization.quantize_dynamic (QInt8 weights, one scale per output
                 unit as Keras' kernel scale; `per_channel=False`, one scale per kernel, is as
                 close and as fast at batch 1024 but faster on one row: OrtInt8 says by how much),
                 which its optimiser fuses into DynamicQuantizeMatMul per layer: the activations
                 uint8 with one scale and zero point per call over the batch (Keras: int8
                 abs-max per row), u8 × s8 summed in int32, dequantized to f32 for the bias, Relu
                 and Softmax. Run like onnxruntime's rows.
  openvino-int8-static-per-channel  `--int8`, the mlp only, where OpenVINO is installed: the same
                 graph quantized by onnxruntime.quantization.quantize_static (QDQ, QInt8 weights
                 per output unit, uint8 activations with MinMax scales calibrated on 1024 rows
                 drawn like the inputs from their own seed), compiled as `openvino`'s; OpenVINO
                 runs its FullyConnected layers in u8 × i8 (left out, with a note, where the
                 compiled model says otherwise). Static activation scales, so not Keras' scheme;
                 OpenVINO does not run the dynamic model above in int8 (it compiles
                 DynamicQuantizeLinear + MatMulInteger to f32 layers), and NNCF, its quantizer,
                 is a separate package, not needed here.
                 Both int8 engines are checked with |Δ| < 1e-1 on the probabilities and the top
                 class agreeing with NumPy's on 99% of the rows (`INT8_TOLERANCE` says why), and
                 left out of the "seqnet ÷ best f32" column. The quantized models are built in a
                 temporary folder at start-up, nothing downloaded.
The Conv1D's data are NWC (Keras' and seqnet's layout); onnxruntime and OpenVINO are fed NCHW
(N, 32, 1, 100) and PyTorch NCW, transposed once outside the timed calls, as
tools/conv_onnxruntime.py does; the outputs are transposed back only for the check.

A timed call goes from a NumPy batch to NumPy outputs, as the Rust side's go from host rows to
host results (a stream step: from a NumPy row to the NumPy output, the state staying where the
engine keeps it). A measurement is the best of as many calls as fit in about 0.1 s (3 to 100)
after a warm-up (per-call rows: of as many loops of calls filling about 2 ms); each round times
the engines in turn (onnxruntime, PyTorch, OpenVINO, OpenVINO default, then with `--int8`
onnxruntime int8 and OpenVINO int8), and the figure is the median over `--rounds`. Every engine
is checked against a NumPy forward pass (float64) on the
same weights before timing: the dense models on 1024 rows, the recurrent ones and the Conv1D on
64 sequences, a stream on one step of 64 streams (against the LSTM over a one-step sequence)
and on the 50 steps of the sequences (against the LSTM over them).
"""

import argparse
import contextlib
import logging
import os
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

# The Conv1D graph and reference live in tools/conv_onnxruntime.py (this script's directory is on
# sys.path when it is run as a script).
from conv_onnxruntime import conv_relu_model, numpy_conv_nhwc

try:
    import torch
except ImportError:  # PyTorch is optional: its rows are left out.
    torch = None

try:
    import openvino as ov
except ImportError:  # OpenVINO is optional: its rows are left out.
    ov = None

# bench_table's recurrent rows: LSTM(UNITS) or GRU(UNITS) over STEPS steps of FEATURES features,
# then Dense(1).
LSTM_STEPS, LSTM_FEATURES, LSTM_UNITS = 50, 32, 128
# bench_table's Conv1D row: Conv1D(FILTERS, KERNEL) on STEPS × FEATURES, batch BATCH.
CONV_STEPS, CONV_FEATURES, CONV_FILTERS, CONV_KERNEL, CONV_BATCH = 100, 32, 64, 5, 64

# (name, widths, head): the same models as models.rs, then bench_table's LSTM, GRU and Conv1D.
MODELS = [
    ("tutorial", [10, 64, 32, 1], "sigmoid"),
    ("mlp", [784, 512, 512, 10], "softmax"),
    ("lstm", [LSTM_FEATURES, LSTM_UNITS, 1], "lstm"),
    ("gru", [LSTM_FEATURES, LSTM_UNITS, 1], "gru"),
    ("conv1d", [CONV_FEATURES, CONV_FILTERS], "conv1d"),
]
RECURRENT = ("lstm", "gru")
WORKLOADS = ["train_b128", "infer_b1024", "predict_b4096", "one_row"]
LSTM_WORKLOADS = ["train_b64", "infer_b64", "one_seq"]
STREAM_WORKLOADS = ["stream_step", "streams64_step"]
CONV_WORKLOADS = ["forward_b64"]
# µs per call, and the CSV's unit; the others are samples/s.
PER_CALL = {
    "one_row": "us/row",
    "one_seq": "us/row",
    "stream_step": "us/step",
    "streams64_step": "us/call",
    "forward_b64": "us/call",
}
# The models whose infer rows also run OpenVINO at its default precision hint.
OV_DEFAULT_MODELS = ("mlp", "lstm", "gru")
# `--int8`: the models and workloads that also run int8 engines (issue 24: the MLP at batch 1024
# and at one row, beside `bench_table -- int8`'s rows).
INT8_MODELS = ("mlp",)
INT8_WORKLOADS = ("infer_b1024", "one_row")


def workloads_of(head):
    if head == "lstm":
        return LSTM_WORKLOADS + STREAM_WORKLOADS
    if head == "gru":
        return LSTM_WORKLOADS
    if head == "conv1d":
        return CONV_WORKLOADS
    return WORKLOADS


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


def finish_model(nodes, name, inputs, outputs, inits):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


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
    return finish_model(
        nodes,
        "dense_stack",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", inputs])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", outputs])],
        inits,
    )


def orthogonal(rng, units, gates):
    """Keras' Orthogonal initialiser for a (units, gates·units) recurrent kernel."""
    q, r = np.linalg.qr(rng.normal(size=(gates * units, units)))
    return (q * np.sign(np.diag(r))).T.astype(np.float32)  # (U, gates·U), orthonormal rows


def lstm_weights(seed):
    """Keras' LSTM weights and the head's: kernel (F, 4U), recurrent kernel (U, 4U), bias (4U),
    gates i, f, c, o; Dense kernel (U, 1), bias (1). Glorot kernels, an orthogonal recurrent
    kernel, the forget gate's bias 1 (Keras' `unit_forget_bias`)."""
    rng = np.random.default_rng(seed)
    f, u = LSTM_FEATURES, LSTM_UNITS
    limit = np.sqrt(6.0 / (f + 4 * u))
    kernel = rng.uniform(-limit, limit, (f, 4 * u)).astype(np.float32)
    recurrent = orthogonal(rng, u, 4)
    bias = np.zeros(4 * u, dtype=np.float32)
    bias[u : 2 * u] = 1.0
    limit = np.sqrt(6.0 / (u + 1))
    dense = rng.uniform(-limit, limit, (u, 1)).astype(np.float32)
    return kernel, recurrent, bias, dense, np.zeros(1, dtype=np.float32)


def gru_weights(seed):
    """Keras 3's GRU weights (reset_after=True) and the head's: kernel (F, 3U), recurrent kernel
    (U, 3U), bias (2, 3U) (row 0 the input bias, row 1 the recurrent one), gates z, r, h; Dense
    kernel (U, 1), bias (1). Glorot kernels, an orthogonal recurrent kernel; the biases uniform in
    [-0.1, 0.1) rather than Keras' zeros, so that the checks see where each engine puts them."""
    rng = np.random.default_rng(seed)
    f, u = LSTM_FEATURES, LSTM_UNITS
    limit = np.sqrt(6.0 / (f + 3 * u))
    kernel = rng.uniform(-limit, limit, (f, 3 * u)).astype(np.float32)
    recurrent = orthogonal(rng, u, 3)
    bias = rng.uniform(-0.1, 0.1, (2, 3 * u)).astype(np.float32)
    limit = np.sqrt(6.0 / (u + 1))
    dense = rng.uniform(-limit, limit, (u, 1)).astype(np.float32)
    return kernel, recurrent, bias, dense, np.zeros(1, dtype=np.float32)


def conv_weights(seed):
    """Keras' Conv1D(64, 5) weights: kernel (K, C, F) Glorot-uniform (fans K·C and K·F), bias (F)
    uniform in [-0.1, 0.1) rather than Keras' zeros, so that the check sees it."""
    rng = np.random.default_rng(seed)
    k, c, f = CONV_KERNEL, CONV_FEATURES, CONV_FILTERS
    limit = np.sqrt(6.0 / (k * c + k * f))
    kernel = rng.uniform(-limit, limit, (k, c, f)).astype(np.float32)
    return kernel, rng.uniform(-0.1, 0.1, f).astype(np.float32)


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def numpy_lstm_forward(weights, x):
    """The reference: Keras' LSTM over x (batch, steps, features), then Dense(1), in float64."""
    kernel, recurrent, bias, dense, dense_bias = (w.astype(np.float64) for w in weights)
    u = LSTM_UNITS
    h = np.zeros((x.shape[0], u))
    c = np.zeros((x.shape[0], u))
    for t in range(x.shape[1]):
        z = x[:, t].astype(np.float64) @ kernel + h @ recurrent + bias
        i, f, g, o = sigmoid(z[:, :u]), sigmoid(z[:, u : 2 * u]), np.tanh(z[:, 2 * u : 3 * u]), sigmoid(z[:, 3 * u :])
        c = f * c + i * g
        h = o * np.tanh(c)
    return h @ dense + dense_bias


def numpy_gru_forward(weights, x):
    """The reference: Keras 3's GRU (reset_after=True) over x (batch, steps, features), then
    Dense(1), in float64: z and r from the input and recurrent products (each with its bias), the
    candidate tanh(x·W_h + b_h + r ⊙ (h·U_h + b'_h)), h = z ⊙ h + (1 − z) ⊙ candidate."""
    kernel, recurrent, bias, dense, dense_bias = (w.astype(np.float64) for w in weights)
    u = LSTM_UNITS
    h = np.zeros((x.shape[0], u))
    for t in range(x.shape[1]):
        xz = x[:, t].astype(np.float64) @ kernel + bias[0]
        hz = h @ recurrent + bias[1]
        z = sigmoid(xz[:, :u] + hz[:, :u])
        r = sigmoid(xz[:, u : 2 * u] + hz[:, u : 2 * u])
        candidate = np.tanh(xz[:, 2 * u :] + r * hz[:, 2 * u :])
        h = z * h + (1.0 - z) * candidate
    return h @ dense + dense_bias


def numpy_conv_forward(weights, x):
    """The reference: Conv1D on NWC x (batch, steps, features), valid, + bias, relu, in float64,
    returned NCHW (batch, F, 1, steps − K + 1) as the engines give it (conv_onnxruntime's NHWC
    convolution on a 1 × steps image)."""
    kernel, bias = weights
    return numpy_conv_nhwc(x[:, None], kernel[None], bias).transpose(0, 3, 1, 2)


def onnx_rnn_weights(weights, head):
    """W, R, B in ONNX's layout: each gate's weights as rows; the LSTM's Keras gate blocks
    i, f, c, o reordered to ONNX's i, o, f, c; the GRU's z, r, h already ONNX's order."""
    kernel, recurrent, bias = weights[:3]
    u = LSTM_UNITS
    if head == "lstm":
        order = [0, 3, 1, 2]
        blocks = lambda m: np.concatenate([m[..., g * u : (g + 1) * u] for g in order], axis=-1)  # noqa: E731
        b = np.concatenate([blocks(bias), np.zeros(4 * u, dtype=np.float32)])
    else:
        blocks = lambda m: m  # noqa: E731
        b = np.concatenate([bias[0], bias[1]])  # Wb then Rb, each z, r, h
    w = blocks(kernel).T[None]  # (1, gates·U, F)
    r = blocks(recurrent).T[None]  # (1, gates·U, U)
    return [
        numpy_helper.from_array(np.ascontiguousarray(w), "W"),
        numpy_helper.from_array(np.ascontiguousarray(r), "R"),
        numpy_helper.from_array(np.ascontiguousarray(b[None]), "B"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0"),
        numpy_helper.from_array(weights[3], "Wd"),
        numpy_helper.from_array(weights[4], "bd"),
    ]


def rnn_node(head, inputs, outputs):
    if head == "lstm":
        return helper.make_node("LSTM", inputs, outputs, hidden_size=LSTM_UNITS)
    return helper.make_node("GRU", inputs, outputs, hidden_size=LSTM_UNITS, linear_before_reset=1)


def onnx_rnn_model(weights, head):
    """An ONNX model: x (batch, steps, features) → Transpose → LSTM or GRU (Y_h only) → Squeeze →
    Gemm."""
    nodes = [
        helper.make_node("Transpose", ["x"], ["x_tbf"], perm=[1, 0, 2]),
        rnn_node(head, ["x_tbf", "W", "R", "B"], ["", "h_last"]),
        helper.make_node("Squeeze", ["h_last", "axis0"], ["h"]),
        helper.make_node("Gemm", ["h", "Wd", "bd"], ["y"]),
    ]
    return finish_model(
        nodes,
        f"{head}_dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", LSTM_STEPS, LSTM_FEATURES])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])],
        onnx_rnn_weights(weights, head),
    )


def onnx_lstm_step_model(weights):
    """One streaming step: x (batch, features), h and c (1, batch, U) → Unsqueeze → LSTM over one
    step from initial_h, initial_c → y (batch, 1) through the head, and Y_h, Y_c (1, batch, U) for
    the next call."""
    u = LSTM_UNITS
    nodes = [
        helper.make_node("Unsqueeze", ["x", "axis0"], ["x_1bf"]),
        rnn_node("lstm", ["x_1bf", "W", "R", "B", "", "h", "c"], ["", "h_next", "c_next"]),
        helper.make_node("Squeeze", ["h_next", "axis0"], ["h_bu"]),
        helper.make_node("Gemm", ["h_bu", "Wd", "bd"], ["y"]),
    ]
    state = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, "batch", u])  # noqa: E731
    return finish_model(
        nodes,
        "lstm_step",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", LSTM_FEATURES]),
            state("h"),
            state("c"),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1]), state("h_next"), state("c_next")],
        onnx_rnn_weights(weights, "lstm"),
    )


def onnx_conv_model(weights):
    """tools/conv_onnxruntime.py's Conv + Relu graph: x NCHW (64, C, 1, steps), kernel (F, C, 1, K)."""
    kernel, bias = weights
    kernel_fckk = np.ascontiguousarray(kernel.transpose(2, 1, 0)[:, :, None, :])
    return conv_relu_model(kernel_fckk, bias, CONV_BATCH, CONV_FEATURES, 1, CONV_STEPS)


def onnx_graph(weights, head):
    if head in RECURRENT:
        return onnx_rnn_model(weights, head)
    if head == "conv1d":
        return onnx_conv_model(weights)
    return onnx_model(weights, head)


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


def per_call(call):
    """µs per call of `call`: the best of loops of as many calls as fill about 2 ms."""
    start = time.perf_counter()
    call()
    calls = max(1, min(20_000, int(2e-3 / max(time.perf_counter() - start, 1e-9))))

    def many():
        for _ in range(calls):
            call()

    return best_of_budget(many) / calls * 1e6


def measure(workload, peer, x, labels):
    """One measurement: samples/s for `train_bN` (N rows' step), `infer_bN` and `predict_bN` (N
    rows' outputs); µs per row for one_row and one_seq, per call for forward_bN (the whole batch),
    per step for stream_step and per call for streams64_step (a fresh stream of 1 or 64 rows,
    stepped on the first timestep's rows)."""
    if workload == "stream_step" or workload == "streams64_step":
        rows = 1 if workload == "stream_step" else 64
        stream = peer.stream(rows)
        row = np.ascontiguousarray(x[:rows, 0])
        return per_call(lambda: stream.step(row))
    kind, _, n = workload.rpartition("_b")
    if kind == "train":
        n = int(n)
        return n / best_of_budget(lambda: peer.train(x[:n], labels[:n]))
    if kind in ("infer", "predict"):
        n = int(n)
        return n / best_of_budget(lambda: peer.predict(x[:n]))
    if kind == "forward":
        batch = x[: int(n)]
        return per_call(lambda: peer.predict(batch))
    row = x[:1]
    return per_call(lambda: peer.predict(row))


class Ort:
    name = "onnxruntime"
    tolerance = 1e-4

    def __init__(self, weights, head, threads):
        self.options = ort.SessionOptions()
        self.options.intra_op_num_threads = threads
        self.options.inter_op_num_threads = 1
        self.options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.weights = weights
        self.session = self.open(self.graph(weights, head))
        self.step_session = None

    def graph(self, weights, head):
        return onnx_graph(weights, head)

    def open(self, graph):
        return ort.InferenceSession(graph, self.options, providers=["CPUExecutionProvider"])

    def supports(self, workload):
        return not workload.startswith("train")

    def predict(self, x):
        return self.session.run(None, {"x": x})[0]

    def stream(self, rows):
        if self.step_session is None:
            self.step_session = self.open(onnx_lstm_step_model(self.weights))
        return OrtStream(self.step_session, rows)

    train = None


class OrtStream:
    """An LSTM stream in onnxruntime: the one-step graph, its Y_h and Y_c fed back."""

    def __init__(self, session, rows):
        self.session = session
        self.h = np.zeros((1, rows, LSTM_UNITS), dtype=np.float32)
        self.c = np.zeros((1, rows, LSTM_UNITS), dtype=np.float32)

    def step(self, row):
        y, self.h, self.c = self.session.run(None, {"x": row, "h": self.h, "c": self.c})
        return y


class Ov:
    """OpenVINO's CPU plugin on the same ONNX graphs, f32 (or its default precision hint)."""

    name = "openvino"
    tolerance = 1e-4
    core = None

    def __init__(self, weights, head, threads, precision="f32"):
        if Ov.core is None:
            Ov.core = ov.Core()
        self.config = {
            "INFERENCE_NUM_THREADS": threads,
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
        }
        if precision is not None:
            self.config["INFERENCE_PRECISION_HINT"] = precision
        self.weights = weights
        self.compiled = self.compile(self.graph(weights, head))
        self.request = self.compiled.create_infer_request()
        self.step_model = None

    def graph(self, weights, head):
        return onnx_graph(weights, head)

    def compile(self, graph):
        return Ov.core.compile_model(Ov.core.read_model(graph), "CPU", self.config)

    def precision(self):
        """The precision the compiled model runs at, as the CSV names it: f32, bf16, f16."""
        p = str(self.compiled.get_property("INFERENCE_PRECISION_HINT"))
        return {"float32": "f32", "f32": "f32", "bfloat16": "bf16", "bf16": "bf16", "float16": "f16", "f16": "f16"}.get(
            p.split("'")[1] if "'" in p else p, p
        )

    def supports(self, workload):
        return not workload.startswith("train")

    def predict(self, x):
        # share_inputs: the request reads the NumPy batch in place (OpenVINO's default copies it
        # into new tensors first, which cost 50–150 µs a call here); the output is still a copy.
        return self.request.infer({0: x}, share_inputs=True)[0]

    def stream(self, rows):
        if self.step_model is None:
            self.step_model = self.compile(onnx_lstm_step_model(self.weights))
        return OvStream(self.step_model.create_infer_request(), rows)

    train = None


class OvDefault(Ov):
    """OpenVINO at its default precision hint (bf16 where the CPU has bf16 instructions), on the
    infer rows only; named after the precision it resolved to."""

    tolerance = 5e-2

    def __init__(self, weights, head, threads):
        super().__init__(weights, head, threads, precision=None)
        self.name = f"openvino-default-{self.precision()}"

    def supports(self, workload):
        return workload.startswith("infer")


@contextlib.contextmanager
def quiet_quantizer():
    """onnxruntime.quantization warns on the root logger that the model was not pre-processed
    (shape inference and graph optimisation, which a Gemm stack with known shapes does not need)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def quantized_onnx(weights, head, static_inputs=None):
    """The f32 graph (`onnx_model`) quantized by onnxruntime.quantization, per output channel
    (QInt8 weights with one scale per column of each kernel, as Keras' per-output-unit kernel
    scale), as bytes. Dynamic (`quantize_dynamic`) without `static_inputs`: DynamicQuantizeLinear
    (uint8, one scale and zero point per call over the whole batch) then MatMulInteger, which
    onnxruntime's graph optimiser fuses into DynamicQuantizeMatMul. Static (`quantize_static`,
    QDQ format, MinMax calibration on `static_inputs`) otherwise: QuantizeLinear/DequantizeLinear
    pairs with fixed uint8 activation scales, the form OpenVINO runs in int8. The files live in a
    temporary folder removed before returning; nothing is downloaded."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )

    class Batches(CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{"x": static_inputs[i : i + 128]} for i in range(0, len(static_inputs), 128)])

        def get_next(self):
            return next(self.batches, None)

    with tempfile.TemporaryDirectory(prefix="peers_int8_") as folder, quiet_quantizer():
        f32 = os.path.join(folder, "f32.onnx")
        int8 = os.path.join(folder, "int8.onnx")
        with open(f32, "wb") as f:
            f.write(onnx_model(weights, head))
        if static_inputs is None:
            quantize_dynamic(f32, int8, weight_type=QuantType.QInt8, per_channel=True)
        else:
            quantize_static(
                f32,
                int8,
                Batches(),
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                per_channel=True,
            )
        with open(int8, "rb") as f:
            return f.read()


# The int8 engines' check. Their outputs are the softmax's probabilities, compared with the f32
# NumPy reference on the same 1024 rows as the others, so the difference is int8's quantisation
# error, not rounding: the logits span about ±13 on these inputs (uniform in [0, 10)), and three
# quantised layers move them by up to about 0.2 (onnxruntime's dynamic per-channel model 0.16,
# a NumPy replay of Keras' scheme, per-row activations and per-column kernels, 0.22), which
# moves a probability by up to about 0.05 (onnxruntime dynamic 3.6e-2, its per-tensor-weight
# variant 3.5e-2, the static QDQ model in OpenVINO 4.6e-2, the Keras replay 5.2e-2). 5e-2 would
# thus fail Keras' own scheme; 1e-1 passes int8's rounding and still fails a broken graph (a
# wrong scale, zero point or layout moves probabilities by 0.5 to 1). The check also asks that
# the top class agree with NumPy's on at least 99% of the rows (observed: 99.5–99.7%).
INT8_TOLERANCE = 1e-1
INT8_AGREEMENT = 0.99


class OrtInt8(Ort):
    """onnxruntime's dynamic int8 model of the mlp (issue 24): `quantize_dynamic` with QInt8
    weights per output channel, on the infer_b1024 and one_row rows only. Per-channel is the row
    because it matches Keras' per-output-unit kernel scale. Per-tensor weights
    (`per_channel=False`), measured once on the Zen 5 this was written on: as close to NumPy
    (3.5e-2), batch 1024 within 2%, but one row faster, 14 µs against 17 on one thread and 12
    against 21 on two. The activations differ from Keras' either way: uint8 with a zero point,
    one scale per call over the whole batch, where Keras takes int8 abs-max per row."""

    name = "onnxruntime-int8-dynamic-per-channel"
    tolerance = INT8_TOLERANCE
    agreement = INT8_AGREEMENT

    def graph(self, weights, head):
        return quantized_onnx(weights, head)

    def supports(self, workload):
        return workload in INT8_WORKLOADS


class OvInt8(Ov):
    """OpenVINO int8: the static QDQ model of the mlp (`quantized_onnx` with calibration rows
    drawn like the inputs, uniform in [0, 10), from their own seed, so not the checked or timed
    rows), compiled like `Ov` (f32 hint: the layers OpenVINO leaves in float stay f32), on the
    infer_b1024 and one_row rows only. OpenVINO runs QDQ pairs as FakeQuantize and its
    FullyConnected layers in u8 × i8 (brgemm_avx512_I8 on the Zen 5 this was written on); it
    does not run onnxruntime's dynamic model in int8 (DynamicQuantizeLinear + MatMulInteger
    compile to f32 FullyConnected layers fed converted integers, slower than plain f32), and
    NNCF, its own quantiser, is a separate package not needed for this. So these rows are static
    activation scales, unlike Keras' and onnxruntime's dynamic ones. Left out (with a note) where
    the compiled model's FullyConnected layers do not run in u8/i8."""

    name = "openvino-int8-static-per-channel"
    tolerance = INT8_TOLERANCE
    agreement = INT8_AGREEMENT

    def __init__(self, weights, head, threads):
        super().__init__(weights, head, threads)
        layers = [
            str(op.get_rt_info()["runtimePrecision"].astype(str))
            for op in self.compiled.get_runtime_model().get_ops()
            if str(op.get_rt_info()["layerType"].astype(str)) == "FullyConnected"
        ]
        self.left_out = not layers or any(p not in ("u8", "i8") for p in layers)
        if self.left_out:
            print(f"{self.name}: left out, its FullyConnected layers run at {layers}, not int8")

    def graph(self, weights, head):
        calibration = np.random.default_rng(13).uniform(0.0, 10.0, (1024, weights[0][0].shape[0]))
        return quantized_onnx(weights, head, calibration.astype(np.float32))

    def supports(self, workload):
        return workload in INT8_WORKLOADS


class OvStream:
    """An LSTM stream in OpenVINO: the one-step graph, its state kept in the infer request's own
    input tensors (the row written into x, Y_h and Y_c copied back into h and c after each
    step), which is OpenVINO's cheap path; passing NumPy arrays to `infer` costs a copy each."""

    def __init__(self, request, rows):
        self.request = request
        self.x, self.h, self.c = (request.get_tensor(n) for n in ("x", "h", "c"))
        self.x.shape = [rows, LSTM_FEATURES]
        for state in (self.h, self.c):
            state.shape = [1, rows, LSTM_UNITS]
            state.data[:] = 0.0

    def step(self, row):
        self.x.data[:] = row
        self.request.infer()
        np.copyto(self.h.data, self.request.get_output_tensor(1).data)
        np.copyto(self.c.data, self.request.get_output_tensor(2).data)
        return self.request.get_output_tensor(0).data.copy()


class Torch:
    name = "pytorch"
    tolerance = 1e-4

    def __init__(self, weights, head, threads):
        torch.set_num_threads(threads)
        self.head = head
        self.weights = weights
        if head in RECURRENT:
            self.net = TorchRnn(weights, head)
            self.loss = torch.nn.MSELoss()
            self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3, eps=1e-7)
            return
        if head == "conv1d":
            kernel, bias = weights
            conv = torch.nn.Conv1d(CONV_FEATURES, CONV_FILTERS, CONV_KERNEL)
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.transpose(2, 1, 0))))
                conv.bias.copy_(torch.from_numpy(bias))
            self.net = torch.nn.Sequential(conv, torch.nn.ReLU())
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

    def supports(self, workload):
        return not workload.startswith("train") or self.head != "conv1d"

    def predict(self, x):
        with torch.inference_mode():
            if self.head == "conv1d":
                # NCHW (N, C, 1, W) in and out, as the ONNX graph; Conv1d sees the NCW view.
                return self.net(torch.from_numpy(x)[:, :, 0]).numpy()[:, :, None]
            logits = self.net(torch.from_numpy(x))
            if self.head in RECURRENT:
                return logits.numpy()
            probs = torch.sigmoid(logits) if self.head == "sigmoid" else torch.softmax(logits, 1)
            return probs.numpy()

    def train(self, x, labels):
        target = (
            torch.from_numpy(labels).reshape(-1, 1)
            if self.head in ("sigmoid",) + RECURRENT
            else torch.from_numpy(labels.astype(np.int64))
        )
        self.opt.zero_grad()
        loss = self.loss(self.net(torch.from_numpy(x)), target)
        loss.backward()
        self.opt.step()

    def stream(self, rows):
        return TorchStream(self.weights, rows)


def torch_gate_weights(weights, head):
    """PyTorch's weight_ih (G·U, F), weight_hh (G·U, U), bias_ih, bias_hh from Keras' weights.
    The LSTM: PyTorch's gates i, f, g, o are Keras' i, f, c, o, one bias (bias_hh zero). The GRU:
    PyTorch's r, z, n are Keras' r, z, h blocks permuted from z, r, h; nn.GRU is reset_after's
    form (n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))), so Keras' input bias is bias_ih and its
    recurrent bias bias_hh."""
    kernel, recurrent, bias = weights[:3]
    u = LSTM_UNITS
    if head == "lstm":
        return kernel.T.copy(), recurrent.T.copy(), bias.copy(), np.zeros_like(bias)
    perm = lambda m: np.concatenate([m[..., g * u : (g + 1) * u] for g in (1, 0, 2)], axis=-1)  # noqa: E731
    return perm(kernel).T.copy(), perm(recurrent).T.copy(), perm(bias[0]), perm(bias[1])


def TorchRnn(weights, head):
    """nn.LSTM or nn.GRU (batch first) on Keras' weights, then nn.Linear on the last step's
    hidden state."""
    w_ih, w_hh, b_ih, b_hh = (torch.from_numpy(np.ascontiguousarray(w)) for w in torch_gate_weights(weights, head))
    dense, dense_bias = weights[3], weights[4]

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            kind = torch.nn.LSTM if head == "lstm" else torch.nn.GRU
            self.rnn = kind(LSTM_FEATURES, LSTM_UNITS, batch_first=True)
            self.dense = torch.nn.Linear(LSTM_UNITS, 1)
            with torch.no_grad():
                self.rnn.weight_ih_l0.copy_(w_ih)
                self.rnn.weight_hh_l0.copy_(w_hh)
                self.rnn.bias_ih_l0.copy_(b_ih)
                self.rnn.bias_hh_l0.copy_(b_hh)
                self.dense.weight.copy_(torch.from_numpy(dense.T.copy()))
                self.dense.bias.copy_(torch.from_numpy(dense_bias))

        def forward(self, x):
            out = self.rnn(x)[1]
            h = out[0] if head == "lstm" else out
            return self.dense(h[-1])

    return Net()


class TorchStream:
    """An LSTM stream in PyTorch: nn.LSTMCell + nn.Linear, h and c kept as tensors."""

    def __init__(self, weights, rows):
        w_ih, w_hh, b_ih, b_hh = (torch.from_numpy(np.ascontiguousarray(w)) for w in torch_gate_weights(weights, "lstm"))
        self.cell = torch.nn.LSTMCell(LSTM_FEATURES, LSTM_UNITS)
        self.dense = torch.nn.Linear(LSTM_UNITS, 1)
        with torch.no_grad():
            self.cell.weight_ih.copy_(w_ih)
            self.cell.weight_hh.copy_(w_hh)
            self.cell.bias_ih.copy_(b_ih)
            self.cell.bias_hh.copy_(b_hh)
            self.dense.weight.copy_(torch.from_numpy(weights[3].T.copy()))
            self.dense.bias.copy_(torch.from_numpy(weights[4]))
        self.state = (torch.zeros(rows, LSTM_UNITS), torch.zeros(rows, LSTM_UNITS))

    def step(self, row):
        with torch.inference_mode():
            self.state = self.cell(torch.from_numpy(row), self.state)
            return self.dense(self.state[0]).numpy()


def check_stream(peer, weights, x, model):
    """A stream against the NumPy LSTM: one step of 64 streams (a one-step sequence), then all the
    sequences' steps from a fresh stream (the whole sequence)."""
    rows = x[:64]
    one = peer.stream(64).step(np.ascontiguousarray(rows[:, 0]))
    err_one = np.abs(one - numpy_lstm_forward(weights, rows[:, :1])).max()
    stream = peer.stream(64)
    for t in range(rows.shape[1]):
        last = stream.step(np.ascontiguousarray(rows[:, t]))
    err_all = np.abs(last - numpy_lstm_forward(weights, rows)).max()
    for err, what in ((err_one, "one step"), (err_all, f"{rows.shape[1]} steps")):
        assert err < peer.tolerance, f"{peer.name} {model} stream: {what} differs from NumPy by {err}"
    print(
        f"check {model} {peer.name:<12} stream: max |Δ| vs NumPy, 64 streams, one step {err_one:.1e}, "
        f"{rows.shape[1]} steps {err_all:.1e}"
    )


def engines_for(name, int8=False):
    """The engine constructors for a model, in the order each round times them; with `int8`, the
    int8 engines last, on the models that have them."""
    engines = [Ort]
    if torch is not None:
        engines.append(Torch)
    if ov is not None:
        engines.append(Ov)
        if name in OV_DEFAULT_MODELS:
            engines.append(OvDefault)
    if int8 and name in INT8_MODELS:
        engines.append(OrtInt8)
        if ov is not None:
            engines.append(OvInt8)
    return engines


SGEMM_SIZES = (256, 512, 1024, 2048)


def sgemm_rows(threads, rounds, csv):
    """Issue 23's SGEMM row: `torch.matmul` (oneDNN/MKL on x86) of two square f32 matrices,
    GFLOP/s (2n³ per call; the median of `rounds` best-of-budget timings), for `bench_table`'s
    "SGEMM square" sizes, to set beside its avx512 column in the same session."""
    if torch is None:
        print("--sgemm: PyTorch not installed, nothing to time")
        return
    rng = np.random.default_rng(7)
    print("\n### SGEMM square, torch.matmul (GFLOP/s)\n")
    print("| n | " + " | ".join(f"{t} thread(s)" for t in threads) + " |")
    print("|---|" + "---|" * len(threads))
    for n in SGEMM_SIZES:
        a = torch.from_numpy(rng.uniform(-1.0, 1.0, (n, n)).astype(np.float32))
        b = torch.from_numpy(rng.uniform(-1.0, 1.0, (n, n)).astype(np.float32))
        out = torch.empty((n, n), dtype=torch.float32)
        want = a.numpy().astype(np.float64) @ b.numpy().astype(np.float64)
        cells = []
        for t in threads:
            torch.set_num_threads(t)
            torch.matmul(a, b, out=out)
            err = float(np.abs(out.numpy() - want).max())
            assert err < 1e-3 * n, f"torch.matmul {n}: differs from NumPy's f64 product by {err}"
            timings = [best_of_budget(lambda: torch.matmul(a, b, out=out)) for _ in range(rounds)]
            gflops = 2.0 * n**3 / float(np.median(timings)) / 1e9
            cells.append(f"{gflops:.1f}")
            if csv:
                csv.write(f"sgemm,square_{n},{t},pytorch,{gflops:.3f},GFLOP/s\n")
        print(f"| {n} | " + " | ".join(cells) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds (median over them)")
    parser.add_argument("--threads", default="1,2,N", help="thread counts; N = all")
    parser.add_argument("--csv", help="append rows benchmark,workload,threads,framework,value,unit")
    parser.add_argument("--models", default="tutorial,mlp", help="tutorial, mlp, lstm, gru, conv1d")
    parser.add_argument(
        "--sgemm",
        action="store_true",
        help="also torch.matmul on square matrices (bench_table's SGEMM sizes), GFLOP/s",
    )
    parser.add_argument(
        "--int8",
        action="store_true",
        help="also the mlp's int8 engines (infer_b1024, one_row); not for the charts' CSV",
    )
    args = parser.parse_args()
    every = os.cpu_count() or 1
    threads = []
    for t in args.threads.split(","):
        t = every if t.strip() in ("N", "all") else int(t)
        if t not in threads:
            threads.append(t)
    wanted = args.models.split(",")
    unknown = [m for m in wanted if m not in [name for name, _, _ in MODELS]]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}")

    print(
        f"onnxruntime {ort.__version__}; "
        + (f"PyTorch {torch.__version__}" if torch is not None else "PyTorch not installed: left out")
        + "; "
        + (f"OpenVINO {ov.__version__}" if ov is not None else "OpenVINO not installed: left out")
        + f"; medians of {args.rounds} rounds; threads {threads}"
    )
    seqnet = read_seqnet(args.csv) if args.csv else {}
    csv = None
    if args.csv:
        new = not os.path.exists(args.csv)
        csv = open(args.csv, "a", encoding="utf-8")
        if new:
            csv.write("benchmark,workload,threads,framework,value,unit\n")
    if args.sgemm:
        sgemm_rows(threads, args.rounds, csv)
    results = {}  # (workload id, threads) → {framework: (value, unit)}
    names = {}  # model → the engines' names, in order
    for name, widths, head in MODELS:
        if name not in wanted:
            continue
        rng = np.random.default_rng(11)
        labels = np.random.default_rng(12).uniform(0.0, 1.0, 64).astype(np.float32)
        if head in RECURRENT:
            weights = lstm_weights(42) if head == "lstm" else gru_weights(42)
            x = rng.uniform(-1.0, 1.0, (64, LSTM_STEPS, LSTM_FEATURES)).astype(np.float32)
            want = (numpy_lstm_forward if head == "lstm" else numpy_gru_forward)(weights, x)
        elif head == "conv1d":
            weights = conv_weights(42)
            x_nwc = rng.uniform(-1.0, 1.0, (CONV_BATCH, CONV_STEPS, CONV_FEATURES)).astype(np.float32)
            want = numpy_conv_forward(weights, x_nwc)
            # NWC → NCHW (N, C, 1, W), once, outside the timed calls.
            x = np.ascontiguousarray(x_nwc.transpose(0, 2, 1)[:, :, None, :])
        else:
            weights = glorot_weights(widths, 42)
            x = rng.uniform(0.0, 10.0, (4096, widths[0])).astype(np.float32)
            classes = max(2, widths[-1])
            labels = np.random.default_rng(12).integers(0, classes, 128).astype(np.float32)
            want = numpy_forward(weights, head, x[:1024])
        checked = len(want)
        for t in threads:
            peers = [f(weights, head, t) for f in engines_for(name, args.int8)]
            peers = [p for p in peers if not getattr(p, "left_out", False)]
            names[name] = [p.name for p in peers]
            for p in peers:
                got = p.predict(x[:checked])
                err = np.abs(got - want).max()
                assert err < p.tolerance, f"{p.name} {name}: differs from NumPy by {err}"
                top = ""
                if hasattr(p, "agreement"):
                    agree = float(np.mean(got.argmax(axis=1) == want.argmax(axis=1)))
                    assert agree >= p.agreement, f"{p.name} {name}: top class as NumPy's on {agree:.1%} of rows"
                    top = f", top class as NumPy's on {agree:.1%} (tolerance {p.tolerance:.0e})"
                print(f"check {name} {p.name:<12} {t} thread(s): max |Δ| vs NumPy on {checked} rows {err:.1e}{top}")
                if head == "lstm" and hasattr(p, "stream") and p.supports("stream_step"):
                    check_stream(p, weights, x, name)
            for workload in workloads_of(head):
                samples = {p.name: [] for p in peers if p.supports(workload)}
                if not samples:
                    continue
                for _ in range(args.rounds):
                    for p in peers:
                        if p.name in samples:
                            samples[p.name].append(measure(workload, p, x, labels))
                unit = PER_CALL.get(workload, "samples/s")
                for framework, values in samples.items():
                    value = float(np.median(values))
                    results.setdefault((f"{name}_{workload}", t), {})[framework] = (value, unit)
                    if csv:
                        csv.write(f"models,{name}_{workload},{t},{framework},{value:.3f},{unit}\n")
    if csv:
        csv.close()

    for name, _, head in MODELS:
        for workload in workloads_of(head):
            rows = [(t, results.get((f"{name}_{workload}", t))) for t in threads]
            if not any(r for _, r in rows):
                continue
            cols = [n for n in names[name] if any(n in (r or {}) for _, r in rows)]
            unit = {"us/row": "µs per row", "us/step": "µs per step", "us/call": "µs per call"}.get(
                PER_CALL.get(workload), "samples/s"
            )
            print(f"\n### {name}_{workload} ({unit}; seqnet's from the CSV, where it has them)\n")
            print("| threads | seqnet | " + " | ".join(cols) + " | seqnet ÷ best f32 of these |")
            print("|---|---|" + "---|" * len(cols) + "---|")
            for t, row in rows:
                row = row or {}
                ours = seqnet.get((f"{name}_{workload}", t))
                cells = [fmt(ours, workload)] + [fmt(row.get(n, (None,))[0], workload) for n in cols]
                ratio = "-"
                f32 = [n for n in row if is_f32(n)]
                if ours is not None and f32:
                    # As speeds: µs per row inverts. Against the f32 engines only: seqnet is f32.
                    speed = (lambda v: 1.0 / v) if workload in PER_CALL else (lambda v: v)
                    best = max(f32, key=lambda n: speed(row[n][0]))
                    ratio = f"{speed(ours) / speed(row[best][0]):.2f}× ({best})"
                print(f"| {t} | " + " | ".join(cells) + f" | {ratio} |")


def is_f32(framework):
    """Whether an engine's figures are f32 ones: all but the int8 engines and OpenVINO's default
    when it resolved to bf16 or f16."""
    if "-int8-" in framework:
        return False
    return not framework.startswith("openvino-default-") or framework.endswith("-f32")


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
