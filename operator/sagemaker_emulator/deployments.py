"""Deployment guardrails: blue/green traffic shifting, rolling batches and alarm rollbacks.

An UpdateEndpoint or UpdateInferenceComponent with a DeploymentConfig runs as a chain of
steps on the emulator's clock (see state.py), each one transition of op "deploy":

- endpoints, blue/green (ALL_AT_ONCE, CANARY, LINEAR): the new fleet is provisioned
  (Creating), then each traffic step is turned on (ActivatingTraffic) and baked (Baking);
  after the last bake the old fleet waits TerminationWaitInSeconds and is terminated
  (Deleting);
- endpoints, rolling: per batch, new instances are provisioned, take traffic and bake,
  then as many old instances are terminated;
- inference components, rolling: per batch, copies of the new specification start and
  bake, then as many old copies stop.

Provisioning and terminating take the delay (`--delay`); AWS's waits (WaitIntervalInSeconds,
TerminationWaitInSeconds, MaximumExecutionTimeoutInSeconds) are scaled so that one delay
stands for AWS_SECONDS_PER_DELAY seconds of AWS time. A bake reads the alarms named in
AutoRollbackConfiguration from moto's CloudWatch (in this process: the `--with-moto` sidecar
or a test's moto server) once per scaled alarm period; an alarm in ALARM, a failure fault or
the execution timeout rolls the deployment back: traffic returns to the old fleet (or old
copies), the new fleet goes away, and the resource is InService on what it served before,
with a FailureReason that says why.
"""

from __future__ import annotations

import math
from typing import Any

from . import containers
from .caller import Caller
from .capacity import CapacityError, Need, place
from .errors import validation
from .placement import redeploy, settle_instances, variant_of
from .state import Record, Region, Store

AWS_SECONDS_PER_DELAY = 300.0  # one --delay stands for five minutes of AWS time
TRAFFIC_SHIFT_SECONDS = 30.0  # turning traffic on for a step (ActivatingTraffic)
ALARM_PERIOD_SECONDS = 60.0  # how often a bake reads its alarms (CloudWatch's standard period)
MAX_CHECKS_PER_BAKE = 10  # longer bakes read their alarms every tenth of the bake
REASON_LIMIT = 1024  # FailureReason's maximum length in the model
_KEEP = ("op", "due", "seq")


# -- request time -------------------------------------------------------------------


def guarded(deployment: dict[str, Any] | None) -> bool:
    """Whether an UpdateEndpoint runs as a guarded deployment (any DeploymentConfig does)."""
    return bool(deployment)


def _check_size(size: dict[str, Any] | None, what: str, low: int, high: int) -> None:
    if size and size["Type"] == "CAPACITY_PERCENT" and not low <= int(size["Value"]) <= high:
        raise validation(
            f"{what} must be between {low}% and {high}% of the capacity when its Type is "
            f"CAPACITY_PERCENT; got {size['Value']}%."
        )


def check_endpoint_config(deployment: dict[str, Any]) -> None:
    """What SageMaker refuses in an endpoint's DeploymentConfig beyond botocore's model."""
    blue_green = deployment.get("BlueGreenUpdatePolicy")
    rolling = deployment.get("RollingUpdatePolicy")
    if blue_green and rolling:
        raise validation(
            "Specify either BlueGreenUpdatePolicy or RollingUpdatePolicy in DeploymentConfig, "
            "not both."
        )
    if blue_green:
        routing = blue_green["TrafficRoutingConfiguration"]
        kind = routing["Type"]
        if kind == "CANARY" and not routing.get("CanarySize"):
            raise validation("CanarySize is required when the traffic routing Type is CANARY.")
        if kind == "LINEAR" and not routing.get("LinearStepSize"):
            raise validation("LinearStepSize is required when the traffic routing Type is LINEAR.")
        _check_size(routing.get("CanarySize") if kind == "CANARY" else None, "CanarySize", 1, 50)
        _check_size(
            routing.get("LinearStepSize") if kind == "LINEAR" else None, "LinearStepSize", 10, 50
        )
    if rolling:
        _check_size(rolling["MaximumBatchSize"], "MaximumBatchSize", 5, 50)


