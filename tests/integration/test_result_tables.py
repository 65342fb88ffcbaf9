"""Each results table as migrated equals its one declaration (inferstream.plugins.columns),
which the sink's rows, the infer history read and the API's bug_report mapping derive from."""

from __future__ import annotations

import psycopg
import pytest
from _stack import Stack

from inferstream.plugins.columns import TABLES

# What the table adds itself (defaults, commit order, the generated search vector): never
# written by the sink.
OWN_COLUMNS = {"created_at", "txid", "seq", "search_vector"}
# Declared COPY type -> the udt_name Postgres reports (char(64) ids are written as text).
UDT = {"text": {"text", "bpchar"}, "text[]": {"_text"}, "bool": {"bool"}}


@pytest.mark.parametrize("task", sorted(TABLES))
def test_the_migrated_table_has_exactly_the_declared_columns(stack: Stack, task: str) -> None:
    table = TABLES[task]
    with psycopg.connect(stack.postgres.conninfo()) as conn:
        live = dict(
            conn.execute(
                "SELECT column_name, udt_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = %s",
                (table.name,),
            ).fetchall()
        )
    assert live, f"{table.name} does not exist"
    assert set(live) - OWN_COLUMNS == set(table.columns)
    for column in table.all_columns:
        assert live[column.name] in UDT.get(column.pg_type, {column.pg_type}), column
