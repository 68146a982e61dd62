"""The reconcile pass: from desired and observed state to the next calls.

It only asks for calls SageMaker accepts in the observed state (nothing is
changed while it is transitioning), so the shell can execute a plan blindly,
observe again and plan again until `Plan.settled`. The steps of a pass run in a
fixed order, written out in `reconcile()`; each concern is a module of
`core.passes`, and `core.passes.conditions` says where things stand.
"""

from __future__ import annotations

import dataclasses

from llm_operator.core import registry, retag
from llm_operator.core.actions import Action
from llm_operator.core.attribution import stamp
from llm_operator.core.desired import DesiredState
from llm_operator.core.memory import Failure, PlanMemory
from llm_operator.core.observed import ObservedState
from llm_operator.core.passes import (
    components,
    conditions,
    dependencies,
    endpoint,
    garbage,
    hosted,
    rollouts,
    scaling,
)
from llm_operator.core.passes.state import Pass
from llm_operator.core.plan import Plan, Problem


def reconcile(desired: DesiredState, observed: ObservedState, memory: PlanMemory) -> Plan:
    p = Pass(desired, observed, memory)
    # What the registry left wrong while the endpoint serves on (no approved version).
    p.problems += [
        Problem(reason, message, f"{reason}/{message}") for reason, message in desired.notices
    ]
    tags = memory.tags
    retags: list[Action] = []
    ep = observed.endpoint
    if ep is not None and not p.endpoint_ours(ep):
        p.conflict("endpoint", ep.name, ep)
    elif p.claimed():
        # Order matters: dependencies (and the rollback alarms a guarded update
        # names) before the endpoint's own changes; garbage last, and only when
        # this pass queued nothing else.
        rollouts.alarms(p)
        dependencies.restore_missing(p)
        if endpoint.converge(p):
            components.converge(p)
            if hosted.leave_former(p):
                # The former base's scalable target (its policies first) goes before
                # the components it scales: once the pool's serve, never before.
                scaling.deregister_former(p)
                components.remove_stale(p)
                hosted.delete_former(p)
            scaling.converge(p)
        if not p.actions:
            garbage.collect(p)
        rollouts.finished(p)
        # Resources made before the cluster id existed get it: after everything
        # else, so tagging never delays a change.
        p.actions += stamp(desired, observed)
        # Tags that changed since what exists was tagged follow, last for the same reason.
        retags = retag.converge(desired, observed, memory.tags)
        p.actions += retags
        tags = retag.effective(desired)
    rejected = _drop_rejected(p)
    if any(a not in p.actions for a in retags):
        tags = memory.tags  # held back: what exists still carries the recorded tags
    rollouts.start_refused(p)
    rollout_step = rollouts.events(p)
    reported = conditions.warning_events(p)
    wanted = {c.name for c in desired.components}
    new_memory = PlanMemory(
        endpoint_update=p.endpoint_update,
        failed_endpoint_update=p.failed_endpoint_update,
        component_updates={k: v for k, v in p.component_updates.items() if k in wanted},
        failed_component_updates={
            k: v for k, v in p.failed_component_updates.items() if k in wanted
        },
        rejected=rejected,
        reported=reported,
        rollout_step=rollout_step,
        rollout_generation=p.rollout_generation,
        update_issued_at=memory.update_issued_at,
        alarms=rollouts.alarm_names(p),
        autoscaled=desired.scaling is not None or scaling.left(p),
        tags=tags,
        moved_onto=p.moved_onto,
        package_rollbacks=_package_rollbacks(p, memory),
        package_served=memory.package_served,
    )
    plan = conditions.converging(p, new_memory)
    package = desired.package
    if package is not None and plan.ready.status and plan.ready.reason in SERVING_DESIRED:
        plan = dataclasses.replace(
            plan, memory=dataclasses.replace(new_memory, package_served=package.arn)
        )
    return plan


def _package_rollbacks(p: Pass, memory: PlanMemory) -> tuple[str, ...]:
    """A model package version whose rollout was rolled back is remembered, so the next
    pass chooses the version before it (`core.registry.choose`) until a newer one."""
    package = p.desired.package
    if package is None or not any(x.reason == rollouts.ROLLED_BACK for x in p.problems):
        return memory.package_rollbacks
    if package.arn == memory.package_served:
        return memory.package_rollbacks  # the version served; another change rolled back
    return registry.remember_rollback(memory.package_rollbacks, package.arn)


# Ready reasons that mean the desired state serves (`conditions.converging`).
SERVING_DESIRED = ("InService", "ScaledToZero")


def _drop_rejected(p: Pass) -> dict[str, Failure]:
    """Hold back requests SageMaker rejected as they are, and everything after them."""
    kept: dict[str, Failure] = {}
    for index, action in enumerate(p.actions):
        key = action.key
        rejection = p.memory.rejected.get(key)
        if rejection is None or rejection.fingerprint != action.fingerprint():
            continue
        kept[key] = rejection
        p.problems.append(
            Problem(
                "Rejected",
                f"SageMaker rejected {key.replace('/', ' ')}: {rejection.reason}",
                f"Rejected/{key}/{rejection.fingerprint}",
            )
        )
        del p.actions[index:]
        break
    return kept
