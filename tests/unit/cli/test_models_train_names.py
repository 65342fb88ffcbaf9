"""`inferstream models train --help` names every reference model there is a trainer for (the
CLI spells them out so that loading it does not need the training extra)."""

from __future__ import annotations

from inferstream.cli.models_cmd import TRAINED
from inferstream.training.registry import TRAINERS


def test_the_help_names_exactly_the_trainers() -> None:
    assert TRAINED.split(", ") == sorted(TRAINERS)
