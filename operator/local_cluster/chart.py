"""The Helm chart's RBAC, rendered with the pinned helm, to run the operator under it."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

RBAC_KINDS = ("ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
ADMISSION_KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
# What a v1.30+ API server serves and `helm template` does not assume.
ADMISSION_API = "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy"


def render(
    helm: Path,
    chart_dir: Path,
    *,
    release: str,
    namespace: str,
    set_values: Mapping[str, str] | None = None,
    kube_version: str | None = None,
    api_versions: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """`helm template` the chart and return its documents (`api_versions`: what the
    cluster serves beyond helm's defaults, for the chart's capability checks)."""
    argv = [str(helm), "template", release, str(chart_dir), "--namespace", namespace]
    if kube_version:
        argv += ["--kube-version", kube_version]
    for version in api_versions:
        argv += ["--api-versions", version]
    for key, value in (set_values or {}).items():
        argv += ["--set", f"{key}={value}"]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"helm template failed: {result.stderr.strip()}")
    return [d for d in yaml.safe_load_all(result.stdout) if isinstance(d, dict)]


def select(
    documents: Sequence[dict[str, Any]], kinds: Sequence[str] = RBAC_KINDS
) -> list[dict[str, Any]]:
    return [d for d in documents if d.get("kind") in kinds]


def service_account(documents: Sequence[dict[str, Any]]) -> tuple[str, str]:
    """(namespace, name) of the chart's ServiceAccount."""
    for d in documents:
        if d.get("kind") == "ServiceAccount":
            meta = d["metadata"]
            return str(meta["namespace"]), str(meta["name"])
    raise RuntimeError("the chart renders no ServiceAccount")


def to_yaml(documents: Sequence[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(list(documents), sort_keys=False)
