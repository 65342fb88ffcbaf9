"""Parsing and validating publish input files, with line numbers (no broker involved)."""

from __future__ import annotations

import uuid

import orjson

from inferstream.client import guess_format, parse_records

GOOD = {
    "title": "Login fails",
    "description": "The login form rejects valid passwords.",
    "product": "web",
}


def _line(obj: object) -> str:
    return orjson.dumps(obj).decode() + "\n"


def test_bare_payloads_and_envelopes_are_accepted() -> None:
    sid = str(uuid.uuid4())
    lines = [_line(GOOD), "\n", _line({"submission_id": sid, "payload": GOOD, "tenant": "acme"})]
    parsed = parse_records(lines, "bug_report", "jsonl")
    assert parsed.invalid == []
    assert [line for line, _ in parsed.valid] == [1, 3]
    envelope = parsed.valid[1][1]
    assert (envelope.submission_id, envelope.tenant, envelope.source) == (sid, "acme", "cli")


def test_each_invalid_line_is_reported_with_its_number_and_field() -> None:
    lines = [
        _line(GOOD),
        "{broken\n",
        _line({**GOOD, "title": ""}),
        _line([1, 2]),
        _line({"payload": GOOD, "colour": "red"}),
        _line({**GOOD, "severity": "high"}),
        _line({"payload": orjson.dumps(GOOD).decode()}),
    ]
    parsed = parse_records(lines, "bug_report", "jsonl")
    rendered = [item.render("f.jsonl") for item in parsed.invalid]
    assert parsed.invalid_lines == [2, 3, 4, 5, 6, 7]
    assert rendered[0].startswith("f.jsonl:2: (line): not valid JSON")
    assert any(r.startswith("f.jsonl:3: payload.title:") for r in rendered)
    assert any(r.startswith("f.jsonl:4: (line): expected a JSON object") for r in rendered)
    assert any(r.startswith("f.jsonl:5: colour: unknown envelope field") for r in rendered)
    assert any(r.startswith("f.jsonl:6: payload.severity:") for r in rendered)
    not_object = "f.jsonl:7: payload: expected a JSON object, got str"
    assert any(r.startswith(not_object) for r in rendered)
    assert len(parsed.valid) == 1


def test_duplicate_submission_ids_in_one_file_are_invalid() -> None:
    sid = str(uuid.uuid4())
    lines = [_line({"submission_id": sid, "payload": GOOD})] * 2
    parsed = parse_records(lines, "bug_report", "jsonl")
    assert len(parsed.valid) == 1
    assert parsed.invalid[0].line == 2
    assert "duplicate of line 1" in parsed.invalid[0].message


def test_csv_with_json_cells_and_line_numbers() -> None:
    text = [
        "domain,technology_stack,has_api\n",
        'api.example.com,"[""nginx"", ""django""]",true\n',
        "not a host,[],false\n",
    ]
    parsed = parse_records(text, "target_risk", "csv")
    assert len(parsed.valid) == 1
    assert parsed.valid[0][1].payload.technology_stack == ["nginx", "django"]
    assert parsed.invalid[0].line == 3
    assert parsed.invalid[0].field == "payload.domain"


def test_format_from_the_file_name() -> None:
    assert guess_format("a.CSV") == "csv"
    assert guess_format("a.jsonl") == "jsonl"
    assert guess_format("<stdin>") == "jsonl"


def test_bad_json_names_the_column_within_its_line() -> None:
    # orjson's own message says "line 2 column 1" here (it counts the line's newline), beside
    # the file's line 3.
    lines = [_line(GOOD), _line(GOOD), '{"title": "t", "description": \n']
    parsed = parse_records(lines, "bug_report", "jsonl")
    [item] = parsed.invalid
    assert item.render("f.jsonl") == (
        "f.jsonl:3: (line): not valid JSON: unexpected end of data at column 31"
    )
