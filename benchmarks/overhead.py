"""Scenario 8. the pipeline's CPU per record outside the model (null model).

Entry point for `python benchmarks/overhead.py [--tiny] [--set FIELD=VALUE ...]`; the same as
`inferstream bench overhead` (the code is in inferstream/bench/overhead.py, so the command works
from an installed package).
"""

import sys

from inferstream.cli import main

if __name__ == "__main__":
    sys.argv = ["inferstream", "bench", "overhead", *sys.argv[1:]]
    main()
