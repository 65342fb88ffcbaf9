"""docs/configuration.md is generated from the settings models and must be current."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from inferstream.cli import app
from inferstream.cli.settings_cmd import all_settings, configuration_doc
from inferstream.settings import ApiSettings, KafkaSettings, WorkerSettings
from inferstream.settings.doc import render_component, undocumented

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "configuration.md"


def test_the_page_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == configuration_doc(), (
        "docs/configuration.md is stale: run `inferstream settings doc`"
    )


def test_every_setting_has_a_description() -> None:
    assert undocumented(all_settings()) == []


def test_every_component_and_variable_is_on_the_page() -> None:
    text = DOC.read_text(encoding="utf-8")
    for cls in all_settings():
        assert f"## `[{cls.section}]`: {cls.__name__}" in text
        for name in cls.model_fields:
            assert f"| `{cls.env_name(name)}` |" in text


def test_rows_carry_type_bounds_default_and_description() -> None:
    api = render_component(ApiSettings)
    assert (
        "| `INFERSTREAM_API_PORT` | int (>= 1, <= 65535) | `8080` | port of `inferstream api` |"
    ) in api
    kafka = render_component(KafkaSettings)
    # A secret, optional: no default shown; a Literal lists its choices.
    assert "| `INFERSTREAM_KAFKA_SASL_PASSWORD` | secret | unset |" in kafka
    assert "one of `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT`, `SASL_SSL` | `PLAINTEXT` |" in kafka
    # Without a description= the comment above the field is used.
    worker = render_component(WorkerSettings)
    assert "`INFERSTREAM_WORKER_MODELS_DIR` | path | unset | Where built model bundles" in worker


def test_check_fails_on_a_stale_page_and_write_fixes_it(tmp_path: Path) -> None:
    page = tmp_path / "configuration.md"
    page.write_text(configuration_doc().replace("`8080`", "`8081`"), encoding="utf-8")
    runner = CliRunner()
    stale = runner.invoke(app, ["settings", "doc", "--check", "--path", str(page)])
    assert stale.exit_code == 1 and "stale" in stale.output
    written = runner.invoke(app, ["settings", "doc", "--path", str(page)])
    assert written.exit_code == 0
    assert page.read_text(encoding="utf-8") == configuration_doc()
    current = runner.invoke(app, ["settings", "doc", "--check", "--path", str(page)])
    assert current.exit_code == 0, current.output
