"""One line, exit 2, when a command's broker cannot be reached, instead of librdkafka's endless
connection-refused log lines (subscribe) or a KafkaException traceback (verify)."""

from __future__ import annotations

import socket

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
    """Ask the broker for its metadata once; on no answer print why and exit 2.

    When every bootstrap address refuses the connection or does not resolve, that is known at
    once: librdkafka would retry it until the timeout (10 s for a mistyped port)."""
    reason = refused(settings.bootstrap_servers, timeout_s)
    if reason is None:
        admin = AdminClient({**settings.admin_config(), "log_level": 0})  # no retry log lines
        try:
            admin.list_topics(timeout=timeout_s)
            return
        except KafkaException as err:
            reason = err.args[0].str() if err.args and hasattr(err.args[0], "str") else str(err)
    err_console.print(f"[bold red]error:[/] {escape(unreachable_message(settings, reason))}")
    raise typer.Exit(EXIT_UNREACHABLE)


def refused(bootstrap_servers: str, timeout_s: float) -> str | None:
    """Why no bootstrap address takes a TCP connection, if each one is refused or does not
    resolve; None when one connects or the outcome is not definite (a timeout, an address this
    cannot parse): the metadata request then decides."""
    reasons: list[str] = []
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition("://")[2].rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
                return None
        except (ConnectionRefusedError, socket.gaierror) as err:
            reasons.append(f"{server.strip()}: {err.strerror or err}")
        except (OSError, ValueError):
            return None
    return "; ".join(reasons)


def unreachable_message(settings: KafkaSettings, reason: str) -> str:
    """The address tried and the likely fix: no embedded stack in the data dir, or it is down."""
    where = f"cannot reach the Kafka broker at {settings.bootstrap_servers} ({reason})"
    stack_file = data_dir() / STACK_FILE
    if not stack_file.is_file():
        return (
            f"{where}: no embedded stack in {data_dir()} (${DATA_DIR_ENV}); start one with "
            "`inferstream up`, or set INFERSTREAM_KAFKA_BOOTSTRAP_SERVERS"
        )
    return f"{where}: is the embedded stack in {data_dir()} running? (`inferstream status`)"
