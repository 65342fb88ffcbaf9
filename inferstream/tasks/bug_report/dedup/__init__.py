"""bug_report duplicate detection (pure, in memory): what the infer stage and
``inferstream eval dedup`` share.

- ``verdicts``: the verdict from ranked candidates (duplicate / possible_duplicate / unique);
- ``profiles``: how a candidate's features combine into one score, and the score bands;
- ``terms``: a report's terms (tokens, counts); ``lexical`` and ``tfidf``: the incremental
  TF-IDF index, its batched candidates and cosines;
- ``scoring``: ``DedupScorer``, candidates from faiss, lexical postings and the batch, re-ranked;
- ``evaluation``: replay against a labelled set, figures, sweep, candidate recall;
  ``calibration``: band edges, weight grid, cosine-only baseline, k-fold cross-validation;
  ``learned``: the logistic-regression profile; ``report``: the text of ``eval dedup`` (import
  them as modules: only the eval command and tests need them).

Code outside this package imports the names below from here, so the modules can be split or
renamed without touching the task's plug-in.
"""

from inferstream.tasks.bug_report.dedup.lexical import LexicalIndex
from inferstream.tasks.bug_report.dedup.profiles import (
    DEFAULT_PROFILE,
    HYBRID,
    PROFILES,
    SEED,
    DedupProfile,
    UnknownProfileError,
    get_profile,
)
from inferstream.tasks.bug_report.dedup.ranked import Candidate, Decision
from inferstream.tasks.bug_report.dedup.scoring import (
    DedupScorer,
    ReportFeatures,
    decide,
    rescore,
)
from inferstream.tasks.bug_report.dedup.terms import Terms, term_frequencies
from inferstream.tasks.bug_report.dedup.verdicts import (
    DedupThresholds,
    Verdict,
    classify,
    in_batch_scores,
    merge_candidates,
)

__all__ = [
    "DEFAULT_PROFILE",
    "HYBRID",
    "PROFILES",
    "SEED",
    "Candidate",
    "Decision",
    "DedupProfile",
    "DedupScorer",
    "DedupThresholds",
    "LexicalIndex",
    "ReportFeatures",
    "Terms",
    "UnknownProfileError",
    "Verdict",
    "classify",
    "decide",
    "get_profile",
    "in_batch_scores",
    "merge_candidates",
    "rescore",
    "term_frequencies",
]
