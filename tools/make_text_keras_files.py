#!/usr/bin/env python3
"""Keras files of a masked text model, for tests/keras_files_text.rs.

Run once, outside CI (Keras 3.15.1 with the JAX backend on CPU, float32):

    python3 -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install keras==3.15.1 "jax[cpu]" h5py numpy
    KERAS_BACKEND=jax /tmp/kvenv/bin/python tools/make_text_keras_files.py

Writes, under tests/reference/:
  text.keras, text.weights.h5  Input(12 ids) -> Embedding(40, 8, mask_zero) -> Dense(8, relu)
                               per step -> LayerNormalization -> Dropout -> GlobalAveragePooling1D
                               -> Dense(3, softmax), trained by Keras for three epochs
  text.json                    its input ids (front-padded with 0) and Keras' predict() on them
Ids are drawn from numpy's RandomState(3); weights from keras.utils.set_random_seed(7).
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


def main():
    keras.utils.set_random_seed(7)
    g = np.random.RandomState(3)
    n, t, vocab = 64, 12, 40
    x = g.randint(1, vocab, size=(n, t)).astype("int32")
    for row, pad in zip(x, g.randint(0, t - 1, size=n)):
        row[:pad] = 0  # Keras' pad_sequences pads at the front
    y = (x.sum(axis=1) % 3).astype("int32")
    model = keras.Sequential([
        keras.Input(shape=(t,), dtype="int32"),
        layers.Embedding(vocab, 8, mask_zero=True),
        layers.Dense(8, activation="relu"),
        layers.LayerNormalization(),
        layers.Dropout(0.2),
        layers.GlobalAveragePooling1D(),
        layers.Dense(3, activation="softmax"),
    ], name="text")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    model.save(os.path.join(HERE, "text.keras"))
    model.save_weights(os.path.join(HERE, "text.weights.h5"))
    out = {
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "x": x.tolist(),
        "predict": [[float(f"{v:.9g}") for v in row] for row in model.predict(x, verbose=0).tolist()],
    }
    with open(os.path.join(HERE, "text.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
