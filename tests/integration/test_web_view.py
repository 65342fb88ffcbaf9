"""The web view in a real headless Chromium (Debian chromium + chromedriver) against the real
`inferstream api` on the embedded stack: sign-in, recent results, a submission's duplicates
with their similarity scores, pipeline health, and the CSP letting the stylesheet through."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import psycopg
import pytest
from _stack import Stack, serve_api
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from inferstream.api import Role
from inferstream.api.keys import create_key
from inferstream.settings import ApiSettings

DIM = 384


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
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with webdriver.Chrome(service=Service(driver), options=options) as chrome:
        chrome.set_page_load_timeout(30)
        chrome.implicitly_wait(10)  # find_element polls until the element is there
        yield chrome


def _vector(rng: np.random.Generator, near: np.ndarray | None = None) -> np.ndarray:
    v = rng.standard_normal(DIM) if near is None else near + 0.35 * rng.standard_normal(DIM)
    return (v / np.linalg.norm(v)).astype(np.float32)


def _store(
    conn: psycopg.Connection[Any],
    submission_id: str,
    vector: np.ndarray,
    *,
    duplicate_of: str | None = None,
    score: float = 0.0,
) -> None:
    result_id = hashlib.sha256(f"{submission_id}/web".encode()).hexdigest()
    status = "duplicate" if duplicate_of else "unique"
    similar = [{"submission_id": duplicate_of, "score": score}] if duplicate_of else []
    conn.execute(
        "INSERT INTO results_bug_report (result_id, submission_id, model_name, model_version, "
        "quality_score, low_quality, duplicate_status, duplicate_of, similar_items, "
        "content_sha256, embedding, produced_at) "
        "VALUES (%s, %s, 'minilm', 'v1', 0.8, false, %s, %s, %s, %s, %s, now())",
        (result_id, submission_id, status, duplicate_of, Jsonb(similar), result_id, vector),
    )
    conn.execute(
        "INSERT INTO submissions (submission_id, task, status, result_id) "
        "VALUES (%s, 'bug_report', 'done', %s)",
        (submission_id, result_id),
    )


def test_the_web_view_in_headless_chromium(
    stack: Stack, base_url: str, browser: webdriver.Chrome
) -> None:
    rng = np.random.default_rng(29)
    original, duplicate, rejected = (f"web-{uuid.uuid4().hex[:10]}" for _ in range(3))
    with psycopg.connect(stack.postgres.conninfo(), autocommit=True) as conn:
        register_vector(conn)
        first = _vector(rng)
        second = _vector(rng, near=first)
        cosine = float(first @ second)
        _store(conn, original, first)
        _store(conn, duplicate, second, duplicate_of=original, score=cosine)
        conn.execute(
            "INSERT INTO submissions (submission_id, task, status, reason) "
            "VALUES (%s, 'bug_report', 'rejected', 'title: too short')",
            (rejected,),
        )
        conn.execute(
            "INSERT INTO dead_letters (submission_id, task, stage, kind, reason, original_topic,"
            " original_partition, original_offset, payload) VALUES "
            "(%s, 'bug_report', 'enrich', 'rejected', 'title: too short', 'web-test', 0, "
            "(SELECT coalesce(max(original_offset), 0) + 1 FROM dead_letters), '\\x00')",
            (rejected,),
        )
        key = create_key(
            conn, prefix=ApiSettings.load().api_key_prefix, name="web", role=Role.reader, ttl_days=1
        ).key

    # Without a session every page leads to the sign-in form; a wrong key is refused there.
    browser.get(f"{base_url}/ui")
    assert browser.current_url.endswith("/ui/login")
    browser.find_element(By.ID, "api_key").send_keys("bgd_live_notakey_x")
    browser.find_element(By.ID, "sign_in").click()
    assert "not valid" in browser.find_element(By.ID, "error").text  # implicit wait: new page

    browser.find_element(By.ID, "api_key").send_keys(key)
    browser.find_element(By.ID, "sign_in").click()
    _arrive(browser, f"{base_url}/ui")
    recent = browser.find_element(By.ID, "recent-results").text
    assert original in recent and duplicate in recent
    # The stylesheet is allowed by the page's CSP: the duplicate row is tinted.
    row = browser.find_element(By.CSS_SELECTOR, "#recent-results tr.duplicate")
    assert row.value_of_css_property("background-color") == "rgba(253, 226, 225, 1)"
    health = browser.find_element(By.ID, "health").text
    for dependency in ("postgres", "kafka", "s3"):
        assert f"{dependency}: reachable" in health, health
    assert int(browser.find_element(By.ID, "dlq-last-hour").text) >= 1
    assert "rejected" in browser.find_element(By.ID, "submission-counts").text

    browser.find_element(By.LINK_TEXT, duplicate).click()
    _arrive(browser, f"{base_url}/ui/submissions/{duplicate}")
    assert browser.find_element(By.ID, "field-duplicate_status").text == "duplicate"
    related = browser.find_element(By.ID, "related")
    first_row = related.find_elements(By.CSS_SELECTOR, "tbody tr")[0].text
    assert original in first_row and "duplicate of" in first_row
    assert f"{cosine:.3f}" in first_row

    browser.find_element(By.LINK_TEXT, original).click()
    _arrive(browser, f"{base_url}/ui/submissions/{original}")
    back = browser.find_element(By.ID, "related").text
    assert duplicate in back and "filed as its duplicate" in back

    browser.get(f"{base_url}/ui/submissions/{rejected}")
    assert "title: too short" in browser.find_element(By.ID, "rejections").text

    violations = [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]
    assert not violations, violations

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
