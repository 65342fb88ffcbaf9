"""schemathesis against the running API's own OpenAPI schema: no 5xx, responses conform."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
import schemathesis
from _stack import Stack, serve_api
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from inferstream.api import Role
from inferstream.api.keys import create_key
from inferstream.settings import ApiSettings

KEYS: dict[Role, str] = {}
# Examples per operation and role: admin gets the most (it reaches every handler), the lower
# roles check that refusals (403) conform too.
EXAMPLES = {Role.reader: 8, Role.producer: 8, Role.admin: 15}


@pytest.fixture(scope="module")
def api_schema(stack: Stack) -> Iterator[Any]:
    with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
        prefix = ApiSettings.load().api_key_prefix
        for role in Role:
            KEYS[role] = create_key(
                conn, prefix=prefix, name=f"fuzz-{role.name}", role=role, ttl_days=1
            ).key
    env = {
        "INFERSTREAM_API_RATE_READS_PER_HOUR": "1000000",
        "INFERSTREAM_API_RATE_WRITES_PER_HOUR": "1000000",
    }
    with serve_api(stack, env) as base:
        # The first search loads the MiniLM bundle (seconds on a busy machine): load it here, so
        # the generated calls run against a warm server within schemathesis's 10 s timeout.
        warm = httpx.post(
            f"{base}/v1/search/bug_report",
            json={"text": "warm up", "k": 1},
            headers={"Authorization": f"Bearer {KEYS[Role.reader]}"},
            timeout=300,
        )
        assert warm.status_code == 200, warm.text
        yield schemathesis.openapi.from_url(f"{base}/openapi.json")


def fuzz(operation: Any, headers: dict[str, str], examples: int, statuses: Counter[int]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case: Any) -> None:
        # Opaque cursors and semantic checks (timestamps, task names) can refuse schema-valid
        # input with a documented 400 problem; every other check applies: no 5xx, documented
        # status codes, content types, headers and response schemas.
        response = case.call_and_validate(
            headers=headers, excluded_checks=[positive_data_acceptance]
        )
        statuses[response.status_code] += 1

    check()


def test_the_api_conforms_to_its_own_schema(api_schema: Any) -> None:
    """Every operation with a reader, a producer and an admin key, property-based (the pytest
    plugin of schemathesis does not load on this pytest, so the operations are driven with
    hypothesis directly)."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 8
    statuses: Counter[int] = Counter()
    for role in Role:
        for operation in operations:
            fuzz(operation, {"Authorization": f"Bearer {KEYS[role]}"}, EXAMPLES[role], statuses)
    assert not [code for code in statuses if code >= 500], statuses
    assert statuses[403] > 0, "the lower roles were refused somewhere"
    print(f"schemathesis: {sum(statuses.values())} calls, by status {sorted(statuses.items())}")
