"""anomaly inference: per-series windows (fault-tolerant state), isolation forest on ONNX
Runtime, robust z-scores in numpy.

State: ``SeriesWindows`` keyed by stream position (see state.py). It is rebuilt from durable
results: ``history()`` reads them from Postgres at start and ``observe()`` receives every result
on the result topic (this worker's or another's), so after a kill -9 a new worker scores each
replayed record against exactly the observations that came before it in the stream.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import structlog

from inferstream.errors import PoisonBatchError
from inferstream.models.tabular import TabularBundle, load_tabular_bundle
from inferstream.plugins import EnrichedItem, InferContext, ResultFields, result_head
from inferstream.tasks.anomaly.enrich import AnomalyEnrichment
from inferstream.tasks.anomaly.metrics import DETECTIONS, SCORED, SERIES
from inferstream.tasks.anomaly.scoring import (
    FEATURE_NAMES,
    MODEL_FEATURES,
    WINDOW,
    Verdict,
    decide,
    model_input,
    robust_z,
)
from inferstream.tasks.anomaly.state import Position, SeriesWindows
from inferstream.tasks.tabular import TabularInferer, VersionModel

log = structlog.get_logger("inferstream.anomaly")

BUNDLE_NAME = "anomaly-iforest"
FOREST_CHUNK = 32


@dataclass(frozen=True)
class ForestParams:
    offset: float  # sklearn's offset_: decision_function = score_samples - offset
    threshold: float  # on the anomaly score -score_samples (higher = more anomalous)


def forest_scores(decision: npt.NDArray[Any], params: ForestParams) -> list[float]:
    """Anomaly scores in (0, 1] from the graph's decision_function output."""
    return [float(-(float(d) + params.offset)) for d in np.asarray(decision).reshape(-1)]


Record = tuple[str, Position, Sequence[float], Sequence[Sequence[float]] | None]


class AnomalyModel(VersionModel):
    """One version of the forest: its ONNX graph and its offset and threshold."""

    def __init__(self, bundle: TabularBundle) -> None:
        super().__init__(bundle, MODEL_FEATURES, "anomaly")
        pre = bundle.preprocessing
        self.params = ForestParams(float(pre["offset"]), float(bundle.metadata["threshold"]))

    def verdicts(
        self, records: Sequence[Record], histories: Sequence[Sequence[tuple[float, ...]]], rows: Any
    ) -> list[Verdict]:
        """Each record's verdict from its model input row and its window (pure per row)."""
        if not records:
            return []
        try:
            scores = forest_scores(self._forest(np.asarray(rows, dtype=np.float32)), self.params)
            return [
                decide(scores[i], self.params.threshold, robust_z(records[i][2], histories[i]))
                for i in range(len(records))
            ]
        except Exception as err:  # the runtime bisects the batch to find the culprit
            raise PoisonBatchError(
                f"anomaly model failed: {err}", model=(self.name, self.version)
            ) from err

    def _forest(self, matrix: npt.NDArray[np.float32]) -> npt.NDArray[Any]:
        """decision_function of every row, in fixed-size chunks (the last one padded): ONNX
        Runtime's tree-ensemble kernel sums the trees in an order that depends on the batch
        size (1-ulp differences, measured), and a record replayed in another batch, or served
        beside a canary's share, must get the identical score. With one chunk size, a row's
        result depends on nothing else."""
        parts = []
        for start in range(0, len(matrix), FOREST_CHUNK):
            chunk = matrix[start : start + FOREST_CHUNK]
            n = len(chunk)
            if n < FOREST_CHUNK:
                pad = np.zeros((FOREST_CHUNK - n, matrix.shape[1]), dtype=np.float32)
                chunk = np.vstack([chunk, pad])
            parts.append(self.model.run("forest", chunk)["scores"].reshape(-1)[:n])
        return np.concatenate(parts)


def window_inputs(
    windows: SeriesWindows, records: Sequence[Record]
) -> tuple[list[list[tuple[float, ...]]], list[list[float]]]:
    """Records in stream order: each one's window (the entries strictly before its position,
    or its own history) and model input row; then it joins its series' window. Independent
    of the version that scores it, so a batch split by version keeps every window."""
    histories: list[list[tuple[float, ...]]] = []
    rows: list[list[float]] = []
    for series_id, position, values, own in records:
        history = (
            [tuple(h) for h in own] if own is not None else windows.before(series_id, position)
        )
        histories.append(history)
        rows.append(model_input(values, history))
        windows.add(series_id, position, values)
    return histories, rows


