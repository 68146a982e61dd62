"""An LLMEndpoint placed on an LLMEndpointPool (spec.pool): the endpoint is the pool's.

Moved onto a pool from an endpoint of its own (`former`): that endpoint keeps
serving, and status keeps naming it, until the components on the pool are
InService; status then names the pool's endpoint, and only in a later pass (so
whoever read status before the switch is not sent to something deleted) are the
former components, then the former endpoint deleted (its config and models then
go as garbage).

The pool creates, scales and deletes the endpoint and its config; the LLMEndpoint
only waits for it to serve, then converges its own model, components and their
autoscaling on it. What other LLMEndpoints placed on the same endpoint is
outside its view (`view`): never a conflict, never touched.
"""

from __future__ import annotations

from dataclasses import replace

from llm_operator.core.actions import DeleteEndpoint
from llm_operator.core.compare import ENDPOINT_DELETABLE
from llm_operator.core.desired import DesiredState
from llm_operator.core.observed import ObservedComponent, ObservedEndpoint, ObservedState
from llm_operator.core.passes.state import Pass


def view(desired: DesiredState, observed: ObservedState) -> ObservedState:
    """What an LLMEndpoint on a pool sees: its wanted components (whoever holds the
    names, so a taken name is still a conflict) and those tagged as its own."""
    wanted = {c.name for c in desired.components}
    uid = desired.owner.uid
    return replace(
        observed,
        components={
            name: c
            for name, c in observed.components.items()
            if name in wanted or c.owner_uid == uid
        },
    )


def ready(p: Pass) -> bool:
    """True when the pool's endpoint serves, so components may be acted on now."""
    host = p.desired.host
    assert host is not None
    ep = p.observed.endpoint
    pool = f"LLMEndpointPool {host.namespace}/{host.name}"
    if ep is None:
        p.waiting.append(f"endpoint {p.desired.endpoint_name} of {pool} to be created")
        return False
    if ep.status != "InService":
        p.waiting.append(f"endpoint {ep.name} of {pool} to leave {ep.status}")
        return False
    return True


def former(desired: DesiredState, observed: ObservedState) -> ObservedEndpoint | None:
    """The LLMEndpoint's own endpoint from before it moved onto a pool, when ours."""
    ep = observed.former
    if desired.host is None or ep is None or ep.owner_uid != desired.owner.uid:
        return None
    return ep


def former_components(desired: DesiredState, observed: ObservedState) -> list[ObservedComponent]:
    """Our components off the pool's endpoint (base components first)."""
    return sorted(
        (
            c
            for c in observed.components.values()
            if c.owner_uid == desired.owner.uid and c.endpoint_name != desired.endpoint_name
        ),
        key=lambda c: (c.base_component is not None, c.name),
    )


def serving(desired: DesiredState, observed: ObservedState) -> bool:
    """Every wanted component is ours and InService on the pool's endpoint."""
    for want in desired.components:
        have = observed.components.get(want.name)
        if (
            have is None
            or have.owner_uid != desired.owner.uid
            or have.endpoint_name != desired.endpoint_name
            or have.status != "InService"
        ):
            return False
    return bool(desired.components)


def serving_former(desired: DesiredState, observed: ObservedState) -> ObservedEndpoint | None:
    """The former endpoint while it is what serves (the move is not over): status names it."""
    ep = former(desired, observed)
    if ep is None or ep.status != "InService" or serving(desired, observed):
        return None
    base = next(iter(former_components(desired, observed)), None)
    if base is None or base.endpoint_name != ep.name or base.status != "InService":
        return None
    return ep


def leave_former(p: Pass) -> bool:
    """True when what stands off the pool's endpoint may be deleted in this pass.

    Not before the pool's components serve, and not in the pass that saw them
    serve first: that one's status names the pool's endpoint (`moved_onto`).
    """
    if p.desired.host is None:
        return True
    if former(p.desired, p.observed) is None and not former_components(p.desired, p.observed):
        p.moved_onto = None
        return True
    if not serving(p.desired, p.observed):
        p.moved_onto = None
        ep = former(p.desired, p.observed)
        if ep is not None:
            p.waiting.append(
                f"inference components on {p.desired.endpoint_name} to serve before "
                f"endpoint {ep.name} is deleted"
            )
        return False
    if p.memory.moved_onto != p.desired.endpoint_name:
        p.moved_onto = p.desired.endpoint_name
        p.waiting.append(f"status to name endpoint {p.desired.endpoint_name}")
        return False
    ep = former(p.desired, p.observed)
    if ep is not None and not scaled_on_pool(p):
        p.waiting.append(
            f"autoscaling of the inference component on {p.desired.endpoint_name} before "
            f"endpoint {ep.name} is deleted"
        )
        return False
    return True


def scaled_on_pool(p: Pass) -> bool:
    """spec.autoscaling holds on the pool's component: its scalable target is ours, and
    the no-capacity alarm (scale to zero) fires the pool's from-zero policy. Until then
    the former endpoint, still autoscaled, stays."""
    want = p.desired.scaling
    if want is None:
        return True
    seen = p.observed.scaling
    target = seen.target
    if target is None or target.resource_id != want.resource_id or p.foreign(target.owner_uid):
        return False
    if want.from_zero is None:
        return True
    policy = seen.policies.get(want.from_zero.policy_name)
    alarm = seen.alarm
    return (
        policy is not None
        and alarm is not None
        and not p.foreign(alarm.owner_uid)
        and alarm.actions == (policy.arn,)
    )


def delete_former(p: Pass) -> None:
    """The former endpoint, once nothing of ours stands on it (its components go first,
    and the scalable target on its base component before them)."""
    ep = former(p.desired, p.observed)
    if ep is None:
        return
    if any(c.endpoint_name == ep.name for c in p.observed.components.values()):
        p.waiting.append(f"inference components on endpoint {ep.name} to be deleted")
    elif ep.status in ENDPOINT_DELETABLE:
        p.actions.append(DeleteEndpoint(name=ep.name))
    else:
        p.waiting.append(f"endpoint {ep.name} to leave {ep.status}")
