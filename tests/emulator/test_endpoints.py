"""Endpoints: asynchronous status, updates that succeed or fail, deletion and quotas."""

from __future__ import annotations

from typing import Any

import pytest

from sagemaker_emulator.admin import AdminClient
from tests.emulator import builders
from tests.emulator.builders import error
from tests.emulator.shapes import WireRecorder

HOUR = 3600.0


@pytest.fixture
def slow(emulator_admin: AdminClient) -> AdminClient:
    """Transitions stay pending until the test settles them."""
    emulator_admin.set_delay(HOUR)
    return emulator_admin


@pytest.fixture
def model_endpoint(sm: Any, slow: AdminClient) -> str:
    builders.model(sm, "m")
    builders.model_config(sm, "cfg-1", "m", count=2)
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg-1")
    return "ep"


def test_creating_then_in_service_with_every_member(
    sm: Any, slow: AdminClient, model_endpoint: str, wire: WireRecorder
) -> None:
    creating = sm.describe_endpoint(EndpointName="ep")
    assert creating["EndpointStatus"] == "Creating"
    assert creating["ProductionVariants"][0]["VariantStatus"][0]["Status"] == "Creating"
    assert sm.list_endpoints(StatusEquals="Creating")["Endpoints"][0]["EndpointName"] == "ep"
    assert slow.settle() == 1
    described = sm.describe_endpoint(EndpointName="ep")
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointArn"] == "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep"
    assert described["EndpointConfigName"] == "cfg-1"
    variant = described["ProductionVariants"][0]
    assert variant["CurrentInstanceCount"] == variant["DesiredInstanceCount"] == 2
    assert variant["CurrentWeight"] == variant["DesiredWeight"] == 1.0
    assert variant["DeployedImages"][0]["SpecifiedImage"] == builders.IMAGE
    assert variant["DeployedImages"][0]["ResolvedImage"].split("@sha256:")[0] in builders.IMAGE
    assert described["LastModifiedTime"] >= described["CreationTime"]
    raw = wire.last("DescribeEndpoint")
    assert isinstance(raw["CreationTime"], float)


def test_duplicate_missing_config_and_missing_endpoint(sm: Any, model_endpoint: str) -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep"
    assert error(sm.create_endpoint, EndpointName="ep", EndpointConfigName="cfg-1") == (
        "ValidationException",
        f'Cannot create already existing endpoint "{arn}".',
    )
    assert error(sm.create_endpoint, EndpointName="other", EndpointConfigName="nope") == (
        "ValidationException",
        "Could not find endpoint configuration "
        '"arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/nope".',
    )
    assert error(sm.describe_endpoint, EndpointName="Missing") == (
        "ValidationException",
        'Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/missing".',
    )


def test_update_shows_pending_deployment_then_switches_config(
    sm: Any, slow: AdminClient, model_endpoint: str
) -> None:
    _, message = error(sm.update_endpoint, EndpointName="ep", EndpointConfigName="cfg-1")
    assert message == (
        'Cannot update in-progress endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep".'
    )
    slow.settle()
    builders.model_config(sm, "cfg-2", "m", count=3)
    sm.update_endpoint(
        EndpointName="ep",
        EndpointConfigName="cfg-2",
        DeploymentConfig={
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
                "TerminationWaitInSeconds": 0,
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "errors"}]},
        },
    )
    updating = sm.describe_endpoint(EndpointName="ep")
    assert updating["EndpointStatus"] == "Updating"
    assert updating["EndpointConfigName"] == "cfg-1"
    assert updating["PendingDeploymentSummary"]["EndpointConfigName"] == "cfg-2"
    assert error(sm.update_endpoint, EndpointName="ep", EndpointConfigName="cfg-2")[1].startswith(
        "Cannot update in-progress endpoint"
    )
    slow.settle()
    done = sm.describe_endpoint(EndpointName="ep")
    assert done["EndpointStatus"] == "InService"
    assert done["EndpointConfigName"] == "cfg-2"
    assert "PendingDeploymentSummary" not in done
    assert done["ProductionVariants"][0]["CurrentInstanceCount"] == 3
    assert done["LastDeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"] == [
        {"AlarmName": "errors"}
    ]


