"""A report's ranked candidates and its verdict (scoring.py builds them for a whole call).

The infer stage lists only the top few candidates of each report, while a call ranks up to
3 x candidates_k of them per report: building a named tuple for every one cost ~15 % of the
scorer's CPU (and fed Python's garbage collector thousands of tuples per batch). So a call's
candidates stay flat columns in rank order, shared by its decisions, and a Decision builds its
Candidate tuples only when asked (``head(n)`` for the first n, ``candidates`` for all).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from inferstream.tasks.bug_report.dedup.verdicts import Verdict


class Candidate(NamedTuple):
    """One candidate's features and score."""

    submission_id: str
    cosine: float
    lexical: float
    same_product: bool
    same_component: bool
    score: float


@dataclass(frozen=True)
class Columns:
    """A call's candidates, report after report, each report's best score first: column n of
    every list is one candidate."""

    ids: Sequence[str]
    cosine: Sequence[float]
    lexical: Sequence[float]
    same_product: Sequence[bool]
    same_component: Sequence[bool]
    score: Sequence[float]

    def rows(self, start: int, stop: int) -> tuple[Candidate, ...]:
        cut = slice(start, stop)
        return tuple(
            map(
                Candidate._make,
                zip(
                    self.ids[cut],
                    self.cosine[cut],
                    self.lexical[cut],
                    self.same_product[cut],
                    self.same_component[cut],
                    self.score[cut],
                    strict=True,
                ),
            )
        )


class Decision:
    """A report's verdict and every candidate considered, best score first."""

    __slots__ = ("_built", "_columns", "_start", "_stop", "verdict")

    def __init__(
        self,
        verdict: Verdict,
        candidates: Sequence[Candidate] = (),
        *,
        columns: Columns | None = None,
        span: tuple[int, int] = (0, 0),
    ) -> None:
        self.verdict = verdict
        self._columns = columns
        self._start, self._stop = span
        self._built: tuple[Candidate, ...] | None = (
            None if columns is not None else tuple(candidates)
        )

    @property
    def candidates(self) -> tuple[Candidate, ...]:
        if self._built is None:
            assert self._columns is not None  # set whenever _built is not
            self._built = self._columns.rows(self._start, self._stop)
        return self._built

    def head(self, n: int) -> tuple[Candidate, ...]:
        """The n best candidates (fewer if there are fewer), without building the others."""
        if self._built is not None or self._columns is None:
            return self.candidates[:n]
        return self._columns.rows(self._start, min(self._stop, self._start + n))

    def cosines(self, n: int) -> list[float]:
        """The cosines of the n best candidates (fewer if there are fewer): a slice of the
        shared column, without a Candidate tuple per candidate (``head`` built them: ~4 us per
        result in the infer stage, which reads only these)."""
        if self._built is not None or self._columns is None:
            return [c.cosine for c in self.candidates[:n]]
        return list(self._columns.cosine[self._start : min(self._stop, self._start + n)])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Decision):
            return NotImplemented
        return self.verdict == other.verdict and self.candidates == other.candidates

    __hash__ = None  # type: ignore[assignment]  # mutable cache: not hashable, like a dataclass

    def __repr__(self) -> str:
        return f"Decision(verdict={self.verdict!r}, candidates={self.candidates!r})"
