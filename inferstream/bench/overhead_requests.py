"""`bench overhead --set count_requests=true`: the broker's S3 requests per record, by kind and
by cause (bench/s3count.py counts them). Pure: the unit tests feed it made-up counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from inferstream.bench.report import Report
from inferstream.bench.s3count import Key


def add_tables(
    report: Report, window: Counter[Key], idle: Mapping[Key, float], records: int
) -> None:
    _by_kind(report, window, idle, records)
    _by_owner(report, window, idle, records)
    total = sum(window.values())
    report.notes.append(
        f"broker S3 requests: {total} over the window, {total / records:.3f} per record, "
        "counted by a proxy in front of SeaweedFS (Tansu's requests only; the proxy slows "
        "each request, so this run's CPU figures are not comparable with uncounted runs)"
    )


def _by_kind(report: Report, window: Counter[Key], idle: Mapping[Key, float], n: int) -> None:
    table = report.table(
        ["request", "object", "requests", "per record", "of which 304 / 404", "idle per second"],
        title="broker S3 requests by kind (Tansu -> SeaweedFS, over the window)",
    )
    kinds = sorted({(op, kind) for op, kind, _, _ in [*window, *idle]})
    rows = []
    for op, kind in kinds:
        count = _sum(window, op=op, kind=kind)
        unchanged = _sum(window, op=op, kind=kind, outcome="304")
        missing = _sum(window, op=op, kind=kind, outcome="404")
        rows.append((count, op, kind, unchanged, missing, _sum(idle, op=op, kind=kind)))
    for count, op, kind, unchanged, missing, idle_rate in sorted(rows, reverse=True):
        table.add(op, kind, count, count / n, f"{unchanged} / {missing}", f"{idle_rate:.1f}")
    table.add("**all**", "", sum(window.values()), sum(window.values()) / n, "", _total(idle))


def _by_owner(report: Report, window: Counter[Key], idle: Mapping[Key, float], n: int) -> None:
    """Per topic (its producers write the batches and watermarks, its consumers read them) or
    consumer group (offsets, membership); meta.json is the cluster's and has no owner."""
    table = report.table(
        ["topic or group", "requests", "per record", "PUT", "GET", "LIST", "idle per second"],
        title="broker S3 requests by topic or consumer group",
    )
    owners = sorted({owner for _, _, owner, _ in [*window, *idle]})
    rows = [(_sum(window, owner=owner), owner) for owner in owners]
    for count, owner in sorted(rows, reverse=True):
        puts, gets, lists = (_sum(window, owner=owner, op=op) for op in ("PUT", "GET", "LIST"))
        idle_rate = _sum(idle, owner=owner)
        table.add(owner, count, count / n, puts, gets, lists, f"{idle_rate:.1f}")


def _sum(
    counts: Mapping[Key, float],
    *,
    op: str | None = None,
    kind: str | None = None,
    owner: str | None = None,
    outcome: str | None = None,
) -> float:
    wanted = (op, kind, owner, outcome)
    return sum(
        value
        for key, value in counts.items()
        if all(want is None or want == got for want, got in zip(wanted, key, strict=True))
    )


def _total(idle: Mapping[Key, float]) -> str:
    return f"{sum(idle.values()):.1f}"
