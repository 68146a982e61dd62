"""The emulator keeps its own time: transitions happen when they fall due, asked or not.

These tests sleep (briefly) on purpose: nothing may touch the emulator while its
clock runs, and what is seen afterwards must be exactly what a clock running on
its own would have produced, timestamps included.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer
from tests.emulator import builders
from tests.plugins.emulator_fixtures import boto3_client

DELAY = 0.25
TOLERANCE = 0.005  # timestamps go over the wire as JSON numbers; botocore keeps microseconds


def seconds(value: datetime) -> float:
    return value.timestamp()


def assert_at(value: datetime, expected: float) -> None:
    assert abs(seconds(value) - expected) <= TOLERANCE, (seconds(value), expected)


@pytest.fixture
def component_endpoint(sm: Any, emulator_admin: AdminClient) -> str:
    builders.model(sm, "llm-model")
    builders.component_config(sm, "ic-cfg", scaling=(0, 2))
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="ic-cfg")
    emulator_admin.settle()
    emulator_admin.set_delay(DELAY)
    return "ep"


def test_component_copies_start_while_nobody_asks(
    sm: Any, emulator_admin: AdminClient, component_endpoint: str
) -> None:
    builders.component(sm, "ic", "ep", gpus=1, copies=4)
    time.sleep(4 * DELAY + 0.5)  # no request of any kind meanwhile
    described = sm.describe_inference_component(InferenceComponentName="ic")
    assert described["InferenceComponentStatus"] == "InService"
    assert described["RuntimeConfig"] == {"DesiredCopyCount": 4, "CurrentCopyCount": 4}
    # The last copy fell due four delays after the request, not when it was observed.
    assert_at(described["LastModifiedTime"], seconds(described["CreationTime"]) + 4 * DELAY)


def test_component_update_and_delete_while_nobody_asks(
    sm: Any, emulator_admin: AdminClient, component_endpoint: str
) -> None:
    builders.component(sm, "ic", "ep", gpus=1, copies=1)
    emulator_admin.settle()
    sm.update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 3}
    )
    started = sm.describe_inference_component(InferenceComponentName="ic")
    assert started["InferenceComponentStatus"] == "Updating"
    time.sleep(2 * DELAY + 0.4)
    described = sm.describe_inference_component(InferenceComponentName="ic")
    assert described["InferenceComponentStatus"] == "InService"
    assert described["RuntimeConfig"] == {"DesiredCopyCount": 3, "CurrentCopyCount": 3}
    assert_at(described["LastModifiedTime"], seconds(started["LastModifiedTime"]) + 2 * DELAY)
    sm.delete_inference_component(InferenceComponentName="ic")
    time.sleep(DELAY + 0.3)
    assert sm.list_inference_components()["InferenceComponents"] == []


def test_endpoint_create_and_update_carry_their_due_times(
    sm: Any, emulator_admin: AdminClient
) -> None:
    emulator_admin.set_delay(DELAY)
    builders.model(sm, "m")
    builders.model_config(sm, "cfg-1", "m")
    builders.model_config(sm, "cfg-2", "m")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg-1")
    time.sleep(DELAY + 0.4)
    created = sm.describe_endpoint(EndpointName="ep")
    assert created["EndpointStatus"] == "InService"
    assert_at(created["LastModifiedTime"], seconds(created["CreationTime"]) + DELAY)

    sm.update_endpoint(EndpointName="ep", EndpointConfigName="cfg-2")
    updating = sm.describe_endpoint(EndpointName="ep")
    assert updating["EndpointStatus"] == "Updating"
    time.sleep(DELAY + 0.4)
    updated = sm.describe_endpoint(EndpointName="ep")
    assert updated["EndpointStatus"] == "InService"
    assert updated["EndpointConfigName"] == "cfg-2"
    assert_at(updated["LastModifiedTime"], seconds(updating["LastModifiedTime"]) + DELAY)


def test_failed_update_rolls_back_on_its_own(sm: Any, emulator_admin: AdminClient) -> None:
    builders.model(sm, "m")
    builders.model_config(sm, "cfg-1", "m")
    builders.model_config(sm, "cfg-2", "m")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg-1")
    emulator_admin.settle()
    emulator_admin.set_delay(DELAY)
    emulator_admin.faults(fail_next=[{"resource": "endpoint", "reason": "Request failed."}])
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="cfg-2")
    started = sm.describe_endpoint(EndpointName="ep")["LastModifiedTime"]
    time.sleep(2 * DELAY + 0.4)  # Updating -> RollingBack -> InService, unobserved
    after = sm.describe_endpoint(EndpointName="ep")
    assert after["EndpointStatus"] == "InService"
    assert after["EndpointConfigName"] == "cfg-1"
    assert after["FailureReason"] == "Request failed."
    assert_at(after["LastModifiedTime"], seconds(started) + 2 * DELAY)


def test_admin_views_see_the_clock_too(
    sm: Any, emulator_admin: AdminClient, component_endpoint: str
) -> None:
    builders.component(sm, "ic", "ep", gpus=1, copies=2)
    time.sleep(2 * DELAY + 0.4)
    record = emulator_admin.state()["accounts"]["123456789012"]["us-east-1"][
        "inference_components"
    ]["ic"]
    assert record["InferenceComponentStatus"] == "InService"
    assert len(record["_placement"]) == 2
    assert abs(record["LastModifiedTime"] - (record["CreationTime"] + 2 * DELAY)) <= 1e-6
    assert emulator_admin.pending() == []


def test_changes_after_a_due_time_do_not_reach_back(sm: Any, emulator_admin: AdminClient) -> None:
    """A fault or a delay set after a transition fell due does not change that transition."""
    emulator_admin.set_delay(DELAY)
    builders.model(sm, "m")
    builders.model_config(sm, "cfg", "m")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    time.sleep(DELAY + 0.3)
    emulator_admin.faults(fail_next=[{"resource": "endpoint", "reason": "too late"}])
    emulator_admin.set_delay(3600)
    described = sm.describe_endpoint(EndpointName="ep")
    assert described["EndpointStatus"] == "InService"
    assert "FailureReason" not in described
    assert_at(described["LastModifiedTime"], seconds(described["CreationTime"]) + DELAY)


def test_stuck_stays_stuck_however_long_nobody_asks(
    sm: Any, emulator_admin: AdminClient, component_endpoint: str
) -> None:
    emulator_admin.faults(stuck=[{"resource": "inference_component", "name": "ic"}])
    builders.component(sm, "ic", "ep", gpus=1, copies=2)
    time.sleep(3 * DELAY)
    described = sm.describe_inference_component(InferenceComponentName="ic")
    assert described["InferenceComponentStatus"] == "Creating"
    assert described["RuntimeConfig"]["CurrentCopyCount"] == 0
    assert described["LastModifiedTime"] == described["CreationTime"]
    assert emulator_admin.wait(timeout=0.5) is True  # stuck is not progress


def test_settle_after_due_times_keeps_them(sm: Any, emulator_admin: AdminClient) -> None:
    """settle completes what is still pending now, but what fell due already keeps its time."""
    emulator_admin.set_delay(DELAY)
    builders.model(sm, "m")
    builders.model_config(sm, "cfg", "m")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    time.sleep(DELAY + 0.3)
    assert emulator_admin.settle() == 1
    described = sm.describe_endpoint(EndpointName="ep")
    assert_at(described["LastModifiedTime"], seconds(described["CreationTime"]) + DELAY)


def test_state_file_resumes_on_the_clock(tmp_path: Path) -> None:
    """Time passes while the emulator is down, as it would for a cloud; due times hold."""
    state = tmp_path / "state.json"
    with EmulatorServer(delay=DELAY, state_file=state) as server:
        sm = boto3_client(server.url)
        builders.model(sm, "llm-model")
        builders.component_config(sm, "ic-cfg")
        sm.create_endpoint(EndpointName="ep", EndpointConfigName="ic-cfg")
        AdminClient(server.url).settle()
        builders.component(sm, "ic", "ep", gpus=1, copies=3)
    time.sleep(3 * DELAY + 0.4)
    with EmulatorServer(delay=DELAY, state_file=state) as server:
        sm = boto3_client(server.url)
        described = sm.describe_inference_component(InferenceComponentName="ic")
    assert described["InferenceComponentStatus"] == "InService"
    assert described["RuntimeConfig"]["CurrentCopyCount"] == 3
    assert_at(described["LastModifiedTime"], seconds(described["CreationTime"]) + 3 * DELAY)


def test_state_file_is_written_on_the_clock(tmp_path: Path) -> None:
    """The saver catches up before writing: the file never shows a transition overdue."""
    import json

    state = tmp_path / "state.json"
    with EmulatorServer(delay=DELAY, state_file=state) as server:
        sm = boto3_client(server.url)
        builders.model(sm, "m")
        builders.model_config(sm, "cfg", "m")
        sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
        time.sleep(DELAY + 1.2)  # the saver runs every 0.5 s
        saved = json.loads(state.read_text())
    record = saved["accounts"]["123456789012"]["us-east-1"]["endpoints"]["ep"]
    assert record["EndpointStatus"] == "InService"
    assert abs(record["LastModifiedTime"] - (record["CreationTime"] + DELAY)) <= 1e-6


def test_reset_with_a_delay_makes_it_the_start_up_delay(emulator_admin: AdminClient) -> None:
    """One emulator process serves tests of different delays: a reset with a delay is
    the emulator as if started with it, so a later plain reset comes back to it."""
    emulator_admin.reset(delay=1.5)
    assert emulator_admin.state()["delay"] == 1.5
    emulator_admin.set_delay(0.3)
    emulator_admin.reset()
    assert emulator_admin.state()["delay"] == 1.5
    emulator_admin.reset(delay=0.0)
    assert emulator_admin.state()["delay"] == 0.0


def test_last_modified_time_moves_with_updates_and_status_changes_and_nothing_else(
    sm: Any, emulator_admin: AdminClient, component_endpoint: str
) -> None:
    """What a List shows of a resource (its status and LastModifiedTime) is all a
    client needs to tell whether it changed since it was last described."""
    builders.component(sm, "ic", "ep", gpus=1, copies=1)
    emulator_admin.settle()

    def stamps() -> tuple[datetime, datetime]:
        endpoint = sm.describe_endpoint(EndpointName="ep")
        component = sm.describe_inference_component(InferenceComponentName="ic")
        (listed_endpoint,) = sm.list_endpoints()["Endpoints"]
        (listed_component,) = sm.list_inference_components()["InferenceComponents"]
        assert listed_endpoint["LastModifiedTime"] == endpoint["LastModifiedTime"]
        assert listed_component["LastModifiedTime"] == component["LastModifiedTime"]
        return endpoint["LastModifiedTime"], component["LastModifiedTime"]

    settled = stamps()
    # Reading and tagging modify nothing.
    for arn in (
        sm.describe_endpoint(EndpointName="ep")["EndpointArn"],
        sm.describe_inference_component(InferenceComponentName="ic")["InferenceComponentArn"],
    ):
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "a"}])
        sm.delete_tags(ResourceArn=arn, TagKeys=["team"])
    time.sleep(0.05)
    assert stamps() == settled

    # An update moves it when asked for, and again when it is done.
    sm.update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 2}
    )
    updating = stamps()
    assert updating[1] > settled[1]
    emulator_admin.settle()
    updated = stamps()
    assert updated[1] > updating[1]
    sm.update_inference_component(
        InferenceComponentName="ic",
        Specification={
            "ModelName": "llm-model",
            "ComputeResourceRequirements": {
                "NumberOfAcceleratorDevicesRequired": 1,
                "MinMemoryRequiredInMb": 2048,
            },
        },
    )
    respecified = stamps()
    assert respecified[1] > updated[1]
    emulator_admin.settle()
    assert stamps()[1] > respecified[1]
