"""Inference components: the base component and its LoRA adapters on our endpoint,
each created, updated in place or replaced; and ours the spec no longer has,
deleted once the new base serves (make before break)."""

from __future__ import annotations

from llm_operator.core.actions import (
    CreateInferenceComponent,
    DeleteInferenceComponent,
    UpdateInferenceComponent,
    UpdateInferenceComponentRuntimeConfig,
)
from llm_operator.core.compare import (
    COMPONENT_DELETABLE,
    COMPONENT_TRANSITIONING,
    component_fingerprint,
    copies_match,
    spec_base,
    spec_matches,
    spec_model,
)
from llm_operator.core.desired import DesiredComponent
from llm_operator.core.memory import Failure
from llm_operator.core.naming import ADAPTER_SEPARATOR
from llm_operator.core.observed import ObservedComponent
from llm_operator.core.passes.dependencies import ensure_model, variant_name
from llm_operator.core.passes.rollouts import (
    UNEXPLAINED_ROLLBACK,
    arrived,
    component_target,
    guarded,
    report,
    rolled_back,
    superseded,
)
from llm_operator.core.passes.scaling import scaled
from llm_operator.core.passes.state import Pass
from llm_operator.core.plan import Problem


def converge(p: Pass) -> None:
    """The base component, then its adapters once the base serves."""
    desired = p.desired.components
    if not desired:
        return
    base_ok = _component(p, desired[0])
    for adapter in desired[1:]:
        if base_ok:
            _component(p, adapter)


def _component(p: Pass, want: DesiredComponent) -> bool:
    """Converge one component; True when it is InService and untouched by this pass."""
    want = scaled(p, want)
    have = p.observed.components.get(want.name)
    if have is not None and p.foreign(have.owner_uid):
        p.conflict("inference component", want.name, have)
        return False
    if have is not None and have.endpoint_name != p.desired.endpoint_name:
        # Ours, on another endpoint (left by an interrupted earlier life): replace it.
        if have.status in COMPONENT_DELETABLE:
            _delete(p, have)
        else:
            p.waiting.append(f"inference component {want.name} to leave {have.status}")
        return False
    if have is None:
        p.component_updates.pop(want.name, None)
        p.failed_component_updates.pop(want.name, None)
        _create(p, want)
        return False
    if have.status in COMPONENT_TRANSITIONING:
        p.waiting.append(f"inference component {want.name} to leave {have.status}")
        issued = p.component_updates.get(want.name)
        if have.status == "Updating" and guarded(p, want) and issued is not None:
            # The update of ours SageMaker rolls: the one issued, which may be of an
            # older generation than the spec's (that one waits).
            target = f"{want.name}/{issued}"
            wanted = have.desired_copies if have.desired_copies is not None else want.copies
            report(
                p,
                "InProgress",
                target,
                f"Rolling update of inference component {want.name}: "
                f"{have.current_copies or 0} copies running, {wanted} wanted",
                step=f"copies {have.current_copies or 0}/{wanted}",
                **superseded(p, target, component_target(want)),
            )
        return False
    if have.status == "Failed":
        _failed(p, want, have)
        return False
    if have.status != "InService":
        p.waiting.append(f"inference component {want.name} to leave {have.status}")
        return False
    return _in_service(p, want, have)


def _create(p: Pass, want: DesiredComponent) -> None:
    if spec_model(want) == p.desired.model.name and not ensure_model(p):
        return
    p.actions.append(
        CreateInferenceComponent(
            name=want.name,
            endpoint_name=p.desired.endpoint_name,
            variant_name=None if want.base_component else variant_name(p.desired),
            specification=want.specification,
            copies=want.copies,
            tags=p.desired.tags,
        )
    )


def _failed(p: Pass, want: DesiredComponent, have: ObservedComponent) -> None:
    if spec_matches(want, have) and copies_match(want, have):
        reason = have.failure_reason or "no reason given"
        p.problems.append(
            Problem(
                "ComponentFailed",
                f"SageMaker inference component {want.name} failed: {reason}",
                f"ComponentFailed/{want.name}/{component_fingerprint(want)}",
            )
        )
        return
    # The spec changed since the failure: delete, then create anew next pass.
    _delete(p, have)


