"""The broker's S3 request counter for `bench overhead --set count_requests=true`: every key
shape of Tansu's s3:// engine is classified, the proxy forwards requests and answers unchanged
(headers, body, status) and counts each once, and the report's tables add up."""

from __future__ import annotations

import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from _report_cells import cells

from inferstream.bench import overhead, s3count
from inferstream.bench.overhead_run import OverheadRun

C = "/tansu/clusters/tansu_cluster"
PROCESSES = ["enrich-0", "infer-0", "kafka (tansu)", "s3 (seaweedfs)"]


def made_up(records: int) -> OverheadRun:
    cpu = dict.fromkeys(PROCESSES, 1.0)
    return OverheadRun(records=records, seconds=10.0, window_s=11.0, cpu=cpu, driver=1.0)


@pytest.mark.parametrize(
    ("method", "target", "expected"),
    [
        ("PUT", f"{C}/topics/results.t/partitions/0000000001/records/{0:020}.batch",
         ("PUT", "batch", "results.t")),
        ("GET", f"{C}/topics/results.t/partitions/0000000001/watermark.json",
         ("GET", "watermark.json", "results.t")),
        ("PUT", f"{C}/meta.json", ("PUT", "meta.json", "-")),
        ("GET", "/tansu?list-type=2&prefix=clusters%2Ftansu_cluster%2Ftopics%2Fenriched.t%2F"
         "partitions%2F0000000000%2Frecords%2F", ("LIST", "batch", "enriched.t")),
        ("PUT", f"{C}/groups/consumers/inferstream.sink.t/offsets/results.t/partitions/"
         "0000000000.json", ("PUT", "offsets", "inferstream.sink.t")),
        ("PUT", f"{C}/groups/consumers/inferstream.sink.t.json",
         ("PUT", "group", "inferstream.sink.t")),
        ("HEAD", "/tansu/elsewhere", ("HEAD", "other", "-")),
    ],
)  # fmt: skip
def test_each_key_of_the_engine_is_classified(
    method: str, target: str, expected: tuple[str, str, str]
) -> None:
    assert s3count.classify(method, target) == expected


class Upstream(BaseHTTPRequestHandler):
    """Stands in for SeaweedFS: echoes what it received, answers 304 to a conditional GET."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        if self.headers.get("If-None-Match"):
            self.send_response(304)
            self.send_header("ETag", self.headers["If-None-Match"])
            self.end_headers()
            return
        self._answer(f"GET {self.path} host={self.headers['Host']}".encode())

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(b"PUT " + body)

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("ETag", '"e1"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_proxy_forwards_unchanged_and_counts_once(upstream: str) -> None:
    counter = s3count.RequestCounter().start()
    try:
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({"http": counter.proxy_url})
        )
        base = f"http://{upstream}{C}/topics/t/partitions/0000000000"
        put = urllib.request.Request(f"{base}/watermark.json", data=b"{}", method="PUT")
        with opener.open(put, timeout=10) as answer:
            assert answer.read() == b"PUT {}"
            assert answer.headers["ETag"] == '"e1"'
        with opener.open(f"{base}/records/{5:020}.batch", timeout=10) as answer:
            # The Host header reaches the server as the client sent it (AWS signatures hold).
            path = f"{C}/topics/t/partitions/0000000000/records/{5:020}.batch"
            assert answer.read() == f"GET {path} host={upstream}".encode()
        conditional = urllib.request.Request(
            f"{base}/watermark.json", headers={"If-None-Match": '"e1"'}
        )
        with pytest.raises(urllib.request.HTTPError) as unchanged:
            opener.open(conditional, timeout=10)
        assert unchanged.value.code == 304
    finally:
        counter.stop()
    assert counter.snapshot() == Counter(
        {
            ("PUT", "watermark.json", "t", "ok"): 1,
            ("GET", "batch", "t", "ok"): 1,
            ("GET", "watermark.json", "t", "304"): 1,
        }
    )


def test_the_report_adds_request_tables_that_add_up() -> None:
    run = made_up(1_000)
    run.requests = Counter(
        {
            ("PUT", "batch", "results.t", "ok"): 30,
            ("LIST", "batch", "results.t", "ok"): 90,
            ("PUT", "group", "inferstream.sink.t", "ok"): 20,
            ("GET", "watermark.json", "results.t", "304"): 10,
        }
    )
    run.idle_requests = {("PUT", "group", "inferstream.sink.t", "ok"): 1.5}
    text = overhead.build_report(run, overhead.Config()).markdown()
    total = cells(text, "**all**")
    assert (int(total[2]), float(total[3])) == (150, 0.15)
    lists = cells(text, "LIST")
    assert (lists[1], int(lists[2]), float(lists[3])) == ("batch", 90, 0.09)
    assert cells(text, "GET")[4] == "10 / 0"
    topic = cells(text, "results.t")
    assert [float(x) for x in topic[1:6]] == [130, 0.13, 30, 10, 90]
    assert cells(text, "inferstream.sink.t")[-1] == "1.5"
    assert "150 over the window" in text


def test_an_uncounted_run_has_no_request_tables() -> None:
    text = overhead.build_report(made_up(10), overhead.Config()).markdown()
    assert "broker S3 requests" not in text
    assert cells(text, "**total (pipeline)**")[3] == "100%"
