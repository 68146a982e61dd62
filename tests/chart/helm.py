"""Runs the real helm (built by tools/build-binaries.sh) on charts/llm-operator."""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from local_cluster import binaries

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "llm-operator"
KUBE_VERSION = "1.33.0"


@cache
def helm_binary() -> Path:
    return binaries.ensure().helm


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(helm_binary()), *args], capture_output=True, text=True, timeout=120, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed: {result.stderr}")
    return result


def values_file(values: dict[str, Any], directory: Path) -> Path:
    path = directory / f"values-{len(list(directory.glob('values-*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def template(
    values: dict[str, Any],
    directory: Path,
    *,
    release: str = "llmop",
    namespace: str = "llm-operator",
    show_only: str | None = None,
    api_versions: tuple[str, ...] = (),
) -> str:
    """`helm template` output for these values (as a user's values file); `api_versions`
    are served beyond helm's defaults."""
    args = [
        "template",
        release,
        str(CHART),
        "--namespace",
        namespace,
        "--kube-version",
        KUBE_VERSION,
        "-f",
        str(values_file(values, directory)),
    ]
    if show_only:
        args += ["--show-only", show_only]
    for version in api_versions:
        args += ["--api-versions", version]
    return helm(*args).stdout


def objects(manifest: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(manifest) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]
