import sys

if sys.argv[1:2] == ["worker"]:
    # Before the CLI's imports (about a second): a worker stopped while it starts exits 0.
    from inferstream.workers.runtime.process import exit_on_early_stop

    exit_on_early_stop()

from inferstream.cli import main

main()
