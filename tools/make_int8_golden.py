#!/usr/bin/env python3
"""Keras 3's own `quantize("int8")`, for tests/keras_parity_int8.rs and tests/keras_files_int8.rs.

Run once, outside CI (Keras 3.15.1 with the JAX backend on CPU, float32):

    python3 -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install keras==3.15.1 "jax[cpu]" h5py numpy
    KERAS_BACKEND=jax /tmp/kvenv/bin/python tools/make_int8_golden.py

Writes, under tests/reference/:
  int8.json              per case: the float model's weights (`get_weights()` before quantizing),
                         the input rows, Keras' quantized tensors in its file order (int8 kernel or
                         embeddings, bias, kernel_scale / embeddings_scale) and `predict()` of the
                         quantized model
  int8_mlp.keras,        the `mlp` case after quantize("int8"), saved by Keras (its dtype policy
  int8_mlp.weights.h5    `int8_from_float32`, kernels int8)
Cases: `mlp` (20 -> Dense 16 relu -> Dense 8 tanh -> Dense 3 softmax), `mlp_weight_only` (the
same weights, Int8QuantizationConfig(activation_quantizer=None): inputs stay float),
`no_bias` (12 -> Dense 5 linear, use_bias=False), `text` (6 ids -> Embedding(25, 8) -> Dense 8 relu
on each step -> GlobalAveragePooling1D -> Dense 2 softmax) and `conv` (6x6x1 -> Conv2D 3 3x3 relu
-> Flatten -> Dense 4 softmax: Conv2D stays float32, as in Keras) and `wide` (1100 -> Dense 16
relu -> Dense 3 softmax: deep and large enough for the int8 tiles). Weights from
keras.utils.set_random_seed(11); inputs from numpy's RandomState(12), with an all-zero row and a
row of tiny values (the abs-max's epsilon decides their scale).
"""
import json
import os
import sys

sys.dont_write_bytecode = True
os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402
from keras.quantizers import Int8QuantizationConfig  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference")


def tolist(a):
    a = np.asarray(a)
    if a.dtype == np.int8:
        return a.astype(int).reshape(-1).tolist()
    return a.astype(np.float64).reshape(-1).tolist()


def quantized_tensors(model):
    """Each layer's variables in the order Keras saves them (`save_own_variables`)."""
    out = []
    for layer in model.layers:
        store = {}
        layer.save_own_variables(store)
        for i in range(len(store)):
            v = np.asarray(store[str(i)])
            out.append({"layer": layer.name, "index": i, "dtype": str(v.dtype),
                        "shape": list(v.shape), "values": tolist(v)})
    return out


def case(name, build, x, config=None):
    keras.utils.set_random_seed(11)
    model = build()
    # Biases are zero at initialisation; give them values so that the bias path is tested.
    for layer in model.layers:
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(np.random.RandomState(13).uniform(-0.3, 0.3, layer.bias.shape))
    weights = [tolist(w) for w in model.get_weights()]
    float_out = model.predict(x, verbose=0)
    if config is None:
        model.quantize("int8")
    else:
        model.quantize(config=config)
    out = model.predict(x, verbose=0)
    print(f"{name}: max |int8 - float32| = {np.abs(out - float_out).max():.3g}")
    return model, {
        "float_weights": weights,
        "inputs": tolist(x),
        "input_dtype": str(x.dtype),
        "rows": int(x.shape[0]),
        "quantized": quantized_tensors(model),
        "outputs": tolist(out),
        "float_outputs": tolist(float_out),
    }


def mlp():
    return keras.Sequential([
        keras.Input(shape=(20,)),
        layers.Dense(16, activation="relu"),
        layers.Dense(8, activation="tanh"),
        layers.Dense(3, activation="softmax"),
    ])


def main():
    g = np.random.RandomState(12)
    x = (g.randn(24, 20) * 2.0).astype("float32")
    x[3] = 0.0
    x[5] *= 1e-6
    cases = {}
    model, cases["mlp"] = case("mlp", mlp, x)
    model.save(os.path.join(HERE, "int8_mlp.keras"))
    model.save_weights(os.path.join(HERE, "int8_mlp.weights.h5"))
    _, cases["mlp_weight_only"] = case(
        "mlp_weight_only", mlp, x, Int8QuantizationConfig(activation_quantizer=None))
    xb = (g.randn(10, 12)).astype("float32")
    _, cases["no_bias"] = case("no_bias", lambda: keras.Sequential([
        keras.Input(shape=(12,)), layers.Dense(5, use_bias=False)]), xb)
    ids = g.randint(0, 25, size=(16, 6)).astype("int32")
    _, cases["text"] = case("text", lambda: keras.Sequential([
        keras.Input(shape=(6,), dtype="int32"),
        layers.Embedding(25, 8),
        layers.Dense(8, activation="relu"),
        layers.GlobalAveragePooling1D(),
        layers.Dense(2, activation="softmax"),
    ]), ids)
    img = g.rand(8, 6, 6, 1).astype("float32")
    _, cases["conv"] = case("conv", lambda: keras.Sequential([
        keras.Input(shape=(6, 6, 1)),
        layers.Conv2D(3, 3, activation="relu"),
        layers.Flatten(),
        layers.Dense(4, activation="softmax"),
    ]), img)
    # Last, so the cases above keep their values: a Dense deep and wide enough for the int8
    # tiles (k > 1024, where the f32 path's sums would not be exact, and 17.6 K weights).
    xw = (g.randn(12, 1100)).astype("float32")
    _, cases["wide"] = case("wide", lambda: keras.Sequential([
        keras.Input(shape=(1100,)),
        layers.Dense(16, activation="relu"),
        layers.Dense(3, activation="softmax"),
    ]), xw)
    doc = {
        "made_by": "tools/make_int8_golden.py",
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "conventions": {
            "float_weights": "get_weights() before quantize, each flattened row-major",
            "quantized": "per layer, the variables save_own_variables stores, in its order "
                         "(Dense: kernel int8 [in, out], bias, kernel_scale [out]; Embedding: "
                         "embeddings int8 [input_dim, output_dim], embeddings_scale [input_dim])",
            "outputs": "predict() after quantize, rows flattened",
        },
        "cases": cases,
    }
    with open(os.path.join(HERE, "int8.json"), "w") as f:
        json.dump(doc, f)


if __name__ == "__main__":
    main()
