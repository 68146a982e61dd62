"""The user docs stay in step with the code: every condition reason the operator
can report is explained in docs/troubleshooting.md, and links between docs resolve.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path
from typing import get_args

import pytest

from llm_operator.api.models import Phase
from tests.chart.helm import KUBE_VERSION, by_kind, helm, objects

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "operator" / "llm_operator"
TROUBLESHOOTING = REPO / "docs" / "troubleshooting.md"
# Calls whose first CamelCase string argument is a condition or Event reason.
REASON_CALLS = {
    "Problem",
    "ConditionInput",
    "error",
    "warning",
    "SecretError",
    "Degraded",
    "IdentityError",
    "AdoptionError",
}
EVENT_TYPES = {"Normal", "Warning"}
OURS = [
    "docs/install-eks.md",
    "docs/install.md",
    "docs/install-kind.md",
    "docs/gitops.md",
    "docs/troubleshooting.md",
    "docs/iam/README.md",
    "docs/rollouts.md",
    "docs/tenancy.md",
    "docs/autoscaling.md",
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
    for path in sorted(PACKAGE.rglob("*.py")):
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


# The variables docs/install-eks.md sets, with sample values.
INSTALL_ENV = {
    "NAMESPACE": "llm-operator",
    "IMAGE": "111122223333.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-llm-operator",
    "TAG": "0.1.0",
    "REGION": "eu-west-1",
    "ACCOUNT_ID": "111122223333",
}


def shell_words(command: str) -> list[str]:
    """Expands ${VAR}, ${VAR:-default} and $VAR as bash would with INSTALL_ENV."""
    expanded = re.sub(
        r"\$\{(\w+)(?::-[^}]*)?\}|\$(\w+)",
        lambda m: INSTALL_ENV[m.group(1) or m.group(2)],
        command,
    )
    return shlex.split(expanded)


def install_command() -> list[str]:
    text = (REPO / "docs" / "install-eks.md").read_text().replace("\\\n", " ")
    (line,) = [ln for ln in text.splitlines() if ln.startswith("helm install llm-operator")]
    return shell_words(line)


def test_install_guide_helm_command_renders() -> None:
    args = install_command()
    assert args[:3] == ["helm", "install", "llm-operator"]
    rendered = helm("template", *args[2:], "--kube-version", KUBE_VERSION).stdout
    docs = objects(rendered)
    (account,) = by_kind(docs, "ServiceAccount")
    assert account["metadata"]["name"] == "llm-operator"  # the name the IAM trust policy uses
    assert account["metadata"]["namespace"] == INSTALL_ENV["NAMESPACE"]
    role = f"arn:aws:iam::{INSTALL_ENV['ACCOUNT_ID']}:role/llm-operator"
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == role
    (deployment,) = by_kind(docs, "Deployment")
    assert deployment["metadata"]["name"] == "llm-operator"  # the guide's rollout command
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"{INSTALL_ENV['IMAGE']}:{INSTALL_ENV['TAG']}"


def test_install_guide_variations_are_valid_values() -> None:
    text = (REPO / "docs" / "install-eks.md").read_text()
    variations = re.findall(r"^\| [^|]+ \| `(--set [^`]+)` \|$", text, re.MULTILINE)
    assert len(variations) >= 4
    for flags in variations:
        args = install_command()
        helm("template", *args[2:], *shell_words(flags), "--kube-version", KUBE_VERSION)
