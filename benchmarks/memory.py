"""Scenario 7. worker RSS while 100k submissions wait.

Entry point for `python benchmarks/memory.py [--tiny] [--set FIELD=VALUE ...]`; the same as
`inferstream bench memory` (the code is in inferstream/bench/memory.py, so the command works
from an installed package).
"""

import sys

from inferstream.cli import main

if __name__ == "__main__":
    sys.argv = ["inferstream", "bench", "memory", *sys.argv[1:]]
    main()
