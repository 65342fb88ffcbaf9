"""A bug_report result with a non-finite embedding, on the real embedded Postgres. Version 1's
float list with a JSON null (what orjson wrote for a NaN or an infinite float32 before infer
refused non-finite embeddings): pgvector refuses the value, the sink's batch fails as poison,
the runtime's bisection isolates the record and dead-letters it with the reason, and its
batch's other results are stored; the dead letter, read back by the sink, is recorded with
that reason. Version 2's base64 of a NaN: the sink's decoding dead-letters it itself."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import psycopg
import pytest
from _stack import Stack, scratch_database

from inferstream.bench.sink import synthetic_results
from inferstream.plugins import encode_results, load_plugin
from inferstream.schemas import encode_embeddings_b64
from inferstream.storage import migrate
from inferstream.topology import DEADLETTER_TOPIC
from inferstream.workers.runtime.deadletter import deadletter_message
from inferstream.workers.runtime.headers import SUBMISSION_ID
from inferstream.workers.runtime.isolation import process_isolating
from inferstream.workers.runtime.records import Emit, InRecord, Reject
from inferstream.workers.sink.driver import SinkLogic
from inferstream.workers.sink.writer import PostgresSinkWriter

TOPIC = "results.bug_report"


@pytest.fixture(scope="module")
def conninfo(stack: Stack) -> Iterator[str]:
    with scratch_database(stack, "snf") as conninfo:
        migrate(conninfo)
        yield conninfo


def _record(offset: int, fields: dict[str, Any]) -> InRecord:
    (value,) = encode_results([fields])
    key = str(fields["submission_id"]).encode()
    return InRecord(TOPIC, 0, offset, key, value, ((SUBMISSION_ID, key),))


@pytest.mark.parametrize("position", [0, 383])
def test_a_null_in_an_embedding_is_dead_lettered_with_its_reason(
    conninfo: str, position: int
) -> None:
    plugin = load_plugin("bug_report")
    group = f"sink-nonfinite-{uuid.uuid4().hex[:8]}"
    logic = SinkLogic(plugin, PostgresSinkWriter(conninfo, plugin.table, group, "bug_report"))
    results = [r.model_dump() for r in synthetic_results(4, seed=uuid.uuid4().int % 2**32)]
    embedding: list[float | None] = list(results[2]["embedding"])
    embedding[position] = None  # orjson's NaN, +inf and -inf
    results[2]["embedding"] = embedding
    # Offsets of this test's own: a dead letter is recorded once per original position.
    base = uuid.uuid4().int % 2**40
    batch = [_record(base + i, fields) for i, fields in enumerate(results)]
    assert b"null" in batch[2].value
    try:
        outcomes, _ = process_isolating(batch, lambda part: logic.process(part, None))
        assert [type(o) for o in outcomes] == [Emit, Emit, Reject, Emit]
        reject = outcomes[2]
        assert isinstance(reject, Reject) and reject.kind == "poison"
        assert "NaN not allowed in vector" in reject.reason, reject.reason
        dead = deadletter_message("sink", batch[2], reject)
        assert dead.topic == DEADLETTER_TOPIC and dead.value == batch[2].value
        headers = dict(dead.headers)
        assert headers["x-error-reason"].decode() == reject.reason
        # The sink reads its dead letter back (after the results it stored).
        logic.process([InRecord(DEADLETTER_TOPIC, 0, 0, dead.key, dead.value, dead.headers)], None)
    finally:
        logic.close()
    ids = [str(r["submission_id"]) for r in results]
    with psycopg.connect(conninfo) as conn:
        stored = {
            str(r[0])
            for r in conn.execute(
                "SELECT submission_id FROM results_bug_report WHERE submission_id = ANY(%s)",
                (ids,),
            )
        }
        letters = conn.execute(
            "SELECT stage, kind, reason FROM dead_letters WHERE submission_id = %s", (ids[2],)
        ).fetchall()
        status = conn.execute(
            "SELECT status, reason FROM submissions WHERE submission_id = %s", (ids[2],)
        ).fetchone()
    assert stored == {ids[0], ids[1], ids[3]}
    assert letters == [("sink", "poison", reject.reason)]
    assert status == ("rejected", reject.reason)


def test_a_version_2_nan_embedding_is_dead_lettered_by_the_sink(conninfo: str) -> None:
    plugin = load_plugin("bug_report")
    group = f"sink-nonfinite-{uuid.uuid4().hex[:8]}"
    logic = SinkLogic(plugin, PostgresSinkWriter(conninfo, plugin.table, group, "bug_report"))
    results = [r.model_dump() for r in synthetic_results(3, seed=uuid.uuid4().int % 2**32)]
    for fields in results:
        vector = np.asarray(fields.pop("embedding"), dtype=np.float32)
        if fields is results[1]:
            vector[7] = np.nan
        (fields["embedding_b64"],) = encode_embeddings_b64(vector[None, :])
        fields["schema_version"] = 2
    base = uuid.uuid4().int % 2**40
    batch = [_record(base + i, fields) for i, fields in enumerate(results)]
    try:
        assert [type(o) for o in logic.process(batch, None)] == [Emit] * 3
    finally:
        logic.close()
    ids = [str(r["submission_id"]) for r in results]
    with psycopg.connect(conninfo) as conn:
        stored = conn.execute(
            "SELECT submission_id FROM results_bug_report WHERE submission_id = ANY(%s)", (ids,)
        ).fetchall()
        letters = conn.execute(
            "SELECT stage, kind, reason FROM dead_letters WHERE submission_id = %s", (ids[1],)
        ).fetchall()
    assert {str(r[0]) for r in stored} == {ids[0], ids[2]}
    ((stage, kind, reason),) = letters
    assert (stage, kind) == ("sink", "rejected")
    assert "NaN or an infinity" in reason, reason
