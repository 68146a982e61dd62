"""pytest fixtures running the real operator (`llm-operator run`) against the emulator.

`emulated_sagemaker` starts a fresh in-process SageMaker emulator per test; `run_operator`
starts `llm-operator run` (local_cluster.services.Operator) watching only the test's
namespace (the session's API server keeps every earlier test's objects, since
namespaces never finish deleting without kube-controller-manager), pointed at the
emulator through AWS_ENDPOINT_URL_SAGEMAKER, with fast polling. The operator can be
SIGKILLed and started again, as a crashed pod would be.

`emulator_process` is `sagemaker-emulator` as a child process (local_cluster.services.
Emulator), fresh per test; parametrize it indirectly to change its --delay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local_cluster.cluster import LocalCluster
from local_cluster.services import Emulator, Operator, emulator_aws_env
from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer
from tests.plugins.emulator_fixtures import ACCOUNT, REGION, boto3_client

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


@pytest.fixture
def emulator_process(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """`sagemaker-emulator` as a child process, fresh per test."""
    delay = float(getattr(request, "param", EMULATOR_PROCESS_DELAY))
    emulator = Emulator.start(tmp_path / "emulator.log", delay=delay)
    yield emulator
    emulator.stop()


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
        )
        started.append(op)
        return op.start().wait_healthy()

    yield start
    for op in started:
        op.stop()
    for op in started:
        logs = op.logs()
        assert "Traceback" not in logs, f"the operator logged a traceback:\n{logs[-6000:]}"
