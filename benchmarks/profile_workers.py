"""Profile every worker of a saturating pipeline run with py-spy (raw folded stacks).

    python benchmarks/profile_workers.py --texts 1500 --out /tmp/prof [--idle]

Starts a fresh embedded stack and one enrich, infer and sink worker, warms them up, starts
``py-spy record -f raw`` on each worker's pid, publishes ``--texts`` reports at once and stops
the profilers when every row is committed. Prints sentences/s and CPU ms per text of every
worker and server; the ``<stage>.txt`` files load into speedscope or flamegraph.pl.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
from pathlib import Path

from inferstream.bench import pipeline
from inferstream.bench.harness import bench_stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1500)
    parser.add_argument("--out", type=Path, default=Path("profiles"))
    parser.add_argument("--rate", type=int, default=50, help="py-spy samples per second")
    parser.add_argument("--idle", action="store_true", help="also sample idle threads")
    args = parser.parse_args()
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy not found: pip install -e '.[dev]'")
    args.out.mkdir(parents=True, exist_ok=True)
    with bench_stack() as stack:
        workers = stack.start_workers({"enrich": 1, "infer": 1, "sink": 1})
        pipeline.warm_up(stack)
        spies = [
            subprocess.Popen(
                [spy, "record", "-r", str(args.rate), "-f", "raw", "--nonblocking"]
                + (["--idle"] if args.idle else [])
                + ["-o", str(args.out / f"{name}.txt"), "--pid", str(proc.pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name, proc in workers.procs.items()
        ]
        try:
            run = pipeline.saturate(stack, args.texts)
        finally:
            for proc in spies:
                proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            for proc in spies:
                proc.wait(60)
    print(f"{run.texts} texts in {run.seconds:.1f} s = {run.rate:.1f} sentences/s")
    for name, seconds in sorted(run.cpu.items(), key=lambda kv: -kv[1]):
        print(f"  {name:16} {seconds:6.1f} CPU s  {1000 * seconds / run.texts:5.1f} ms/text")
    print(f"profiles in {args.out}/")


if __name__ == "__main__":
    main()
