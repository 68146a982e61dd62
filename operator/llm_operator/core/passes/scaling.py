"""spec.autoscaling: the copy count to hold, Application Auto Scaling's target and
policies, and the CloudWatch alarm that brings a copy back from zero; or the
removal of ours once the spec drops it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from llm_operator.api.models import VARIANT_ENDPOINT_TYPES
from llm_operator.core import naming
from llm_operator.core.actions import (
    CreateAlarm,
    DeleteAlarm,
    DeleteScalingPolicy,
    DeregisterScalableTarget,
    PutScalingPolicy,
    RegisterScalableTarget,
    UpdateAlarm,
    UpdateEndpointWeightsAndCapacities,
)
from llm_operator.core.desired import DesiredComponent, DesiredState
from llm_operator.core.observed import ObservedTarget
from llm_operator.core.passes.dependencies import variant_name
from llm_operator.core.passes.state import Pass


def scaled(p: Pass, want: DesiredComponent) -> DesiredComponent:
    """`want` with the copy count to hold now.

    With spec.autoscaling, resources.copies is only the initial count: the
    autoscaler's count is kept inside [min, max] and clamped into it when the
    range changes; without, the fixed count.
    """
    scaling = p.desired.scaling
    if scaling is None or want.copies is None or want.base_component is not None:
        return want
    have = p.observed.components.get(want.name)
    now = have.desired_copies if have is not None else None
    if have is None and p.desired.host is not None:
        # Moving onto a pool: start from the count the former component was scaled
        # to (at least one copy, so the new one serves before the former goes).
        former = next(
            (
                c.desired_copies
                for c in p.observed.components.values()
                if c.owner_uid == p.desired.owner.uid
                and c.endpoint_name != p.desired.endpoint_name
                and c.base_component is None
                and c.desired_copies is not None
            ),
            None,
        )
        now = max(former, 1) if former is not None else None
    copies = scaling.clamp(want.copies if now is None else now)
    return want if copies == want.copies else replace(want, copies=copies)


def converge(p: Pass) -> None:
    """Converge spec.autoscaling's target, policies and alarm, or remove ours."""
    want = p.desired.scaling
    seen = p.observed.scaling
    target = seen.target
    if target is not None and p.foreign(target.owner_uid):
        if want is not None:
            p.conflict("Application Auto Scaling scalable target", target.resource_id, target)
        # Someone else's autoscaling of our component: never touched.
        return
    if want is None:
        _unscale(p)
        return
    if not _scalable(p):
        return
    _clamp_instances(p)
    if (
        target is None
        or target.dimension != want.dimension
        or (target.min_capacity, target.max_capacity) != (want.min_capacity, want.max_capacity)
    ):
        p.actions.append(
            RegisterScalableTarget(
                name=want.resource_id,
                dimension=want.dimension,
                min_capacity=want.min_capacity,
                max_capacity=want.max_capacity,
                tags=p.desired.tags,
            )
        )
    _put_policy(p, want.policy_name, "TargetTrackingScaling", want.target_tracking)
    zero = want.from_zero
    wanted = {want.policy_name} | ({zero.policy_name} if zero else set())
    for name in sorted(set(seen.policies) - wanted):
        if name in own_policy_names(p.desired):
            p.actions.append(
                DeleteScalingPolicy(
                    name=name,
                    resource_id=want.resource_id,
                    dimension=want.dimension,
                    owner_uid=p.desired.owner.uid,
                )
            )
    if zero is None:
        _delete_alarm(p)
        return
    _put_policy(p, zero.policy_name, "StepScaling", zero.step)
    policy = seen.policies.get(zero.policy_name)
    if policy is None:
        p.waiting.append(f"scaling policy {zero.policy_name} before its alarm")
        return
    alarm = seen.alarm
    if alarm is not None and p.foreign(alarm.owner_uid):
        p.conflict("CloudWatch alarm", alarm.name, alarm)
        return
    if alarm is not None and alarm.name != zero.alarm_name:
        # Ours under the name an earlier version gave it (on a pool: the pool's
        # endpoint's, which the models sharing it cannot all have): replaced.
        p.actions.append(DeleteAlarm(name=alarm.name, owner_uid=p.desired.owner.uid))
        alarm = None
    spec = {**zero.alarm, "AlarmActions": [policy.arn]}
    if alarm is None:
        p.actions.append(CreateAlarm(name=zero.alarm_name, spec=spec, tags=p.desired.tags))
    elif alarm.actions != (policy.arn,) or not settings_match(zero.alarm, alarm.settings):
        p.actions.append(UpdateAlarm(name=zero.alarm_name, spec=spec, tags=p.desired.tags))


def _scalable(p: Pass) -> bool:
    """The component (or variant) to scale exists, is ours and in service."""
    ep = p.observed.endpoint
    if ep is None or ep.status != "InService" or not p.endpoint_ours(ep):
        return False
    if p.desired.endpoint_type in VARIANT_ENDPOINT_TYPES:
        return ep.config_name == p.desired.endpoint_config.name
    base = p.desired.components[0]
    have = p.observed.components.get(base.name)
    return (
        have is not None
        and not p.foreign(have.owner_uid)
        and have.endpoint_name == ep.name
        and have.status == "InService"
    )


