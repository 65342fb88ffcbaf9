"""Scenario 6. 1 vs 2 infer workers in one group.

Entry point for `python benchmarks/scaleout.py [--tiny] [--set FIELD=VALUE ...]`; the same as
`inferstream bench scaleout` (the code is in inferstream/bench/scaleout.py, so the command works
from an installed package).
"""

import sys

from inferstream.cli import main

if __name__ == "__main__":
    sys.argv = ["inferstream", "bench", "scaleout", *sys.argv[1:]]
    main()
