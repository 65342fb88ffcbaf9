"""Scenario "broker": the embedded broker's storage engines in one run, memory:// as baseline.

For each engine: produce N records of 1 KB with an idempotent acks=all producer (msg/s),
consume them all (msg/s), commit group offsets, produce N/10 more and kill -9 Tansu as soon as
the last of them is acknowledged, restart it on the same port (seconds until it answers), then
count the acknowledged records still readable and check the group's committed offsets. CPU
seconds of Tansu and SeaweedFS come from /proc.
postgres:// is probed: the Tansu binary the embedded extra ships may lack that feature.

Then, on s3://, kill -9 mid-stream (bench/broker_kill.py): several producers keep writing while
Tansu is killed ``kills`` times and restarted; every acknowledged key is looked for. Once as
the product starts Tansu (with the repair of stack/tansu_repair.py) and once without it, in the
same run, so the table shows what the repair changes.
"""

from __future__ import annotations

import os
import secrets
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from inferstream.bench.broker_client import (
    commit_some,
    committed,
    create_topic,
    produce,
    read_all,
)
from inferstream.bench.broker_kill import KillConfig, KillOutcome, run_kills
from inferstream.bench.context import BenchContext
from inferstream.bench.harness import BenchError
from inferstream.bench.report import Report
from inferstream.stack.processes import reap, spawn, stop_process, tail, wait_until
from inferstream.stack.servers import (
    TANSU_BUCKET,
    SeaweedInfo,
    TansuInfo,
    ensure_bucket,
    start_postgres,
    start_seaweed,
    start_tansu,
    stop_postgres,
    stop_seaweed,
    stop_tansu,
    tansu_binary,
)


@dataclass(frozen=True)
class Config:
    records: int = 20_000
    size: int = 1024
    partitions: int = 3
    engines: str = "memory,s3,postgres"
    # kill -9 mid-stream, on s3:// only (0 kills: not measured)
    kill_producers: int = 4
    kills: int = 5
    kill_interval_s: float = 3.0

    @classmethod
    def tiny(cls) -> Config:
        return cls(records=300, kills=1, kill_interval_s=1.0)

    def kill_config(self) -> KillConfig:
        return KillConfig(
            producers=self.kill_producers,
            partitions=4,
            kills=self.kills,
            interval_s=self.kill_interval_s,
        )


@dataclass
class Outcome:
    engine: str
    produce_s: float = float("nan")
    consume_s: float = float("nan")
    cpu_s: float = float("nan")
    restart_s: float = float("nan")
    readable: int = 0
    offsets_kept: bool = False
    error: str = ""


def _cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _kill_and_restart(info: TansuInfo, data_dir: Path, s3: SeaweedInfo | None) -> TansuInfo:
    """kill -9, then the same start the stack uses, on the same port; the time goes to the
    caller (spawn to the first answered metadata request)."""
    os.kill(info.pid, signal.SIGKILL)
    wait_until(lambda: _zombie(info.pid), 10.0)
    reap(info.pid)
    return start_tansu(data_dir, info.port, s3=s3)


def measure(engine: str, config: Config, data_dir: Path, s3: SeaweedInfo | None) -> Outcome:
    """Produce N and read them back (the rates), commit group offsets, produce a last tenth and
    kill -9 the broker the moment the last ack arrives, restart it, count what is readable."""
    out = Outcome(engine)
    info = start_tansu(data_dir, s3=s3)
    pids = [info.pid] + ([s3.pid] if s3 else [])
    try:
        create_topic(info.bootstrap, config.partitions)
        cpu0 = _cpu(pids)
        out.produce_s = produce(info.bootstrap, config.size, config.records)
        got, out.consume_s = read_all(
            info.bootstrap, config.partitions, "bench.broker.read", 120, config.records
        )
        out.cpu_s = _cpu(pids) - cpu0
        if got != config.records:
            raise BenchError(f"{engine}: read {got} of {config.records} before the kill")
        wanted = [
            tp.offset for tp in commit_some(info.bootstrap, config.records, config.partitions)
        ]
        produce(info.bootstrap, config.size, _last(config))
        started = time.perf_counter()
        info = _kill_and_restart(info, data_dir, s3)
        out.restart_s = time.perf_counter() - started
        total = config.records + _last(config)
        out.readable, _ = read_all(
            info.bootstrap, config.partitions, "bench.broker.after", 60, total
        )
        out.offsets_kept = committed(info.bootstrap, config.partitions) == wanted
    finally:
        stop_tansu(info.pid)
    return out


