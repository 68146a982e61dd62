"""Guarded rollouts (spec.rollout) within a pass: the operator's rollback alarms,
whether an update it remembers arrived or was rolled back, the rollout's report for
status and its Events."""

from __future__ import annotations

import dataclasses
from typing import Any

from llm_operator.core.actions import CreateAlarm, DeleteAlarm, UpdateAlarm
from llm_operator.core.compare import component_fingerprint, spec_matches
from llm_operator.core.desired import DesiredComponent
from llm_operator.core.memory import Failure
from llm_operator.core.passes.scaling import scaled
from llm_operator.core.passes.state import Pass
from llm_operator.core.plan import EventType, PlanEvent, Problem, failure_reason
from llm_operator.core.rollout import FINISHED, RolloutReport, alarm_named

ROLLED_BACK = "RolledBack"
# An update that ended on the previous version after SageMaker's FailureReason was
# cleared (a later scaling update clears it).
UNEXPLAINED_ROLLBACK = "SageMaker ended the update on the previous version (no reason kept)"


def alarms(p: Pass) -> None:
    """Create, re-threshold or delete the operator's own rollback alarms."""
    rollout = p.desired.rollout
    wanted = {a.name: a for a in rollout.owned_alarms} if rollout else {}
    for name, want in wanted.items():
        have = p.observed.alarms.get(name)
        if have is None:
            p.actions.append(CreateAlarm(name=name, spec=want.request, tags=p.desired.tags))
        elif p.foreign(have.owner_uid):
            p.conflict("CloudWatch alarm", name, have)
            p.alarms_ok = False
        elif have.threshold != want.threshold:
            p.actions.append(UpdateAlarm(name=name, spec=want.request, tags=p.desired.tags))
    for name, have in sorted(p.observed.alarms.items()):
        if name not in wanted and not p.foreign(have.owner_uid):
            p.actions.append(DeleteAlarm(name=name, owner_uid=p.desired.owner.uid))


def alarm_names(p: Pass) -> tuple[str, ...]:
    """The alarms to remember: wanted ones and ours still there."""
    rollout = p.desired.rollout
    names = {a.name for a in rollout.owned_alarms} if rollout else set()
    names |= {n for n, a in p.observed.alarms.items() if not p.foreign(a.owner_uid)}
    return tuple(sorted(names))


def report(
    p: Pass,
    phase: str,
    target: str,
    message: str,
    *,
    step: str | None = None,
    alarm: str | None = None,
    generation: int | None = None,
    pending: tuple[int, str] | None = None,
) -> None:
    """Record the rollout's state; the endpoint's rollout outranks a component's.

    `pending`: the generation (and target) waiting for this rollout to end.
    """
    rollout = p.desired.rollout
    if rollout is None or p.rollout is not None:
        return
    p.rollout = RolloutReport(
        phase=phase,  # type: ignore[arg-type]
        generation=rollout.generation if generation is None else generation,
        strategy=rollout.strategy,
        target=target,
        step=step,
        alarm=alarm,
        message=message,
        pending_generation=pending[0] if pending else None,
        pending_target=pending[1] if pending else None,
    )


def superseded(p: Pass, running: str, target: str) -> dict[str, Any]:
    """How to report a rollout of `running` while the spec now wants `target`.

    SageMaker takes one update at a time: what rolls is the generation that
    issued it, and the spec's generation waits (status.rollout.pending).
    """
    rollout = p.desired.rollout
    if running == target or rollout is None:
        return {}
    generation = p.rollout_generation
    if generation is None or generation == rollout.generation:
        return {"pending": (rollout.generation, target)}
    return {"generation": generation, "pending": (rollout.generation, target)}


def rolled_back(p: Pass, what: str, key: str, failed: Failure, serving: str) -> None:
    """A guarded update SageMaker rolled back: Degraded, not retried until the spec changes."""
    rollout = p.desired.rollout
    assert rollout is not None
    alarm = alarm_named(failed.reason, rollout.alarms)
    generation = failed.generation if failed.generation is not None else rollout.generation
    cause = f"alarm {alarm} fired" if alarm else failed.reason
    message = (
        f"SageMaker rolled back {what} to {serving}: {cause}; generation {generation} "
        "is refused and not retried until the spec changes"
    )
    package = p.desired.package
    if package is not None and package.version is not None:
        # The spec did not change: a model registry version did (core.registry).
        message = (
            f"SageMaker rolled back {what} to {serving}: {cause}; version "
            f"{package.version} of model package group {package.group} is not retried "
            "until a newer version is approved"
        )
    p.problems.append(Problem(ROLLED_BACK, message, f"{ROLLED_BACK}/{key}"))
    report(
        p,
        ROLLED_BACK,
        key,
        f"{message} ({failed.reason})" if alarm else message,
        alarm=alarm,
        generation=generation,
    )


