"""The results API's own Postgres role: it reads what the API reads and writes only what the API
writes (never results, offsets, dead letters or the schema). Run by the table owner after every
`db migrate` (`inferstream db grant-api ROLE`), so tables a new migration adds are covered;
a table named here that does not exist yet is skipped.

The lists follow the SQL in inferstream/api/: results are read from every `results_<task>`
table; keys, web sessions and shared rate-limit counters are the API's own state.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

READS = (
    "submissions",
    "dead_letters",
    "model_versions",
    "model_aliases",
    "model_alias_history",
    "model_results",  # other versions' results: GET /v1/results/{task}/{id}?version=
    "api_keys",
    "web_sessions",
    "api_rate_hits",
    "bug_report_reviews",
    "schema_migrations",  # the API's release gate waits until no migration is pending
)
RESULTS_PATTERN = "results\\_%"
WRITES = {
    "submissions": ("INSERT",),  # HTTP ingest records 'processing' (ON CONFLICT DO NOTHING)
    "api_keys": ("INSERT", "UPDATE"),  # create, rotate, revoke, last-used
    "web_sessions": ("INSERT", "DELETE"),
    "api_rate_hits": ("INSERT", "DELETE"),
    "bug_report_reviews": ("INSERT",),  # reviewers' decisions in the web view
}


def existing_tables(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {str(row[0]) for row in rows}


def grant_api_role(conninfo: str, role: str) -> list[str]:
    """Revoke what the role had on the schema's tables, then grant the lists above; return the
    statements run (for the log). Idempotent; one transaction."""
    done: list[str] = []
    with psycopg.connect(conninfo) as conn, conn.transaction():
        found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if found is None:
            raise ValueError(f"role {role!r} does not exist: create it first (db-bootstrap)")
        tables = existing_tables(conn)
        results = sorted(t for t in tables if t.startswith("results_"))
        who = sql.Identifier(role)
        statements = [sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(who)]
        statements.append(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(who))
        for table in [*results, *sorted(set(READS) & tables)]:
            statements.append(
                sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(table), who)
            )
        for table, privileges in sorted(WRITES.items()):
            if table in tables:
                statements.append(
                    sql.SQL("GRANT {} ON {} TO {}").format(
                        sql.SQL(", ").join(sql.SQL(p) for p in privileges),
                        sql.Identifier(table),
                        who,
                    )
                )
                statements.extend(_sequences(conn, table, who))
        for statement in statements:
            conn.execute(statement)
            done.append(statement.as_string(conn))
    return done


def _sequences(
    conn: psycopg.Connection[Any], table: str, who: sql.Identifier
) -> list[sql.Composed]:
    """USAGE on the sequences behind a writable table's serial columns (inserts draw ids)."""
    rows = conn.execute(
        "SELECT pg_get_serial_sequence(quote_ident(table_name), column_name) "
        "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s",
        (table,),
    ).fetchall()
    return [
        sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(sql.SQL(str(row[0])), who)
        for row in rows
        if row[0]
    ]
