"""What the bug_report result's embedding as JSON text (schema version 1) costs along the
pipeline, per record, against version 2's base64 of its little-endian float32 bytes (what infer
writes). Measurement only.

    python benchmarks/embedding_encoding.py [--records 2000] [--passes 5] [--batch 250]
        [--fresh-vectors]

Builds ``--records`` results as infer writes them (``infer_stage_cpu``: the workload's reports
through the enrich and infer stages' logic, the null model's float32 unit vectors, the clock
frozen), takes each value's fields back (the embedding as the float32 array infer had: the
re-encode as version 2 is checked byte for byte against infer's value), and times, per record,
process CPU (``time.process_time``), the variants alternated, the best of ``--passes``:

- encode: ``plugins.encode_results`` of the fields: (a) version 1, ``embedding`` the float32
  array (orjson's numpy support writes each float32's shortest decimal, as infer did), (b)
  version 2, ``embedding_b64`` the standard base64 of the ``<f4`` bytes (OpenAI's
  ``encoding_format: "base64"``), made as infer makes it (``encode_embeddings_b64`` of each
  infer batch's matrix, 139 rows) and included; (null) the embedding null, the floor: what
  each step costs without it;
- compress / decompress: zstd level 1 (the stack's producers) of produce batches of ``--batch``
  values (their concatenation: librdkafka compresses a batch's records, which also hold keys,
  headers and varints, not counted), ``zstandard`` if installed, else pyarrow's codec;
- sink: ``decode_result_fields`` (b: its strict base64 decode and checks) and
  ``tables._vector`` of the ``embedding`` it gives, the sink's own path for either version;
- archive: ``parquet._split`` of the value (its parse; the value's own text is kept), and
  the whole ``parquet.encode`` of files of 1,000 records (which includes ``_split``: not
  added to the total; its file bytes a record are printed);
- total: one encode, one compress, two decompresses (sink and archive), sink, archive's
  ``_split``; and the same with the archive's whole ``parquet.encode`` for its ``_split``.

Exactness: every (a) and (b) value is decoded back by the sink's path and compared with the
original float32s as uint32 bit patterns, and 200,000 finite float32s of random bit patterns
(every exponent, subnormals included) through (a)'s text and ``decode_embedding_b64``.
``--fresh-vectors`` replaces each embedding by an independent Gaussian unit vector (a check
that the sizes and times do not hang on the null model's hash-derived coordinates; 2,000
results hold 1,997 distinct null vectors). Run it with one BLAS thread.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ["INFERSTREAM_MODEL_BACKEND"] = "null"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import infer_stage_cpu
import numpy as np
import orjson

from inferstream.plugins import decode_result_fields, encode_results, load_plugin
from inferstream.plugins.tables import _vector
from inferstream.schemas import decode_embedding_b64, encode_embeddings_b64, result_embedding
from inferstream.workers.archive import parquet
from inferstream.workers.archive.parquet import _split
from inferstream.workers.archive.policy import ArchiveRecord

TASK = infer_stage_cpu.TASK
INFER_BATCH = 139  # infer_stage_cpu's batches: one encode_embeddings_b64 call each
Step = Callable[[], object]
T0 = 1_796_000_000_000  # record time of the first record (ms), one more each record
FILE_RECORDS = 1000  # an archive file's records, as bench overhead closes them


def _codec() -> tuple[str, Callable[[bytes], bytes], Callable[[bytes, int], bytes]]:
    """zstd level 1: (name, compress, decompress(data, size))."""
    try:
        import zstandard  # type: ignore[import-not-found]
    except ImportError:
        import pyarrow as pa

        codec = pa.Codec("zstd", 1)
        return (
            "pyarrow zstd 1",
            lambda data: codec.compress(data, asbytes=True),
            lambda data, size: codec.decompress(data, size, asbytes=True),
        )
    compressor, decompressor = zstandard.ZstdCompressor(level=1), zstandard.ZstdDecompressor()
    return (
        "zstandard 1",
        compressor.compress,
        lambda data, size: decompressor.decompress(data, max_output_size=size),
    )


def results(n: int, fresh: bool) -> list[dict[str, Any]]:
    """Infer's results as their fields (version 2; ``embedding_b64`` holds the float32 array
    infer had, each variant puts its own value and field name in its place)."""
    infer_stage_cpu.bug_report_inferer.datetime = infer_stage_cpu._FrozenClock  # type: ignore[attr-defined]
    plugin = load_plugin(TASK)
    _, messages = infer_stage_cpu.one_pass(plugin, infer_stage_cpu.enriched(plugin, n), 139, None)
    values = [m.value for m in messages]
    fields = [orjson.loads(v) for v in values]
    # The fields are infer's: encoding them again gives infer's bytes (version 2).
    if encode_results(fields) != values:
        raise SystemExit("re-encoded results differ from infer's values")
    for f in fields:  # the float32 array infer had, under the field's name for now
        f["embedding_b64"] = result_embedding(f)
    if fresh:
        rng = np.random.default_rng(7)
        for f in fields:
            v = rng.standard_normal(len(f["embedding_b64"]))
            f["embedding_b64"] = (v / np.linalg.norm(v)).astype(np.float32)
    return fields


def check_exact(
    fields: Sequence[dict[str, Any]], json_values: Sequence[bytes], b64_values: Sequence[bytes]
) -> int:
    """Every float32 of every result back bit for bit from both variants, and of 200,000 random
    finite bit patterns (JSON through orjson and the sink's _vector); the floats checked."""
    bits = np.random.default_rng(11).integers(0, 2**32, 200_000, dtype=np.uint64)
    patterns = bits.astype(np.uint32).view(np.float32)
    patterns = patterns[np.isfinite(patterns)]
    patterns = patterns[: len(patterns) // 384 * 384].reshape(-1, 384)
    pairs = [
        (f["embedding_b64"], v, w) for f, v, w in zip(fields, json_values, b64_values, strict=True)
    ]
    checked = 0
    for original, json_value, b64_value in pairs:
        a = _vector(decode_result_fields(TASK, json_value)["embedding"])
        b = _vector(decode_result_fields(TASK, b64_value)["embedding"])
        want = original.view(np.uint32)
        if not (
            np.array_equal(a.view(np.uint32), want) and np.array_equal(b.view(np.uint32), want)
        ):
            raise SystemExit("a float32 did not round-trip")
        checked += original.size
    for original, text in zip(patterns, encode_embeddings_b64(patterns), strict=True):
        json_value = orjson.dumps({"embedding": original}, option=orjson.OPT_SERIALIZE_NUMPY)
        a = _vector(orjson.loads(json_value)["embedding"])
        b = decode_embedding_b64(
            orjson.loads(orjson.dumps({"embedding_b64": text}))["embedding_b64"]
        )
        want = original.view(np.uint32)
        if not (
            np.array_equal(a.view(np.uint32), want) and np.array_equal(b.view(np.uint32), want)
        ):
            raise SystemExit("a float32 did not round-trip")
        checked += original.size
    return checked


def _rows(matrices: Sequence[np.ndarray]) -> list[Any]:
    return [row for m in matrices for row in m]  # version 1: each row written by orjson


def _b64_rows(matrices: Sequence[np.ndarray]) -> list[Any]:
    return [text for m in matrices for text in encode_embeddings_b64(m)]  # infer's bulk path


def _nulls(matrices: Sequence[np.ndarray]) -> list[Any]:
    return [None] * sum(len(m) for m in matrices)


# Each variant: its schema version, the field infer writes, and how it makes its values from
# each batch's float32 matrix.
WRITE: dict[str, tuple[int, str, Callable[[Sequence[np.ndarray]], list[Any]]]] = {
    "a": (1, "embedding", _rows),
    "b": (2, "embedding_b64", _b64_rows),
    "null": (2, "embedding_b64", _nulls),
}


def steps(
    fields: list[dict[str, Any]], variant: str, batch: int
) -> tuple[dict[str, Step], list[bytes], float, float]:
    """Each step of the pipeline's path over all records, their values, the compressed bytes
    a record and the archive files' bytes a record."""
    name, compress, decompress = _codec()
    version, key, write = WRITE[variant]
    # The batches' matrices, as infer has them (the stack is not timed).
    embeddings = [f["embedding_b64"] for f in fields]
    matrices = [
        np.stack(embeddings[i : i + INFER_BATCH]) for i in range(0, len(fields), INFER_BATCH)
    ]
    # The fields built once, the embedding where infer puts it (after content_sha256), so
    # only the embedding's own conversion is timed with the encode, not a copy of the fields.
    written = [
        {
            (key if k == "embedding_b64" else k): (
                value if k == "embedding_b64" else version if k == "schema_version" else v
            )
            for k, v in f.items()
        }
        for f, value in zip(fields, write(matrices), strict=True)
    ]
    values = encode_results(written)
    chunks = [b"".join(values[i : i + batch]) for i in range(0, len(values), batch)]
    packed = [compress(c) for c in chunks]
    sizes = [len(c) for c in chunks]
    records = [ArchiveRecord(i, T0 + i, b"k%d" % i, v) for i, v in enumerate(values)]
    files = [records[i : i + FILE_RECORDS] for i in range(0, len(records), FILE_RECORDS)]

    def encode() -> object:
        for result, value in zip(written, write(matrices), strict=True):
            result[key] = value
        return encode_results(written)

    def sink() -> object:
        out = []
        for value in values:
            result = decode_result_fields(TASK, value)
            out.append(_vector(result.get("embedding")))
        return out

    plan: dict[str, Step] = {
        "encode": encode,
        f"compress ({name})": lambda: [compress(c) for c in chunks],
        "decompress": lambda: [decompress(p, s) for p, s in zip(packed, sizes, strict=True)],
        "sink: parse + vector": sink,
        "archive: _split": lambda: [_split(v) for v in values],
        "archive: parquet.encode": lambda: [
            parquet.encode("results.bug_report", 0, f) for f in files
        ],
    }
    file_bytes = sum(len(parquet.encode("results.bug_report", 0, f)) for f in files)
    return plan, values, sum(map(len, packed)) / len(values), file_bytes / len(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--batch", type=int, default=250, help="values a produce batch")
    parser.add_argument("--fresh-vectors", action="store_true")
    args = parser.parse_args()
    fields = results(args.records, args.fresh_vectors)
    n = len(fields)
    plans = {k: steps(fields, k, args.batch) for k in WRITE}
    checked = check_exact(fields, plans["a"][1], plans["b"][1])
    best: dict[tuple[str, str], float] = {}
    for _ in range(args.passes):  # alternate the variants; keep each step's least disturbed
        for key, (plan, *_) in plans.items():
            for step, run in plan.items():
                started = time.process_time()
                run()
                spent = (time.process_time() - started) / n * 1e6
                best[key, step] = min(best.get((key, step), spent), spent)
    print(
        f"{n} bug_report results ({'fresh Gaussian' if args.fresh_vectors else 'null-model'} "
        f"vectors), batches of {args.batch}; CPU us per record, best of {args.passes} "
        "alternating; (a) JSON float list, (b) base64 <f4, (null) no embedding (the floor)"
    )
    rows: list[tuple[str, dict[str, float]]] = []
    for step in plans["a"][0]:
        rows.append((step, {k: best[k, step] for k in WRITE}))
    weights = {"decompress": 2}  # the sink's and the archive's
    weights["archive: parquet.encode"] = 0  # holds _split: shown, not added
    total = {k: sum(best[k, s] * weights.get(s, 1) for s in plans["a"][0]) for k in WRITE}
    rows.append(("total (decompress x2)", total))
    encode_all = {
        k: total[k] - best[k, "archive: _split"] + best[k, "archive: parquet.encode"] for k in WRITE
    }
    rows.append(("total, parquet.encode for _split", encode_all))
    rows.append(("bytes a value, raw", {k: sum(map(len, p[1])) / n for k, p in plans.items()}))
    rows.append(("bytes a value, compressed", {k: p[2] for k, p in plans.items()}))
    rows.append(("archive file bytes a record", {k: p[3] for k, p in plans.items()}))
    print(f"{'step':<32} {'(a)':>8} {'(b)':>8} {'(null)':>8} {'a - b':>8}")
    for label, row in rows:
        cells = " ".join(f"{row[k]:8.{0 if 'bytes' in label else 2}f}" for k in WRITE)
        print(f"{label:<32} {cells} {row['a'] - row['b']:8.{0 if 'bytes' in label else 2}f}")
    print(f"exact: {checked} float32s back bit for bit from (a) and from (b)")


if __name__ == "__main__":
    main()
