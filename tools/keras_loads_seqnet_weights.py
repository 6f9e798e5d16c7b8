"""Checks that Keras 3 loads a `.weights.h5` written by seqnet (optional, outside CI).

    python3 -m venv /tmp/kenv && /tmp/kenv/bin/pip install keras jax jaxlib h5py numpy
    cargo run --release --features keras --example keras_roundtrip   # writes /tmp/seed_model.weights.h5
    KERAS_BACKEND=jax /tmp/kenv/bin/python tools/keras_loads_seqnet_weights.py /tmp/seed_model.weights.h5
    KERAS_BACKEND=jax /tmp/kenv/bin/python tools/keras_loads_seqnet_weights.py --int8   # the quantized file

It builds the tutorial model from the reference `.keras` file's config, loads seqnet's weights
with Keras' own `model.load_weights`, and prints Keras' predictions on the reference rows, to
set beside the "after training" line the example printed (with `--int8`: the quantized model's
file, Keras quantizing its own model first, beside the "int8" line).
"""
import json
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
import numpy as np  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
reference = os.path.join(here, "..", "..", "shared", "reference")
# `--int8 FILE`: a file seqnet wrote after `quantize("int8")`, which Keras reads after its own.
int8 = "--int8" in sys.argv
args = [a for a in sys.argv[1:] if a != "--int8"]
default = "/tmp/seed_model_int8.weights.h5" if int8 else "/tmp/seed_model.weights.h5"
weights = args[0] if args else default

model = keras.saving.load_model(os.path.join(reference, "seed_model.keras"), compile=False)
if int8:
    model.quantize("int8")
model.load_weights(weights)
rows = json.load(open(os.path.join(reference, "seed_model_predictions.json")))["inputs"]["values"]
p = model.predict(np.asarray(rows, dtype=np.float32), verbose=0)[:, 0]
print("keras", keras.__version__, "backend", keras.backend.backend())
print("Keras predicts from seqnet's file:", [float(v) for v in p])
