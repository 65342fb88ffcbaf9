"""Where the monitor finds a version's reference: the local models directory when the
registry cannot say (here: no Postgres at all), cached, and a missing one retried later."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from inferstream.monitor.catalog import Catalog
from inferstream.monitor.reference import build

NO_POSTGRES = "host=/nonexistent-h4 dbname=none connect_timeout=1"


def test_local_reference_is_found_cached_and_a_missing_one_retried(tmp_path: Path) -> None:
    ref = build(("a",), np.arange(20.0).reshape(20, 1), np.linspace(0, 1, 20))
    bundle = tmp_path / "churn-logreg" / "v1"
    bundle.mkdir(parents=True)
    (bundle / "metadata.json").write_text(json.dumps({"reference": ref.to_json()}))
    (tmp_path / "churn-logreg" / "LATEST").write_text("v1\n")
    catalog = Catalog(NO_POSTGRES, tmp_path)
    assert catalog.reference("churn-logreg", "v1") == ref
    assert catalog.production("churn-logreg") == "v1"  # no registry: the directory's LATEST
    assert catalog.aliases("churn-logreg") == {}
    assert catalog.reference("churn-logreg", "v2") is None
    # v2 appears: not looked up again within the retry period, then found
    (tmp_path / "churn-logreg" / "v2").mkdir()
    (tmp_path / "churn-logreg" / "v2" / "metadata.json").write_text(
        json.dumps({"reference": ref.to_json()})
    )
    assert catalog.reference("churn-logreg", "v2") is None
    catalog._missing_until.clear()  # as if RETRY_MISSING_S had passed
    assert catalog.reference("churn-logreg", "v2") == ref
