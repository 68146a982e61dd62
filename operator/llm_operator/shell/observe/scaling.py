"""Reads spec.autoscaling's scalable target, its scaling policies and alarm, and the
target's last scaling activity.

They come from the region's scaling inventory, accepted as old as a cached Describe
(the targets as old as `targets_max_age`). What this LLMEndpoint changed since, and
on a spec change its own target (unless the inventory is as fresh as the pass asks),
is asked for directly: two or three calls, so a change never waits behind the
region's pages. The last scaling activity is asked for only when the count it
explains changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from llm_operator.core import naming
from llm_operator.core.actions import SERVICE_NAMESPACE
from llm_operator.core.desired import DesiredState
from llm_operator.core.kinds import APPLICATION_AUTOSCALING, Kind
from llm_operator.core.observed import (
    ObservedComponent,
    ObservedEndpoint,
    ObservedPolicy,
    ObservedScaling,
    ObservedTarget,
    ScalingActivity,
)
from llm_operator.shell.aws import AwsError
from llm_operator.shell.observe.alarms import read_scaling_alarm, refresh_scaling_alarm
from llm_operator.shell.observe.cache import REGISTERED
from llm_operator.shell.observe.inventory import ScalingInventory
from llm_operator.shell.observe.reading import Reading


async def read_scaling(
    reading: Reading,
    desired: DesiredState,
    endpoint: ObservedEndpoint | None,
    components: Mapping[str, ObservedComponent],
    max_age: float,
) -> ObservedScaling:
    """What Application Auto Scaling and CloudWatch hold for `desired`'s autoscaling.

    `endpoint` and `components`, as just observed, say whether the count the last
    scaling activity explains changed; `max_age`: the oldest inventory the pass accepts.
    """
    cache, place = reading.cache, reading.place
    # A spec change takes the inventory as it is, even when a refresh is due, and
    # asks for what it needs directly. Otherwise the targets' bounds (what the
    # autoscaler obeys) are listed again each `targets_max_age` (a resync interval),
    # so bounds changed by hand are caught within one resync like SageMaker's drift;
    # policies and alarms once per `describe_max_age`. One paged List for the whole
    # region either way.
    taken = cache.scaling_held(place) if reading.full else None
    inventory = taken or await cache.scaling_inventory(
        place, cache.targets_max_age, cache.describe_max_age
    )
    candidates = _candidates(desired)
    former = _former_candidate(desired)
    recent = inventory.policies_at > cache.clock() - max_age
    # A new LLMEndpoint (nothing of it in SageMaker yet) has nothing to scale: the
    # inventory, at most a resync old, and the register's guard suffice.
    recent = recent or (endpoint is None and not components)
    await _refresh_targets(
        reading, inventory, desired, candidates + ([former] if former else []), recent
    )
    await refresh_scaling_alarm(reading, inventory, desired, recent)
    target = await _target(reading, inventory, candidates)
    policies = _policies(inventory, target)
    alarm = await read_scaling_alarm(reading, inventory, desired)
    activity = None
    if target is not None and target.owner_uid == reading.own.uid:
        activity = await _last_activity(reading, target, endpoint, components)
    # Moving onto a pool: the former base component's target is a second one, on
    # another component; it is read on its own, never taken for the pool's.
    former_target = await _target(reading, inventory, [former]) if former else None
    return ObservedScaling(
        target=target,
        policies=policies,
        alarm=alarm,
        last_activity=activity,
        former_target=former_target,
        former_policies=_policies(inventory, former_target),
    )


def _former_candidate(desired: DesiredState) -> str | None:
    """On a pool, the ResourceId of the standalone base component it may have moved from."""
    owner = desired.owner
    if desired.host is None:
        return None
    base = naming.base_component_name(owner.namespace, owner.name, owner.cluster)
    if desired.components and desired.components[0].name == base:
        return None  # placed under the standalone name: that target is the pool's
    return naming.component_resource_id(base)


def _candidates(desired: DesiredState) -> list[str]:
    """The ResourceIds the LLMEndpoint's target may have, the likeliest first.

    The base component's name is derived from the owner alone, so it is looked for
    even when the desired state has no components (a spec that no longer renders).
    """
    owner = desired.owner
    bases = (
        [desired.components[0].name]
        if desired.components
        else [
            naming.base_component_name(owner.namespace, owner.name, owner.cluster),
            naming.pooled_base_component_name(owner.namespace, owner.name, owner.cluster),
        ]
    )
    candidates = [
        *(naming.component_resource_id(base) for base in bases),
        naming.variant_resource_id(desired.endpoint_name, naming.variant_name()),
    ]
    if desired.scaling is not None:
        candidates.insert(0, desired.scaling.resource_id)
    return candidates


async def _refresh_targets(
    reading: Reading,
    inventory: ScalingInventory,
    desired: DesiredState,
    candidates: list[str],
    recent: bool,
) -> None:
    """Describes directly the targets (and their policies) we changed since the
    inventory, and on a spec change the likeliest one (and any listed) unless the
    inventory is `recent`; the answers replace the inventory's, so later passes need
    not ask again."""
    cache, place = reading.cache, reading.place
    ids = list(dict.fromkeys(candidates))
    # On a pool, a former target's policies are named after the endpoint it had.
    policy_names = tuple(
        dict.fromkeys(
            name
            for endpoint in (desired.endpoint_name, desired.alarms_named_after)
            for name in (
                naming.target_tracking_policy_name(endpoint),
                naming.from_zero_policy_name(endpoint),
            )
        )
    )

    def keys(resource_id: str) -> list[tuple[Kind, str]]:
        return [(Kind.SCALABLE_TARGET, resource_id)] + [
            (Kind.SCALING_POLICY, name) for name in policy_names
        ]

    direct = [
        resource_id
        for resource_id in ids
        if any(cache.stale(place, k, n, inventory) for k, n in keys(resource_id))
        or (
            reading.full
            and not recent
            and (resource_id == ids[0] or resource_id in inventory.targets)
        )
    ]
    if not direct:
        return
    found = await cache.sagemaker.call(
        place,
        "DescribeScalableTargets",
        {"ServiceNamespace": SERVICE_NAMESPACE, "ResourceIds": direct},
        lane=reading.lane,
        service=APPLICATION_AUTOSCALING,
    )
    listed = {str(t["ResourceId"]): t for t in found.get("ScalableTargets") or []}
    for resource_id in direct:
        inventory.targets.pop(resource_id, None)
        inventory.policies.pop(resource_id, None)
        if resource_id in listed:
            inventory.targets[resource_id] = listed[resource_id]
            # Policies live on a target (deregistering one deletes them).
            answer = await cache.sagemaker.call(
                place,
                "DescribeScalingPolicies",
                {"ServiceNamespace": SERVICE_NAMESPACE, "ResourceId": resource_id},
                lane=reading.lane,
                service=APPLICATION_AUTOSCALING,
            )
            inventory.policies[resource_id] = {
                str(p["PolicyName"]): p for p in answer.get("ScalingPolicies") or []
            }
        cache.seen(place, keys(resource_id))


async def _target(
    reading: Reading, inventory: ScalingInventory, candidates: list[str]
) -> ObservedTarget | None:
    """The first candidate ResourceId with a target, and who its tags name."""
    for resource_id in candidates:
        summary = inventory.targets.get(resource_id)
        if summary is None:
            continue
        who = await reading.owner(
            str(summary.get("ScalableTargetARN", "")),
            summary.get("CreationTime"),
            resource_id,
            service=APPLICATION_AUTOSCALING,
        )
        return ObservedTarget(
            resource_id=resource_id,
            dimension=str(summary.get("ScalableDimension", "")),
            min_capacity=int(summary.get("MinCapacity") or 0),
            max_capacity=int(summary.get("MaxCapacity") or 0),
            owner_uid=who.uid,
            owner_name=who.name,
            owner_cluster_id=who.cluster_id,
            arn=str(summary.get("ScalableTargetARN", "")),
        )
    return None


def _policies(
    inventory: ScalingInventory, target: ObservedTarget | None
) -> dict[str, ObservedPolicy]:
    """The scaling policies on `target`, by name (policies carry no tags)."""
    found: dict[str, ObservedPolicy] = {}
    if target is None:
        return found
    for name, policy in inventory.policies.get(target.resource_id, {}).items():
        kind = str(policy.get("PolicyType", ""))
        member = (
            "TargetTrackingScalingPolicyConfiguration"
            if kind == "TargetTrackingScaling"
            else "StepScalingPolicyConfiguration"
        )
        found[name] = ObservedPolicy(
            name=name,
            arn=str(policy.get("PolicyARN", "")),
            policy_type=kind,
            configuration=policy.get(member) or {},
        )
    return found


async def _last_activity(
    reading: Reading,
    target: ObservedTarget,
    endpoint: ObservedEndpoint | None,
    components: Mapping[str, ObservedComponent],
) -> ScalingActivity | None:
    """The newest scaling activity, asked for again only when the count changed."""
    cache, place = reading.cache, reading.place
    if target.resource_id.startswith("inference-component/"):
        seen = components.get(target.resource_id.split("/", 1)[1])
        counts: Any = (seen.desired_copies, seen.current_copies) if seen else None
    else:
        counts = (endpoint.desired_instances, endpoint.current_instances) if endpoint else None
    key = (place, target.resource_id)
    cached = cache.activities.get(key)
    if cached is not None and cached[0] == counts:
        return cached[1]
    if cached is not None and cached[0] is REGISTERED and counts and counts[0] == counts[1]:
        # Registered by this process with its copies where they were: nothing scaled it.
        cache.activities[key] = (counts, None)
        return None
    try:
        found = await cache.sagemaker.call(
            place,
            "DescribeScalingActivities",
            {
                "ServiceNamespace": SERVICE_NAMESPACE,
                "ResourceId": target.resource_id,
                "ScalableDimension": target.dimension,
                "MaxResults": 1,
            },
            lane=reading.lane,
            service=APPLICATION_AUTOSCALING,
        )
    except AwsError:
        return cached[1] if cached else None  # status detail only: never blocks a pass
    activities = found.get("ScalingActivities") or []
    activity = None
    if activities:
        newest = activities[0]
        activity = ScalingActivity(
            description=str(newest.get("Description", "")),
            status=str(newest.get("StatusCode", "")),
            start_time=_rfc3339(newest.get("StartTime")),
        )
    cache.activities[key] = (counts, activity)
    return activity


def _rfc3339(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return str(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return str(value)
