"""The media workload of a chaos run: files enrich accepts, images and videos, and repeated
photographs (so result reuse runs under faults too)."""

from __future__ import annotations

from inferstream import media_rules
from inferstream.chaos.media import PHOTOS, sample
from inferstream.chaos.schedule import ChaosConfig
from inferstream.tasks.media.decode import probe


def test_every_sample_passes_the_seed_rules_and_decodes() -> None:
    kinds = set()
    for i in range(8):
        data, filename, content_type = sample(i)
        assert media_rules.check_reference(filename, len(data), content_type) is None
        assert media_rules.check_bytes(filename, data) is None
        kind = content_type.split("/")[0]
        kinds.add(kind)
        probe(kind if kind == "image" else "video", data)  # raises on a corrupt file
    assert kinds == {"image", "video"}


def test_photographs_repeat_so_reuse_is_exercised() -> None:
    again = 1 + 4 * len(PHOTOS)
    assert sample(1)[0] == sample(again)[0]
    assert sample(1)[1] != sample(again)[1]
    assert sample(0)[0] != sample(4)[0]  # rendered images are distinct


def test_media_is_off_unless_asked_for() -> None:
    assert ChaosConfig().media == 0
