"""Seed 001 quality gate: MIN_DESCRIPTION_LENGTH=20, REQUIRE_REPRO_STEPS=True,
REQUIRE_LOGS=False, MIN_QUALITY_SCORE=0.6 (a score below 0.6 is low quality)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.schemas import BugReportPayload
from inferstream.tasks.bug_report import quality
from inferstream.tasks.bug_report.enrich import enrich
from inferstream.tasks.bug_report.quality import (
    PENALTIES,
    NormalisedFields,
    QualityPolicy,
    assess,
    canonical_text,
    content_sha256,
    normalise,
)

TITLE = "Login button crashes the app"
DESCRIPTION = "Clicking the login button on the start screen closes the app."
STEPS = "1. Open the app\n2. Tap Login"
DESC_20 = "a" * 20
DESC_19 = "a" * 19


def _payload(**overrides: Any) -> BugReportPayload:
    fields: dict[str, Any] = {
        "title": TITLE,
        "description": DESCRIPTION,
        "steps_to_reproduce": STEPS,
        "product": "mobile-app",
        "component": "auth",
    }
    fields.update(overrides)
    return BugReportPayload(**fields)


def test_seed_policy_defaults() -> None:
    policy = QualityPolicy()
    assert policy.min_description_length == 20
    assert policy.require_steps is True
    assert policy.require_logs is False
    assert policy.min_score == 0.6


@pytest.mark.parametrize(
    ("overrides", "score", "flags", "low"),
    [
        pytest.param({}, 1.0, (), False, id="complete"),
        pytest.param({"description": DESC_20}, 1.0, (), False, id="description-20"),
        pytest.param(
            {"description": DESC_19}, 0.6, ("description_too_short",), False, id="description-19"
        ),
        pytest.param(
            {"steps_to_reproduce": ""},
            0.7,
            ("missing_steps_to_reproduce",),
            False,
            id="no-steps",
        ),
        pytest.param(
            {"steps_to_reproduce": " \n\t\r\n "},
            0.7,
            ("missing_steps_to_reproduce",),
            False,
            id="blank-steps",
        ),
        pytest.param(
            {"description": "too short", "steps_to_reproduce": ""},
            0.3,
            ("description_too_short", "missing_steps_to_reproduce"),
            True,
            id="short-and-no-steps",
        ),
        pytest.param({"logs": ""}, 1.0, (), False, id="logs-not-required"),
        pytest.param({"title": "Crash"}, 0.9, ("title_too_short",), False, id="short-title"),
        pytest.param(
            {"title": "Crash", "description": DESC_19},
            0.5,
            ("description_too_short", "title_too_short"),
            True,
            id="short-title-and-description",
        ),
        pytest.param(
            {"title": "x", "description": "y", "steps_to_reproduce": ""},
            0.2,
            ("description_too_short", "missing_steps_to_reproduce", "title_too_short"),
            True,
            id="everything-missing",
        ),
    ],
)
def test_seed_quality_table(
    overrides: dict[str, Any], score: float, flags: tuple[str, ...], low: bool
) -> None:
    verdict = assess(_payload(**overrides))
    assert verdict.score == score
    assert verdict.flags == flags
    assert verdict.low_quality is low


def test_description_length_counts_after_normalisation() -> None:
    # 20 raw characters, 19 once space runs are collapsed and the ends stripped.
    padded = "  " + "a" * 8 + "   " + "b" * 8 + " "
    assert len(padded) >= 20
    assert len(normalise(padded)) == 17
    assert assess(_payload(description=padded)).flags == ("description_too_short",)
    # Combining accents compose under NFC: 20 code points become 10.
    decomposed = "e\u0301" * 10
    assert len(decomposed) == 20
    assert assess(_payload(description=decomposed)).flags == ("description_too_short",)
    # Control characters do not count.
    assert assess(_payload(description="a" * 19 + "\x07\x1b")).flags == ("description_too_short",)
    assert assess(_payload(description="a" * 19 + "\x07b")).flags == ()


def test_exactly_minimum_score_is_not_low_quality() -> None:
    verdict = assess(_payload(description="short"))
    assert verdict.score == 0.6
    assert verdict.low_quality is False
    stricter = QualityPolicy(min_score=0.61)
    assert assess(_payload(description="short"), stricter).low_quality is True


def test_logs_required_when_policy_says_so() -> None:
    policy = QualityPolicy(require_logs=True)
    verdict = assess(_payload(), policy)
    assert verdict.flags == ("missing_logs",)
    assert verdict.score == 0.8
    assert verdict.low_quality is False
    blank = assess(_payload(logs="  \n \n"), policy)
    assert blank.flags == ("missing_logs",)
    with_logs = assess(_payload(logs="Traceback (most recent call last): ..."), policy)
    assert with_logs.flags == ()
    assert with_logs.score == 1.0


def test_steps_not_required_when_policy_says_so() -> None:
    policy = QualityPolicy(require_steps=False)
    assert assess(_payload(steps_to_reproduce=""), policy).flags == ()


def test_custom_description_length() -> None:
    policy = QualityPolicy(min_description_length=5)
    assert assess(_payload(description="short"), policy).flags == ()
    assert assess(_payload(description="shor"), policy).flags == ("description_too_short",)


@given(
    st.sampled_from(["", "x", "0123456789"]),
    st.sampled_from(["", "y", DESC_19, DESC_20]),
    st.sampled_from(["", "  ", STEPS]),
    st.sampled_from(["", "log line"]),
    st.booleans(),
    st.booleans(),
)
def test_score_is_one_minus_penalties_and_low_below_minimum(
    title: str, description: str, steps: str, logs: str, require_steps: bool, require_logs: bool
) -> None:
    payload = _payload(
        title=title or " ",
        description=description or " ",
        steps_to_reproduce=steps,
        logs=logs,
    )
    policy = QualityPolicy(require_steps=require_steps, require_logs=require_logs)
    verdict = assess(payload, policy)
    assert set(verdict.flags) <= set(PENALTIES)
    assert len(set(verdict.flags)) == len(verdict.flags)
    expected = max(0.0, 1.0 - sum(PENALTIES[f] for f in verdict.flags))
    assert verdict.score == pytest.approx(expected, abs=1e-9)
    assert 0.0 <= verdict.score <= 1.0
    assert verdict.low_quality == (verdict.score < 0.6)
    assert ("missing_steps_to_reproduce" in verdict.flags) == (require_steps and not steps.strip())
    assert ("missing_logs" in verdict.flags) == (require_logs and not logs)
    assert ("description_too_short" in verdict.flags) == (description != DESC_20)


# --- normalise --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("e\u0301te\u0301", "\u00e9t\u00e9", id="nfc"),
        pytest.param("a\r\nb\rc\nd", "a\nb\nc\nd", id="newlines"),
        pytest.param("a\x07b\x1bc\u200bd", "abcd", id="control-and-format-removed"),
        pytest.param("a  \t b\u00a0\u00a0c", "a b c", id="spaces-collapsed"),
        pytest.param("  padded  \n  lines \t", "padded\nlines", id="lines-stripped"),
        pytest.param("a\n\n\n\n\nb", "a\n\nb", id="blank-lines-capped"),
        pytest.param("a\n \n\t\n  \nb", "a\n\nb", id="whitespace-lines-are-blank"),
        pytest.param("a\n\nb", "a\n\nb", id="one-blank-line-kept"),
        pytest.param("\n\n  text  \n\n", "text", id="outer-blank-lines-stripped"),
        pytest.param("\r\n\r\n\r\n\r\nx", "x", id="crlf-blank-lines"),
        pytest.param("", "", id="empty"),
        pytest.param(" \t\r\n\x0b\x0c ", "", id="whitespace-only"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@given(st.text(max_size=200))
def test_normalise_is_idempotent_and_clean(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    assert "\r" not in once
    assert "\n\n\n" not in once
    assert "  " not in once
    assert once == once.strip()
    assert all(line == line.strip() for line in once.split("\n"))


# --- canonical text and hash ------------------------------------------------------------------


def test_canonical_text_joins_title_description_and_steps() -> None:
    payload = _payload(title="  Crash  on login ", description="It  crashes.\r\n\r\n\r\nAlways.")
    assert canonical_text(payload) == f"Crash on login\nIt crashes.\n\nAlways.\n{STEPS}"


def test_canonical_text_without_steps_has_no_trailing_part() -> None:
    payload = _payload(steps_to_reproduce="  \n ")
    assert canonical_text(payload) == f"{TITLE}\n{DESCRIPTION}"


def test_canonical_text_ignores_logs_product_and_reporter() -> None:
    a = _payload(logs="stack trace", product="web", component="ui", reporter="alice")
    b = _payload(logs="", product="api", component="", reporter="bob")
    assert canonical_text(a) == canonical_text(b)


def test_hash_is_case_insensitive_and_whitespace_normalised() -> None:
    a = _payload(title="Login Button Crashes", description="The APP closes   on tap.\r\n")
    b = _payload(title="  login button crashes", description="the app closes on tap.")
    assert canonical_text(a) != canonical_text(b)  # case is kept in the text itself
    assert content_sha256(canonical_text(a)) == content_sha256(canonical_text(b))


def test_hash_differs_for_different_content() -> None:
    a = content_sha256(canonical_text(_payload()))
    b = content_sha256(canonical_text(_payload(description=DESCRIPTION + " Twice.")))
    assert a != b


def test_hash_is_sha256_hex_of_casefolded_text() -> None:
    digest = content_sha256("Straße")
    assert digest == content_sha256("STRASSE")
    assert len(digest) == 64
    assert all(c in "0123456789abcdef" for c in digest)
    assert digest == hashlib.sha256(b"strasse").hexdigest()


def _normalise_per_character(text: str) -> str:
    """normalise as it was written first: a category lookup for every character."""
    import re
    import unicodedata

    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = re.sub(r"[^\S\n]+", " ", text)
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@given(
    st.text(
        st.one_of(
            st.characters(),  # any code point, control and format characters included
            st.sampled_from(["\n", "\t", "\r", " ", "\u00a0", "\u200b", "\x00"]),
        )
    )
)
def test_normalise_equals_the_per_character_filter(text: str) -> None:
    # normalise skips the per-character scan when the text has nothing to drop.
    assert normalise(text) == _normalise_per_character(text)


def test_normalise_drops_control_and_format_characters() -> None:
    # NUL (Cc) and the zero-width space (Cf) go; the tab and the line separator are spaces.
    assert normalise("a\x00b\u200bc\td\u2028e") == "abc d e"


_TEXTS = st.text(alphabet=st.sampled_from(list("ab \t\r\n\x07\u00a0\u0308\u200bÜ.")), max_size=40)


@given(title=_TEXTS, description=_TEXTS, steps=_TEXTS, logs=_TEXTS)
def test_normalised_fields_are_normalise_of_each_field(
    title: str, description: str, steps: str, logs: str
) -> None:
    # Constructed: the wire contract's own limits (non-empty title, ...) are not what is tested.
    payload = _payload().model_copy(
        update={"title": title, "description": description, "steps_to_reproduce": steps}
        | {"logs": logs}
    )
    fields = NormalisedFields(payload)
    assert fields("title") == normalise(title)
    assert fields("description") == normalise(description)
    assert fields("steps_to_reproduce") == normalise(steps)
    assert fields("logs") == normalise(logs)
    assert canonical_text(payload, fields) == canonical_text(payload)
    strict = QualityPolicy(require_logs=True)
    assert assess(payload, strict, fields) == assess(payload, strict)


def test_enrich_normalises_each_field_once(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def counting(text: str) -> str:
        seen.append(text)
        return normalise(text)

    monkeypatch.setattr(quality, "normalise", counting)
    envelope = type("Envelope", (), {"payload": _payload()})()
    result = enrich(envelope)  # type: ignore[arg-type]
    assert not isinstance(result, str)
    assert sorted(seen) == sorted([TITLE, DESCRIPTION, STEPS])


# Pieces, not characters (a text strategy draws its alphabet evenly: runs of spaces were rare).
_PRINTABLE_ASCII = st.lists(
    st.one_of(
        st.sampled_from([" ", "  ", "a", "Bc.", "~"]),
        st.characters(min_codepoint=32, max_codepoint=126),
    ),
    max_size=20,
).map("".join)


@given(
    _PRINTABLE_ASCII,
    st.sampled_from(["", "\n", "\n\n\n", "\t", "\r", "\x0b", "\x1f", "\x7f", "\x00"]),
    _PRINTABLE_ASCII,
)
def test_normalise_of_ascii_equals_the_per_character_filter(
    head: str, special: str, tail: str
) -> None:
    # Printable ASCII takes normalise's short path (collapse and strip); ASCII with a line
    # break, tab or control character the general one: both as the filter.
    text = head + special + tail
    assert normalise(text) == _normalise_per_character(text)


def _verdict_as_summed(flags: tuple[str, ...], min_score: float) -> quality.QualityVerdict:
    """assess's verdict as it was computed for every report, before verdicts were kept."""
    score = round(max(0.0, 1.0 - sum(PENALTIES[flag] for flag in flags)), 4)
    return quality.QualityVerdict(score, flags, score < min_score)


@given(
    st.sampled_from(["x", "0123456789"]),
    st.sampled_from(["y", DESC_20]),
    st.sampled_from(["", STEPS]),
    st.sampled_from(["", "log line"]),
    st.booleans(),
    st.booleans(),
    st.sampled_from([0.0, 0.3, 0.6, 0.61, 0.9, 1.0]),
)
def test_kept_verdicts_equal_the_summed_ones(
    title: str,
    description: str,
    steps: str,
    logs: str,
    require_steps: bool,
    require_logs: bool,
    min_score: float,
) -> None:
    payload = _payload(title=title, description=description, steps_to_reproduce=steps, logs=logs)
    policy = QualityPolicy(
        require_steps=require_steps, require_logs=require_logs, min_score=min_score
    )
    verdict = assess(payload, policy)
    assert verdict == _verdict_as_summed(verdict.flags, min_score)
    assert type(verdict.score) is float
