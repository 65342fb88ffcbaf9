"""The first run of a fresh ONNX Runtime session against the next one, on the churn graph:
what a hot-reloaded version would add to its first served batch if it were not warmed at load.

    python benchmarks/model_first_run.py [--sessions 20] [--batch 64]

Trains a small churn bundle (2,000 rows) into a temporary directory, then for each of
``--sessions`` fresh sessions times its first and second run on the same batch of
``--batch`` rows, and prints the medians. Both are measured in the same process, one after the
other, so the ratio holds on a loaded machine where the absolute times do not.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from inferstream.models.tabular import TabularModel, load_tabular_bundle
from inferstream.tasks.churn.features import FEATURE_NAMES
from inferstream.training import churn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="first-run-"))
    churn.train(directory, rows=2000)
    bundle = load_tabular_bundle(directory, "churn-logreg", "churn")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, len(FEATURE_NAMES))).astype(np.float32)
    firsts: list[float] = []
    seconds: list[float] = []
    for _ in range(args.sessions):
        model = TabularModel(bundle)
        for times in (firsts, seconds):
            started = time.perf_counter()
            model.run("classifier", x)
            times.append(time.perf_counter() - started)
    first, second = float(np.median(firsts)) * 1000, float(np.median(seconds)) * 1000
    print(
        f"median of {args.sessions} fresh sessions, batch {args.batch}: first run "
        f"{first:.3f} ms, second {second:.3f} ms ({first / second:.1f}x)"
    )


if __name__ == "__main__":
    main()
