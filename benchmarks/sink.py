"""Scenario 4. binary COPY + upsert vs executemany vs row by row.

Entry point for `python benchmarks/sink.py [--tiny] [--set FIELD=VALUE ...]`; the same as
`inferstream bench sink` (the code is in inferstream/bench/sink.py, so the command works
from an installed package).
"""

import sys

from inferstream.cli import main

if __name__ == "__main__":
    sys.argv = ["inferstream", "bench", "sink", *sys.argv[1:]]
    main()
