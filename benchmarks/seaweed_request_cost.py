"""SeaweedFS CPU per S3 request on the embedded `weed mini`, by request kind.

Why: Tansu's s3:// engine turns every produce, offset commit and data-bearing fetch into a few
S3 requests (docs/architecture.md, "The embedded servers"), so the embedded stack's broker cost
per record is (requests per record) x (CPU per request). This measures the second factor: it
starts SeaweedFS as `inferstream up` does (extra `weed mini` flags may follow on the command
line, e.g. -filer.saveToFilerLimit=1048576), makes each kind of request in a loop and reads the
server's CPU seconds (utime + stime) from /proc around each loop.

    python benchmarks/seaweed_request_cost.py /tmp/<you>-s3cost [weed flags...]
"""

from __future__ import annotations

import io
import json
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
from minio import Minio

from inferstream.stack import seaweed

BUCKET = "tansu"
N = 300


def main(data_dir: Path, extra: list[str]) -> dict[str, object]:
    plain_spawn = seaweed.spawn

    def spawn_with_flags(argv: list[str], **kwargs: object) -> int:
        return plain_spawn([*argv, *extra] if "mini" in argv else argv, **kwargs)  # type: ignore[arg-type]

    seaweed.spawn = spawn_with_flags  # type: ignore[assignment]
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    access, secret = "isk" + secrets.token_hex(8), secrets.token_urlsafe(30)
    weed = seaweed.start_seaweed(data_dir, access_key=access, secret_key=secret, bucket="bench")
    try:
        seaweed.ensure_bucket(weed, BUCKET)
        client = Minio(weed.endpoint, access_key=access, secret_key=secret, secure=False)
        return measure(client, psutil.Process(weed.pid), extra)
    finally:
        seaweed.stop_seaweed(weed.pid)


def measure(client: Minio, weed: psutil.Process, extra: list[str]) -> dict[str, object]:
    def cpu_ms_per_call(call: Callable[[int], object], n: int = N) -> float:
        before = sum(weed.cpu_times()[:2])
        for i in range(n):
            call(i)
        return round((sum(weed.cpu_times()[:2]) - before) * 1000 / n, 3)

    def put(size: int) -> Callable[[int], object]:
        data = b"x" * size
        key = f"p{size}/records/{{:020d}}.batch"
        return lambda i: client.put_object(BUCKET, key.format(i), io.BytesIO(data), size)

    before = sum(weed.cpu_times()[:2])
    time.sleep(5.0)
    out: dict[str, object] = {"weed_flags": extra}
    out["idle_cores"] = round((sum(weed.cpu_times()[:2]) - before) / 5.0, 3)
    out["put_300B_ms"] = cpu_ms_per_call(put(300))
    out["put_60kB_ms"] = cpu_ms_per_call(put(60_000))
    out["get_60kB_ms"] = cpu_ms_per_call(
        lambda i: client.get_object(BUCKET, f"p60000/records/{i:020d}.batch").read()
    )
    out["list_300_objects_ms"] = cpu_ms_per_call(
        lambda i: list(client.list_objects(BUCKET, prefix="p300/records/", recursive=True)), 100
    )
    return out


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: seaweed_request_cost.py DATA_DIR [weed mini flags...]")
    print(json.dumps(main(Path(sys.argv[1]), sys.argv[2:])))
