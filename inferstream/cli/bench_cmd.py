"""`inferstream bench <scenario>`: run one benchmark (several, or all) on a fresh embedded
stack, print its tables and append a dated section to docs/benchmarks.md.

The benchmark code lives in inferstream.bench (imported here lazily: it loads ONNX Runtime,
faiss and, for the naive contender, torch, which the other commands do not need)."""

from __future__ import annotations

import signal
import tempfile
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

# Only the scenario table (names, module paths): a scenario's module loads when it runs.
from inferstream.bench.scenarios import SCENARIOS

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
DOC = Path("docs/benchmarks.md")
NAMES = ", ".join(SCENARIOS)


def _overrides(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            _fail(f"--set {pair!r}: expected FIELD=VALUE")
        out[key.strip()] = value.strip()
    return out


def _fail(message: str, code: int = 2) -> None:
    """One line on stderr, then exit: 2 for a user mistake (the CLI's convention), 1 for a run
    that failed."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so the stack and the workers are stopped on the way out.
    raise KeyboardInterrupt


def bench_cmd(
    scenario: Annotated[
        str,
        typer.Argument(
            help=f"{NAMES}; several as NAME,NAME (run in that order in one process); or all."
        ),
    ],
    device: Annotated[str, typer.Option(help="cpu, or cuda (needs onnxruntime-gpu).")] = "cpu",
    tiny: Annotated[
        bool, typer.Option("--tiny", help="Smoke-test size: proves it runs, measures nothing.")
    ] = False,
    sets: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a scenario option, FIELD=VALUE (repeatable)."),
    ] = None,
    doc: Annotated[Path, typer.Option(help="Markdown file the results are appended to.")] = DOC,
    no_doc: Annotated[bool, typer.Option("--no-doc", help="Print only.")] = False,
    figures: Annotated[
        Path | None,
        typer.Option(
            help="Where plots go (default: <doc dir>/benchmarks; with --no-doc a temp dir)."
        ),
    ] = None,
    stack_dir: Annotated[
        Path | None,
        typer.Option(
            help="Run on the stack `inferstream up` started in this data dir, left running, "
            "instead of a fresh one per scenario (smoke runs: figures are not comparable)."
        ),
    ] = None,
) -> None:
    """Run a benchmark scenario on a fresh embedded stack (loopback, bounded in time)."""
    from rich.markdown import Markdown  # markdown-it: only this command renders Markdown

    from inferstream.bench.context import BenchContext
    from inferstream.bench.device import DeviceError, choose, gpu_name
    from inferstream.bench.harness import BenchError, release_parked, use_running_stack
    from inferstream.bench.scenarios import ScenarioError, config, module

    names = list(SCENARIOS) if scenario == "all" else [n.strip() for n in scenario.split(",")]
    overrides = _overrides(sets or [])
    try:
        choice = choose(device)
        runs = [(name, config(name, tiny, overrides)) for name in names]
    except (DeviceError, ScenarioError) as err:
        _fail(str(err))
        return
    if stack_dir is not None:
        from inferstream.stack import StackState

        if StackState.load(stack_dir).tansu is None:
            _fail(f"--stack-dir {stack_dir}: no stack started there (run inferstream up)")
        use_running_stack(stack_dir.resolve())
    target = None if no_doc else doc
    # Print-only runs keep their plots out of the docs (a --no-doc run replaced the doc's PNG).
    default_figures = (
        Path(tempfile.gettempdir()) / "inferstream-bench" if no_doc else doc.parent / "benchmarks"
    )
    figures_dir = figures or default_figures
    ctx = BenchContext(choice, figures_dir, tiny=tiny)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        for name, cfg in runs:
            console.print(f"[bold]bench {name}[/] ({SCENARIOS[name][1]}): {cfg}", highlight=False)
            try:
                report = module(name).run(cfg, ctx)
            except BenchError as err:
                _fail(f"bench {name}: {err}", code=1)
                return
            if choice.device == "cuda":
                report.gpu = gpu_name()
            console.print(Markdown(report.markdown(doc.parent)))
            if target is not None:
                report.append_to(target)
                console.print(f"appended to {target}", highlight=False)
    finally:
        release_parked()  # the workers the last sharing scenario left running (--stack-dir)


def register(app: typer.Typer) -> None:
    app.command("bench")(bench_cmd)
