"""Two embedded SeaweedFS servers side by side: CPU per S3 request, one set of `weed mini` flags
against another, measured in the same seconds.

Why: on the shared 2-core machine one server's CPU per request moves by +-40 % from run to run
with the load (benchmarks/seaweed_request_cost.py, run after run), more than most flags change
it. Here A (started as the stack starts it, seaweed.start_seaweed, plus any --a flags) and B
(the same plus the flags under test) both run and take their requests in alternating blocks,
each kind in turn, so both see the same load; what is compared is each server's CPU seconds
(its threads' /proc schedstat) per request, summed over all rounds, and B's over A's. A flag
NAME=VALUE (no leading dash) goes into the server's environment instead (Go's runtime:
GOMAXPROCS=2 is what weed ran with before seaweed.py set 1 on this 2-core machine).

    python benchmarks/seaweed_flags_ab.py DATA_DIR [--rounds R] [--clients K] [--a FLAG]... \
        -- [B's flags...]
    python benchmarks/seaweed_flags_ab.py /tmp/x --clients 4 -- GOMAXPROCS=2

The kinds follow Tansu's s3:// engine (docs/architecture.md, "The embedded servers"): a small
JSON PUT (its meta.json and watermark.json), a batch PUT, a batch GET, a LIST of a partition's
records/ prefix, a HEAD; and idle CPU over the first seconds.
"""

from __future__ import annotations

import argparse
import io
import json
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from minio import Minio

from inferstream.stack import processes, seaweed

BUCKET = "tansu"
BLOCK = 25  # requests of one kind to one server before the other takes its turn
LISTED = 200  # objects under the LISTed prefix (a partition's history)
BATCH_BYTES = 20_000  # a zstd batch of ~100 results
JSON_BYTES = 300


@dataclass
class Server:
    name: str
    flags: list[str]
    client: Minio
    proc: psutil.Process
    cpu_s: dict[str, float] = field(default_factory=dict)
    wall_s: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)

    def cpu(self) -> float:
        """CPU seconds of all the server's threads, to the nanosecond (/proc's utime and stime
        count 10 ms ticks: a block of requests is a few of them). Go does not end its threads,
        so no thread's time leaves the sum."""
        total = 0
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                continue
        return total / 1e9


@contextmanager
def started(data_dir: Path, name: str, flags: list[str]) -> Iterator[Server]:
    """`weed mini` as the stack starts it (seaweed.start_seaweed), with ``flags`` appended; a
    flag of the form NAME=VALUE (no leading dash) goes into its environment (GOGC=400)."""
    plain_spawn = processes.spawn
    env = dict(f.split("=", 1) for f in flags if not f.startswith("-"))
    argv_flags = [f for f in flags if f.startswith("-")]

    def spawn_with_flags(argv: list[str], **kwargs: object) -> int:
        if "mini" in argv:
            argv = [*argv, *argv_flags]
            kwargs["env"] = {**kwargs.get("env", {}), **env}  # type: ignore[dict-item]
        return plain_spawn(argv, **kwargs)  # type: ignore[arg-type]

    home = data_dir / name
    (home / "logs").mkdir(parents=True, exist_ok=True)
    access, secret = "isk" + secrets.token_hex(8), secrets.token_urlsafe(30)
    setattr(seaweed, "spawn", spawn_with_flags)  # noqa: B010 (seaweed.py's own name for it)
    try:
        info = seaweed.start_seaweed(home, access_key=access, secret_key=secret, bucket="bench")
    finally:
        setattr(seaweed, "spawn", plain_spawn)  # noqa: B010
    try:
        seaweed.ensure_bucket(info, BUCKET)
        client = Minio(info.endpoint, access_key=access, secret_key=secret, secure=False)
        yield Server(name, flags, client, psutil.Process(info.pid))
    finally:
        seaweed.stop_seaweed(info.pid)


