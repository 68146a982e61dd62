"""What the reconciler needs from Kubernetes: the token's Secret, the Namespace's
annotations (its AWS identity), status, and Events.

A small port rather than the kubernetes client itself, so the reconciler can be
driven in-process by tests (against the real SageMaker emulator) with a
recording stand-in, and in production by `KubeCluster`.

Namespaces are read from a watch, not per pass: the operator hands `KubeCluster`
kopf's index of every Namespace (`watch_namespaces`; kopf lists them before any
handler runs and keeps the index in step), so a pass costs the API server no read
for the role annotations, the policies' label selectors or the cluster id. A
Namespace the index does not hold yet (created a moment before its first
LLMEndpoint, its watch event still on the way) is read directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from llm_operator.api.models import GROUP, PLURAL, VERSION
from llm_operator.api.policy import POLICY_PLURAL
from llm_operator.api.pool import POOL_KIND, POOL_PLURAL
from llm_operator.core.identity import NAMESPACE_ANNOTATIONS
from llm_operator.shell.secrets import read_secret_key

if TYPE_CHECKING:
    pass

# Its uid identifies the cluster: it is made once, when the cluster is, and never changes.
IDENTITY_NAMESPACE = "kube-system"


@dataclass(frozen=True)
class NamespaceFacts:
    """What passes read of a Namespace: its uid (kube-system's is the cluster id), its
    labels (which LLMEndpointPolicies govern it) and the annotations naming its AWS
    role (only those: others, like kubectl's last-applied copy, are not kept)."""

    uid: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]


def namespace_facts(
    uid: Any, labels: Mapping[str, str] | None, annotations: Mapping[str, str] | None
) -> NamespaceFacts:
    kept = {k: str(v) for k, v in (annotations or {}).items() if k in NAMESPACE_ANNOTATIONS}
    return NamespaceFacts(str(uid), {str(k): str(v) for k, v in (labels or {}).items()}, kept)


# Namespace name -> its facts (kopf's index: a collection of one per name).
NamespaceIndex = Mapping[str, Collection[NamespaceFacts]]


class ClusterIdentityError(Exception):
    """The cluster's identifier cannot be read (the message says why and what to grant)."""


class Cluster(Protocol):
    async def cluster_id(self) -> str:
        """This cluster's automatic identifier (kube-system's uid); raises
        `ClusterIdentityError`."""
        ...

    async def read_secret(self, namespace: str, name: str, key: str) -> str:
        """One key of a Secret; raises `secrets.SecretError` with a reason."""
        ...

    async def namespace_annotations(self, namespace: str) -> Mapping[str, str]:
        """The Namespace's annotations (empty when it is gone)."""
        ...

    async def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> bool:
        """Merge-patches status; False when the object is gone."""
        ...

    def event(self, body: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        """Posts an Event about the object (never blocks the pass)."""
        ...

    async def llmendpoint(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        """The LLMEndpoint as stored now; None when it is gone."""
        ...


class KubeCluster:
    """The kubernetes client, run off the event loop in a small thread pool."""

    def __init__(self, api: Any | None = None) -> None:
        api = api or _api_client()
        self._core = k8s.CoreV1Api(api)
        self._custom = k8s.CustomObjectsApi(api)
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kube")
        self._namespaces: NamespaceIndex | None = None
        self._pools: Mapping[Any, Any] | None = None

    def watch_namespaces(self, index: NamespaceIndex) -> None:
        """Namespaces are read from `index` from now on (kept in step by a watch)."""
        self._namespaces = index

    def watch_pools(self, index: Mapping[Any, Any]) -> None:
        """LLMEndpointPools are read from `index` (kopf's, by (namespace, name)) from now
        on: an LLMEndpoint's steady pass reads its pool without a GET."""
        self._pools = index

    async def _namespace(self, name: str) -> NamespaceFacts | None:
        """The Namespace from the watch's index, else read (None: it does not exist)."""
        for held in (self._namespaces or {}).get(name, ()):
            return held
        try:
            found = await self._run(self._core.read_namespace, name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        meta = found.metadata
        return namespace_facts(meta.uid, meta.labels, meta.annotations)

    async def _run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))

    async def cluster_id(self) -> str:
        try:
            found = await self._namespace(IDENTITY_NAMESPACE)
        except ApiException as exc:
            raise ClusterIdentityError(identity_error(exc.status, exc.reason)) from None
        if found is None:
            raise ClusterIdentityError(identity_error(404, "Not Found"))
        return found.uid

    async def read_secret(self, namespace: str, name: str, key: str) -> str:
        value: str = await self._run(read_secret_key, self._core, namespace, name, key)
        return value

    async def namespace_annotations(self, namespace: str) -> Mapping[str, str]:
        found = await self._namespace(namespace)
        return dict(found.annotations) if found is not None else {}

    async def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> bool:
        return await self._patch_status(PLURAL, namespace, name, status)

    async def _patch_status(
        self, plural: str, namespace: str, name: str, status: Mapping[str, Any]
    ) -> bool:
        """Merge-patches the status of one of our kinds; False when it is gone meanwhile."""
        try:
            await self._run(
                self._custom.patch_namespaced_custom_object_status,
                GROUP,
                VERSION,
                namespace,
                plural,
                name,
                {"status": dict(status)},
                _content_type="application/merge-patch+json",
            )
        except ApiException as exc:
            if exc.status == 404:  # gone meanwhile: nothing to report on
                return False
            raise
        return True

    async def llmendpoint(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        try:
            found: Mapping[str, Any] = await self._run(
                self._custom.get_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL, name
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return found

    # -- LLMEndpointPools ------------------------------------------------------------

    async def read_pool(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        """The pool from the watch's index, else read (None: it does not exist)."""
        for held in (self._pools or {}).get((namespace, name), ()):
            found_held: Mapping[str, Any] = held
            return found_held
        try:
            found: Mapping[str, Any] = await self._run(
                self._custom.get_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                POOL_PLURAL,
                name,
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return found

    async def list_pools(self, namespace: str | None) -> list[Mapping[str, Any]]:
        """The LLMEndpointPools of `namespace` (None: of every namespace; none when the
        kind is not installed), each with its kind, as budgets count them."""
        try:
            if namespace is None:
                found = await self._run(
                    self._custom.list_cluster_custom_object, GROUP, VERSION, POOL_PLURAL
                )
            else:
                found = await self._run(
                    self._custom.list_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    namespace,
                    POOL_PLURAL,
                )
        except ApiException as exc:
            if exc.status == 404:
                return []
            raise
        return [{**o, "kind": POOL_KIND} for o in found.get("items") or []]

    async def patch_pool_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        await self._patch_status(POOL_PLURAL, namespace, name, status)

    # -- LLMEndpointPolicies (shell.governance's PolicySource) --------------------------

    async def list_policies(self) -> list[Mapping[str, Any]]:
        """Every LLMEndpointPolicy; none when the kind is not installed."""
        try:
            found = await self._run(
                self._custom.list_cluster_custom_object, GROUP, VERSION, POLICY_PLURAL
            )
        except ApiException as exc:
            if exc.status == 404:
                return []
            raise
        return list(found.get("items") or [])

    async def namespace_labels(self, namespace: str) -> Mapping[str, str]:
        found = await self._namespace(namespace)
        return dict(found.labels) if found is not None else {}

    async def namespaces(self) -> dict[str, Mapping[str, str]]:
        """Every namespace's labels."""
        if self._namespaces is not None:
            return {
                name: dict(held.labels)
                for name, facts in self._namespaces.items()
                for held in list(facts)[:1]
            }
        found = await self._run(self._core.list_namespace)
        return {ns.metadata.name: dict(ns.metadata.labels or {}) for ns in found.items}

    async def list_llmendpoints(self, namespace: str | None) -> list[Mapping[str, Any]]:
        """The LLMEndpoints of `namespace` (None: of every namespace), as stored now."""
        if namespace is None:
            found = await self._run(self._custom.list_cluster_custom_object, GROUP, VERSION, PLURAL)
        else:
            found = await self._run(
                self._custom.list_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL
            )
        return list(found.get("items") or [])

    async def patch_policy_status(self, name: str, status: Mapping[str, Any]) -> None:
        try:
            await self._run(
                self._custom.patch_cluster_custom_object_status,
                GROUP,
                VERSION,
                POLICY_PLURAL,
                name,
                {"status": dict(status)},
                _content_type="application/merge-patch+json",
            )
        except ApiException as exc:
            if exc.status != 404:  # deleted meanwhile
                raise

    def event(self, body: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        import kopf  # here: the commands read the cluster through this module, without kopf

        kopf.event(cast(kopf.Body, body), type=type, reason=reason, message=message)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def identity_error(status: int | None, reason: str | None) -> str:
    """Why the cluster's identifier could not be read, and what fixes it."""
    return (
        f"cannot get Namespace {IDENTITY_NAMESPACE} ({status} {reason}): its uid tells this "
        "cluster's SageMaker resources from other clusters' in a shared account; grant get "
        "on namespaces (the chart's ClusterRole does)"
    )


def _api_client() -> Any:
    try:
        k8s_config.load_incluster_config()  # type: ignore[no-untyped-call]
    except k8s_config.ConfigException:
        k8s_config.load_kube_config()  # type: ignore[no-untyped-call]
    return k8s.ApiClient()
