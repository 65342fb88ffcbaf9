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


# The identity of a value that is not a JSON object: every identity column null.
NO_IDENTITY: tuple[None, ...] = (None,) * len(HEAD)


def _split(value: bytes) -> tuple[tuple[Any, ...], bytes, int]:
    """(the identity fields in HEAD's order, a text, where `result` starts in it): `result`
    is the text itself at 0 (a value that is not an object, kept as text; an object's other
    fields re-encoded), else "{" and the text after that index (the value as written,
    `_rest_as_written`). The text is UTF-8 (a parsed value is valid UTF-8: orjson refuses
    any other; anything else is decoded with replacement and encoded again)."""
    try:
        message = orjson.loads(value)
    except orjson.JSONDecodeError:
        return NO_IDENTITY, value.decode(errors="replace").encode(), 0
    if not isinstance(message, dict):
        return NO_IDENTITY, value, 0
    identity = tuple(map(message.get, HEAD))
    start = _rest_as_written(value, identity)
    if start:
        return identity, value, start
    for name in HEAD:
        message.pop(name, None)
    return identity, orjson.dumps(message), 0


def _rest_as_written(value: bytes, identity: tuple[Any, ...]) -> int:
    """Where the fields after the identity head start in the value's own text, when the value
    opens with the head as orjson writes it (re-encoding the head costs ~1 us; the rest, with
    its 384 floats, ~18); else 0. The value parsed as one JSON object, so "{" + what follows
    the head's comma is the object of its other fields; a head that differs (a field missing
    or moved, other escapes, a later duplicate key) is 0 here."""
    # Keys in HEAD's order: result_head's.
    head = orjson.dumps(dict(zip(HEAD, identity, strict=True)))
    if not value.startswith(head[:-1]) or value[len(head) - 1 : len(head)] != b",":
        return 0
    return len(head)


# A string column's offsets are int32: a file's `result` text past it is left to pyarrow.
STRING_BYTES = 2**31 - 1
OPEN = b"{"


def _strings(rests: Sequence[tuple[bytes, int]]) -> pa.Array | list[str]:
    """The `result` column from its strings' UTF-8 (`_split`'s texts and starts): one buffer
    and its offsets, the array pyarrow builds from the decoded strs, without a str per
    record, the builder's growing copies of ~6 kB a record, or a copy of each value's text
    after its head (the buffer is joined from views of the values)."""
    parts: list[bytes | memoryview] = []
    lengths = np.empty(len(rests), dtype=np.int64)
    for i, (text, start) in enumerate(rests):
        if start:
            parts.append(OPEN)
            parts.append(memoryview(text)[start:])
            lengths[i] = len(text) - start + 1
        else:
            parts.append(text)
            lengths[i] = len(text)
    data = b"".join(parts)
    if len(data) > STRING_BYTES:
        return [
            text.decode() if not start else "{" + text[start:].decode() for text, start in rests
        ]
    offsets = np.zeros(len(rests) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.StringArray.from_buffers(len(rests), pa.py_buffer(offsets), pa.py_buffer(data))


_STR_OR_NONE = {str, type(None)}


def _texts(values: Sequence[Any]) -> Sequence[str | None]:
    """A text identity column: its values as they are when all are str or None (as producers
    write them), else each through str()."""
    if set(map(type, values)) <= _STR_OR_NONE:
        return values
    return [None if value is None else str(value) for value in values]


INT32 = range(-(2**31), 2**31)


def _int(value: object) -> int | None:
    """schema_version as the int32 column holds it; anything else is null. A number past
    int32 made the whole file fail to encode (the archive stopped at it on every restart)."""
    if isinstance(value, int) and not isinstance(value, bool) and value in INT32:
        return value
    return None


def to_table(topic: str, partition: int, records: Sequence[ArchiveRecord]) -> pa.Table:
    """The file's table: each value split once (`_split`), the columns built in bulk."""
    count = len(records)
    identities: list[tuple[Any, ...]] = []
    rests: list[tuple[bytes, int]] = []
    for record in records:
        identity, text, start = _split(record.value)
        identities.append(identity)
        rests.append((text, start))
    by_field = (
        dict(zip(HEAD, zip(*identities, strict=True), strict=True))
        if count
        else dict.fromkeys(HEAD, ())
    )
    columns: dict[str, Any] = {
        "topic": [topic] * count,
        "partition": [partition] * count,
        "offset": [record.offset for record in records],
        "timestamp": [record.timestamp_ms for record in records],
        "key": [None if r.key is None else r.key.decode(errors="replace") for r in records],
        **{name: _texts(by_field[name]) for name in TEXT},
        "schema_version": list(map(_int, by_field["schema_version"])),
        "result": _strings(rests),
    }
    arrays = [pa.array(columns[field.name], field.type) for field in SCHEMA]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


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
