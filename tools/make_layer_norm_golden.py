#!/usr/bin/env python3
"""Keras reference values for LayerNormalization (tests/layer_normalization.rs).

Run once, outside CI (Keras 3.15.1 with the JAX backend on CPU, float32), as
tools/make_preprocessing_golden.py says:

    KERAS_BACKEND=jax /tmp/kvenv/bin/python tools/make_layer_norm_golden.py

Writes tests/reference/layer_norm.json in golden_seq.json's layout (x, y, loss_name, weights,
predict, steps): two models with drawn gamma and beta, their inputs and labels, Keras'
predict(), and three Adam(0.01) train_on_batch steps (the loss each returned and every weight
after it), so that one test helper reads both files. Inputs from numpy's RandomState(13); weights from set_random_seed(9).
"""
import json
import os
import sys

sys.dont_write_bytecode = True
os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

from make_preprocessing_golden import r9  # noqa: E402  (rounding to 9 significant digits)

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference")


def case(model, x, y, loss, g):
    # Drawn gamma and beta, so that the scale and the offset both matter.
    for layer in model.layers:
        if isinstance(layer, layers.LayerNormalization):
            layer.set_weights([g.uniform(0.5, 1.5, w.shape).astype(np.float32)
                               if "gamma" in w.path else
                               g.uniform(-0.5, 0.5, w.shape).astype(np.float32)
                               for w in layer.weights])
    out = {
        "layers": [{"class_name": l.__class__.__name__,
                    "config": {k: v for k, v in l.get_config().items()
                               if k in ("axis", "epsilon", "center", "scale", "units",
                                        "activation")}}
                   for l in model.layers],
        "weights": [np.asarray(w).ravel() for w in model.get_weights()],
        "x": x, "y": y, "loss_name": loss,
        "predict": model.predict(x, verbose=0),
        "steps": [],
    }
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss)
    for _ in range(3):
        l = float(model.train_on_batch(x, y))
        out["steps"].append({"loss": l,
                             "weights": [np.asarray(w).ravel() for w in model.get_weights()]})
    return out


def main():
    keras.utils.set_random_seed(9)
    g = np.random.RandomState(13)
    cases = {}
    x = g.normal(0, 2, (12, 5)).astype(np.float32)
    y = g.randint(0, 3, 12).astype(np.float32)
    model = keras.Sequential([
        keras.Input((5,)),
        layers.Dense(6, activation="tanh"),
        layers.LayerNormalization(),
        layers.Dense(3, activation="softmax"),
    ])
    cases["dense_layernorm"] = case(model, x, y, "sparse_categorical_crossentropy", g)

    x = g.normal(1, 3, (10, 4, 3)).astype(np.float32)
    y = (x.sum((1, 2)) > 12).astype(np.float32).reshape(-1, 1)
    model = keras.Sequential([
        keras.Input((4, 3)),
        layers.LayerNormalization(epsilon=1e-2, center=False),
        layers.Flatten(),
        layers.Dense(1, activation="sigmoid"),
    ])
    cases["sequence_no_center"] = case(model, x, y, "binary_crossentropy", g)

    out = {"made_by": f"tools/make_layer_norm_golden.py, Keras {keras.__version__}, backend "
                      f"{keras.backend.backend()}, float32",
           "cases": cases}
    with open(os.path.join(HERE, "layer_norm.json"), "w") as f:
        json.dump(r9(out), f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
