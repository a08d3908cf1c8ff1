"""docs/settings.md is generated from the Settings class and must not drift from it."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from assistant.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "gen_settings_doc.py"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_settings_doc", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_setting_has_a_description() -> None:
    missing = [name for name, field in Settings.model_fields.items() if not (field.description or "").strip()]
    assert missing == []


def test_docs_settings_md_is_up_to_date(generator: ModuleType) -> None:
    current = (ROOT / "docs" / "settings.md").read_text("utf-8")
    assert current == generator.render(), "docs/settings.md is stale: run python tools/gen_settings_doc.py"


def test_every_setting_is_documented_with_its_variable(generator: ModuleType) -> None:
    text = generator.render()
    for name in Settings.model_fields:
        assert f"`CAMPO_{name.upper()}`" in text, name
    assert "`TELEGRAM_BOT_TOKEN`" in text  # the alias Telegram users know
    assert "`<project>/data`" in text and str(ROOT) not in text  # no machine-specific paths


def test_the_documented_variables_are_the_ones_settings_reads(
    generator: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAMPO_STATE_BACKEND", "redis")
    monkeypatch.setenv("CAMPO_REDIS_PREFIX", "staging:")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.state_backend == "redis" and settings.redis_prefix == "staging:"
    assert settings.telegram_bot_token.get_secret_value() == "123:abc"
    assert generator.env_names("telegram_bot_token", Settings.model_fields["telegram_bot_token"]) == [
        "TELEGRAM_BOT_TOKEN",
        "CAMPO_TELEGRAM_BOT_TOKEN",
    ]


def test_check_mode_detects_a_stale_page(tmp_path: Path, generator: ModuleType) -> None:
    stale = tmp_path / "settings.md"
    stale.write_text(generator.render().replace("CAMPO_REDIS_URL", "CAMPO_REDIS"), "utf-8")
    original = generator.OUTPUT
    generator.OUTPUT = stale
    try:
        assert generator.main(["--check"]) == 1
        stale.write_text(generator.render(), "utf-8")
        assert generator.main(["--check"]) == 0
    finally:
        generator.OUTPUT = original
    run = subprocess.run([sys.executable, str(TOOL), "--check"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr


DEPLOY_FILES = [
    ROOT / "docs" / "deploy.md",
    ROOT / "deploy" / "campo.env.example",
    ROOT / "deploy" / "docker-compose.yml",
    *sorted((ROOT / "deploy" / "systemd").glob("*")),
]


def test_deploy_files_only_use_real_setting_names(generator: ModuleType) -> None:
    known = {v for name, f in Settings.model_fields.items() for v in generator.env_names(name, f)}
    for path in DEPLOY_FILES:
        used = set(
            re.findall(r"\b(?:CAMPO_[A-Z0-9_]*[A-Z0-9]|TELEGRAM_BOT_TOKEN)\b", path.read_text("utf-8"))
        )
        assert used or path.parent.name == "systemd", path  # units get them from the EnvironmentFile
        assert used <= known, f"{path.relative_to(ROOT)}: unknown settings {sorted(used - known)}"


def test_env_example_is_valid_production_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CAMPO_") or name == "TELEGRAM_BOT_TOKEN":
            monkeypatch.delenv(name)
    settings = Settings(_env_file=ROOT / "deploy" / "campo.env.example")  # type: ignore[call-arg]
    assert settings.environment == "production" and settings.state_backend == "redis"
    assert settings.chroma_url and settings.telegram_webhook_url.startswith("https://")


def test_compose_file_wires_every_service_to_the_shared_state() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text("utf-8"))
    services = compose["services"]
    assert {"api", "bot", "chroma", "redis"} <= set(services)
    for name in ("api", "bot", "ingest"):
        env = services[name]["environment"]
        assert env["CAMPO_STATE_BACKEND"] == "redis" and env["CAMPO_CHROMA_URL"] == "http://chroma:8000"
        assert "campo-data:/srv/campo/data" in services[name]["volumes"]


def test_readme_defaults_match_the_settings() -> None:
    """The README's short table of variables names a default for the common ones; a literal default
    there (`0.86`, `e5`…) must be the class's (CAMPO_ANSWER_FLOOR said 0.65 after it became 0.7)."""
    readme = (ROOT / "README.md").read_text("utf-8")
    checked = 0
    for name, default in re.findall(r"^\| `CAMPO_([A-Z_]+)` \| `([^`]+)` \|", readme, re.M):
        field = Settings.model_fields.get(name.lower())
        if field is None:
            continue
        value = field.get_default(call_default_factory=True)
        shown = getattr(value, "value", value)  # an enum shows its value
        assert str(shown) == default, f"README says CAMPO_{name} defaults to {default}, Settings to {shown}"
        checked += 1
    assert checked >= 4
