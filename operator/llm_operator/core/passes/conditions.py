"""What a pass tells the user: its phase, the Ready, Progressing and Degraded
conditions and one Warning per problem; decided here for every kind of pass
(converging, deleting, retaining)."""

from __future__ import annotations

from llm_operator.api.models import Phase
from llm_operator.core.actions import Effect
from llm_operator.core.compare import (
    COMPONENT_TRANSITIONING,
    ENDPOINT_TRANSITIONING,
    component_ready,
)
from llm_operator.core.kinds import Kind
from llm_operator.core.memory import PlanMemory
from llm_operator.core.passes import hosted
from llm_operator.core.passes.rollouts import ROLLED_BACK
from llm_operator.core.passes.scaling import scaled
from llm_operator.core.passes.state import Pass
from llm_operator.core.plan import (
    ConditionInput,
    Plan,
    PlanEvent,
    degraded_condition,
    failure_reason,
)

# Endpoint states in which the previous version still takes the traffic.
SERVING = frozenset({"InService", "Updating", "RollingBack", "SystemUpdating"})
_DELETING = ConditionInput(False, "Deleting", "The LLMEndpoint is being deleted")


def converging(p: Pass, memory: PlanMemory) -> Plan:
    """The plan of a pass towards the spec, with `memory` to keep once it succeeded."""
    desired = p.desired
    ready = _ready(p)
    moving = bool(p.actions) or _transitioning(p)
    rollout = p.rollout
    # During a guarded rollout and after its rollback the previous version serves.
    on_previous = (
        not ready
        and rollout is not None
        and rollout.phase in ("InProgress", "Baking", ROLLED_BACK)
        and _serving(p)
    )
    rolled_back_only = bool(p.problems) and all(x.reason == ROLLED_BACK for x in p.problems)
    # The registry has nothing better than what serves: Degraded, serving on.
    notices = {reason for reason, _ in desired.notices}
    serving_on = ready and bool(p.problems) and all(x.reason in notices for x in p.problems)
    # Moving onto a pool: the former endpoint serves until the pool's components do.
    former = None if ready or p.problems else hosted.serving_former(desired, p.observed)
    # On a pool whose endpoint is updating (a change of its instance type rolls out, say):
    # the model's components keep serving, and nothing of its own is amiss.
    pool_updating = not ready and not p.problems and _pool_updating(p)
    phase = _phase(
        p,
        ready=ready or former is not None or pool_updating,
        previous_only=(on_previous and rolled_back_only) or serving_on,
    )

    reason = failure_reason(p.problems)
    if ready and _async_at_zero(p):
        ready_condition = ConditionInput(
            True,
            "ScaledToZero",
            f"Asynchronous endpoint {desired.endpoint_name} is scaled to zero instances while "
            "its queue is empty; a new request waits in the queue until an instance is back",
        )
    elif ready and _scaled_to_zero(p):
        ready_condition = ConditionInput(
            True,
            "ScaledToZero",
            f"Endpoint {desired.endpoint_name} is scaled to zero copies while idle; the next "
            "invocation fails once and brings a copy back",
        )
    elif ready:
        ready_condition = ConditionInput(
            True, "InService", f"Endpoint {desired.endpoint_name} is serving the desired spec"
        )
    elif pool_updating:
        host = desired.host
        assert host is not None
        ready_condition = ConditionInput(
            True,
            "PoolUpdating",
            f"Endpoint {desired.endpoint_name} of LLMEndpointPool {host.namespace}/{host.name} "
            "is updating; the model's inference components keep serving",
        )
    elif former is not None:
        ready_condition = ConditionInput(
            True,
            "MovingToPool",
            f"Endpoint {former.name} serves while the model moves onto endpoint "
            f"{desired.endpoint_name} of its pool",
        )
    elif on_previous and rollout is not None:
        if rollout.phase == ROLLED_BACK:
            ready_condition = ConditionInput(
                True,
                ROLLED_BACK,
                f"Endpoint {desired.endpoint_name} serves the previous version; generation "
                f"{rollout.generation} was rolled back",
            )
        else:
            ready_condition = ConditionInput(
                True,
                "RollingOut",
                f"Endpoint {desired.endpoint_name} serves the previous version while "
                f"generation {rollout.generation} rolls out",
            )
    elif p.problems:
        ready_condition = ConditionInput(False, p.problems[0].reason, reason or "")
    else:
        ready_condition = ConditionInput(False, phase, progress_message(p))
    return Plan(
        actions=tuple(p.actions),
        phase=phase,
        settled=not moving,
        done_deleting=False,
        failure_reason=reason,
        ready=ready_condition,
        progressing=_progressing(p, phase, moving=moving),
        degraded=degraded_condition(p.problems),
        events=tuple(p.events),
        memory=memory,
        rollout=rollout,
    )


def _phase(p: Pass, *, ready: bool, previous_only: bool) -> Phase:
    """`previous_only`: the only problems are rollbacks, and the previous version serves."""
    ep = p.observed.endpoint
    if p.problems and not previous_only:
        return "Failed"
    if ready or previous_only:
        return "InService"
    if ep is None:
        creating = any(a.kind is Kind.ENDPOINT and a.effect is Effect.CREATE for a in p.actions)
        return "Creating" if creating else "Pending"
    if ep.status in ("Creating", "Failed") or _first_deployment(p):
        return "Creating"
    return "Updating"


