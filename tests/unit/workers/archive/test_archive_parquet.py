"""The archive's Parquet files: deterministic bytes that read back as the records."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from unittest import mock

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from _bug_results import bug_report_value
from hypothesis import given, settings
from hypothesis import strategies as st

from inferstream.plugins.results import encode_results, result_head
from inferstream.schemas import result_embedding
from inferstream.workers.archive import parquet
from inferstream.workers.archive.policy import ArchiveRecord

TOPIC = "results.churn"

identity = st.fixed_dictionaries(
    {
        "result_id": st.text(min_size=1, max_size=64),
        "submission_id": st.text(min_size=1, max_size=40),
        "task": st.just("churn"),
        "schema_version": st.integers(1, 5),
        "model_name": st.text(min_size=1, max_size=20),
        "model_version": st.text(min_size=1, max_size=20),
        "produced_at": st.just("2026-12-06T06:00:00+00:00"),
        "probability": st.floats(0, 1),
        "flags": st.lists(st.text(max_size=5), max_size=3),
    }
)


@st.composite
def files(draw: st.DrawFn) -> list[ArchiveRecord]:
    messages = draw(st.lists(identity, min_size=1, max_size=20))
    timestamps = draw(
        st.lists(
            st.one_of(st.none(), st.integers(0, 2**41)),
            min_size=len(messages),
            max_size=len(messages),
        )
    )
    return [
        ArchiveRecord(10 + i, ts, m["submission_id"].encode(), orjson.dumps(m))
        for i, (m, ts) in enumerate(zip(messages, timestamps, strict=True))
    ]


@settings(max_examples=60, deadline=None)
@given(files())
def test_a_file_reads_back_as_its_records_and_encodes_to_the_same_bytes(
    records: list[ArchiveRecord],
) -> None:
    data = parquet.encode(TOPIC, 2, records)
    assert parquet.encode(TOPIC, 2, list(records)) == data
    table = parquet.decode(data)
    rows = table.to_pylist()
    stamps = table.column("timestamp").cast(pa.int64()).to_pylist()
    assert stamps == [r.timestamp_ms for r in records]
    assert [r["offset"] for r in rows] == [r.offset for r in records]
    for row, record in zip(rows, records, strict=True):
        message = orjson.loads(record.value)
        assert (row["topic"], row["partition"]) == (TOPIC, 2)
        assert row["key"] == record.key.decode() if record.key else row["key"] is None
        for name in ("result_id", "submission_id", "model_name", "model_version", "schema_version"):
            assert row[name] == message[name]
        rest = orjson.loads(row["result"])
        assert rest == {"probability": message["probability"], "flags": message["flags"]}


def test_a_value_that_is_not_a_json_object_is_kept_as_text() -> None:
    records = [ArchiveRecord(0, None, None, b"not json"), ArchiveRecord(1, None, None, b"[1]")]
    rows = parquet.decode(parquet.encode(TOPIC, 0, records)).to_pylist()
    assert [(r["result_id"], r["result"]) for r in rows] == [(None, "not json"), (None, "[1]")]


def test_a_schema_version_past_int32_is_null_not_a_file_that_cannot_be_written() -> None:
    values = [{"result_id": "r", "schema_version": v} for v in (2**40, -(2**31) - 1, 2**31 - 1)]
    records = [ArchiveRecord(i, None, None, orjson.dumps(v)) for i, v in enumerate(values)]
    rows = parquet.decode(parquet.encode(TOPIC, 0, records)).to_pylist()
    assert [(r["result_id"], r["schema_version"]) for r in rows] == [
        ("r", None),
        ("r", None),
        ("r", 2**31 - 1),
    ]


def test_no_wall_clock_in_the_file_and_a_fixed_column_order() -> None:
    data = parquet.encode(TOPIC, 0, [ArchiveRecord(0, 5, b"k", b'{"result_id": "r"}')])
    meta = pq.read_metadata(io.BytesIO(data))
    assert set(meta.metadata) == {b"ARROW:schema"}
    assert meta.num_row_groups == 1
    assert meta.schema.names == parquet.SCHEMA.names


def test_duckdb_reads_the_file_directly(tmp_path: object) -> None:
    records = [
        ArchiveRecord(i, 1_000 * i, b"k", orjson.dumps({"result_id": f"r{i}", "score": i}))
        for i in range(5)
    ]
    path = f"{tmp_path}/results.churn+0+0000000000.parquet"
    with open(path, "wb") as out:
        out.write(parquet.encode(TOPIC, 0, records))
    got = duckdb.sql(
        "SELECT result_id, CAST(json_extract(result, '$.score') AS INT) "
        f"FROM read_parquet('{path}') ORDER BY \"offset\""
    ).fetchall()
    assert got == [(f"r{i}", i) for i in range(5)]


def test_the_identity_head_is_the_one_every_producer_writes_first() -> None:
    head = result_head("churn", "s1", 1, ("m", "v"), datetime(2026, 12, 7, tzinfo=UTC))
    assert tuple(head) == parquet.HEAD


def _fields(i: int) -> dict[str, object]:
    fields = result_head("churn", f"s{i}", 1, ("m", "1+null"), datetime(2026, 12, 7, tzinfo=UTC))
    vector = np.random.default_rng(i).standard_normal(8).astype(np.float32)
    return {**fields, "probability": 0.25, "flags": ["é", 'a"b'], "embedding": vector}


def test_result_is_the_producers_text_after_the_head_and_the_same_fields_otherwise() -> None:
    """A value as infer writes it keeps its own text (float32 decimals, its field order); one
    whose head differs (fields moved, a later duplicate) is parsed into the same columns."""
    value = encode_results([_fields(0)])[0]
    moved = orjson.loads(value)
    moved = {"probability": moved.pop("probability"), **moved}
    duplicate = value[:-1] + b',"result_id":"other"}'
    values = [value, orjson.dumps(moved), duplicate]
    records = [ArchiveRecord(i, None, None, v) for i, v in enumerate(values)]
    rows = parquet.decode(parquet.encode(TOPIC, 0, records)).to_pylist()
    rest = value[value.index(b',"probability"') + 1 :]  # after the head's last comma
    assert rows[0]["result"] == "{" + rest.decode()
    task_fields = {k: v for k, v in orjson.loads(value).items() if k not in parquet.HEAD}
    assert orjson.loads(rows[1]["result"]) == task_fields
    assert rows[0]["result_id"] == rows[1]["result_id"] == orjson.loads(value)["result_id"]
    assert (rows[2]["result_id"], orjson.loads(rows[2]["result"])) == ("other", task_fields)


def test_another_compression_rewrites_a_file_as_other_bytes_of_the_same_rows() -> None:
    """The bytes depend on the compression (a setting) and its level (ZSTD_LEVEL): a file
    replayed after either changed overwrites its key with the same rows in other bytes."""
    records = [ArchiveRecord(i, 1_000 * i, b"k", encode_results([_fields(i)])[0]) for i in range(9)]
    files = {name: parquet.encode(TOPIC, 0, records, name) for name in ("zstd", "snappy", "none")}
    assert len(set(files.values())) == 3
    tables = [parquet.decode(data) for data in files.values()]
    assert all(table.equals(tables[0]) for table in tables)
    assert pq.read_metadata(io.BytesIO(files["zstd"])).row_group(0).column(0).compression == "ZSTD"


def _result_as_first_written(value: bytes) -> str:
    """`result` as the encoder first built it, a str per record (a reference, kept apart)."""
    try:
        message = orjson.loads(value)
    except orjson.JSONDecodeError:
        return value.decode(errors="replace")
    if not isinstance(message, dict):
        return value.decode(errors="replace")
    fields = {name: message.pop(name, None) for name in parquet.HEAD}
    head = orjson.dumps(fields)
    if value.startswith(head[:-1]) and value[len(head) - 1 : len(head)] == b",":
        return "{" + value[len(head) :].decode()
    return orjson.dumps(message).decode()


# Identity fields of any JSON type, some missing (what a producer other than ours may write).
odd_identity = st.dictionaries(
    st.sampled_from(parquet.HEAD),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**40), 2**40),
        st.floats(allow_nan=False),
        st.text(max_size=8),
        st.lists(st.integers(0, 3), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(0, 3), max_size=2),
    ),
)
values = st.one_of(
    identity.map(orjson.dumps),  # the producers' head, any text after it
    identity.map(lambda m: orjson.dumps(dict(reversed(m.items())))),  # another head
    odd_identity.map(orjson.dumps),
    st.tuples(identity, odd_identity).map(lambda pair: orjson.dumps({**pair[0], **pair[1]})),
    st.binary(max_size=40),  # not JSON, invalid UTF-8 among it
    st.text(max_size=20).map(lambda t: orjson.dumps([t, 1])),  # JSON, not an object
    st.text(max_size=20).map(str.encode),
)


def _table_as_first_written(topic: str, partition: int, records: list[ArchiveRecord]) -> pa.Table:
    """The table as the encoder first built it, a row at a time from each value's parsed
    identity (a reference, kept apart): to_table builds its columns in bulk."""
    columns: dict[str, list[object]] = {field.name: [] for field in parquet.SCHEMA}
    for record in records:
        try:
            message = orjson.loads(record.value)
        except orjson.JSONDecodeError:
            message = None
        fields = message if isinstance(message, dict) else {}
        columns["topic"].append(topic)
        columns["partition"].append(partition)
        columns["offset"].append(record.offset)
        columns["timestamp"].append(record.timestamp_ms)
        columns["key"].append(None if record.key is None else record.key.decode(errors="replace"))
        for name in parquet.TEXT:
            value = fields.get(name)
            columns[name].append(None if value is None else str(value))
        version = fields.get("schema_version")
        in_int32 = type(version) is int and -(2**31) <= version < 2**31
        columns["schema_version"].append(version if in_int32 else None)
        columns["result"].append(_result_as_first_written(record.value))
    return pa.table(columns, schema=parquet.SCHEMA)


@settings(max_examples=150, deadline=None)
@given(st.lists(values, max_size=25), st.booleans())
def test_the_result_column_from_one_buffer_is_the_strings_and_the_bytes_of_before(
    texts: list[bytes], past_int32: bool
) -> None:
    """`result` built from its UTF-8 in one buffer holds the strings the encoder built a str
    at a time before, valid UTF-8, and the file's bytes are those of the column built from
    the strs (also where a file's text would pass the int32 offsets: the strs themselves)."""
    records = [ArchiveRecord(i, None, None, value) for i, value in enumerate(texts)]
    expected = [_result_as_first_written(value) for value in texts]
    with mock.patch.object(parquet, "STRING_BYTES", 0 if past_int32 else parquet.STRING_BYTES):
        table = parquet.to_table(TOPIC, 1, records)
        data = parquet.encode(TOPIC, 1, records)
    table.validate(full=True)
    assert table.column("result").to_pylist() == expected
    with mock.patch.object(parquet, "_strings", _decoded):
        assert parquet.encode(TOPIC, 1, records) == data


def _decoded(rests: list[tuple[bytes, int]]) -> list[str]:
    return ["{" + text[start:].decode() if start else text.decode() for text, start in rests]


@settings(max_examples=150, deadline=None)
@given(st.lists(values, max_size=25), st.lists(st.one_of(st.none(), st.binary(max_size=6))))
def test_the_columns_built_in_bulk_are_the_rows_of_before_and_the_same_bytes(
    texts: list[bytes], keys: list[bytes | None]
) -> None:
    """to_table's columns, built in bulk from each value's identity tuple, are the table the
    encoder built a row at a time from the parsed identity (odd identity types, missing
    fields, values that are no object), and the file's bytes are those of that table."""
    records = [
        ArchiveRecord(7 + i, None if i % 3 else 1_000 * i, keys[i] if i < len(keys) else None, v)
        for i, v in enumerate(texts)
    ]
    reference = _table_as_first_written(TOPIC, 3, records)
    table = parquet.to_table(TOPIC, 3, records)
    table.validate(full=True)
    assert table.equals(reference)
    data = parquet.encode(TOPIC, 3, records)
    with mock.patch.object(parquet, "to_table", return_value=reference):
        assert parquet.encode(TOPIC, 3, records) == data


def test_a_v1_and_a_v2_bug_report_result_are_kept_as_written_and_read_back(
    tmp_path: object,
) -> None:
    """The lake keeps either version's value as it is (its text after the head) with its
    schema_version, and both give the same float32s: the v2 text through DuckDB's
    from_base64 and numpy, as docs/results.md shows."""
    vector = np.random.default_rng(7).standard_normal(384).astype(np.float32)
    values = [bug_report_value(version, vector) for version in (1, 2)]
    records = [ArchiveRecord(i, None, None, v) for i, v in enumerate(values)]
    path = f"{tmp_path}/results.bug_report+0+0000000000.parquet"
    data = parquet.encode("results.bug_report", 0, records)
    with open(path, "wb") as out:
        out.write(data)
    rows = parquet.decode(data).to_pylist()
    for row, value in zip(rows, values, strict=True):
        rest = value[value.index(b',"quality_score"') + 1 :]  # after the head's last comma
        assert row["result"] == "{" + rest.decode()
        embedding = result_embedding(orjson.loads(row["result"]))
        assert embedding is not None and embedding.tobytes() == vector.tobytes()
    assert [row["schema_version"] for row in rows] == [1, 2]
    ((blob,),) = duckdb.sql(
        "SELECT from_base64(result->>'$.embedding_b64') "
        f"FROM read_parquet('{path}') WHERE schema_version = 2"
    ).fetchall()
    assert np.frombuffer(blob, "<f4").tobytes() == vector.tobytes()
