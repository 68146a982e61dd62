"""Deployment guardrails: canary, linear and rolling updates, and their rollbacks on alarms.

The delay is set to an hour so nothing moves by itself; `settle(once=True)` then completes
one step at a time, and each test looks at what DescribeEndpoint or
DescribeInferenceComponent shows in between, as a user polling SageMaker would.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer
from tests.emulator import builders
from tests.plugins.emulator_cli import running, stop, url_of
from tests.plugins.emulator_fixtures import boto3_client

FROZEN = 3600.0  # seconds per transition: nothing falls due while a test looks


@pytest.fixture
def alarm(deployment_alarms: Any) -> str:
    """A CloudWatch alarm in OK state on moto, named uniquely for this test."""
    name = f"latency-{uuid.uuid4().hex[:8]}"
    deployment_alarms.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/SageMaker",
        MetricName="ModelLatency",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=2_000_000.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    return name


def trip(deployment_alarms: Any, name: str) -> None:
    deployment_alarms.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")


@pytest.fixture
def model_endpoint(sm: Any, emulator_admin: AdminClient) -> str:
    """Endpoint "ep" on config "old" (4 x ml.g5.2xlarge); config "new" is ready next to it."""
    builders.model(sm, "llm-model")
    builders.model_config(sm, "old", "llm-model", count=4)
    builders.model_config(sm, "new", "llm-model", count=4)
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="old")
    emulator_admin.settle()
    emulator_admin.set_delay(FROZEN)
    return "ep"


def blue_green(kind: str, alarm: str, **routing: Any) -> dict[str, Any]:
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": kind, "WaitIntervalInSeconds": 60, **routing},
            "TerminationWaitInSeconds": 120,
            "MaximumExecutionTimeoutInSeconds": 3600,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm}]},
    }


def snapshot(sm: Any) -> dict[str, Any]:
    """What a user polling DescribeEndpoint notices: status, config, each fleet's state."""
    described = sm.describe_endpoint(EndpointName="ep")
    pending = described.get("PendingDeploymentSummary")
    new = pending["ProductionVariants"][0] if pending else None
    old = described["ProductionVariants"][0]
    return {
        "status": described["EndpointStatus"],
        "config": described["EndpointConfigName"],
        "new": (new.get("VariantStatus") or [{}])[0].get("Status") if new else None,
        "message": (new.get("VariantStatus") or [{}])[0].get("StatusMessage") if new else None,
        "new_instances": new["CurrentInstanceCount"] if new else None,
        "old": (old.get("VariantStatus") or [{}])[0].get("Status"),
        "old_instances": old["CurrentInstanceCount"],
        "reason": described.get("FailureReason"),
        "pending": pending,
    }


def step_until(sm: Any, admin: AdminClient, done: Any, limit: int = 200) -> list[dict[str, Any]]:
    """Complete one step at a time until `done(snapshot)`; the snapshots on the way."""
    seen = [snapshot(sm)]
    for _ in range(limit):
        if done(seen[-1]):
            return seen
        admin.settle(once=True)
        seen.append(snapshot(sm))
    raise AssertionError(f"never done; last: {seen[-1]}")


