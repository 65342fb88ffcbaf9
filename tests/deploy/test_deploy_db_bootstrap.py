"""The prod migrate Job's db-bootstrap step, run as rendered against a real PostgreSQL (the
embedded pgserver): it creates the application role the pods use (never the RDS master user,
whose password rotates), and the migrations then run as that role and leave it owning the schema.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from _deploy_common import K8S
from _deploy_kustomize import build

from inferstream.stack.servers import PostgresInfo, start_postgres, stop_postgres
from inferstream.storage import migrate

APP_ROLE = "inferstream_app"


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresInfo]:
    info = start_postgres(tmp_path_factory.mktemp("bootstrap"))
    try:
        yield info
    finally:
        stop_postgres(info.pid)


def bootstrap_command() -> list[str]:
    (job,) = [obj for obj in build(K8S / "overlays" / "prod") if obj["kind"] == "Job"]
    (step,) = job["spec"]["template"]["spec"]["initContainers"]
    assert step["name"] == "db-bootstrap"
    names = {e["name"] for e in step["env"]}
    assert names == {"INFERSTREAM_POSTGRES_PASSWORD", "PGUSER", "PGPASSWORD"}
    return [*step["command"], *step["args"]]


def run_bootstrap(info: PostgresInfo, password: str) -> str:
    command = bootstrap_command()
    assert command[:2] == ["python", "-c"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("INFERSTREAM_", "PG"))},
        "INFERSTREAM_POSTGRES_HOST": info.socket_dir,
        "INFERSTREAM_POSTGRES_PORT": str(info.port),
        "INFERSTREAM_POSTGRES_DATABASE": "inferstream",
        "INFERSTREAM_POSTGRES_USER": APP_ROLE,
        "INFERSTREAM_POSTGRES_PASSWORD": password,
        "INFERSTREAM_POSTGRES_SSLMODE": "disable",
        "INFERSTREAM_POSTGRES_SSLROOTCERT": "",
        "PGUSER": info.user,  # the master (superuser) credentials
        "PGPASSWORD": "unused-on-the-local-socket",
    }
    result = subprocess.run(
        [sys.executable, "-c", command[2]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_bootstrap_creates_the_role_and_migrations_run_as_it(postgres: PostgresInfo) -> None:
    assert run_bootstrap(postgres, "first-password").strip() == f"role {APP_ROLE}: created"
    # A second run (every release, or after a password rotation) alters the role in place.
    assert run_bootstrap(postgres, "second-password").strip() == f"role {APP_ROLE}: altered"
    as_app = f"host={postgres.socket_dir} port={postgres.port} user={APP_ROLE} dbname=inferstream"
    applied = migrate(as_app)
    assert applied, "a fresh database gets every migration"
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        role = conn.execute(
            "SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = %s", (APP_ROLE,)
        ).fetchone()
        assert role == (True, False)  # a login role, not a superuser
        owners = conn.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        assert owners == [(APP_ROLE,)]
        assert conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
