"""The standard AWS environment for in-process tests, pointed at the test's emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.plugins.operator_fixtures import SageMakerEmulator
from tests.plugins.reconciling import aws_environment


@pytest.fixture
def aws_env(
    emulated_sagemaker: SageMakerEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    aws_environment(monkeypatch, SAGEMAKER=emulated_sagemaker.url)
    yield
