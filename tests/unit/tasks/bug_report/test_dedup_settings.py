"""bug_report settings: the dedup profile (default, environment, a one-line error for a bad
name), the seed profile's bands and the quality gate's numbers."""

from __future__ import annotations

import pytest

from inferstream.schemas import BugReportPayload, Envelope
from inferstream.settings import SettingsError
from inferstream.tasks.bug_report.dedup import HYBRID, SEED
from inferstream.tasks.bug_report.enrich import BugReportEnrichment
from inferstream.tasks.bug_report.plugin import BugReportPlugin
from inferstream.tasks.bug_report.quality import QualityPolicy
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


def test_seed_bands_are_settings_and_change_the_profile_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert BugReportSettings.load(dedup_profile="seed").profile() == SEED  # 0.85 / 0.70
    monkeypatch.setenv("INFERSTREAM_BUG_REPORT_DEDUP_PROFILE", "seed")
    monkeypatch.setenv("INFERSTREAM_BUG_REPORT_SEED_DUPLICATE_THRESHOLD", "0.8")
    monkeypatch.setenv("INFERSTREAM_BUG_REPORT_SEED_POSSIBLE_THRESHOLD", "0.6")
    profile = BugReportSettings.load().profile()
    assert (profile.name, profile.duplicate, profile.possible) == ("seed", 0.8, 0.6)
    assert profile.version == "001+dup0.8-possible0.6"
    # The bands only apply to the seed profile.
    assert BugReportSettings.load(dedup_profile="hybrid").profile() == HYBRID


def test_seed_bands_out_of_order_are_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERSTREAM_BUG_REPORT_SEED_POSSIBLE_THRESHOLD", "0.9")
    with pytest.raises(SettingsError) as err:
        BugReportSettings.load()
    assert "seed_possible_threshold 0.9 is above seed_duplicate_threshold 0.85" in str(err.value)
    assert "\n" not in str(err.value)


def test_quality_gate_numbers_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert BugReportSettings.load().quality_policy() == QualityPolicy()  # seed 001's numbers
    monkeypatch.setenv("INFERSTREAM_BUG_REPORT_QUALITY_REQUIRE_LOGS", "true")
    monkeypatch.setenv("INFERSTREAM_BUG_REPORT_QUALITY_MIN_SCORE", "0.9")
    monkeypatch.setenv("INFERSTREAM_BUG_REPORT_QUALITY_MIN_DESCRIPTION_LENGTH", "5")
    policy = BugReportSettings.load().quality_policy()
    assert (policy.require_logs, policy.min_score, policy.min_description_length) == (
        True,
        0.9,
        5,
    )
    # The plug-in's enrich applies them: a complete report without logs is now low quality.
    payload = {
        "title": "Export fails on large files",
        "description": "Export of a 2 GB file stops at 99 %.",
        "steps_to_reproduce": "1. export a 2 GB file",
        "product": "P",
    }
    envelope = Envelope[BugReportPayload].model_validate(
        {
            "submission_id": "0f8b6c1e-8d61-4d43-9d6c-2a4f0a3c5b10",
            "task": "bug_report",
            "schema_version": "1",
            "produced_at": "2026-12-06T12:00:00Z",
            "source": "test",
            "payload": payload,
        }
    )
    (outcome,) = BugReportPlugin().enrich([envelope])
    assert isinstance(outcome, BugReportEnrichment)
    assert outcome.quality_flags == ["missing_logs"]
    assert outcome.low_quality and outcome.quality_score == 0.8
