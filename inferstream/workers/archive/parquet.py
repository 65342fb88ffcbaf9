"""One results-lake file: the records of a closed file as deterministic Parquet bytes.

Deterministic means the same records give the same bytes (with the same compression setting,
ZSTD_LEVEL and pyarrow version): a fixed schema and column order, one row group, no wall-clock
metadata. That is what makes a replay after a crash rewrite an identical object. A file
replayed after one of those changed is rewritten under its key as the same rows in other bytes.

Columns: where the record sits (topic, partition, offset, timestamp), its key, the result's
identity (result_id, submission_id, task, schema_version, model_name, model_version,
produced_at), and `result`: the task's own result fields as a JSON object, in the producer's
order. A value that is not a JSON object keeps its text in `result` with the identity columns
null, so the lake holds every record of the topic, not only the well-formed ones.

`result` is the producer's own text where it can be: a value that opens with the identity
fields exactly as `plugins.results.result_head` has every producer write them keeps the rest of
its bytes (no re-encode: a replay reads the same bytes, so the file is as deterministic as the
records). The value is still parsed, so only a JSON object gets identity columns; any other
object is re-encoded without its identity fields (orjson, the producer's order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from inferstream.workers.archive.policy import ArchiveRecord

# The result's identity, in the order every producer writes it first (`result_head`, which a
# test holds to it) and the columns' order.
HEAD = (
    "result_id",
    "submission_id",
    "task",
    "schema_version",
    "model_name",
    "model_version",
    "produced_at",
)
TEXT = tuple(name for name in HEAD if name != "schema_version")
# zstd's level 3 cost 33-45 us a record, level 1 17-20 with files no larger (bench archive).
ZSTD_LEVEL = 1

SCHEMA = pa.schema(
    [
        pa.field("topic", pa.string(), nullable=False),
        pa.field("partition", pa.int32(), nullable=False),
        pa.field("offset", pa.int64(), nullable=False),
        pa.field("timestamp", pa.timestamp("ms", tz="UTC")),
        pa.field("key", pa.string()),
        *(pa.field(name, pa.string() if name in TEXT else pa.int32()) for name in HEAD),
        pa.field("result", pa.string()),
    ]
)


def _split(value: bytes) -> tuple[dict[str, Any], bytes]:
    """(identity fields, the rest as JSON); a non-object value is kept as text. The rest is
    the UTF-8 of the `result` column's string (a parsed value is valid UTF-8: orjson refuses
    any other; anything else is decoded with replacement and encoded again)."""
    try:
        message = orjson.loads(value)
    except orjson.JSONDecodeError:
        return {}, value.decode(errors="replace").encode()
    if not isinstance(message, dict):
        return {}, value
    identity = {name: message.pop(name, None) for name in HEAD}
    return identity, _rest_as_written(value, identity) or orjson.dumps(message)


def _rest_as_written(value: bytes, identity: dict[str, Any]) -> bytes | None:
    """The fields after the identity head, as the value's own text, when the value opens with
    the head as orjson writes it (re-encoding the head costs ~1 us; the rest, with its 384
    floats, ~18). The value parsed as one JSON object, so "{" + what follows the head's comma
    is the object of its other fields; a head that differs (a field missing or moved, other
    escapes, a later duplicate key) is None here."""
    head = orjson.dumps(identity)  # keys in HEAD's order: result_head's
    if not value.startswith(head[:-1]) or value[len(head) - 1 : len(head)] != b",":
        return None
    return b"{" + value[len(head) :]


# A string column's offsets are int32: a file's `result` text past it is left to pyarrow.
STRING_BYTES = 2**31 - 1


def _strings(texts: Sequence[bytes]) -> pa.Array | list[str]:
    """The `result` column from its strings' UTF-8 (each valid: `_split`): one buffer and
    its offsets, the array pyarrow builds from the decoded strs, without a str per record
    or the builder's growing copies of ~6 kB a record."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    if int(lengths.sum()) > STRING_BYTES:
        return [text.decode() for text in texts]
    offsets = np.zeros(len(texts) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.StringArray.from_buffers(
        len(texts), pa.py_buffer(offsets), pa.py_buffer(b"".join(texts))
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


INT32 = range(-(2**31), 2**31)


def _int(value: object) -> int | None:
    """schema_version as the int32 column holds it; anything else is null. A number past
    int32 made the whole file fail to encode (the archive stopped at it on every restart)."""
    if isinstance(value, int) and not isinstance(value, bool) and value in INT32:
        return value
    return None


def to_table(topic: str, partition: int, records: Sequence[ArchiveRecord]) -> pa.Table:
    columns: dict[str, list[Any]] = {field.name: [] for field in SCHEMA}
    rests: list[bytes] = []
    for record in records:
        identity, rest = _split(record.value)
        columns["topic"].append(topic)
        columns["partition"].append(partition)
        columns["offset"].append(record.offset)
        columns["timestamp"].append(record.timestamp_ms)
        columns["key"].append(None if record.key is None else record.key.decode(errors="replace"))
        for name in TEXT:
            columns[name].append(_text(identity.get(name)))
        columns["schema_version"].append(_int(identity.get("schema_version")))
        rests.append(rest)
    return pa.table({**columns, "result": _strings(rests)}, schema=SCHEMA)


def encode(
    topic: str, partition: int, records: Sequence[ArchiveRecord], compression: str = "zstd"
) -> bytes:
    """The Parquet bytes of one file (deterministic for the same records and pyarrow)."""
    sink = pa.BufferOutputStream()
    pq.write_table(
        to_table(topic, partition, records),
        sink,
        row_group_size=max(1, len(records)),
        compression=compression,
        compression_level=ZSTD_LEVEL if compression == "zstd" else None,
        use_dictionary=True,
        write_statistics=True,
        version="2.6",
        data_page_version="1.0",
    )
    return bytes(sink.getvalue().to_pybytes())


def decode(data: bytes) -> pa.Table:
    """Read one file back (verify and tests)."""
    return pq.read_table(pa.BufferReader(data))
