"""Scenario 5. faiss in process vs pgvector HNSW.

Entry point for `python benchmarks/similarity.py [--tiny] [--set FIELD=VALUE ...]`; the same as
`inferstream bench similarity` (the code is in inferstream/bench/similarity.py, so the command works
from an installed package).
"""

import sys

from inferstream.cli import main

if __name__ == "__main__":
    sys.argv = ["inferstream", "bench", "similarity", *sys.argv[1:]]
    main()
