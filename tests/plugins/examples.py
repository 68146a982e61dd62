"""The manifests under examples/, as the tests apply them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.plugins.cluster_fixtures import REPO

EXAMPLES_DIR = REPO / "examples"


def example_files() -> list[Path]:
    """Every top-level example holding an LLMEndpoint."""
    return sorted(p for p in EXAMPLES_DIR.glob("*.yaml") if llmendpoint_docs(p))


def llmendpoint_docs(path: Path) -> list[dict[str, Any]]:
    return [
        d
        for d in yaml.safe_load_all(path.read_text())
        if isinstance(d, dict) and d.get("kind") == "LLMEndpoint"
    ]


def load(name: str) -> list[dict[str, Any]]:
    """All documents of examples/<name>.yaml."""
    path = EXAMPLES_DIR / f"{name}.yaml"
    return [d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)]


def llmendpoint(name: str, **overrides: Any) -> dict[str, Any]:
    """The LLMEndpoint of examples/<name>.yaml, with spec overrides merged one level deep."""
    resource = next(d for d in load(name) if d.get("kind") == "LLMEndpoint")
    for key, value in overrides.items():
        if isinstance(value, dict):
            resource["spec"].setdefault(key, {}).update(value)
        else:
            resource["spec"][key] = value
    return resource


def to_yaml(*docs: dict[str, Any]) -> str:
    return yaml.safe_dump_all(list(docs), sort_keys=False)
