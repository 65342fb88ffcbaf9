"""A bug report's terms for lexical similarity: tokens (case-folded, stop words out, a light
stem) and their counts over title, description and steps.

What the infer stage computes per report and the result carries (``dedup_terms``); the index
(lexical.py) only ever sees these maps, so the two change independently.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Mapping
from itertools import compress, repeat
from operator import is_

Terms = Mapping[str, int]

TITLE_WEIGHT = 2  # title terms count twice: the title is the densest statement of the bug
MIN_TOKEN = 2
MAX_TOKEN = 64  # longer runs are hashes or ids, noise for similarity
MAX_TERMS = 400  # a report's most frequent terms kept (bounds the stored jsonb and the wire)

STOPWORDS = frozenset(
    {
        "a",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "each",
        "even",
        "few",
        "for",
        "from",
        "further",
        "get",
        "gets",
        "getting",
        "got",
        "had",
        "has",
        "have",
        "here",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "it's",
        "its",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "not",
        "now",
        "of",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "own",
        "same",
        "should",
        "so",
        "some",
        "still",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "too",
        "up",
        "us",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "why",
        "will",
        "with",
        "would",
        "yes",
        "you",
        "your",
    }
)


def _stem(token: str) -> str:
    """A light suffix strip (plurals, -ing, -ed): "crashes", "crashing", "crashed" -> "crash"."""
    if token.isdigit() or len(token) <= 4:
        return token
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            stem = token[: -len(suffix)] + keep
            if suffix == "s" and token.endswith("ss"):
                return token
            return stem
    return token


def tokenize(text: str) -> list[str]:
    """The text's terms in order (see ``_term_of``), looked up in a memo: a report's words mostly
    recur (the per-token checks and stem were ~15 % of the infer stage's CPU). The memo is a
    plain dict read by C-level ``map`` and ``filter`` (an lru_cache call per token, and a
    Python step per token to drop the stop words, were ~2 % of the stage); it stops growing at
    MEMO_SIZE tokens, so ids and hashes that never recur cannot grow it.

    The tokens are the matches of ``[a-z0-9][a-z0-9_]*``, found without the regex engine
    (``_runs``): each run of [a-z0-9_] is one match once its leading underscores are dropped
    (the memo keys on the run; a run of underscores only is no token). ``findall`` was a third
    of the tokenizing."""
    runs = _runs(text)
    missing = set(runs).difference(_MEMO)
    if missing:
        found = {run: _term_of(run) for run in missing}
        if len(_MEMO) + len(found) > MEMO_SIZE:  # full: these are looked up here only
            terms = (found[run] if run in found else _MEMO[run] for run in runs)
            return [term for term in terms if term]
        _MEMO.update(found)  # runs are only ever added: a key seen stays
    # filter(None) drops the runs that are no term ("").
    return list(filter(None, map(_MEMO.__getitem__, runs)))


MEMO_SIZE = 1 << 16
_MEMO: dict[bytes, str] = {}  # run -> its term, "" for a run that is none
_WORD = b"abcdefghijklmnopqrstuvwxyz0123456789_"
_WORD_BYTES = bytes(c if c in _WORD else ord(" ") for c in range(256))
# The same on ASCII text that is not folded yet: A-Z as a-z (what casefold does to ASCII).
_ASCII_WORD_BYTES = bytes(
    c + 32 if ord("A") <= c <= ord("Z") else c if c in _WORD else ord(" ") for c in range(256)
)
# What the counting reads for a run not in the memo yet: never a term (terms are [a-z0-9_]).
_UNSEEN = "\x00"


def _runs(text: str) -> list[bytes]:
    """The text's runs of [a-z0-9_] after NFKC and case folding: every other character (a
    non-ASCII one too: it is encoded as "?") becomes a space, and the rest split on spaces.
    An ASCII text takes one ``translate`` (NFKC leaves ASCII as it is and case folding only
    lowers A-Z) instead of ``normalize``, ``casefold`` and ``encode``."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORD_BYTES).split()
    folded = unicodedata.normalize("NFKC", text).casefold()
    return folded.encode("ascii", "replace").translate(_WORD_BYTES).split()


def _term_of(run: bytes) -> str:
    """A run's term (the run less its leading underscores: the token the pattern matches), or
    "" for a stop word or a token too short or long."""
    token = run.lstrip(b"_").decode("ascii")
    if not MIN_TOKEN <= len(token) <= MAX_TOKEN or token in STOPWORDS:
        return ""
    return _stem(token)


def _term_counts(runs: list[bytes]) -> dict[str, int]:
    """Each term's count among the runs: one ``Counter`` of the runs' memo look-ups (its count
    is one C-level pass); the runs the memo does not hold yet (nearly every report has one: a
    number, a name) are looked up as _UNSEEN, then found once each and counted to their terms
    one by one (a few per report: a second ``Counter`` cost more than it saved). A set of
    every run to find the new ones, a list of the terms and ``Counter`` cost ~3 us more per
    report."""
    looked = list(map(_MEMO.get, runs, repeat(_UNSEEN)))
    counts = Counter(looked)
    if counts.pop(_UNSEEN, 0):
        # The runs found missing by these look-ups, not by new ones: another thread may add
        # to the memo meanwhile, and a run counted as _UNSEEN must be counted all the same.
        found: dict[bytes, str] = {}
        for run in compress(runs, map(is_, looked, repeat(_UNSEEN))):
            term = found.get(run)
            if term is None:
                term = found[run] = _term_of(run)
            counts[term] += 1
        if len(_MEMO) + len(found) <= MEMO_SIZE:  # full: these are looked up here only
            _MEMO.update(found)  # runs are only ever added: a key seen stays
    counts.pop("", None)  # the runs that are no term
    return counts


def term_frequencies(title: str, description: str, steps: str) -> dict[str, int]:
    """The report's terms and counts (title counted ``TITLE_WEIGHT`` times), at most
    ``MAX_TERMS`` of them (the most frequent, ties by term), in term order. Counted over the
    runs of the fields joined by newlines (the title ``TITLE_WEIGHT`` times): a token never
    spans a newline, and NFKC and case folding never join characters across one, so it finds
    the tokens of each field, in one pass instead of one a field."""
    joined = "\n".join((description, steps, *([title] * TITLE_WEIGHT)))
    counts = _term_counts(_runs(joined))
    if len(counts) > MAX_TERMS:
        kept = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TERMS]
        return dict(sorted(kept))
    # The keys sorted alone, then each one's count: strings compare faster than the items'
    # tuples (~2.5 against ~3.1 us for a report's ~20 terms); the same map, in the same order.
    return {term: counts[term] for term in sorted(counts)}