def phases(seen: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Distinct consecutive (endpoint status, new fleet status, its message, old fleet status)."""
    out: list[tuple[Any, ...]] = []
    for item in seen:
        key = (item["status"], item["new"], item["message"], item["old"])
        if not out or out[-1] != key:
            out.append(key)
    return out


def in_service(item: dict[str, Any]) -> bool:
    return bool(item["status"] == "InService")


def test_canary_shifts_a_canary_then_everything(
    sm: Any, emulator_admin: AdminClient, model_endpoint: str, alarm: str, wire: Any
) -> None:
    deployment = blue_green("CANARY", alarm, CanarySize={"Type": "CAPACITY_PERCENT", "Value": 25})
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="new", DeploymentConfig=deployment)
    first = snapshot(sm)
    raw = wire.last("DescribeEndpoint")
    assert raw["PendingDeploymentSummary"]["EndpointConfigName"] == "new"
    assert isinstance(raw["PendingDeploymentSummary"]["StartTime"], float)
    assert raw["LastDeploymentConfig"] == deployment
    assert (first["status"], first["config"], first["new"], first["new_instances"]) == (
        "Updating",
        "old",
        "Creating",
        0,
    )
    seen = step_until(sm, emulator_admin, in_service)
    assert phases(seen) == [
        ("Updating", "Creating", "Provisioning the new fleet", None),
        ("Updating", "ActivatingTraffic", "Turning on 25% of traffic", None),
        (
            "Updating",
            "Baking",
            "25% of traffic on the new fleet; baking for 60 seconds (step 1 of 2)",
            None,
        ),
        ("Updating", "ActivatingTraffic", "Turning on 100% of traffic", None),
        (
            "Updating",
            "Baking",
            "100% of traffic on the new fleet; baking for 60 seconds (step 2 of 2)",
            None,
        ),
        ("Updating", None, None, "Deleting"),
        ("InService", None, None, None),
    ]
    last = seen[-1]
    assert (last["config"], last["old_instances"], last["reason"], last["pending"]) == (
        "new",
        4,
        None,
        None,
    )


def test_linear_steps_shift_traffic_in_equal_parts(
    sm: Any, emulator_admin: AdminClient, model_endpoint: str, alarm: str
) -> None:
    deployment = blue_green("LINEAR", alarm, LinearStepSize={"Type": "INSTANCE_COUNT", "Value": 1})
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="new", DeploymentConfig=deployment)
    seen = step_until(sm, emulator_admin, in_service)
    baking = [m for status, new, m, _ in phases(seen) if new == "Baking"]
    assert [m.split("%")[0] for m in baking] == ["25", "50", "75", "100"]
    assert seen[-1]["config"] == "new"


def test_rolling_update_replaces_instances_in_batches(
    sm: Any, emulator_admin: AdminClient, model_endpoint: str, alarm: str
) -> None:
    deployment = {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
            "WaitIntervalInSeconds": 60,
            "MaximumExecutionTimeoutInSeconds": 3600,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm}]},
    }
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="new", DeploymentConfig=deployment)
    seen = step_until(sm, emulator_admin, in_service)
    baking = [(s["new_instances"], s["old_instances"]) for s in seen if s["new"] == "Baking"]
    assert baking == [(2, 4), (4, 2)]  # new batches come up; old ones go after each bake
    assert (seen[-1]["config"], seen[-1]["old_instances"]) == ("new", 4)


def test_alarm_in_alarm_mid_bake_rolls_back_to_the_old_fleet(
    sm: Any, emulator_admin: AdminClient, model_endpoint: str, alarm: str, deployment_alarms: Any
) -> None:
    deployment = blue_green("CANARY", alarm, CanarySize={"Type": "INSTANCE_COUNT", "Value": 1})
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="new", DeploymentConfig=deployment)
    step_until(sm, emulator_admin, lambda s: s["new"] == "Baking")
    trip(deployment_alarms, alarm)
    emulator_admin.settle(once=True)
    rolling_back = snapshot(sm)
    assert (rolling_back["status"], rolling_back["new"]) == ("RollingBack", "Deleting")
    assert alarm in rolling_back["reason"]
    emulator_admin.settle()
    after = snapshot(sm)
    assert (after["status"], after["config"], after["pending"], after["old_instances"]) == (
        "InService",
        "old",
        None,
        4,
    )
    assert after["reason"] == (
        f"Deployment rolled back: CloudWatch alarm(s) [{alarm}] went into ALARM state during "
        'the baking period of step 1 of 2; the endpoint serves endpoint configuration "old" '
        "again."
    )


def test_execution_timeout_rolls_back(
    sm: Any, emulator_admin: AdminClient, model_endpoint: str, alarm: str
) -> None:
    """On the clock alone: a bake longer than MaximumExecutionTimeoutInSeconds never ends."""
    deployment = blue_green("ALL_AT_ONCE", alarm)
    deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["WaitIntervalInSeconds"] = (
        3600
    )
    deployment["BlueGreenUpdatePolicy"]["MaximumExecutionTimeoutInSeconds"] = 600
    emulator_admin.set_delay(0.05)  # 600 AWS seconds are 0.1 s, the bake 0.6 s
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="new", DeploymentConfig=deployment)
    assert emulator_admin.wait(timeout=30)
    after = snapshot(sm)
    assert (after["status"], after["config"], after["pending"]) == ("InService", "old", None)
    assert after["reason"].startswith(
        "Deployment rolled back: it did not complete within MaximumExecutionTimeoutInSeconds "
        "(600 seconds)"
    )


def test_failed_new_fleet_rolls_back(
    sm: Any, emulator_admin: AdminClient, model_endpoint: str, alarm: str
) -> None:
    emulator_admin.faults(
        fail_next=[{"resource": "endpoint", "name": "ep", "reason": "CapacityError: no g5"}]
    )
    deployment = blue_green("CANARY", alarm, CanarySize={"Type": "INSTANCE_COUNT", "Value": 1})
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="new", DeploymentConfig=deployment)
    emulator_admin.settle()
    after = snapshot(sm)
    assert (after["status"], after["config"], after["reason"]) == (
        "InService",
        "old",
        "CapacityError: no g5",
    )


def test_deployment_config_refusals(sm: Any, model_endpoint: str, alarm: str) -> None:
    canary = blue_green("CANARY", alarm)
    code, message = builders.error(
        sm.update_endpoint, EndpointName="ep", EndpointConfigName="new", DeploymentConfig=canary
    )
    assert (code, message) == (
        "ValidationException",
        "CanarySize is required when the traffic routing Type is CANARY.",
    )
    linear = blue_green("LINEAR", alarm, LinearStepSize={"Type": "CAPACITY_PERCENT", "Value": 75})
    assert (
        "LinearStepSize must be between 10% and 50%"
        in builders.error(
            sm.update_endpoint, EndpointName="ep", EndpointConfigName="new", DeploymentConfig=linear
        )[1]
    )
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "InService"


# -- inference components -----------------------------------------------------------------


@pytest.fixture
def component(sm: Any, emulator_admin: AdminClient) -> str:
    """Component "ic": 4 copies of 1 GPU on ml.g5.12xlarge (4 GPUs) scaling 1..3 instances."""
    builders.model(sm, "llm-model")
    builders.component_config(sm, "ic-cfg", scaling=(1, 3))
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="ic-cfg")
    emulator_admin.settle()
    builders.component(sm, "ic", "ep", copies=4)
    emulator_admin.settle()
    emulator_admin.set_delay(FROZEN)
    return "ic"


def rolling(alarm: str, batch: int = 2) -> dict[str, Any]:
    return {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": batch},
            "WaitIntervalInSeconds": 60,
            "MaximumExecutionTimeoutInSeconds": 3600,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": alarm}]},
    }


def update_component(sm: Any, deployment: dict[str, Any]) -> None:
    sm.update_inference_component(
        InferenceComponentName="ic",
        Specification={
            "ModelName": "llm-model",
            "Container": {"Environment": {"MAX_INPUT_TOKENS": "8192"}},
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": 1,
                "NumberOfCpuCoresRequired": 1,
                "MinMemoryRequiredInMb": 8192,
            },
        },
        RuntimeConfig={"CopyCount": 4},
        DeploymentConfig=deployment,
    )


def component_snapshot(sm: Any) -> dict[str, Any]:
    described = sm.describe_inference_component(InferenceComponentName="ic")
    return {
        "status": described["InferenceComponentStatus"],
        "copies": described["RuntimeConfig"]["CurrentCopyCount"],
        "desired": described["RuntimeConfig"]["DesiredCopyCount"],
        "env": (described["Specification"].get("Container") or {}).get("Environment"),
        "reason": described.get("FailureReason"),
        "deployment": described.get("LastDeploymentConfig"),
    }


def test_component_rolling_update_replaces_copies_in_batches(
    sm: Any, emulator_admin: AdminClient, component: str, alarm: str
) -> None:
    deployment = rolling(alarm)
    update_component(sm, deployment)
    seen = [component_snapshot(sm)]
    while seen[-1]["status"] != "InService":
        emulator_admin.settle(once=True)
        seen.append(component_snapshot(sm))
    # a batch of 2 new copies comes up next to the old ones, then 2 old ones stop
    assert [s["copies"] for s in seen] == [4, 6, 4, 6, 4]
    assert all(s["env"] is None for s in seen[:-1])  # the old specification serves until done
    assert seen[-1]["env"] == {"MAX_INPUT_TOKENS": "8192"}
    assert (seen[-1]["reason"], seen[-1]["deployment"]) == (None, deployment)


def test_component_alarm_rolls_back_to_the_old_specification(
    sm: Any, emulator_admin: AdminClient, component: str, alarm: str, deployment_alarms: Any
) -> None:
    update_component(sm, rolling(alarm))
    emulator_admin.settle(once=True)  # the first batch is up and baking
    assert component_snapshot(sm)["copies"] == 6
    trip(deployment_alarms, alarm)
    emulator_admin.settle()
    after = component_snapshot(sm)
    assert (after["status"], after["copies"], after["desired"], after["env"]) == (
        "InService",
        4,
        4,
        None,
    )
    assert after["reason"] == (
        f"Deployment rolled back: CloudWatch alarm(s) [{alarm}] went into ALARM state during "
        "the baking period of step 1 of 2; the previous specification serves again."
    )


def test_component_execution_timeout_rolls_back(
    sm: Any, emulator_admin: AdminClient, component: str, alarm: str
) -> None:
    deployment = rolling(alarm)
    deployment["RollingUpdatePolicy"]["WaitIntervalInSeconds"] = 3600
    deployment["RollingUpdatePolicy"]["MaximumExecutionTimeoutInSeconds"] = 600
    emulator_admin.set_delay(0.05)  # 600 AWS seconds are 0.1 s, one bake 0.6 s
    update_component(sm, deployment)
    assert emulator_admin.wait(timeout=30)
    after = component_snapshot(sm)
    assert (after["status"], after["copies"], after["env"]) == ("InService", 4, None)
    assert "MaximumExecutionTimeoutInSeconds (600 seconds)" in after["reason"]


def test_console_script_reads_alarms_from_its_moto_sidecar() -> None:
    """`sagemaker-emulator --with-moto`: alarms set through moto's URL roll deployments back."""
    with running("--with-moto", "--delay", str(FROZEN)) as (process, lines):
        url = url_of(lines[0])
        sm = boto3_client(url)
        admin = AdminClient(url)
        cloudwatch = boto3_client(lines[1].rsplit(" ", 1)[1], "cloudwatch")
        cloudwatch.put_metric_alarm(
            AlarmName="errors",
            Namespace="AWS/SageMaker",
            MetricName="Invocation5XXErrors",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        builders.model(sm, "llm-model")
        builders.model_config(sm, "old", "llm-model", count=2)
        builders.model_config(sm, "new", "llm-model", count=2)
        sm.create_endpoint(EndpointName="ep", EndpointConfigName="old")
        admin.settle()
        sm.update_endpoint(
            EndpointName="ep",
            EndpointConfigName="new",
            DeploymentConfig=blue_green("ALL_AT_ONCE", "errors"),
        )
        step_until(sm, admin, lambda s: s["new"] == "Baking")
        trip(cloudwatch, "errors")
        admin.settle()
        after = snapshot(sm)
        assert (after["status"], after["config"]) == ("InService", "old")
        assert "[errors]" in after["reason"]
        assert stop(process) == 0


def test_a_deployment_resumes_after_a_restart(tmp_path: Path) -> None:
    """--state-file keeps a deployment mid-bake; the restarted emulator finishes it."""
    state = tmp_path / "state.json"
    deployment = {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 60}
        }
    }
    with EmulatorServer(delay=FROZEN, state_file=state) as first:
        sm, admin = boto3_client(first.url), AdminClient(first.url)
        builders.model(sm, "llm-model")
        builders.model_config(sm, "old", "llm-model")
        builders.model_config(sm, "new", "llm-model")
        sm.create_endpoint(EndpointName="ep", EndpointConfigName="old")
        admin.settle()
        sm.update_endpoint(EndpointName="ep", EndpointConfigName="new", DeploymentConfig=deployment)
        step_until(sm, admin, lambda s: s["new"] == "Baking")
    with EmulatorServer(delay=FROZEN, state_file=state) as second:
        sm, admin = boto3_client(second.url), AdminClient(second.url)
        assert snapshot(sm)["new"] == "Baking"
        admin.settle()
        assert (snapshot(sm)["status"], snapshot(sm)["config"]) == ("InService", "new")
