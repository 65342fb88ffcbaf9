"""Count the embedded broker's S3 requests by kind: a forward HTTP proxy for `bench overhead`.

Tansu's s3:// engine costs SeaweedFS a few requests per produce, fetch round and commit, whatever
the number of records in them (docs/benchmarks.md, "The broker path"), so requests per record
are the figure the machine's load does not distort. Tansu's object store client (reqwest) honours
HTTP_PROXY; SeaweedFS (Go) never proxies loopback and the workers' MinIO client (urllib3) reads no
proxy variables, so only the broker's requests pass through here. Each request is forwarded
unchanged (the Host header, and with it the AWS signature, stays valid) and counted by
operation, object kind and the topic or consumer group in its key. Measurement only: the proxy
adds a hop to every request, so a counting run's CPU figures are not comparable with others.
"""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

# (operation, object kind, topic or group, outcome: ok, 304 (unchanged) or 404) -> requests
Key = tuple[str, str, str, str]
HOP_HEADERS = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding"})


def classify(method: str, target: str) -> tuple[str, str, str]:
    """(operation, kind, owner) of one S3 request to Tansu's bucket, from its path and query:
    operation GET/PUT/LIST/HEAD/DELETE/POST; kind batch, watermark.json, meta.json, offsets,
    group or other; owner the topic (records, watermarks) or the consumer group."""
    parts = urlsplit(target)
    query = parse_qs(parts.query)
    key = unquote(parts.path).lstrip("/").partition("/")[2]  # drop the bucket
    op = method
    if method == "GET" and "list-type" in query:
        op, key = "LIST", query.get("prefix", [""])[0]
    kind, owner = _kind(key.split("/"))
    return op, kind, owner


def _kind(segments: list[str]) -> tuple[str, str]:
    # clusters/<c>/meta.json | clusters/<c>/topics/<t>/partitions/<p>/(watermark.json|records/..)
    # | clusters/<c>/groups/consumers/<g>(.json|/offsets/<t>/partitions/<p>.json)
    rest = segments[2:] if len(segments) > 2 and segments[0] == "clusters" else segments
    if rest[:1] == ["meta.json"]:
        return "meta.json", "-"
    if rest[:1] == ["topics"] and len(rest) >= 2:
        tail = rest[4:]
        if tail[:1] == ["watermark.json"]:
            return "watermark.json", rest[1]
        if tail[:1] == ["records"]:
            return "batch", rest[1]
        return "topic", rest[1]
    if rest[:2] == ["groups", "consumers"] and len(rest) >= 3:
        group = rest[2].removesuffix(".json")
        return ("offsets", group) if rest[3:4] == ["offsets"] else ("group", group)
    return "other", "-"


class RequestCounter:
    """The proxy on a loopback port; ``snapshot()`` reads the counts so far (thread-safe)."""

    def __init__(self) -> None:
        self._counts: Counter[Key] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="s3count", daemon=True
        )

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> RequestCounter:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, key: Key) -> None:
        with self._lock:
            self._counts[key] += 1

    def snapshot(self) -> Counter[Key]:
        with self._lock:
            return Counter(self._counts)


def _handler(counter: RequestCounter) -> type[BaseHTTPRequestHandler]:
    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep Tansu's connections alive, as without the proxy
        upstream: http.client.HTTPConnection | None = None

        def log_message(self, format: str, *args: object) -> None:
            return  # one line per request would cost more than the request

        def _forward(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            target = url.path + (f"?{url.query}" if url.query else "")
            response, payload = self._send(url.netloc, target, body, headers)
            op, kind, owner = classify(self.command, target)
            status = response.status
            counter.add((op, kind, owner, str(status) if status in (304, 404) else "ok"))
            self.send_response_only(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in HOP_HEADERS and name.lower() != "content-length":
                    self.send_header(name, value)
            if self.command != "HEAD" and response.status not in (204, 304):
                self.send_header("Content-Length", str(len(payload)))
            elif response.getheader("Content-Length"):
                self.send_header("Content-Length", response.getheader("Content-Length", "0"))
            self.end_headers()
            if payload:
                self.wfile.write(payload)

        def _send(
            self, netloc: str, target: str, body: bytes | None, headers: dict[str, str]
        ) -> tuple[http.client.HTTPResponse, bytes]:
            # A kept-alive upstream connection may have been closed by SeaweedFS: one retry on
            # a fresh one (the request was not answered, so it is not counted twice).
            for attempt in (0, 1):
                if self.upstream is None or attempt:
                    self.upstream = http.client.HTTPConnection(netloc, timeout=60)
                try:
                    self.upstream.request(self.command, target, body=body, headers=headers)
                    response = self.upstream.getresponse()
                    return response, response.read()
                except (ConnectionError, http.client.HTTPException):
                    self.upstream.close()
                    if attempt:
                        raise
            raise AssertionError("unreachable")

        do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _forward  # noqa: N815 (http.server names)

    return Forward
