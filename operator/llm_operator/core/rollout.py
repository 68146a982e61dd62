"""Guarded rollouts: the DeploymentConfig a spec.rollout asks for, and how one went.

SageMaker runs the rollout (deployment guardrails); the operator only asks for
it and reads the outcome. An update SageMaker rolled back leaves the endpoint
InService on its old config (or the component on its old specification) with a
FailureReason, which looks like success unless what is served is compared with
what was asked for: that comparison is the planner's (`reconcile`), the wording
of what it found is here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llm_operator.api import models
from llm_operator.api.models import (
    EndpointTypeName,
    RolloutPhase,
    RolloutSpec,
    RolloutStrategy,
)

# The operator's own rollback alarms (spec.rollout.autoRollback): one per threshold,
# named after the endpoint, on SageMaker's per-minute metrics.
ERROR_RATE_ALARM_SUFFIX = "-rollback-error-rate"
LATENCY_ALARM_SUFFIX = "-rollback-p99-latency"
ALARM_PERIOD_SECONDS = 60
DEFAULT_CANARY_PERCENT = 10
DEFAULT_LINEAR_STEP_PERCENT = models.DEFAULT_LINEAR_STEP_PERCENT
DEFAULT_MAX_BATCH_PERCENT = models.DEFAULT_MAX_BATCH_PERCENT
# Phases after which nothing moves until the spec changes.
FINISHED: frozenset[RolloutPhase] = frozenset({"Succeeded", "RolledBack", "Failed"})
_BLUE_GREEN = {"AllAtOnce": "ALL_AT_ONCE", "Canary": "CANARY", "Linear": "LINEAR"}


@dataclass(frozen=True)
class DesiredAlarm:
    """A rollback alarm the operator owns: PutMetricAlarm's request without Tags."""

    name: str
    threshold: float
    request: Mapping[str, Any]


@dataclass(frozen=True)
class DesiredRollout:
    """spec.rollout as SageMaker requests, with the generation it belongs to."""

    strategy: RolloutStrategy
    generation: int
    # Every alarm in AutoRollbackConfiguration: the user's, then the operator's own.
    alarms: tuple[str, ...]
    # DeploymentConfig of UpdateEndpoint.
    endpoint_deployment: Mapping[str, Any]
    # DeploymentConfig of UpdateInferenceComponent (InferenceComponent endpoints only).
    component_deployment: Mapping[str, Any] | None
    # The alarms the operator creates for autoRollback.
    owned_alarms: tuple[DesiredAlarm, ...] = ()


@dataclass(frozen=True)
class RolloutReport:
    """What the planner found about the current or last rollout; status.py adds times."""

    phase: RolloutPhase
    generation: int
    strategy: RolloutStrategy
    target: str  # the endpoint config or component version being rolled out
    step: str | None = None
    alarm: str | None = None
    message: str = ""
    # A newer spec generation (and its target) waiting for this rollout to end:
    # SageMaker takes one update at a time.
    pending_generation: int | None = None
    pending_target: str | None = None


def alarm_names(endpoint_name: str) -> tuple[str, str]:
    """Every name an owned rollback alarm of this endpoint can have."""
    return endpoint_name + ERROR_RATE_ALARM_SUFFIX, endpoint_name + LATENCY_ALARM_SUFFIX


