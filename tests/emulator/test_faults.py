"""Faults on demand: throttling, internal errors, latency, failed and stuck creations."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sagemaker_emulator.admin import AdminClient, AdminError
from sagemaker_emulator.server import EmulatorServer
from tests.emulator import builders
from tests.emulator.builders import error
from tests.plugins.emulator_fixtures import boto3_client


def test_throttling_is_retried_by_standard_mode_then_surfaces(
    sm: Any, emulator_admin: AdminClient
) -> None:
    emulator_admin.faults(throttle_rate=1.0, operations=["DescribeEndpoint"])
    with pytest.raises(ClientError) as raised:
        sm.describe_endpoint(EndpointName="ep")
    assert raised.value.response["Error"] == {
        "Code": "ThrottlingException",
        "Message": "Rate exceeded",
    }
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 2
    assert emulator_admin.calls()["DescribeEndpoint"] == 3
    assert sm.list_endpoints()["Endpoints"] == []  # other operations are untouched


def test_partial_throttling_is_absorbed_by_retries(sm: Any, emulator_admin: AdminClient) -> None:
    emulator_admin.faults(throttle_rate=0.2, seed=1)
    for _ in range(20):
        sm.list_models()
    calls = emulator_admin.calls()["ListModels"]
    assert calls > 20  # some calls were throttled and retried, none failed


def test_internal_errors_are_http_500(
    emulator: EmulatorServer, emulator_admin: AdminClient
) -> None:
    no_retry = boto3_client(
        emulator.url, config=Config(retries={"mode": "standard", "max_attempts": 1})
    )
    emulator_admin.faults(internal_error_rate=1.0)
    with pytest.raises(ClientError) as raised:
        no_retry.list_models()
    assert raised.value.response["Error"]["Code"] == "InternalFailure"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    emulator_admin.clear_faults()
    assert no_retry.list_models()["Models"] == []


def test_latency_applies_only_to_the_chosen_operations(
    sm: Any, emulator_admin: AdminClient
) -> None:
    state = emulator_admin.faults(latency_seconds=0.05, operations=["ListModels"])
    assert state["latency_seconds"] == 0.05 and state["operations"] == ["ListModels"]
    assert sm.list_models()["Models"] == []
    assert emulator_admin.calls() == {"ListModels": 1}


def test_stuck_creation_until_faults_are_cleared(sm: Any, emulator_admin: AdminClient) -> None:
    emulator_admin.faults(stuck=[{"resource": "endpoint", "name": "stuck"}])
    builders.model(sm, "m")
    builders.model_config(sm, "cfg", "m")
    sm.create_endpoint(EndpointName="stuck", EndpointConfigName="cfg")
    sm.create_endpoint(EndpointName="fine", EndpointConfigName="cfg")
    emulator_admin.settle()
    assert emulator_admin.wait(timeout=1.0) is True  # stuck resources do not count as progress
    assert sm.describe_endpoint(EndpointName="stuck")["EndpointStatus"] == "Creating"
    assert sm.describe_endpoint(EndpointName="fine")["EndpointStatus"] == "InService"
    assert [(p["name"], p["stuck"]) for p in emulator_admin.pending()] == [("stuck", True)]
    emulator_admin.clear_faults()
    emulator_admin.settle()
    assert sm.describe_endpoint(EndpointName="stuck")["EndpointStatus"] == "InService"


def test_failing_synchronous_creations(sm: Any, emulator_admin: AdminClient) -> None:
    emulator_admin.faults(
        fail_next=[{"resource": "model", "reason": "Access denied to the image repository."}]
    )
    assert error(builders.model, sm=sm, name="m") == (
        "ValidationException",
        "Access denied to the image repository.",
    )
    builders.model(sm, "m")  # only the next one fails


def test_bad_fault_requests_are_rejected(emulator_admin: AdminClient) -> None:
    with pytest.raises(AdminError, match="400"):
        emulator_admin.faults(throttle_rate=2.0)
    with pytest.raises(AdminError, match="resource must be one of"):
        emulator_admin.faults(fail_next=[{"resource": "training_job", "reason": "x"}])
