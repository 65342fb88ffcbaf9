"""A request body that cannot be decoded (not UTF-8) is an inferstream problem with what to
check, not FastAPI's about:blank "There was an error parsing the body"."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from inferstream.api.problems import install_problem_handlers


class _Body(BaseModel):
    title: str


def _client() -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/v1/things")
    def create(body: _Body) -> dict[str, str]:
        return {"title": body.title}

    return TestClient(app)


def test_a_body_that_is_not_utf8_is_a_problem_naming_the_encoding() -> None:
    response = _client().post(
        "/v1/things",
        content=b'{"title": "caf\xe9"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "urn:inferstream:problem:invalid-body"
    assert problem["detail"] == "the body could not be read: JSON in UTF-8 expected"
    assert problem["instance"] == "/v1/things"


def test_a_valid_body_is_untouched() -> None:
    response = _client().post("/v1/things", json={"title": "café"})
    assert response.status_code == 200
    assert response.json() == {"title": "café"}
