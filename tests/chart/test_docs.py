"""The user docs stay in step with the code: every condition reason the operator
can report is explained in docs/troubleshooting.md, and links between docs resolve.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import get_args

import pytest

from llm_operator.api import Phase

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "operator" / "llm_operator"
TROUBLESHOOTING = REPO / "docs" / "troubleshooting.md"
# Calls whose first CamelCase string argument is a condition or Event reason.
REASON_CALLS = {"_Problem", "ConditionInput", "error", "warning", "SecretError", "Degraded"}
EVENT_TYPES = {"Normal", "Warning"}
OURS = [
    "docs/install-eks.md",
    "docs/gitops.md",
    "docs/troubleshooting.md",
    "docs/iam/README.md",
]


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _camel(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.fullmatch(r"[A-Z][a-z]+(?:[A-Z][a-z]*)*", node.value)
    ):
        return node.value
    return None


def reasons_in_the_code() -> set[str]:
    found: set[str] = set()
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and _called(node) in REASON_CALLS | {"PlanEvent"}:
                names = [n for n in map(_camel, node.args) if n and n not in EVENT_TYPES]
                found.update(names[:1])
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "reason" for t in node.targets
            ):
                found.update(n for n in map(_camel, ast.walk(node.value)) if n)
    return found


def explained() -> str:
    """Headings of troubleshooting.md plus its `Reason` mentions in bullet lists."""
    text = TROUBLESHOOTING.read_text()
    headings = " ".join(re.findall(r"^#+ (.+)$", text, re.MULTILINE))
    bullets = " ".join(re.findall(r"^- `(\w+)`", text, re.MULTILINE))
    return f"{headings} {bullets}"


def test_the_scan_sees_the_reasons() -> None:
    assert {"NameConflict", "EndpointFailed", "SecretNotFound"} <= reasons_in_the_code()


@pytest.mark.parametrize("reason", sorted(reasons_in_the_code() - {"AsExpected"}))
def test_every_reason_is_explained(reason: str) -> None:
    assert re.search(rf"\b{reason}\b", explained()), (
        f"docs/troubleshooting.md does not explain reason {reason}"
    )


@pytest.mark.parametrize("phase", get_args(Phase))
def test_every_phase_is_explained(phase: str) -> None:
    if phase == "Failed":  # Failed carries the reason of what failed
        assert "phase `Failed`" in TROUBLESHOOTING.read_text()
    else:
        assert re.search(rf"\b{phase}\b", explained())


def anchor(heading: str) -> str:
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


@pytest.mark.parametrize("doc", OURS)
def test_relative_links_resolve(doc: str) -> None:
    path = REPO / doc
    for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text()):
        if re.match(r"[a-z]+://", target):
            continue
        file_part, _, fragment = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.exists(), f"{doc} links to missing {target}"
        if fragment and linked.suffix == ".md":
            anchors = {anchor(h) for h in re.findall(r"^#+ (.+)$", linked.read_text(), re.M)}
            assert fragment in anchors, f"{doc} links to missing anchor {target}"
