"""The lexical index's calls of an infer stage run, captured and replayed through two trees' dedup
modules side by side in one process: the CPU of ``add``, ``candidate_keys`` and
``similarities_by_key`` per record, and whether every result is byte-equal.

    python benchmarks/lexical_replay.py capture calls.pkl [infer_stage_cpu.py's options]
    python benchmarks/lexical_replay.py compare calls.pkl OLD_TREE NEW_TREE [--rounds 4]

``capture`` runs ``benchmarks/infer_stage_cpu.py`` (pass ``--repeat 1``) and pickles every
``LexicalIndex`` call of its last pass with its arguments. ``compare`` copies each tree's
``inferstream/tasks/bug_report/dedup`` under its own package name (its absolute imports
renamed), replays the calls into one index per tree, call by call, alternating which tree goes
first each round, and prints per kind the sum over calls of each call's minimum CPU time across
rounds (a few microseconds per record resolve at a load where whole runs do not), in us per
record. Run it with one BLAS thread (``OMP_NUM_THREADS=1``).
"""

from __future__ import annotations

import argparse
import importlib
import pickle
import runpy
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DEDUP = "inferstream.tasks.bug_report.dedup"
HERE = Path(__file__).resolve().parent


def capture(out: Path, stage_args: list[str]) -> None:
    from inferstream.tasks.bug_report.dedup import lexical

    calls: list[tuple[Any, ...]] = []
    index = lexical.LexicalIndex
    add, keys, sims = index.add, index.candidate_keys, index.similarities_by_key
    # One copy per term map object (the map kept, so its id is not reused): the scorer hands
    # the same maps to a batch's three calls, and the index skips its vocabulary look-up when
    # a call's maps are the last call's objects. A copy per call made the replay look every
    # batch up three times where the stage looks it up once.
    copies: dict[int, tuple[Any, dict[str, int]]] = {}

    def copied(terms: Any) -> dict[str, int]:
        if id(terms) not in copies:
            copies[id(terms)] = (terms, dict(terms))
        return copies[id(terms)][1]

    def add_(self: Any, entries: Any, keys_: Any = None) -> int:
        entries = list(entries)
        keys_ = None if keys_ is None else list(keys_)
        calls.append(("add", [(i, copied(t)) for i, t in entries], keys_))
        return add(self, entries, keys_)

    def keys_of(self: Any, queries: Any, k: int) -> Any:
        calls.append(("candidate_keys", [copied(q) for q in queries], k))
        return keys(self, queries, k)

    def sims_of(self: Any, batch: Any, *arrays: Any) -> Any:
        calls.append(("similarities_by_key", [copied(q) for q in batch], *map(np.copy, arrays)))
        return sims(self, batch, *arrays)

    index.add, index.candidate_keys, index.similarities_by_key = add_, keys_of, sims_of  # type: ignore[method-assign,assignment]
    sys.argv = [str(HERE / "infer_stage_cpu.py"), *stage_args]
    runpy.run_path(sys.argv[0], run_name="__main__")
    out.write_bytes(pickle.dumps(calls))
    print(f"{len(calls)} calls -> {out}")


def _package(tree: Path, name: str, into: Path) -> Any:
    """The tree's dedup modules as package ``name`` under ``into``."""
    target = into / name
    target.mkdir()
    for source in (tree / DEDUP.replace(".", "/")).glob("*.py"):
        (target / source.name).write_text(source.read_text().replace(DEDUP, name))
    return importlib.import_module(f"{name}.lexical")


def compare(path: Path, old: Path, new: Path, rounds: int) -> None:
    calls = pickle.loads(path.read_bytes())  # noqa: S301 (a file capture wrote)
    records = sum(len(c[1]) for c in calls if c[0] == "candidate_keys")
    with tempfile.TemporaryDirectory() as tmp:
        sys.path.insert(0, tmp)
        trees = {
            "old": _package(old, "dedup_old", Path(tmp)),
            "new": _package(new, "dedup_new", Path(tmp)),
        }
        spent = {name: np.full((rounds, len(calls)), np.inf) for name in trees}
        for r in range(rounds):
            indexes = {name: module.LexicalIndex() for name, module in trees.items()}
            order = list(trees) if r % 2 == 0 else list(trees)[::-1]
            for at, (kind, *args) in enumerate(calls):
                results = {}
                for name in order:
                    started = time.process_time()
                    results[name] = getattr(indexes[name], kind)(*args)
                    spent[name][r, at] = time.process_time() - started
                if r == 0 and _digest(results["old"]) != _digest(results["new"]):
                    print(f"call {at} ({kind}): results differ")
    for name, times in spent.items():
        best = times.min(axis=0)
        per_kind = {
            kind: 1e6
            * sum(t for (k, *_), t in zip(calls, best, strict=True) if k == kind)
            / records
            for kind in ("add", "candidate_keys", "similarities_by_key")
        }
        print(name, " ".join(f"{k} {v:.2f}" for k, v in per_kind.items()), "us per record")


def _digest(result: Any) -> bytes:
    parts = result if isinstance(result, tuple) else (result,)
    return b"".join(np.asarray(p).tobytes() for p in parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cap = sub.add_parser("capture")
    cap.add_argument("out", type=Path)
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("calls", type=Path)
    cmp_.add_argument("old", type=Path)
    cmp_.add_argument("new", type=Path)
    cmp_.add_argument("--rounds", type=int, default=4)
    args, rest = parser.parse_known_args()
    if args.command == "capture":
        capture(args.out, rest)
    else:
        compare(args.calls, args.old, args.new, args.rounds)


if __name__ == "__main__":
    main()
