"""Process CPU per record of the archive's Parquet encoder, offline, on results as infer writes
them.

    python benchmarks/archive_encode_cpu.py [--records 10000] [--repeat 5]

Builds ``--records`` bug_report results the way ``benchmarks/infer_stage_cpu.py`` does (the
workload's reports through the enrich and infer stages' logic, the null model: float32
embeddings, dedup verdicts, report text; ~6.4 kB a value), then encodes them ``--repeat`` times
as one archive file (``parquet.encode``, the stage's default of 10,000 records a file) and
prints the CPU per record of each pass, their median and the file's bytes per record. Process
CPU, not wall time, so trees compared on a loaded machine stay comparable: alternate them
through ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ["INFERSTREAM_MODEL_BACKEND"] = "null"
sys.path.insert(0, str(Path(__file__).resolve().parent))

import infer_stage_cpu

from inferstream.plugins import load_plugin
from inferstream.workers.archive import parquet
from inferstream.workers.archive.policy import ArchiveRecord

TOPIC = "results.bug_report"
T0 = 1_796_000_000_000  # record time of the first record (ms), one more each record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    plugin = load_plugin(infer_stage_cpu.TASK)
    enriched = infer_stage_cpu.enriched(plugin, args.records)
    _, values = infer_stage_cpu.one_pass(plugin, enriched, 139, None)
    records = [
        ArchiveRecord(offset, T0 + offset, b"k%d" % offset, value)
        for offset, value in enumerate(values)
    ]
    passes, data = [], b""
    for _ in range(args.repeat):
        started = time.process_time()
        data = parquet.encode(TOPIC, 0, records)
        passes.append(1e6 * (time.process_time() - started) / len(records))
    size = sum(len(v) for v in values) / len(values)
    print(
        f"parquet.encode ({len(records)} records, {size:.0f} B a value): CPU us/record "
        + " ".join(f"{us:.1f}" for us in passes)
        + f" median {statistics.median(passes):.1f}; file {len(data) / len(records):.0f} B/record"
    )


if __name__ == "__main__":
    main()
