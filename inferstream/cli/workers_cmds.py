"""`inferstream worker <stage>|all --task T`."""

from __future__ import annotations

import signal
import time
from collections.abc import Mapping
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from inferstream.plugins import installed_plugins
from inferstream.settings import data_dir
from inferstream.topology import STAGES
from inferstream.workers.launch import run_stage
from inferstream.workers.runtime.process import exit_on_early_stop
from inferstream.workers.supervisor import Supervisor

console = Console(soft_wrap=True, stderr=True)


def worker_cmd(
    stage: Annotated[
        str, typer.Argument(help="enrich, infer, sink, archive, webhooks, monitor, or all")
    ],
    task: Annotated[str, typer.Option(help="The task whose stage to run.")] = "bug_report",
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Port of /health, /ready, /metrics (0: any free one)."),
    ] = None,
    replicas: Annotated[int, typer.Option(help="With `all`: processes per stage.")] = 1,
) -> None:
    """Run one stage as a consumer-group member, or every stage as separate processes."""
    exit_on_early_stop()  # `python -m inferstream` did this already; the console script not
    if stage == "all":
        _run_all(task, replicas)
        return
    if stage not in (*STAGES, "webhooks", "monitor"):
        raise typer.BadParameter(
            f"must be one of {', '.join(STAGES)}, webhooks, monitor or all", param_hint="STAGE"
        )
    if stage == "monitor":
        _run_monitor(task, metrics_port)
        return
    if stage == "archive":
        from inferstream.workers.archive.launch import run_archive  # pyarrow: only here

        run_archive(task, metrics_port)
        return
    # enrich, infer and sink load the task's plug-in: a typo is one line here, not a traceback.
    if stage != "webhooks" and task not in installed_plugins():
        known = ", ".join(installed_plugins()) or "none"
        raise typer.BadParameter(
            f"no task {task!r} installed (installed: {known})", param_hint="--task"
        )
    run_stage(stage, task, metrics_port)


def _run_monitor(task: str, metrics_port: int | None) -> None:
    # Imported here: only the monitor's process pays for it.
    from inferstream.monitor.launch import run_monitor
    from inferstream.monitor.spec import SPECS

    if task not in SPECS:
        known = ", ".join(SPECS)
        raise typer.BadParameter(
            f"the monitor knows no task {task!r} ({known})", param_hint="--task"
        )
    run_monitor(task, metrics_port)


def _run_all(task: str, replicas: int) -> None:
    supervisor = Supervisor(task, replicas, log_dir=data_dir() / "logs")
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    supervisor.start()
    console.print(
        f"running {', '.join(supervisor.procs)} for {task}; logs in {data_dir() / 'logs'}",
        highlight=False,
    )
    while not stopping:
        failed = supervisor.failed()
        if failed:
            console.print(f"[red]worker exited:[/] {_codes(failed)}; stopping the others")
            supervisor.stop()
            raise typer.Exit(1)
        time.sleep(0.5)
    codes = supervisor.stop()
    console.print(f"stopped: {_codes(codes)}", highlight=False)


def _codes(codes: Mapping[str, int | None]) -> str:
    """'enrich-0 exit 0, infer-0 killed by signal 9' rather than a Python dict."""
    return ", ".join(f"{name} {_outcome(code)}" for name, code in codes.items())


def _outcome(code: int | None) -> str:
    if code is None:
        return "exit unknown"
    # Popen's negative return code: ended by that signal (SIGKILL after the grace period).
    return f"killed by signal {-code}" if code < 0 else f"exit {code}"


def register(app: typer.Typer) -> None:
    app.command("worker")(worker_cmd)
