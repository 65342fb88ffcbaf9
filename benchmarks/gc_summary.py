"""Summarise the files benchmarks/gc_trace/sitecustomize.py wrote: per worker process,
collections, CPU seconds and objects collected by generation, and the thread that ran them.

    python benchmarks/gc_summary.py /tmp/gc [--records 20000]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _name(command: str) -> str:
    words = command.split()
    if "worker" in words:
        at = words.index("worker")
        return words[at + 1] if at + 1 < len(words) else command[:40]
    if "archive" in words:
        return "archive"
    return command[:40]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--records", type=int, default=0, help="per-record figures too")
    args = parser.parse_args()
    print(
        "| process | gen | thread | phase | collections | CPU s | ms each | collected "
        "| us / record |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for path in sorted(args.folder.glob("*.json")):
        body = json.loads(path.read_text())
        name = _name(body["command"])
        if not body["frozen"]:
            continue  # not a worker: the bench's own processes never freeze their heap
        total = 0.0
        for key, (count, cpu, collected, _wall) in sorted(body["stats"].items()):
            generation, thread, phase = key.split("/")
            if phase == "run":
                total += cpu
            per = f"{1e6 * cpu / args.records:.2f}" if args.records else "-"
            each = 1000 * cpu / count if count else 0.0
            cells = [name, generation, thread, phase, f"{count:.0f}", f"{cpu:.3f}"]
            cells += [f"{each:.2f}", f"{collected:.0f}", per]
            print("| " + " | ".join(cells) + " |")
        per = f"{1e6 * total / args.records:.2f}" if args.records else "-"
        memory = {key: kb / 1024 for key, kb in body.get("memory_kb", {}).items()}
        rss = f"RSS {memory.get('VmRSS', 0):.0f} MB, peak {memory.get('VmHWM', 0):.0f}"
        print(
            f"| {name} | all | | run | | **{total:.3f}** | of {body['cpu_s']:.1f} process CPU s "
            f"| {rss} | {per} |"
        )
        if body.get("young"):
            print(f"<!-- {name} young generation at its collections: {body['young'][:15]} -->")
        if body.get("garbage"):
            print(f"<!-- {name} collected, by type: {body['garbage'][:15]} -->")
        if body.get("sizes"):
            print(f"<!-- {name} generation sizes (gen0, gen1, gen2, frozen): {body['sizes']} -->")


if __name__ == "__main__":
    main()
