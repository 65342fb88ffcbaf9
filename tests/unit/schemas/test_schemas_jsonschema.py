"""The committed JSON Schema files match the models."""

from __future__ import annotations

from pathlib import Path

import orjson

from inferstream.schemas import (
    JSONSCHEMA_DIR,
    TASKS,
    export_json_schemas,
    render_json_schemas,
    stale_json_schemas,
)


def test_committed_json_schemas_are_current() -> None:
    stale = stale_json_schemas()
    assert stale == [], f"stale JSON Schema files {stale}: run `inferstream schemas export`"


def test_rendered_names_and_task_const() -> None:
    rendered = render_json_schemas()
    expected = {f"{t}.{kind}.schema.json" for t in TASKS for kind in ("envelope", "result")}
    assert set(rendered) == expected
    for task in TASKS:
        env = orjson.loads(rendered[f"{task}.envelope.schema.json"])
        assert env["properties"]["task"]["const"] == task
        assert env["additionalProperties"] is False
        res = orjson.loads(rendered[f"{task}.result.schema.json"])
        assert res["properties"]["task"]["const"] == task
        assert rendered[f"{task}.envelope.schema.json"].endswith(b"}\n")
    assert render_json_schemas() == rendered  # deterministic


def test_export_then_mutate_is_stale(tmp_path: Path) -> None:
    assert stale_json_schemas(tmp_path / "missing") == sorted(render_json_schemas())
    written = export_json_schemas(tmp_path)
    assert sorted(p.name for p in written) == sorted(render_json_schemas())
    assert stale_json_schemas(tmp_path) == []

    target = tmp_path / "churn.result.schema.json"
    target.write_bytes(target.read_bytes().replace(b'"probability"', b'"prob"'))
    (tmp_path / "old.envelope.schema.json").write_bytes(b"{}\n")
    (tmp_path / "media.envelope.schema.json").unlink()
    (tmp_path / "README.md").write_text("not a schema")
    assert stale_json_schemas(tmp_path) == [
        "churn.result.schema.json",
        "media.envelope.schema.json",
        "old.envelope.schema.json",
    ]

    export_json_schemas(tmp_path)
    assert stale_json_schemas(tmp_path) == []
    assert not (tmp_path / "old.envelope.schema.json").exists()
    assert (tmp_path / "README.md").exists()


def test_default_directory_is_package_dir() -> None:
    assert JSONSCHEMA_DIR.name == "jsonschema"
    assert JSONSCHEMA_DIR.parent.name == "schemas"
    assert (JSONSCHEMA_DIR / "bug_report.envelope.schema.json").is_file()
