"""Every SageMaker answer in this folder is checked against botocore's output shape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sagemaker_emulator.admin import AdminClient
from tests.emulator.shapes import WireRecorder


@pytest.fixture
def wire(sagemaker_client: Any, emulator_admin: AdminClient) -> Iterator[WireRecorder]:
    recorder = WireRecorder(sagemaker_client)
    yield recorder
    assert recorder.problems == [], "answers that do not match botocore's output shapes"
    assert emulator_admin.emulator_errors() == 0, "the emulator crashed on a request (see stderr)"


@pytest.fixture
def sm(sagemaker_client: Any, wire: WireRecorder) -> Any:
    """The boto3 SageMaker client, with the wire checks on."""
    return sagemaker_client


@pytest.fixture
def rt(sagemaker_runtime_client: Any) -> Any:
    return sagemaker_runtime_client