class Scorer:
    """The whole scoring step with one version, over (series, position, values) records: the
    reference run in tests, the same code as the infer worker's."""

    def __init__(self, model: AnomalyModel, window: int = WINDOW) -> None:
        self.model = model
        self.windows = SeriesWindows(window)

    def score(self, records: Sequence[Record]) -> list[Verdict]:
        histories, rows = window_inputs(self.windows, records)
        return self.model.verdicts(records, histories, rows)


def load_scorer(context: InferContext) -> Scorer:
    """A scorer of the local bundle (``LATEST``)."""
    return Scorer(AnomalyModel(load_tabular_bundle(context.models_dir, BUNDLE_NAME, "anomaly")))


class AnomalyInferer(TabularInferer[AnomalyModel]):
    """The windows are the worker's, whatever the version; the forest is the registry's
    production version, or its canary for a key-hash share (models.registry.serving)."""

    def __init__(self, context: InferContext, *, registry: bool = True) -> None:
        super().__init__(context, BUNDLE_NAME, "anomaly", AnomalyModel, registry=registry)
        self.windows = SeriesWindows(WINDOW)
        # observe() runs on the result follower's thread, run() on the stage's: one at a time.
        self._lock = threading.Lock()

    def prepare(self, items: Sequence[EnrichedItem]) -> object:
        return None  # the window lookup must happen in order, in run()

    def run(self, items: Sequence[EnrichedItem], prepared: object) -> list[ResultFields]:
        records = []
        for item in items:
            enrichment = _enrichment(item)
            records.append(
                (enrichment.series_id, _position(item), enrichment.values, enrichment.history)
            )
        # Positions are increasing within a partition; the batch may interleave partitions,
        # which is harmless: a series lives in one partition.
        try:
            with self._lock:
                histories, rows = window_inputs(self.windows, records)
            pairs = self.serve(
                items,
                lambda model, idx: [
                    (model.version, v)
                    for v in model.verdicts(
                        [records[i] for i in idx],
                        [histories[i] for i in idx],
                        [rows[i] for i in idx],
                    )
                ],
            )
        except PoisonBatchError:
            raise  # a version's failure, already named
        except Exception as err:  # the runtime bisects the batch to find the culprit
            raise PoisonBatchError(f"anomaly model failed: {err}") from err
        now = datetime.now(UTC)
        results: list[ResultFields] = []
        for item, (_, position, values, _own), (version, verdict) in zip(
            items, records, pairs, strict=True
        ):
            enrichment = _enrichment(item)
            SCORED.inc()
            if verdict.is_anomaly:
                DETECTIONS.labels(detector=verdict.detector).inc()
            # Plain fields, no pydantic object (plugins/results.py); values from the scorer.
            fields = {
                **result_head(
                    "anomaly",
                    item.envelope.submission_id,
                    item.envelope.schema_version,
                    (self.model_name, version),
                    now,
                ),
                "series_id": enrichment.series_id,
                "observed_at": enrichment.observed_at,
                "features": dict(zip(FEATURE_NAMES, values, strict=True)),
                "input_partition": position[0],
                "input_offset": position[1],
                "score": verdict.score,
                "threshold": verdict.threshold,
                "is_anomaly": verdict.is_anomaly,
                "detector": verdict.detector,
                "contributing_features": [
                    {"name": n, "contribution": c} for n, c in verdict.contributions
                ],
            }
            results.append(fields)
        SERIES.set(self.windows.series_count())
        return results

    def observe(self, results: Sequence[ResultFields]) -> None:
        with self._lock:
            for result in results:
                try:
                    values = [float(result["features"][name]) for name in FEATURE_NAMES]
                    position = (int(result["input_partition"]), int(result["input_offset"]))
                    series = str(result["series_id"])
                except (KeyError, TypeError, ValueError) as err:
                    # A stored row without the model's features (e.g. written by hand) must
                    # not stop the worker; it is left out of the windows.
                    log.warning(
                        "result skipped in window rebuild",
                        submission_id=result.get("submission_id"),
                        reason=repr(err)[:300],
                    )
                    continue
                self.windows.add(series, position, values)
        SERIES.set(self.windows.series_count())


def _position(item: EnrichedItem) -> Position:
    if item.position is None:
        raise TypeError("anomaly needs the stream position of each item (set by infer)")
    _, partition, offset = item.position
    return (partition, offset)


def _enrichment(item: EnrichedItem) -> AnomalyEnrichment:
    enrichment: Any = item.enrichment
    if not isinstance(enrichment, AnomalyEnrichment):
        raise TypeError(f"expected AnomalyEnrichment, got {type(enrichment).__name__}")
    return enrichment
