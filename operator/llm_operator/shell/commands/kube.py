"""The cluster as a person's kubeconfig sees it: read-only helpers for the commands.

`--kubeconfig`, `--context` and `--namespace` mean what they mean to kubectl, so
`kubectl llme ...` behaves like any kubectl command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from llm_operator import __version__
from llm_operator.api.models import GROUP, PLURAL, VERSION
from llm_operator.api.policy import POLICY_PLURAL
from llm_operator.api.pool import POOL_KIND, POOL_PLURAL
from llm_operator.shell.kube import IDENTITY_NAMESPACE


class CommandError(Exception):
    """A problem the person running the command must fix; printed without a traceback."""


@dataclass
class Cluster:
    api: Any  # kubernetes.client.ApiClient
    namespace: str  # --namespace, else the context's, else "default"

    @property
    def custom(self) -> k8s.CustomObjectsApi:
        return k8s.CustomObjectsApi(self.api)

    @property
    def core(self) -> k8s.CoreV1Api:
        return k8s.CoreV1Api(self.api)

    def llmendpoint(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The live LLMEndpoint, or None when it does not exist."""
        try:
            found: dict[str, Any] = cast(
                dict[str, Any],
                self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name),
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise CommandError(_api_problem(exc, f"LLMEndpoint {namespace}/{name}")) from None
        return found

    def pool(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The live LLMEndpointPool; None when it does not exist or may not be read."""
        try:
            found: dict[str, Any] = cast(
                dict[str, Any],
                self.custom.get_namespaced_custom_object(
                    GROUP, VERSION, namespace, POOL_PLURAL, name
                ),
            )
        except ApiException:
            return None
        return found

    def namespace_annotations(self, namespace: str) -> dict[str, str] | None:
        """The Namespace's annotations (where the admin names its AWS role); None when
        they may not be read."""
        try:
            found = self.core.read_namespace(namespace)
        except ApiException as exc:
            if exc.status == 404:
                return {}
            return None
        meta = found.metadata
        return dict((meta.annotations if meta is not None else None) or {})

    def cluster_id(self) -> str | None:
        """This cluster's identifier (kube-system's uid, as the operator reads it); None
        when it may not be read."""
        try:
            found = self.core.read_namespace(IDENTITY_NAMESPACE)
        except ApiException:
            return None
        meta = found.metadata
        return str(meta.uid) if meta is not None and meta.uid else None

    def all_llmendpoints(self) -> list[dict[str, Any]]:
        """Every LLMEndpoint in every namespace (audit needs the full set of uids)."""
        try:
            listed = cast(
                dict[str, Any], self.custom.list_cluster_custom_object(GROUP, VERSION, PLURAL)
            )
        except ApiException as exc:
            raise CommandError(
                _api_problem(exc, "LLMEndpoints in all namespaces")
                + " (audit must see every LLMEndpoint to tell what is orphaned)"
            ) from None
        return list(listed.get("items") or [])

    def policies(self) -> list[dict[str, Any]] | None:
        """Every LLMEndpointPolicy ([] when the kind is not installed); None when they
        may not be read."""
        try:
            listed = cast(
                dict[str, Any],
                self.custom.list_cluster_custom_object(GROUP, VERSION, POLICY_PLURAL),
            )
        except ApiException as exc:
            return [] if exc.status == 404 else None
        return list(listed.get("items") or [])

    def namespace_labels(self, namespace: str) -> dict[str, str] | None:
        """The Namespace's labels (what policies select by); None when they may not be read."""
        try:
            found = self.core.read_namespace(namespace)
        except ApiException as exc:
            return {} if exc.status == 404 else None
        meta = found.metadata
        return dict((meta.labels if meta is not None else None) or {})

    def namespace_llmendpoints(self, namespace: str) -> list[dict[str, Any]] | None:
        """The LLMEndpoints of one namespace (a budget counts them); None when they may
        not be listed."""
        try:
            listed = cast(
                dict[str, Any],
                self.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL),
            )
        except ApiException:
            return None
        found = list(listed.get("items") or [])
        try:  # its pools count against its budgets too (none: the kind is not installed)
            pools = cast(
                dict[str, Any],
                self.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, POOL_PLURAL),
            )
        except ApiException as exc:
            if exc.status != 404:
                return None
            pools = {}
        return found + [{**o, "kind": POOL_KIND} for o in pools.get("items") or []]

    def all_pools(self) -> list[dict[str, Any]]:
        """Every LLMEndpointPool (none when the kind is not installed): their endpoints
        and configs carry the pool's uid, so audit must know them to call them in use."""
        try:
            listed = cast(
                dict[str, Any],
                self.custom.list_cluster_custom_object(GROUP, VERSION, POOL_PLURAL),
            )
        except ApiException as exc:
            if exc.status == 404:
                return []
            raise CommandError(
                _api_problem(exc, "LLMEndpointPools in all namespaces")
                + " (audit must see every pool to tell what is orphaned)"
            ) from None
        return [{**o, "kind": POOL_KIND} for o in listed.get("items") or []]

    def events(self, reason: str) -> list[Any]:
        """Events of one reason in every namespace; [] when they may not be listed."""
        try:
            return list(
                self.core.list_event_for_all_namespaces(field_selector=f"reason={reason}").items
            )
        except ApiException:
            return []


def _api_problem(exc: ApiException, what: str) -> str:
    if exc.status == 403:
        return f"not allowed to read {what} (HTTP 403): ask for get/list on llmendpoints"
    return f"could not read {what}: HTTP {exc.status} {exc.reason}"


def connect(
    kubeconfig: str | None = None, context: str | None = None, namespace: str | None = None
) -> Cluster:
    """An API client for the kubeconfig (or in-cluster config) and the namespace to use."""
    try:
        contexts, current = k8s_config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        api = k8s_config.new_client_from_config(config_file=kubeconfig, context=context)  # type: ignore[no-untyped-call]
    except (k8s_config.ConfigException, OSError) as exc:
        if kubeconfig is None and context is None:
            try:
                k8s_config.load_incluster_config()  # type: ignore[no-untyped-call]
            except k8s_config.ConfigException:
                raise CommandError(f"no usable kubeconfig: {exc}") from None
            return Cluster(k8s.ApiClient(), namespace or "default")
        raise CommandError(f"no usable kubeconfig: {exc}") from None
    chosen = (
        next((c for c in contexts if c.get("name") == context), current) if context else current
    )
    default = ((chosen or {}).get("context") or {}).get("namespace") or "default"
    api.user_agent = f"llm-operator-cli/{__version__}"
    return Cluster(api, namespace or default)
