"""The Quix app's pieces that need no broker: the sink's connection arguments and the vector
text both contenders write."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inferstream.bench.naive_worker import vector_literal
from inferstream.bench.quix_app import sink_settings


def test_sink_settings_split_a_conninfo() -> None:
    got = sink_settings("host=/tmp/pg port=5433 dbname=inferstream user=me sslmode=disable")
    assert got == {
        "host": "/tmp/pg",
        "port": 5433,
        "dbname": "inferstream",
        "user": "me",
        "password": "",
        "sslmode": "disable",
    }
    assert sink_settings("postgresql://u:pw@db:5432/x")["password"] == "pw"


@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False, width=32), min_size=1, max_size=16))
def test_vector_literal_round_trips(values: list[float]) -> None:
    text = vector_literal(values)
    assert text[0] == "[" and text[-1] == "]"
    parsed = [float(x) for x in text[1:-1].split(",")]
    assert parsed == [float(f"{v:.7g}") for v in values]
