"""The embedded stack's state on disk: stack.json round-trips without the S3 keys (they live only
in a 0600 credentials file, reused across `up`s), and the settings every later command reads."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import tomli_w

from inferstream.stack import StackError
from inferstream.stack.manager import resolved_settings
from inferstream.stack.servers import PostgresInfo, SeaweedInfo, TansuInfo
from inferstream.stack.state import CREDENTIALS_FILE, STATE_FILE, StackState, credentials


def _state(data_dir: Path) -> StackState:
    creds = credentials(data_dir)
    return StackState(
        data_dir,
        tansu=TansuInfo(pid=11, port=19092, storage="s3"),
        postgres=PostgresInfo(pid=12, socket_dir=str(data_dir / "pg"), port=5439, user="u"),
        seaweed=SeaweedInfo(13, 8333, creds["access_key"], creds["secret_key"], "inferstream"),
    )


def test_the_state_round_trips_without_the_keys_in_stack_json(tmp_path: Path) -> None:
    state = _state(tmp_path)
    state.save()
    saved = (tmp_path / STATE_FILE).read_text()
    assert state.seaweed is not None and state.seaweed.secret_key not in saved
    assert json.loads(saved)["seaweed"] == {"pid": 13, "s3_port": 8333}
    loaded = StackState.load(tmp_path)
    assert (loaded.tansu, loaded.postgres, loaded.seaweed) == (
        state.tansu,
        state.postgres,
        state.seaweed,
    )
    for name in (STATE_FILE, CREDENTIALS_FILE):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_credentials_are_generated_once_and_reused(tmp_path: Path) -> None:
    first = credentials(tmp_path)
    assert first == credentials(tmp_path)  # a restart keeps access to the stored data
    other = tmp_path / "other"
    other.mkdir()
    assert credentials(other)["secret_key"] != first["secret_key"]


def test_no_state_file_is_an_empty_state(tmp_path: Path) -> None:
    state = StackState.load(tmp_path)
    assert (state.tansu, state.postgres, state.seaweed) == (None, None, None)


def test_settings_need_every_server_and_point_at_them(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="not fully started"):
        resolved_settings(StackState(tmp_path, tansu=TansuInfo(pid=1, port=9092)))
    settings = resolved_settings(_state(tmp_path))
    assert settings["kafka"]["bootstrap_servers"] == "127.0.0.1:19092"
    assert settings["kafka"]["leave_group_on_close"] is False  # Tansu's ghost members
    # Smaller batch objects for Tansu's s3 engine to store and its readers to GET.
    assert settings["kafka"]["compression"] == "zstd"
    assert settings["postgres"]["host"] == str(tmp_path / "pg")
    assert settings["postgres"]["port"] == 5439
    assert settings["object_store"]["endpoint"] == "127.0.0.1:8333"
    assert settings["topology"] == {"environment": "embedded"}
    # Bigger batches under backlog on Tansu's per-request storage (the cost cap raised so that
    # the item cap binds, a model call's cap not; room for four batches before a pause). And a
    # consumer handed a batch stored before an earlier one waits for the earlier one.
    assert settings["worker"] == {
        "batch_max_items": 512,
        "batch_max_cost": 32_768,
        "max_in_flight": 2_048,
        "model_call_max_tokens": 8_192,
        "offset_gap_wait_ms": 5_000,
    }


def test_workers_on_the_stack_read_its_batch_limit_and_env_still_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inferstream.settings import STACK_FILE, WorkerSettings

    (tmp_path / STACK_FILE).write_text(tomli_w.dumps(resolved_settings(_state(tmp_path))))
    monkeypatch.setenv("INFERSTREAM_DATA_DIR", str(tmp_path))
    for name in (
        "INFERSTREAM_CONFIG",
        "INFERSTREAM_WORKER_BATCH_MAX_ITEMS",
        "INFERSTREAM_WORKER_BATCH_MAX_COST",
        "INFERSTREAM_WORKER_MODEL_CALL_MAX_TOKENS",
        "INFERSTREAM_WORKER_MAX_IN_FLIGHT",
    ):
        monkeypatch.delenv(name, raising=False)
    worker = WorkerSettings.load()
    assert worker.batch_max_items == 512
    assert worker.batch_max_cost == 32_768
    assert worker.max_in_flight == 2_048
    assert worker.offset_gap_wait_ms == 5_000  # the guard is on for the stack's workers
    # A model call's cap stays the default batch cost: a call costs no more tokens than before.
    assert worker.model_call_tokens == WorkerSettings.model_fields["batch_max_cost"].default
    # Elsewhere, unset, a call's cap follows the batch's (a GPU deployment's raised cost).
    # (model_construct: the fields as given, without this data dir's stack.toml)
    raised = WorkerSettings.model_construct(batch_max_cost=65_536, model_call_max_tokens=None)
    assert raised.model_call_tokens == 65_536
    capped = WorkerSettings.model_construct(batch_max_cost=65_536, model_call_max_tokens=512)
    assert capped.model_call_tokens == 512
    monkeypatch.setenv("INFERSTREAM_WORKER_BATCH_MAX_ITEMS", "32")  # a GPU run's own batch
    assert WorkerSettings.load().batch_max_items == 32


def test_the_ports_are_saved_with_the_servers_and_recorded_ones_outlive_them(
    tmp_path: Path,
) -> None:
    state = _state(tmp_path)
    state.save()
    assert StackState.load(tmp_path).recorded_ports == {"kafka": 19092, "s3": 8333}
    # What `down` leaves: the ports alone, which a running server's own port overrides.
    StackState(tmp_path, recorded_ports={"kafka": 19092, "s3": 8333}).save()
    stopped = StackState.load(tmp_path)
    assert (stopped.tansu, stopped.postgres, stopped.seaweed) == (None, None, None)
    assert stopped.ports() == {"kafka": 19092, "s3": 8333}
    stopped.tansu = TansuInfo(pid=21, port=29092)
    assert stopped.ports() == {"kafka": 29092, "s3": 8333}
