"""The dedup profile setting: default, environment, and a one-line error for a bad name."""

from __future__ import annotations

import pytest

from inferstream.settings import SettingsError
from inferstream.tasks.bug_report.settings import BugReportSettings


def test_default_profile_is_the_calibrated_one() -> None:
    assert BugReportSettings.load().dedup_profile == "hybrid"


def test_profile_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERSTREAM_BUG_REPORT_DEDUP_PROFILE", "seed")
    assert BugReportSettings.load().dedup_profile == "seed"


def test_unknown_profile_names_the_variable_and_the_known_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INFERSTREAM_BUG_REPORT_DEDUP_PROFILE", "fast")
    with pytest.raises(SettingsError) as err:
        BugReportSettings.load()
    message = str(err.value)
    assert "INFERSTREAM_BUG_REPORT_DEDUP_PROFILE" in message
    assert "unknown dedup profile 'fast'; known: hybrid, seed" in message
    assert "\n" not in message
