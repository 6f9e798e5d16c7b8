#!/usr/bin/env python3
"""Keras reference values for Rescaling and Normalization (tests/preprocessing_layers.rs).

Run once, outside CI (Keras 3.15.1 with the JAX backend on CPU, float32):

    python3 -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install keras==3.15.1 "jax[cpu]" h5py numpy
    KERAS_BACKEND=jax /tmp/kvenv/bin/python tools/make_preprocessing_golden.py

Writes, under tests/reference/:
  preprocessing.json        four cases: each model's layer configs, weights in get_weights()
                            order (Normalization's mean, variance and integer count), input rows,
                            Keras' predict(), and for two of them one train_on_batch step of
                            SGD(0.1) (the loss it returned and every weight after it)
  preprocessing.keras,      the `adapt_mlp` case saved by Keras (model.save, save_weights)
  preprocessing.weights.h5
Inputs are drawn from numpy's RandomState(11); weights from keras.utils.set_random_seed(5).
"""
import json
import os
import sys

sys.dont_write_bytecode = True
os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference")


def r9(x):
    if isinstance(x, np.ndarray):
        return r9(x.tolist())
    if isinstance(x, (list, tuple)):
        return [r9(v) for v in x]
    if isinstance(x, dict):
        return {k: r9(v) for k, v in x.items()}
    if isinstance(x, (float, np.floating)):
        return float(f"{float(x):.9g}")
    if isinstance(x, np.integer):
        return int(x)
    return x


def record(name, model, x, y=None, loss=None, adapt=None):
    case = {
        "layers": [
            {"class_name": l.__class__.__name__, "config": {
                k: v for k, v in l.get_config().items()
                if k in ("scale", "offset", "axis", "mean", "variance", "invert", "units",
                         "activation")}}
            for l in model.layers
        ],
        "weights": [{"name": w.path, "dtype": str(w.dtype), "shape": list(w.shape),
                     "values": np.asarray(w).ravel()} for w in model.weights],
        "inputs": x.astype(np.float32),
        "predictions": model.predict(x, verbose=0),
    }
    if adapt is not None:
        case["adapt_rows"] = adapt.astype(np.float32)
    if y is not None:
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
        case["labels"] = y
        case["loss"] = loss
        case["train_on_batch_loss"] = float(model.train_on_batch(x, y))
        case["weights_after_step"] = [np.asarray(w).ravel() for w in model.weights]
    return case


def main():
    keras.utils.set_random_seed(5)
    g = np.random.RandomState(11)
    cases = {}

    # 1. Rescaling then an adapted Normalization in front of a softmax head.
    raw = (g.rand(40, 4) * [10, 1, 100, 5]).astype(np.float32)
    model = keras.Sequential([
        keras.Input((4,)),
        layers.Rescaling(0.5, offset=-1.0),
        layers.Normalization(),
        layers.Dense(3, activation="softmax"),
    ])
    model.layers[1].adapt(model.layers[0](raw))
    x = raw[:8]
    cases["adapt_mlp"] = record("adapt_mlp", model, x, adapt=raw)
    model.save(os.path.join(HERE, "preprocessing.keras"))
    model.save_weights(os.path.join(HERE, "preprocessing.weights.h5"))
    reloaded = keras.saving.load_model(os.path.join(HERE, "preprocessing.keras"))
    assert np.array_equal(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))

    # 2. Fixed mean/variance and per-feature Rescaling between two Dense layers: the gradient
    #    flows back through both.
    x = g.normal(0, 1, (16, 3)).astype(np.float32)
    y = (x.sum(1) > 0).astype(np.float32).reshape(-1, 1)
    model = keras.Sequential([
        keras.Input((3,)),
        layers.Dense(4, activation="tanh"),
        layers.Normalization(mean=[0.1, -0.2, 0.0, 0.3], variance=[0.5, 2.0, 1.0, 0.25]),
        layers.Rescaling([2.0, 0.5, 1.0, -1.5], offset=0.1),
        layers.Dense(1, activation="sigmoid"),
    ])
    cases["fixed_between_dense"] = record("fixed_between_dense", model, x, y,
                                          "binary_crossentropy")

    # 3. invert=True with scalar mean and variance, on a regression head.
    x = g.normal(0, 1, (12, 2)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0]], np.float32)
    model = keras.Sequential([
        keras.Input((2,)),
        layers.Dense(3, activation="relu"),
        layers.Normalization(mean=1.5, variance=4.0, invert=True),
        layers.Dense(1),
    ])
    cases["invert_scalar"] = record("invert_scalar", model, x, y, "mean_squared_error")

    # 4. Images: Rescaling(1/16) and a per-channel adapted Normalization.
    raw = np.floor(g.rand(24, 4, 4, 2) * 17).astype(np.float32)
    model = keras.Sequential([
        keras.Input((4, 4, 2)),
        layers.Rescaling(1.0 / 16),
        layers.Normalization(axis=-1),
        layers.Flatten(),
        layers.Dense(2, activation="softmax"),
    ])
    model.layers[1].adapt(model.layers[0](raw))
    cases["adapt_image"] = record("adapt_image", model, raw[:6], adapt=raw)

    out = {
        "made_by": f"tools/make_preprocessing_golden.py, Keras {keras.__version__}, backend "
                   f"{keras.backend.backend()}, float32",
        "conventions": "Rescaling: x * scale + offset (float32, multiply then add). "
                       "Normalization: (x - mean) / max(sqrt(variance), 1e-7); invert: "
                       "mean + x * max(sqrt(variance), 1e-7). adapt(): population mean and "
                       "variance of the rows that reach the layer, per feature of the last "
                       "axis; count stays 0. Weights flat, in get_weights() order.",
        "cases": cases,
    }
    with open(os.path.join(HERE, "preprocessing.json"), "w") as f:
        json.dump(r9(out), f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
