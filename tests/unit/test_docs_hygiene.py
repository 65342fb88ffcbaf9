"""What a user who clones the repository alone reads must hold together: every relative link
of the README and docs/ reaches a file of the repository (and its #anchor a heading there), the
README stays a five-minute read, and no tracked file points outside the repository or to the
team's issue tracker, which a user does not have."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README_MAX_LINES = 200
LINK = re.compile(r"\]\(([^)\s]+)\)")
# Spelled in pieces so that this file does not match its own patterns.
# Nor the path of the engineers' own checkout, which a clone does not have.
OUTSIDE = re.compile(
    "|".join(
        [r"\.\./" + "shared", "ARCHITECTURE" + r"\.md", r"[Ii]ssues? #?\d+", "/work/" + "main"]
    )
)


def _docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return {_slug(line.lstrip("#")) for line in lines if line.startswith("#")}


def _broken_links(path: Path) -> list[str]:
    broken = []
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):  # https:, mailto: ...: not the repository's
            continue
        name, _, anchor = target.partition("#")
        file = (path.parent / name).resolve() if name else path
        if not file.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file):
            broken.append(f"{target} (no such heading in {file.name})")
    return broken


@pytest.mark.parametrize("doc", _docs(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc: Path) -> None:
    assert _broken_links(doc) == []


def test_a_broken_anchor_is_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[ok](#title) [gone](#nowhere) [file](other.md)\n")
    assert _broken_links(page) == [
        "#nowhere (no such heading in page.md)",
        "other.md (no such file)",
    ]


def test_the_readme_is_a_five_minute_read() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES


def test_no_tracked_file_points_outside_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    hits = []
    for name in filter(None, tracked):
        path = ROOT / name.decode()
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary files (images, parquet) carry no references
        hits += [f"{name.decode()}: {m.group(0)}" for m in OUTSIDE.finditer(text)]
    assert hits == []
