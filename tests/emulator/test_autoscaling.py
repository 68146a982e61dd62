"""The emulator acts on Application Auto Scaling targets, policies and alarms stored in moto.

Each test drives real boto3 clients (sagemaker, sagemaker-runtime,
application-autoscaling, cloudwatch) against the emulator and its moto server,
sets simulated load through the admin API, and waits for what a user would see:
DesiredCopyCount, CurrentInstanceCount, alarm states, scaling activities. One AWS
delay (MOTO_DELAY) stands for 300 seconds of AWS time, as in the emulator.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from local_cluster.waiting import wait_for
from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.deployments import AWS_SECONDS_PER_DELAY
from sagemaker_emulator.server import EmulatorServer
from tests.emulator import builders
from tests.emulator.builders import error
from tests.plugins.emulator_fixtures import MOTO_DELAY, boto3_client

COPIES = "sagemaker:inference-component:DesiredCopyCount"
INSTANCES = "sagemaker:variant:DesiredInstanceCount"
PROMPT = json.dumps({"inputs": "hello", "parameters": {"max_new_tokens": 3}}).encode()
TIMEOUT = 30.0


def aws_seconds(seconds: float) -> float:
    """Emulator seconds for a duration in AWS seconds."""
    return seconds * MOTO_DELAY / AWS_SECONDS_PER_DELAY


@dataclass
class Clients:
    sm: Any
    rt: Any
    aas: Any
    cw: Any
    admin: AdminClient

    def copies(self, name: str = "ic") -> tuple[int, int]:
        runtime = self.sm.describe_inference_component(InferenceComponentName=name)["RuntimeConfig"]
        return runtime["DesiredCopyCount"], runtime["CurrentCopyCount"]

    def instances(self, endpoint: str = "ep") -> int:
        variant = self.sm.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0]
        count: int = variant["CurrentInstanceCount"]
        return count

    def activities(self, resource: str = "inference-component/ic") -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.aas.describe_scaling_activities(
            ServiceNamespace="sagemaker", ResourceId=resource
        )["ScalingActivities"]
        return found

    def register(self, resource: str, low: int, high: int, dimension: str = COPIES) -> None:
        self.aas.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension=dimension,
            MinCapacity=low,
            MaxCapacity=high,
        )

    def track(
        self,
        resource: str,
        metric: str,
        target: float,
        *,
        scale_in: int = 60,
        scale_out: int = 60,
        dimension: str = COPIES,
    ) -> None:
        self.aas.put_scaling_policy(
            PolicyName=f"{resource.replace('/', '-')}-tracking",
            ServiceNamespace="sagemaker",
            ResourceId=resource,
            ScalableDimension=dimension,
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": target,
                "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
                "ScaleInCooldown": scale_in,
                "ScaleOutCooldown": scale_out,
            },
        )


@pytest.fixture
def aws(autoscaling_emulator: EmulatorServer) -> Clients:
    url = autoscaling_emulator.url
    moto = autoscaling_emulator.moto_url
    return Clients(
        boto3_client(url),
        boto3_client(url, "sagemaker-runtime"),
        boto3_client(moto, "application-autoscaling"),
        boto3_client(moto, "cloudwatch"),
        AdminClient(url),
    )


def component_endpoint(aws: Clients, *names: str, copies: int = 1, max_instances: int = 2) -> None:
    """ml.g5.12xlarge (4 GPUs) with ManagedInstanceScaling 0..max; 2-GPU copies, 2 per instance."""
    builders.model(aws.sm, "llm-model")
    builders.component_config(aws.sm, "cfg", scaling=(0, max_instances))
    aws.sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    aws.admin.settle()
    for name in names or ("ic",):
        builders.component(aws.sm, name, "ep", gpus=2, copies=copies)
    aws.admin.settle()


def test_load_raises_copies_within_max_and_cooldown(aws: Clients) -> None:
    component_endpoint(aws)
    aws.register("inference-component/ic", 1, 3)
    aws.track(
        "inference-component/ic",
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
        4,
        scale_out=600,
    )
    aws.admin.set_load(inference_component="ic", concurrent_requests=8)
    wait_for(lambda: aws.copies() == (2, 2), what="two copies for 8 requests at 4 per copy")
    aws.admin.set_load(inference_component="ic", concurrent_requests=100)  # wants 25 copies
    wait_for(lambda: aws.copies() == (3, 3), what="copies capped at MaxCapacity", timeout=TIMEOUT)
    assert aws.instances() == 2  # two 2-GPU copies per 4-GPU instance
    policy = aws.aas.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId="inference-component/ic"
    )["ScalingPolicies"][0]
    names = [alarm["AlarmName"] for alarm in policy["Alarms"]]  # created as AWS does
    states = {
        ("AlarmHigh" if "-AlarmHigh-" in alarm["AlarmName"] else "AlarmLow"): alarm["StateValue"]
        for alarm in aws.cw.describe_alarms(AlarmNames=names)["MetricAlarms"]
    }
    assert states == {"AlarmHigh": "ALARM", "AlarmLow": "OK"}  # still above, but at max
    # an activity ends at the autoscaler's first tick after the copies are up
    wait_for(
        lambda: {a["StatusCode"] for a in aws.activities()} == {"Successful"},
        what="both scale-outs successful",
    )
    first, second = sorted(aws.activities(), key=lambda a: a["StartTime"])
    assert first["Description"] == "Setting desired copy count to 2."
    assert second["Description"] == "Setting desired copy count to 3."
    waited = (second["StartTime"] - first["StartTime"]).total_seconds()
    assert waited >= aws_seconds(600) - 0.01, "the second scale-out waited for the cooldown"


def test_load_gone_brings_copies_to_min_and_instances_to_zero(aws: Clients) -> None:
    component_endpoint(aws, copies=3)
    assert aws.instances() == 2
    aws.register("inference-component/ic", 0, 4)
    aws.track(
        "inference-component/ic",
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
        4,
    )
    wait_for(lambda: aws.copies() == (0, 0), what="no copies without load", timeout=TIMEOUT)
    assert aws.instances() == 0
    endpoint = aws.sm.describe_endpoint(EndpointName="ep")
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["ProductionVariants"][0]["DesiredInstanceCount"] == 0
    latest = aws.activities()[0]
    assert latest["Description"] == "Setting desired copy count to 0."
    assert "AlarmLow" in latest["Cause"]


def test_invoke_at_zero_fails_then_the_alarm_brings_one_copy_back(aws: Clients) -> None:
    """AWS's documented scale-to-zero setup: a step scaling policy on a CloudWatch alarm over
    NoCapacityInvocationFailures, beside target tracking that scales in to zero."""
    component_endpoint(aws)
    resource = "inference-component/ic"
    aws.register(resource, 0, 2)
    aws.track(
        resource,
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
        4,
        scale_in=30000,  # once at zero, target tracking does not scale in again in the test
    )
    policy_arn = aws.aas.put_scaling_policy(
        PolicyName="scale-out-from-zero",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=COPIES,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "MetricAggregationType": "Maximum",
            "Cooldown": 60,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
    )["PolicyARN"]
    aws.cw.put_metric_alarm(
        AlarmName="ic-from-zero",
        AlarmActions=[policy_arn],
        MetricName="NoCapacityInvocationFailures",
        Namespace="AWS/SageMaker",
        Statistic="Maximum",
        Dimensions=[{"Name": "InferenceComponentName", "Value": "ic"}],
        Period=30,
        EvaluationPeriods=1,
        DatapointsToAlarm=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="missing",
    )
    wait_for(lambda: aws.copies() == (0, 0), what="scaled to zero", timeout=TIMEOUT)
    assert aws.instances() == 0

    code, message = error(
        aws.rt.invoke_endpoint,
        EndpointName="ep",
        InferenceComponentName="ic",
        Body=PROMPT,
        ContentType="application/json",
    )
    assert code == "ValidationError"
    assert message.startswith("Inference Component has no capacity to process this request.")
    stats = aws.cw.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="NoCapacityInvocationFailures",
        Dimensions=[{"Name": "InferenceComponentName", "Value": "ic"}],
        StartTime="2020-01-01T00:00:00Z",
        EndTime="2100-01-01T00:00:00Z",
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    assert sum(point["Sum"] for point in stats) == 1

    wait_for(lambda: aws.copies() == (1, 1), what="one copy back", timeout=TIMEOUT)
    assert aws.instances() == 1
    step = aws.activities()[0]  # moto has no alarm history: the activity names the alarm
    assert step["Description"] == "Setting desired copy count to 1."
    assert step["Cause"].startswith(
        "monitor alarm ic-from-zero in state ALARM triggered policy scale-out-from-zero"
    )
    alarm = aws.cw.describe_alarms(AlarmNames=["ic-from-zero"])["MetricAlarms"][0]
    assert alarm["StateValue"] in ("ALARM", "INSUFFICIENT_DATA")  # no failures since then
    assert alarm["StateReason"].startswith("Threshold Crossed")
    answer = aws.rt.invoke_endpoint(
        EndpointName="ep", InferenceComponentName="ic", Body=PROMPT, ContentType="application/json"
    )
    assert json.loads(answer["Body"].read())[0]["generated_text"]


def test_a_removed_target_stops_scaling(aws: Clients) -> None:
    """Two components under the same load: the one still registered is the witness that the
    autoscaler evaluated (both are evaluated at the same ticks)."""
    component_endpoint(aws, "kept", "removed", max_instances=4)
    metric = "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
    for name in ("kept", "removed"):
        aws.register(f"inference-component/{name}", 1, 3)
        aws.track(f"inference-component/{name}", metric, 4)
        aws.admin.set_load(inference_component=name, concurrent_requests=8)
    wait_for(
        lambda: aws.copies("kept") == (2, 2) and aws.copies("removed") == (2, 2),
        what="both scaled out",
        timeout=TIMEOUT,
    )
    aws.aas.deregister_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/removed",
        ScalableDimension=COPIES,
    )
    for name in ("kept", "removed"):
        aws.admin.set_load(inference_component=name, concurrent_requests=12)
    wait_for(lambda: aws.copies("kept") == (3, 3), what="the witness scaled", timeout=TIMEOUT)
    assert aws.copies("removed") == (2, 2)
    assert len(aws.activities("inference-component/removed")) == 1
    alarms = aws.cw.describe_alarms(AlarmNamePrefix="TargetTracking-inference-component/")
    assert {a["AlarmName"].split("/")[1].split("-")[0] for a in alarms["MetricAlarms"]} == {"kept"}


def test_deregistering_a_target_deletes_its_policies_and_their_alarms(aws: Clients) -> None:
    component_endpoint(aws)
    aws.register("inference-component/ic", 1, 3)
    aws.track(
        "inference-component/ic",
        "SageMakerInferenceComponentInvocationsPerCopy",
        10,
    )
    assert len(aws.cw.describe_alarms()["MetricAlarms"]) == 2
    aws.aas.deregister_scalable_target(
        ServiceNamespace="sagemaker", ResourceId="inference-component/ic", ScalableDimension=COPIES
    )
    assert aws.aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    assert aws.cw.describe_alarms()["MetricAlarms"] == []


def test_a_changed_range_moves_the_count_into_it(aws: Clients) -> None:
    component_endpoint(aws)
    aws.register("inference-component/ic", 2, 3)
    wait_for(lambda: aws.copies() == (2, 2), what="raised to the new minimum", timeout=TIMEOUT)
    aws.register("inference-component/ic", 0, 1)
    wait_for(lambda: aws.copies() == (1, 1), what="lowered to the new maximum", timeout=TIMEOUT)
    assert [a["Description"] for a in aws.activities()] == [
        "Setting desired copy count to 1.",
        "Setting desired copy count to 2.",
    ]


def test_invocations_scale_a_model_endpoint_variant(aws: Clients) -> None:
    """InvokeEndpoint calls count as load: SageMakerVariantInvocationsPerInstance."""
    builders.model(aws.sm, "m")
    builders.model_config(aws.sm, "cfg", "m")
    aws.sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    aws.admin.settle()
    resource = "endpoint/ep/variant/AllTraffic"
    aws.register(resource, 1, 2, INSTANCES)
    aws.track(resource, "SageMakerVariantInvocationsPerInstance", 5, dimension=INSTANCES)

    def busy_then_scaled() -> bool:
        """Steady traffic: above 5 per instance-minute for the three minutes the alarm needs."""
        for call in range(1000):
            aws.rt.invoke_endpoint(EndpointName="ep", Body=PROMPT, ContentType="application/json")
            if call % 25 == 0 and aws.instances() == 2:
                return True
        return False

    wait_for(busy_then_scaled, what="a second instance under invocations", timeout=TIMEOUT)
    assert aws.activities(resource)[0]["Description"] == "Setting desired instance count to 2."


def test_load_on_a_variant_and_its_validation(aws: Clients) -> None:
    level = aws.admin.set_load(endpoint="ep", variant="AllTraffic", invocations_per_minute=30)
    assert level["invocations_per_minute"] == 30
    assert level["concurrent_requests"] == 0
    assert aws.admin.loads() == [level]
    from sagemaker_emulator.admin import AdminError

    with pytest.raises(AdminError, match="inference_component"):
        aws.admin.set_load(inference_component="ic", endpoint="ep", concurrent_requests=1)
    with pytest.raises(AdminError, match="0 or more"):
        aws.admin.set_load(inference_component="ic", concurrent_requests=-1)
    aws.admin.reset()
    assert aws.admin.loads() == []


def test_suspended_scale_in_keeps_the_copies(aws: Clients) -> None:
    component_endpoint(aws, copies=2)
    aws.aas.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId="inference-component/ic",
        ScalableDimension=COPIES,
        MinCapacity=0,
        MaxCapacity=3,
        SuspendedState={"DynamicScalingInSuspended": True},
    )
    aws.track(
        "inference-component/ic",
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution",
        4,
    )
    names = [
        a["AlarmName"]
        for a in aws.aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"][
            0
        ]["Alarms"]
    ]
    low = next(name for name in names if "-AlarmLow-" in name)

    def low_alarm() -> bool:
        alarm = aws.cw.describe_alarms(AlarmNames=[low])["MetricAlarms"][0]
        return bool(alarm["StateValue"] == "ALARM")

    # The alarm goes to ALARM at the tick that would have scaled in.
    wait_for(low_alarm, what="AlarmLow in ALARM without load", timeout=TIMEOUT)
    assert aws.copies() == (2, 2)
    assert aws.activities() == []
