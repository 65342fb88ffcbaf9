"""`inferstream publish` and `inferstream subscribe`."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Task as ProgressTask
from rich.text import Text

from inferstream.cli.reach import require_kafka
from inferstream.client import (
    Publisher,
    guess_format,
    media_files,
    parse_records,
    publish_media,
    subscribe,
)
from inferstream.schemas import get_task
from inferstream.settings import KafkaSettings, ObjectStoreSettings
from inferstream.storage import ObjectStore

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
EXIT_INVALID = 2


class RateColumn(ProgressColumn):
    """Records per second, as the bar advances."""

    def render(self, task: ProgressTask) -> Text:
        return Text(f"{task.speed or 0:>8,.0f} records/s")


def publish_file(
    task: str,
    file: str,
    *,
    fmt: Literal["jsonl", "csv"] | None,
    skip_invalid: bool,
    source: str = "cli",
) -> int:
    """Validate every record, then publish; returns how many were published."""
    get_task(task)
    name = "<stdin>" if file == "-" else file
    fmt = fmt or guess_format(name)
    text = _read_text(file, name)
    parsed = parse_records(io.StringIO(text, newline=""), task, fmt, source=source)
    for item in parsed.invalid:
        err_console.print(item.render(name), highlight=False, markup=False, soft_wrap=True)
    bad = len(parsed.invalid_lines)
    if not bad and not parsed.valid:
        err_console.print(f"{name}: no records; nothing was published", highlight=False)
        raise typer.Exit(EXIT_INVALID)
    if bad and not skip_invalid:
        err_console.print(
            f"{_records(bad, 'invalid ')} in {name}; nothing was published "
            f"(--skip-invalid publishes the {len(parsed.valid)} valid)",
            highlight=False,
        )
        raise typer.Exit(EXIT_INVALID)
    settings = KafkaSettings.load()
    require_kafka(settings)  # else 60 s of librdkafka retry lines, then "not acknowledged"
    started = time.monotonic()
    with (
        Publisher(task, settings, source=source) as publisher,
        _progress("publishing", rate=True) as progress,
    ):
        bar = progress.add_task("publish", total=len(parsed.valid))
        for _, envelope in parsed.valid:
            publisher.send(envelope)
            progress.advance(bar)
        publisher.flush()
    elapsed = max(time.monotonic() - started, 1e-9)
    count = len(parsed.valid)
    skipped = f"; {_records(bad, 'invalid ')} skipped" if bad else ""
    console.print(
        f"published {_records(count)} to {publisher.topic} in {elapsed:.1f}s "
        f"({count / elapsed:.0f} records/s){skipped}",
        highlight=False,
    )
    return count


def _read_text(file: str, name: str) -> str:
    """The whole file (or stdin) as text: UTF-8, with or without the byte order mark that
    Excel's and Notepad's "UTF-8" put first. Not UTF-8 (a binary file, Latin-1): one line naming
    the line and the byte in the file, exit 2 (a decoding reader's error counts the bytes of its
    buffer, not of the file)."""
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except (FileNotFoundError, IsADirectoryError, PermissionError) as err:
        err_console.print(f"error: {name}: {err.strerror}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        err_console.print(
            f"{name}:{line}: not UTF-8 text ({err.reason} at byte {err.start}, column {column}); "
            "nothing was published",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(EXIT_INVALID) from None


def _records(n: int, kind: str = "") -> str:
    return f"{n} {kind}{'record' if n == 1 else 'records'}"


def _progress(label: str, *, rate: bool) -> Progress:
    """The publish commands' progress bar on stderr (records/s where records are uniform)."""
    columns: list[ProgressColumn] = [TextColumn(label), BarColumn(), MofNCompleteColumn()]
    columns.append(TaskProgressColumn())
    if rate:
        columns.append(RateColumn())
    columns.append(TimeRemainingColumn())
    return Progress(*columns, console=err_console, transient=False)


def publish_media_files(paths: list[str], *, skip_invalid: bool, source: str = "cli") -> int:
    """Claim-check: upload each image/video to blobs/<sha256>, then publish its reference."""
    files, problems = media_files([Path(p) for p in paths])
    for problem in problems:
        err_console.print(problem, highlight=False, markup=False)
    if problems and not skip_invalid:
        err_console.print(
            f"{len(problems)} files cannot be published; nothing was published "
            f"(--skip-invalid publishes the {len(files)} others)",
            highlight=False,
        )
        raise typer.Exit(EXIT_INVALID)
    settings = KafkaSettings.load()
    require_kafka(settings)
    store = ObjectStore(ObjectStoreSettings.load())
    started = time.monotonic()
    with (
        Publisher("media", settings, source=source) as publisher,
        _progress("uploading + publishing", rate=False) as progress,
    ):
        bar = progress.add_task("publish", total=len(files))
        for path in files:
            publish_media(publisher, store, path)
            progress.advance(bar)
        publisher.flush()
    elapsed = max(time.monotonic() - started, 1e-9)
    console.print(
        f"uploaded and published {len(files)} files to {publisher.topic} in {elapsed:.1f}s",
        highlight=False,
    )
    return len(files)


def publish_cmd(
    task: Annotated[str, typer.Argument(help="bug_report, target_risk, media, anomaly, churn")],
    files: Annotated[
        list[str],
        typer.Argument(
            help="JSON lines or CSV file (- for stdin); for media: image/video files or folders"
        ),
    ],
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl or csv (default: from the file name)")
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Publish the valid records anyway.")
    ] = False,
    source: Annotated[str, typer.Option(help="The envelope's source field.")] = "cli",
) -> None:
    """Validate every record first, then publish them (all or nothing, unless --skip-invalid).
    media: upload each file to object storage, then publish its reference (claim-check)."""
    if task == "media" and fmt is None:
        publish_media_files(files, skip_invalid=skip_invalid, source=source)
        return
    if fmt not in (None, "jsonl", "csv"):
        raise typer.BadParameter("must be jsonl or csv", param_hint="--format")
    if len(files) != 1:
        raise typer.BadParameter(
            f"one records file for {task}, got {len(files)}", param_hint="FILES"
        )
    publish_file(task, files[0], fmt=fmt, skip_invalid=skip_invalid, source=source)  # type: ignore[arg-type]


def subscribe_cmd(
    task: Annotated[str, typer.Argument(help="The task whose results to print.")],
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Start at the oldest retained result.")
    ] = False,
    group: Annotated[
        str | None, typer.Option("--group", help="Consumer group: commit and resume from it.")
    ] = None,
    max_messages: Annotated[int | None, typer.Option("--max", help="Stop after N results.")] = None,
    idle_timeout: Annotated[
        float | None, typer.Option(help="Stop after this many seconds without results.")
    ] = None,
) -> None:
    """Print results as JSON lines until interrupted."""
    get_task(task)
    settings = KafkaSettings.load()
    require_kafka(settings)
    results = subscribe(
        task,
        settings,
        group=group,
        from_beginning=from_beginning,
        idle_timeout_s=idle_timeout,
        max_messages=max_messages,
    )
    try:
        for result in results:
            sys.stdout.write(result.model_dump_json() + "\n")
            sys.stdout.flush()
    except KeyboardInterrupt:
        results.close()


def register(app: typer.Typer) -> None:
    app.command("publish")(publish_cmd)
    app.command("subscribe")(subscribe_cmd)
