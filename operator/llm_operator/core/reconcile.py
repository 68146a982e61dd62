"""The reconcile pass: from desired and observed state to the next calls.

It only asks for calls SageMaker accepts in the observed state (nothing is
changed while it is transitioning), so the shell can execute a plan blindly,
observe again and plan again until `Plan.settled`. The steps of a pass run in a
fixed order, written out in `reconcile()`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from llm_operator.api.models import Phase
from llm_operator.core import naming
from llm_operator.core.actions import (
    Action,
    CreateAlarm,
    CreateEndpoint,
    CreateEndpointConfig,
    CreateInferenceComponent,
    CreateModel,
    DeleteAlarm,
    DeleteEndpoint,
    DeleteEndpointConfig,
    DeleteInferenceComponent,
    DeleteModel,
    DeleteScalingPolicy,
    DeregisterScalableTarget,
    PutScalingPolicy,
    RegisterScalableTarget,
    UpdateAlarm,
    UpdateEndpoint,
    UpdateEndpointWeightsAndCapacities,
    UpdateInferenceComponent,
    UpdateInferenceComponentRuntimeConfig,
)
from llm_operator.core.attribution import stamp
from llm_operator.core.compare import (
    COMPONENT_DELETABLE,
    COMPONENT_TRANSITIONING,
    ENDPOINT_TRANSITIONING,
    component_fingerprint,
    component_ready,
    copies_match,
    spec_base,
    spec_matches,
    spec_model,
)
from llm_operator.core.desired import DesiredComponent, DesiredState
from llm_operator.core.memory import Failure, PlanMemory
from llm_operator.core.observed import (
    ObservedAlarm,
    ObservedComponent,
    ObservedEndpoint,
    ObservedResource,
    ObservedScalingAlarm,
    ObservedState,
    ObservedTarget,
)
from llm_operator.core.plan import (
    ConditionInput,
    EventType,
    Plan,
    PlanEvent,
    Problem,
    degraded_condition,
    failure_reason,
)
from llm_operator.core.rollout import FINISHED, RolloutReport, alarm_named

ROLLED_BACK = "RolledBack"
# An update that ended on the previous version after SageMaker's FailureReason was
# cleared (a later scaling update clears it).
UNEXPLAINED_ROLLBACK = "SageMaker ended the update on the previous version (no reason kept)"
# Endpoint states in which the previous version still takes the traffic.
SERVING = frozenset({"InService", "Updating", "RollingBack", "SystemUpdating"})


class Pass:
    """Mutable scratchpad of one plan() call."""

    def __init__(self, desired: DesiredState, observed: ObservedState, memory: PlanMemory):
        self.desired = desired
        self.observed = observed
        self.memory = memory
        self.actions: list[Action] = []
        self.problems: list[Problem] = []
        self.waiting: list[str] = []
        self.events: list[PlanEvent] = []
        self.endpoint_update = memory.endpoint_update
        self.failed_endpoint_update = memory.failed_endpoint_update
        self.component_updates = dict(memory.component_updates)
        self.failed_component_updates = dict(memory.failed_component_updates)
        self.rollout_generation = memory.rollout_generation
        # The guarded rollout this pass found (spec.rollout set), for status and Events.
        self.rollout: RolloutReport | None = None
        # False while a rollback alarm's name is someone else's: no guarded update then.
        self.alarms_ok = True

    # rollback alarms (spec.rollout.autoRollback)

    def alarms(self) -> None:
        """Create, re-threshold or delete the operator's own rollback alarms."""
        rollout = self.desired.rollout
        wanted = {a.name: a for a in rollout.owned_alarms} if rollout else {}
        for name, want in wanted.items():
            have = self.observed.alarms.get(name)
            if have is None:
                self.actions.append(
                    CreateAlarm(name=name, spec=want.request, tags=self.desired.tags)
                )
            elif self.foreign(have.owner_uid):
                self.conflict("CloudWatch alarm", name, have)
                self.alarms_ok = False
            elif have.threshold != want.threshold:
                self.actions.append(
                    UpdateAlarm(name=name, spec=want.request, tags=self.desired.tags)
                )
        for name, have in sorted(self.observed.alarms.items()):
            if name not in wanted and not self.foreign(have.owner_uid):
                self.actions.append(DeleteAlarm(name=name, owner_uid=self.desired.owner.uid))

    def alarm_names(self) -> tuple[str, ...]:
        """The alarms to remember: wanted ones and ours still there."""
        rollout = self.desired.rollout
        names = {a.name for a in rollout.owned_alarms} if rollout else set()
        names |= {n for n, a in self.observed.alarms.items() if not self.foreign(a.owner_uid)}
        return tuple(sorted(names))

    # guarded rollouts

    def report(
        self,
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
        rollout = self.desired.rollout
        if rollout is None or self.rollout is not None:
            return
        self.rollout = RolloutReport(
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

    def superseded(self, running: str, target: str) -> dict[str, Any]:
        """How to report a rollout of `running` while the spec now wants `target`.

        SageMaker takes one update at a time: what rolls is the generation that
        issued it, and the spec's generation waits (status.rollout.pending).
        """
        rollout = self.desired.rollout
        if running == target or rollout is None:
            return {}
        generation = self.rollout_generation
        if generation is None or generation == rollout.generation:
            return {"pending": (rollout.generation, target)}
        return {"generation": generation, "pending": (rollout.generation, target)}

    def rolled_back(self, what: str, key: str, failed: Failure, serving: str) -> None:
        """A guarded update SageMaker rolled back: Degraded, not retried until the spec changes."""
        rollout = self.desired.rollout
        assert rollout is not None
        alarm = alarm_named(failed.reason, rollout.alarms)
        generation = failed.generation if failed.generation is not None else rollout.generation
        cause = f"alarm {alarm} fired" if alarm else failed.reason
        message = (
            f"SageMaker rolled back {what} to {serving}: {cause}; generation {generation} "
            "is refused and not retried until the spec changes"
        )
        self.problems.append(Problem(ROLLED_BACK, message, f"{ROLLED_BACK}/{key}"))
        self.report(
            ROLLED_BACK,
            key,
            f"{message} ({failed.reason})" if alarm else message,
            alarm=alarm,
            generation=generation,
        )

    # ownership

    def foreign(self, owner_uid: str | None) -> bool:
        """Not provably ours: untagged (None) or tagged for another owner.

        The one ownership rule: only a resource whose uid tag names this
        LLMEndpoint is ever updated, re-pointed or deleted.
        """
        return owner_uid != self.desired.owner.uid

    def conflict(
        self,
        kind: str,
        name: str,
        resource: ObservedEndpoint
        | ObservedComponent
        | ObservedResource
        | ObservedAlarm
        | ObservedTarget
        | ObservedScalingAlarm,
    ) -> None:
        key = f"NameConflict/{kind}/{name}"
        if any(p.event_key == key for p in self.problems):
            return
        theirs = resource.owner_cluster_id
        if resource.owner_name and theirs and theirs != self.desired.owner.cluster_id:
            whose = (
                f"belongs to LLMEndpoint {resource.owner_name} of another cluster "
                f"(cluster-id {theirs}; give each cluster sharing an account its own "
                "clusterName, or its own region)"
            )
        elif resource.owner_name:
            whose = f"belongs to LLMEndpoint {resource.owner_name}"
        elif resource.owner_uid:
            whose = f"is tagged for another owner (uid {resource.owner_uid})"
        else:
            whose = "has no ownership tags (it was not created by this LLMEndpoint)"
        self.problems.append(
            Problem(
                "NameConflict",
                f"{_service(kind)}{kind} {name} {whose}; the operator leaves it alone. Delete or "
                "rename that resource, or give this LLMEndpoint another name",
                key,
            )
        )

    # immutable resources

    def model_blocked(self) -> bool:
        name = self.desired.model.name
        seen = self.observed.models.get(name)
        if seen is not None and self.foreign(seen.owner_uid):
            self.conflict("model", name, seen)
            return True
        return False

    def config_blocked(self) -> bool:
        name = self.desired.endpoint_config.name
        seen = self.observed.endpoint_configs.get(name)
        if seen is not None and self.foreign(seen.owner_uid):
            self.conflict("endpoint config", name, seen)
            return True
        return False

    def ensure_model(self) -> bool:
        """Create the desired model if missing; False when it cannot be used."""
        if self.model_blocked():
            return False
        model = self.desired.model
        if model.name not in self.observed.models and not any(
            isinstance(a, CreateModel) for a in self.actions
        ):
            self.actions.append(
                CreateModel(name=model.name, spec=model.create_request, tags=self.desired.tags)
            )
        return True

    def ensure_config(self, *, creating_endpoint: bool) -> bool:
        """Create the desired endpoint config (and the model it needs) if missing."""
        # A Model variant references the model, so the endpoint needs it to start;
        # a new inference-component endpoint needs it for its base component next.
        needs_model = self.desired.endpoint_type == "Model" or creating_endpoint
        if (needs_model and not self.ensure_model()) or self.config_blocked():
            return False
        config = self.desired.endpoint_config
        if config.name not in self.observed.endpoint_configs:
            self.actions.append(
                CreateEndpointConfig(
                    name=config.name, spec=config.create_request, tags=self.desired.tags
                )
            )
        return True

    # endpoint

    def endpoint(self) -> bool:
        """Converge the endpoint; True when its components may be acted on now."""
        desired_config = self.desired.endpoint_config.name
        ep = self.observed.endpoint
        if ep is None:
            self.endpoint_update = None
            self.failed_endpoint_update = None
            if self.ensure_config(creating_endpoint=True):
                self.actions.append(
                    CreateEndpoint(
                        name=self.desired.endpoint_name,
                        config_name=desired_config,
                        tags=self.desired.tags,
                    )
                )
            return False
        if ep.status == "Failed":
            if ep.config_name == desired_config:
                reason = ep.failure_reason or "no reason given"
                self.problems.append(
                    Problem(
                        "EndpointFailed",
                        f"SageMaker endpoint {ep.name} failed: {reason}",
                        f"EndpointFailed/{ep.name}/{ep.config_name}",
                    )
                )
            else:
                # The spec changed since the failure: start over with the new config.
                self.actions.append(DeleteEndpoint(name=ep.name))
                self.waiting.append(f"failed endpoint {ep.name} to be deleted and created again")
            return False
        if ep.status == "UpdateRollbackFailed":
            reason = ep.failure_reason or "no reason given"
            self.problems.append(
                Problem(
                    "UpdateRollbackFailed",
                    f"SageMaker endpoint {ep.name} could not roll back an update: {reason}",
                    f"UpdateRollbackFailed/{ep.name}",
                )
            )
            return False
        if ep.status != "InService":
            self.waiting.append(f"endpoint {ep.name} to leave {ep.status}")
            self.endpoint_rollout(ep)
            return False
        return self.endpoint_in_service(ep)

    def endpoint_rollout(self, ep: ObservedEndpoint) -> None:
        """An update of ours under way: its step, as the new fleet's VariantStatus says.

        When the spec changed since (a newer generation), what SageMaker rolls is still
        the update issued before: reported as such, the new generation as pending.
        """
        desired_config = self.desired.endpoint_config.name
        running = ep.pending_config or self.endpoint_update
        if running is None or running not in (desired_config, self.endpoint_update):
            return
        if ep.status == "RollingBack":
            step = "RollingBack"
            message = f"Rolling back: {ep.failure_reason or 'no reason given'}"
        else:
            step = ep.deployment_status or ep.status
            message = ep.deployment_message or f"Endpoint {ep.name} is {ep.status}"
        phase = "Baking" if ep.deployment_status == "Baking" else "InProgress"
        self.report(phase, running, message, step=step, **self.superseded(running, desired_config))

    def arrived(self, last_modified: float | None, failure_reason: str | None) -> bool:
        """Whether the remembered update reached SageMaker (it ended elsewhere since).

        The shell records an update before sending it; a crash can come in between.
        SageMaker moves LastModifiedTime when an update arrives and when it ends or is
        rolled back: not after the record, the update never arrived. Without a recorded
        time (status of an earlier version), only a FailureReason says it arrived.
        """
        issued = self.memory.update_issued_at
        if issued is None or last_modified is None:
            return failure_reason is not None
        return last_modified > issued

    def endpoint_in_service(self, ep: ObservedEndpoint) -> bool:
        desired_config = self.desired.endpoint_config.name
        generation = self.desired.rollout.generation if self.desired.rollout else None
        if self.endpoint_update is not None:
            if ep.config_name == self.endpoint_update:
                if ep.config_name == desired_config:
                    self.report(
                        "Succeeded",
                        desired_config,
                        f"Endpoint {ep.name} serves endpoint config {desired_config}",
                    )
                self.endpoint_update = None
            elif not self.arrived(ep.last_modified, ep.failure_reason):
                self.endpoint_update = None  # never arrived: sent (once) below
            else:
                # It arrived and ended on another config: rolled back, even when a later
                # scaling update has cleared SageMaker's FailureReason since.
                if self.endpoint_update == desired_config:
                    self.failed_endpoint_update = Failure(
                        desired_config, ep.failure_reason or UNEXPLAINED_ROLLBACK, generation
                    )
                self.endpoint_update = None
        elif self.failed_endpoint_update is None and self.rolled_back_before(ep):
            # Nothing remembered (status lost or written by an older version), but
            # SageMaker's own record says an update to this config was rolled back.
            self.failed_endpoint_update = Failure(
                desired_config, ep.failure_reason or UNEXPLAINED_ROLLBACK, generation
            )
        failed = self.failed_endpoint_update
        if failed is not None and (
            failed.fingerprint != desired_config or ep.config_name == desired_config
        ):
            self.failed_endpoint_update = failed = None
        if ep.config_name == desired_config:
            return True
        if failed is not None and self.desired.rollout is not None:
            self.rolled_back(f"endpoint {ep.name}", desired_config, failed, ep.config_name)
            return True  # still serving on the old config: components can go on
        if failed is not None:
            self.problems.append(
                Problem(
                    "UpdateFailed",
                    f"SageMaker rolled back endpoint {ep.name} to {ep.config_name}: "
                    f"{failed.reason}",
                    f"UpdateFailed/{ep.name}/{failed.fingerprint}",
                )
            )
            return True  # still serving on the old config: components can go on
        busy = [
            c.name for c in self.observed.components.values() if c.status in COMPONENT_TRANSITIONING
        ]
        if busy:
            self.waiting.append(
                f"inference components {', '.join(sorted(busy))} before updating the endpoint"
            )
            return False
        if self.desired.rollout is not None and not self.alarms_ok:
            self.waiting.append("the rollback alarms' names to be free")
            return False
        if self.ensure_config(creating_endpoint=False):
            rollout = self.desired.rollout
            self.actions.append(
                UpdateEndpoint(
                    name=ep.name,
                    config_name=desired_config,
                    deployment=rollout.endpoint_deployment if rollout else None,
                    retain_instance_count=(
                        self.desired.scaling is not None and self.desired.endpoint_type == "Model"
                    ),
                )
            )
            self.endpoint_update = desired_config
            if rollout is not None:
                self.rollout_generation = rollout.generation
            self.report(
                "InProgress",
                desired_config,
                f"Updating endpoint {ep.name} to endpoint config {desired_config}",
                step="Starting",
            )
        return False

    def rolled_back_before(self, ep: ObservedEndpoint) -> bool:
        """SageMaker's record alone shows an update to the desired config rolled back.

        The endpoint serves another config with a FailureReason set by a change after
        the desired config was created: only an update to that config (ours, named by
        its content) can have failed since.
        """
        config = self.observed.endpoint_configs.get(self.desired.endpoint_config.name)
        return (
            ep.config_name != self.desired.endpoint_config.name
            and ep.failure_reason is not None
            and config is not None
            and config.created is not None
            and ep.last_modified is not None
            and ep.last_modified > config.created
        )

    # inference components

    def claimed(self) -> bool:
        """Report every wanted name held by someone else; True when none is."""
        clear = True
        for want in self.desired.components:
            have = self.observed.components.get(want.name)
            if have is not None and self.foreign(have.owner_uid):
                self.conflict("inference component", want.name, have)
                clear = False
        for name, kind, seen in (
            (self.desired.model.name, "model", self.observed.models),
            (self.desired.endpoint_config.name, "endpoint config", self.observed.endpoint_configs),
        ):
            found = seen.get(name)
            if found is not None and self.foreign(found.owner_uid):
                self.conflict(kind, name, found)
                clear = False
        return clear

    def missing_dependencies(self) -> None:
        """Re-create a model or config of ours that vanished while our endpoint uses it.

        SageMaker keeps serving without them, but cannot scale, heal or update.
        """
        ep = self.observed.endpoint
        if ep is None or ep.status != "InService":
            return
        config = self.desired.endpoint_config.name
        model = self.desired.model.name
        if self.desired.endpoint_type == "Model":
            uses_model = ep.config_name == config
        else:
            uses_model = any(
                c.model_name == model and not self.foreign(c.owner_uid)
                for c in self.observed.components.values()
            )
        if uses_model and model not in self.observed.models:
            self.events.append(
                PlanEvent(
                    "Warning",
                    "ResourceMissing",
                    f"SageMaker model {model} is in use but no longer exists; creating it again",
                )
            )
            self.ensure_model()
        if ep.config_name == config and config not in self.observed.endpoint_configs:
            self.events.append(
                PlanEvent(
                    "Warning",
                    "ResourceMissing",
                    f"SageMaker endpoint config {config} is in use but no longer exists; "
                    "creating it again",
                )
            )
            self.ensure_config(creating_endpoint=False)

    def components(self) -> None:
        desired = self.desired.components
        if not desired:
            return
        base_ok = self.component(desired[0])
        for adapter in desired[1:]:
            if base_ok:
                self.component(adapter)

    def scaled(self, want: DesiredComponent) -> DesiredComponent:
        """`want` with the copy count to hold now.

        With spec.autoscaling, resources.copies is only the initial count: the
        autoscaler's count is kept inside [min, max] and clamped into it when the
        range changes; without, the fixed count.
        """
        scaling = self.desired.scaling
        if scaling is None or want.copies is None or want.base_component is not None:
            return want
        have = self.observed.components.get(want.name)
        now = have.desired_copies if have is not None else None
        copies = scaling.clamp(want.copies if now is None else now)
        return want if copies == want.copies else replace(want, copies=copies)

    def component(self, want: DesiredComponent) -> bool:
        """Converge one component; True when it is InService and untouched by this pass."""
        want = self.scaled(want)
        have = self.observed.components.get(want.name)
        if have is not None and self.foreign(have.owner_uid):
            self.conflict("inference component", want.name, have)
            return False
        if have is not None and have.endpoint_name != self.desired.endpoint_name:
            # Ours, on another endpoint (left by an interrupted earlier life): replace it.
            if have.status in COMPONENT_DELETABLE:
                self.delete_component(have)
            else:
                self.waiting.append(f"inference component {want.name} to leave {have.status}")
            return False
        if have is None:
            self.component_updates.pop(want.name, None)
            self.failed_component_updates.pop(want.name, None)
            self.create_component(want)
            return False
        if have.status in COMPONENT_TRANSITIONING:
            self.waiting.append(f"inference component {want.name} to leave {have.status}")
            issued = self.component_updates.get(want.name)
            if have.status == "Updating" and self.guarded(want) and issued is not None:
                # The update of ours SageMaker rolls: the one issued, which may be of an
                # older generation than the spec's (that one waits).
                target = f"{want.name}/{issued}"
                wanted = have.desired_copies if have.desired_copies is not None else want.copies
                self.report(
                    "InProgress",
                    target,
                    f"Rolling update of inference component {want.name}: "
                    f"{have.current_copies or 0} copies running, {wanted} wanted",
                    step=f"copies {have.current_copies or 0}/{wanted}",
                    **self.superseded(target, self.component_target(want)),
                )
            return False
        if have.status == "Failed":
            self.failed_component(want, have)
            return False
        if have.status != "InService":
            self.waiting.append(f"inference component {want.name} to leave {have.status}")
            return False
        return self.component_in_service(want, have)

    def create_component(self, want: DesiredComponent) -> None:
        if spec_model(want) == self.desired.model.name and not self.ensure_model():
            return
        self.actions.append(
            CreateInferenceComponent(
                name=want.name,
                endpoint_name=self.desired.endpoint_name,
                variant_name=None if want.base_component else self.variant_name(),
                specification=want.specification,
                copies=want.copies,
                tags=self.desired.tags,
            )
        )

    def failed_component(self, want: DesiredComponent, have: ObservedComponent) -> None:
        if spec_matches(want, have) and copies_match(want, have):
            reason = have.failure_reason or "no reason given"
            self.problems.append(
                Problem(
                    "ComponentFailed",
                    f"SageMaker inference component {want.name} failed: {reason}",
                    f"ComponentFailed/{want.name}/{component_fingerprint(want)}",
                )
            )
            return
        # The spec changed since the failure: delete, then create anew next pass.
        self.delete_component(have)

    def component_in_service(self, want: DesiredComponent, have: ObservedComponent) -> bool:
        fingerprint = component_fingerprint(want)
        spec_ok = spec_matches(want, have)
        converged = spec_ok and copies_match(want, have)
        issued = self.component_updates.pop(want.name, None)
        # The fingerprint is the specification's (never the copy count, which the
        # autoscaler moves): an update issued and ended with its specification not
        # serving was rolled back, whatever count SageMaker holds now, and even once a
        # later change of the count (the autoscaler's) cleared SageMaker's FailureReason.
        generation = self.desired.rollout.generation if self.desired.rollout else None
        if issued is not None and not spec_ok and issued == fingerprint:
            if self.arrived(have.last_modified, have.failure_reason):
                self.failed_component_updates[want.name] = Failure(
                    fingerprint, have.failure_reason or UNEXPLAINED_ROLLBACK, generation
                )
            # else it never arrived (a crash between recording and sending): sent below
        elif issued is None and not spec_ok and self.component_rolled_back_before(want, have):
            self.failed_component_updates.setdefault(
                want.name,
                Failure(fingerprint, have.failure_reason or UNEXPLAINED_ROLLBACK, generation),
            )

        failed = self.failed_component_updates.get(want.name)
        if failed is not None and (failed.fingerprint != fingerprint or spec_ok):
            del self.failed_component_updates[want.name]
            failed = None
        if converged:
            if want.copies is not None and have.current_copies != want.copies:
                self.waiting.append(
                    f"inference component {want.name} copies "
                    f"{have.current_copies or 0}/{want.copies}"
                )
            return True
        if failed is not None and want.copies is not None and not copies_match(want, have):
            # A count alone changes in place: the refused specification stays refused.
            self.actions.append(
                UpdateInferenceComponentRuntimeConfig(name=want.name, copies=want.copies)
            )
        if failed is not None and self.guarded(want):
            self.rolled_back(
                f"inference component {want.name}",
                self.component_target(want),
                failed,
                "its previous specification",
            )
            return True
        if failed is not None:
            self.problems.append(
                Problem(
                    "ComponentUpdateFailed",
                    f"SageMaker rolled back inference component {want.name}: {failed.reason}",
                    f"ComponentUpdateFailed/{want.name}/{failed.fingerprint}",
                )
            )
            return True  # still serving the previous version
        if spec_base(want) != have.base_component:
            # An adapter cannot move to another base: replace it.
            self.delete_component(have)
            return False
        if spec_ok and want.copies is not None:
            self.actions.append(
                UpdateInferenceComponentRuntimeConfig(name=want.name, copies=want.copies)
            )
        else:
            if spec_model(want) == self.desired.model.name and not self.ensure_model():
                return False
            rollout = self.desired.rollout
            guarded = rollout is not None and self.guarded(want)
            if guarded and not self.alarms_ok:
                self.waiting.append("the rollback alarms' names to be free")
                return False
            self.actions.append(
                UpdateInferenceComponent(
                    name=want.name,
                    specification=want.specification,
                    copies=want.copies,
                    deployment=rollout.component_deployment if rollout and guarded else None,
                )
            )
            if guarded and rollout is not None:
                self.rollout_generation = rollout.generation
                self.report(
                    "InProgress",
                    self.component_target(want),
                    f"Rolling update of inference component {want.name}",
                    step="Starting",
                )
        self.component_updates[want.name] = fingerprint
        return False

    def component_rolled_back_before(self, want: DesiredComponent, have: ObservedComponent) -> bool:
        """SageMaker's record alone shows an update to `want`'s model rolled back: the
        component runs another model, with a FailureReason set after that model was
        created (the model is named by its content, so it is this spec's)."""
        model = spec_model(want)
        seen = self.observed.models.get(model) if model else None
        return (
            have.failure_reason is not None
            and model != have.model_name
            and seen is not None
            and seen.created is not None
            and have.last_modified is not None
            and have.last_modified > seen.created
        )

    def finished(self) -> None:
        """A rollout announced earlier whose target now serves: it succeeded.

        Judged by what SageMaker serves, so it holds after a restart too.
        """
        last = rollout_key_parts(self.memory.rollout_step)
        if self.rollout is not None or last is None or self.desired.rollout is None:
            return
        target, phase = last
        if phase in FINISHED:
            return
        ep = self.observed.endpoint
        if target == self.desired.endpoint_config.name:
            if ep is not None and ep.status == "InService" and ep.config_name == target:
                self.report(
                    "Succeeded", target, f"Endpoint {ep.name} serves endpoint config {target}"
                )
            return
        for unscaled in self.desired.components:
            # The target was recorded from the component with the count to hold (the
            # autoscaler's): compare with the same one.
            want = self.scaled(unscaled)
            if self.component_target(want) != target:
                continue
            have = self.observed.components.get(want.name)
            if have is not None and have.status == "InService" and spec_matches(want, have):
                self.report(
                    "Succeeded",
                    target,
                    f"Inference component {want.name} serves the new specification",
                )

    def rollout_events(self) -> str | None:
        """One Event per step of the rollout; returns the step now announced."""
        report = self.rollout
        if report is None:
            return self.memory.rollout_step
        key = rollout_key(report)
        if key == self.memory.rollout_step or report.phase == ROLLED_BACK:
            return key  # a rollback is announced once, as the Degraded problem's Warning
        if report.phase == "Succeeded":
            reason = "RolloutSucceeded"
        elif report.phase == "Failed":
            reason = "RolloutFailed"
        elif report.step == "Starting":
            reason = "RolloutStarted"
        else:
            reason = "RolloutStep"
        kind: EventType = "Warning" if report.phase == "Failed" else "Normal"
        step = f" [{report.step}]" if report.step and report.step != "Starting" else ""
        self.events.append(
            PlanEvent(kind, reason, f"Generation {report.generation}{step}: {report.message}")
        )
        return key

    def guarded(self, want: DesiredComponent) -> bool:
        """Specification changes of the base component roll out under spec.rollout.

        Adapters follow their base and take no copies, so SageMaker has nothing to
        roll; a copy count alone changes in place.
        """
        rollout = self.desired.rollout
        return (
            rollout is not None
            and rollout.component_deployment is not None
            and (want.copies is not None and want.base_component is None)
        )

    @staticmethod
    def component_target(want: DesiredComponent) -> str:
        return f"{want.name}/{component_fingerprint(want)}"

    def delete_component(self, have: ObservedComponent) -> None:
        """Delete a component of ours, its adapters first (SageMaker insists)."""
        adapters = [c for c in self.observed.components.values() if c.base_component == have.name]
        if adapters:
            for adapter in adapters:
                if self.foreign(adapter.owner_uid):
                    self.conflict("inference component", adapter.name, adapter)
                elif adapter.status in COMPONENT_DELETABLE:
                    self.actions.append(DeleteInferenceComponent(name=adapter.name))
                else:
                    self.waiting.append(
                        f"inference component {adapter.name} to leave {adapter.status}"
                    )
            return
        self.actions.append(DeleteInferenceComponent(name=have.name))
        self.component_updates.pop(have.name, None)
        self.failed_component_updates.pop(have.name, None)

    def stale_components(self) -> None:
        """Delete components of ours on the endpoint that the spec no longer has.

        Make before break: a stale base component still serving stays until the
        wanted base serves too (e.g. an adopted endpoint's hand-made component),
        unless the wanted base failed, when the room it holds may be what is missing.
        """
        wanted = {c.name for c in self.desired.components}
        stale = [
            c
            for c in self.observed.components.values()
            if c.name not in wanted and not self.foreign(c.owner_uid)
        ]
        base = self.desired.components[0] if self.desired.components else None
        new_base = self.observed.components.get(base.name) if base is not None else None
        replacing = base is not None and (
            new_base is None or new_base.status not in ("InService", "Failed")
        )
        for have in sorted(stale, key=lambda c: (c.base_component is None, c.name)):
            if replacing and have.base_component is None and have.status == "InService":
                self.waiting.append(
                    f"inference component {base.name if base else ''} to serve before "
                    f"{have.name} is deleted"
                )
                continue
            if have.status in COMPONENT_TRANSITIONING:
                self.waiting.append(f"inference component {have.name} to leave {have.status}")
                continue
            has_adapters = any(
                c.base_component == have.name for c in self.observed.components.values()
            )
            if has_adapters:
                continue  # its adapters are deleted first, in this pass or a later one
            self.actions.append(DeleteInferenceComponent(name=have.name))
            self.component_updates.pop(have.name, None)
            self.failed_component_updates.pop(have.name, None)

    def variant_name(self) -> str:
        variants = self.desired.endpoint_config.create_request.get("ProductionVariants")
        if isinstance(variants, list | tuple) and variants and isinstance(variants[0], Mapping):
            name = variants[0].get("VariantName")
            if isinstance(name, str):
                return name
        return naming.VARIANT_NAME

    # autoscaling (Application Auto Scaling and CloudWatch)

    def scaling(self) -> None:
        """Converge spec.autoscaling's target, policies and alarm, or remove ours."""
        want = self.desired.scaling
        seen = self.observed.scaling
        target = seen.target
        if target is not None and self.foreign(target.owner_uid):
            if want is not None:
                self.conflict(
                    "Application Auto Scaling scalable target", target.resource_id, target
                )
            # Someone else's autoscaling of our component: never touched.
            return
        if want is None:
            self.unscale()
            return
        if not self.scalable():
            return
        self.clamp_instances()
        if (
            target is None
            or target.dimension != want.dimension
            or (target.min_capacity, target.max_capacity) != (want.min_capacity, want.max_capacity)
        ):
            self.actions.append(
                RegisterScalableTarget(
                    name=want.resource_id,
                    dimension=want.dimension,
                    min_capacity=want.min_capacity,
                    max_capacity=want.max_capacity,
                    tags=self.desired.tags,
                )
            )
        self.put_policy(want.policy_name, "TargetTrackingScaling", want.target_tracking)
        zero = want.from_zero
        wanted = {want.policy_name} | ({zero.policy_name} if zero else set())
        for name in sorted(set(seen.policies) - wanted):
            if name in self.own_policy_names():
                self.actions.append(
                    DeleteScalingPolicy(
                        name=name,
                        resource_id=want.resource_id,
                        dimension=want.dimension,
                        owner_uid=self.desired.owner.uid,
                    )
                )
        if zero is None:
            self.delete_alarm()
            return
        self.put_policy(zero.policy_name, "StepScaling", zero.step)
        policy = seen.policies.get(zero.policy_name)
        if policy is None:
            self.waiting.append(f"scaling policy {zero.policy_name} before its alarm")
            return
        alarm = seen.alarm
        if alarm is not None and self.foreign(alarm.owner_uid):
            self.conflict("CloudWatch alarm", alarm.name, alarm)
            return
        spec = {**zero.alarm, "AlarmActions": [policy.arn]}
        if alarm is None:
            self.actions.append(
                CreateAlarm(name=zero.alarm_name, spec=spec, tags=self.desired.tags)
            )
        elif alarm.actions != (policy.arn,) or not settings_match(zero.alarm, alarm.settings):
            self.actions.append(
                UpdateAlarm(name=zero.alarm_name, spec=spec, tags=self.desired.tags)
            )

    def scalable(self) -> bool:
        """The component (or variant) to scale exists, is ours and in service."""
        ep = self.observed.endpoint
        if ep is None or ep.status != "InService" or self.foreign(ep.owner_uid):
            return False
        if self.desired.endpoint_type == "Model":
            return ep.config_name == self.desired.endpoint_config.name
        base = self.desired.components[0]
        have = self.observed.components.get(base.name)
        return (
            have is not None
            and not self.foreign(have.owner_uid)
            and have.endpoint_name == ep.name
            and have.status == "InService"
        )

    def own_policy_names(self) -> set[str]:
        """Policies carry no tags: ours are these names on a target whose tags are ours."""
        endpoint = self.desired.endpoint_name
        return {
            naming.target_tracking_policy_name(endpoint),
            naming.from_zero_policy_name(endpoint),
        }

    def put_policy(self, name: str, policy_type: str, configuration: Mapping[str, Any]) -> None:
        want = self.desired.scaling
        assert want is not None
        have = self.observed.scaling.policies.get(name)
        if (
            have is not None
            and have.policy_type == policy_type
            and settings_match(configuration, have.configuration)
        ):
            return
        self.actions.append(
            PutScalingPolicy(
                name=name,
                resource_id=want.resource_id,
                dimension=want.dimension,
                policy_type=policy_type,
                configuration=configuration,
                owner_uid=self.desired.owner.uid,
            )
        )

    def delete_alarm(self) -> None:
        alarm = self.observed.scaling.alarm
        if alarm is not None and not self.foreign(alarm.owner_uid):
            self.actions.append(DeleteAlarm(name=alarm.name, owner_uid=self.desired.owner.uid))

    def deregister(self, target: ObservedTarget) -> None:
        """Delete our policies on our `target`, then the target itself."""
        for name in sorted(set(self.observed.scaling.policies) & self.own_policy_names()):
            self.actions.append(
                DeleteScalingPolicy(
                    name=name,
                    resource_id=target.resource_id,
                    dimension=target.dimension,
                    owner_uid=self.desired.owner.uid,
                )
            )
        self.actions.append(
            DeregisterScalableTarget(
                name=target.resource_id,
                dimension=target.dimension,
                owner_uid=self.desired.owner.uid,
            )
        )

    def unscale(self) -> None:
        """Remove our alarm, policies and target: alarm first, target last."""
        self.delete_alarm()
        target = self.observed.scaling.target
        if target is None:
            return
        self.deregister(target)
        # Back to the fixed count: components follow resources.copies on their own;
        # a variant's instance count is set here, while the target still says it was ours.
        ep = self.observed.endpoint
        fixed = self.desired.endpoint_config.initial_instance_count
        if (
            self.desired.endpoint_type == "Model"
            and ep is not None
            and ep.status == "InService"
            and not self.foreign(ep.owner_uid)
            and ep.desired_instances is not None
            and ep.desired_instances != fixed
        ):
            self.actions.append(
                UpdateEndpointWeightsAndCapacities(
                    name=ep.name, variant_name=self.variant_name(), instances=fixed
                )
            )

    def clamp_instances(self) -> None:
        """A variant's instance count outside a changed range goes to the nearest bound."""
        want = self.desired.scaling
        ep = self.observed.endpoint
        if want is None or ep is None or self.desired.endpoint_type != "Model":
            return
        if ep.desired_instances is None:
            return
        clamped = want.clamp(ep.desired_instances)
        if clamped != ep.desired_instances:
            self.actions.append(
                UpdateEndpointWeightsAndCapacities(
                    name=ep.name, variant_name=self.variant_name(), instances=clamped
                )
            )

    # garbage

    def garbage(self) -> None:
        """Delete our models and configs nothing uses: only once everything runs on the new.

        Runs only in a pass that queued nothing else (see `reconcile`).
        """
        ep = self.observed.endpoint
        if ep is None or ep.status != "InService":
            return
        if ep.config_name != self.desired.endpoint_config.name:
            return
        for want in self.desired.components:
            have = self.observed.components.get(want.name)
            if have is None or have.status != "InService" or not spec_matches(want, have):
                return
        wanted = {c.name for c in self.desired.components}
        if any(
            name not in wanted and not self.foreign(c.owner_uid)
            for name, c in self.observed.components.items()
        ):
            return  # a component on its way out may still run an old model
        for name, config in sorted(self.observed.endpoint_configs.items()):
            if name != self.desired.endpoint_config.name and not self.foreign(config.owner_uid):
                self.actions.append(DeleteEndpointConfig(name=name))
        for name, model in sorted(self.observed.models.items()):
            if name != self.desired.model.name and not self.foreign(model.owner_uid):
                self.actions.append(DeleteModel(name=name))

    # rejected requests

    def drop_rejected(self) -> dict[str, Failure]:
        """Hold back requests SageMaker rejected as they are, and everything after them."""
        kept: dict[str, Failure] = {}
        for index, action in enumerate(self.actions):
            key = action.key
            rejection = self.memory.rejected.get(key)
            if rejection is None or rejection.fingerprint != action.fingerprint():
                continue
            kept[key] = rejection
            self.problems.append(
                Problem(
                    "Rejected",
                    f"SageMaker rejected {key.replace('/', ' ')}: {rejection.reason}",
                    f"Rejected/{key}/{rejection.fingerprint}",
                )
            )
            del self.actions[index:]
            break
        return kept

    def transitioning(self) -> bool:
        ep = self.observed.endpoint
        if ep is not None and ep.status in ENDPOINT_TRANSITIONING:
            return True
        for c in self.observed.components.values():
            if self.foreign(c.owner_uid):
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

    def warning_events(self) -> tuple[str, ...]:
        """Emit one Warning per problem not reported yet; return the keys now active."""
        active: list[str] = []
        for problem in self.problems:
            if problem.event_key in active:
                continue
            active.append(problem.event_key)
            if problem.event_key not in self.memory.reported:
                self.events.append(PlanEvent("Warning", problem.reason, problem.message))
        return tuple(active)


def reconcile(desired: DesiredState, observed: ObservedState, memory: PlanMemory) -> Plan:
    p = Pass(desired, observed, memory)
    ep = observed.endpoint
    if ep is not None and p.foreign(ep.owner_uid):
        p.conflict("endpoint", ep.name, ep)
    elif p.claimed():
        # Order matters: dependencies (and the rollback alarms a guarded update
        # names) before the endpoint's own changes; garbage last, and only when
        # this pass queued nothing else.
        p.alarms()
        p.missing_dependencies()
        if p.endpoint():
            p.components()
            p.stale_components()
            p.scaling()
        if not p.actions:
            p.garbage()
        p.finished()
        # Resources made before the cluster id existed get it: after everything
        # else, so tagging never delays a change.
        p.actions += stamp(desired, observed)
    rejected = p.drop_rejected()
    if p.rollout is not None and p.rollout.step == "Starting":
        started = any(isinstance(a, UpdateEndpoint | UpdateInferenceComponent) for a in p.actions)
        if not started:  # held back: SageMaker rejected this very request before
            p.rollout = dataclasses.replace(
                p.rollout,
                phase="Failed",
                step=None,
                message=failure_reason(p.problems) or "SageMaker rejected the update",
            )
    rollout_step = p.rollout_events()
    reported = p.warning_events()
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
        alarms=p.alarm_names(),
        autoscaled=desired.scaling is not None or _scaling_left(p),
    )

    ready = _ready(desired, observed, p)
    moving = bool(p.actions) or p.transitioning()
    rollout = p.rollout
    # During a guarded rollout and after its rollback the previous version serves.
    on_previous = (
        not ready
        and rollout is not None
        and rollout.phase in ("InProgress", "Baking", ROLLED_BACK)
        and _serving(desired, observed)
    )
    rolled_back_only = bool(p.problems) and all(x.reason == ROLLED_BACK for x in p.problems)
    if p.problems and not (on_previous and rolled_back_only):
        phase: Phase = "Failed"
    elif ready or (on_previous and rolled_back_only) or ready:
        phase = "InService"
    elif ep is None:
        phase = "Creating" if any(isinstance(a, CreateEndpoint) for a in p.actions) else "Pending"
    elif ep.status in ("Creating", "Failed") or _first_deployment(desired, observed):
        phase = "Creating"
    else:
        phase = "Updating"

    reason = failure_reason(p.problems)
    degraded = degraded_condition(p.problems)
    if ready and _scaled_to_zero(p):
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
    if moving and rollout is not None and rollout.phase in ("InProgress", "Baking"):
        step = f" [{rollout.step}]" if rollout.step else ""
        queued = (
            f"; generation {rollout.pending_generation} waits for it to end"
            if rollout.pending_generation is not None
            else ""
        )
        progressing = ConditionInput(
            True,
            "RollingOut",
            f"Generation {rollout.generation}{step}: {rollout.message}{queued}",
        )
    elif moving:
        moving_reason = "Reconciling" if phase in ("InService", "Failed") else phase
        progressing = ConditionInput(True, moving_reason, progress_message(p))
    elif p.problems:
        progressing = ConditionInput(False, "Blocked", "Waiting for the spec to change")
    else:
        progressing = ConditionInput(False, "Settled", "Nothing left to do")
    return Plan(
        actions=tuple(p.actions),
        phase=phase,
        settled=not moving,
        done_deleting=False,
        failure_reason=reason,
        ready=ready_condition,
        progressing=progressing,
        degraded=degraded,
        events=tuple(p.events),
        memory=new_memory,
        rollout=rollout,
    )


def _service(kind: str) -> str:
    """How a conflict message introduces a kind: SageMaker's resources by service."""
    return "" if kind.startswith(("CloudWatch", "Application Auto Scaling")) else "SageMaker "


def rollout_key(report: RolloutReport) -> str:
    return f"{report.target}|{report.phase}|{report.step or ''}"


def rollout_key_parts(key: str | None) -> tuple[str, str] | None:
    """(target, phase) of a `rollout_key`."""
    if key is None or key.count("|") < 2:
        return None
    target, phase, _ = key.split("|", 2)
    return target, phase


def _serving(desired: DesiredState, observed: ObservedState) -> bool:
    """The endpoint (and its base component) still take traffic on some version of ours."""
    ep = observed.endpoint
    if ep is None or ep.status not in SERVING or ep.owner_uid != desired.owner.uid:
        return False
    if desired.components:
        base = observed.components.get(desired.components[0].name)
        if base is None or base.owner_uid != desired.owner.uid:
            return False
        if base.status not in ("InService", "Updating") or not base.current_copies:
            return desired.components[0].copies == 0 and base.status == "InService"
    return True


def _ready(desired: DesiredState, observed: ObservedState, p: Pass | None = None) -> bool:
    """`p`: the pass, whose copy count to hold (spec.autoscaling) counts as desired."""
    ep = observed.endpoint
    if ep is None or ep.status != "InService" or ep.config_name != desired.endpoint_config.name:
        return False
    if ep.owner_uid != desired.owner.uid:
        return False
    for want in desired.components:
        have = observed.components.get(want.name)
        if have is None or have.owner_uid != desired.owner.uid or have.endpoint_name != ep.name:
            return False
        if not component_ready(p.scaled(want) if p is not None else want, have):
            return False
    return True


def _scaling_left(p: Pass) -> bool:
    """Something of ours in Application Auto Scaling or CloudWatch still to remove."""
    seen = p.observed.scaling
    return (seen.target is not None and not p.foreign(seen.target.owner_uid)) or (
        seen.alarm is not None and not p.foreign(seen.alarm.owner_uid)
    )


def _scaled_to_zero(p: Pass) -> bool:
    if p.desired.scaling is None or not p.desired.components:
        return False
    base = p.observed.components.get(p.desired.components[0].name)
    return base is not None and base.desired_copies == 0 and not base.current_copies


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


def _first_deployment(desired: DesiredState, observed: ObservedState) -> bool:
    """The base component has never come up: still part of creating the endpoint."""
    if not desired.components:
        return False
    base = observed.components.get(desired.components[0].name)
    return base is None or base.status == "Creating"


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
