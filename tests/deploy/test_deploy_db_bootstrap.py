"""The prod migrate Job's db-bootstrap step, run as rendered against a real PostgreSQL (the
embedded pgserver): it creates the application role the workers use (never the RDS master user,
whose password rotates) and the results API's own role; the migrations then run as the app role
and leave it owning the schema, and the Job's grant step gives the API's role only its tables.
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
from inferstream.storage.api_role import grant_api_role

APP_ROLE = "inferstream_app"
API_ROLE = "inferstream_api"


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
    assert names == {
        "INFERSTREAM_POSTGRES_PASSWORD",
        "API_POSTGRES_USER",
        "API_POSTGRES_PASSWORD",
        "PGUSER",
        "PGPASSWORD",
    }
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
        "API_POSTGRES_USER": API_ROLE,
        "API_POSTGRES_PASSWORD": f"api-{password}",
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


def test_bootstrap_creates_the_roles_and_migrations_run_as_the_app_role(
    postgres: PostgresInfo,
) -> None:
    assert run_bootstrap(postgres, "first-password").split() == [
        "role",
        f"{APP_ROLE}:",
        "created",
        "role",
        f"{API_ROLE}:",
        "created",
    ]
    # A second run (every release, or after a password rotation) alters the roles in place.
    assert run_bootstrap(postgres, "second-password").split() == [
        "role",
        f"{APP_ROLE}:",
        "altered",
        "role",
        f"{API_ROLE}:",
        "altered",
    ]
    as_app = f"host={postgres.socket_dir} port={postgres.port} user={APP_ROLE} dbname=inferstream"
    applied = migrate(as_app)
    assert applied, "a fresh database gets every migration"
    with psycopg.connect(postgres.conninfo(), autocommit=True) as conn:
        roles = conn.execute(
            "SELECT rolname, rolcanlogin, rolsuper FROM pg_roles WHERE rolname = ANY(%s) "
            "ORDER BY rolname",
            ([APP_ROLE, API_ROLE],),
        ).fetchall()
        assert roles == [(API_ROLE, True, False), (APP_ROLE, True, False)]
        owners = conn.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        assert owners == [(APP_ROLE,)]
        assert conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()


def test_the_migrate_job_grants_the_api_role_only_what_the_api_does(
    postgres: PostgresInfo,
) -> None:
    """The Job's `db grant-api` step runs as the app role (the tables' owner), as in prod."""
    (job,) = [obj for obj in build(K8S / "overlays" / "prod") if obj["kind"] == "Job"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert (
        'inferstream db migrate && inferstream db grant-api "$API_POSTGRES_USER"'
        in (container["args"][0])
    )
    run_bootstrap(postgres, "third-password")
    base = f"host={postgres.socket_dir} port={postgres.port} dbname=inferstream"
    migrate(f"{base} user={APP_ROLE}")
    grant_api_role(f"{base} user={APP_ROLE}", API_ROLE)
    with psycopg.connect(f"{base} user={API_ROLE}", autocommit=True) as conn:
        conn.execute("SELECT count(*) FROM results_bug_report").fetchone()
        conn.execute(
            "INSERT INTO submissions (submission_id, task, status) "
            "VALUES ('boot-1', 'churn', 'processing') ON CONFLICT (submission_id) DO NOTHING"
        )
        for statement in (
            "UPDATE results_bug_report SET quality_score = 0",
            "SELECT * FROM consumer_offsets",
            "DELETE FROM dead_letters",
            "CREATE TABLE planted (x int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
