"""pytest fixtures for the SageMaker emulator: one in-process server per session, reset per test.

`emulator` is the session's EmulatorServer (delay 0: transitions complete at
the next request, or at once with `emulator_admin.settle()`); `sagemaker`
yields it after a reset; `sagemaker_client` / `sagemaker_runtime_client` are
real boto3 clients pointed at it; `emulator_admin` is its AdminClient.
`deployment_alarms` is a CloudWatch client on moto's server in this process, where
the emulator reads the alarms of deployments.

`emulator_with_moto` is a second session server with moto's server beside it
(Application Auto Scaling, CloudWatch) and a short delay, so that its
autoscaler acts quickly: MOTO_DELAY stands for 300 seconds of AWS time.
`autoscaling_emulator` yields it with both reset.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.moto_sidecar import MotoSidecar
from sagemaker_emulator.server import EmulatorServer

ACCOUNT = "123456789012"
REGION = "us-east-1"
MOTO_DELAY = 0.2  # seconds per transition, standing for 300 AWS seconds of autoscaling


_SESSION = boto3.session.Session()  # one loader: the service model is parsed once per run


def boto3_client(url: str, service: str = "sagemaker", **kwargs: Any) -> Any:
    """A boto3 client with dummy credentials and AWS's standard retry mode.

    Not thread-safe (one shared session): create clients before starting threads.
    """
    options: dict[str, Any] = {
        "region_name": REGION,
        "aws_access_key_id": "AKIAEMULATORTEST",
        "aws_secret_access_key": "not-a-secret",
        "config": Config(retries={"mode": "standard"}),
    }
    options.update(kwargs)
    return _SESSION.client(service, endpoint_url=url, **options)


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(host="127.0.0.1", port=0, delay=0.0) as server:
        yield server


@pytest.fixture
def _emulator_reset(emulator: EmulatorServer) -> EmulatorServer:
    AdminClient(emulator.url).reset()
    return emulator


@pytest.fixture
def sagemaker(_emulator_reset: EmulatorServer) -> EmulatorServer:
    return _emulator_reset


@pytest.fixture
def emulator_admin(_emulator_reset: EmulatorServer) -> AdminClient:
    return AdminClient(_emulator_reset.url)


@pytest.fixture
def sagemaker_client(_emulator_reset: EmulatorServer) -> Any:
    return boto3_client(_emulator_reset.url)


@pytest.fixture
def sagemaker_runtime_client(_emulator_reset: EmulatorServer) -> Any:
    return boto3_client(_emulator_reset.url, "sagemaker-runtime")


@pytest.fixture(scope="session")
def _moto_for_alarms() -> Iterator[MotoSidecar]:
    sidecar = MotoSidecar().start()
    yield sidecar
    sidecar.stop()


@pytest.fixture
def deployment_alarms(_moto_for_alarms: MotoSidecar) -> Any:
    """boto3 CloudWatch on moto in this process (as `--with-moto` runs it); name alarms uniquely."""
    return boto3_client(_moto_for_alarms.url, "cloudwatch")


@pytest.fixture(scope="session")
def emulator_with_moto() -> Iterator[EmulatorServer]:
    with EmulatorServer(host="127.0.0.1", port=0, delay=MOTO_DELAY, with_moto=True) as server:
        yield server


@pytest.fixture
def autoscaling_emulator(emulator_with_moto: EmulatorServer) -> EmulatorServer:
    """The emulator with moto beside it, both reset: no resources, targets, alarms or load."""
    AdminClient(emulator_with_moto.url).reset()
    request = urllib.request.Request(f"{emulator_with_moto.moto_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()
    return emulator_with_moto
