"""The LLMEndpoint `status` block, built from a plan and what SageMaker reports.

Pure: the clock and the instance price come in as arguments, so the same
inputs always give the same status and a reconcile that changes nothing
writes nothing new. Keys whose value is unknown are present with None, so a
merge patch removes what an earlier status said (a cleared failureReason).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from llm_operator.api.models import Phase, copies_summary
from llm_operator.core import naming
from llm_operator.core.desired import NAME_TAG, DesiredState
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import ObservedEndpoint, ObservedState
from llm_operator.core.passes import hosted
from llm_operator.core.plan import ConditionInput, Plan
from llm_operator.core.rollout import FINISHED, RolloutReport

# The status key holding PlanMemory.to_dict(); the shell reads it back with
# PlanMemory.from_dict(status.get(MEMORY_KEY)).
MEMORY_KEY = "planMemory"
CONDITION_TYPES = ("Ready", "Progressing", "Degraded")


def settled_at(status: Mapping[str, Any], generation: int) -> bool:
    """Whether `status` says everything was done for `generation`: Ready and nothing in
    progress, observed at that generation."""
    if status.get("observedGeneration") != generation:
        return False
    found = {
        c.get("type"): c.get("status")
        for c in status.get("conditions") or ()
        if isinstance(c, Mapping)
    }
    return found.get("Ready") == "True" and found.get("Progressing") == "False"


def format_usd(amount: Decimal | float) -> str:
    """Two decimals, half up, as people read prices ("7.09")."""
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _timestamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_conditions(
    plan: Plan,
    *,
    generation: int,
    previous: Sequence[Mapping[str, Any]] | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """Ready, Progressing, Degraded; lastTransitionTime moves only when status flips."""
    before = {c.get("type"): c for c in previous or () if isinstance(c, Mapping) and c.get("type")}
    inputs: dict[str, ConditionInput] = {
        "Ready": plan.ready,
        "Progressing": plan.progressing,
        "Degraded": plan.degraded,
    }
    out: list[dict[str, Any]] = []
    for kind in CONDITION_TYPES:
        condition = inputs[kind]
        status = "True" if condition.status else "False"
        old = before.get(kind)
        kept = old.get("lastTransitionTime") if old and old.get("status") == status else None
        out.append(
            {
                "type": kind,
                "status": status,
                "reason": condition.reason,
                "message": condition.message,
                "lastTransitionTime": kept if isinstance(kept, str) else _timestamp(now),
                "observedGeneration": generation,
            }
        )
    return out


def build_rollout(
    report: RolloutReport, previous: Mapping[str, Any] | None, now: datetime
) -> dict[str, Any]:
    """status.rollout: the report plus start and end times kept across passes."""
    before = previous if isinstance(previous, Mapping) else {}
    same = before.get("target") == report.target and before.get("generation") == report.generation
    start = before.get("startTime") if same else None
    if report.phase in FINISHED:
        end = before.get("endTime") if same and before.get("phase") == report.phase else None
        end = end if isinstance(end, str) else _timestamp(now)
    else:
        end = None
    return {
        "phase": report.phase,
        "generation": report.generation,
        "strategy": report.strategy,
        "target": report.target,
        "step": report.step,
        "alarm": report.alarm,
        "message": report.message,
        "startTime": start if isinstance(start, str) else _timestamp(now),
        "endTime": end,
        # Always written: status is merge-patched, a queued generation must not linger.
        "pending": (
            {"generation": report.pending_generation, "target": report.pending_target}
            if report.pending_generation is not None
            else None
        ),
    }


def _owned(observed: ObservedState, uid: str) -> ObservedState:
    """Only what this LLMEndpoint owns: status never shows someone else's resource."""
    ep = observed.endpoint
    return replace(
        observed,
        endpoint=ep if ep is not None and ep.owner_uid == uid else None,
        components={k: c for k, c in observed.components.items() if c.owner_uid == uid},
    )


