"""pytest fixtures running the real operator (`llm-operator run`) against the emulator.

`emulated_sagemaker` starts a fresh in-process SageMaker emulator per test; `run_operator`
starts `llm-operator run` (local_cluster.services.Operator) watching only the test's
namespace (the session's API server keeps every earlier test's objects, since
namespaces never finish deleting without kube-controller-manager), pointed at the
emulator through AWS_ENDPOINT_URL_SAGEMAKER, with fast polling. The operator can be
SIGKILLed and started again, as a crashed pod would be.

`emulator_process` is `sagemaker-emulator` as a child process (local_cluster.services.
Emulator), empty for each test; parametrize it indirectly to change its --delay, mark the
test `with_moto` to run moto beside it (Application Auto Scaling, CloudWatch, STS). The
processes themselves are kept for the session (`emulators`: one per command line), and
each test gets one reset, moto included: what the test sees is a fresh emulator, without
paying a process start (with moto, seconds of CPU) per test.

`operator` runs the operator as the chart deploys it: under the chart's RBAC and
ServiceAccount (`operator_identity`, installed once per session), against
`emulator_process` (read through boto3 by `sagemaker_api`), watching the test's
namespace, so what one test leaves behind can never disturb another and "nothing
left in SageMaker" can be asserted exactly.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local_cluster import chart
from local_cluster.cluster import LocalCluster
from local_cluster.services import Emulator, Operator, emulator_aws_env
from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer
from tests.plugins.cluster_fixtures import REPO
from tests.plugins.emulator_fixtures import ACCOUNT, REGION, boto3_client
from tests.plugins.forking import forkserver
from tests.plugins.sagemaker import SageMaker

# Emulator seconds per asynchronous transition of `emulator_process`: fast, but every
# state is visible.
EMULATOR_PROCESS_DELAY = 0.2


@dataclass
class SageMakerEmulator:
    server: EmulatorServer
    admin: AdminClient

    @property
    def url(self) -> str:
        return self.server.url

    def client(self) -> Any:
        return boto3_client(self.url)

    def names(self) -> dict[str, list[str]]:
        return self.admin.resource_names(ACCOUNT, REGION)


@pytest.fixture
def emulated_sagemaker() -> Iterator[SageMakerEmulator]:
    """A fresh SageMaker emulator with a short transition delay."""
    with EmulatorServer(delay=0.05) as server:
        yield SageMakerEmulator(server, AdminClient(server.url))


class EmulatorProcesses:
    """`sagemaker-emulator` processes that outlive a test: one per command line (whatever
    its --delay: the reset sets the test's), handed out reset (every resource, call,
    fault and load forgotten, the test's delay as the start-up delay;
    moto's backends reset and its IAM authorization off), so that each test starts from
    an empty emulator."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._running: dict[tuple[str, ...], Emulator] = {}

    def fresh(self, *, delay: float, args: Sequence[str] = ()) -> Emulator:
        key = tuple(args)  # the delay is the reset's: one process serves every delay
        emulator = self._running.get(key)
        if emulator is None or emulator.proc.poll() is not None:
            log = self.directory / f"emulator-{len(self._running)}.log"
            emulator = self._running[key] = Emulator.start(log, delay=delay, args=args)
        emulator.admin_client.reset(delay=delay)
        if emulator.moto_url is not None:
            # Every backend, and IAM authorization off again (a test may have turned it on).
            for path, body in (("reset-auth", b"inf"), ("reset", b"")):
                request = urllib.request.Request(
                    f"{emulator.moto_url}/moto-api/{path}",
                    data=body,
                    method="POST",
                    headers={"Content-Type": "text/plain"},
                )
                with urllib.request.urlopen(request, timeout=60) as answer:
                    answer.read()
        return emulator

    def stop(self) -> None:
        for emulator in self._running.values():
            emulator.stop()


@pytest.fixture(scope="session")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorProcesses]:
    """The session's emulator processes; `emulators.fresh(delay=..., args=...)` in a
    test's fixture gives it an empty one."""
    processes = EmulatorProcesses(tmp_path_factory.mktemp("emulators"))
    yield processes
    processes.stop()


@pytest.fixture
def emulator_process(emulators: EmulatorProcesses, request: pytest.FixtureRequest) -> Emulator:
    """`sagemaker-emulator` as a child process, empty for this test."""
    delay = float(getattr(request, "param", EMULATOR_PROCESS_DELAY))
    moto = request.node.get_closest_marker("with_moto") is not None
    return emulators.fresh(delay=delay, args=["--with-moto"] if moto else [])


@pytest.fixture
def run_operator(
    cluster: LocalCluster, namespace: str, emulated_sagemaker: SageMakerEmulator, tmp_path: Path
) -> Iterator[Callable[..., Operator]]:
    """Starts the operator for the test's namespace; stops it (and checks its logs) after."""
    started: list[Operator] = []

    def start(**extra_env: str) -> Operator:
        op = Operator(
            kubeconfig=Path(cluster.kubeconfig),
            log=tmp_path / "operator.log",
            args=["--namespace", namespace, "--standalone", "--verbose"],
            env={
                **emulator_aws_env(emulated_sagemaker.url),
                "LLMOP_TRANSITION_POLL_SECONDS": "0.2",
                "LLMOP_RESYNC_SECONDS": "30",
                "LLMOP_AWS_CALLS_PER_SECOND": "200",
                "LLMOP_AWS_BURST": "100",
                **extra_env,
            },
            inherit_settings=False,
            forkserver=forkserver(),
        )
        started.append(op)
        return op.start().wait_healthy()

    yield start
    for op in started:
        op.stop()
    for op in started:
        logs = op.logs()
        assert "Traceback" not in logs, f"the operator logged a traceback:\n{logs[-6000:]}"


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


def started_operator(
    kubeconfig: Path | str,
    emulator: Emulator,
    namespaces: str | Sequence[str],
    log: Path,
    **env: str,
) -> Operator:
    """`llm-operator run` as `kubeconfig`'s identity, watching `namespaces`, pointed at
    `emulator`; `env` overrides operator_env's settings. Started and healthy."""
    watched = namespaces if isinstance(namespaces, str) else ",".join(namespaces)
    op = Operator(
        kubeconfig=Path(kubeconfig),
        log=log,
        env={**operator_env(emulator, watched), **env},
        forkserver=forkserver(),
    )
    return op.start().wait_healthy()


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
    op = started_operator(
        operator_identity.kubeconfig, emulator_process, namespace, tmp_path / "operator.log"
    )
    yield op
    op.stop()
    # Shown by pytest only when the test failed.
    print(f"--- operator log ({op.log}) ---\n{op.log_tail(200)}")
