"""spec.rollout: the API's rules and the DeploymentConfig each strategy sends to SageMaker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from pydantic import ValidationError

from llm_operator.api import crd, models
from llm_operator.api.models import EndpointTypeName, LLMEndpointSpec, RolloutSpec
from llm_operator.core import actions
from llm_operator.core.rollout import RolloutReport, alarm_named, desired_rollout, owned_alarms
from llm_operator.core.status import build_rollout

SESSION = botocore.session.get_session()
SAGEMAKER = SESSION.get_service_model("sagemaker")
ALARMS = [f"alarm-{i}" for i in range(10)]


def spec(endpoint_type: EndpointTypeName, rollout: dict[str, Any]) -> LLMEndpointSpec:
    return LLMEndpointSpec.model_validate(
        {
            "model": {"hfModelId": "mistralai/Mistral-7B-Instruct-v0.1"},
            "instance": {"type": "ml.g5.12xlarge"},
            "endpointType": endpoint_type,
            "aws": {
                "region": "us-east-1",
                "executionRoleArn": "arn:aws:iam::123456789012:role/SageMakerExecution",
            },
            "rollout": rollout,
        }
    )


def valid(operation: str, request: dict[str, Any]) -> None:
    shape = SAGEMAKER.operation_model(operation).input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()


STRATEGIES: list[tuple[EndpointTypeName, dict[str, Any]]] = [
    ("Model", {"strategy": "AllAtOnce"}),
    ("Model", {"strategy": "Canary", "canaryPercent": 20, "rollbackAlarms": ALARMS}),
    ("Model", {"strategy": "Linear", "linearStepPercent": 50, "timeoutSeconds": 28800}),
    ("Model", {"strategy": "Rolling", "maxBatchPercent": 5, "waitSeconds": 0}),
    ("InferenceComponent", {"strategy": "Rolling", "rollbackAlarms": ["a"]}),
    ("InferenceComponent", {}),
]


@pytest.mark.parametrize(("endpoint_type", "rollout"), STRATEGIES)
def test_every_strategy_sends_requests_botocore_accepts(
    endpoint_type: EndpointTypeName, rollout: dict[str, Any]
) -> None:
    wanted = desired_rollout(
        spec(endpoint_type, rollout).rollout or RolloutSpec(), endpoint_type, 3
    )
    update = actions.UpdateEndpoint(
        name="ep", config_name="ep-c2", deployment=wanted.endpoint_deployment
    )
    valid("UpdateEndpoint", update.request())
    if endpoint_type == "InferenceComponent":
        assert wanted.component_deployment is not None
        component = actions.UpdateInferenceComponent(
            name="ep-base",
            specification={"ModelName": "m"},
            copies=4,
            deployment=wanted.component_deployment,
        )
        valid("UpdateInferenceComponent", component.request())
    else:
        assert wanted.component_deployment is None


def test_canary_asks_for_a_blue_green_canary_with_the_alarms() -> None:
    wanted = desired_rollout(
        spec(
            "Model",
            {
                "strategy": "Canary",
                "canaryPercent": 20,
                "waitSeconds": 300,
                "timeoutSeconds": 3600,
                "rollbackAlarms": ["p99"],
            },
        ).rollout
        or RolloutSpec(),
        "Model",
        7,
    )
    assert wanted.endpoint_deployment == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 300,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 20},
            },
            "MaximumExecutionTimeoutInSeconds": 3600,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "p99"}]},
    }
    assert (wanted.generation, wanted.alarms) == (7, ("p99",))


def test_rolling_on_inference_components_rolls_copies_in_batches() -> None:
    rollout = spec("InferenceComponent", {"maxBatchPercent": 50, "waitSeconds": 60}).rollout
    assert rollout is not None
    wanted = desired_rollout(rollout, "InferenceComponent", 1)
    assert wanted.component_deployment == {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
            "WaitIntervalInSeconds": 60,
        }
    }


@pytest.mark.parametrize(
    ("endpoint_type", "rollout", "message"),
    [
        ("InferenceComponent", {"strategy": "Canary"}, "must be Rolling for endpointType"),
        ("InferenceComponent", {"strategy": "AllAtOnce"}, "must be Rolling for endpointType"),
        ("Model", {"strategy": "Linear", "canaryPercent": 5}, "canaryPercent applies"),
        ("Model", {"strategy": "Canary", "linearStepPercent": 20}, "linearStepPercent applies"),
        ("Model", {"strategy": "Linear", "maxBatchPercent": 20}, "maxBatchPercent applies"),
        ("Model", {"rollbackAlarms": [*ALARMS, "one-more"]}, "at most 10 items"),
        ("Model", {"rollbackAlarms": ["a", "a"]}, "must not repeat"),
        ("Model", {"timeoutSeconds": 599}, "greater than or equal to 600"),
        ("Model", {"strategy": "Linear", "linearStepPercent": 5}, "greater than or equal to 10"),
        ("Model", {"waitSeconds": 3601}, "less than or equal to 3600"),
        (
            "Model",
            {
                "rollbackAlarms": ALARMS[:9],
                "autoRollback": {"maxErrorRatePercent": 1, "maxP99LatencyMs": 9},
            },
            "at most 10 alarms in all",
        ),
        ("Model", {"autoRollback": {}}, "needs maxErrorRatePercent or maxP99LatencyMs"),
        ("Model", {"autoRollback": {"maxErrorRatePercent": 0}}, "greater than 0"),
    ],
)
def test_refused_rollouts_say_why(
    endpoint_type: EndpointTypeName, rollout: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        spec(endpoint_type, rollout)


def test_auto_rollback_alarms_watch_the_component_or_the_endpoint() -> None:
    rollout = spec(
        "InferenceComponent",
        {
            "rollbackAlarms": ALARMS[:8],
            "autoRollback": {"maxErrorRatePercent": 2.5, "maxP99LatencyMs": 1500},
        },
    ).rollout
    assert rollout is not None
    on_component = owned_alarms(
        rollout,
        endpoint_name="ep",
        variant_name="AllTraffic",
        component_name="ep-base",
        owner="a/b",
    )
    errors, latency = on_component
    assert (errors.name, errors.threshold) == ("ep-rollback-error-rate", 2.5)
    assert (latency.name, latency.threshold) == ("ep-rollback-p99-latency", 1_500_000.0)
    assert latency.request["Dimensions"] == [{"Name": "InferenceComponentName", "Value": "ep-base"}]
    assert latency.request["ExtendedStatistic"] == "p99"
    wanted = desired_rollout(rollout, "InferenceComponent", 2, on_component)
    assert len(wanted.alarms) == 10
    on_endpoint = owned_alarms(
        rollout, endpoint_name="ep", variant_name="AllTraffic", component_name=None, owner="a/b"
    )
    assert on_endpoint[1].request["Dimensions"] == [
        {"Name": "EndpointName", "Value": "ep"},
        {"Name": "VariantName", "Value": "AllTraffic"},
    ]
    for alarm in on_endpoint:
        valid_cloudwatch = SESSION.get_service_model("cloudwatch").operation_model("PutMetricAlarm")
        report = ParamValidator().validate(dict(alarm.request), valid_cloudwatch.input_shape)
        assert not report.has_errors(), report.generate_report()


def test_the_alarm_is_found_by_its_name_in_the_failure_reason() -> None:
    reason = "Deployment rolled back: CloudWatch alarm(s) [p99-latency] went into ALARM state"
    assert alarm_named(reason, ("p99", "p99-latency", "errors")) == "p99-latency"
    assert alarm_named("timed out", ("p99",)) is None


def test_status_keeps_the_start_time_and_stamps_the_end_once() -> None:
    t0, t1, t2 = (datetime(2026, 11, 30, 10, m, tzinfo=UTC) for m in (0, 5, 9))
    running = RolloutReport("Baking", 4, "Canary", "ep-c2", step="Baking", message="10%")
    first = build_rollout(running, None, t0)
    assert (first["startTime"], first["endTime"]) == ("2026-11-30T10:00:00Z", None)
    done = build_rollout(RolloutReport("RolledBack", 4, "Canary", "ep-c2", alarm="p99"), first, t1)
    assert (done["startTime"], done["endTime"]) == ("2026-11-30T10:00:00Z", "2026-11-30T10:05:00Z")
    again = build_rollout(RolloutReport("RolledBack", 4, "Canary", "ep-c2", alarm="p99"), done, t2)
    assert again == done
    fresh = build_rollout(RolloutReport("InProgress", 5, "Canary", "ep-c3"), done, t2)
    assert (fresh["startTime"], fresh["endTime"]) == ("2026-11-30T10:09:00Z", None)


@pytest.mark.parametrize(
    ("rollout", "arithmetic"),
    [
        (
            {
                "strategy": "Linear",
                "linearStepPercent": 10,
                "waitSeconds": 3600,
                "timeoutSeconds": 600,
            },
            "Linear bakes 10 step(s) x waitSeconds 3600 = 36000 seconds",
        ),
        (
            {"strategy": "Linear", "waitSeconds": 600, "timeoutSeconds": 2400},
            "Linear bakes 4 step(s) x waitSeconds 600 = 2400 seconds",
        ),
        (
            {"strategy": "Canary", "waitSeconds": 1800, "timeoutSeconds": 3000},
            "Canary bakes 2 step(s) x waitSeconds 1800 = 3600 seconds",
        ),
        ({"timeoutSeconds": 600}, "Rolling bakes 1 step(s) x waitSeconds 600 = 600 seconds"),
    ],
)
def test_a_rollout_that_cannot_finish_before_its_timeout_is_refused_with_the_arithmetic(
    rollout: dict[str, Any], arithmetic: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        spec("Model", rollout)
    assert arithmetic in str(raised.value)
    assert "raise timeoutSeconds" in str(raised.value)


@pytest.mark.parametrize(
    "rollout",
    [
        {"strategy": "Linear", "linearStepPercent": 10, "waitSeconds": 60, "timeoutSeconds": 601},
        {"strategy": "Canary", "waitSeconds": 300, "timeoutSeconds": 601},
        {"strategy": "AllAtOnce", "waitSeconds": 3600, "timeoutSeconds": 3601},
        {"strategy": "Linear", "waitSeconds": 3600},  # SageMaker's own timeout
    ],
)
def test_a_rollout_that_fits_its_timeout_is_accepted(rollout: dict[str, Any]) -> None:
    assert spec("Model", rollout).rollout is not None


def test_the_crd_refuses_what_the_model_refuses() -> None:
    """The CEL rule is built from the same step count (rollout_steps)."""
    schema = crd.openapi_schema()
    rollout = schema["properties"]["spec"]["properties"]["rollout"]
    rules = {r["message"]: r for r in rollout["x-kubernetes-validations"]}
    rule = rules[models.MSG_ROLLOUT_TIMEOUT]
    assert "(100 + (has(self.linearStepPercent)" in rule["rule"]
    assert "self.strategy == 'Canary' ? 2 : 1" in rule["rule"]
    assert "messageExpression" not in rule  # string(int) is too costly for the API server
