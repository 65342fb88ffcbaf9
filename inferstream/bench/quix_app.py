"""The Quix Streams contender for scenario 2 (`bench naive`), written the way a Quix Streams user
writes it: a quixstreams ``Application`` with its defaults (at-least-once, a checkpoint every
5 s), sentence-transformers ``encode`` per message inside ``apply``, and Quix's own
``PostgreSQLSink``, which buffers the rows of a checkpoint and writes them with one
``execute_values`` INSERT and one transaction when the checkpoint commits, before the offsets.

It runs as its own process with the quixstreams packages first on its path: quixstreams 3.28
pins confluent-kafka < 2.13 and pydantic < 2.14, older than the project's, so they are installed
apart (``pip install --target``, see ``inferstream.bench.quix``)::

    python -m inferstream.bench.quix_app BOOTSTRAP CONNINFO TOPIC GROUP IDLE_S DEVICE

It prints ``ready`` once the model is loaded and stops after IDLE_S seconds without a message
(or on SIGTERM, which Quix handles: the last checkpoint is committed).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from inferstream.bench.naive_worker import text_of, vector_literal

# Its own table: the same columns as the per-message worker's, so both write the same rows.
TABLE = "bench_quix_results"


def sink_settings(conninfo: str) -> dict[str, Any]:
    """PostgreSQLSink's connection arguments from a libpq conninfo (host, port, dbname, user,
    password are its named parameters; the rest go to psycopg2.connect as they are)."""
    from psycopg.conninfo import conninfo_to_dict

    dsn: dict[str, Any] = dict(conninfo_to_dict(conninfo))
    return {
        "host": dsn.pop("host", "localhost"),
        "port": int(dsn.pop("port", 5432)),
        "dbname": dsn.pop("dbname"),
        "user": dsn.pop("user"),
        "password": dsn.pop("password", ""),
        **dsn,
    }


def main(argv: list[str]) -> int:
    from quixstreams import Application
    from quixstreams.sinks.community.postgresql import PostgreSQLSink
    from sentence_transformers import SentenceTransformer

    from inferstream.models import minilm_weights_dir

    bootstrap, conninfo, topic_name, group = argv[0], argv[1], argv[2], argv[3]
    idle_s, device = float(argv[4]), argv[5]
    model = SentenceTransformer(str(minilm_weights_dir()), device=device)

    def embed(envelope: Mapping[str, Any]) -> dict[str, Any]:
        vector = model.encode(text_of(envelope["payload"]))
        return {"submission_id": envelope["submission_id"], "embedding": vector_literal(vector)}

    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        loglevel="WARNING",
    )
    sdf = app.dataframe(app.topic(topic_name, value_deserializer="json"))
    sdf = sdf.apply(embed)
    # The table exists (a vector(384) column, which the sink's schema auto-update cannot
    # declare); a replay after a crash inserts rows already there: skip them.
    sdf.sink(
        PostgreSQLSink(
            table_name=TABLE,
            schema_auto_update=False,
            on_conflict_do_nothing=True,
            include_metadata=False,
            **sink_settings(conninfo),
        )
    )
    print("ready", flush=True)
    app.run(timeout=idle_s)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
