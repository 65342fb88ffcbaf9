"""One pydantic-settings model per component, env prefix ``INFERSTREAM_<COMPONENT>_``."""

from inferstream.settings.api import ApiSettings
from inferstream.settings.archive import ArchiveSettings
from inferstream.settings.base import (
    CONFIG_ENV,
    DATA_DIR_ENV,
    STACK_FILE,
    ComponentSettings,
    SettingsError,
    config_files,
    data_dir,
)
from inferstream.settings.dead_letters import DeadLetterSettings
from inferstream.settings.kafka import KafkaSettings
from inferstream.settings.model import ModelSettings
from inferstream.settings.monitor import MonitorSettings
from inferstream.settings.objectstore import ObjectStoreSettings
from inferstream.settings.postgres import PostgresSettings
from inferstream.settings.topology import TopologySettings
from inferstream.settings.vector_index import VectorIndexSettings
from inferstream.settings.webhooks import WebhookSettings
from inferstream.settings.worker import WorkerSettings

__all__ = [
    "CONFIG_ENV",
    "DATA_DIR_ENV",
    "STACK_FILE",
    "ApiSettings",
    "ArchiveSettings",
    "ComponentSettings",
    "DeadLetterSettings",
    "KafkaSettings",
    "ModelSettings",
    "MonitorSettings",
    "ObjectStoreSettings",
    "PostgresSettings",
    "SettingsError",
    "TopologySettings",
    "VectorIndexSettings",
    "WebhookSettings",
    "WorkerSettings",
    "config_files",
    "data_dir",
]
