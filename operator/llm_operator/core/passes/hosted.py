"""An LLMEndpoint placed on an LLMEndpointPool (spec.pool): the endpoint is the pool's.

The pool creates, scales and deletes the endpoint and its config; the LLMEndpoint
only waits for it to serve, then converges its own model, components and their
autoscaling on it. What other LLMEndpoints placed on the same endpoint is
outside its view (`view`): never a conflict, never touched.
"""

from __future__ import annotations

from dataclasses import replace

from llm_operator.core.desired import DesiredState
from llm_operator.core.observed import ObservedState
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
