"""Asynchronous endpoints (endpointType Async) as the operator renders, checks, plans and
reports them (no I/O: the spec is parsed, rendered and planned in memory)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from llm_operator.api.models import LLMEndpointSpec
from llm_operator.core import adoption, desired
from llm_operator.core.actions import (
    CreateAlarm,
    CreateEndpoint,
    CreateEndpointConfig,
    CreateModel,
    PutScalingPolicy,
    RegisterScalableTarget,
)
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import (
    ObservedPolicy,
    ObservedScaling,
    ObservedState,
    ObservedTarget,
)
from llm_operator.core.planner import plan
from llm_operator.core.status import build_status
from tests.unit.planner_factory import UID, running

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
OWNER = desired.Owner("batch", "qwen", UID)
OUT = "s3://llm-async/qwen/out/"


def async_spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "model": {"hfModelId": "Qwen/Qwen2.5-1.5B-Instruct"},
        "instance": {"type": "ml.g5.xlarge", "count": 1},
        "endpointType": "Async",
        "async": {"outputS3Uri": OUT},
        "aws": {"region": "us-east-1", "executionRoleArn": ROLE},
    }
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        else:
            spec[key] = value
    return spec


def to_zero(**changes: Any) -> dict[str, Any]:
    auto = {"minReplicas": 0, "maxReplicas": 3, "metric": "BacklogPerInstance", "target": 5}
    auto.update(changes.pop("autoscaling", {}))
    return async_spec(autoscaling=auto, **changes)


def parse(raw: dict[str, Any]) -> LLMEndpointSpec:
    return LLMEndpointSpec.model_validate(raw)


def test_async_renders_one_model_variant_and_its_async_inference_config() -> None:
    raw = async_spec(
        **{
            "async": {
                "outputS3Uri": OUT,
                "failureS3Uri": "s3://llm-async/qwen/failed/",
                "successTopicArn": "arn:aws:sns:us-east-1:123456789012:done",
                "errorTopicArn": "arn:aws:sns:us-east-1:123456789012:failed",
                "maxConcurrentInvocationsPerInstance": 4,
            }
        }
    )
    want = desired.render(parse(raw), OWNER, hf_token=None)
    request = want.endpoint_config.create_request
    (variant,) = request["ProductionVariants"]
    assert variant["ModelName"] == want.model.name and variant["InstanceType"] == "ml.g5.xlarge"
    assert request["AsyncInferenceConfig"] == {
        "OutputConfig": {
            "S3OutputPath": OUT,
            "S3FailurePath": "s3://llm-async/qwen/failed/",
            "NotificationConfig": {
                "SuccessTopic": "arn:aws:sns:us-east-1:123456789012:done",
                "ErrorTopic": "arn:aws:sns:us-east-1:123456789012:failed",
            },
        },
        "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
    }
    assert want.components == ()


def test_a_new_output_path_is_a_new_endpoint_config_on_the_same_model() -> None:
    one = desired.render(parse(async_spec()), OWNER, hf_token=None)
    other = desired.render(
        parse(async_spec(**{"async": {"outputS3Uri": "s3://llm-async/other/"}})),
        OWNER,
        hf_token=None,
    )
    assert one.endpoint_config.name != other.endpoint_config.name
    assert one.model.name == other.model.name


def test_scale_to_zero_tracks_the_backlog_and_alarms_on_backlog_without_capacity() -> None:
    want = desired.render(parse(to_zero()), OWNER, hf_token=None)
    scaling = want.scaling
    assert scaling is not None and scaling.dimension == desired.VARIANT_DIMENSION
    assert (scaling.min_capacity, scaling.max_capacity) == (0, 3)
    dims = [{"Name": "EndpointName", "Value": want.endpoint_name}]
    assert scaling.target_tracking["CustomizedMetricSpecification"] == {
        "MetricName": "ApproximateBacklogSizePerInstance",
        "Namespace": "AWS/SageMaker",
        "Dimensions": dims,
        "Statistic": "Average",
    }
    assert scaling.target_tracking["TargetValue"] == 5.0
    zero = scaling.from_zero
    assert zero is not None
    assert zero.alarm["MetricName"] == "HasBacklogWithoutCapacity"
    assert zero.alarm["Dimensions"] == dims
    assert zero.step["StepAdjustments"] == [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]
    floor_one = to_zero(autoscaling={"minReplicas": 1})
    assert desired.render(parse(floor_one), OWNER, hf_token=None).scaling.from_zero is None  # type: ignore[union-attr]


def test_plan_creates_the_endpoint_then_its_scaling_then_the_alarm_on_the_step_policy() -> None:
    want = desired.render(parse(to_zero()), OWNER, hf_token=None)
    memory = PlanMemory()
    first = plan(want, ObservedState(), deleting=False, deletion_policy="Delete", memory=memory)
    assert [type(a) for a in first.actions] == [CreateModel, CreateEndpointConfig, CreateEndpoint]
    scaling = want.scaling
    assert scaling is not None
    up = running(want)
    second = plan(want, up, deleting=False, deletion_policy="Delete", memory=memory)
    kinds = [type(a) for a in second.actions]
    assert kinds[:2] == [RegisterScalableTarget, PutScalingPolicy]
    target = ObservedTarget(
        scaling.resource_id, scaling.dimension, 0, 3, owner_uid=UID, owner_cluster_id=None
    )
    assert scaling.from_zero is not None
    step_arn = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:from-zero"
    policies = {
        scaling.policy_name: ObservedPolicy(
            scaling.policy_name, "arn:tt", "TargetTrackingScaling", dict(scaling.target_tracking)
        ),
        scaling.from_zero.policy_name: ObservedPolicy(
            scaling.from_zero.policy_name, step_arn, "StepScaling", dict(scaling.from_zero.step)
        ),
    }
    seen = replace(up, scaling=ObservedScaling(target=target, policies=policies))
    third = plan(want, seen, deleting=False, deletion_policy="Delete", memory=memory)
    (alarm,) = third.actions
    assert isinstance(alarm, CreateAlarm)
    request = alarm.request()
    assert request["MetricName"] == "HasBacklogWithoutCapacity"
    assert request["AlarmActions"] == [step_arn]
    assert {"Key": "llmoperator.io/uid", "Value": UID} in request["Tags"]


def status_of(raw: dict[str, Any], instances: int) -> dict[str, Any]:
    want = desired.render(parse(raw), OWNER, hf_token=None)
    observed = running(want)
    assert observed.endpoint is not None
    endpoint = replace(observed.endpoint, current_instances=instances, desired_instances=instances)
    observed = replace(observed, endpoint=endpoint)
    result = plan(want, observed, deleting=False, deletion_policy="Delete", memory=PlanMemory())
    return build_status(
        desired=want,
        observed=observed,
        plan=result,
        generation=1,
        previous=None,
        now=datetime(2026, 12, 1, tzinfo=UTC),
        hourly_usd_per_instance=1.41,
    )


def test_status_shows_where_answers_and_failures_go() -> None:
    raw = async_spec(**{"async": {"failureS3Uri": "s3://llm-async/qwen/failed/"}})
    status = status_of(raw, 1)
    assert status["async"] == {"outputS3Uri": OUT, "failureS3Uri": "s3://llm-async/qwen/failed/"}
    assert status["estimatedHourlyCostUSD"] == "1.41"


def test_at_zero_instances_it_is_ready_costs_nothing_and_says_requests_wait() -> None:
    status = status_of(to_zero(), 0)
    assert status["estimatedHourlyCostUSD"] == "0.00"
    assert status["instances"] == {"desired": 0, "current": 0}
    assert status["autoscaling"]["scaledToZero"] is True
    assert status_of(to_zero(), 1)["autoscaling"]["scaledToZero"] is False
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True" and ready["reason"] == "ScaledToZero"
    assert "waits in the queue" in ready["message"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({**async_spec(), "async": None}, "spec.async is required with endpointType Async"),
        (
            {**async_spec(endpointType="Model")},
            "spec.async is required with endpointType Async .* refused with the other",
        ),
        (async_spec(**{"async": {"outputS3Uri": "https://bucket/out"}}), "must be an S3 location"),
        (
            async_spec(**{"async": {"failureS3Uri": OUT}}),
            "failureS3Uri must differ from async.outputS3Uri",
        ),
        (
            async_spec(**{"async": {"successTopicArn": "arn:aws:sqs:us-east-1:1:q"}}),
            "async.successTopicArn must be an SNS topic ARN",
        ),
        (async_spec(resources={"copies": 2}), "SageMaker hosts asynchronous inference"),
        (async_spec(adapters=[{"name": "a", "artifactUri": "s3://b-1/a.tar.gz"}]), "adapters"),
        (async_spec(instance={"minCount": 0}), "managed instance scaling"),
        (
            async_spec(autoscaling={"maxReplicas": 2, "target": 4}),
            "autoscaling.metric must be BacklogPerInstance with endpointType Async",
        ),
        (
            async_spec(
                endpointType="Model",
                autoscaling={"maxReplicas": 2, "target": 4, "metric": "BacklogPerInstance"},
                **{"async": None},
            ),
            "BacklogPerInstance applies to endpointType Async only",
        ),
        (
            async_spec(serverless={"memoryMiB": 2048, "maxConcurrency": 2}),
            "spec.serverless is required with endpointType Serverless",
        ),
    ],
)
def test_the_operator_refuses_what_the_crd_refuses(raw: dict[str, Any], message: str) -> None:
    raw = {k: v for k, v in raw.items() if v is not None}
    with pytest.raises(ValidationError, match=message):
        parse(raw)


def test_adoption_takes_an_asynchronous_endpoint_only_as_async() -> None:
    variants = [{"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.g5.xlarge"}]
    adoption.check_type("ep", variants, "Async", asynchronous=True)
    with pytest.raises(
        adoption.AdoptionError, match=r"ep is asynchronous .* spec\.endpointType: Async"
    ):
        adoption.check_type("ep", variants, "Model", asynchronous=True)
    with pytest.raises(adoption.AdoptionError, match="model-based"):
        adoption.check_type("ep", variants, "Async")


def stored(raw: dict[str, Any]) -> dict[str, Any]:
    """An LLMEndpoint as the API server returns it, Ready."""
    return {
        "metadata": {"name": "qwen", "namespace": "batch"},
        "spec": raw,
        "status": {
            "endpointName": "batch-qwen-1",
            "async": {"outputS3Uri": OUT},
            "conditions": [{"type": "Ready", "status": "True", "reason": "ScaledToZero"}],
        },
    }


def test_invoke_finds_the_output_path_and_takes_only_async_requests() -> None:
    from llm_operator.shell.commands import invoke
    from llm_operator.shell.commands.kube import CommandError

    target = invoke.find_target(stored(to_zero()), adapter=None)
    assert (target.endpoint, target.async_output) == ("batch-qwen-1", OUT)
    who = "LLMEndpoint batch/qwen"
    invoke.check_async(target, who, asynchronous=True, stream=False)
    with pytest.raises(CommandError, match="send them with --async"):
        invoke.check_async(target, who, asynchronous=False, stream=False)
    with pytest.raises(CommandError, match="--stream cannot be used with --async"):
        invoke.check_async(target, who, asynchronous=True, stream=True)
    realtime = {k: v for k, v in async_spec(endpointType="Model").items() if k != "async"}
    plain = invoke.find_target(stored(realtime), adapter=None)
    assert plain.async_output is None
    with pytest.raises(CommandError, match="not an asynchronous endpoint"):
        invoke.check_async(plain, who, asynchronous=True, stream=False)
