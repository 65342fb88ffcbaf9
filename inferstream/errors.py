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

    def __init__(self, *args: object, model: tuple[str, str] | None = None) -> None:
        super().__init__(*args)
        # (name, version) of the model that failed, when a model did: the dead letter carries
        # it, so the model monitor can compute a canary's error rate.
        self.model = model


class FatalStageError(RuntimeError):
    """The stage must stop; the message says why."""
