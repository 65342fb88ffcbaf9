"""What the monitor reads of each task's results: the score whose distribution it tracks, and
the column of the task's results table that feedback labels are compared with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TaskSpec:
    task: str
    model_name: str  # the bundle infer serves (its registry name)
    score_field: str  # a number in every result of the task
    label_column: str  # in results_<task>: what a feedback label is compared with (as text)
    # The enrichment's input vector, in the order of the reference's inputs (input drift).
    inputs_field: str = "features"

    @property
    def results_table(self) -> str:
        return f"results_{self.task}"


SPECS: dict[str, TaskSpec] = {
    spec.task: spec
    for spec in (
        TaskSpec("churn", "churn-logreg", "probability", "label"),
        TaskSpec("anomaly", "anomaly-iforest", "score", "is_anomaly", "values"),
        TaskSpec("target_risk", "target-risk-heads", "risk_score", "risk_level"),
    )
}


def spec_for(task: str) -> TaskSpec:
    try:
        return SPECS[task]
    except KeyError:
        known = ", ".join(SPECS)
        raise ValueError(f"the monitor has no spec for task {task!r} (known: {known})") from None