def build_status(
    *,
    desired: DesiredState,
    observed: ObservedState,
    plan: Plan,
    generation: int,
    previous: Mapping[str, Any] | None,
    now: datetime,
    hourly_usd_per_instance: Decimal | float | None,
) -> dict[str, Any]:
    """The whole status block in the CRD's camelCase shape.

    `previous` is the status as stored now (for condition transition times);
    `hourly_usd_per_instance` is the catalog's on-demand price for the desired
    instance type, None when unknown.
    """
    former = hosted.serving_former(desired, observed)
    observed = _owned(observed, desired.owner.uid)
    ep = observed.endpoint
    previous_conditions = (previous or {}).get("conditions")
    conditions = build_conditions(
        plan,
        generation=generation,
        previous=previous_conditions if isinstance(previous_conditions, list) else None,
        now=now,
    )

    base = desired.components[0] if desired.components else None
    base_seen = observed.components.get(base.name) if base else None
    scaling = desired.scaling
    if base is not None and base.copies is not None:
        current = base_seen.current_copies if base_seen and base_seen.current_copies else 0
        wanted = base.copies
        if scaling is not None:
            # The autoscaler's count, as SageMaker reports it.
            seen_desired = base_seen.desired_copies if base_seen else None
            wanted = scaling.clamp(base.copies if seen_desired is None else seen_desired)
        copies: dict[str, int] | None = {"desired": wanted, "current": current}
        summary: str | None = copies_summary(current, wanted)
    else:
        copies, summary = None, None

    config = desired.endpoint_config
    if ep is not None:
        desired_instances = (
            ep.desired_instances
            if ep.desired_instances is not None
            else config.initial_instance_count
        )
        current_instances = ep.current_instances or 0
    else:
        desired_instances, current_instances = config.initial_instance_count, 0
    instances: dict[str, int] | None = {"desired": desired_instances, "current": current_instances}
    # What runs is what costs: 0 when scaled to zero; while creating, what will run.
    running = ep is not None and (bool(ep.current_instances) or ep.status == "InService")
    billed = current_instances if running else desired_instances
    cost = (
        format_usd(Decimal(str(hourly_usd_per_instance)) * billed)
        if hourly_usd_per_instance is not None
        else None
    )
    replicas: int | None = copies["current"] if copies is not None else current_instances
    serverless = serverless_status(config.create_request)
    if serverless is not None:
        # No instances to count or price: serverless capacity is billed per use.
        instances, replicas, cost = None, None, None
    autoscaling = _autoscaling(desired, observed, copies, instances or {})

    components = []
    adapters = []
    for want in desired.components:
        seen = observed.components.get(want.name)
        # Inside lists a None would be stored as is, not removed: leave it out.
        entry: dict[str, Any] = {"name": want.name}
        if seen is not None:
            entry["status"] = seen.status
        if want.copies is not None:
            entry["copies"] = {
                "desired": copies["desired"] if want is base and copies else want.copies,
                "current": (seen.current_copies or 0) if seen else 0,
            }
        components.append(entry)
        if want.adapter is not None:
            adapter = {"name": want.adapter, "componentName": want.name}
            if seen is not None:
                adapter["status"] = seen.status
            adapters.append(adapter)

    out: dict[str, Any] = {
        "phase": plan.phase,
        "observedGeneration": generation,
        "conditions": conditions,
        "endpointName": desired.endpoint_name,
        "endpointArn": ep.arn if ep else None,
        "endpointConfigName": ep.config_name if ep else config.name,
        "modelName": (
            base_seen.model_name if base_seen and base_seen.model_name else desired.model.name
        ),
        "inferenceComponents": components,
        "adapters": adapters,
        "sagemakerStatus": ep.status if ep else None,
        "copies": copies,
        "copiesSummary": summary,
        "instances": instances,
        "replicas": replicas,
        "selector": scale_selector(desired.owner.name),
        "autoscaling": autoscaling,
        "invocationUrl": naming.invocation_url(desired.region, desired.endpoint_name),
        "estimatedHourlyCostUSD": cost,
        "failureReason": plan.failure_reason,
        MEMORY_KEY: plan.memory.to_dict(),
    }
    if serverless is not None:
        if ep is not None and ep.serverless:
            serving = serverless_status(
                {"ProductionVariants": [{"ServerlessConfig": ep.serverless}]}
            )
            if serving is not None:
                serving.pop("billing")
                serverless["current"] = serving
        out["serverless"] = serverless
    asynchronous = async_status(config.create_request)
    if asynchronous is not None:
        out["async"] = asynchronous
    if former is not None:
        _name_former(out, desired, observed, former)
    if plan.rollout is not None:
        out["rollout"] = build_rollout(plan.rollout, (previous or {}).get("rollout"), now)
    return out


