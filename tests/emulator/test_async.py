"""InvokeEndpointAsync: queued per endpoint, answered into moto's S3, told through SNS, and
scaled to zero instances and back on the backlog metrics, as AWS documents it.

Real boto3 clients (sagemaker, sagemaker-runtime, s3, sns, sqs, application-autoscaling,
cloudwatch) talk to the emulator and the moto server beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from local_cluster.waiting import wait_for
from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer
from tests.emulator import builders
from tests.emulator.builders import error
from tests.plugins.emulator_fixtures import boto3_client

BUCKET = "llm-async"
INSTANCES = "sagemaker:variant:DesiredInstanceCount"
PROMPT = json.dumps({"inputs": "hello", "parameters": {"max_new_tokens": 3}}).encode()
TIMEOUT = 30.0


@dataclass
class Clients:
    sm: Any
    rt: Any
    s3: Any
    sns: Any
    sqs: Any
    aas: Any
    cw: Any
    admin: AdminClient

    def instances(self, endpoint: str = "ep") -> int:
        variant = self.sm.describe_endpoint(EndpointName=endpoint)["ProductionVariants"][0]
        return int(variant["CurrentInstanceCount"])

    def object(self, location: str) -> bytes | None:
        bucket, _, key = location.removeprefix("s3://").partition("/")
        try:
            body: bytes = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return body

    def topic_queue(self, name: str) -> tuple[str, str]:
        """(topic ARN, queue URL): an SQS queue subscribed to a new SNS topic."""
        topic = self.sns.create_topic(Name=name)["TopicArn"]
        queue = self.sqs.create_queue(QueueName=f"{name}-q")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        return topic, queue

    def notifications(self, queue: str) -> list[dict[str, Any]]:
        found = self.sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
        return [json.loads(json.loads(m["Body"])["Message"]) for m in found.get("Messages", [])]


@pytest.fixture
def aws(autoscaling_emulator: EmulatorServer) -> Clients:
    url, moto = autoscaling_emulator.url, autoscaling_emulator.moto_url
    clients = Clients(
        boto3_client(url),
        boto3_client(url, "sagemaker-runtime"),
        boto3_client(moto, "s3"),
        boto3_client(moto, "sns"),
        boto3_client(moto, "sqs"),
        boto3_client(moto, "application-autoscaling"),
        boto3_client(moto, "cloudwatch"),
        AdminClient(url),
    )
    clients.s3.create_bucket(Bucket=BUCKET)
    return clients


def async_endpoint(aws: Clients, *, done: str | None = None, failed: str | None = None) -> None:
    builders.model(aws.sm, "m")
    output: dict[str, Any] = {
        "S3OutputPath": f"s3://{BUCKET}/out/",
        "S3FailurePath": f"s3://{BUCKET}/failed/",
    }
    topics = {k: v for k, v in (("SuccessTopic", done), ("ErrorTopic", failed)) if v}
    if topics:
        output["NotificationConfig"] = topics
    aws.sm.create_endpoint_config(
        EndpointConfigName="cfg",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "m",
                "InstanceType": "ml.g5.2xlarge",
                "InitialInstanceCount": 1,
            }
        ],
        AsyncInferenceConfig={
            "OutputConfig": output,
            "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 2},
        },
    )
    aws.sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    aws.admin.settle()


def test_a_request_in_s3_is_answered_into_the_output_path_and_the_topic_told(
    aws: Clients,
) -> None:
    done, queue = aws.topic_queue("done")
    async_endpoint(aws, done=done)
    aws.s3.put_object(Bucket=BUCKET, Key="in/one.json", Body=PROMPT)
    answer = aws.rt.invoke_endpoint_async(
        EndpointName="ep",
        InputLocation=f"s3://{BUCKET}/in/one.json",
        ContentType="application/json",
        InferenceId="one",
    )
    assert answer["InferenceId"] == "one"
    assert answer["OutputLocation"] == f"s3://{BUCKET}/out/one.out"
    assert answer["FailureLocation"] == f"s3://{BUCKET}/failed/one-error.out"
    body = wait_for(lambda: aws.object(answer["OutputLocation"]), what="the answer in S3")
    assert json.loads(body)[0]["generated_text"]
    assert aws.object(answer["FailureLocation"]) is None
    (told,) = wait_for(lambda: aws.notifications(queue), what="the success notification")
    assert told["invocationStatus"] == "Completed"
    assert told["inferenceId"] == "one"
    assert told["responseParameters"]["outputLocation"] == answer["OutputLocation"]
    assert told["requestParameters"]["inputLocation"] == f"s3://{BUCKET}/in/one.json"


def test_a_missing_input_fails_into_the_failure_path_and_the_error_topic(aws: Clients) -> None:
    failed, queue = aws.topic_queue("failed")
    async_endpoint(aws, failed=failed)
    answer = aws.rt.invoke_endpoint_async(
        EndpointName="ep", InputLocation=f"s3://{BUCKET}/in/nothing.json"
    )
    reason = wait_for(lambda: aws.object(answer["FailureLocation"]), what="the failure in S3")
    assert b"Failed to download the input" in reason
    assert aws.object(answer["OutputLocation"]) is None
    (told,) = wait_for(lambda: aws.notifications(queue), what="the error notification")
    assert told["invocationStatus"] == "Failed"
    assert told["responseParameters"]["failureLocation"] == answer["FailureLocation"]


def test_inline_bodies_are_answered_too(aws: Clients) -> None:
    async_endpoint(aws)
    answer = aws.rt.invoke_endpoint_async(EndpointName="ep", Body=PROMPT)
    assert len(answer["InferenceId"]) == 36  # a UUID when none was given
    body = wait_for(lambda: aws.object(answer["OutputLocation"]), what="the answer in S3")
    assert json.loads(body)[0]["generated_text"]


def test_an_output_path_extension_and_filename_place_the_answer(aws: Clients) -> None:
    async_endpoint(aws)
    answer = aws.rt.invoke_endpoint_async(
        EndpointName="ep", Body=PROMPT, S3OutputPathExtension="batch/7", Filename="doc1.json"
    )
    assert answer["OutputLocation"] == f"s3://{BUCKET}/out/batch/7/doc1.json"
    wait_for(lambda: aws.object(answer["OutputLocation"]), what="the answer where asked")


def test_what_is_refused_and_why(aws: Clients) -> None:
    async_endpoint(aws)
    code, message = error(aws.rt.invoke_endpoint_async, EndpointName="ep")
    assert (code, message) == ("ValidationError", "Either InputLocation or Body must be specified.")
    code, message = error(
        aws.rt.invoke_endpoint_async,
        EndpointName="ep",
        Body=PROMPT,
        InputLocation=f"s3://{BUCKET}/in/x.json",
    )
    assert "mutually exclusive" in message
    code, message = error(
        aws.rt.invoke_endpoint_async, EndpointName="nope", InputLocation=f"s3://{BUCKET}/x"
    )
    assert code == "ValidationError" and "Endpoint nope of account" in message
    builders.model_config(aws.sm, "realtime", "m")
    aws.sm.create_endpoint(EndpointName="rt", EndpointConfigName="realtime")
    aws.admin.settle()
    code, message = error(
        aws.rt.invoke_endpoint_async, EndpointName="rt", InputLocation=f"s3://{BUCKET}/x"
    )
    assert "not configured for asynchronous inference" in message
    builders.component_config(aws.sm, "ics")
    code, message = error(
        aws.sm.create_endpoint_config,
        EndpointConfigName="async-ics",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.2xlarge",
                "InitialInstanceCount": 1,
            }
        ],
        ExecutionRoleArn=builders.ROLE,
        AsyncInferenceConfig={"OutputConfig": {"S3OutputPath": f"s3://{BUCKET}/out/"}},
    )
    assert "not supported for endpoint configurations whose production variants host" in message


def test_idle_it_scales_to_zero_and_a_queued_request_brings_an_instance_back(
    aws: Clients,
) -> None:
    """AWS's documented setup: target tracking on ApproximateBacklogSizePerInstance, and a
    step policy on a HasBacklogWithoutCapacity alarm to come back from zero instances."""
    async_endpoint(aws)
    resource = "endpoint/ep/variant/AllTraffic"
    dims = [{"Name": "EndpointName", "Value": "ep"}]
    aws.aas.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=INSTANCES,
        MinCapacity=0,
        MaxCapacity=2,
    )
    aws.aas.put_scaling_policy(
        PolicyName="backlog",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=INSTANCES,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 5.0,
            "CustomizedMetricSpecification": {
                "MetricName": "ApproximateBacklogSizePerInstance",
                "Namespace": "AWS/SageMaker",
                "Dimensions": dims,
                "Statistic": "Average",
            },
            "ScaleInCooldown": 60,
            "ScaleOutCooldown": 60,
        },
    )
    step = aws.aas.put_scaling_policy(
        PolicyName="from-zero",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension=INSTANCES,
        PolicyType="StepScaling",
        StepScalingPolicyConfiguration={
            "AdjustmentType": "ChangeInCapacity",
            "MetricAggregationType": "Average",
            "Cooldown": 60,
            "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
        },
    )["PolicyARN"]
    aws.cw.put_metric_alarm(
        AlarmName="ep-backlog-without-capacity",
        AlarmActions=[step],
        MetricName="HasBacklogWithoutCapacity",
        Namespace="AWS/SageMaker",
        Statistic="Average",
        Dimensions=dims,
        Period=60,
        EvaluationPeriods=2,
        DatapointsToAlarm=2,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="missing",
    )
    wait_for(lambda: aws.instances() == 0, what="zero instances while idle", timeout=TIMEOUT)
    aws.s3.put_object(Bucket=BUCKET, Key="in/later.json", Body=PROMPT)
    answer = aws.rt.invoke_endpoint_async(
        EndpointName="ep", InputLocation=f"s3://{BUCKET}/in/later.json"
    )
    body = wait_for(
        lambda: aws.object(answer["OutputLocation"]), what="answered once back", timeout=TIMEOUT
    )
    assert json.loads(body)[0]["generated_text"]
    activities = aws.aas.describe_scaling_activities(
        ServiceNamespace="sagemaker", ResourceId=resource
    )["ScalingActivities"]
    back = next(a for a in activities if a["Description"] == "Setting desired instance count to 1.")
    assert back["Cause"].startswith(
        "monitor alarm ep-backlog-without-capacity in state ALARM triggered policy from-zero"
    )
    points = aws.cw.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="HasBacklogWithoutCapacity",
        Dimensions=dims,
        StartTime="2020-01-01T00:00:00Z",
        EndTime="2100-01-01T00:00:00Z",
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert max(p["Maximum"] for p in points) == 1.0
