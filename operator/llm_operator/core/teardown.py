"""Deleting an LLMEndpoint: its own resources in dependency order, or none (Retain,
which tags what it keeps instead). What an adoption took over is deleted only once
that adoption completed; before, it is given back untagged (`core.adoption`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from llm_operator.core import adoption
from llm_operator.core.actions import (
    Action,
    DeleteAlarm,
    DeleteEndpoint,
    DeleteEndpointConfig,
    DeleteInferenceComponent,
    DeleteModel,
    RemoveTags,
    TagAlarm,
    TagEndpoint,
    TagEndpointConfig,
    TagInferenceComponent,
    TagModel,
    TagScalableTarget,
    UntagEndpoint,
    UntagEndpointConfig,
    UntagInferenceComponent,
    UntagModel,
)
from llm_operator.core.compare import COMPONENT_DELETABLE, ENDPOINT_DELETABLE
from llm_operator.core.desired import (
    CLUSTER_ID_TAG,
    MANAGED_BY,
    MANAGED_BY_TAG,
    RETAINED_TAG,
    DesiredState,
)
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import (
    ObservedComponent,
    ObservedEndpoint,
    ObservedResource,
    ObservedState,
)
from llm_operator.core.passes import conditions, hosted, scaling
from llm_operator.core.passes.state import Pass
from llm_operator.core.plan import Plan


def _owned(p: Pass, resources: Iterable[ObservedResource]) -> list[ObservedResource]:
    return [r for r in resources if not p.foreign(r.owner_uid)]


def _unscale(p: Pass) -> bool:
    """Queue the deletion of our alarm, policies and target; True when any is left.

    They go before the component: SageMaker refuses some deletes while a
    scalable target exists. Someone else's are left alone and reported.
    """
    seen = p.observed.scaling
    left = False
    alarm = seen.alarm
    if alarm is not None:
        if p.foreign(alarm.owner_uid):
            p.conflict("CloudWatch alarm", alarm.name, alarm)
        else:
            p.actions.append(DeleteAlarm(name=alarm.name, owner_uid=p.desired.owner.uid))
            left = True
    # Deleted mid-move onto a pool: the former base component's target too.
    left = scaling.deregister_former(p) or left
    target = seen.target
    if target is None:
        return left
    if p.foreign(target.owner_uid):
        p.conflict("Application Auto Scaling scalable target", target.resource_id, target)
        return left
    scaling.deregister(p, target)
    return True


def _give_back(p: Pass, held: frozenset[str]) -> tuple[list[Action], ObservedEndpoint | None]:
    """Untagging what an unfinished adoption took over, and its endpoint (to keep).

    The untagged resources are as they were before the adoption: a new
    LLMEndpoint may adopt them again, and `audit` does not take them for orphans.
    """
    uid = p.desired.owner.uid
    keys = adoption.OWNERSHIP_KEYS
    found: list[
        tuple[type[RemoveTags], ObservedEndpoint | ObservedComponent | ObservedResource]
    ] = []
    kept = p.observed.endpoint
    if kept is not None and kept.name not in held:
        kept = None
    found += [(UntagModel, r) for n, r in sorted(p.observed.models.items()) if n in held]
    found += [
        (UntagEndpointConfig, r)
        for n, r in sorted(p.observed.endpoint_configs.items())
        if n in held
    ]
    found += [
        (UntagInferenceComponent, c) for n, c in sorted(p.observed.components.items()) if n in held
    ]
    if kept is not None:
        found.append((UntagEndpoint, kept))  # last, as the adoption tagged it last
    untag: list[Action] = []
    for cls, r in found:
        if r.owner_uid == uid and r.arn:
            untag.append(cls(name=r.name, arn=r.arn, keys=keys, owner_uid=uid))
    return untag, kept


def delete(desired: DesiredState, observed: ObservedState, memory: PlanMemory) -> Plan:
    p = Pass(desired, observed, memory)
    held = adoption.held(desired.adopted, observed, desired.owner.uid)
    giving_back, kept = _give_back(p, held)
    # An unfinished adoption's endpoint on the move may yet serve our config (and so
    # become ours to delete): nothing is decided, nothing of ours deleted, until it settles.
    moving = kept is not None and kept.status not in ENDPOINT_DELETABLE
    if moving:
        assert kept is not None
        p.waiting.append(f"adopted endpoint {kept.name} to leave {kept.status}")
        giving_back = []
    scaling_left = _unscale(p)
    ep = None if kept is not None else observed.endpoint
    if desired.host is not None:
        # Never the pool's endpoint; the one it had before it moved onto the pool, if
        # that move did not finish.
        ep = hosted.former(desired, observed)
    if ep is not None and p.foreign(ep.owner_uid):
        p.conflict("endpoint", ep.name, ep)
        ep = None  # not ours: neither it nor its components are touched
    everything = [c for c in observed.components.values() if c.name not in held]
    for c in everything:
        if p.foreign(c.owner_uid):
            p.conflict("inference component", c.name, c)
    # What stands on our endpoint must go before it; a component of ours elsewhere
    # goes too, while someone else's anywhere is left alone.
    components = [c for c in everything if ep is not None and c.endpoint_name == ep.name]
    ours = [c for c in everything if not p.foreign(c.owner_uid)]

    # Adapters first, then bases nothing depends on any more, then the endpoint.
    for c in sorted(ours, key=lambda c: (c.base_component is None, c.name)):
        if any(other.base_component == c.name for other in everything):
            p.waiting.append(f"adapters of inference component {c.name} to be deleted")
        elif c.status in COMPONENT_DELETABLE:
            p.actions.append(DeleteInferenceComponent(name=c.name))
        else:
            p.waiting.append(f"inference component {c.name} to leave {c.status}")
    if ep is not None:
        if components:
            p.waiting.append(f"inference components on endpoint {ep.name} to be deleted")
        elif ep.status in ENDPOINT_DELETABLE:
            p.actions.append(DeleteEndpoint(name=ep.name))
        else:
            p.waiting.append(f"endpoint {ep.name} to leave {ep.status}")
    configs = [r for r in _owned(p, observed.endpoint_configs.values()) if r.name not in held]
    models = [r for r in _owned(p, observed.models.values()) if r.name not in held]
    # On a kept endpoint our own components may still run our model: they go first.
    # On a pool our components may still run our model: they go first.
    if ep is None and not moving and not ((kept is not None or desired.host) and ours):
        for config in sorted(configs, key=lambda r: r.name):
            p.actions.append(DeleteEndpointConfig(name=config.name))
        for model in sorted(models, key=lambda r: r.name):
            p.actions.append(DeleteModel(name=model.name))
    for kind, mapping in (
        ("endpoint config", observed.endpoint_configs),
        ("model", observed.models),
    ):
        for r in mapping.values():
            if p.foreign(r.owner_uid) and r.name not in held:
                p.conflict(kind, r.name, r)
    p.actions.extend(giving_back)

    # The rollback alarms watch the endpoint; they go with it (someone else's stay).
    alarms = sorted(n for n, a in observed.alarms.items() if not p.foreign(a.owner_uid))
    for name in alarms:
        p.actions.append(DeleteAlarm(name=name, owner_uid=desired.owner.uid))

    done = (
        ep is None
        and not ours
        and not configs
        and not models
        and not alarms
        and not scaling_left
        and not giving_back
        and not moving
    )
    reported = conditions.warning_events(p)
    return conditions.deleting(
        p,
        done=done,
        memory=replace(memory, reported=reported, alarms=tuple(alarms), autoscaled=scaling_left),
    )


def retention_tags(desired: DesiredState) -> dict[str, str]:
    """What Retain adds to each resource it keeps: the time of deletion, the cluster
    that kept it (so `audit` attributes it, even if it was made before the cluster id
    existed), and the managed-by tag the IAM policy requires on every tagging request."""
    tags = {MANAGED_BY_TAG: MANAGED_BY, RETAINED_TAG: desired.deleted_at or "true"}
    if desired.owner.cluster_id:
        tags[CLUSTER_ID_TAG] = desired.owner.cluster_id
    return tags


def retain(desired: DesiredState, observed: ObservedState, memory: PlanMemory) -> Plan:
    """Keeps every resource of ours, tagging each `llmoperator.io/retained` first.

    The tag outlives the `Retained` Event, so `llm-operator audit` never takes a kept
    resource for an orphan. Done once this pass's tagging calls succeed: the finalizer
    stays until then, and tagging again after a crash changes nothing.
    """
    p = Pass(desired, observed, memory)
    uid = desired.owner.uid
    tags = retention_tags(desired)
    kept: list[str] = []
    ep = observed.endpoint
    if ep is not None and not p.foreign(ep.owner_uid):
        kept.append(f"endpoint {ep.name}")
        p.actions.append(TagEndpoint(name=ep.name, arn=ep.arn, tags=tags, owner_uid=uid))
    comps = sorted(
        (c for c in observed.components.values() if not p.foreign(c.owner_uid)),
        key=lambda c: c.name,
    )
    if comps:
        kept.append("inference components " + ", ".join(c.name for c in comps))
    for c in comps:
        p.actions.append(TagInferenceComponent(name=c.name, arn=c.arn, tags=tags, owner_uid=uid))
    configs = sorted(_owned(p, observed.endpoint_configs.values()), key=lambda r: r.name)
    if configs:
        kept.append("endpoint configs " + ", ".join(r.name for r in configs))
    for r in configs:
        p.actions.append(TagEndpointConfig(name=r.name, arn=r.arn, tags=tags, owner_uid=uid))
    models = sorted(_owned(p, observed.models.values()), key=lambda r: r.name)
    if models:
        kept.append("models " + ", ".join(r.name for r in models))
    for r in models:
        p.actions.append(TagModel(name=r.name, arn=r.arn, tags=tags, owner_uid=uid))
    # Autoscaling stays as it was: a retained endpoint scaled to zero without the alarm
    # and step policy that bring it back could never serve again.
    seen = observed.scaling
    target = seen.target
    if target is not None and not p.foreign(target.owner_uid):
        policies = sorted(set(seen.policies) & scaling.own_policy_names(desired))
        kept.append(
            f"Application Auto Scaling scalable target {target.resource_id}"
            + (" with scaling policies " + ", ".join(policies) if policies else "")
        )
        p.actions.append(
            TagScalableTarget(
                name=target.resource_id,
                arn=target.arn,
                dimension=target.dimension,
                tags=tags,
                owner_uid=uid,
            )
        )
    alarms = {n: a.arn for n, a in observed.alarms.items() if not p.foreign(a.owner_uid)}
    if seen.alarm is not None and not p.foreign(seen.alarm.owner_uid):
        alarms[seen.alarm.name] = seen.alarm.arn
    if alarms:
        kept.append("CloudWatch alarms " + ", ".join(sorted(alarms)))
    for name, arn in sorted(alarms.items()):
        p.actions.append(TagAlarm(name=name, arn=arn, tags=tags, owner_uid=uid))
    message = (
        "deletionPolicy Retain: kept " + "; ".join(kept)
        if kept
        else "deletionPolicy Retain: no SageMaker resources to keep"
    )
    return conditions.retained(p, message)