def async_status(config_request: Mapping[str, Any]) -> dict[str, Any] | None:
    """status.async for an endpoint config with an AsyncInferenceConfig; None without."""
    config = config_request.get("AsyncInferenceConfig")
    if not config:
        return None
    output = config.get("OutputConfig") or {}
    notification = output.get("NotificationConfig") or {}
    out = {
        "outputS3Uri": output.get("S3OutputPath"),
        "failureS3Uri": output.get("S3FailurePath"),
        "successTopicArn": notification.get("SuccessTopic"),
        "errorTopicArn": notification.get("ErrorTopic"),
        "maxConcurrentInvocationsPerInstance": (config.get("ClientConfig") or {}).get(
            "MaxConcurrentInvocationsPerInstance"
        ),
    }
    return {k: v for k, v in out.items() if v is not None}


SERVERLESS_BILLING = (
    "billed per use: compute time (by memory size) and data processed per invocation, plus "
    "provisioned concurrency per hour while configured; no hourly instance cost"
)


def serverless_status(config_request: Mapping[str, Any]) -> dict[str, Any] | None:
    """status.serverless for an endpoint config with a ServerlessConfig; None without."""
    variants = config_request.get("ProductionVariants") or [{}]
    sl = variants[0].get("ServerlessConfig")
    if not sl:
        return None
    out = {
        "memoryMiB": sl["MemorySizeInMB"],
        "maxConcurrency": sl["MaxConcurrency"],
        "billing": SERVERLESS_BILLING,
    }
    if "ProvisionedConcurrency" in sl:
        out["provisionedConcurrency"] = sl["ProvisionedConcurrency"]
    return out


def serverless_summary(config: Mapping[str, Any]) -> str | None:
    """An endpoint config's serverless capacity in a few words (plan, audit); None when
    its variant runs on instances."""
    found = serverless_status(config)
    if found is None:
        return None
    return f"serverless {found['memoryMiB']} MiB x {found['maxConcurrency']} (billed per use)"


def _name_former(
    out: dict[str, Any], desired: DesiredState, observed: ObservedState, ep: ObservedEndpoint
) -> None:
    """Moving onto a pool: status names what still serves, the former endpoint and its
    components, until the pool's serve (`invoke` switches then)."""
    components: list[dict[str, Any]] = []
    adapters: list[dict[str, Any]] = []
    for c in hosted.former_components(desired, observed):
        if c.endpoint_name != ep.name:
            continue
        entry: dict[str, Any] = {"name": c.name, "status": c.status}
        if c.base_component is None:
            entry["copies"] = {
                "desired": c.desired_copies or 0,
                "current": c.current_copies or 0,
            }
        components.append(entry)
        if c.base_component is not None and naming.ADAPTER_SEPARATOR in c.name:
            adapters.append(
                {
                    # Adapter names have no "--": the last one leads the adapter's.
                    "name": c.name.rpartition(naming.ADAPTER_SEPARATOR)[2],
                    "componentName": c.name,
                    "status": c.status,
                }
            )
    scaling = out.get("autoscaling")
    target = observed.scaling.former_target
    base = next(
        (
            c
            for c in hosted.former_components(desired, observed)
            if c.endpoint_name == ep.name and c.base_component is None
        ),
        None,
    )
    if isinstance(scaling, dict) and target is not None and target.owner_uid == desired.owner.uid:
        # What autoscales while the former serves: its target and its base's copies.
        scaling.update(minReplicas=target.min_capacity, maxReplicas=target.max_capacity)
        if base is not None:
            scaling.update(
                desiredReplicas=base.desired_copies or 0, currentReplicas=base.current_copies or 0
            )
    out.update(
        endpointName=ep.name,
        endpointArn=ep.arn,
        endpointConfigName=ep.config_name,
        sagemakerStatus=ep.status,
        inferenceComponents=components,
        adapters=adapters,
        invocationUrl=naming.invocation_url(desired.region, ep.name),
    )


def scale_selector(name: str) -> str:
    """status.selector, the scale subresource's label selector.

    No pod serves an LLMEndpoint, so nothing can match; an HPA still refuses a scale
    target without a selector. The ownership tag's key and this LLMEndpoint's name say
    whose replicas they are (names are at most 36 characters, a valid label value).
    """
    return f"{NAME_TAG}={name}"


