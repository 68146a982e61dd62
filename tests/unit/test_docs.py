"""The generated reference docs must match their sources."""

from pathlib import Path

import pytest

from llm_operator import docs

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
