"""CPU time of the bug_report duplicate scorer per report, on a labelled file's reports.

    python benchmarks/dedup_scoring_cpu.py [--file examples/bug_reports.jsonl] [--repeat 3]
        [--batch 64]

Embeds the file's reports once (batches of 64, the worker's model), then scores them through
``DedupScorer`` with the ``hybrid`` profile as the infer stage does (a batch of ``--batch``
against everything indexed so far plus the batch's earlier reports, then index it); ``--batch``
0 scores the whole file as one batch (a GPU-sized batch on the dev set). ``--repeat`` times
from an empty index, and prints the process CPU time of ``score`` per report for each pass.
CPU time, not wall time, so that two trees compared on a loaded machine are comparable; run it
with one BLAS thread (``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1``) and alternate the trees
(``PYTHONPATH=<other checkout>``) in one session.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from inferstream.bench.bare import embedder
from inferstream.cli.eval_cmd import load_reports
from inferstream.tasks.bug_report.dedup import HYBRID, DedupScorer, ReportFeatures
from inferstream.tasks.bug_report.dedup import evaluation as ev
from inferstream.tasks.bug_report.quality import canonical_text

BATCH = 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=Path("examples/bug_reports.jsonl"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=BATCH)
    args = parser.parse_args()
    reports, _ = load_reports(args.file)
    model = embedder(BATCH)
    texts = [canonical_text(payload) for _, payload in reports]
    vectors = [v for i in range(0, len(texts), BATCH) for v in model.embed(texts[i : i + BATCH])]
    features = [
        ev.features(sid, payload, vector)
        for (sid, payload), vector in zip(reports, vectors, strict=True)
    ]
    size = args.batch if args.batch > 0 else len(features)
    passes = [_pass(features, size) for _ in range(args.repeat)]
    print(
        f"dedup scoring ({HYBRID.name} {HYBRID.version}, {len(features)} reports, batches of "
        f"{size}): CPU us/report " + " ".join(f"{us:.0f}" for us in passes)
    )


def _pass(features: list[ReportFeatures], size: int) -> float:
    scorer = DedupScorer(HYBRID, features[0].vector.shape[0])
    spent = 0.0
    for i in range(0, len(features), size):
        batch = features[i : i + size]
        started = time.process_time()
        scorer.score(batch)
        spent += time.process_time() - started
        scorer.add(batch)
    return 1e6 * spent / len(features)


if __name__ == "__main__":
    main()
