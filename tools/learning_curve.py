#!/usr/bin/env python3
"""Draws a learning curve (loss and accuracy per epoch, training and validation) from a History
CSV written by seqnet (`History::write_csv`, Keras' CSVLogger layout), as an SVG.

    cargo run --release --example seed_pipeline -- --history docs/history.csv
    python3 tools/learning_curve.py docs/history.csv docs/learning_curve.svg

Optional helper: needs matplotlib (`pip install matplotlib`); nothing in the build or the tests
uses it.
"""
import csv
import sys

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src: str, dst: str) -> None:
    with open(src, newline="") as f:
        rows = list(csv.DictReader(f))
    epochs = [int(r["epoch"]) + 1 for r in rows]
    names = [n for n in rows[0] if n != "epoch"]
    base = [n for n in names if not n.startswith("val_")]
    fig, axes = plt.subplots(1, len(base), figsize=(5 * len(base), 3.6))
    if len(base) == 1:
        axes = [axes]
    for ax, name in zip(axes, base):
        ax.plot(epochs, [float(r[name]) for r in rows], marker="o", label=name)
        if "val_" + name in rows[0]:
            ax.plot(epochs, [float(r["val_" + name]) for r in rows], marker="s",
                    label="val_" + name)
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("seqnet: the Keras tutorial's model (seed_pipeline)")
    fig.tight_layout()
    plt.rcParams["svg.hashsalt"] = "seqnet"  # stable ids, so a re-run gives the same file
    fig.savefig(dst, metadata={"Date": None})


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: learning_curve.py HISTORY.csv OUT.svg")
    main(sys.argv[1], sys.argv[2])