def _last(config: Config) -> int:
    """Records produced right before the kill -9 (their acks are the freshest)."""
    return max(1, config.records // 10)


def probe_postgres(data_dir: Path) -> str:
    """Start Tansu on the embedded PostgreSQL (unix socket, percent-encoded host) and report
    why it does not come up, or '' when it does."""
    pg = start_postgres(data_dir)
    log = data_dir / "logs" / "tansu-postgres.log"
    url = f"postgres://{pg.user}@{pg.socket_dir.replace('/', '%2F')}:{pg.port}/inferstream"
    argv = [str(tansu_binary()), "broker", "--listener-url", "tcp://127.0.0.1:0"]
    argv += ["--advertised-listener-url", "tcp://127.0.0.1:0", "--storage-engine", url]
    pid = spawn(argv, log_file=log, cwd=data_dir)
    try:
        exited = wait_until(lambda: not psutil.pid_exists(pid) or _zombie(pid), 10.0)
        return tail(log, 1).strip() if exited else ""
    finally:
        stop_process(pid, "tansu", sig=signal.SIGKILL, grace_s=1.0)
        stop_postgres(pg.pid)


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def run(config: Config, ctx: BenchContext) -> Report:
    report = Report("broker", "embedded broker storage engines: throughput, restart, kill -9")
    outcomes: list[Outcome] = []
    kills: list[KillOutcome] = []
    with tempfile.TemporaryDirectory(prefix="inferstream-bench-broker-") as tmp:
        data_dir = Path(tmp)
        seaweed = start_seaweed(
            data_dir,
            access_key="bench" + secrets.token_hex(6),
            secret_key=secrets.token_hex(16),
            bucket="inferstream",
        )
        try:
            ensure_bucket(seaweed, TANSU_BUCKET)
            for engine in [e.strip() for e in config.engines.split(",") if e.strip()]:
                if engine == "postgres":
                    outcomes.append(Outcome(engine, error=probe_postgres(data_dir)))
                    continue
                s3 = seaweed if engine == "s3" else None
                outcomes.append(measure(engine, config, data_dir, s3))
                if s3 is not None and config.kills > 0:
                    kills = _kill_runs(data_dir, s3, config.kill_config())
        finally:
            stop_seaweed(seaweed.pid)
    _tables(report, config, outcomes)
    _kill_table(report, config.kill_config(), kills)
    return report


def _kill_runs(data_dir: Path, s3: SeaweedInfo, config: KillConfig) -> list[KillOutcome]:
    """Without the repair first, then as the product starts Tansu, each on a topic of its own."""
    return [
        run_kills(data_dir, s3, f"bench.broker-kill.{name}", config, repair_on=repair_on)
        for name, repair_on in (("none", False), ("repair", True))
    ]


def _kill_table(report: Report, config: KillConfig, outcomes: list[KillOutcome]) -> None:
    if not outcomes:
        return
    table = report.table(
        [
            "Tansu start",
            "acknowledged",
            "read back",
            "lost",
            "duplicated",
            "sequences ahead at restarts",
            "restart s (mean)",
        ],
        title=f"s3://, kill -9 mid-stream: {config.producers} idempotent acks=all producers "
        f"(flush every {config.batch} records), {config.partitions} partitions, {config.kills} "
        f"kills {config.interval_s:g} s apart, down {config.down_s:g} s each, restarted on "
        "the same port; every partition read to its stored end",
    )
    for o in outcomes:
        table.add(
            "with the repair (the product)" if o.repair else "without the repair",
            o.acked,
            o.read,
            o.lost,
            o.duplicated,
            o.ahead,
            sum(o.restart_s) / len(o.restart_s) if o.restart_s else float("nan"),
        )
        if o.unread:
            report.notes.append(f"repair={o.repair}: not read to the end: {o.unread}")
        if o.lost:
            report.notes.append(f"repair={o.repair}: lost keys, e.g. {o.lost_sample}")
    for o in outcomes:
        if o.repair:
            report.target(
                f"kill -9 mid-stream with the repair: 0 of {o.acked} acknowledged records lost "
                f"({o.lost} lost, {o.ahead} sequences repaired)",
                o.lost == 0 and not o.unread,
            )


def _tables(report: Report, config: Config, outcomes: list[Outcome]) -> None:
    n = config.records
    table = report.table(
        [
            "engine",
            "produce msg/s",
            "consume msg/s",
            "x memory produce",
            "broker+S3 CPU s / 1k records",
            "restart s",
            f"readable after kill -9 (of {n + _last(config)})",
            "group offsets kept",
        ],
        title=f"{n} records of {config.size} B, {config.partitions} partitions, idempotent "
        f"acks=all producer (linger 5 ms), read back; then {_last(config)} more and a kill -9 "
        "of Tansu as soon as their last ack arrived, a restart on the same port",
    )
    base = next((o for o in outcomes if o.engine == "memory"), None)
    for o in outcomes:
        if o.error:
            report.notes.append(f"{o.engine}: not measurable with the shipped Tansu: `{o.error}`")
            continue
        ratio = (base.produce_s / o.produce_s) if base else float("nan")
        table.add(
            f"{o.engine}://",
            n / o.produce_s,
            n / o.consume_s,
            ratio,
            o.cpu_s / n * 1000,
            o.restart_s,
            f"{o.readable}/{n + _last(config)}",
            "yes" if o.offsets_kept else "no",
        )
    durable = [o for o in outcomes if not o.error and o.engine != "memory"]
    for o in durable:
        report.target(
            f"{o.engine}: every acknowledged record and the committed group offsets survive a "
            f"kill -9 ({o.readable}/{n + _last(config)})",
            o.readable == n + _last(config) and o.offsets_kept,
        )
