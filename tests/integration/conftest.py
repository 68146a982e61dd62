"""The standard AWS environment for in-process tests, pointed at the test's emulator
(`aws_env`), or at the emulator with moto beside it for Application Auto Scaling and
CloudWatch (`aws_env_with_moto`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sagemaker_emulator.server import EmulatorServer
from tests.plugins.operator_fixtures import SageMakerEmulator
from tests.plugins.reconciling import aws_environment


@pytest.fixture
def aws_env(
    emulated_sagemaker: SageMakerEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    aws_environment(monkeypatch, SAGEMAKER=emulated_sagemaker.url)
    yield


@pytest.fixture
def aws_env_with_moto(
    autoscaling_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> EmulatorServer:
    """Both reset; SageMaker calls go to the emulator, scaling and alarm calls to moto."""
    moto = autoscaling_emulator.moto_url
    assert moto is not None
    aws_environment(
        monkeypatch,
        SAGEMAKER=autoscaling_emulator.url,
        APPLICATION_AUTO_SCALING=moto,
        CLOUDWATCH=moto,
    )
    return autoscaling_emulator
