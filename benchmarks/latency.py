"""Scenario 3. open-loop latency at 25/50/75/100% of the measured max.

Entry point for `python benchmarks/latency.py [--tiny] [--set FIELD=VALUE ...]`; the same as
`inferstream bench latency` (the code is in inferstream/bench/latency.py, so the command works
from an installed package).
"""

import sys

from inferstream.cli import main

if __name__ == "__main__":
    sys.argv = ["inferstream", "bench", "latency", *sys.argv[1:]]
    main()
