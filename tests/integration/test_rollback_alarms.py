"""The adapter writes a rollback alarm only when its name is free or tagged as ours.

PutMetricAlarm overwrites and DeleteAlarms deletes whatever holds a name, so the
adapter reads the alarm's tags right before each write. Against moto's CloudWatch
(the sidecar the emulator runs with --with-moto), through real boto3.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from llm_operator.api.models import RolloutSpec
from llm_operator.core import actions
from llm_operator.core.rollout import owned_alarms
from llm_operator.shell.aws import AwsError, SageMaker
from llm_operator.shell.execute import execute
from sagemaker_emulator.moto_sidecar import MotoSidecar
from tests.plugins.emulator_fixtures import boto3_client
from tests.plugins.reconciling import aws_environment

UID = "uid-mine"
TAGS = {"llmoperator.io/managed-by": "sagemaker-llm-operator", "llmoperator.io/uid": UID}
REGION = "us-east-1"


@pytest.fixture
def cloudwatch(_moto_for_alarms: MotoSidecar, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    aws_environment(monkeypatch, CLOUDWATCH=_moto_for_alarms.url)
    yield boto3_client(_moto_for_alarms.url, "cloudwatch")


def alarm_actions(endpoint: str, percent: float) -> tuple[actions.CreateAlarm, actions.UpdateAlarm]:
    spec = RolloutSpec.model_validate({"autoRollback": {"maxErrorRatePercent": percent}})
    (alarm,) = owned_alarms(
        spec, endpoint_name=endpoint, variant_name="AllTraffic", component_name=None, owner="a/b"
    )
    return (
        actions.CreateAlarm(name=alarm.name, spec=alarm.request, tags=TAGS),
        actions.UpdateAlarm(name=alarm.name, spec=alarm.request, tags=TAGS),
    )


def threshold(cloudwatch: Any, name: str) -> float | None:
    found = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return float(found[0]["Threshold"]) if found else None


def run(adapter: SageMaker, action: actions.Action) -> str:
    return asyncio.run(execute(adapter, REGION, action)).note


def test_an_alarm_of_someone_else_is_neither_overwritten_nor_deleted(cloudwatch: Any) -> None:
    endpoint = f"ep-{uuid.uuid4().hex[:8]}"
    create, update = alarm_actions(endpoint, 1)
    cloudwatch.put_metric_alarm(
        AlarmName=create.name,
        Namespace="AWS/SageMaker",
        MetricName="Invocations",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=42.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    adapter = SageMaker(workers=2)
    try:
        for action in (create, update, actions.DeleteAlarm(name=create.name, owner_uid=UID)):
            with pytest.raises(AwsError) as refused:
                run(adapter, action)
            assert refused.value.kind == "conflict"
        assert threshold(cloudwatch, create.name) == 42.0
    finally:
        adapter.close()


def test_our_alarm_is_created_tagged_updated_and_deleted_once(cloudwatch: Any) -> None:
    endpoint = f"ep-{uuid.uuid4().hex[:8]}"
    create, _ = alarm_actions(endpoint, 1)
    _, update = alarm_actions(endpoint, 5)
    delete = actions.DeleteAlarm(name=create.name, owner_uid=UID)
    adapter = SageMaker(workers=2)
    try:
        with pytest.raises(AwsError) as missing:
            run(adapter, update)
        assert missing.value.kind == "not_found"
        assert run(adapter, create) == ""
        arn = cloudwatch.describe_alarms(AlarmNames=[create.name])["MetricAlarms"][0]["AlarmArn"]
        tags = cloudwatch.list_tags_for_resource(ResourceARN=arn)["Tags"]
        assert {"Key": "llmoperator.io/uid", "Value": UID} in tags
        assert run(adapter, create) == "already existed"  # a retry after a crash
        assert run(adapter, update) == ""
        assert threshold(cloudwatch, create.name) == 5.0
        assert run(adapter, delete) == ""
        assert threshold(cloudwatch, create.name) is None
        assert run(adapter, delete) == "already gone"
    finally:
        adapter.close()
