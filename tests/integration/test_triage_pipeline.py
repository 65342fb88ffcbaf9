"""The report's own text through the real pipeline (enrich -> infer -> sink): the row the triage
view reads holds the title whole and the long fields cut to their excerpts, and the API's reads
return them."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import psycopg
import pytest
from _stack import Stack

from inferstream.api.queries import submission_status
from inferstream.client import Publisher
from inferstream.schemas import BugReportPayload
from inferstream.schemas.tasks.bug_report import EXCERPT_CHARS
from inferstream.workers.supervisor import Supervisor

ROW_DEADLINE_S = 180.0


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


@pytest.mark.timeout(600)
def test_the_pipeline_stores_the_reports_text(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFERSTREAM_WORKER_BATCH_MAX_WAIT_MS", "0")
    monkeypatch.setenv("INFERSTREAM_WORKER_POLL_TIMEOUT_MS", "20")
    monkeypatch.setenv("INFERSTREAM_WORKER_MODELS_DIR", str(stack.data_dir / "models"))
    payloads = _payloads(uuid.uuid4().hex[:8])
    workers = Supervisor("bug_report", {"enrich": 1, "infer": 1, "sink": 1}, log_dir=tmp_path)
    workers.start()
    rows: dict[str, tuple[object, ...]] = {}
    try:
        with (
            Publisher("bug_report", stack.kafka) as publisher,
            psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn,
        ):
            for sid, payload in payloads.items():
                publisher.publish(payload, submission_id=sid, wait=True)
            deadline = time.monotonic() + ROW_DEADLINE_S
            while len(rows) < len(payloads):
                assert not workers.failed(), f"a worker died: {workers.failed()}"
                assert time.monotonic() < deadline, f"rows after {ROW_DEADLINE_S}s: {list(rows)}"
                for row in conn.execute(
                    "SELECT submission_id, title, description, steps_to_reproduce, logs, "
                    "product, component FROM results_bug_report WHERE submission_id = ANY(%s)",
                    (list(payloads),),
                ):
                    rows[str(row[0])] = row[1:]
                time.sleep(0.05)
            served = submission_status(conn, next(iter(payloads))).result
    finally:
        codes = workers.stop()
    assert all(code == 0 for code in codes.values()), codes

    for sid, p in payloads.items():
        assert rows[sid] == (
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
