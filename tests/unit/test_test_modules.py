"""pytest imports test modules by basename (the default "prepend" import mode, no packages):
two test files with one name stop the whole run at collection, as a fresh-clone CI found."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_module_has_its_own_basename() -> None:
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))
    assert len(names) > 100  # the tree was found
    clashes = {
        name: sorted(str(p.relative_to(TESTS)) for p in TESTS.rglob(name))
        for name, n in names.items()
        if n > 1
    }
    assert clashes == {}
