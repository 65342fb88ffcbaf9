"""The checks a bundle passes before it is registered (and again before it is served)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.models.registry.bundles import BadBundleError, check_bundle, parse_sums
from inferstream.models.tabular import METADATA_FILE, SUMS_FILE
from inferstream.training import churn

NAMES = st.from_regex(r"[a-z][a-z0-9_.-]{0,20}\.onnx", fullmatch=True)


@given(st.dictionaries(NAMES, st.binary(max_size=64), max_size=5))
def test_sums_round_trip(files: dict[str, bytes]) -> None:
    sums = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    text = "".join(f"{digest}  {name}\n" for name, digest in sums.items())
    assert parse_sums(text) == sums


@pytest.mark.parametrize(
    "line", ["abc  model.onnx", f"{'0' * 64} ", f"{'0' * 64}  ../x.onnx", f"{'0' * 64} x.onnx"]
)
def test_malformed_sums_are_refused(line: str) -> None:
    with pytest.raises(BadBundleError, match="malformed"):
        parse_sums(line + "\n")


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return churn.train(tmp_path_factory.mktemp("models"), rows=2000).directory


def _copy(bundle_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(bundle_dir, tmp_path / "bundle"))


def test_a_sound_bundle_passes_and_is_identified_by_its_sums(bundle_dir: Path) -> None:
    checked = check_bundle(bundle_dir)
    assert checked.name == "churn-logreg"
    sums = (bundle_dir / SUMS_FILE).read_bytes()
    assert checked.sums_sha256 == hashlib.sha256(sums).hexdigest()
    assert set(checked.files) == {"classifier.onnx", METADATA_FILE, SUMS_FILE}


def test_metadata_naming_a_graph_outside_the_sums_is_refused(
    bundle_dir: Path, tmp_path: Path
) -> None:
    directory = _copy(bundle_dir, tmp_path)
    meta = json.loads((directory / METADATA_FILE).read_text())
    meta["graphs"]["extra"] = {"file": "extra.onnx", "sha256": "0" * 64}
    (directory / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(BadBundleError, match="missing from SHA256SUMS"):
        check_bundle(directory)


def test_a_graph_with_the_wrong_input_width_fails_the_smoke_inference(
    bundle_dir: Path, tmp_path: Path
) -> None:
    directory = _copy(bundle_dir, tmp_path)
    meta = json.loads((directory / METADATA_FILE).read_text())
    meta["preprocessing"]["feature_names"].append("one_too_many")
    (directory / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(BadBundleError, match="does not load or run"):
        check_bundle(directory)


def test_a_directory_without_a_bundle_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BadBundleError, match="not a model bundle"):
        check_bundle(tmp_path)
