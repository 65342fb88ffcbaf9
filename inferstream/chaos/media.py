"""Media submissions in a chaos run (`inferstream chaos --media N`): images and short videos by
claim-check, published alongside the bug reports, through their own media workers, and verified
with the same invariants (every valid submission exactly one row, sink offsets at the end).

The files are generated offline (rendered PNG and JPEG images, scikit-image photographs, short
MP4s; inferstream.training.media_samples), so the photographs repeat after a few and the reuse
path (same bytes, same model version) runs under faults too. The blobs are uploaded before the
faults start: an S3 outage must hit the workers reading them, not the run's own setup. The
media workers face every server fault (broker kill, Postgres and S3 outages, stack restart,
pauses), a SIGKILL of each of them and a rebalance storm on media infer (schedule.media_faults;
lanes.py sends them to this lane's nemesis).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from confluent_kafka import KafkaException

from inferstream.chaos.drain import pipeline_behind
from inferstream.chaos.publish import ResilientPublisher
from inferstream.chaos.workers import WorkerNemesis
from inferstream.settings import ObjectStoreSettings, PostgresSettings
from inferstream.storage import ObjectStore
from inferstream.verify import Report, check
from inferstream.verify.collect import collect
from inferstream.workers.supervisor import Supervisor

TASK = "media"
PHOTOS = ("chelsea", "coffee", "astronaut", "rocket")  # repeat: the reuse path runs too


def sample(i: int) -> tuple[bytes, str, str]:
    """The i-th file of the media workload: (bytes, file name, content type)."""
    from inferstream.training.media_samples import image_bytes, rendered_bytes, rendered_video

    kind = i % 4
    if kind == 0:
        return rendered_bytes(i, "PNG"), f"rendered-{i}.png", "image/png"
    if kind == 1:
        return image_bytes(PHOTOS[(i // 4) % len(PHOTOS)], "JPEG"), f"photo-{i}.jpg", "image/jpeg"
    if kind == 2:
        return rendered_bytes(i, "JPEG"), f"rendered-{i}.jpg", "image/jpeg"
    return rendered_video(i, 24, "mp4"), f"clip-{i}.mp4", "video/mp4"


def ensure_bundle(models_dir: Path, say: Callable[[str], None]) -> None:
    """The media model bundle under models_dir, trained first when it is missing."""
    from inferstream.models.media import BUNDLE_NAME
    from inferstream.models.tabular import BundleNotBuiltError, load_tabular_bundle

    try:
        load_tabular_bundle(models_dir, BUNDLE_NAME, TASK)
    except BundleNotBuiltError:
        from inferstream.training.media import train

        say(f"training the media model bundle into {models_dir} (a few minutes of CPU)")
        train(models_dir)


@dataclass
class MediaLane:
    count: int
    run_id: str
    log_dir: Path
    ids: list[str] = field(default_factory=list)
    published: int = 0
    payloads: list[dict[str, Any]] = field(default_factory=list)
    supervisor: Supervisor = field(init=False)
    nemesis: WorkerNemesis = field(init=False)

    def __post_init__(self) -> None:
        self.supervisor = Supervisor(TASK, 1, log_dir=self.log_dir)
        self.nemesis = WorkerNemesis(self.supervisor)

    def start(self, ready_timeout_s: float) -> None:
        """Upload every file (content-addressed), then start the media workers."""
        store = ObjectStore(ObjectStoreSettings.load())
        for i in range(self.count):
            data, filename, content_type = sample(i)
            info = store.put_blob(data, content_type)
            blob = {
                "uri": store.uri(info.key),
                "sha256": info.sha256,
                "size": info.size,
                "content_type": content_type,
            }
            payload = {"blob": blob, "filename": filename, "content_type": content_type}
            self.payloads.append(payload)
        self.supervisor.start()
        self.supervisor.wait_ready(ready_timeout_s)

    def publish(
        self, stop: threading.Event, publish_s: float, interrupted: type[Exception]
    ) -> None:
        """Publish the references spread over publish_s (a thread of the run)."""
        interval = publish_s / max(1, len(self.payloads))
        publisher = ResilientPublisher(TASK, self.run_id)
        for payload in self.payloads:
            if stop.is_set():
                raise interrupted
            sid = str(uuid.uuid4())
            self.ids.append(sid)
            publisher.publish(payload, sid)
            stop.wait(interval)
        self.published = publisher.finish(stop)

    def rows(self) -> int:
        try:
            with psycopg.connect(PostgresSettings.load().conninfo(), connect_timeout=2) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM results_media WHERE submission_id = ANY(%s)",
                    (self.ids,),
                ).fetchone()
        except psycopg.OperationalError:
            return -1
        return int(row[0]) if row else 0

    def drained(self) -> bool:
        """Every media row in, enrich and infer committed to the end of their inputs and the
        media sink consumed to the end of its own (drain.py)."""
        if len(self.ids) < self.count or self.rows() < len(self.ids):
            return False
        try:
            return not pipeline_behind(TASK)
        except (psycopg.OperationalError, TimeoutError, KafkaException):
            return False

    def verify(self) -> Report:
        return check(collect(TASK), since=self.run_id)
