"""Memory the bug_report duplicate scorer keeps per indexed report, at a few index sizes.

    python benchmarks/dedup_memory.py [--reports 567,5000,20000]

Indexes the example bug reports (cycled and lightly reworded past 567, as the benchmarks'
workload does) into a fresh ``DedupScorer`` in batches of 64, as the infer stage does, and
prints what it then holds: the bytes Python and numpy allocated and still hold (tracemalloc,
the inputs freed first), split into the report store's arrays, the lexical index's arrays and
postings, and the rest (dicts and lists of ids, the vocabulary), plus faiss' own copy of the
vectors (C++ memory that tracemalloc does not see: 4 x dim bytes per vector in its flat index,
more past its HNSW threshold). The arrays are shown as used and as allocated: they double their
capacity when full, so up to half of an array can be spare. The vectors are random unit vectors
of the model's size (their values do not change the memory); the term maps are the reports' own.
Cycled reports repeat the examples' vocabulary, so past 567 the vocabulary (and the postings of
terms that would stay rare in real data) are smaller than in a real stream.
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc

import numpy as np

from inferstream.bench import workload
from inferstream.schemas import BugReportPayload
from inferstream.tasks.bug_report.dedup import (
    DedupScorer,
    ReportFeatures,
    get_profile,
    term_frequencies,
)

DIM = 384
BATCH = 64


def reports(n: int) -> list[ReportFeatures]:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    payloads = [BugReportPayload.model_validate(p) for p in workload.payloads(n)]
    return [
        ReportFeatures(
            f"{n:08d}-0000-4000-8000-{i:012d}",  # a submission id's length (36)
            vectors[i],
            term_frequencies(p.title, p.description, p.steps_to_reproduce),
            p.product,
            p.component,
        )
        for i, p in enumerate(payloads)
    ]


def _nbytes(arrays: list[np.ndarray], used: list[int]) -> tuple[int, int]:
    """(bytes in use, bytes allocated) of grown arrays."""
    in_use = sum(a[:u].nbytes for a, u in zip(arrays, used, strict=True))
    return in_use, sum(a.nbytes for a in arrays)


def measure(n: int) -> dict[str, float]:
    reports(n)  # warm what is cached or built once: the workload's payloads, the tokenizer's
    gc.collect()
    tracemalloc.start()
    inputs = reports(n)
    scorer = DedupScorer(get_profile("hybrid"), DIM)
    for start in range(0, n, BATCH):
        scorer.add(inputs[start : start + BATCH])
    entries = sum(len(r.terms) for r in inputs)
    del inputs
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    store, lexical = scorer.store, scorer.lexical
    grown = [store._vectors, store._labels]  # the private arrays: what is measured
    store_use, store_alloc = _nbytes([g.data for g in grown], [g.used for g in grown])
    lex = [
        lexical._df,
        lexical._run_start,
        lexical._run_length,
        lexical._term,
        lexical._log_tf,
        lexical._within,
        lexical._key,
        lexical._doc_of_key,
    ]
    lex_use, lex_alloc = _nbytes([g.data for g in lex], [g.used for g in lex])
    # The postings: term-sorted runs of plain arrays, each used whole.
    runs = [a for run in lexical._postings.runs for a in (run.terms, run.starts, run.docs)]
    lex_use += sum(a.nbytes for a in runs)
    lex_alloc += sum(a.nbytes for a in runs)
    return {
        "reports": n,
        "terms per report": entries / n,
        "held (tracemalloc)": held / n,
        "store arrays, used": store_use / n,
        "store arrays, allocated": store_alloc / n,
        "lexical arrays, used": lex_use / n,
        "lexical arrays, allocated": lex_alloc / n,
        "the rest (dicts, lists, ids, vocabulary)": (held - store_alloc - lex_alloc) / n,
        "faiss flat copy (not traced)": 4 * DIM,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", default="567,5000,20000")
    args = parser.parse_args()
    rows = [measure(int(n)) for n in args.reports.split(",")]
    print("bytes per indexed report | " + " | ".join(str(int(r["reports"])) for r in rows))
    for key in rows[0]:
        if key != "reports":
            print(f"{key} | " + " | ".join(f"{r[key]:,.0f}" for r in rows))


if __name__ == "__main__":
    main()
