"""The embedded broker's storage engine as `inferstream up` reads it from the environment. The
stack's settings model is ``inferstream.settings.stack`` (one model for every
``INFERSTREAM_STACK_`` variable)."""

from __future__ import annotations

from inferstream.settings import SettingsError
from inferstream.settings.stack import STACK_ENV_PREFIX, BrokerStorage, load_stack_settings
from inferstream.stack.processes import StackError

__all__ = ["STORAGE_ENV", "BrokerStorage", "env_broker_storage"]

STORAGE_ENV = f"{STACK_ENV_PREFIX}BROKER_STORAGE"


def env_broker_storage() -> BrokerStorage | None:
    """INFERSTREAM_STACK_BROKER_STORAGE, if set; a bad value is a one-line StackError."""
    try:
        return load_stack_settings().broker_storage
    except SettingsError as err:
        raise StackError(str(err)) from None
