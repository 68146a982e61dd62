"""Operator settings: environment parsing and the generated reference page."""

from __future__ import annotations

import pytest

from llm_operator.shell.settings import OperatorSettings, render_markdown


def test_configuration_reference_names_every_setting() -> None:
    # Staleness of the whole page is checked with the other generated docs (test_docs).
    text = render_markdown()
    for name in OperatorSettings.model_fields:
        assert f"`LLMOP_{name.upper()}`" in text


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