def test_retain_all_variant_properties_keeps_counts_and_weights(
    sm: Any, slow: AdminClient, model_endpoint: str
) -> None:
    slow.settle()
    sm.update_endpoint_weights_and_capacities(
        EndpointName="ep",
        DesiredWeightsAndCapacities=[
            {"VariantName": "AllTraffic", "DesiredWeight": 0.5, "DesiredInstanceCount": 4}
        ],
    )
    during = sm.describe_endpoint(EndpointName="ep")
    assert during["EndpointStatus"] == "Updating"
    assert during["ProductionVariants"][0]["DesiredInstanceCount"] == 4
    assert during["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    slow.settle()
    builders.model_config(sm, "cfg-2", "m", count=1)
    sm.update_endpoint(
        EndpointName="ep", EndpointConfigName="cfg-2", RetainAllVariantProperties=True
    )
    slow.settle()
    variant = sm.describe_endpoint(EndpointName="ep")["ProductionVariants"][0]
    assert variant["CurrentInstanceCount"] == 4
    assert variant["CurrentWeight"] == 0.5


def test_weights_for_an_unknown_variant_are_rejected(
    sm: Any, slow: AdminClient, model_endpoint: str
) -> None:
    slow.settle()
    code, message = error(
        sm.update_endpoint_weights_and_capacities,
        EndpointName="ep",
        DesiredWeightsAndCapacities=[{"VariantName": "Blue", "DesiredWeight": 1.0}],
    )
    assert code == "ValidationException"
    assert '"[Blue]"' in message


def test_failed_creation_reports_the_reason_and_allows_only_delete(
    sm: Any, slow: AdminClient
) -> None:
    slow.faults(
        fail_next=[
            {
                "resource": "endpoint",
                "name": "ep",
                "reason": "CapacityError: Unable to provision requested ML compute capacity.",
            }
        ]
    )
    builders.model(sm, "m")
    builders.model_config(sm, "cfg-1", "m")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg-1")
    slow.settle()
    failed = sm.describe_endpoint(EndpointName="ep")
    assert failed["EndpointStatus"] == "Failed"
    assert failed["FailureReason"].startswith("CapacityError")
    code, message = error(sm.update_endpoint, EndpointName="ep", EndpointConfigName="cfg-1")
    assert code == "ValidationException" and "Failed" in message
    sm.delete_endpoint(EndpointName="ep")
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Deleting"
    slow.settle()
    assert error(sm.describe_endpoint, EndpointName="ep")[1].startswith("Could not find endpoint")


def test_failed_update_returns_to_in_service_on_the_old_config(
    sm: Any, slow: AdminClient, model_endpoint: str
) -> None:
    slow.settle()
    builders.model_config(sm, "cfg-2", "m")
    slow.faults(
        fail_next=[
            {
                "resource": "endpoint",
                "reason": "Request to service failed. If failure persists after retry, "
                "contact customer support.",
            }
        ]
    )
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="cfg-2")
    slow.settle(once=True)
    rolling_back = sm.describe_endpoint(EndpointName="ep")
    assert rolling_back["EndpointStatus"] == "RollingBack"
    assert rolling_back["FailureReason"].startswith("Request to service failed")
    slow.settle()
    after = sm.describe_endpoint(EndpointName="ep")
    assert after["EndpointStatus"] == "InService"
    assert after["EndpointConfigName"] == "cfg-1"
    assert after["FailureReason"].startswith("Request to service failed")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="cfg-2")
    slow.settle()
    healed = sm.describe_endpoint(EndpointName="ep")
    assert healed["EndpointConfigName"] == "cfg-2"
    assert "FailureReason" not in healed


def test_deleting_removes_endpoint_and_its_tags(
    sm: Any, slow: AdminClient, model_endpoint: str
) -> None:
    slow.settle()
    sm.delete_endpoint(EndpointName="ep")
    assert [e["EndpointStatus"] for e in sm.list_endpoints()["Endpoints"]] == ["Deleting"]
    sm.delete_endpoint(EndpointName="ep")  # deleting again while Deleting is accepted
    slow.settle()
    assert sm.list_endpoints()["Endpoints"] == []
    assert (
        slow.state()["accounts"]["123456789012"]["us-east-1"]["tags"].get(
            "arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep"
        )
        is None
    )


def test_instance_quota_is_resource_limit_exceeded(sm: Any, emulator_admin: AdminClient) -> None:
    emulator_admin.faults(instance_limits={"ml.g5.12xlarge": 1})
    builders.model(sm, "m")
    builders.model_config(sm, "big", "m", instance="ml.g5.12xlarge")
    sm.create_endpoint(EndpointName="first", EndpointConfigName="big")
    code, message = error(sm.create_endpoint, EndpointName="second", EndpointConfigName="big")
    assert code == "ResourceLimitExceeded"
    assert message.startswith(
        "The account-level service limit 'ml.g5.12xlarge for endpoint usage' is 1 Instances, "
        "with current utilization of 1 Instances and a request delta of 1 Instances."
    )
    assert sm.exceptions.ResourceLimitExceeded is not None
