"""Which trainer builds which task's bundle."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from inferstream.training import anomaly, churn, media, target_risk
from inferstream.training.common import TrainReport

TRAINERS: dict[str, Callable[[Path], TrainReport]] = {
    "churn": churn.train,
    "target_risk": target_risk.train,
    "anomaly": anomaly.train,
    "media": media.train,
}