def own_policy_names(desired: DesiredState, endpoint: str | None = None) -> set[str]:
    """Policies carry no tags: ours are these names on a target whose tags are ours.

    `endpoint`: the endpoint they are named after (default: the one it runs on; a
    former target's, moving onto a pool, are named after the endpoint it had)."""
    endpoint = endpoint or desired.endpoint_name
    return {
        naming.target_tracking_policy_name(endpoint),
        naming.from_zero_policy_name(endpoint),
    }


def _put_policy(p: Pass, name: str, policy_type: str, configuration: Mapping[str, Any]) -> None:
    want = p.desired.scaling
    assert want is not None
    have = p.observed.scaling.policies.get(name)
    if (
        have is not None
        and have.policy_type == policy_type
        and settings_match(configuration, have.configuration)
    ):
        return
    p.actions.append(
        PutScalingPolicy(
            name=name,
            resource_id=want.resource_id,
            dimension=want.dimension,
            policy_type=policy_type,
            configuration=configuration,
            owner_uid=p.desired.owner.uid,
        )
    )


def _delete_alarm(p: Pass) -> None:
    alarm = p.observed.scaling.alarm
    if alarm is not None and not p.foreign(alarm.owner_uid):
        p.actions.append(DeleteAlarm(name=alarm.name, owner_uid=p.desired.owner.uid))


def deregister(p: Pass, target: ObservedTarget) -> None:
    """Delete our policies on our `target`, then the target itself."""
    _deregister(p, target, p.observed.scaling.policies, own_policy_names(p.desired))


def deregister_former(p: Pass) -> bool:
    """Moving onto a pool: delete our policies on the former base component's target,
    then that target, when its tags name this LLMEndpoint; True when one was queued.
    Someone else's is never touched (nor is the component it scales ours to keep)."""
    target = p.observed.scaling.former_target
    if target is None or p.foreign(target.owner_uid):
        return False
    names = own_policy_names(p.desired, p.desired.alarms_named_after)
    _deregister(p, target, p.observed.scaling.former_policies, names)
    return True


def _deregister(
    p: Pass, target: ObservedTarget, policies: Mapping[str, object], names: set[str]
) -> None:
    for name in sorted(set(policies) & names):
        p.actions.append(
            DeleteScalingPolicy(
                name=name,
                resource_id=target.resource_id,
                dimension=target.dimension,
                owner_uid=p.desired.owner.uid,
            )
        )
    p.actions.append(
        DeregisterScalableTarget(
            name=target.resource_id,
            dimension=target.dimension,
            owner_uid=p.desired.owner.uid,
        )
    )


def _unscale(p: Pass) -> None:
    """Remove our alarm, policies and target: alarm first, target last."""
    _delete_alarm(p)
    target = p.observed.scaling.target
    if target is None:
        return
    deregister(p, target)
    # Back to the fixed count: components follow resources.copies on their own;
    # a variant's instance count is set here, while the target still says it was ours.
    ep = p.observed.endpoint
    fixed = p.desired.endpoint_config.initial_instance_count
    if (
        p.desired.endpoint_type in VARIANT_ENDPOINT_TYPES
        and ep is not None
        and ep.status == "InService"
        and not p.foreign(ep.owner_uid)
        and ep.desired_instances is not None
        and ep.desired_instances != fixed
    ):
        p.actions.append(
            UpdateEndpointWeightsAndCapacities(
                name=ep.name, variant_name=variant_name(p.desired), instances=fixed
            )
        )


def _clamp_instances(p: Pass) -> None:
    """A variant's instance count outside a changed range goes to the nearest bound."""
    want = p.desired.scaling
    ep = p.observed.endpoint
    if want is None or ep is None or p.desired.endpoint_type not in VARIANT_ENDPOINT_TYPES:
        return
    if ep.desired_instances is None:
        return
    clamped = want.clamp(ep.desired_instances)
    if clamped != ep.desired_instances:
        p.actions.append(
            UpdateEndpointWeightsAndCapacities(
                name=ep.name, variant_name=variant_name(p.desired), instances=clamped
            )
        )


def left(p: Pass) -> bool:
    """Something of ours in Application Auto Scaling or CloudWatch still to remove."""
    seen = p.observed.scaling
    return any(
        found is not None and not p.foreign(found.owner_uid)
        for found in (seen.target, seen.alarm, seen.former_target)
    )


def settings_match(want: Any, have: Any) -> bool:
    """Whether `have` holds everything `want` sets (AWS describes more than we send)."""
    if isinstance(want, Mapping):
        return isinstance(have, Mapping) and all(
            k in have and settings_match(v, have[k]) for k, v in want.items()
        )
    if isinstance(want, list | tuple):
        return (
            isinstance(have, list | tuple)
            and len(want) == len(have)
            and all(settings_match(w, h) for w, h in zip(want, have, strict=True))
        )
    if isinstance(want, bool) or isinstance(have, bool):
        return bool(want == have)
    if isinstance(want, int | float) and isinstance(have, int | float):
        return float(want) == float(have)
    return bool(want == have)
