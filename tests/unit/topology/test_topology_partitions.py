"""Partitions per topic: the embedded profile runs 2 (each partition a produce touches costs
the embedded broker's s3 storage ~3 object writes; 2 still give the 2 members per stage the
tests run one each), and INFERSTREAM_TOPOLOGY_PARTITIONS overrides any environment's count."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferstream.schemas import TASKS
from inferstream.settings import SettingsError
from inferstream.settings.topology import TopologySettings
from inferstream.topology import ENVIRONMENTS, desired_topics


def test_the_embedded_profile_has_two_partitions_and_the_deploy_profiles_keep_theirs() -> None:
    assert {spec.partitions for spec in desired_topics("embedded", TASKS)} == {2}
    assert ENVIRONMENTS["dev"].partitions == 6
    assert ENVIRONMENTS["prod"].partitions == 12


@given(st.sampled_from(sorted(ENVIRONMENTS)), st.integers(min_value=1, max_value=64))
def test_an_override_sets_every_topic_and_keeps_the_rest(env: str, partitions: int) -> None:
    plain = desired_topics(env, TASKS)
    overridden = desired_topics(env, TASKS, partitions)
    assert {spec.partitions for spec in overridden} == {partitions}
    assert [(s.name, s.replication_factor, s.config) for s in overridden] == [
        (s.name, s.replication_factor, s.config) for s in plain
    ]


def test_no_override_is_the_environments_count() -> None:
    assert desired_topics("dev", TASKS, None) == desired_topics("dev", TASKS)
    with pytest.raises(ValueError, match="at least 1"):
        desired_topics("dev", TASKS, 0)


def test_the_setting_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFERSTREAM_TOPOLOGY_PARTITIONS", raising=False)
    assert TopologySettings.load().partitions is None
    monkeypatch.setenv("INFERSTREAM_TOPOLOGY_PARTITIONS", "4")
    assert TopologySettings.load().partitions == 4
    monkeypatch.setenv("INFERSTREAM_TOPOLOGY_PARTITIONS", "0")
    with pytest.raises(SettingsError, match="INFERSTREAM_TOPOLOGY_PARTITIONS"):
        TopologySettings.load()
