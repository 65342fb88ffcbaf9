"""One line, exit 2, when a command's broker cannot be reached, instead of librdkafka's endless
connection-refused log lines (subscribe) or a KafkaException traceback (verify)."""

from __future__ import annotations

import typer
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from rich.console import Console
from rich.markup import escape

from inferstream.settings import DATA_DIR_ENV, STACK_FILE, KafkaSettings, data_dir

EXIT_UNREACHABLE = 2
PROBE_TIMEOUT_S = 10.0

err_console = Console(stderr=True, soft_wrap=True, highlight=False)


def require_kafka(settings: KafkaSettings, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """Ask the broker for its metadata once; on no answer print why and exit 2."""
    admin = AdminClient({**settings.admin_config(), "log_level": 0})  # no retry log lines
    try:
        admin.list_topics(timeout=timeout_s)
    except KafkaException as err:
        err_console.print(f"[bold red]error:[/] {escape(unreachable_message(settings, err))}")
        raise typer.Exit(EXIT_UNREACHABLE) from None


def unreachable_message(settings: KafkaSettings, err: KafkaException) -> str:
    """The address tried and the likely fix: no embedded stack in the data dir, or it is down."""
    reason = err.args[0].str() if err.args and hasattr(err.args[0], "str") else str(err)
    where = f"cannot reach the Kafka broker at {settings.bootstrap_servers} ({reason})"
    stack_file = data_dir() / STACK_FILE
    if not stack_file.is_file():
        return (
            f"{where}: no embedded stack in {data_dir()} (${DATA_DIR_ENV}); start one with "
            "`inferstream up`, or set INFERSTREAM_KAFKA_BOOTSTRAP_SERVERS"
        )
    return f"{where}: is the embedded stack in {data_dir()} running? (`inferstream status`)"
