"""pytest fixtures for a real kube-apiserver + etcd on loopback (local_cluster).

`cluster` is session scoped: one control plane for the whole run, with the
LLMEndpoint and LLMEndpointPolicy CRDs from crds/ installed and Established.
`namespace` gives each test a fresh namespace; `kubectl` runs the real kubectl
as admin in that namespace.

There is no kube-controller-manager, scheduler or kubelet, so tests must not
rely on what those do:
- no garbage collection: objects with ownerReferences to a deleted owner stay;
- namespace deletion never finishes: a deleted namespace stays Terminating with
  its objects in it (so every test gets a new namespace instead of reusing one);
- no `default` ServiceAccount and no kube-root-ca.crt ConfigMap in new
  namespaces: create the ServiceAccounts a test needs;
- Deployments, ReplicaSets and Jobs never turn into Pods, and nothing runs.
What lives in the API server works: CRD schemas and CEL rules, the status
subresource, finalizers, RBAC, impersonation, TokenRequest and watches.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llm_operator.api.crd import CRD_NAME, POLICY_CRD_NAME, POOL_CRD_NAME
from local_cluster import binaries
from local_cluster.cluster import ClusterError, LocalCluster

REPO = Path(__file__).resolve().parents[2]
CRD_FILE = REPO / "crds" / "llmendpoints.yaml"
POLICY_CRD_FILE = REPO / "crds" / "llmendpointpolicies.yaml"
POOL_CRD_FILE = REPO / "crds" / "llmendpointpools.yaml"


class Kubectl:
    """The real kubectl, bound to one cluster, kubeconfig and namespace."""

    def __init__(self, cluster: LocalCluster, namespace: str, kubeconfig: Path | None = None):
        self.cluster = cluster
        self.namespace = namespace
        self.kubeconfig = kubeconfig or cluster.kubeconfig

    def __call__(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        return self.cluster.kubectl(
            "--namespace",
            self.namespace,
            *args,
            input=input,
            check=check,
            kubeconfig_path=self.kubeconfig,
            timeout=timeout,
        )

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "-o", "json").stdout)

    @property
    def is_admin(self) -> bool:
        return Path(self.kubeconfig) == Path(self.cluster.kubeconfig)

    def api_get(self, path: str, **query: str) -> Any:
        """What `kubectl get -o json` shows for an API path (None when it does not exist),
        read as the admin in one HTTPS request: wait loops read several times a second,
        and each kubectl process costs about a fifth of a CPU second."""
        url = f"{path}?{urllib.parse.urlencode(query)}" if query else path
        status, body = self.cluster.request("GET", url, timeout=60)
        if status == 404:
            return None
        if status != 200:
            raise ClusterError(f"GET {url} answered {status}: {body[:2000]}")
        return json.loads(body)

    def apply(
        self, manifest: str | Path, *, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        if isinstance(manifest, Path):
            return self("apply", "-f", str(manifest), check=check)
        return self("apply", "-f", "-", input=manifest, check=check)


@pytest.fixture(scope="session")
def cluster_binaries() -> binaries.Binaries:
    """The pinned binaries, built by tools/build-binaries.sh when missing."""
    return binaries.ensure()


@pytest.fixture(scope="session")
def cluster(cluster_binaries: binaries.Binaries) -> Iterator[LocalCluster]:
    """A running control plane with the LLMEndpoint CRD Established."""
    with LocalCluster(cluster_binaries.bin_dir, audit=True) as c:
        c.kubectl(
            "apply",
            "--server-side",
            "-f",
            str(CRD_FILE),
            "-f",
            str(POLICY_CRD_FILE),
            "-f",
            str(POOL_CRD_FILE),
        )
        c.wait_established(f"crd/{CRD_NAME}", f"crd/{POLICY_CRD_NAME}", f"crd/{POOL_CRD_NAME}")
        yield c


def _slug(text: str, limit: int) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")


@pytest.fixture
def namespace(cluster: LocalCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new namespace named after the test (deleted afterwards; it stays Terminating).

    Made and deleted by API requests, not kubectl processes: every test against the
    API server has one."""
    name = f"{_slug(request.node.name, 40) or 't'}-{uuid.uuid4().hex[:6]}"
    created = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    status, body = cluster.request("POST", "/api/v1/namespaces", created, timeout=60)
    if status != 201:
        raise ClusterError(f"creating namespace {name} answered {status}: {body[:2000]}")
    yield name
    cluster.request("DELETE", f"/api/v1/namespaces/{name}", timeout=60)


@pytest.fixture
def kubectl(cluster: LocalCluster, namespace: str) -> Kubectl:
    """kubectl as admin in the test's namespace."""
    return Kubectl(cluster, namespace)
