"""`inferstream models shadow --task T` (the shadow run), `inferstream models compare` and
`inferstream models backfill` (re-inference with a chosen version)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated

import psycopg
import structlog
import typer
from rich.console import Console

from inferstream.settings import (
    KafkaSettings,
    PostgresSettings,
    WorkerSettings,
    data_dir,
)

console = Console(soft_wrap=True)
log = structlog.get_logger("inferstream.shadow")
ALIAS_REFRESH_S = 2.0


def shadow_cmd(
    task: Annotated[str, typer.Option(help="The task whose shadow alias to run.")] = "churn",
    metrics_port: Annotated[int, typer.Option(help="Health and metrics port (0: any).")] = 0,
) -> None:
    """Run the shadow alias's version on the task's live input (its own consumer group);
    results go to model_results only. Runs until SIGTERM/SIGINT."""
    from inferstream.models import registry
    from inferstream.models.registry.live import serve_alias
    from inferstream.observability import configure_logging
    from inferstream.plugins import InferContext, load_plugin
    from inferstream.workers.infer.shadow import ShadowWorker, shadow_group
    from inferstream.workers.runtime.health import HealthState, serve
    from inferstream.workers.runtime.process import run_until_stopped

    kafka, worker, postgres = KafkaSettings.load(), WorkerSettings.load(), PostgresSettings.load()
    configure_logging(worker.log_level)
    structlog.contextvars.bind_contextvars(stage="shadow", task=task)
    plugin = load_plugin(task)
    serve_alias("shadow")  # before the task's model is loaded: its inferer serves the shadow
    context = InferContext(
        worker.models_dir or data_dir() / "models",
        postgres,
        worker.batch_max_items,
        worker.model_call_tokens,
    )
    inferer = plugin.load_inferer(context)
    cached: dict[str, tuple[float, str | None]] = {}

    def shadow_version() -> str | None:
        at, version = cached.get("v", (0.0, None))
        if time.monotonic() - at > ALIAS_REFRESH_S:
            row = registry.get_alias(inferer.model_name, "shadow", conninfo=postgres.conninfo())
            version = row.version if row else None
            cached["v"] = (time.monotonic(), version)
        return version

    group = shadow_group(task, worker.group_prefix)
    shadow = ShadowWorker(
        plugin, inferer, kafka, postgres.conninfo(), group, shadow_version, worker.batch_max_items
    )
    health = HealthState(stale_after_s=max(30.0, kafka.max_poll_interval_ms / 1000))
    health.ready_check = inferer.ready
    server = serve(health, worker.metrics_host, metrics_port)
    log.info(
        "shadow run", group=group, metrics=f"http://{worker.metrics_host}:{server.server_port}"
    )
    run_until_stopped(
        shadow.run,
        shadow.request_stop,
        server=server,
        leave_group_on_close=kafka.leave_group_on_close,
    )


def compare_cmd(
    task: Annotated[str, typer.Option(help="churn, target_risk or anomaly.")] = "churn",
    version: Annotated[
        str | None, typer.Option(help="The shadow version (default: the latest written).")
    ] = None,
) -> None:
    """Shadow vs served on the submissions both scored: agreement, score deltas, latency."""
    from inferstream.models.registry.compare import compare

    try:
        with psycopg.connect(PostgresSettings.load().conninfo()) as conn:
            c = compare(conn, task, version)
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None

    def fmt(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    console.print(
        f"{c.task}: shadow {c.shadow_version} vs served {', '.join(c.served_versions) or '-'} "
        f"on {c.paired} submissions\n"
        f"  agreement        {fmt(c.agreement, '.2%')}\n"
        f"  score delta      mean {fmt(c.mean_delta, '+.4f')}  mean |d| "
        f"{fmt(c.mean_abs_delta, '.4f')}  p95 |d| {fmt(c.p95_abs_delta, '.4f')}\n"
        f"  shadow latency   p50 {fmt(c.shadow_p50_ms, '.3f')} ms  "
        f"p95 {fmt(c.shadow_p95_ms, '.3f')} ms per record (model call / batch size)",
        highlight=False,
    )


def backfill_cmd(
    version: Annotated[str, typer.Option(help="The registered version to re-infer with.")],
    task: Annotated[str, typer.Option(help="The task whose input to re-infer.")] = "churn",
    since: Annotated[
        datetime | None, typer.Option(help="Records produced at or after (UTC unless zoned).")
    ] = None,
    until: Annotated[datetime | None, typer.Option(help="Records produced before.")] = None,
) -> None:
    """Re-infer the task's enriched input (a time range, or all the topic keeps) with one
    version, into model_results (kind backfill); served rows are not touched."""
    from inferstream.models import registry
    from inferstream.models.registry.live import serve_version
    from inferstream.plugins import InferContext, load_plugin
    from inferstream.workers.infer.backfill import backfill

    kafka, worker, postgres = KafkaSettings.load(), WorkerSettings.load(), PostgresSettings.load()
    plugin = load_plugin(task)
    serve_version(version)  # before the task's model is loaded
    context = InferContext(
        worker.models_dir or data_dir() / "models",
        postgres,
        worker.batch_max_items,
        worker.model_call_tokens,
    )
    try:
        inferer = plugin.load_inferer(context)
        if inferer.model_version != version:
            raise registry.RegistryError(f"{task}'s model does not serve registry versions")
        report = backfill(
            plugin,
            inferer,
            kafka,
            postgres.conninfo(),
            f"{worker.group_prefix}.backfill.{task}",
            _ms(since),
            _ms(until),
            worker.batch_max_items,
        )
    except (registry.RegistryError, registry.BadBundleError, ValueError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    console.print(
        f"{task} backfill with {inferer.model_name}/{version}: {report.read} records read, "
        f"{report.in_range} in range, {report.written} new rows in model_results",
        highlight=False,
    )


def _ms(when: datetime | None) -> int | None:
    if when is None:
        return None
    zoned = when if when.tzinfo else when.replace(tzinfo=UTC)
    return int(zoned.timestamp() * 1000)
