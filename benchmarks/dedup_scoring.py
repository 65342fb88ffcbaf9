"""The bug_report duplicate scorer's cost per report against the model's, in one run.

    python benchmarks/dedup_scoring.py [--texts 3000] [--batch 64] [--warm 1000]

Embeds the benchmark's bug reports with the infer worker's model (batches of ``--batch``, the
worker's default call layout: this is the baseline), then replays them through ``DedupScorer``
as the infer worker does (score a batch against everything indexed so far plus the earlier
reports of the batch, then index it). Times the scoring of the reports after the first
``--warm`` (an index that already holds history) and prints ms per report for both and their
ratio, with a digest of every decision and candidate feature: two versions of the scorer that
print the same digest decided the same on these reports.
"""

from __future__ import annotations

import argparse
import hashlib
import time

import orjson

from inferstream.bench import workload
from inferstream.bench.bare import embedder
from inferstream.schemas import BugReportPayload
from inferstream.tasks.bug_report.dedup import (
    Decision,
    DedupScorer,
    ReportFeatures,
    get_profile,
    term_frequencies,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--warm", type=int, default=1000, help="reports indexed before timing")
    parser.add_argument("--profile", default="hybrid")
    args = parser.parse_args()
    payloads = [BugReportPayload.model_validate(p) for p in workload.payloads(args.texts)]
    texts = workload.texts(args.texts)
    model = embedder(args.batch)
    model.embed(texts[: args.batch])  # warm-up
    started = time.perf_counter()
    vectors = [
        v for i in range(0, len(texts), args.batch) for v in model.embed(texts[i : i + args.batch])
    ]
    model_s = time.perf_counter() - started
    reports = [
        ReportFeatures(
            f"r{n:06d}",
            vectors[n],
            term_frequencies(p.title, p.description, p.steps_to_reproduce),
            p.product,
            p.component,
        )
        for n, p in enumerate(payloads)
    ]
    scorer = DedupScorer(get_profile(args.profile), model.dim)
    digest = hashlib.sha256()
    timed_s, timed = 0.0, 0
    for i in range(0, len(reports), args.batch):
        batch = reports[i : i + args.batch]
        started = time.perf_counter()
        decisions = scorer.score(batch)
        if i >= args.warm:
            timed_s += time.perf_counter() - started
            timed += len(batch)
        digest.update(_canonical(decisions))
        scorer.add(batch)
    model_ms = 1000 * model_s / len(texts)
    score_ms = 1000 * timed_s / max(1, timed)
    print(f"| model (batch {args.batch}, {len(texts)} texts) | {model_ms:.2f} ms/text | 1.00 |")
    print(
        f"| dedup scoring ({args.profile}, {timed} reports after {args.warm}) "
        f"| {score_ms:.2f} ms/report | {score_ms / model_ms:.3f} |"
    )
    print(f"decisions digest: {digest.hexdigest()[:16]}")


def _canonical(decisions: list[Decision]) -> bytes:
    return orjson.dumps(
        [
            [
                d.verdict.status,
                d.verdict.duplicate_of,
                [
                    (c.submission_id, c.cosine, c.lexical, c.same_product, c.score)
                    for c in d.candidates
                ],
            ]
            for d in decisions
        ]
    )


if __name__ == "__main__":
    main()