def check_component_config(deployment: dict[str, Any]) -> None:
    rolling = deployment["RollingUpdatePolicy"]
    _check_size(rolling["MaximumBatchSize"], "MaximumBatchSize", 5, 50)


def _units(size: dict[str, Any] | None, total: int) -> int:
    """Instances or copies a CapacitySize stands for, out of `total` (at least 1)."""
    if not size:
        return max(1, total)
    if size["Type"] in ("INSTANCE_COUNT", "COPY_COUNT"):
        return max(1, min(total, int(size["Value"])) if total else 1)
    return max(1, math.floor(total * int(size["Value"]) / 100))


def _traffic_plan(routing: dict[str, Any], total: int) -> list[float]:
    """Share of traffic on the new fleet after each step, the last one 1.0."""
    kind = routing["Type"]
    if kind == "ALL_AT_ONCE":
        return [1.0]
    size = routing["CanarySize"] if kind == "CANARY" else routing["LinearStepSize"]
    if size["Type"] == "CAPACITY_PERCENT":
        share = int(size["Value"]) / 100
    else:
        share = int(size["Value"]) / max(1, total)
    share = min(1.0, share)
    if kind == "CANARY":
        return [share, 1.0] if share < 1.0 else [1.0]
    steps = max(1, math.ceil(1.0 / share - 1e-9))
    return [min(1.0, share * (i + 1)) for i in range(steps)]


def _deadline(store: Store, now: float, policy: dict[str, Any]) -> float | None:
    timeout = policy.get("MaximumExecutionTimeoutInSeconds")
    if timeout is None or store.delay <= 0:
        return None  # with no delay everything happens at once: nothing can time out
    return now + _scaled(store, float(timeout))


def _scaled(store: Store, seconds: float) -> float:
    return seconds * store.delay / AWS_SECONDS_PER_DELAY


def _status(status: str, now: float, message: str | None = None) -> list[Record]:
    entry: Record = {"Status": status, "StartTime": now}
    if message:
        entry["StatusMessage"] = message
    return [entry]


def _alarm_names(deployment: dict[str, Any]) -> list[str]:
    alarms = (deployment.get("AutoRollbackConfiguration") or {}).get("Alarms") or []
    return [alarm["AlarmName"] for alarm in alarms if alarm.get("AlarmName")]


def firing(caller: Caller, names: list[str]) -> list[str]:
    """The alarms among `names` that moto's CloudWatch (in this process) has in ALARM.

    moto keys its backends by account; without MOTO_ACCOUNT_ID its server files every
    request under its default account, so that one is read when the caller's has no such
    alarm. An alarm that does not exist does not fire.
    """
    if not names:
        return []
    try:
        from moto.cloudwatch.models import cloudwatch_backends
        from moto.core.models import DEFAULT_ACCOUNT_ID
    except ImportError:  # the emulator without its [emulator] extra: no CloudWatch to read
        return []
    out = []
    for name in names:
        for account in dict.fromkeys((caller.account, DEFAULT_ACCOUNT_ID)):
            try:
                alarm = cloudwatch_backends[account][caller.region].alarms.get(name)
            except KeyError:
                alarm = None
            if alarm is not None:
                if alarm.state_value == "ALARM":
                    out.append(name)
                break
    return out


def _checks(store: Store, wait_seconds: float) -> tuple[int, float]:
    """How many times a bake reads its alarms, and the time between two reads."""
    count = max(1, min(MAX_CHECKS_PER_BAKE, math.ceil(wait_seconds / ALARM_PERIOD_SECONDS)))
    return count, _scaled(store, wait_seconds) / count


def _next(
    store: Store,
    caller: Caller,
    kind: str,
    record: Record,
    pending: dict[str, Any],
    now: float,
    phase: str,
    duration: float,
    **changes: Any,
) -> None:
    """Schedule the deployment's next step; before a rollback, never past its deadline."""
    rest = {k: v for k, v in pending.items() if k not in _KEEP}
    rest.update(changes)
    rest["phase"] = phase
    deadline = rest.get("deadline")
    if deadline is not None and phase != "rollback":
        duration = max(0.0, min(duration, deadline - now))
    store.schedule(caller, kind, record, "deploy", start=now, after=duration, **rest)


