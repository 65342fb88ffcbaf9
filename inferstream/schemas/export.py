"""JSON Schema files for non-Python producers, generated into the package (and checked current)."""

from __future__ import annotations

from pathlib import Path

import orjson

from .registry import TASKS

__all__ = ["JSONSCHEMA_DIR", "export_json_schemas", "render_json_schemas", "stale_json_schemas"]

JSONSCHEMA_DIR = Path(__file__).resolve().parent / "jsonschema"
_SUFFIX = ".schema.json"


def _dump(schema: object) -> bytes:
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def render_json_schemas() -> dict[str, bytes]:
    """``{filename: content}``: ``<task>.envelope.schema.json`` (validation mode) and
    ``<task>.result.schema.json`` (serialization mode: what consumers read) for every task."""
    out: dict[str, bytes] = {}
    for name in sorted(TASKS):
        contract = TASKS[name]
        out[f"{name}.envelope{_SUFFIX}"] = _dump(contract.envelope_model.model_json_schema())
        out[f"{name}.result{_SUFFIX}"] = _dump(
            contract.result_model.model_json_schema(mode="serialization")
        )
    return out


def export_json_schemas(directory: Path | None = None) -> list[Path]:
    """Write the schemas into ``directory`` (default: the package's ``jsonschema/``), remove stale
    ``*.schema.json`` files, and return the paths written (sorted)."""
    target = JSONSCHEMA_DIR if directory is None else directory
    target.mkdir(parents=True, exist_ok=True)
    rendered = render_json_schemas()
    for old in target.glob(f"*{_SUFFIX}"):
        if old.name not in rendered:
            old.unlink()
    written: list[Path] = []
    for filename, content in sorted(rendered.items()):
        path = target / filename
        if not path.is_file() or path.read_bytes() != content:
            path.write_bytes(content)
        written.append(path)
    return written


def stale_json_schemas(directory: Path | None = None) -> list[str]:
    """Sorted names of schema files that are missing, differ from the models, or are extra."""
    target = JSONSCHEMA_DIR if directory is None else directory
    rendered = render_json_schemas()
    stale = {
        name
        for name, content in rendered.items()
        if not (target / name).is_file() or (target / name).read_bytes() != content
    }
    if target.is_dir():
        stale.update(p.name for p in target.glob(f"*{_SUFFIX}") if p.name not in rendered)
    return sorted(stale)
