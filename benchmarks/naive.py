"""Scenario 2. vs a Quix Streams app and a naive per-message worker, with an ablation table.

Entry point for `python benchmarks/naive.py [--tiny] [--set FIELD=VALUE ...]`; the same as
`inferstream bench naive` (the code is in inferstream/bench/naive.py, so the command works
from an installed package).
"""

import sys

from inferstream.cli import main

if __name__ == "__main__":
    sys.argv = ["inferstream", "bench", "naive", *sys.argv[1:]]
    main()
