"""Property tests: every valid envelope and result survives encode -> decode unchanged."""

from __future__ import annotations

from datetime import datetime
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st
from schemas_strategies import PAYLOADS, RESULTS, aware_datetimes, submission_ids

from inferstream.schemas import (
    TASKS,
    TaskName,
    build_envelope,
    decode_envelope,
    decode_result,
    encode,
    get_task,
    make_result_id,
)


def test_strategies_cover_every_task() -> None:
    assert set(PAYLOADS) == set(TASKS) == set(RESULTS) == set(get_args(TaskName))


def _envelope_roundtrip(task: str, payload: Any, sid: str, at: datetime, tenant: str) -> None:
    env = build_envelope(task, payload, submission_id=sid, produced_at=at, tenant=tenant)
    assert isinstance(env, get_task(task).envelope_model)
    assert env.task == task
    assert env.schema_version == get_task(task).schema_version
    decoded = decode_envelope(task, encode(env))
    assert decoded == env
    assert decoded.payload == payload
    assert encode(decoded) == encode(env)


_tenants = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,20}", fullmatch=True)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_envelope_roundtrip(task: str) -> None:
    @given(PAYLOADS[task], submission_ids, aware_datetimes, _tenants)
    def check(payload: Any, sid: str, at: datetime, tenant: str) -> None:
        _envelope_roundtrip(task, payload, sid, at, tenant)

    check()


@pytest.mark.parametrize("task", sorted(TASKS))
def test_envelope_roundtrip_from_mapping(task: str) -> None:
    @given(PAYLOADS[task])
    def check(payload: Any) -> None:
        env = build_envelope(task, payload.model_dump(mode="json"))
        assert env.payload == payload
        assert decode_envelope(task, encode(env)) == env

    check()


@pytest.mark.parametrize("task", sorted(TASKS))
def test_result_roundtrip(task: str) -> None:
    @given(RESULTS[task])
    def check(result: Any) -> None:
        assert result.task == task
        assert result.result_id == make_result_id(
            result.submission_id, result.model_name, result.model_version
        )
        decoded = decode_result(task, encode(result))
        assert type(decoded) is get_task(task).result_model
        assert decoded == result

    check()
