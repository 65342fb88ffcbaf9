"""What Tansu's LIST of a partition's whole history costs as the partition grows.

Why: Tansu's s3:// engine (0.6) stores one object per produced batch per partition, keeps them
all (no retention), and LISTs the partition's records/ prefix on every fetch that finds new
data (docs/architecture.md, "The embedded servers"). This measures that LIST on the embedded
`weed mini`, started as `inferstream up` starts it: the prefix is filled with Tansu-named batch
objects in steps, and at each size SeaweedFS's CPU (from /proc) and the wall time per LIST are
read over a few calls.

    python benchmarks/tansu_list_cost.py /tmp/<you>-listcost [--sizes 250,1000,4000]
"""

from __future__ import annotations

import argparse
import io
import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
from minio import Minio

from inferstream.stack import seaweed

BUCKET = "tansu"
PREFIX = "clusters/tansu_cluster/topics/t/partitions/0000000000/records/"
CALLS = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--sizes", default="250,1000,4000")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    (args.data_dir / "logs").mkdir(parents=True, exist_ok=True)
    access, secret = "isk" + secrets.token_hex(8), secrets.token_urlsafe(30)
    weed = seaweed.start_seaweed(
        args.data_dir, access_key=access, secret_key=secret, bucket="listcost"
    )
    try:
        seaweed.ensure_bucket(weed, BUCKET)
        client = Minio(weed.endpoint, access_key=access, secret_key=secret, secure=False)
        rows = sweep(client, psutil.Process(weed.pid), sizes)
    finally:
        seaweed.stop_seaweed(weed.pid)
    print(json.dumps(rows, indent=1))


def sweep(client: Minio, weed: psutil.Process, sizes: list[int]) -> list[dict[str, float]]:
    rows, stored = [], 0
    body = b"x" * 300
    with ThreadPoolExecutor(4) as pool:
        for size in sizes:
            keys = [f"{PREFIX}{offset:020d}.batch" for offset in range(stored, size)]
            # Filling the prefix is not measured: only the LISTs below are.
            list(pool.map(lambda k: client.put_object(BUCKET, k, io.BytesIO(body), 300), keys))
            stored = size
            cpu0, wall0 = sum(weed.cpu_times()[:2]), time.perf_counter()
            for _ in range(CALLS):
                listed = sum(1 for _ in client.list_objects(BUCKET, prefix=PREFIX))
            cpu = (sum(weed.cpu_times()[:2]) - cpu0) / CALLS
            wall = (time.perf_counter() - wall0) / CALLS
            assert listed == size, f"listed {listed} of {size}"
            rows.append(
                {
                    "objects": size,
                    "weed_cpu_ms_per_list": round(cpu * 1000, 2),
                    "wall_ms_per_list": round(wall * 1000, 2),
                    "weed_cpu_us_per_object": round(cpu * 1e6 / size, 2),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


if __name__ == "__main__":
    main()
