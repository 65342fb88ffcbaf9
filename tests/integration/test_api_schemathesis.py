"""schemathesis against the running API's own OpenAPI schema: no 5xx, responses conform."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import schemathesis
from _stack import Stack, serve_api
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from inferstream.api import Role
from inferstream.api.keys import create_key
from inferstream.settings import ApiSettings

KEY: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(stack: Stack) -> Iterator[Any]:
    with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
        prefix = ApiSettings.load().api_key_prefix
        KEY["value"] = create_key(conn, prefix=prefix, name="fuzz", role=Role.admin, ttl_days=1).key
    env = {
        "INFERSTREAM_API_RATE_READS_PER_HOUR": "1000000",
        "INFERSTREAM_API_RATE_WRITES_PER_HOUR": "1000000",
    }
    with serve_api(stack, env) as base:
        yield schemathesis.openapi.from_url(f"{base}/openapi.json")


def test_the_api_conforms_to_its_own_schema(api_schema: Any) -> None:
    """Every operation, property-based (the pytest plugin of schemathesis does not load on this
    pytest, so the operations are driven with hypothesis directly)."""
    headers = {"Authorization": f"Bearer {KEY['value']}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            # Opaque cursors and semantic checks (timestamps, task names) can refuse
            # schema-valid input with a documented 400 problem; every other check applies:
            # no 5xx, documented status codes, content types, headers and response schemas.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()
