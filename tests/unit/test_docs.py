"""The generated reference docs must match their sources."""

from pathlib import Path

import pytest

from llm_operator import docs
from llm_operator.api.engines import ENGINES, SETTINGS, Engine

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("relative", sorted(docs.generated()))
def test_committed_doc_is_current(relative: str) -> None:
    committed = (ROOT / relative).read_text()
    assert committed == docs.generated()[relative], (
        f"{relative} is stale: run `make docs` and commit the result"
    )


def test_field_reference_names_every_spec_field_and_rule() -> None:
    text = docs.crd_reference()
    for path in ("spec.model.hfModelId", "spec.resources.copies", "spec.adapters[].name"):
        assert f"`{path}`" in text
    assert "rule:" in text


@pytest.mark.parametrize("engine", ENGINES)
def test_each_engine_page_shows_every_variable_the_operator_renders(engine: Engine) -> None:
    page = docs.generated()[f"docs/engines/{engine}.md"]
    for setting in SETTINGS:
        variable = setting.variables[engine]
        if variable is not None:
            assert f"`{variable}`" in page
        elif setting.user:
            assert f"`{setting.path}`:" in page  # listed under refused settings
    assert "Source: SageMaker Python SDK image_uri_config/" in page