def _autoscaling(
    desired: DesiredState,
    observed: ObservedState,
    copies: Mapping[str, int] | None,
    instances: Mapping[str, int],
) -> dict[str, Any] | None:
    scaling = desired.scaling
    if scaling is None:
        return None
    counts = copies if copies is not None else instances
    # The range the autoscaler obeys is the registered target's, which differs from
    # the spec's when someone changed it by hand (until the operator puts it back).
    target = observed.scaling.target
    if target is None or target.owner_uid != desired.owner.uid:
        target = None
    entry: dict[str, Any] = {
        "minReplicas": target.min_capacity if target is not None else None,
        "maxReplicas": target.max_capacity if target is not None else None,
        "desiredReplicas": counts["desired"],
        "currentReplicas": counts["current"],
        "scaledToZero": copies is not None and copies["desired"] == 0 and copies["current"] == 0,
    }
    if desired.endpoint_type == "Async":  # its instances are what scales to zero
        entry["scaledToZero"] = instances.get("desired") == 0 and instances.get("current") == 0
    activity = observed.scaling.last_activity
    if activity is not None:
        last: dict[str, Any] = {"description": activity.description, "status": activity.status}
        if activity.start_time:
            last["startTime"] = activity.start_time
        entry["lastScalingActivity"] = last
    return entry


def build_problem_status(
    *,
    reason: str,
    message: str,
    generation: int,
    previous: Mapping[str, Any] | None,
    now: datetime,
    deleting: bool = False,
) -> dict[str, Any]:
    """The status patch for a pass that could not plan: a spec the operator refuses
    (what slipped past the CRD), SageMaker unreachable, a crash.

    Only phase, conditions and failureReason change; what SageMaker runs is
    still described by the rest of the previous status. The phase stays
    Deleting while the LLMEndpoint is being deleted, else it is Failed.
    """
    phase: Phase = "Deleting" if deleting else "Failed"
    previous_conditions = (previous or {}).get("conditions")
    conditions = build_conditions(
        Plan(
            actions=(),
            phase=phase,
            settled=True,
            done_deleting=False,
            failure_reason=message,
            ready=ConditionInput(False, reason, message),
            progressing=ConditionInput(False, "Blocked", "Waiting for a fix"),
            degraded=ConditionInput(True, reason, message),
            events=(),
            memory=PlanMemory(),
        ),
        generation=generation,
        previous=previous_conditions if isinstance(previous_conditions, list) else None,
        now=now,
    )
    return {
        "phase": phase,
        "observedGeneration": generation,
        "conditions": conditions,
        "failureReason": message,
    }


UNREACHABLE = "AwsUnreachable"


def build_unreachable_status(
    *,
    message: str,
    last_contact: datetime | None,
    generation: int,
    previous: Mapping[str, Any] | None,
    now: datetime,
    deleting: bool = False,
) -> dict[str, Any]:
    """The status patch for a pass that got no answer from AWS (timeouts, connections
    refused, DNS failing): nothing is known about SageMaker beyond the last status.

    The operator has seen this generation (observedGeneration moves) and is working on
    it: Progressing True, reason AwsUnreachable, with `message`. Ready and a True
    Degraded known for this very generation are left as they were (an endpoint that
    served still serves: only the control plane is out of reach); for a generation
    not applied yet (a spec change, a new object) they are Unknown. The phase is the
    last known one (Pending for a new object). status.aws.lastContactTime says when AWS
    last answered (unset: not since the operator started).
    """
    before = {
        c.get("type"): c
        for c in (previous or {}).get("conditions") or ()
        if isinstance(c, Mapping) and c.get("type")
    }

    def condition(kind: str, status: str, text: str) -> dict[str, Any]:
        old = before.get(kind)
        kept = old.get("lastTransitionTime") if old and old.get("status") == status else None
        return {
            "type": kind,
            "status": status,
            "reason": UNREACHABLE,
            "message": text,
            "lastTransitionTime": kept if isinstance(kept, str) else _timestamp(now),
            "observedGeneration": generation,
        }

    def known(kind: str) -> Mapping[str, Any] | None:
        old = before.get(kind)
        return old if old is not None and old.get("observedGeneration") == generation else None

    ready = known("Ready")
    degraded = known("Degraded")
    conditions = [
        dict(ready) if ready is not None else condition("Ready", "Unknown", message),
        condition("Progressing", "True", message),
        (
            dict(degraded)
            if degraded is not None and degraded.get("status") == "True"
            else condition("Degraded", "Unknown", "Not known while AWS does not answer")
        ),
    ]
    phase = (previous or {}).get("phase")
    return {
        "phase": "Deleting" if deleting else (phase if isinstance(phase, str) else "Pending"),
        "observedGeneration": generation,
        "conditions": conditions,
        "aws": {"lastContactTime": _timestamp(last_contact) if last_contact else None},
    }
