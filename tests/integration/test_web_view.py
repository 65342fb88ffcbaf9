"""The web view in a real headless Chromium (Debian chromium + chromedriver) against the real
`inferstream api` on the embedded stack: sign-in, lists with titles, filters and search, a
possible duplicate beside its original, the review queue, a decision made through the page's
form (and a forged one refused), another task's own columns, the pipeline's SVG charts, and
the CSP letting the stylesheet through. Screenshots of each page are saved (see
SCREENSHOTS_ENV) for review by eye."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psycopg
import pytest
from _reports import store_report, unit_vector
from _stack import Stack, serve_api
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from inferstream.api import Role
from inferstream.api.keys import create_key
from inferstream.settings import ApiSettings

# Where to copy the screenshots (e.g. docs/screenshots); they always go to the test's tmp dir.
SCREENSHOTS_ENV = "WEB_VIEW_SCREENSHOTS"
DESCRIPTION = (
    "When I press Ctrl+S on a document larger than 2 MB the editor freezes for a second and "
    "then closes without a message. Unsaved changes are lost."
)


@pytest.fixture(scope="module")
def base_url(stack: Stack) -> Iterator[str]:
    with serve_api(stack) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, (
        "Debian chromium and chromium-driver are needed (make installs them)"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1200,860",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with webdriver.Chrome(service=Service(driver), options=options) as chrome:
        chrome.set_page_load_timeout(30)
        chrome.implicitly_wait(10)  # find_element polls until the element is there
        yield chrome


def _seed(conn: psycopg.Connection[Any], tag: str) -> dict[str, str]:
    rng = np.random.default_rng(29)
    ids = {n: f"web-{tag}-{n}" for n in ("original", "possible", "duplicate", "other", "rejected")}
    product = f"editor-{tag}"
    first = unit_vector(rng)
    store_report(conn, ids["other"], unit_vector(rng), title="Toolbar icons are blurry on 4K")
    store_report(
        conn, ids["original"], first, title="Editor crashes when saving large files",
        product=product, description=DESCRIPTION,
    )  # fmt: skip
    store_report(
        conn, ids["duplicate"], unit_vector(rng, first), title="Crash on save (big file)",
        product=product, status="duplicate", duplicate_of=ids["original"],
        similar=[{"submission_id": ids["original"], "score": 0.93, "cosine": 0.91}],
    )  # fmt: skip
    store_report(
        conn, ids["possible"], unit_vector(rng, first), title="App quits after Ctrl+S",
        product=product, status="possible_duplicate",
        similar=[{"submission_id": ids["original"], "score": 0.78, "cosine": 0.74}],
        description="Pressing Ctrl+S on my 5 MB notes closes the whole app. No error shown.",
    )  # fmt: skip
    conn.execute(
        "INSERT INTO submissions (submission_id, task, status, reason) "
        "VALUES (%s, 'bug_report', 'rejected', 'title: too short')",
        (ids["rejected"],),
    )
    conn.execute(
        "INSERT INTO dead_letters (submission_id, task, stage, kind, reason, original_topic,"
        " original_partition, original_offset, payload) VALUES "
        "(%s, 'bug_report', 'enrich', 'rejected', 'title: too short', 'web-test', 0, "
        "(SELECT coalesce(max(original_offset), 0) + 1 FROM dead_letters), '\\x00')",
        (ids["rejected"],),
    )
    churn = hashlib.sha256(f"{tag}/churn".encode()).hexdigest()
    conn.execute(
        "INSERT INTO results_churn (result_id, submission_id, model_name, model_version, "
        "probability, label, threshold, top_features, produced_at, submitted_at) VALUES "
        "(%s, %s, 'churn-gbm', 'v3', 0.8123, true, 0.5, %s, now(), now() - interval '1 s')",
        (churn, f"web-{tag}-churn", Jsonb({"tenure_months": -0.31})),
    )
    # An hour of earlier results, one every 15 s, for the pipeline charts to draw.
    conn.execute(
        "INSERT INTO results_churn (result_id, submission_id, model_name, model_version, "
        "probability, label, threshold, top_features, produced_at, submitted_at, created_at) "
        "SELECT encode(sha256(convert_to(%s || g, 'UTF8')), 'hex'), %s || g, 'churn-gbm', 'v3', "
        "0.3, false, 0.5, '{}'::jsonb, t - interval '40 ms' * (1 + g %% 7), "
        "t - interval '1 ms' * (150 + (g * 37) %% 600), t "
        "FROM generate_series(1, 235) g, LATERAL (SELECT now() - interval '15 s' * g AS t) x",
        (f"{tag}/hist", f"web-{tag}-hist-"),
    )
    return {**ids, "product": product, "churn": f"web-{tag}-churn"}


def _key(conn: psycopg.Connection[Any], name: str, role: Role) -> str:
    prefix = ApiSettings.load().api_key_prefix
    return create_key(conn, prefix=prefix, name=name, role=role, ttl_days=1).key


def _sign_in(browser: webdriver.Chrome, base_url: str, key: str) -> None:
    browser.get(f"{base_url}/ui/login")
    browser.find_element(By.ID, "api_key").send_keys(key)
    browser.find_element(By.ID, "sign_in").click()
    _arrive(browser, f"{base_url}/ui")


def test_the_web_view_in_headless_chromium(
    stack: Stack, base_url: str, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
        register_vector(conn)
        ids = _seed(conn, tag)
        reader = _key(conn, f"web-reader-{tag}", Role.reader)
        triager = _key(conn, f"web-triager-{tag}", Role.producer)
    shots = Screenshots(tmp_path)

    # Without a session every page leads to the sign-in form; a wrong key is refused there.
    browser.get(f"{base_url}/ui/review")
    assert browser.current_url.endswith("/ui/login")
    browser.find_element(By.ID, "api_key").send_keys("bgd_live_notakey_x")
    browser.find_element(By.ID, "sign_in").click()
    assert "not valid" in browser.find_element(By.ID, "error").text  # implicit wait: new page
    _sign_in(browser, base_url, reader)

    # The list shows titles (and the original's title); the stylesheet tints duplicates.
    recent = browser.find_element(By.ID, "recent-results").text
    assert "App quits after Ctrl+S" in recent and ids["possible"] not in recent
    # Ours among the tinted rows (the shared stack's other duplicates may be listed too).
    duplicates = browser.find_elements(By.CSS_SELECTOR, "#recent-results tr.duplicate")
    row = next(r for r in duplicates if "Crash on save (big file)" in r.text)
    assert row.value_of_css_property("background-color") == "rgba(253, 226, 225, 1)"
    assert "Editor crashes when saving large files" in row.text
    health = browser.find_element(By.ID, "health").text
    for dependency in ("postgres", "kafka", "s3"):
        assert f"{dependency}: reachable" in health, health
    assert int(browser.find_element(By.ID, "dlq-last-hour").text) >= 1

    # Filters: product and status, then a text search within them.
    Select(browser.find_element(By.ID, "product")).select_by_value(ids["product"])
    Select(browser.find_element(By.ID, "status")).select_by_value("possible_duplicate")
    browser.find_element(By.ID, "apply").click()
    WebDriverWait(browser, 15).until(lambda b: "status=possible_duplicate" in b.current_url)
    listed = browser.find_element(By.ID, "recent-results").text
    assert "App quits after Ctrl+S" in listed and "Crash on save" not in listed
    browser.get(f"{base_url}/ui?q=blurry")
    assert "Toolbar icons are blurry" in browser.find_element(By.ID, "recent-results").text
    assert "Ctrl+S" not in browser.find_element(By.ID, "recent-results").text
    browser.get(f"{base_url}/ui?product={ids['product']}")
    shots.take(browser, "list")

    # A possible duplicate beside the report it may duplicate; a reader gets no forms.
    browser.find_element(By.LINK_TEXT, "App quits after Ctrl+S").click()
    _arrive(browser, f"{base_url}/ui/submissions/{ids['possible']}")
    left = browser.find_element(By.ID, "report-left")
    right = browser.find_element(By.ID, "report-right")
    assert left.find_element(By.CLASS_NAME, "title").text == "App quits after Ctrl+S"
    assert right.find_element(By.CLASS_NAME, "title").text == (
        "Editor crashes when saving large files"
    )
    assert DESCRIPTION in right.find_element(By.CLASS_NAME, "description").text
    assert left.location["y"] == right.location["y"]  # side by side, not stacked
    assert not browser.find_elements(By.ID, "decide")
    first_related = browser.find_elements(By.CSS_SELECTOR, "#related tbody tr")[0].text
    assert ids["original"] in first_related and "0.740" in first_related

    browser.get(f"{base_url}/ui/review?product={ids['product']}")
    queue = browser.find_element(By.ID, "review-queue").text
    assert "App quits after Ctrl+S" in queue and "Editor crashes when saving" in queue
    shots.take(browser, "review")

    browser.get(f"{base_url}/ui/tasks/churn?q=web-{tag}")
    churn = browser.find_element(By.ID, "task-results").text
    assert "probability" in churn and "0.8123" in churn and "tenure_months" in churn

    browser.get(f"{base_url}/ui/pipeline")
    for chart in ("throughput", "latency", "lag", "dlq"):
        assert browser.find_element(By.ID, chart).tag_name == "svg"
    assert len(browser.find_elements(By.CSS_SELECTOR, "#throughput rect")) >= 55  # each minute
    assert browser.find_elements(By.CSS_SELECTOR, "#latency polyline")
    assert int(browser.find_element(By.ID, "results-last-hour").text) >= 5 + 235
    shots.take(browser, "pipeline")

    browser.get(f"{base_url}/ui/submissions/{ids['rejected']}")
    assert "title: too short" in browser.find_element(By.ID, "rejections").text
    _no_csp_violations(browser)
    _sign_out(browser, base_url)

    # A producer key decides through the form; the queue empties and the page says who.
    _sign_in(browser, base_url, triager)
    browser.get(f"{base_url}/ui/submissions/{ids['possible']}")
    shots.take(browser, "detail")
    forged = httpx.post(
        f"{base_url}/ui/review/{ids['possible']}",
        data={"decision": "not_duplicate", "csrf": "0" * 64},
        headers={"Origin": base_url},
        cookies={"inferstream_session": browser.get_cookie("inferstream_session")["value"]},
    )
    assert forged.status_code == 403, forged.text
    browser.find_element(By.ID, "confirm").click()
    WebDriverWait(browser, 15).until(lambda b: b.find_elements(By.ID, "decisions"))
    assert f"decided by web-triager-{tag} (confirm)" in browser.find_element(By.ID, "verdict").text
    assert "possible_duplicate" in browser.find_element(By.ID, "decisions").text
    browser.get(f"{base_url}/ui/review?product={ids['product']}")
    assert browser.find_element(By.ID, "empty").text == "The queue is empty."
    _no_csp_violations(browser)
    _sign_out(browser, base_url)
    shots.check()


class Screenshots:
    """PNGs of the pages, kept in the test's tmp dir and copied to $WEB_VIEW_SCREENSHOTS."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.taken: list[Path] = []

    def take(self, browser: webdriver.Chrome, name: str) -> None:
        path = self.dir / f"{name}.png"
        assert browser.save_screenshot(str(path))
        self.taken.append(path)

    def check(self) -> None:
        target = os.environ.get(SCREENSHOTS_ENV)
        for path in self.taken:
            data = path.read_bytes()
            assert data.startswith(b"\x89PNG") and len(data) > 10_000, path
            if target:
                Path(target).mkdir(parents=True, exist_ok=True)
                shutil.copy(path, Path(target) / path.name)


def _no_csp_violations(browser: webdriver.Chrome) -> None:
    violations = [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]
    assert not violations, violations


def _sign_out(browser: webdriver.Chrome, base_url: str) -> None:
    browser.find_element(By.CSS_SELECTOR, "nav button").click()
    _arrive(browser, f"{base_url}/ui/login")
    browser.get(f"{base_url}/ui")
    assert browser.current_url.endswith("/ui/login"), "signing out must end the session"


def _arrive(browser: webdriver.Chrome, url: str) -> None:
    """A click returns before the navigation it starts has finished: wait for the new page."""
    WebDriverWait(browser, 15).until(lambda b: b.current_url == url)
    WebDriverWait(browser, 15).until(
        lambda b: b.execute_script("return document.readyState") == "complete"
    )
