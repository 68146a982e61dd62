"""docs/install.md and docs/install-kind.md name what the release workflow publishes,
and their `helm install` commands are valid for the chart (rendered with the local
chart standing in for the OCI one)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from scripts import release

from tests.chart.helm import CHART, KUBE_VERSION, REPO, by_kind, helm, objects

OWNER = release.DEFAULT_OWNER
OCI_CHART = f"{release.CHART_REPOSITORY.format(owner=OWNER)}/llm-operator"
IMAGE = release.IMAGE.format(owner=OWNER)
GUIDES = [REPO / "docs" / "install.md", REPO / "docs" / "install-kind.md"]


def commands(path: Path, start: str) -> list[list[str]]:
    """Shell commands of the guide's code blocks that start with `start`, continuation
    lines joined and $VERSION set to the tree's version."""
    text = path.read_text().replace("\\\n", " ")
    found = []
    for line in text.splitlines():
        if line.strip().startswith(start):
            expanded = line.replace('"$VERSION"', release.version())
            found.append(shlex.split(expanded))
    return found


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_helm_install_commands_render(guide: Path) -> None:
    installs = commands(guide, "helm install llm-operator")
    assert installs
    for argv in installs:
        assert argv[3] in (OCI_CHART, "charts/llm-operator")
        args = [str(CHART) if a in (OCI_CHART, "charts/llm-operator") else a for a in argv[2:]]
        args = [a for a in args if a not in ("--create-namespace",)]
        if "--version" in args:  # the local chart stands in for the published version
            del args[args.index("--version") : args.index("--version") + 2]
        docs = objects(helm("template", *args, "--kube-version", KUBE_VERSION).stdout)
        assert by_kind(docs, "Deployment")


def test_the_guides_name_what_the_release_publishes() -> None:
    text = "\n".join(path.read_text() for path in GUIDES)
    assert OCI_CHART in text
    notes = release.notes(OWNER, "0.1.0")
    identity = re.search(r"--certificate-identity (\S+)", notes)
    assert identity
    generic = identity[1].replace("v0.1.0", "v$VERSION")
    assert f"IDENTITY={generic}" in text  # the signer the release workflow is
    assert f"cosign verify {IMAGE}:" in text
    assert "token.actions.githubusercontent.com" in text


def test_the_kind_guide_enables_the_emulator() -> None:
    installs = commands(REPO / "docs" / "install-kind.md", "helm install llm-operator")
    assert all("emulator.enabled=true" in argv for argv in installs)
