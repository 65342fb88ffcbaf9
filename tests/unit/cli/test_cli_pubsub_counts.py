"""The publish command's summary line counts in words a person reads: 1 record, 2 records."""

from __future__ import annotations

import pytest

from inferstream.cli.pubsub import _records


@pytest.mark.parametrize(
    ("n", "kind", "text"),
    [
        (0, "", "0 records"),
        (1, "", "1 record"),
        (2, "", "2 records"),
        (1, "invalid ", "1 invalid record"),
    ],
)
def test_counts_read_as_words(n: int, kind: str, text: str) -> None:
    assert _records(n, kind) == text
