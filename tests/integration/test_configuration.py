"""Operator settings: environment parsing and the generated reference page."""

from __future__ import annotations

from pathlib import Path

import pytest

from llm_operator.settings import OperatorSettings, render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_configuration_reference_is_generated_from_the_settings_model() -> None:
    assert DOC.read_text() == render_markdown(), (
        "docs/configuration.md is stale: run `python -m llm_operator.settings > "
        "docs/configuration.md`"
    )
    for name in OperatorSettings.model_fields:
        assert f"`LLMOP_{name.upper()}`" in DOC.read_text()


def test_settings_come_from_llmop_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOP_NAMESPACES", "team-a, team-b,")
    monkeypatch.setenv("LLMOP_TRANSITION_POLL_SECONDS", "0.5")
    monkeypatch.setenv("LLMOP_LOG_FORMAT", "json")
    settings = OperatorSettings()
    assert settings.namespaces == ["team-a", "team-b"]
    assert settings.transition_poll_seconds == 0.5
    assert settings.log_format == "json"
    monkeypatch.setenv("LLMOP_RESYNC_SECONDS", "0")
    with pytest.raises(ValueError, match="resync_seconds"):
        OperatorSettings()
