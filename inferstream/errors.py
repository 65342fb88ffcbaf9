"""Error kinds shared by the stage runtime and the task plug-ins (errors as values elsewhere).

- TransientError: a dependency is down or slow; retry later, commit nothing past it.
- PoisonBatchError: a batch failed as a whole in a step; bisect to find the records to blame.
- FatalStageError: the stage must stop with a clear message (e.g. dead-letter rate exceeded).
Anything else escaping a stage is a bug: crash without committing; the restart reprocesses.
"""

from __future__ import annotations


class TransientError(RuntimeError):
    """A dependency is down or slow: retry the same batch later; commit nothing past it."""


class PoisonBatchError(RuntimeError):
    """The batch as a whole failed in a step; bisect to find the record(s) to blame."""


class FatalStageError(RuntimeError):
    """The stage must stop; the message says why."""
