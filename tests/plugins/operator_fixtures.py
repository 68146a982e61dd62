"""pytest fixtures running the real operator (`llm-operator run`) against the emulator.

`emulated_sagemaker` starts a fresh in-process SageMaker emulator per test; `run_operator`
starts `llm-operator run` as a subprocess watching only the test's namespace
(the session's API server keeps every earlier test's objects, since namespaces
never finish deleting without kube-controller-manager), pointed at the emulator
through AWS_ENDPOINT_URL_SAGEMAKER, with fast polling. The subprocess can be
SIGKILLed and started again, as a crashed pod would be.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
from botocore.config import Config

from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer

ACCOUNT = "123456789012"
REGION = "us-east-1"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    what: str, probe: Callable[[], T | None], timeout: float = 60.0, interval: float = 0.1
) -> T:
    """Polls `probe` until it returns something truthy; fails with `what` on timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


@dataclass
class SageMakerEmulator:
    server: EmulatorServer
    admin: AdminClient

    @property
    def url(self) -> str:
        return self.server.url

    def client(self) -> Any:
        return boto3.client(
            "sagemaker",
            region_name=REGION,
            endpoint_url=self.url,
            aws_access_key_id="AKIAEXAMPLEOPERATOR",
            aws_secret_access_key="not-a-secret",
            config=Config(retries={"mode": "standard"}),
        )

    def names(self) -> dict[str, list[str]]:
        return self.admin.resource_names(ACCOUNT, REGION)


@pytest.fixture
def emulated_sagemaker() -> Iterator[SageMakerEmulator]:
    """A fresh SageMaker emulator with a short transition delay."""
    with EmulatorServer(delay=0.05) as server:
        yield SageMakerEmulator(server, AdminClient(server.url))


@dataclass
class OperatorProcess:
    """`llm-operator run` as a subprocess; logs go to a file the test can read."""

    kubeconfig: Path
    namespace: str
    emulator_url: str
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    metrics_port: int = field(default_factory=free_port)
    health_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "LLMOP_")) and k != "KUBECONFIG"
        }
        env.update(
            KUBECONFIG=str(self.kubeconfig),
            AWS_ENDPOINT_URL_SAGEMAKER=self.emulator_url,
            AWS_ACCESS_KEY_ID="AKIAEXAMPLEOPERATOR",
            AWS_SECRET_ACCESS_KEY="not-a-secret",
            AWS_REGION=REGION,
            AWS_EC2_METADATA_DISABLED="true",
            LLMOP_TRANSITION_POLL_SECONDS="0.2",
            LLMOP_RESYNC_SECONDS="30",
            LLMOP_METRICS_PORT=str(self.metrics_port),
            LLMOP_HEALTH_PORT=str(self.health_port),
            LLMOP_AWS_CALLS_PER_SECOND="200",
            LLMOP_AWS_BURST="100",
        )
        env.update(self.extra_env)
        return env

    def start(self) -> OperatorProcess:
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n===== start {self.starts} =====\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llm_operator.cli",
                "run",
                "--namespace",
                self.namespace,
                "--standalone",
                "--verbose",
            ],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for("the operator's /healthz", self.healthy, timeout=60)
        return self

    def healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"the operator exited:\n{self.logs()[-4000:]}")
        try:
            url = f"http://127.0.0.1:{self.health_port}/healthz"
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def kill(self) -> None:
        """SIGKILL: no cleanup, no finalizer handling, as when a node dies."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def metric(self, name: str, **labels: str) -> float:
        """One sample of the operator's /metrics (0 when absent)."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            if line.startswith("#"):
                continue
            sample, _, value = line.rpartition(" ")
            metric, _, label_text = sample.partition("{")
            got = ",".join(sorted(label_text.rstrip("}").split(","))) if label_text else ""
            if metric == name and got == wanted:
                return float(value)
        return 0.0


@pytest.fixture
def run_operator(
    cluster: Any, namespace: str, emulated_sagemaker: SageMakerEmulator, tmp_path: Path
) -> Iterator[Callable[..., OperatorProcess]]:
    """Starts the operator for the test's namespace; stops it (and checks its logs) after."""
    started: list[OperatorProcess] = []

    def start(**extra_env: str) -> OperatorProcess:
        op = OperatorProcess(
            kubeconfig=Path(cluster.kubeconfig),
            namespace=namespace,
            emulator_url=emulated_sagemaker.url,
            log_path=tmp_path / "operator.log",
            extra_env=extra_env,
        )
        started.append(op)
        return op.start()

    yield start
    for op in started:
        op.stop()
    for op in started:
        logs = op.logs()
        assert "Traceback" not in logs, f"the operator logged a traceback:\n{logs[-6000:]}"
