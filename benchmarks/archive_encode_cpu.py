"""Process CPU per record of the archive's Parquet encoder, offline, on results as infer writes
them.

    python benchmarks/archive_encode_cpu.py [--records 10000] [--repeat 5] [--file-records N]

Builds ``--records`` bug_report results the way ``benchmarks/infer_stage_cpu.py`` does (the
workload's reports through the enrich and infer stages' logic, the null model: float32
embeddings, dedup verdicts, report text; ~6.4 kB a value), then encodes them ``--repeat`` times
as archive files of ``--file-records`` each (``parquet.encode``; all of them in one file by
default, as the stage's default of 10,000 records a file; ``bench overhead`` closes a file every
1,000) and prints the CPU per record of each pass, their median, the files' bytes per record and
the sha256 of their bytes (the same records give the same digest: compare trees' files with
it). Process CPU, not wall time, so trees compared on a loaded machine stay comparable:
alternate them through ``PYTHONPATH``.
"""

from __future__ import annotations

import argparse
import hashlib
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
    parser.add_argument("--file-records", type=int, default=0, help="records a file (0: all)")
    args = parser.parse_args()
    # The results' produced_at fixed, as infer_stage_cpu --outputs does: equal digests.
    infer_stage_cpu.bug_report_inferer.datetime = infer_stage_cpu._FrozenClock
    plugin = load_plugin(infer_stage_cpu.TASK)
    enriched = infer_stage_cpu.enriched(plugin, args.records)
    _, messages = infer_stage_cpu.one_pass(plugin, enriched, 139, None)
    values = [message.value for message in messages]
    records = [
        ArchiveRecord(offset, T0 + offset, b"k%d" % offset, value)
        for offset, value in enumerate(values)
    ]
    size = args.file_records or len(records)
    files = [records[i : i + size] for i in range(0, len(records), size)]
    passes, data = [], [b""]
    for _ in range(args.repeat):
        started = time.process_time()
        data = [parquet.encode(TOPIC, 0, chunk) for chunk in files]
        passes.append(1e6 * (time.process_time() - started) / len(records))
    value_size = sum(len(v) for v in values) / len(values)
    file_size = sum(len(d) for d in data) / len(records)
    digest = hashlib.sha256(b"".join(data)).hexdigest()
    print(
        f"parquet.encode ({len(records)} records in {len(files)} files, {value_size:.0f} B a "
        "value): CPU us/record "
        + " ".join(f"{us:.1f}" for us in passes)
        + f" median {statistics.median(passes):.1f}; files {file_size:.0f} B/record, "
        f"sha256 {digest}"
    )


if __name__ == "__main__":
    main()
