"""Scenario 1. whole pipeline vs the bare model.

Entry point for `python benchmarks/e2e.py [--tiny] [--set FIELD=VALUE ...]`; the same as
`inferstream bench e2e` (the code is in inferstream/bench/e2e.py, so the command works
from an installed package).
"""

import sys

from inferstream.cli import main

if __name__ == "__main__":
    sys.argv = ["inferstream", "bench", "e2e", *sys.argv[1:]]
    main()
