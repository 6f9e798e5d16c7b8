"""Checks that Keras 3 loads a `.weights.h5` written by seqnet (optional, outside CI).

    python3 -m venv /tmp/kenv && /tmp/kenv/bin/pip install keras jax jaxlib h5py numpy
    cargo run --release --features keras --example keras_roundtrip   # writes /tmp/seed_model.weights.h5
    KERAS_BACKEND=jax /tmp/kenv/bin/python tools/keras_loads_seqnet_weights.py /tmp/seed_model.weights.h5

It builds the tutorial model from the reference `.keras` file's config, loads seqnet's weights
with Keras' own `model.load_weights`, and prints Keras' predictions on the reference rows, to
set beside the "after training" line the example printed.
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
import numpy as np  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
reference = os.path.join(here, "..", "..", "shared", "reference")
weights = sys.argv[1] if len(sys.argv) > 1 else "/tmp/seed_model.weights.h5"

model = keras.saving.load_model(os.path.join(reference, "seed_model.keras"), compile=False)
model.load_weights(weights)
rows = json.load(open(os.path.join(reference, "seed_model_predictions.json")))["inputs"]["values"]
p = model.predict(np.asarray(rows, dtype=np.float32), verbose=0)[:, 0]
print("keras", keras.__version__, "backend", keras.backend.backend())
print("Keras predicts from seqnet's file:", [float(v) for v in p])
