"""The duplicate review loop on the real stack: possible duplicates in Postgres form the queue,
decisions go through the real `inferstream api` (JSON routes), are stored with who and when,
override the model's verdict in the API's reads, land on the real broker's feedback.bug_report
topic, and `inferstream eval dedup --from-feedback` reads them back as labels."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
from _reports import store_report, unit_vector
from _stack import Stack, serve_api
from pgvector.psycopg import register_vector

from inferstream.api import Role
from inferstream.api.keys import create_key
from inferstream.cli.eval_cmd import load_reports
from inferstream.cli.eval_feedback import latest, read_feedback
from inferstream.settings import ApiSettings


def _key(conn: psycopg.Connection[Any], name: str, role: Role) -> str:
    prefix = ApiSettings.load().api_key_prefix
    return create_key(conn, prefix=prefix, name=name, role=role, ttl_days=1).key


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _lines_of(path: Path, ids: set[str]) -> list[bytes]:
    """The lines of a reports file that belong to these submissions."""
    lines = path.read_bytes().splitlines(keepends=True)
    return [line for line in lines if json.loads(line).get("submission_id") in ids]


def test_queue_decision_feedback_topic_and_eval(stack: Stack, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    product = f"triage-{tag}"
    # Real submission ids (UUIDs): the reports file the eval reads validates them.
    o1, o2, p1, p2, p3, u1 = (str(uuid.uuid4()) for _ in range(6))
    mine = {o1, o2, p1, p2, p3, u1}
    rng = np.random.default_rng(7)
    with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
        register_vector(conn)
        first, second = unit_vector(rng), unit_vector(rng)
        store_report(conn, o1, first, title="Editor crashes on save", product=product)
        store_report(conn, o2, second, title="Toolbar icons blurry", product=product)
        for sid, near, title in ((p1, first, "Saving kills the app"), (p2, first, "Save slow"),
                                 (p3, second, "Crash writing file")):  # fmt: skip
            candidate = o1 if near is first else o2
            store_report(
                conn, sid, unit_vector(rng, near), title=title, product=product,
                status="possible_duplicate", similar=[{"submission_id": candidate, "score": 0.8}],
            )  # fmt: skip
        store_report(conn, u1, unit_vector(rng), title="Unrelated", product=product)
        reader = _key(conn, f"reader-{tag}", Role.reader)
        producer = _key(conn, f"triager-{tag}", Role.producer)
        admin = _key(conn, f"admin-{tag}", Role.admin)

    with serve_api(stack) as base, httpx.Client(base_url=base, timeout=30) as http:
        queue = http.get(
            "/v1/review/bug_report", params={"product": product}, headers=_auth(reader)
        )
        assert queue.status_code == 200, queue.text
        items = {i["submission_id"]: i for i in queue.json()["items"]}
        assert set(items) == {p1, p2, p3}  # possible duplicates only, not o1, o2, u1
        assert items[p1]["candidate_id"] == o1
        assert items[p1]["candidate_title"] == "Editor crashes on save"
        # A NUL in a product filter is the caller's mistake (422), not a database error (500):
        # Postgres text cannot hold one, so no product can match it. Web view filters alike.
        for path, headers in (("/v1/review/bug_report", _auth(reader)), ("/ui/review", {}),
                              ("/ui", {})):  # fmt: skip
            for odd in ("\x00", f"{product}\x00"):
                answer = http.get(path, params={"product": odd}, headers=headers)
                assert answer.status_code == 422, (path, answer.status_code, answer.text)
        tab = http.get("/v1/review/bug_report", params={"product": "a\tb"}, headers=_auth(reader))
        assert (tab.status_code, tab.json()["items"]) == (200, [])  # other odd text: no match

        def decide(sid: str, key: str, **body: Any) -> httpx.Response:
            return http.post(f"/v1/review/bug_report/{sid}", json=body, headers=_auth(key))

        assert decide(p1, reader, decision="confirm").status_code == 403
        assert decide(str(uuid.uuid4()), producer, decision="confirm").status_code == 404
        wrong = decide(p3, producer, decision="other_original", original_id=str(uuid.uuid4()))
        assert wrong.status_code == 422, wrong.text
        assert decide(p3, producer, decision="not_duplicate", original_id=o1).status_code == 422
        confirmed = decide(p1, producer, decision="confirm", note="same stack trace")
        assert confirmed.status_code == 201, confirmed.text
        assert confirmed.json()["review"]["original_id"] == o1
        assert decide(p2, admin, decision="not_duplicate").status_code == 201
        assert decide(p3, producer, decision="other_original", original_id=o1).status_code == 201

        after = http.get(
            "/v1/review/bug_report", params={"product": product}, headers=_auth(reader)
        )
        assert after.json()["items"] == []

        # Reads show the reviewer's verdict, and the model's under "review".
        cleared = http.get(f"/v1/submissions/{p2}", headers=_auth(reader)).json()["result"]
        assert (cleared["duplicate_status"], cleared["duplicate_of"]) == ("unique", None)
        assert cleared["review"]["model_status"] == "possible_duplicate"
        assert cleared["review"]["decided_by"] == f"admin-{tag}"
        assert cleared["title"] == "Save slow"
        result_id = http.get(f"/v1/submissions/{p3}", headers=_auth(reader)).json()["result_id"]
        moved = http.get(f"/v1/results/bug_report/{result_id}", headers=_auth(reader)).json()
        assert (moved["duplicate_status"], moved["duplicate_of"]) == ("duplicate", o1)

        # A later decision overrides; the audit keeps both, newest first.
        assert decide(p2, producer, decision="confirm").status_code == 201
        audit = http.get(f"/v1/review/bug_report/{p2}", headers=_auth(reader)).json()
        assert [a["decision"] for a in audit] == ["confirm", "not_duplicate"]
        assert admin.startswith(audit[1]["decided_by_key"] + "_")  # the key's prefix, no secret
        now = http.get(f"/v1/submissions/{p2}", headers=_auth(reader)).json()["result"]
        assert now["duplicate_of"] == o1

    # The broker has every decision, in order per report.
    ours = [r for r in read_feedback(stack.kafka) if r["submission_id"] in mine]
    assert sorted((r["review_id"], r["submission_id"], r["decision"]) for r in ours) == sorted(
        zip(
            sorted(r["review_id"] for r in ours),
            (p1, p2, p3, p2),
            ("confirm", "not_duplicate", "other_original", "confirm"),
            strict=True,
        )
    )
    # one report's decisions share a partition, so they come back in the order they were made
    assert [r["decision"] for r in ours if r["submission_id"] == p2] == ["not_duplicate", "confirm"]
    assert latest(ours)[p2]["decision"] == "confirm"
    by_p1 = next(r for r in ours if r["submission_id"] == p1)
    assert by_p1["decided_by"] == f"triager-{tag}" and by_p1["dedup_profile"] == "hybrid"

    # The eval reads the topic back: our three reports and their original form one group.
    labels_path, reports_path = tmp_path / "labels.json", tmp_path / "reports.jsonl"
    run = stack.cli(
        "eval", "dedup", "--from-feedback",
        "--labels-out", str(labels_path), "--reports-out", str(reports_path),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "model said possible_duplicate" in run.stdout
    groups = json.loads(labels_path.read_text())["duplicate_groups"]
    our_groups = [sorted(g) for g in groups if set(g) & mine]
    assert our_groups == [sorted([o1, p1, p2, p3])]
    # ... and the decided reports with their originals, as `eval dedup FILE` reads them. The
    # topic also holds other tests' decisions (their reports may not be valid records): only our
    # lines are judged, so the check holds whatever ran before.
    ours_path = tmp_path / "ours.jsonl"
    ours_path.write_bytes(b"".join(_lines_of(reports_path, mine)))
    reports, invalid = load_reports(ours_path)
    ours_in_file = [(sid, p.title) for sid, p in reports]
    assert invalid == 0
    assert sorted(ours_in_file) == sorted(
        [(o1, "Editor crashes on save"), (p1, "Saving kills the app"),
         (p2, "Save slow"), (p3, "Crash writing file")]
    )  # fmt: skip


def test_eval_without_a_file_or_feedback_is_a_usage_error(stack: Stack) -> None:
    run = stack.cli("eval", "dedup")
    assert run.returncode == 2
    assert run.stderr.strip() == "error: give a FILE and --labels, or --from-feedback"
