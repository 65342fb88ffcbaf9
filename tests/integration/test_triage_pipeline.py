"""The report's own text through the real pipeline (enrich -> infer -> sink): the row the triage
view reads holds the title whole and the long fields cut to their excerpts, and the API's reads
return them. Then the review loop from a possible duplicate the pipeline itself produced: it
lands in the API's queue, a producer confirms it, the decision reaches feedback.bug_report and
`inferstream eval dedup --from-feedback`'s reader turns it into a duplicate group (called in this
process: the command itself runs on the real stack in test_triage.py).

The workers run the seed profile with its bands set wide (possible at a cosine >= 0.5, duplicate
only >= 0.995), so a paraphrase of a report lands as a possible duplicate whatever the hybrid
profile's calibration is; the candidate must still be the paraphrased report, found by the
infer stage among every report of the session."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from _stack import Stack
from fastapi.testclient import TestClient

from inferstream.api import Role, create_app
from inferstream.api.keys import create_key
from inferstream.api.queries import submission_status
from inferstream.cli.eval_feedback import read_feedback, run_from_feedback
from inferstream.client import Publisher
from inferstream.schemas import BugReportPayload
from inferstream.schemas.tasks.bug_report import EXCERPT_CHARS
from inferstream.settings import ApiSettings
from inferstream.workers.supervisor import Supervisor

ROW_DEADLINE_S = 180.0
FEEDBACK_DEADLINE_S = 60.0


def _payloads(tag: str) -> dict[str, BugReportPayload]:
    crash = "java.io.IOException: No space left on device\n\tat Saver.save(Saver.java:42)\n"
    return {
        str(uuid.uuid4()): BugReportPayload(
            title="Editor crashes when saving a large file",
            description="Saving a 5 MB document closes the editor without a message.",
            steps_to_reproduce="1. open a 5 MB file\n2. press Ctrl+S",
            logs=crash,
            product=f"editor-{tag}",
            component="files",
        ),
        str(uuid.uuid4()): BugReportPayload(
            title="Importer rejects UTF-16 CSV files",
            description="A CSV saved as UTF-16 by a spreadsheet fails to import. " * 3,
            steps_to_reproduce="1. export as UTF-16\n2. import",
            logs=crash * 200,  # ~15,000 characters: the row keeps the first EXCERPT_CHARS
            product=f"editor-{tag}",
            component="import",
        ),
    }


def _pair(tag: str) -> tuple[tuple[str, BugReportPayload], tuple[str, BugReportPayload]]:
    """A report and a paraphrase of it (a possible duplicate under the test's bands)."""
    original = BugReportPayload(
        title="Chart legend disappears after switching the spreadsheet to the dark theme",
        description="With the dark theme on, the legend of every chart in the sheet is gone.",
        steps_to_reproduce="1. insert a chart\n2. Settings > Theme > Dark",
        product=f"sheets-{tag}",
        component="charts",
    )
    paraphrase = BugReportPayload(
        title="Dark theme hides the legend of spreadsheet charts",
        description="Once I changed to the dark theme the chart legends vanished from my sheet.",
        steps_to_reproduce="1. switch theme to dark\n2. look at any chart",
        product=f"sheets-{tag}",
        component="charts",
    )
    return (str(uuid.uuid4()), original), (str(uuid.uuid4()), paraphrase)


def _wait_rows(
    conn: psycopg.Connection[Any], workers: Supervisor, ids: list[str]
) -> dict[str, tuple[Any, ...]]:
    """Each submission's results row (text, product and verdict), once all have landed."""
    rows: dict[str, tuple[Any, ...]] = {}
    deadline = time.monotonic() + ROW_DEADLINE_S
    while len(rows) < len(ids):
        assert not workers.failed(), f"a worker died: {workers.failed()}"
        assert time.monotonic() < deadline, f"rows after {ROW_DEADLINE_S}s: {list(rows)}"
        for row in conn.execute(
            "SELECT submission_id, title, description, steps_to_reproduce, logs, product, "
            "component, duplicate_status, similar_items->0->>'submission_id' "
            "FROM results_bug_report WHERE submission_id = ANY(%s)",
            (ids,),
        ):
            rows[str(row[0])] = row[1:]
        time.sleep(0.05)
    return rows


@pytest.mark.timeout(600)
def test_the_pipeline_stores_the_reports_text(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERSTREAM_WORKER_BATCH_MAX_WAIT_MS", "0")
    monkeypatch.setenv("INFERSTREAM_WORKER_POLL_TIMEOUT_MS", "20")
    monkeypatch.setenv("INFERSTREAM_WORKER_MODELS_DIR", str(stack.data_dir / "models"))
    tag = uuid.uuid4().hex[:8]
    monkeypatch.setenv("INFERSTREAM_BUG_REPORT_DEDUP_PROFILE", "seed")
    monkeypatch.setenv("INFERSTREAM_BUG_REPORT_SEED_DUPLICATE_THRESHOLD", "0.995")
    monkeypatch.setenv("INFERSTREAM_BUG_REPORT_SEED_POSSIBLE_THRESHOLD", "0.5")
    payloads = _payloads(tag)
    (original_id, original), (copy_id, paraphrase) = _pair(tag)
    workers = Supervisor("bug_report", {"enrich": 1, "infer": 1, "sink": 1}, log_dir=tmp_path)
    workers.start()
    try:
        with (
            Publisher("bug_report", stack.kafka) as publisher,
            psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn,
        ):
            for sid, payload in [*payloads.items(), (original_id, original)]:
                publisher.publish(payload, submission_id=sid, wait=True)
            rows = _wait_rows(conn, workers, [*payloads, original_id])
            # The infer worker indexes each result before it polls again: once the original's
            # row is there, the paraphrase is scored against it.
            publisher.publish(paraphrase, submission_id=copy_id, wait=True)
            rows |= _wait_rows(conn, workers, [copy_id])
            served = submission_status(conn, next(iter(payloads))).result
    finally:
        codes = workers.stop()
    assert all(code == 0 for code in codes.values()), codes

    for sid, p in payloads.items():
        assert rows[sid][:6] == (
            p.title,
            p.description[:EXCERPT_CHARS],
            p.steps_to_reproduce,
            p.logs[:EXCERPT_CHARS],
            p.product,
            p.component,
        )
    long_logs = rows[list(payloads)[1]][3]
    assert isinstance(long_logs, str) and len(long_logs) == EXCERPT_CHARS
    assert served is not None and served.title == "Editor crashes when saving a large file"
    assert rows[copy_id][6:] == ("possible_duplicate", original_id), rows[copy_id]
    _review_loop(stack, tmp_path, tag, original_id, copy_id)


def _review_loop(stack: Stack, tmp_path: Path, tag: str, original_id: str, copy_id: str) -> None:
    """The pipeline's possible duplicate: queue -> confirm -> feedback topic -> eval's labels."""
    with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
        prefix = ApiSettings.load().api_key_prefix
        key = create_key(conn, prefix=prefix, name=f"triager-{tag}", role=Role.producer, ttl_days=1)
    auth = {"Authorization": f"Bearer {key.key}"}
    # The API's app in this process (the `inferstream api` process is the API tests' part):
    # the same routes on the same Postgres and broker, without another interpreter's start-up.
    app = create_app(ApiSettings.load(), stack.postgres, kafka=stack.kafka)
    with TestClient(app) as http:
        queue = http.get("/v1/review/bug_report", params={"product": f"sheets-{tag}"}, headers=auth)
        assert queue.status_code == 200, queue.text
        assert [(i["submission_id"], i["candidate_id"]) for i in queue.json()["items"]] == [
            (copy_id, original_id)
        ]
        decided = http.post(
            f"/v1/review/bug_report/{copy_id}", json={"decision": "confirm"}, headers=auth
        )
        assert decided.status_code == 201, decided.text
    deadline = time.monotonic() + FEEDBACK_DEADLINE_S
    while not (ours := [r for r in read_feedback(stack.kafka) if r["submission_id"] == copy_id]):
        assert time.monotonic() < deadline, "the decision never reached feedback.bug_report"
        time.sleep(0.5)
    assert [(r["decision"], r["original_id"], r["model_status"]) for r in ours] == [
        ("confirm", original_id, "possible_duplicate")
    ]
    assert ours[0]["dedup_profile"] == "seed"
    labels_path = tmp_path / "labels.json"
    run_from_feedback(labels_path)  # what `eval dedup --from-feedback --labels-out` runs
    groups = json.loads(labels_path.read_text())["duplicate_groups"]
    assert [sorted(g) for g in groups if copy_id in g] == [sorted([original_id, copy_id])]
