"""The naive contender for scenario 2, written the way a typical Kafka + Python user would:
a plain confluent-kafka consumer, sentence-transformers ``encode`` per message, an ordinary
psycopg INSERT + commit per message, then the offset commit. Run as its own process:

    python -m inferstream.bench.naive_worker BOOTSTRAP CONNINFO N [IDLE_S [DEVICE [TOPIC]]]

It exits after N messages (or IDLE_S seconds without one) and prints how many it wrote.
DEVICE: where sentence-transformers runs the model (cpu, the default, or cuda). TOPIC: the
topic to read (its consumer group is named after it), by default ``TOPIC``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable
from typing import Any

TABLE = "bench_naive_results"
IDLE_S = 60.0
GROUP = "bench.naive"
# Its own copy of the submissions (same envelope bytes), so it never reads the other
# contender's records and starts at offset 0 like a fresh deployment.
TOPIC = "bench.naive.submissions"


def create_table(conninfo: str, table: str = TABLE) -> None:
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (submission_id text PRIMARY KEY, "
            "embedding vector(384) NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )


def create_topic(bootstrap: str, topic: str = TOPIC, partitions: int = 4) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, partitions, 1)])
    for future in futures.values():
        future.result(30)


def vector_literal(vector: Iterable[float]) -> str:
    """pgvector's text form of an embedding (both contenders write it the same way)."""
    return "[" + ",".join(f"{x:.7g}" for x in vector) + "]"


def text_of(payload: dict[str, Any]) -> str:
    """The same text our pipeline embeds, so both contenders run the model on equal input."""
    from inferstream.schemas import BugReportPayload
    from inferstream.tasks.bug_report.quality import canonical_text

    return canonical_text(BugReportPayload.model_validate(payload))


def main(argv: list[str]) -> int:
    import psycopg
    from confluent_kafka import Consumer
    from sentence_transformers import SentenceTransformer

    from inferstream.models import minilm_weights_dir

    bootstrap, conninfo, n = argv[0], argv[1], int(argv[2])
    idle_s = float(argv[3]) if len(argv) > 3 else IDLE_S
    device = argv[4] if len(argv) > 4 else "cpu"
    topic = argv[5] if len(argv) > 5 else TOPIC
    model = SentenceTransformer(str(minilm_weights_dir()), device=device)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": GROUP if topic == TOPIC else topic,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    # Joined and assigned before the clock starts (the group join is not its per-message cost).
    deadline = time.monotonic() + 60
    while not consumer.assignment() and time.monotonic() < deadline:
        consumer.poll(0.2)
    conn = psycopg.connect(conninfo)
    print("ready", flush=True)
    done, last = 0, time.monotonic()
    while done < n and time.monotonic() - last < idle_s:
        msg = consumer.poll(1.0)
        if msg is None or msg.error():
            continue
        envelope = json.loads(msg.value() or b"{}")
        vector = model.encode(text_of(envelope["payload"]))
        conn.execute(
            f"INSERT INTO {TABLE} (submission_id, embedding) VALUES (%s, %s::vector) "
            "ON CONFLICT DO NOTHING",
            (envelope["submission_id"], vector_literal(vector)),
        )
        conn.commit()
        consumer.commit(message=msg, asynchronous=False)
        done += 1
        last = time.monotonic()
    consumer.close()
    conn.close()
    print(f"wrote {done}", flush=True)
    return 0 if done >= n else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
