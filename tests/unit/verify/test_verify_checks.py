"""verify must catch each kind of violation when it is planted, and pass a clean history."""

from __future__ import annotations

import dataclasses

import pytest

from inferstream.verify import DeadLetter, Facts, Published, Row, check

TOPIC = "submissions.bug_report"


def _clean() -> Facts:
    published = [Published(f"s{i}", TOPIC, i % 2, i // 2, True) for i in range(6)]
    published.append(Published(None, TOPIC, 0, 3, False))
    return Facts(
        published=published,
        rows=[Row(f"s{i}", f"r{i}") for i in range(6)],
        result_messages={f"s{i}": [f"r{i}"] for i in range(6)},
        dead_letters=[DeadLetter(None, TOPIC, 0, 3, "malformed JSON: ...")],
        artifacts={f"r{i}" for i in range(6)},
        stored_offsets={("results.bug_report", 0): 4, ("deadletter", 0): 1},
        end_offsets={("results.bug_report", 0): 4, ("deadletter", 0): 1},
    )


def _violations(facts: Facts) -> dict[str, list[str]]:
    return {k: v for k, v in check(facts).violations.items() if v}


def test_a_clean_history_passes() -> None:
    report = check(_clean())
    assert report.ok
    assert report.counts["published (valid)"] == 6
    assert report.counts["published (invalid)"] == 1


def test_a_missing_row_is_lost() -> None:
    facts = _clean()
    facts = dataclasses.replace(facts, rows=facts.rows[1:])
    assert _violations(facts) == {"lost (valid submission without a row)": ["s0"]}


def test_a_duplicated_row() -> None:
    facts = _clean()
    facts = dataclasses.replace(facts, rows=[*facts.rows, Row("s2", "r2")])
    assert _violations(facts) == {"duplicated (more than one row)": ["s2"]}


def test_an_orphan_row() -> None:
    facts = _clean()
    facts = dataclasses.replace(
        facts,
        rows=[*facts.rows, Row("ghost", "rg")],
        result_messages={**facts.result_messages, "ghost": ["rg"]},
        artifacts={*facts.artifacts, "rg"},
    )
    assert _violations(facts) == {"orphan (row without a submission)": ["ghost"]}


def test_a_missing_dead_letter() -> None:
    facts = dataclasses.replace(_clean(), dead_letters=[])
    assert _violations(facts) == {
        "invalid submission not dead-lettered": [f"{TOPIC}:0:3"],
    }


def test_missing_result_message_artifact_and_lagging_offset() -> None:
    facts = _clean()
    messages = dict(facts.result_messages)
    del messages["s1"]
    messages["s3"] = ["r3", "other"]
    facts = dataclasses.replace(
        facts,
        result_messages=messages,
        artifacts=facts.artifacts - {"r4"},
        stored_offsets={("results.bug_report", 0): 3, ("deadletter", 0): 1},
    )
    assert _violations(facts) == {
        "row without its result message": ["s1"],
        "several result_ids for one submission": ["s3"],
        "row without its S3 artifact": ["s4"],
        "sink offset not at the end": ["results.bug_report:0 3 != 4"],
    }


def test_a_model_poison_dead_letter_excuses_a_valid_submission() -> None:
    facts = _clean()
    poison = DeadLetter(
        "s0", "enriched.bug_report", 1, 9, "poison record: boom", stage="infer", kind="poison"
    )
    facts = dataclasses.replace(
        facts, rows=facts.rows[1:], dead_letters=[*facts.dead_letters, poison]
    )
    report = check(facts)
    assert _violations(facts) == {}
    assert report.counts["poison dead letters (model)"] == 1


@pytest.mark.parametrize(
    ("stage", "kind", "reason"),
    [
        ("sink", "poison", "poison record: Postgres refused the batch: value too long"),
        ("enrich", "rejected", "quality rule: description too short"),
        ("infer", "rejected", "tokenizer: empty text"),
    ],
)
def test_a_valid_submission_dead_lettered_for_another_reason_is_a_violation(
    stage: str, kind: str, reason: str
) -> None:
    facts = _clean()
    dead = DeadLetter("s0", "submissions.bug_report", 0, 0, reason, stage=stage, kind=kind)
    facts = dataclasses.replace(
        facts, rows=facts.rows[1:], dead_letters=[*facts.dead_letters, dead]
    )
    assert _violations(facts) == {
        "valid submission dead-lettered (not a model poison)": [f"s0 ({stage}/{kind}: {reason})"]
    }


def test_redeliveries_absorbed_on_conflict_are_counted_and_agree() -> None:
    facts = _clean()
    messages = {**facts.result_messages, "s1": ["r1", "r1", "r1"], "s2": ["r2", "r2"]}
    consumed = {sid: len(ids) for sid, ids in messages.items()}
    facts = dataclasses.replace(facts, result_messages=messages, sink_consumed=consumed)
    report = check(facts)
    assert report.ok
    assert report.counts["result messages"] == 6 + 3
    assert report.counts["redelivered result messages (absorbed)"] == 3
    assert report.counts["rows skipped on conflict by the sink"] == 3


def test_a_message_consumed_without_its_row_or_a_row_never_consumed_disagree() -> None:
    facts = _clean()
    messages = {**facts.result_messages, "s1": ["r1", "r1"]}
    # s1: two messages on the topic, the sink committed past one only; s2: a row the sink
    # never consumed a message for.
    consumed = {**{sid: len(ids) for sid, ids in messages.items()}, "s1": 1, "s2": 0}
    facts = dataclasses.replace(facts, result_messages=messages, sink_consumed=consumed)
    assert _violations(facts) == {
        "redeliveries and sink conflict skips disagree": [
            "s1 (2 on the topic, 1 sunk)",
            "s2 (1 on the topic, 0 sunk)",
        ]
    }


def test_since_restricts_the_per_submission_checks_to_one_run() -> None:
    facts = _clean()
    other_run = [
        dataclasses.replace(p, source="run-a" if p.submission_id == "s0" else "run-b")
        for p in facts.published
    ]
    # s1's row is missing: a violation of run-b, not of run-a.
    facts = dataclasses.replace(
        facts, published=other_run, rows=[r for r in facts.rows if r.submission_id != "s1"]
    )
    assert check(facts, since="run-a").ok
    assert check(facts, since="run-a").counts["published (valid)"] == 1
    assert _violations(dataclasses.replace(facts)) == {
        "lost (valid submission without a row)": ["s1"]
    }
    assert not check(facts, since="run-b").ok
