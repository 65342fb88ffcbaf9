"""The indexed reports' vectors and labels, by row (scoring.py's memory of what it has seen).

Rows are numbered in the order reports are added; a vector is a row of one float32 matrix and
a report's product and component are integer codes (the case-folded label's, -1 for an empty
one, which matches nothing). So a call's candidates are gathered with one fancy index each, not
a dict look-up and a tuple per candidate. Append-only: a snapshot (array, count) taken under the
lock stays valid while later adds grow the arrays (a grown array is a new one).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from itertools import repeat
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from inferstream.tasks.bug_report.dedup.arrays import Grown

if TYPE_CHECKING:
    from inferstream.tasks.bug_report.dedup.scoring import ReportFeatures

Ints = npt.NDArray[np.int64]


class ReportStore:
    """Thread-safe: add() and the look-ups may run from different threads."""

    def __init__(self, dim: int) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, int] = {}
        self._ids: list[str] = []  # row -> id
        self._vectors = Grown(np.float32, row_shape=(dim,))
        self._labels = Grown(np.int64, row_shape=(2,))  # (product, component) codes
        self._codes: dict[str, int] = {"": -1}

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)

    def __contains__(self, item: object) -> bool:
        with self._lock:
            return item in self._rows

    def add(self, reports: Sequence[ReportFeatures]) -> list[ReportFeatures]:
        """Store the reports not stored yet (a repeated id once, its last version, at its first
        position); returns them in that order."""
        with self._lock:
            new = {r.submission_id: r for r in reports if r.submission_id not in self._rows}
            unique = list(new.values())
            if not unique:
                return []
            vectors = np.stack([r.vector for r in unique]).astype(np.float32, copy=False)
            if not np.isfinite(vectors).all():
                # The index refuses it too, but only after this store has the row: refused
                # here, before anything is stored, faiss labels stay store rows.
                raise ValueError("a report's vector is not finite (NaN or infinity)")
            first = len(self._rows)
            for n, report in enumerate(unique):
                self._rows[report.submission_id] = first + n
                self._ids.append(report.submission_id)
            self._vectors.extend(vectors)
            self._labels.extend(self._codes_of(unique))
            return unique

    def labels(self, reports: Sequence[ReportFeatures]) -> Ints:
        """(product, component) codes of reports, stored or not: shape (len(reports), 2)."""
        with self._lock:
            return self._codes_of(reports)

    def lookup(self, ids: Sequence[str]) -> tuple[Ints, npt.NDArray[np.float32], Ints]:
        """Each id's row (-1 if not stored), and the vectors and labels arrays those rows index
        (a snapshot: rows past the ones returned may be unset)."""
        with self._lock:
            rows = np.fromiter(map(self._rows.get, ids, repeat(-1)), dtype=np.int64, count=len(ids))
            return rows, self._vectors.data, self._labels.data

    def arrays(self) -> tuple[list[str], npt.NDArray[np.float32], Ints]:
        """The ids by row, and the vectors and labels arrays by row (a snapshot: append-only,
        so every row stored by now stays readable in them)."""
        with self._lock:
            return self._ids, self._vectors.data, self._labels.data

    def _codes_of(self, reports: Sequence[ReportFeatures]) -> Ints:
        codes = self._codes

        def code(label: str) -> int:
            return codes.setdefault(label.casefold(), len(codes) - 1)

        flat = [code(label) for r in reports for label in (r.product, r.component)]
        return np.array(flat, dtype=np.int64).reshape(-1, 2)
