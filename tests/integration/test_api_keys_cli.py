"""`inferstream keys create|list|revoke|rotate` against the embedded Postgres, and the keys they
make used against the API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
import typer
from _stack import Stack, serve_api
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from inferstream.api import create_app
from inferstream.cli.api_cmds import register
from inferstream.settings import ApiSettings

KEY = re.compile(r"isk_live_[a-z0-9]{8}_[A-Za-z0-9]{43}")


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    register(app)
    return app


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[TestClient]:
    with TestClient(create_app(ApiSettings.load(), stack.postgres, key_cache_ttl_s=0)) as client:
        yield client


def run(cli: typer.Typer, *args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def created_key(result: Any) -> str:
    assert result.exit_code == 0, result.output
    keys = KEY.findall(result.stdout)
    assert len(keys) == 1, result.stdout
    return str(keys[0])


def test_create_list_rotate_revoke(cli: typer.Typer, api: TestClient, stack: Stack) -> None:
    key = created_key(run(cli, "keys", "create", "--name", "cli-portal", "--role", "producer"))
    prefix = key[: len("isk_live_") + 8]
    result_path = "/v1/results/bug_report?limit=1"
    assert api.get(result_path, headers={"X-API-Key": key}).status_code == 200

    listing = run(cli, "keys", "list")
    assert listing.exit_code == 0
    assert prefix in listing.stdout and "cli-portal" in listing.stdout, listing.output
    assert key not in listing.output and "argon2" not in listing.output

    rotated = run(cli, "keys", "rotate", prefix)
    new_key = created_key(rotated)
    assert new_key != key
    assert api.get(result_path, headers={"X-API-Key": key}).status_code == 401
    assert api.get(result_path, headers={"X-API-Key": new_key}).status_code == 200
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        row = conn.execute(
            "SELECT name, role FROM api_keys WHERE key_prefix = %s", (new_key[:17],)
        ).fetchone()
    assert row == ("cli-portal", "producer")

    revoked = run(cli, "keys", "revoke", new_key[:17])
    assert revoked.exit_code == 0
    assert api.get(result_path, headers={"X-API-Key": new_key}).status_code == 401


def test_list_warns_about_keys_expiring_within_7_days(cli: typer.Typer) -> None:
    key = created_key(
        run(cli, "keys", "create", "--name", "short-lived", "--role", "reader", "--ttl-days", "3")
    )
    listing = run(cli, "keys", "list")
    assert f"key {key[:17]} (short-lived) expires" in listing.stderr
    assert "rotate" in listing.stderr


def test_user_mistakes_are_one_line_errors(cli: typer.Typer) -> None:
    unknown = run(cli, "keys", "revoke", "isk_live_nosuchky")
    assert unknown.exit_code == 1 and "no API key" in unknown.stderr
    assert run(cli, "keys", "rotate", "isk_live_nosuchky").exit_code == 1
    bad_role = run(cli, "keys", "create", "--name", "x", "--role", "root")
    assert bad_role.exit_code == 2
    bad_ttl = run(cli, "keys", "create", "--name", "x", "--role", "reader", "--ttl-days", "0")
    assert bad_ttl.exit_code == 2


def test_inferstream_api_serves_the_readme_curl_examples(cli: typer.Typer, stack: Stack) -> None:
    key = created_key(run(cli, "keys", "create", "--name", "curl", "--role", "reader"))
    with serve_api(stack) as base:
        auth = {"Authorization": f"Bearer {key}"}
        assert httpx.get(f"{base}/ready").status_code == 200
        page = httpx.get(f"{base}/v1/results/bug_report?limit=2", headers=auth)
        assert page.status_code == 200 and "next_cursor" in page.json()
        status = httpx.get(f"{base}/v1/submissions/01JAAAAAAAAAAAAAAAAAAAAAAA", headers=auth)
        assert status.json()["status"] == "unknown"
        assert httpx.get(f"{base}/v1/results/bug_report").status_code == 401
        assert "api_requests_total" in httpx.get(f"{base}/metrics").text
