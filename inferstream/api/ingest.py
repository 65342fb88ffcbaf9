"""Optional HTTP ingest: validate and publish a submission (202 + a status URL). Large media goes
to object storage by presigned upload (``uploads``), never in a submission."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, ValidationError

from inferstream.api.context import Context, Producer
from inferstream.api.media_checks import check_submission
from inferstream.api.problems import PROBLEM_RESPONSES, ProblemError
from inferstream.client import Publisher, PublishError
from inferstream.schemas import TASKS, MediaPayload, build_envelope, format_validation_error
from inferstream.settings import KafkaSettings
from inferstream.storage import ObjectStore

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES)


@dataclass
class Ingest:
    """What ingest needs besides the database; absent settings mean ingest is switched off."""

    kafka: KafkaSettings | None
    objects: ObjectStore | None
    _publishers: dict[str, Publisher] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def publisher(self, task: str) -> Publisher:
        if self.kafka is None:
            raise ProblemError(503, "HTTP ingest is not configured", slug="ingest-off")
        with self._lock:
            if task not in self._publishers:
                self._publishers[task] = Publisher(task, self.kafka, source="http")
            return self._publishers[task]


class Accepted(BaseModel):
    submission_id: str
    status: str = "processing"
    check_url: str


def ingest_of(ctx: Context) -> Ingest:
    ingest = getattr(ctx, "ingest", None)
    if not isinstance(ingest, Ingest):
        raise ProblemError(503, "HTTP ingest is not configured", slug="ingest-off")
    return ingest


@router.post("/submissions/{task}", status_code=202, tags=["submissions"])
def submit(
    task: Annotated[str, Path(pattern=r"^[a-z_]{1,32}$")],
    body: Annotated[dict[str, Any], Body()],
    ctx: Context,
    _: Producer,
) -> Accepted:
    """Validate a payload (or {"submission_id"?, "payload", "tenant"?}) and publish it; answers
    once the broker has it (acks=all). Poll the check_url for the result."""
    if task not in TASKS:
        raise ProblemError(404, f"unknown task {task!r}", slug="not-found")
    envelope_like = "payload" in body
    payload = body["payload"] if envelope_like else body
    if not isinstance(payload, dict):
        raise ProblemError(422, "payload: expected a JSON object", slug="invalid")
    try:
        envelope = build_envelope(
            task,
            payload,
            submission_id=body.get("submission_id") if envelope_like else None,
            tenant=str(body.get("tenant", "default")) if envelope_like else "default",
            source="http",
        )
    except ValidationError as err:
        detail = "; ".join(f"{where}: {msg}" for where, msg in format_validation_error(err))
        raise ProblemError(422, detail[:2000], slug="invalid") from None
    if isinstance(envelope.payload, MediaPayload):
        check_submission(envelope.payload)  # DeepDetect's rules, in enrich's words
    publisher = ingest_of(ctx).publisher(task)
    _check_owner(ctx, envelope.submission_id, task)
    try:
        publisher.send(envelope)
        publisher.flush(timeout_s=10.0)
    except PublishError as err:
        raise ProblemError(
            503, f"the broker did not accept it: {err}", slug="unavailable"
        ) from None
    with ctx.db.connection() as conn:
        conn.execute(
            "INSERT INTO submissions (submission_id, task, tenant, status) "
            "VALUES (%s, %s, %s, 'processing') ON CONFLICT (submission_id) DO NOTHING",
            (envelope.submission_id, task, envelope.tenant),
        )
    return Accepted(
        submission_id=envelope.submission_id,
        check_url=f"/v1/submissions/{envelope.submission_id}",
    )


def _check_owner(ctx: Context, submission_id: str, task: str) -> None:
    """A submission id belongs to the task that first used it: reusing it for another task is
    refused (409) before anything is published (the sink also never lets another task's record
    change its status)."""
    with ctx.db.connection() as conn:
        row = conn.execute(
            "SELECT task FROM submissions WHERE submission_id = %s", (submission_id,)
        ).fetchone()
    if row is not None and row[0] != task:
        raise ProblemError(
            409, "this submission_id is already used by another task", slug="conflict"
        )