def arrived(p: Pass, last_modified: float | None, failure_reason: str | None) -> bool:
    """Whether the remembered update reached SageMaker (it ended elsewhere since).

    The shell records an update before sending it; a crash can come in between.
    SageMaker moves LastModifiedTime when an update arrives and when it ends or is
    rolled back: not after the record, the update never arrived. Without a recorded
    time (status of an earlier version), only a FailureReason says it arrived.
    """
    issued = p.memory.update_issued_at
    if issued is None or last_modified is None:
        return failure_reason is not None
    return last_modified > issued


def guarded(p: Pass, want: DesiredComponent) -> bool:
    """Specification changes of the base component roll out under spec.rollout.

    Adapters follow their base and take no copies, so SageMaker has nothing to
    roll; a copy count alone changes in place.
    """
    rollout = p.desired.rollout
    return (
        rollout is not None
        and rollout.component_deployment is not None
        and (want.copies is not None and want.base_component is None)
    )


def component_target(want: DesiredComponent) -> str:
    return f"{want.name}/{component_fingerprint(want)}"


def finished(p: Pass) -> None:
    """A rollout announced earlier whose target now serves: it succeeded.

    Judged by what SageMaker serves, so it holds after a restart too.
    """
    last = rollout_key_parts(p.memory.rollout_step)
    if p.rollout is not None or last is None or p.desired.rollout is None:
        return
    target, phase = last
    if phase in FINISHED:
        return
    ep = p.observed.endpoint
    if target == p.desired.endpoint_config.name:
        if ep is not None and ep.status == "InService" and ep.config_name == target:
            report(p, "Succeeded", target, f"Endpoint {ep.name} serves endpoint config {target}")
        return
    for unscaled in p.desired.components:
        # The target was recorded from the component with the count to hold (the
        # autoscaler's): compare with the same one.
        want = scaled(p, unscaled)
        if component_target(want) != target:
            continue
        have = p.observed.components.get(want.name)
        if have is not None and have.status == "InService" and spec_matches(want, have):
            report(
                p,
                "Succeeded",
                target,
                f"Inference component {want.name} serves the new specification",
            )


def start_refused(p: Pass) -> None:
    """A rollout reported as starting whose update was held back: SageMaker rejected
    this very request before (`Rejected`), so the rollout failed."""
    if p.rollout is None or p.rollout.step != "Starting":
        return
    if not any(a.starts_rollout for a in p.actions):
        p.rollout = dataclasses.replace(
            p.rollout,
            phase="Failed",
            step=None,
            message=failure_reason(p.problems) or "SageMaker rejected the update",
        )


def events(p: Pass) -> str | None:
    """One Event per step of the rollout; returns the step now announced."""
    current = p.rollout
    if current is None:
        return p.memory.rollout_step
    key = rollout_key(current)
    if key == p.memory.rollout_step or current.phase == ROLLED_BACK:
        return key  # a rollback is announced once, as the Degraded problem's Warning
    if current.phase == "Succeeded":
        reason = "RolloutSucceeded"
    elif current.phase == "Failed":
        reason = "RolloutFailed"
    elif current.step == "Starting":
        reason = "RolloutStarted"
    else:
        reason = "RolloutStep"
    kind: EventType = "Warning" if current.phase == "Failed" else "Normal"
    step = f" [{current.step}]" if current.step and current.step != "Starting" else ""
    p.events.append(
        PlanEvent(kind, reason, f"Generation {current.generation}{step}: {current.message}")
    )
    return key


def rollout_key(report: RolloutReport) -> str:
    return f"{report.target}|{report.phase}|{report.step or ''}"


def rollout_key_parts(key: str | None) -> tuple[str, str] | None:
    """(target, phase) of a `rollout_key`."""
    if key is None or key.count("|") < 2:
        return None
    target, phase, _ = key.split("|", 2)
    return target, phase
