"""The alert receiver of the demo and compose stacks: Alertmanager's webhook POSTs each
notification here and every alert in it becomes one JSON log line (status, name, severity,
labels, summary), where `docker compose logs alert-log` or any log shipper finds it. A real
deployment points Alertmanager at its pager or chat instead (docs/monitoring.md).

    python -m inferstream.monitor.receiver --port 9095
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog

from inferstream.observability import configure_logging

log = structlog.get_logger("inferstream.alerts")
MAX_BODY = 1 << 20  # Alertmanager batches alerts; a megabyte is thousands of them


def alert_lines(notification: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat record per alert of an Alertmanager webhook notification (pure)."""
    lines = []
    for alert in notification.get("alerts", []):
        labels = dict(alert.get("labels", {}))
        annotations = alert.get("annotations", {})
        lines.append(
            {
                "status": alert.get("status", notification.get("status", "unknown")),
                "alertname": labels.pop("alertname", "?"),
                "severity": labels.pop("severity", "none"),
                "labels": labels,
                "summary": annotations.get("summary", ""),
                "description": annotations.get("description", ""),
                "starts_at": alert.get("startsAt"),
                "receiver": notification.get("receiver"),
            }
        )
    return lines


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            self._reply(413 if length > MAX_BODY else 400, b"expected a JSON body")
            return
        try:
            notification = json.loads(self.rfile.read(length))
        except ValueError:
            self._reply(400, b"not JSON")
            return
        if not isinstance(notification, dict):
            self._reply(400, b"not a notification")
            return
        for line in alert_lines(notification):
            event = "alert resolved" if line["status"] == "resolved" else "alert firing"
            log.warning(event, **line)
        self._reply(200, b"ok")

    def do_GET(self) -> None:
        self._reply(200 if self.path == "/health" else 404, b"ok")

    def _reply(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # the alerts are the log; the access lines would drown them


def serve(host: str, port: int) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), _Handler)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 (a container's listener)
    parser.add_argument("--port", type=int, default=9095)
    args = parser.parse_args(argv)
    configure_logging("INFO")
    server = serve(args.host, args.port)
    log.info("alert receiver listening", port=server.server_port)
    server.serve_forever()


if __name__ == "__main__":
    main()
