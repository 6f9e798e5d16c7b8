#!/usr/bin/env python3
"""onnxruntime's Conv (+Relu) at the two shapes `bench_table`'s Conv2D rows use and at its
Conv1D row's, in GFLOP/s, so its figures can be set beside seqnet's (BENCHMARKS.md, "Conv2D",
"Conv1D").

Optional, outside CI. Set up a virtual environment outside the repository and run it there:

    python3 -m venv /tmp/ortvenv
    /tmp/ortvenv/bin/pip install onnxruntime onnx numpy
    /tmp/ortvenv/bin/python tools/conv_onnxruntime.py          # --runs N to change the best-of

What it measures: one ONNX graph per shape, `Conv` (3×3 kernel, or 1×5 for the Conv1D row;
stride 1, 'valid' = no pads, with bias) followed by `Relu`, batch 64, float32, run by onnxruntime's CPU execution provider at
its default graph optimisation level (which fuses Conv+Relu and may pick its NCHWc kernels),
pinned to 1 thread and then 2 threads (`intra_op_num_threads`, `inter_op_num_threads = 1`).
The figure is the best of `--runs` timed `InferenceSession.run` calls after warm-up calls, so it
includes onnxruntime's per-call overhead, as seqnet's figure includes its own.

Layouts: seqnet (and Keras) store images NHWC and the kernel as (KH, KW, C, F); ONNX's Conv
takes NCHW data and an (F, C, KH, KW) kernel. The script transposes the input and the kernel
once, outside the timed calls, and checks the output (transposed back to NHWC) against a NumPy
convolution, so both sides compute the same thing; the transpose itself is not timed.

Flops are counted as seqnet's rows count them: 2 · MACs, MACs per image = OH·OW·KH·KW·C·F.
Only the forward pass: onnxruntime's inference sessions have no backward.
"""

import argparse
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

# (label, H, W, C, F, KH, KW, batch): the same cases as benches/common/mod.rs's CONV_CASES.
# The last is Conv1D(64, 5) on 100 steps × 32 features, as a 1 × 100 image with a 1 × 5 kernel
# (bench_table's Conv1D row).
CASES = [
    ("28×28×1 → 32", 28, 28, 1, 32, 3, 3, 64),
    ("13×13×32 → 64", 13, 13, 32, 64, 3, 3, 64),
    ("Conv1D 100×32 → 64, k 5", 1, 100, 32, 64, 1, 5, 64),
]


def conv_relu_model(kernel_fckk, bias, n, c, h, w):
    """An ONNX model: y = Relu(Conv(x, W, b)), x NCHW, no padding, stride 1."""
    f, _, kh, kw = kernel_fckk.shape
    oh, ow = h - kh + 1, w - kw + 1
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, c, h, w])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, f, oh, ow])
    conv = helper.make_node(
        "Conv",
        ["x", "W", "b"],
        ["z"],
        kernel_shape=[kh, kw],
        strides=[1, 1],
        pads=[0, 0, 0, 0],
    )
    relu = helper.make_node("Relu", ["z"], ["y"])
    graph = helper.make_graph(
        [conv, relu],
        "conv_relu",
        [x],
        [y],
        initializer=[
            numpy_helper.from_array(kernel_fckk, "W"),
            numpy_helper.from_array(bias, "b"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def numpy_conv_nhwc(x, kernel, bias):
    """The reference: NHWC x, (KH, KW, C, F) kernel, valid, stride 1, + bias, relu."""
    n, h, w, c = x.shape
    kh, kw, _, f = kernel.shape
    oh, ow = h - kh + 1, w - kw + 1
    out = np.zeros((n, oh, ow, f), dtype=np.float64)
    for p in range(kh):
        for q in range(kw):
            out += np.einsum(
                "nhwc,cf->nhwf", x[:, p : p + oh, q : q + ow, :], kernel[p, q], dtype=np.float64
            )
    return np.maximum(out + bias, 0.0)


def best_seconds(session, feed, runs):
    for _ in range(5):
        session.run(None, feed)
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="timed calls per row (best of)")
    args = parser.parse_args()

    print(f"onnxruntime {ort.__version__}, providers {ort.get_available_providers()}")
    print(
        "\n## onnxruntime Conv + Relu, valid, batch 64, forward "
        "(GFLOP/s; input NHWC transposed to NCHW outside the timing)"
    )
    print("| shape | pass | one thread | two threads |")
    rng = np.random.default_rng(7)
    for label, h, w, c, f, kh, kw, n in CASES:
        x_nhwc = rng.uniform(-1.0, 1.0, (n, h, w, c)).astype(np.float32)
        kernel = rng.uniform(-1.0, 1.0, (kh, kw, c, f)).astype(np.float32)
        bias = rng.uniform(-1.0, 1.0, (f,)).astype(np.float32)
        # NHWC → NCHW for the data, (KH, KW, C, F) → (F, C, KH, KW) for the kernel.
        x_nchw = np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2))
        kernel_fckk = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
        model = conv_relu_model(kernel_fckk, bias, n, c, h, w)
        oh, ow = h - kh + 1, w - kw + 1
        flops = 2.0 * n * oh * ow * kh * kw * c * f
        want = numpy_conv_nhwc(x_nhwc, kernel, bias)
        cells = []
        for threads in (1, 2):
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            session = ort.InferenceSession(
                model, options, providers=["CPUExecutionProvider"]
            )
            feed = {"x": x_nchw}
            (got,) = session.run(None, feed)
            err = np.abs(got.transpose(0, 2, 3, 1) - want).max()
            assert err < 1e-3, f"onnxruntime's output differs from NumPy's by {err}"
            cells.append(flops / best_seconds(session, feed, args.runs) / 1e9)
        print(
            f"| {label} | forward | {cells[0]:6.1f} | {cells[1]:6.1f} ({cells[1] / cells[0]:.2f}× one) |"
        )


if __name__ == "__main__":
    main()