def _in_service(p: Pass, want: DesiredComponent, have: ObservedComponent) -> bool:
    fingerprint = component_fingerprint(want)
    spec_ok = spec_matches(want, have)
    converged = spec_ok and copies_match(want, have)
    issued = p.component_updates.pop(want.name, None)
    # The fingerprint is the specification's (never the copy count, which the
    # autoscaler moves): an update issued and ended with its specification not
    # serving was rolled back, whatever count SageMaker holds now, and even once a
    # later change of the count (the autoscaler's) cleared SageMaker's FailureReason.
    generation = p.desired.rollout.generation if p.desired.rollout else None
    if issued is not None and not spec_ok and issued == fingerprint:
        if arrived(p, have.last_modified, have.failure_reason):
            p.failed_component_updates[want.name] = Failure(
                fingerprint, have.failure_reason or UNEXPLAINED_ROLLBACK, generation
            )
        # else it never arrived (a crash between recording and sending): sent below
    elif issued is None and not spec_ok and _rolled_back_before(p, want, have):
        p.failed_component_updates.setdefault(
            want.name,
            Failure(fingerprint, have.failure_reason or UNEXPLAINED_ROLLBACK, generation),
        )

    failed = p.failed_component_updates.get(want.name)
    if failed is not None and (failed.fingerprint != fingerprint or spec_ok):
        del p.failed_component_updates[want.name]
        failed = None
    if converged:
        if want.copies is not None and have.current_copies != want.copies:
            p.waiting.append(
                f"inference component {want.name} copies {have.current_copies or 0}/{want.copies}"
            )
        return True
    if failed is not None and want.copies is not None and not copies_match(want, have):
        # A count alone changes in place: the refused specification stays refused.
        p.actions.append(UpdateInferenceComponentRuntimeConfig(name=want.name, copies=want.copies))
    if failed is not None and guarded(p, want):
        rolled_back(
            p,
            f"inference component {want.name}",
            component_target(want),
            failed,
            "its previous specification",
        )
        return True
    if failed is not None:
        p.problems.append(
            Problem(
                "ComponentUpdateFailed",
                f"SageMaker rolled back inference component {want.name}: {failed.reason}",
                f"ComponentUpdateFailed/{want.name}/{failed.fingerprint}",
            )
        )
        return True  # still serving the previous version
    if spec_base(want) != have.base_component:
        # An adapter cannot move to another base: replace it.
        _delete(p, have)
        return False
    if spec_ok and want.copies is not None:
        p.actions.append(UpdateInferenceComponentRuntimeConfig(name=want.name, copies=want.copies))
    else:
        if spec_model(want) == p.desired.model.name and not ensure_model(p):
            return False
        rollout = p.desired.rollout
        is_guarded = rollout is not None and guarded(p, want)
        if is_guarded and not p.alarms_ok:
            p.waiting.append("the rollback alarms' names to be free")
            return False
        p.actions.append(
            UpdateInferenceComponent(
                name=want.name,
                specification=want.specification,
                copies=want.copies,
                deployment=rollout.component_deployment if rollout and is_guarded else None,
            )
        )
        if is_guarded and rollout is not None:
            p.rollout_generation = rollout.generation
            report(
                p,
                "InProgress",
                component_target(want),
                f"Rolling update of inference component {want.name}",
                step="Starting",
            )
    p.component_updates[want.name] = fingerprint
    return False


def _rolled_back_before(p: Pass, want: DesiredComponent, have: ObservedComponent) -> bool:
    """SageMaker's record alone shows an update to `want`'s model rolled back: the
    component runs another model, with a FailureReason set after that model was
    created (the model is named by its content, so it is this spec's)."""
    model = spec_model(want)
    seen = p.observed.models.get(model) if model else None
    return (
        have.failure_reason is not None
        and model != have.model_name
        and seen is not None
        and seen.created is not None
        and have.last_modified is not None
        and have.last_modified > seen.created
    )


def _delete(p: Pass, have: ObservedComponent) -> None:
    """Delete a component of ours, its adapters first (SageMaker insists)."""
    adapters = [c for c in p.observed.components.values() if c.base_component == have.name]
    if adapters:
        for adapter in adapters:
            if p.foreign(adapter.owner_uid):
                p.conflict("inference component", adapter.name, adapter)
            elif adapter.status in COMPONENT_DELETABLE:
                p.actions.append(DeleteInferenceComponent(name=adapter.name))
            else:
                p.waiting.append(f"inference component {adapter.name} to leave {adapter.status}")
        return
    p.actions.append(DeleteInferenceComponent(name=have.name))
    p.component_updates.pop(have.name, None)
    p.failed_component_updates.pop(have.name, None)


def remove_stale(p: Pass) -> None:
    """Delete components of ours on the endpoint that the spec no longer has.

    Make before break: a stale base component still serving stays until the
    wanted base serves too (e.g. an adopted endpoint's hand-made component),
    unless the wanted base failed, when the room it holds may be what is missing.
    """
    wanted = {c.name for c in p.desired.components}
    stale = [
        c
        for c in p.observed.components.values()
        if c.name not in wanted and not p.foreign(c.owner_uid)
    ]
    base = p.desired.components[0] if p.desired.components else None
    new_base = p.observed.components.get(base.name) if base is not None else None
    replacing = base is not None and (
        new_base is None or new_base.status not in ("InService", "Failed")
    )
    for have in sorted(stale, key=lambda c: (c.base_component is None, c.name)):
        if replacing and have.base_component is None and have.status == "InService":
            p.waiting.append(
                f"inference component {base.name if base else ''} to serve before "
                f"{have.name} is deleted"
            )
            continue
        successor = _successor(p, have)
        if successor is not None and have.status == "InService":
            p.waiting.append(
                f"inference component {successor} to serve before {have.name} is deleted"
            )
            continue
        if have.status in COMPONENT_TRANSITIONING:
            p.waiting.append(f"inference component {have.name} to leave {have.status}")
            continue
        has_adapters = any(c.base_component == have.name for c in p.observed.components.values())
        if has_adapters:
            continue  # its adapters are deleted first, in this pass or a later one
        p.actions.append(DeleteInferenceComponent(name=have.name))
        p.component_updates.pop(have.name, None)
        p.failed_component_updates.pop(have.name, None)


def _successor(p: Pass, have: ObservedComponent) -> str | None:
    """The wanted adapter of the same name as the stale adapter `have`, renamed (as on a
    pool's base, `-pool--<adapter>`), while it does not serve yet: make before break."""
    if have.base_component is None or ADAPTER_SEPARATOR not in have.name:
        return None
    adapter = have.name.rpartition(ADAPTER_SEPARATOR)[2]
    for want in p.desired.components:
        if want.adapter == adapter:
            seen = p.observed.components.get(want.name)
            return (
                None if seen is not None and seen.status in ("InService", "Failed") else want.name
            )
    return None