def _clip(reason: str) -> str:
    return reason if len(reason) <= REASON_LIMIT else reason[: REASON_LIMIT - 3] + "..."


def _alarm_reason(names: list[str], step: int, steps: int, serving: str) -> str:
    listed = ", ".join(names)
    return _clip(
        f"Deployment rolled back: CloudWatch alarm(s) [{listed}] went into ALARM state during "
        f"the baking period of step {step} of {steps}; {serving}."
    )


def _timeout_reason(seconds: int, serving: str) -> str:
    return (
        "Deployment rolled back: it did not complete within MaximumExecutionTimeoutInSeconds "
        f"({seconds} seconds); {serving}."
    )


# -- endpoints ----------------------------------------------------------------------


def _endpoint_policy(deployment: dict[str, Any]) -> dict[str, Any]:
    policy: dict[str, Any] = (
        deployment.get("RollingUpdatePolicy")
        or deployment.get("BlueGreenUpdatePolicy")
        or {"TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}}
    )
    return policy


def start_endpoint(
    store: Store,
    caller: Caller,
    record: Record,
    config_name: str,
    variants: list[Record],
    deployment: dict[str, Any],
    now: float,
    stuck: bool,
) -> None:
    """UpdateEndpoint with a DeploymentConfig: provision the new fleet (or its first batch)."""
    check_endpoint_config(deployment)
    policy = _endpoint_policy(deployment)
    rolling = "RollingUpdatePolicy" in deployment
    total = sum(int(v["DesiredInstanceCount"]) for v in variants)
    if rolling:
        size = policy["MaximumBatchSize"]
        batches = {v["VariantName"]: _units(size, int(v["DesiredInstanceCount"])) for v in variants}
        steps = max(
            math.ceil(int(v["DesiredInstanceCount"]) / batches[v["VariantName"]]) or 1
            for v in variants
        )
        plan = [min(1.0, (i + 1) / steps) for i in range(steps)]
        first = [min(int(v["DesiredInstanceCount"]), batches[v["VariantName"]]) for v in variants]
        message = f"Provisioning batch 1 of {steps}"
    else:
        plan = _traffic_plan(policy["TrafficRoutingConfiguration"], total)
        batches = {}
        first = [int(v["DesiredInstanceCount"]) for v in variants]
        message = "Provisioning the new fleet"
    for variant, wanted in zip(variants, first, strict=True):
        variant["CurrentInstanceCount"] = 0
        variant["_Provisioning"] = wanted
        variant["VariantStatus"] = _status("Creating", now, message)
    record["EndpointStatus"] = "Updating"
    record["LastModifiedTime"] = now
    record["LastDeploymentConfig"] = deployment
    store.schedule(
        caller,
        "endpoints",
        record,
        "deploy",
        start=now,
        phase="provision",
        config=config_name,
        variants=variants,
        started=now,
        deployment=deployment,
        rolling=rolling,
        batches=batches,
        plan=plan,
        step=0,
        old_counts={
            v["VariantName"]: v["CurrentInstanceCount"] for v in record["ProductionVariants"]
        },
        deadline=_deadline(store, now, policy),
        stuck=stuck,
    )


def complete_endpoint(
    store: Store,
    caller: Caller,
    region: Region,
    record: Record,
    pending: dict[str, Any],
    now: float,
) -> None:
    """One step of an endpoint's deployment falls due at `now`."""
    phase = pending["phase"]
    if phase == "rollback":
        _endpoint_rolled_back(record, pending)
        return
    deployment = pending["deployment"]
    policy = _endpoint_policy(deployment)
    deadline = pending.get("deadline")
    old = f'the endpoint serves endpoint configuration "{record["EndpointConfigName"]}" again'
    if deadline is not None and now >= deadline:
        reason = _timeout_reason(int(policy["MaximumExecutionTimeoutInSeconds"]), old)
        _endpoint_rollback(store, caller, record, pending, now, reason)
        return
    if phase == "provision" and pending["step"] == 0:
        failure = store.faults.take_failure("endpoint", record["EndpointName"])
        failure = failure or containers.config_failure(region, pending["config"])
        if failure is None and record.get("_ComponentBased"):
            failure = redeploy(region, record, pending["variants"], apply=False)
        if failure is not None:
            _endpoint_rollback(store, caller, record, pending, now, failure)
            return
    variants: list[Record] = pending["variants"]
    plan: list[float] = pending["plan"]
    step: int = pending["step"]
    steps = len(plan)
    if phase == "provision":
        for variant in variants:
            variant["CurrentInstanceCount"] += variant.pop("_Provisioning", 0)
            variant["VariantStatus"] = _status(
                "ActivatingTraffic", now, f"Turning on {round(plan[step] * 100)}% of traffic"
            )
        _next(store, caller, "endpoints", record, pending, now, "shift", _shift(store))
        return
    if phase == "shift":
        wait = float(_wait_seconds(policy))
        count, every = _checks(store, wait)
        for variant in variants:
            variant["VariantStatus"] = _status(
                "Baking",
                now,
                f"{round(plan[step] * 100)}% of traffic on the new fleet; baking for "
                f"{int(wait)} seconds (step {step + 1} of {steps})",
            )
        _next(store, caller, "endpoints", record, pending, now, "bake", every, checks=count)
        return
    if phase == "bake":
        fired = firing(caller, _alarm_names(deployment))
        if fired:
            reason = _alarm_reason(fired, step + 1, steps, old)
            _endpoint_rollback(store, caller, record, pending, now, reason)
            return
        checks = int(pending["checks"]) - 1
        if checks > 0:
            _, every = _checks(store, float(_wait_seconds(policy)))
            _next(store, caller, "endpoints", record, pending, now, "bake", every, checks=checks)
            return
        if pending["rolling"]:
            _retire_old_batch(record, pending, (step + 1) / steps)
        if step + 1 < steps:
            _next_endpoint_step(store, caller, record, pending, now, step + 1)
            return
        for variant in variants:
            variant.pop("VariantStatus", None)
        if pending["rolling"]:
            _endpoint_done(region, record, pending)
            return
        for variant in record["ProductionVariants"]:
            variant["VariantStatus"] = _status("Deleting", now, "Terminating the old fleet")
        termination = float(policy.get("TerminationWaitInSeconds") or 0)
        _next(
            store,
            caller,
            "endpoints",
            record,
            pending,
            now,
            "terminate",
            _scaled(store, termination) + store.delay,
        )
        return
    if phase == "terminate":
        _endpoint_done(region, record, pending)


def _shift(store: Store) -> float:
    return _scaled(store, TRAFFIC_SHIFT_SECONDS)


def _wait_seconds(policy: dict[str, Any]) -> int:
    if "TrafficRoutingConfiguration" in policy:
        return int(policy["TrafficRoutingConfiguration"]["WaitIntervalInSeconds"])
    return int(policy["WaitIntervalInSeconds"])


def _next_endpoint_step(
    store: Store, caller: Caller, record: Record, pending: dict[str, Any], now: float, step: int
) -> None:
    variants: list[Record] = pending["variants"]
    plan: list[float] = pending["plan"]
    if not pending["rolling"]:  # blue/green: the fleet is up, the next step turns on traffic
        for variant in variants:
            variant["VariantStatus"] = _status(
                "ActivatingTraffic", now, f"Turning on {round(plan[step] * 100)}% of traffic"
            )
        _next(store, caller, "endpoints", record, pending, now, "shift", _shift(store), step=step)
        return
    for variant in variants:
        desired = int(variant["DesiredInstanceCount"])
        batch = int(pending["batches"][variant["VariantName"]])
        variant["_Provisioning"] = min(desired - variant["CurrentInstanceCount"], batch)
        variant["VariantStatus"] = _status(
            "Creating", now, f"Provisioning batch {step + 1} of {len(plan)}"
        )
    _next(store, caller, "endpoints", record, pending, now, "provision", store.delay, step=step)


def _retire_old_batch(record: Record, pending: dict[str, Any], done: float) -> None:
    """Rolling: old instances stop as new ones take over (their instances host components,
    so an inference component endpoint keeps its instance counts)."""
    if record.get("_ComponentBased"):
        return
    for variant in record["ProductionVariants"]:
        before = int(pending["old_counts"].get(variant["VariantName"], 0))
        variant["CurrentInstanceCount"] = max(0, round(before * (1.0 - done)))


def _endpoint_done(region: Region, record: Record, pending: dict[str, Any]) -> None:
    variants: list[Record] = pending["variants"]
    for variant in variants:
        variant.pop("VariantStatus", None)
        variant.pop("_Provisioning", None)
        variant["CurrentInstanceCount"] = variant["DesiredInstanceCount"]
        variant["CurrentWeight"] = variant["DesiredWeight"]
    if record.get("_ComponentBased"):
        # The components' copies now run on the new instances.
        redeploy(region, record, variants, apply=True)
    record["ProductionVariants"] = variants
    record["EndpointConfigName"] = pending["config"]
    record["EndpointStatus"] = "InService"
    record.pop("FailureReason", None)


def _endpoint_rollback(
    store: Store,
    caller: Caller,
    record: Record,
    pending: dict[str, Any],
    now: float,
    reason: str,
) -> None:
    """Traffic returns to the old fleet at once; the new fleet (or its batches) go away."""
    record["EndpointStatus"] = "RollingBack"
    record["FailureReason"] = reason
    for variant in pending["variants"]:
        variant.pop("_Provisioning", None)
        variant["VariantStatus"] = _status("Deleting", now, "Rolling back: terminating")
    for variant in record["ProductionVariants"]:
        variant.pop("VariantStatus", None)
    batches = 1
    if pending["rolling"]:
        size = _endpoint_policy(pending["deployment"]).get("RollbackMaximumBatchSize")
        for variant in record["ProductionVariants"]:
            before = int(pending["old_counts"].get(variant["VariantName"], 0))
            missing = before - int(variant["CurrentInstanceCount"])
            if missing > 0:
                batches = max(batches, math.ceil(missing / _units(size, before)))
    _next(store, caller, "endpoints", record, pending, now, "rollback", store.delay * batches)


def _endpoint_rolled_back(record: Record, pending: dict[str, Any]) -> None:
    for variant in record["ProductionVariants"]:
        variant.pop("VariantStatus", None)
        before = pending["old_counts"].get(variant["VariantName"])
        if before is not None:
            variant["CurrentInstanceCount"] = int(before)
    record["EndpointStatus"] = "InService"


# -- inference components -----------------------------------------------------------


def start_component(
    store: Store,
    caller: Caller,
    record: Record,
    spec: dict[str, Any],
    copies: int,
    deployment: dict[str, Any],
    now: float,
    stuck: bool,
) -> None:
    """UpdateInferenceComponent with a DeploymentConfig: the first batch of new copies."""
    check_component_config(deployment)
    policy = deployment["RollingUpdatePolicy"]
    batch = _units(policy["MaximumBatchSize"], copies)
    record["InferenceComponentStatus"] = "Updating"
    record["LastModifiedTime"] = now
    record["LastDeploymentConfig"] = deployment
    record["_rollout"] = {"spec": spec, "placement": []}
    previous = record["_desired"]
    record["_desired"] = copies
    store.schedule(
        caller,
        "inference_components",
        record,
        "deploy",
        start=now,
        phase="provision",
        copies=copies,
        previous=previous,
        old_count=len(record["_placement"]),
        batch=batch,
        steps=max(1, math.ceil(copies / batch)),
        step=0,
        deployment=deployment,
        deadline=_deadline(store, now, policy),
        stuck=stuck,
    )


def complete_component(
    store: Store,
    caller: Caller,
    region: Region,
    record: Record,
    pending: dict[str, Any],
    now: float,
) -> None:
    """One step of an inference component's rolling deployment falls due at `now`."""
    phase = pending["phase"]
    if phase == "rollback":
        _component_rolled_back(region, record, pending)
        return
    deployment = pending["deployment"]
    policy = deployment["RollingUpdatePolicy"]
    old = "the previous specification serves again"
    deadline = pending.get("deadline")
    if deadline is not None and now >= deadline:
        reason = _timeout_reason(int(policy["MaximumExecutionTimeoutInSeconds"]), old)
        _component_rollback(store, caller, record, pending, now, reason)
        return
    step: int = pending["step"]
    steps: int = pending["steps"]
    batch: int = pending["batch"]
    target = int(pending["copies"])
    rollout = record["_rollout"]
    if phase == "provision":
        failure = None
        if step == 0:
            failure = store.faults.take_failure(
                "inference_component", record["InferenceComponentName"]
            ) or containers.component_failure(
                region, record["InferenceComponentName"], record["_rollout"]["spec"]
            )
        new = min(target, (step + 1) * batch)
        failure = failure or _place_both(region, record, len(record["_placement"]), new)
        if failure is not None:
            _component_rollback(store, caller, record, pending, now, failure)
            return
        count, every = _checks(store, float(policy["WaitIntervalInSeconds"]))
        _next(
            store, caller, "inference_components", record, pending, now, "bake", every, checks=count
        )
        return
    if phase == "bake":
        fired = firing(caller, _alarm_names(deployment))
        if fired:
            reason = _alarm_reason(fired, step + 1, steps, old)
            _component_rollback(store, caller, record, pending, now, reason)
            return
        checks = int(pending["checks"]) - 1
        if checks > 0:
            _, every = _checks(store, float(policy["WaitIntervalInSeconds"]))
            _next(
                store,
                caller,
                "inference_components",
                record,
                pending,
                now,
                "bake",
                every,
                checks=checks,
            )
            return
        remaining = (
            0 if step + 1 >= steps else max(0, int(pending["old_count"]) - (step + 1) * batch)
        )
        _place_both(region, record, remaining, len(rollout["placement"]))
        if step + 1 < steps:
            _next(
                store,
                caller,
                "inference_components",
                record,
                pending,
                now,
                "provision",
                store.delay,
                step=step + 1,
            )
            return
        record["_spec"] = rollout["spec"]
        record["_placement"] = rollout["placement"]
        del record["_rollout"]
        record["InferenceComponentStatus"] = "InService"
        record.pop("FailureReason", None)


def _place_both(region: Region, record: Record, old: int, new: int) -> str | None:
    """Re-place `old` copies of the current and `new` of the rollout's specification.

    Copies keep their instances; on failure nothing changes and the reason is returned.
    """
    found = variant_of(region, record, exclude=record["InferenceComponentName"])
    if found is None:
        return (
            f'Request to service failed: endpoint "{record["EndpointArn"]}" no longer hosts '
            "the variant."
        )
    variant, hosting = found
    rollout = record["_rollout"]
    try:
        kept = place(
            variant,
            Need.of(record["_spec"]["ComputeResourceRequirements"]),
            record["_placement"],
            old,
        )
        started = place(
            variant,
            Need.of(rollout["spec"]["ComputeResourceRequirements"]),
            rollout["placement"],
            new,
        )
    except CapacityError as error:
        return str(error)
    record["_placement"] = kept
    rollout["placement"] = started
    settle_instances(region, record, variant, hosting)
    return None


def _component_rollback(
    store: Store,
    caller: Caller,
    record: Record,
    pending: dict[str, Any],
    now: float,
    reason: str,
) -> None:
    """Copies of the old specification come back (RollbackMaximumBatchSize at a time)."""
    record["FailureReason"] = _clip(reason)
    size = pending["deployment"]["RollingUpdatePolicy"].get("RollbackMaximumBatchSize")
    before = int(pending["old_count"])
    missing = before - len(record["_placement"])
    batches = max(1, math.ceil(missing / _units(size, before))) if missing > 0 else 1
    _next(
        store,
        caller,
        "inference_components",
        record,
        pending,
        now,
        "rollback",
        store.delay * batches,
    )


def _component_rolled_back(region: Region, record: Record, pending: dict[str, Any]) -> None:
    before = int(pending["old_count"])
    if _place_both(region, record, before, 0) is not None:
        _place_both(region, record, len(record["_placement"]), 0)
    record.pop("_rollout", None)
    record["_desired"] = pending["previous"]
    record["InferenceComponentStatus"] = "InService"
