"""What `inferstream up` records in a data dir: the servers' pids and ports (stack.json) and the
S3 keys it generated (s3-credentials.json, owner-only), read back by down, status and every
command that needs the stack. `down` keeps the ports alone (no pids), so that the next `up`
starts the servers where workers started before the `down` still look for them."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from inferstream.stack.servers import PostgresInfo, SeaweedInfo, TansuInfo

STATE_FILE = "stack.json"
CREDENTIALS_FILE = "s3-credentials.json"
BUCKET = "inferstream"


@dataclass
class StackState:
    data_dir: Path
    tansu: TansuInfo | None = None
    postgres: PostgresInfo | None = None
    seaweed: SeaweedInfo | None = None
    # True when this `up` started a broker without the previous one's records: the memory
    # engine, or a change of engine. A restart on s3 storage keeps topics and offsets.
    fresh_broker: bool = False
    # The ports the servers last listened on ("kafka", "s3"), kept across `down`: clients hold
    # these addresses. (Postgres needs none: its socket and port follow from the data dir.)
    recorded_ports: dict[str, int] = field(default_factory=dict)
    # One line per server that could not get its recorded port back in this `up` (not saved).
    moved: list[str] = field(default_factory=list)

    def ports(self) -> dict[str, int]:
        """The running servers' ports, else the ones recorded before they stopped."""
        ports = dict(self.recorded_ports)
        if self.tansu:
            ports["kafka"] = self.tansu.port
        if self.seaweed:
            ports["s3"] = self.seaweed.s3_port
        return ports

    def save(self) -> None:
        doc = {
            "tansu": asdict(self.tansu) if self.tansu else None,
            "postgres": asdict(self.postgres) if self.postgres else None,
            "seaweed": _public_seaweed(self.seaweed),
            "ports": self.ports(),
        }
        write_private(self.data_dir / STATE_FILE, json.dumps(doc, indent=2).encode())

    @classmethod
    def load(cls, data_dir: Path) -> StackState:
        state = cls(data_dir)
        path = data_dir / STATE_FILE
        if not path.is_file():
            return state
        doc = json.loads(path.read_text())
        state.recorded_ports = {str(k): int(v) for k, v in (doc.get("ports") or {}).items()}
        if doc.get("tansu"):
            state.tansu = TansuInfo(**doc["tansu"])
        if doc.get("postgres"):
            state.postgres = PostgresInfo(**doc["postgres"])
        if doc.get("seaweed"):
            creds = credentials(data_dir)
            state.seaweed = SeaweedInfo(
                pid=int(doc["seaweed"]["pid"]),
                s3_port=int(doc["seaweed"]["s3_port"]),
                access_key=creds["access_key"],
                secret_key=creds["secret_key"],
                bucket=BUCKET,
            )
        return state


def _public_seaweed(info: SeaweedInfo | None) -> dict[str, int] | None:
    # Keys live only in the 0600 credentials file, not in stack.json.
    return None if info is None else {"pid": info.pid, "s3_port": info.s3_port}


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only (it may hold generated keys)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def credentials(data_dir: Path) -> dict[str, str]:
    """S3 keys generated on first `up` and reused so that restarts keep access to the data."""
    path = data_dir / CREDENTIALS_FILE
    if path.is_file():
        doc = json.loads(path.read_text())
        return {"access_key": str(doc["access_key"]), "secret_key": str(doc["secret_key"])}
    creds = {
        "access_key": "isk" + secrets.token_hex(8),
        "secret_key": secrets.token_urlsafe(30),
    }
    write_private(path, json.dumps(creds).encode())
    return creds