def owned_alarms(
    spec: RolloutSpec,
    *,
    endpoint_name: str,
    variant_name: str,
    component_name: str | None,
    owner: str,
) -> tuple[DesiredAlarm, ...]:
    """The autoRollback alarms: on the base component's metrics when there is one."""
    auto = spec.auto_rollback
    if auto is None:
        return ()
    if component_name is not None:
        dimensions = [{"Name": "InferenceComponentName", "Value": component_name}]
        watched = f"inference component {component_name}"
    else:
        dimensions = [
            {"Name": "EndpointName", "Value": endpoint_name},
            {"Name": "VariantName", "Value": variant_name},
        ]
        watched = f"endpoint {endpoint_name}"
    common: dict[str, Any] = {
        "EvaluationPeriods": 1,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "ActionsEnabled": False,
    }
    errors_name, latency_name = alarm_names(endpoint_name)
    out: list[DesiredAlarm] = []
    if auto.max_error_rate_percent is not None:
        threshold = float(auto.max_error_rate_percent)

        def stat(metric_id: str, metric: str) -> dict[str, Any]:
            return {
                "Id": metric_id,
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/SageMaker",
                        "MetricName": metric,
                        "Dimensions": dimensions,
                    },
                    "Period": ALARM_PERIOD_SECONDS,
                    "Stat": "Sum",
                },
                "ReturnData": False,
            }

        out.append(
            DesiredAlarm(
                errors_name,
                threshold,
                {
                    "AlarmName": errors_name,
                    "AlarmDescription": (
                        f"Rolls back updates of LLMEndpoint {owner} when 5XX errors of "
                        f"{watched} exceed {threshold:g}% of invocations"
                    ),
                    "Metrics": [
                        stat("errors", "Invocation5XXErrors"),
                        stat("invocations", "Invocations"),
                        {
                            "Id": "error_rate",
                            "Expression": "100 * errors / invocations",
                            "Label": "5XX error rate (%)",
                            "ReturnData": True,
                        },
                    ],
                    "Threshold": threshold,
                    **common,
                },
            )
        )
    if auto.max_p99_latency_ms is not None:
        # ModelLatency is in microseconds.
        threshold = float(auto.max_p99_latency_ms * 1000)
        out.append(
            DesiredAlarm(
                latency_name,
                threshold,
                {
                    "AlarmName": latency_name,
                    "AlarmDescription": (
                        f"Rolls back updates of LLMEndpoint {owner} when the p99 model latency "
                        f"of {watched} exceeds {auto.max_p99_latency_ms} ms"
                    ),
                    "Namespace": "AWS/SageMaker",
                    "MetricName": "ModelLatency",
                    "Dimensions": dimensions,
                    "ExtendedStatistic": "p99",
                    "Period": ALARM_PERIOD_SECONDS,
                    "Threshold": threshold,
                    **common,
                },
            )
        )
    return tuple(out)


def desired_rollout(
    spec: RolloutSpec,
    endpoint_type: EndpointTypeName,
    generation: int,
    owned: tuple[DesiredAlarm, ...] = (),
) -> DesiredRollout:
    """`owned`: the autoRollback alarms (`owned_alarms`), named in the rollback config too."""
    alarms = (*spec.rollback_alarms, *(a.name for a in owned))
    rollback = _auto_rollback(alarms)
    timeout = (
        {"MaximumExecutionTimeoutInSeconds": spec.timeout_seconds}
        if spec.timeout_seconds is not None
        else {}
    )
    percent = spec.max_batch_percent or DEFAULT_MAX_BATCH_PERCENT
    rolling = {
        "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": percent},
        "WaitIntervalInSeconds": spec.wait_seconds,
        **timeout,
    }
    endpoint: dict[str, Any]
    if spec.strategy == "Rolling":
        endpoint = {"RollingUpdatePolicy": rolling, **rollback}
    else:
        routing: dict[str, Any] = {
            "Type": _BLUE_GREEN[spec.strategy],
            "WaitIntervalInSeconds": spec.wait_seconds,
        }
        if spec.strategy == "Canary":
            size = spec.canary_percent or DEFAULT_CANARY_PERCENT
            routing["CanarySize"] = {"Type": "CAPACITY_PERCENT", "Value": size}
        elif spec.strategy == "Linear":
            size = spec.linear_step_percent or DEFAULT_LINEAR_STEP_PERCENT
            routing["LinearStepSize"] = {"Type": "CAPACITY_PERCENT", "Value": size}
        endpoint = {
            "BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing, **timeout},
            **rollback,
        }
    component = (
        {"RollingUpdatePolicy": rolling, **rollback}
        if endpoint_type == "InferenceComponent"
        else None
    )
    return DesiredRollout(
        strategy=spec.strategy,
        generation=generation,
        alarms=alarms,
        endpoint_deployment=endpoint,
        component_deployment=component,
        owned_alarms=owned,
    )


def _auto_rollback(alarms: Sequence[str]) -> dict[str, Any]:
    if not alarms:
        return {}
    return {"AutoRollbackConfiguration": {"Alarms": [{"AlarmName": a} for a in alarms]}}


def alarm_named(reason: str, alarms: Sequence[str]) -> str | None:
    """The rollback alarm a FailureReason names, if it names one (longest name wins).

    SageMaker's wording is not an API, so the alarm is recognised by its name
    alone, never by parsing the sentence around it.
    """
    found = [a for a in alarms if a and a in reason]
    return max(found, key=len) if found else None
