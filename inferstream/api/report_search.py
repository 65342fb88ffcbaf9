"""Text search over bug reports, one definition for the web view's lists and the review API.

The results table keeps a generated ``search_vector`` (title, description, steps, logs; english
stemming) with a GIN index (migration 0017). ``websearch_to_tsquery`` reads what people type in
search boxes ("crash save", "\"dark theme\"", "-android") and never raises on odd input. A
search may also be a submission id, matched exactly through the column's unique index.
"""

from __future__ import annotations

TEXT_CONFIG = "english"
# One condition on a results_bug_report row ``r``: the text matches, or it is the report's id.
# Two placeholders: the search text, then the same text as a submission id.
MATCH = f"(r.search_vector @@ websearch_to_tsquery('{TEXT_CONFIG}', %s) OR r.submission_id = %s)"


def match_params(text: str) -> list[str]:
    """The parameters ``MATCH`` takes for one search text. A NUL is dropped: Postgres text
    cannot hold one, and a search box's input is no reason for an error."""
    text = text.replace("\x00", "")
    return [text, text]