def _progressing(p: Pass, phase: Phase, *, moving: bool) -> ConditionInput:
    rollout = p.rollout
    if moving and rollout is not None and rollout.phase in ("InProgress", "Baking"):
        step = f" [{rollout.step}]" if rollout.step else ""
        queued = (
            f"; generation {rollout.pending_generation} waits for it to end"
            if rollout.pending_generation is not None
            else ""
        )
        return ConditionInput(
            True,
            "RollingOut",
            f"Generation {rollout.generation}{step}: {rollout.message}{queued}",
        )
    if moving:
        moving_reason = "Reconciling" if phase in ("InService", "Failed") else phase
        return ConditionInput(True, moving_reason, progress_message(p))
    if p.problems:
        return ConditionInput(False, "Blocked", "Waiting for the spec to change")
    return ConditionInput(False, "Settled", "Nothing left to do")


def deleting(p: Pass, *, done: bool, memory: PlanMemory) -> Plan:
    """The plan of a deletion pass; `done`: nothing of ours is left."""
    message = progress_message(p) if not done else "All SageMaker resources deleted"
    return Plan(
        actions=tuple(p.actions),
        phase="Deleting",
        settled=done,
        done_deleting=done,
        failure_reason=failure_reason(p.problems),
        ready=_DELETING,
        progressing=ConditionInput(not done, "Deleting", message),
        degraded=degraded_condition(p.problems),
        events=tuple(p.events),
        memory=memory,
    )


def retained(p: Pass, message: str) -> Plan:
    """The plan of deletionPolicy Retain: done once its tagging calls succeed."""
    return Plan(
        actions=tuple(p.actions),
        phase="Deleting",
        settled=True,
        done_deleting=True,
        failure_reason=None,
        ready=_DELETING,
        progressing=ConditionInput(False, "Retained", message),
        degraded=ConditionInput(False, "AsExpected", "No failures"),
        events=(PlanEvent("Normal", "Retained", message),),
        memory=p.memory,
    )


def warning_events(p: Pass) -> tuple[str, ...]:
    """Emit one Warning per problem not reported yet; return the keys now active."""
    active: list[str] = []
    for problem in p.problems:
        if problem.event_key in active:
            continue
        active.append(problem.event_key)
        if problem.event_key not in p.memory.reported:
            p.events.append(PlanEvent("Warning", problem.reason, problem.message))
    return tuple(active)


def progress_message(p: Pass) -> str:
    parts: list[str] = []
    if p.actions:
        parts.append("Calling " + ", ".join(a.key.replace("/", " ") for a in p.actions))
    if p.waiting:
        parts.append("waiting for " + "; ".join(p.waiting))
    if not parts:
        return "Waiting for SageMaker"
    text = "; ".join(parts)
    return text[0].upper() + text[1:]


def _transitioning(p: Pass) -> bool:
    ep = p.observed.endpoint
    if ep is not None and ep.status in ENDPOINT_TRANSITIONING:
        return True
    for c in p.observed.components.values():
        if p.foreign(c.owner_uid):
            continue
        if c.status in COMPONENT_TRANSITIONING:
            return True
        if (
            c.status == "InService"
            and c.desired_copies is not None
            and c.current_copies != c.desired_copies
        ):
            return True
    return False


def _ready(p: Pass) -> bool:
    """Serving the spec; the copy count to hold (spec.autoscaling) counts as desired."""
    desired, observed = p.desired, p.observed
    ep = observed.endpoint
    if ep is None or ep.status != "InService" or not p.serves_config(ep):
        return False
    if not p.endpoint_ours(ep):
        return False
    for want in desired.components:
        have = observed.components.get(want.name)
        if have is None or have.owner_uid != desired.owner.uid or have.endpoint_name != ep.name:
            return False
        if not component_ready(scaled(p, want), have):
            return False
    return True


def _pool_updating(p: Pass) -> bool:
    """On a pool whose endpoint is updating, with every component ready on it."""
    desired, observed = p.desired, p.observed
    ep = observed.endpoint
    if desired.host is None or ep is None or ep.status not in SERVING - {"InService"}:
        return False
    if not p.endpoint_ours(ep) or not desired.components:
        return False
    for want in desired.components:
        have = observed.components.get(want.name)
        if have is None or have.owner_uid != desired.owner.uid or have.endpoint_name != ep.name:
            return False
        if not component_ready(scaled(p, want), have):
            return False
    return True


def _serving(p: Pass) -> bool:
    """The endpoint (and its base component) still take traffic on some version of ours."""
    desired, observed = p.desired, p.observed
    ep = observed.endpoint
    if ep is None or ep.status not in SERVING or not p.endpoint_ours(ep):
        return False
    if desired.components:
        base = observed.components.get(desired.components[0].name)
        if base is None or base.owner_uid != desired.owner.uid:
            return False
        if base.status not in ("InService", "Updating") or not base.current_copies:
            return desired.components[0].copies == 0 and base.status == "InService"
    return True


def _first_deployment(p: Pass) -> bool:
    """The base component has never come up: still part of creating the endpoint."""
    if not p.desired.components:
        return False
    base = p.observed.components.get(p.desired.components[0].name)
    return base is None or base.status == "Creating"


def _scaled_to_zero(p: Pass) -> bool:
    if p.desired.scaling is None or not p.desired.components:
        return False
    base = p.observed.components.get(p.desired.components[0].name)
    return base is not None and base.desired_copies == 0 and not base.current_copies


def _async_at_zero(p: Pass) -> bool:
    """An Async endpoint whose autoscaler took its instances to zero."""
    ep = p.observed.endpoint
    return (
        p.desired.endpoint_type == "Async"
        and p.desired.scaling is not None
        and ep is not None
        and ep.desired_instances == 0
        and not ep.current_instances
    )
