"""End-to-end fixtures: the chart's RBAC, the SageMaker emulator and the operator as
subprocesses, on the session's local control plane (tests/plugins/cluster_fixtures.py).

Each test gets its own emulator (`emulator_process`, tests/plugins/operator_fixtures.py;
`sagemaker_api` reads it through boto3) and its own operator watching only the test's
namespace, so what one test leaves behind can never disturb another, and
"nothing left in SageMaker" can be asserted exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from local_cluster import chart
from local_cluster.cluster import LocalCluster
from local_cluster.services import Emulator, Operator
from tests.e2e.sagemaker import SageMaker
from tests.plugins.cluster_fixtures import REPO

CHART = REPO / "charts" / "llm-operator"
RELEASE = "llm-operator"
OPERATOR_NAMESPACE = "llm-operator-system"


@dataclass(frozen=True)
class OperatorIdentity:
    """The chart's ServiceAccount and a kubeconfig carrying one of its tokens."""

    namespace: str
    name: str
    kubeconfig: Path


def install_operator_rbac(
    cluster: LocalCluster,
    *,
    release: str = RELEASE,
    namespace: str = OPERATOR_NAMESPACE,
    set_values: dict[str, str] | None = None,
) -> OperatorIdentity:
    """Apply the RBAC of `helm template` for these values and log in as its ServiceAccount."""
    documents = chart.render(
        cluster.binaries.helm,
        CHART,
        release=release,
        namespace=namespace,
        set_values=set_values,
        kube_version="v1.33.13",
    )
    rbac = chart.select(documents)
    cluster.kubectl("create", "namespace", namespace)
    cluster.kubectl("apply", "-f", "-", input=chart.to_yaml(rbac))
    sa_namespace, name = chart.service_account(rbac)
    user = f"system:serviceaccount:{sa_namespace}:{name}"
    bound = sorted({d["metadata"]["namespace"] for d in rbac if d["kind"] == "RoleBinding"})
    for scope in bound or [None]:
        cluster.wait_until_allowed(
            user, "patch", "llmendpoints.llmoperator.io/status", namespace=scope
        )
        cluster.wait_until_allowed(user, "get", "secrets", namespace=scope)
    return OperatorIdentity(
        sa_namespace, name, cluster.service_account_kubeconfig(sa_namespace, name)
    )


@pytest.fixture(scope="session")
def operator_identity(cluster: LocalCluster) -> OperatorIdentity:
    """The chart's default RBAC (all namespaces: a ClusterRole) and its ServiceAccount."""
    return install_operator_rbac(cluster)


def operator_env(emulator: Emulator, namespace: str) -> dict[str, str]:
    return {
        **emulator.aws_env,
        "LLMOP_NAMESPACES": namespace,
        "LLMOP_TRANSITION_POLL_SECONDS": "0.2",
        "LLMOP_RESYNC_SECONDS": "5",
    }


@pytest.fixture
def sagemaker_api(emulator_process: Emulator) -> SageMaker:
    """What the test's emulator holds, through boto3."""
    return SageMaker(emulator_process)


@pytest.fixture
def operator(
    operator_identity: OperatorIdentity,
    emulator_process: Emulator,
    namespace: str,
    tmp_path: Path,
) -> Iterator[Operator]:
    """llm-operator run under the chart's ServiceAccount, watching the test's namespace."""
    op = Operator(
        kubeconfig=operator_identity.kubeconfig,
        log=tmp_path / "operator.log",
        env=operator_env(emulator_process, namespace),
    )
    op.start()
    op.wait_healthy()
    yield op
    op.stop()
    # Shown by pytest only when the test failed.
    print(f"--- operator log ({op.log}) ---\n{op.log_tail(200)}")
