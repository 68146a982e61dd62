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

from llm_operator.api.models import (
    EndpointTypeName,
    RolloutPhase,
    RolloutSpec,
    RolloutStrategy,
)

DEFAULT_CANARY_PERCENT = 10
DEFAULT_LINEAR_STEP_PERCENT = 25
DEFAULT_MAX_BATCH_PERCENT = 25
# Phases after which nothing moves until the spec changes.
FINISHED: frozenset[RolloutPhase] = frozenset({"Succeeded", "RolledBack", "Failed"})
_BLUE_GREEN = {"AllAtOnce": "ALL_AT_ONCE", "Canary": "CANARY", "Linear": "LINEAR"}


@dataclass(frozen=True)
class DesiredRollout:
    """spec.rollout as SageMaker requests, with the generation it belongs to."""

    strategy: RolloutStrategy
    generation: int
    alarms: tuple[str, ...]
    # DeploymentConfig of UpdateEndpoint.
    endpoint_deployment: Mapping[str, Any]
    # DeploymentConfig of UpdateInferenceComponent (InferenceComponent endpoints only).
    component_deployment: Mapping[str, Any] | None


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


def desired_rollout(
    spec: RolloutSpec, endpoint_type: EndpointTypeName, generation: int
) -> DesiredRollout:
    rollback = _auto_rollback(spec.rollback_alarms)
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
        alarms=tuple(spec.rollback_alarms),
        endpoint_deployment=endpoint,
        component_deployment=component,
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
