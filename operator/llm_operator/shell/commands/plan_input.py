"""What `llm-operator plan` reads before it renders, as the operator would see it: the
object once the file is applied, and Kubernetes read with the person's kubeconfig (what
they may not read becomes a warning and an inexact plan, never a failure).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from llm_operator.api.models import LLMEndpointSpec
from llm_operator.shell.commands.kube import Cluster
from llm_operator.shell.secrets import SecretError, read_secret_key

# Stand-in owner uid of an LLMEndpoint not created yet: no SageMaker resource carries it.
NEW_UID = "(not created yet)"
# Stands for a token the person may not read: the model then looks changed.
UNREADABLE_TOKEN = "(unreadable)"


def as_applied(
    manifest: Mapping[str, Any], namespace: str, live: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The object the operator reconciles once `manifest` is applied: the manifest's
    metadata and spec with the live object's uid and status, and its generation (one
    more when the spec changes; 1 for a new object)."""
    live_meta = (live or {}).get("metadata") or {}
    generation = int(live_meta.get("generation") or 0)
    spec = _mapping(manifest.get("spec"))
    if live is None or _spec_changes(live.get("spec"), spec):
        generation += 1
    return {
        "metadata": {
            **_mapping(manifest.get("metadata")),
            "namespace": namespace,
            "uid": str(live_meta.get("uid") or NEW_UID),
            "generation": generation,
        },
        "spec": spec,
        "status": dict((live or {}).get("status") or {}),
    }


def _spec_changes(before: Any, after: Mapping[str, Any]) -> bool:
    """Whether applying `after` changes the spec (defaults filled in, as the API server
    fills them)."""
    try:
        return LLMEndpointSpec.model_validate(before) != LLMEndpointSpec.model_validate(after)
    except ValidationError:
        return bool(before != after)


class PlanReads:
    """What rendering reads from Kubernetes, with the person's kubeconfig: what it may
    not read becomes a warning, and the plan an inexact one."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.warnings: list[str] = []
        self.exact = True

    async def cluster_id(self) -> str:
        found = await asyncio.to_thread(self.cluster.cluster_id)
        if not found:
            self.exact = False
            self.warnings.append(
                "ClusterIdentityUnreadable: may not get Namespace kube-system, whose uid the "
                "operator tags every resource with: this plan leaves out the tagging of "
                "resources made before the operator tagged its cluster"
            )
        return found or ""

    async def read_pool(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        found = await asyncio.to_thread(self.cluster.pool, namespace, name)
        if found is None:
            self.exact = False
            self.warnings.append(
                f"PoolUnreadable: LLMEndpointPool {namespace}/{name} does not exist or may not "
                "be read: the plan cannot place the model on it"
            )
        return found

    async def namespace_annotations(self, namespace: str) -> Mapping[str, str]:
        annotations = await asyncio.to_thread(self.cluster.namespace_annotations, namespace)
        if annotations is None:
            self.exact = False
            self.warnings.append(
                f"NamespaceUnreadable: may not get Namespace {namespace}, where the cluster "
                "admin names its AWS role: SageMaker is read as this command's own identity"
            )
        return annotations or {}

    async def read_secret(self, namespace: str, name: str, key: str) -> str:
        try:
            return await asyncio.to_thread(read_secret_key, self.cluster.core, namespace, name, key)
        except SecretError as exc:
            self.exact = False
            self.warnings.append(
                f"{exc.reason}: {exc}. The model's name holds a digest of the token, so without "
                "it this plan cannot tell whether the model changes: it shows a new model (and "
                "the updates that follow from it) that the operator may not make. Run plan with "
                "a kubeconfig that may get this Secret for an exact answer."
            )
            return UNREADABLE_TOKEN


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}
