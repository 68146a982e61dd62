"""Asynchronous endpoints end to end, from examples/async-llm.yaml: applied with kubectl,
run by the operator on the emulator (moto beside it for S3, SNS, Application Auto Scaling
and CloudWatch), asked through `llm-operator invoke --async` as a person would; idle it
goes to zero instances at no cost, a request at zero brings an instance back and is
answered, and deletion leaves nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_cluster.cluster import LocalCluster
from local_cluster.llmendpoints import condition
from local_cluster.services import Emulator, Operator
from local_cluster.waiting import wait_for
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.commands import cli
from tests.plugins.emulator_fixtures import boto3_client
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import get_llme, patch_spec, wait_gone, wait_ready
from tests.plugins.operator_fixtures import EmulatorProcesses, OperatorIdentity, started_operator
from tests.plugins.sagemaker import SageMaker

pytestmark = pytest.mark.e2e

DELAY = 0.1  # emulator seconds per transition, standing for 300 AWS seconds
RESYNC = 2


@pytest.fixture
def async_emulator(emulators: EmulatorProcesses) -> Emulator:
    return emulators.fresh(delay=DELAY, args=["--with-moto"])


@pytest.fixture
def async_operator(
    operator_identity: OperatorIdentity, async_emulator: Emulator, namespace: str, tmp_path: Path
) -> Iterator[Operator]:
    op = started_operator(
        operator_identity.kubeconfig,
        async_emulator,
        namespace,
        tmp_path / "operator.log",
        LLMOP_RESYNC_SECONDS=str(RESYNC),
    )
    yield op
    op.stop()
    print(f"--- operator log ({op.log}) ---\n{op.log_tail(200)}")
    assert "Traceback" not in op.logs()


class Moto:
    def __init__(self, emulator: Emulator) -> None:
        assert emulator.moto_url is not None
        self.s3: Any = boto3_client(emulator.moto_url, "s3")
        self.sns: Any = boto3_client(emulator.moto_url, "sns")
        self.sqs: Any = boto3_client(emulator.moto_url, "sqs")
        self.aas: Any = boto3_client(emulator.moto_url, "application-autoscaling")
        self.cw: Any = boto3_client(emulator.moto_url, "cloudwatch")

    def keys(self, bucket: str) -> list[str]:
        found = self.s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        return sorted(o["Key"] for o in found)

    def subscribed(self, topic_arn: str) -> str:
        """An SQS queue subscribed to the topic (created here as the example names it)."""
        name = topic_arn.rsplit(":", 1)[1]
        self.sns.create_topic(Name=name)
        queue = self.sqs.create_queue(QueueName=f"{name}-q")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
        return str(queue)

    def told(self, queue: str) -> list[dict[str, Any]]:
        found = self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
        return [json.loads(json.loads(m["Body"])["Message"]) for m in found.get("Messages", [])]


def instances(sagemaker_api: SageMaker, endpoint: str) -> tuple[int, int]:
    (variant,) = sagemaker_api.endpoint(endpoint)["ProductionVariants"]
    return variant["DesiredInstanceCount"], variant["CurrentInstanceCount"]


def test_async_answers_through_s3_scales_to_zero_and_back_and_leaves_nothing(
    cluster: LocalCluster,
    kubectl: Kubectl,
    namespace: str,
    async_operator: Operator,
    async_emulator: Emulator,
) -> None:
    sagemaker_api = SageMaker(async_emulator)
    moto = Moto(async_emulator)
    env = {"emulator": async_emulator, "kubeconfig": cluster.kubeconfig}
    llme = llmendpoint("async-llm")
    name, spec = llme["metadata"]["name"], llme["spec"]
    output = spec["async"]["outputS3Uri"]
    bucket = output.removeprefix("s3://").split("/")[0]
    moto.s3.create_bucket(Bucket=bucket)
    done = moto.subscribed(spec["async"]["successTopicArn"])
    moto.subscribed(spec["async"]["errorTopicArn"])

    kubectl.apply(to_yaml(llme))
    status = wait_ready(kubectl, name, log=async_operator.log_tail)["status"]
    endpoint = status["endpointName"]
    assert status["async"]["outputS3Uri"] == output
    assert status["async"]["failureS3Uri"] == spec["async"]["failureS3Uri"]
    config = sagemaker_api.endpoint_config(status["endpointConfigName"])
    assert config["AsyncInferenceConfig"]["OutputConfig"]["S3OutputPath"] == output
    assert config["AsyncInferenceConfig"]["ClientConfig"] == {
        "MaxConcurrentInvocationsPerInstance": 4
    }

    # Scaling on the backlog, and AWS's way back from zero: the alarm on the step policy.
    def scaling_in_place() -> bool:
        policies = moto.aas.describe_scaling_policies(ServiceNamespace="sagemaker")
        alarms = moto.cw.describe_alarms(AlarmNames=[f"{endpoint}-no-capacity"])
        return len(policies["ScalingPolicies"]) == 2 and len(alarms["MetricAlarms"]) == 1

    wait_for(scaling_in_place, what="the target, both policies and the alarm", timeout=60)
    tracking = next(
        p
        for p in moto.aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
        if p["PolicyType"] == "TargetTrackingScaling"
    )["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["CustomizedMetricSpecification"]["MetricName"] == (
        "ApproximateBacklogSizePerInstance"
    )
    (alarm,) = moto.cw.describe_alarms(AlarmNames=[f"{endpoint}-no-capacity"])["MetricAlarms"]
    assert alarm["MetricName"] == "HasBacklogWithoutCapacity"

    # Idle: zero instances, at no cost, and Ready says how a request is served now.
    wait_for(
        lambda: instances(sagemaker_api, endpoint) == (0, 0), what="zero instances", timeout=60
    )

    def at_zero() -> dict[str, Any] | None:
        obj = get_llme(kubectl, name) or {}
        ready = condition(obj, "Ready")
        return obj if ready.get("reason") == "ScaledToZero" else None

    obj = wait_for(at_zero, what="Ready ScaledToZero", timeout=60)
    assert obj["status"]["estimatedHourlyCostUSD"] == "0.00"
    assert obj["status"]["instances"] == {"desired": 0, "current": 0}
    assert obj["status"]["autoscaling"]["scaledToZero"] is True

    # A request at zero is queued, brings an instance back and is answered from S3.
    asked = cli("invoke", name, "-n", namespace, "--async", "--prompt", "What is S3?", **env)
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.strip()
    assert f"sending to {endpoint} through {output}" in asked.stderr
    activities = moto.aas.describe_scaling_activities(ServiceNamespace="sagemaker")[
        "ScalingActivities"
    ]
    assert any(
        a["Description"] == "Setting desired instance count to 1."
        and a["Cause"].startswith(f"monitor alarm {endpoint}-no-capacity in state ALARM")
        for a in activities
    ), activities
    prefix = output.removeprefix(f"s3://{bucket}/")
    keys = moto.keys(bucket)
    (request,) = [k for k in keys if k.startswith(f"{prefix}requests/")]
    inference_id = request.rsplit("/", 1)[1].removesuffix(".json")
    assert f"{prefix}{inference_id}.out" in keys
    (notice,) = wait_for(lambda: moto.told(done), what="the success notification")
    assert notice["invocationStatus"] == "Completed"
    assert notice["inferenceId"] == inference_id

    # --no-wait: the InferenceId and where the answer will be.
    queued = cli("invoke", name, "-n", namespace, "--async", "--no-wait", "--prompt", "Hi", **env)
    assert queued.returncode == 0, queued.stderr
    printed_id, location = queued.stdout.split()
    assert re.fullmatch(r"[0-9a-f-]{36}", printed_id)
    assert location == f"{output}{printed_id}.out"
    wait_for(
        lambda: f"{prefix}{printed_id}.out" in moto.keys(bucket),
        what="the --no-wait answer in S3",
        timeout=60,
    )

    # Without --async the CLI says how an async endpoint is asked.
    wrong = cli("invoke", name, "-n", namespace, "--prompt", "Hi", **env)
    assert wrong.returncode == 1
    assert "send them with --async" in wrong.stderr

    kubectl("delete", "llmendpoint", name, "--wait=false")
    wait_gone(kubectl, name, timeout=120, log=async_operator.log_tail)
    assert moto.aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    assert moto.aas.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"] == []
    assert moto.cw.describe_alarms()["MetricAlarms"] == []
    assert sagemaker_api.inventory().empty, sagemaker_api.inventory()


def test_async_drift_is_put_back_a_new_output_path_rolls_out_and_retain_leaves_it(
    cluster: LocalCluster,
    kubectl: Kubectl,
    namespace: str,
    async_operator: Operator,
    async_emulator: Emulator,
    tmp_path: Path,
) -> None:
    sagemaker_api = SageMaker(async_emulator)
    moto = Moto(async_emulator)
    sm: Any = boto3_client(async_emulator.url)
    llme = llmendpoint("async-llm", deletionPolicy="Retain")
    name = llme["metadata"]["name"]
    kubectl.apply(to_yaml(llme))
    status = wait_ready(kubectl, name, log=async_operator.log_tail)["status"]
    endpoint, ours = status["endpointName"], status["endpointConfigName"]

    # Someone points the endpoint at a config of their own (answers elsewhere): put back.
    sm.create_endpoint_config(
        EndpointConfigName="by-hand",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": status["modelName"],
                "InstanceType": "ml.g5.xlarge",
                "InitialInstanceCount": 1,
            }
        ],
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": "s3://elsewhere/out/"}},
    )
    sm.update_endpoint(EndpointName=endpoint, EndpointConfigName="by-hand")

    def on(config: str) -> bool:
        found = sm.describe_endpoint(EndpointName=endpoint)
        return bool(
            found["EndpointStatus"] == "InService" and found["EndpointConfigName"] == config
        )

    admin = async_emulator.admin_client
    wait_for(lambda: admin.calls().get("UpdateEndpoint", 0) >= 2, what="put back", timeout=60)
    wait_for(lambda: on(ours), what="the endpoint back on its config", timeout=60)
    assert "by-hand" in sagemaker_api.inventory().endpoint_configs  # not ours: left alone

    # A new output path is a new endpoint config, rolled out; status says where answers go.
    changed = json.loads(json.dumps(llme))
    changed["spec"]["async"]["outputS3Uri"] = "s3://llm-async-example/qwen/v2/"
    path = tmp_path / "llme.yaml"
    path.write_text(to_yaml(changed))
    env = {"emulator": async_emulator, "kubeconfig": cluster.kubeconfig}
    planned = cli("plan", "-f", str(path), "-n", namespace, **env)
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert "+ CreateEndpointConfig" in planned.stdout
    assert "~ UpdateEndpoint" in planned.stdout
    patch_spec(kubectl, name, {"async": {"outputS3Uri": "s3://llm-async-example/qwen/v2/"}})

    def moved() -> str | None:
        obj = get_llme(kubectl, name) or {}
        status = obj.get("status") or {}
        config = status.get("endpointConfigName")
        fresh = (status.get("async") or {}).get("outputS3Uri") == "s3://llm-async-example/qwen/v2/"
        return config if fresh and config != ours and on(str(config)) else None

    new_config = wait_for(moved, what="the new output path serving", timeout=90)
    described = sagemaker_api.endpoint_config(new_config)
    assert described["AsyncInferenceConfig"]["OutputConfig"]["S3OutputPath"] == (
        "s3://llm-async-example/qwen/v2/"
    )
    wait_for(
        lambda: ours not in sagemaker_api.inventory().endpoint_configs,
        what="the old config deleted once unused",
        timeout=60,
    )

    # Retain: deleting the LLMEndpoint leaves the endpoint and its scaling, marked retained.
    targets = moto.aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    kubectl("delete", "llmendpoint", name, "--timeout=120s")
    assert get_llme(kubectl, name) is None
    found = sagemaker_api.endpoint(endpoint)
    assert found["EndpointStatus"] == "InService"
    assert "llmoperator.io/retained" in sagemaker_api.tags(found["EndpointArn"])
    assert (
        moto.aas.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
        == targets
    )
