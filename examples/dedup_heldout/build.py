"""Builds reports.jsonl and labels.json from the hand-written source/*.txt files.

The source files hold the reports as they were written (one block per report, grouped by
product); this script only gives each report a stable id (uuid5 of its key), shuffles the
arrival order with a fixed seed (keeping each duplicate group in the order its members were
written, and each near miss after the report it nearly matches), and writes the labels in the
format of examples/bug_reports.labels.json. Standard library only:

    python examples/dedup_heldout/build.py          # rewrite reports.jsonl and labels.json
    python examples/dedup_heldout/build.py --check  # exit 1 if they are not what the sources give

Source format: `%product NAME` sets the product of the blocks that follow; a block starts with
`### KEY | COMPONENT | REPORTER | TAGS` (TAGS: `g=GROUP` duplicate group, `nm=KEY` a near miss
of report KEY, `lq` low quality), then the title on one line, then optional `@d` (description),
`@s` (steps to reproduce) and `@l` (logs) sections, each running to the next marker.
"""

from __future__ import annotations

import json
import random
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).parent
NAMESPACE = uuid.UUID("6f1c2b7e-4b1d-4c55-9d0e-0c5e1ad7e2a1")
SECTIONS = {"@d": "description", "@s": "steps_to_reproduce", "@l": "logs"}


def parse(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    product = ""
    current: dict[str, str] | None = None
    section = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("%product "):
            product = line.removeprefix("%product ").strip()
        elif line.startswith("### "):
            key, component, reporter, tags = ([*line[4:].split("|"), "", "", ""])[:4]
            current = {"key": key.strip(), "product": product, "component": component.strip()}
            current["reporter"] = reporter.strip()
            current["tags"] = tags.strip()
            current["title"] = ""
            blocks.append(current)
            section = "title"
        elif current is None:
            continue
        elif line in SECTIONS:
            section = SECTIONS[line]
            current[section] = ""
        elif section == "title":
            if line:
                current["title"] = line.strip()
                section = "description"
                current.setdefault("description", "")
        else:
            current[section] = (current.get(section, "") + "\n" + line) if current.get(
                section
            ) else line
    for block in blocks:
        for name in ("description", "steps_to_reproduce", "logs"):
            block[name] = block.get(name, "").strip()
    return blocks


def order(blocks: list[dict[str, str]]) -> list[dict[str, str]]:
    rng = random.Random(20261206)  # noqa: S311 (a fixed, documented arrival order, not a secret)
    shuffled = blocks[:]
    rng.shuffle(shuffled)
    groups: dict[str, list[dict[str, str]]] = {}
    for b in blocks:
        for tag in b["tags"].split():
            if tag.startswith("g="):
                groups.setdefault(tag[2:], []).append(b)
    # Within a group, the slots the shuffle gave it are filled in the order written.
    for members in groups.values():
        slots = sorted(shuffled.index(m) for m in members)
        for slot, member in zip(slots, members, strict=True):
            shuffled[slot] = member
    by_key = {b["key"]: b for b in blocks}
    for b in blocks:
        for tag in b["tags"].split():
            if tag.startswith("nm="):
                other = by_key[tag[3:]]
                if shuffled.index(b) < shuffled.index(other):
                    shuffled.remove(b)
                    shuffled.insert(shuffled.index(other) + 1, b)
    return shuffled


def sid(key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, key))


def build() -> tuple[str, str]:
    blocks = [b for f in sorted((HERE / "source").glob("*.txt")) for b in parse(f.read_text())]
    keys = [b["key"] for b in blocks]
    if len(set(keys)) != len(keys):
        raise SystemExit("duplicate keys in the sources")
    lines = []
    for b in order(blocks):
        payload = {
            "title": b["title"],
            "description": b["description"],
            "steps_to_reproduce": b["steps_to_reproduce"],
            "logs": b["logs"],
            "product": b["product"],
            "component": b["component"],
            "reporter": b["reporter"],
        }
        lines.append(json.dumps({"submission_id": sid(b["key"]), "payload": payload}))
    groups: dict[str, list[str]] = {}
    near: list[list[str]] = []
    low: list[str] = []
    arrival = {json.loads(line)["submission_id"]: n for n, line in enumerate(lines)}
    for b in blocks:
        for tag in b["tags"].split():
            if tag.startswith("g="):
                groups.setdefault(tag[2:], []).append(sid(b["key"]))
            elif tag.startswith("nm="):
                near.append([sid(tag[3:]), sid(b["key"])])
            elif tag == "lq":
                low.append(sid(b["key"]))
    labels = {
        "duplicate_groups": [sorted(g, key=arrival.__getitem__) for g in groups.values()],
        "low_quality": low,
        "invalid_lines": [],
        "near_miss_pairs": near,
    }
    return "\n".join(lines) + "\n", json.dumps(labels, indent=2) + "\n"


def main() -> int:
    reports, labels = build()
    targets = {HERE / "reports.jsonl": reports, HERE / "labels.json": labels}
    if "--check" in sys.argv:
        stale = [p.name for p, text in targets.items() if not p.exists() or p.read_text() != text]
        if stale:
            print(f"stale: {', '.join(stale)}", file=sys.stderr)
            return 1
        return 0
    for path, text in targets.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