def kinds(server: Server) -> dict[str, Callable[[int], object]]:
    c = server.client
    batch, small = b"b" * BATCH_BYTES, b"j" * JSON_BYTES

    def put_json(i: int) -> object:
        return c.put_object(BUCKET, f"t/{i % 4}/meta.json", io.BytesIO(small), len(small))

    def put_batch(i: int) -> object:
        return c.put_object(BUCKET, f"t/new/{i:020d}.batch", io.BytesIO(batch), len(batch))

    def get_batch(i: int) -> object:
        return c.get_object(BUCKET, f"t/r/{i % LISTED:020d}.batch").read()

    def head(i: int) -> object:
        return c.stat_object(BUCKET, f"t/{i % 4}/meta.json")

    def list_prefix(i: int) -> object:
        return list(c.list_objects(BUCKET, prefix="t/r/", recursive=True))

    return {
        "put_json": put_json,
        "put_batch": put_batch,
        "get_batch": get_batch,
        "head": head,
        "list_200": list_prefix,
    }


def prepare(server: Server) -> None:
    c = server.client
    batch = b"b" * BATCH_BYTES
    for i in range(LISTED):
        c.put_object(BUCKET, f"t/r/{i:020d}.batch", io.BytesIO(batch), len(batch))
    for i in range(4):
        c.put_object(BUCKET, f"t/{i}/meta.json", io.BytesIO(b"{}"), 2)


def block(
    server: Server, kind: str, call: Callable[[int], object], start: int, n: int, clients: int
) -> None:
    """``n`` requests of one kind, from ``clients`` threads at once (Tansu's requests overlap:
    several consumers' fetches and the producers' PUTs)."""
    before, started_at = server.cpu(), time.perf_counter()
    if clients == 1:
        for i in range(start, start + n):
            call(i)
    else:
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(call, range(start, start + n)))
    server.cpu_s[kind] = server.cpu_s.get(kind, 0.0) + server.cpu() - before
    server.wall_s[kind] = server.wall_s.get(kind, 0.0) + time.perf_counter() - started_at
    server.calls[kind] = server.calls.get(kind, 0) + n


def measure(servers: list[Server], rounds: int, idle_s: float, clients: int) -> dict[str, object]:
    before = [s.cpu() for s in servers]
    time.sleep(idle_s)
    idle = [round((s.cpu() - b) / idle_s, 4) for s, b in zip(servers, before, strict=True)]
    calls = [kinds(s) for s in servers]
    for r in range(rounds):
        order = [0, 1] if r % 2 == 0 else [1, 0]
        for kind in calls[0]:
            n = BLOCK // 5 if kind.startswith("list") else BLOCK
            for k in order:
                block(servers[k], kind, calls[k][kind], r * n, n, clients)
    out: dict[str, object] = {"idle_cores": dict(zip("AB", idle, strict=True))}
    for kind in calls[0]:
        a, b = (s.cpu_s[kind] * 1000 / s.calls[kind] for s in servers)
        wall_a, wall_b = (s.wall_s[kind] * 1000 / s.calls[kind] for s in servers)
        out[kind] = {
            "A_ms": round(a, 3),
            "B_ms": round(b, 3),
            "B/A": round(b / a, 3),
            # The client's wall time per request (with clients > 1: per request of the block).
            "wall_A_ms": round(wall_a, 3),
            "wall_B_ms": round(wall_b, 3),
        }
    total = [sum(s.cpu_s.values()) for s in servers]
    out["all_kinds_B/A"] = round(total[1] / total[0], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--idle-s", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=1, help="threads sending at once")
    parser.add_argument("--a", action="append", default=[], help="a flag for both servers")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    args.b_flags = argv[cut + 1 :]
    load = psutil.getloadavg()[0]
    with ExitStack() as stack:
        a = stack.enter_context(started(args.data_dir, "a", args.a))
        b = stack.enter_context(started(args.data_dir, "b", [*args.a, *args.b_flags]))
        for server in (a, b):
            prepare(server)
        result = measure([a, b], args.rounds, args.idle_s, args.clients)
    head = {"a_flags": args.a, "b_flags": args.b_flags, "clients": args.clients}
    print(json.dumps({**head, "load": round(load, 2), **result}))


if __name__ == "__main__":
    main()
