"""The pure decision: which SageMaker calls bring what exists closer to what should exist.

`plan()` does no I/O and reads no clock, so every transition is a table-driven
unit test. It only asks for calls SageMaker accepts in the observed state
(nothing is changed while it is transitioning), so the shell can execute a plan
blindly, observe again and plan again until `Plan.settled`.

SageMaker's failures are not retried hot: what failed is either visible in the
observed state (a Failed endpoint or component keeps its configuration) or kept
in `PlanMemory`, which the shell stores in the resource's status between
reconciles. A failure is retried only once the spec asks for something else.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from llm_operator.api.models import DeletionPolicy, Phase
from llm_operator.core import naming
from llm_operator.core.actions import (
    Action,
    CreateEndpoint,
    CreateEndpointConfig,
    CreateInferenceComponent,
    CreateModel,
    DeleteEndpoint,
    DeleteEndpointConfig,
    DeleteInferenceComponent,
    DeleteModel,
    UpdateEndpoint,
    UpdateInferenceComponent,
    UpdateInferenceComponentRuntimeConfig,
)
from llm_operator.core.desired import DesiredComponent, DesiredState
from llm_operator.core.observed import (
    ObservedComponent,
    ObservedEndpoint,
    ObservedResource,
    ObservedState,
)

EventType = Literal["Normal", "Warning"]

# Endpoint states that end on their own; SageMaker refuses changes meanwhile.
ENDPOINT_TRANSITIONING = frozenset(
    {"Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting", "OutOfService"}
)
COMPONENT_TRANSITIONING = frozenset({"Creating", "Updating", "Deleting"})
# States from which DeleteEndpoint / DeleteInferenceComponent are accepted.
ENDPOINT_DELETABLE = frozenset({"InService", "Failed", "UpdateRollbackFailed"})
COMPONENT_DELETABLE = frozenset({"InService", "Failed"})


@dataclass(frozen=True)
class Failure:
    """A change SageMaker refused or rolled back, and why."""

    # Identifies the exact change: an endpoint config name (names carry a content
    # hash), a component fingerprint, or an action fingerprint.
    fingerprint: str
    reason: str


@dataclass(frozen=True)
class PlanMemory:
    """What the planner needs to remember between reconciles (stored in status).

    The shell persists `Plan.memory` after every action of the plan succeeded. If
    an action raised, it keeps the memory it passed in (plus `with_rejection` for
    an error that retrying the same request cannot fix), so an update that was
    never issued is never mistaken for one that failed.
    """

    # Endpoint config name of the UpdateEndpoint issued and not yet seen to finish.
    endpoint_update: str | None = None
    # An UpdateEndpoint SageMaker rolled back (endpoint InService on the old config
    # with a FailureReason); not re-issued while the desired config name is the same.
    failed_endpoint_update: Failure | None = None
    # Component name -> fingerprint of the Update* issued and not yet seen to finish.
    component_updates: Mapping[str, str] = field(default_factory=dict)
    # Component name -> the update SageMaker rolled back; not re-issued until the
    # component's desired fingerprint changes.
    failed_component_updates: Mapping[str, Failure] = field(default_factory=dict)
    # action_key() -> a request SageMaker rejected outright (ValidationException,
    # ResourceLimitExceeded); not re-sent until the request itself changes.
    rejected: Mapping[str, Failure] = field(default_factory=dict)
    # Keys of the Warning events already emitted for problems still present, so a
    # problem gives one Event, not one per reconcile. Keys are "<Reason>/...";
    # name clashes are exactly "NameConflict/<kind>/<resource name>".
    reported: tuple[str, ...] = ()

    def with_rejection(
        self, action: Action, reason: str, *, secrets: Iterable[str] = ()
    ) -> PlanMemory:
        """Remember that SageMaker rejected `action`; the shell calls this on such errors.

        `secrets` (the Hugging Face token) are blanked out of the reason, since a
        ValidationException may quote the request's values back.
        """
        for secret in secrets:
            if secret:
                reason = reason.replace(secret, "***")
        rejected = dict(self.rejected)
        rejected[action_key(action)] = Failure(action_fingerprint(action), reason)
        return replace(self, rejected=rejected)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape kept under status.

        Every key is always present (None when empty) and keyed collections are
        lists, because the shell writes status with a JSON merge patch: a missing
        key or a map entry left out would keep its old value there, a list is
        replaced whole.
        """

        def entries(items: Mapping[str, Failure], key: str) -> list[dict[str, str]]:
            return [
                {key: k, "fingerprint": v.fingerprint, "reason": v.reason}
                for k, v in sorted(items.items())
            ]

        failed = self.failed_endpoint_update
        return {
            "endpointUpdate": self.endpoint_update,
            "failedEndpointUpdate": (
                {"fingerprint": failed.fingerprint, "reason": failed.reason} if failed else None
            ),
            "componentUpdates": [
                {"name": k, "fingerprint": v} for k, v in sorted(self.component_updates.items())
            ],
            "failedComponentUpdates": entries(self.failed_component_updates, "name"),
            "rejected": entries(self.rejected, "action"),
            "reported": list(self.reported),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PlanMemory:
        """Read what `to_dict` wrote; anything missing or malformed reads as empty."""
        if not isinstance(data, Mapping):
            return cls()

        def failure(value: Any) -> Failure | None:
            if isinstance(value, Mapping):
                fp, reason = value.get("fingerprint"), value.get("reason")
                if isinstance(fp, str) and isinstance(reason, str):
                    return Failure(fp, reason)
            return None

        def rows(value: Any, key: str) -> list[tuple[str, Mapping[str, Any]]]:
            if not isinstance(value, list):
                return []
            return [
                (row[key], row)
                for row in value
                if isinstance(row, Mapping) and isinstance(row.get(key), str)
            ]

        def failures(value: Any, key: str) -> dict[str, Failure]:
            out = {name: failure(row) for name, row in rows(value, key)}
            return {k: v for k, v in out.items() if v is not None}

        endpoint_update = data.get("endpointUpdate")
        reported = data.get("reported")
        return cls(
            endpoint_update=endpoint_update if isinstance(endpoint_update, str) else None,
            failed_endpoint_update=failure(data.get("failedEndpointUpdate")),
            component_updates={
                name: row["fingerprint"]
                for name, row in rows(data.get("componentUpdates"), "name")
                if isinstance(row.get("fingerprint"), str)
            },
            failed_component_updates=failures(data.get("failedComponentUpdates"), "name"),
            rejected=failures(data.get("rejected"), "action"),
            reported=(
                tuple(r for r in reported if isinstance(r, str))
                if isinstance(reported, list)
                else ()
            ),
        )


@dataclass(frozen=True)
class ConditionInput:
    """One standard condition as the planner sees it; status.py adds times and generation."""

    status: bool
    reason: str
    message: str


@dataclass(frozen=True)
class PlanEvent:
    type: EventType
    reason: str
    message: str


@dataclass(frozen=True, repr=False)
class Plan:
    # Ordered: execute front to back, stop at the first error.
    actions: tuple[Action, ...]
    phase: Phase
    # Nothing to do and nothing transitioning: the shell may poll slowly.
    settled: bool
    # Deletion finished: the shell may remove the finalizer.
    done_deleting: bool
    failure_reason: str | None
    ready: ConditionInput
    progressing: ConditionInput
    degraded: ConditionInput
    events: tuple[PlanEvent, ...]
    # To store in status once the actions succeeded (see PlanMemory).
    memory: PlanMemory

    def __repr__(self) -> str:
        # Actions are named, never printed whole: a CreateModel request holds the token.
        keys = ", ".join(action_key(a) for a in self.actions)
        return (
            f"Plan(phase={self.phase}, actions=[{keys}], settled={self.settled}, "
            f"done_deleting={self.done_deleting}, failure_reason={self.failure_reason!r})"
        )


def action_key(action: Action) -> str:
    """Which resource an action acts on and how, e.g. `CreateEndpoint/my-endpoint`."""
    kind = type(action).__name__
    if isinstance(action, CreateModel):
        return f"{kind}/{action.request.get('ModelName', '')}"
    if isinstance(action, CreateEndpointConfig):
        return f"{kind}/{action.request.get('EndpointConfigName', '')}"
    return f"{kind}/{action.name}"


def action_fingerprint(action: Action) -> str:
    """A short hash of everything the action sends, tags included.

    Models and endpoint configs are identified by their names, which already
    carry a hash of their content: the model request holds the Hugging Face
    token, which must not even be hashed into status.
    """
    if isinstance(action, CreateModel | CreateEndpointConfig):
        return _digest(
            {"kind": type(action).__name__, "key": action_key(action), "tags": action.tags}
        )
    return _digest({"kind": type(action).__name__, **vars(action)})


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=_json_default, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def component_fingerprint(component: DesiredComponent) -> str:
    """Identifies one desired version of a component: its specification and copies."""
    return _digest({"specification": component.specification, "copies": component.copies})


# --- comparing desired and observed components -------------------------------------


def _spec_model(component: DesiredComponent) -> str | None:
    value = component.specification.get("ModelName")
    return value if isinstance(value, str) else None


def _spec_artifact(component: DesiredComponent) -> str | None:
    container = component.specification.get("Container")
    if isinstance(container, Mapping):
        value = container.get("ArtifactUrl")
        return value if isinstance(value, str) else None
    return None


def _spec_base(component: DesiredComponent) -> str | None:
    value = component.specification.get("BaseInferenceComponentName")
    return value if isinstance(value, str) else component.base_component


def _spec_compute(component: DesiredComponent) -> Mapping[str, Any] | None:
    value = component.specification.get("ComputeResourceRequirements")
    return value if isinstance(value, Mapping) else None


def _compute_matches(want: Mapping[str, Any] | None, have: Mapping[str, float] | None) -> bool:
    """Compare only what we ask for: SageMaker may describe defaults we never set."""
    if not want:
        return True
    if have is None:
        return False
    for key, value in want.items():
        if key not in have:
            return False
        try:
            if float(have[key]) != float(value):
                return False
        except (TypeError, ValueError):
            return False
    return True


def spec_matches(desired: DesiredComponent, observed: ObservedComponent) -> bool:
    """Whether the component runs the desired specification (copies aside).

    Only what the desired specification sets is compared: SageMaker describes
    more (an adapter's inherited model, a base's deployed container) than we send.
    """
    model, artifact = _spec_model(desired), _spec_artifact(desired)
    return (
        (model is None or model == observed.model_name)
        and (artifact is None or artifact == observed.artifact_url)
        and _spec_base(desired) == observed.base_component
        and _compute_matches(_spec_compute(desired), observed.compute)
    )


def copies_match(desired: DesiredComponent, observed: ObservedComponent) -> bool:
    return desired.copies is None or observed.desired_copies == desired.copies


def component_ready(desired: DesiredComponent, observed: ObservedComponent | None) -> bool:
    """InService on the desired specification with every desired copy running."""
    return (
        observed is not None
        and observed.status == "InService"
        and spec_matches(desired, observed)
        and copies_match(desired, observed)
        and (desired.copies is None or observed.current_copies == desired.copies)
    )


# --- the planning pass --------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    """Something that stops convergence until a person acts: Degraded."""

    reason: str
    message: str
    event_key: str


class _Pass:
    """Mutable scratchpad of one plan() call."""

    def __init__(self, desired: DesiredState, observed: ObservedState, memory: PlanMemory):
        self.desired = desired
        self.observed = observed
        self.memory = memory
        self.actions: list[Action] = []
        self.problems: list[_Problem] = []
        self.waiting: list[str] = []
        self.events: list[PlanEvent] = []
        self.endpoint_update = memory.endpoint_update
        self.failed_endpoint_update = memory.failed_endpoint_update
        self.component_updates = dict(memory.component_updates)
        self.failed_component_updates = dict(memory.failed_component_updates)

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
        resource: ObservedEndpoint | ObservedComponent | ObservedResource,
    ) -> None:
        key = f"NameConflict/{kind}/{name}"
        if any(p.event_key == key for p in self.problems):
            return
        if resource.owner_name:
            whose = f"belongs to LLMEndpoint {resource.owner_name}"
        elif resource.owner_uid:
            whose = f"is tagged for another owner (uid {resource.owner_uid})"
        else:
            whose = "has no ownership tags (it was not created by this LLMEndpoint)"
        self.problems.append(
            _Problem(
                "NameConflict",
                f"SageMaker {kind} {name} {whose}; the operator leaves it alone. Delete or "
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
            self.actions.append(CreateModel(request=model.create_request, tags=self.desired.tags))
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
                CreateEndpointConfig(request=config.create_request, tags=self.desired.tags)
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
                    _Problem(
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
                _Problem(
                    "UpdateRollbackFailed",
                    f"SageMaker endpoint {ep.name} could not roll back an update: {reason}",
                    f"UpdateRollbackFailed/{ep.name}",
                )
            )
            return False
        if ep.status != "InService":
            self.waiting.append(f"endpoint {ep.name} to leave {ep.status}")
            return False
        return self.endpoint_in_service(ep)

    def endpoint_in_service(self, ep: ObservedEndpoint) -> bool:
        desired_config = self.desired.endpoint_config.name
        if self.endpoint_update is not None:
            if ep.config_name == self.endpoint_update:
                self.endpoint_update = None
            else:
                if ep.failure_reason and self.endpoint_update == desired_config:
                    self.failed_endpoint_update = Failure(desired_config, ep.failure_reason)
                self.endpoint_update = None
        failed = self.failed_endpoint_update
        if failed is not None and (
            failed.fingerprint != desired_config or ep.config_name == desired_config
        ):
            self.failed_endpoint_update = failed = None
        if ep.config_name == desired_config:
            return True
        if failed is not None:
            self.problems.append(
                _Problem(
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
        if self.ensure_config(creating_endpoint=False):
            self.actions.append(UpdateEndpoint(name=ep.name, config_name=desired_config))
            self.endpoint_update = desired_config
        return False

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

    def component(self, want: DesiredComponent) -> bool:
        """Converge one component; True when it is InService and untouched by this pass."""
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
            return False
        if have.status == "Failed":
            self.failed_component(want, have)
            return False
        if have.status != "InService":
            self.waiting.append(f"inference component {want.name} to leave {have.status}")
            return False
        return self.component_in_service(want, have)

    def create_component(self, want: DesiredComponent) -> None:
        if _spec_model(want) == self.desired.model.name and not self.ensure_model():
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
                _Problem(
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
        if issued is not None and not converged and issued == fingerprint and have.failure_reason:
            self.failed_component_updates[want.name] = Failure(fingerprint, have.failure_reason)
        failed = self.failed_component_updates.get(want.name)
        if failed is not None and (failed.fingerprint != fingerprint or converged):
            del self.failed_component_updates[want.name]
            failed = None
        if converged:
            if want.copies is not None and have.current_copies != want.copies:
                self.waiting.append(
                    f"inference component {want.name} copies "
                    f"{have.current_copies or 0}/{want.copies}"
                )
            return True
        if failed is not None:
            self.problems.append(
                _Problem(
                    "ComponentUpdateFailed",
                    f"SageMaker rolled back inference component {want.name}: {failed.reason}",
                    f"ComponentUpdateFailed/{want.name}/{failed.fingerprint}",
                )
            )
            return True  # still serving the previous version
        if _spec_base(want) != have.base_component:
            # An adapter cannot move to another base: replace it.
            self.delete_component(have)
            return False
        if spec_ok and want.copies is not None:
            self.actions.append(
                UpdateInferenceComponentRuntimeConfig(name=want.name, copies=want.copies)
            )
        else:
            if _spec_model(want) == self.desired.model.name and not self.ensure_model():
                return False
            self.actions.append(
                UpdateInferenceComponent(
                    name=want.name, specification=want.specification, copies=want.copies
                )
            )
        self.component_updates[want.name] = fingerprint
        return False

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
        """Delete components of ours on the endpoint that the spec no longer has."""
        wanted = {c.name for c in self.desired.components}
        stale = [
            c
            for c in self.observed.components.values()
            if c.name not in wanted and not self.foreign(c.owner_uid)
        ]
        for have in sorted(stale, key=lambda c: (c.base_component is None, c.name)):
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

    # garbage

    def garbage(self) -> None:
        """Delete our models and configs nothing uses: only once everything runs on the new."""
        ep = self.observed.endpoint
        if ep is None or ep.status != "InService":
            return
        if ep.config_name != self.desired.endpoint_config.name or self.actions:
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
            key = action_key(action)
            rejection = self.memory.rejected.get(key)
            if rejection is None or rejection.fingerprint != action_fingerprint(action):
                continue
            kept[key] = rejection
            self.problems.append(
                _Problem(
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


def plan(
    desired: DesiredState,
    observed: ObservedState,
    *,
    deleting: bool,
    deletion_policy: DeletionPolicy,
    memory: PlanMemory,
) -> Plan:
    """The calls to make now, and what to tell the user about where things stand."""
    if deleting:
        if deletion_policy == "Retain":
            return _plan_retain(desired, observed, memory)
        return _plan_delete(desired, observed, memory)
    return _plan_reconcile(desired, observed, memory)


def _plan_reconcile(desired: DesiredState, observed: ObservedState, memory: PlanMemory) -> Plan:
    p = _Pass(desired, observed, memory)
    ep = observed.endpoint
    if ep is not None and p.foreign(ep.owner_uid):
        p.conflict("endpoint", ep.name, ep)
    elif p.claimed():
        # Order matters: dependencies before the endpoint's own changes; garbage
        # last, and only when this pass queued nothing else.
        p.missing_dependencies()
        if p.endpoint():
            p.components()
            p.stale_components()
        p.garbage()
    rejected = p.drop_rejected()
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
    )

    ready = _ready(desired, observed)
    moving = bool(p.actions) or p.transitioning()
    if p.problems:
        phase: Phase = "Failed"
    elif ready:
        phase = "InService"
    elif ep is None:
        phase = "Creating" if any(isinstance(a, CreateEndpoint) for a in p.actions) else "Pending"
    elif ep.status in ("Creating", "Failed") or _first_deployment(desired, observed):
        phase = "Creating"
    else:
        phase = "Updating"

    failure_reason = "; ".join(pr.message for pr in p.problems) or None
    if p.problems:
        degraded = ConditionInput(True, p.problems[0].reason, failure_reason or "")
    else:
        degraded = ConditionInput(False, "AsExpected", "No failures")
    if ready:
        ready_condition = ConditionInput(
            True, "InService", f"Endpoint {desired.endpoint_name} is serving the desired spec"
        )
    elif p.problems:
        ready_condition = ConditionInput(False, p.problems[0].reason, failure_reason or "")
    else:
        ready_condition = ConditionInput(False, phase, _progress_message(p))
    if moving:
        moving_reason = "Reconciling" if phase in ("InService", "Failed") else phase
        progressing = ConditionInput(True, moving_reason, _progress_message(p))
    elif p.problems:
        progressing = ConditionInput(False, "Blocked", "Waiting for the spec to change")
    else:
        progressing = ConditionInput(False, "Settled", "Nothing left to do")
    return Plan(
        actions=tuple(p.actions),
        phase=phase,
        settled=not moving,
        done_deleting=False,
        failure_reason=failure_reason,
        ready=ready_condition,
        progressing=progressing,
        degraded=degraded,
        events=tuple(p.events),
        memory=new_memory,
    )


def _ready(desired: DesiredState, observed: ObservedState) -> bool:
    ep = observed.endpoint
    if ep is None or ep.status != "InService" or ep.config_name != desired.endpoint_config.name:
        return False
    if ep.owner_uid != desired.owner.uid:
        return False
    for want in desired.components:
        have = observed.components.get(want.name)
        if have is None or have.owner_uid != desired.owner.uid or have.endpoint_name != ep.name:
            return False
        if not component_ready(want, have):
            return False
    return True


def _first_deployment(desired: DesiredState, observed: ObservedState) -> bool:
    """The base component has never come up: still part of creating the endpoint."""
    if not desired.components:
        return False
    base = observed.components.get(desired.components[0].name)
    return base is None or base.status == "Creating"


def _progress_message(p: _Pass) -> str:
    parts: list[str] = []
    if p.actions:
        parts.append("Calling " + ", ".join(action_key(a).replace("/", " ") for a in p.actions))
    if p.waiting:
        parts.append("waiting for " + "; ".join(p.waiting))
    if not parts:
        return "Waiting for SageMaker"
    text = "; ".join(parts)
    return text[0].upper() + text[1:]


# --- deletion -----------------------------------------------------------------------


def _owned(p: _Pass, resources: Iterable[ObservedResource]) -> list[ObservedResource]:
    return [r for r in resources if not p.foreign(r.owner_uid)]


def _plan_delete(desired: DesiredState, observed: ObservedState, memory: PlanMemory) -> Plan:
    p = _Pass(desired, observed, memory)
    ep = observed.endpoint
    if ep is not None and p.foreign(ep.owner_uid):
        p.conflict("endpoint", ep.name, ep)
        ep = None  # not ours: neither it nor its components are touched
    everything = list(observed.components.values())
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
    configs = _owned(p, observed.endpoint_configs.values())
    models = _owned(p, observed.models.values())
    if ep is None:
        for config in sorted(configs, key=lambda r: r.name):
            p.actions.append(DeleteEndpointConfig(name=config.name))
        for model in sorted(models, key=lambda r: r.name):
            p.actions.append(DeleteModel(name=model.name))
    for kind, mapping in (
        ("endpoint config", observed.endpoint_configs),
        ("model", observed.models),
    ):
        for r in mapping.values():
            if p.foreign(r.owner_uid):
                p.conflict(kind, r.name, r)

    done = ep is None and not ours and not configs and not models
    reported = p.warning_events()
    message = _progress_message(p) if not done else "All SageMaker resources deleted"
    failure_reason = "; ".join(pr.message for pr in p.problems) or None
    degraded = (
        ConditionInput(True, p.problems[0].reason, failure_reason or "")
        if p.problems
        else ConditionInput(False, "AsExpected", "No failures")
    )
    return Plan(
        actions=tuple(p.actions),
        phase="Deleting",
        settled=done,
        done_deleting=done,
        failure_reason=failure_reason,
        ready=ConditionInput(False, "Deleting", "The LLMEndpoint is being deleted"),
        progressing=ConditionInput(not done, "Deleting", message),
        degraded=degraded,
        events=tuple(p.events),
        memory=replace(memory, reported=reported),
    )


def _plan_retain(desired: DesiredState, observed: ObservedState, memory: PlanMemory) -> Plan:
    p = _Pass(desired, observed, memory)
    kept: list[str] = []
    ep = observed.endpoint
    if ep is not None and not p.foreign(ep.owner_uid):
        kept.append(f"endpoint {ep.name}")
        comps = sorted(c.name for c in observed.components.values() if not p.foreign(c.owner_uid))
        if comps:
            kept.append("inference components " + ", ".join(comps))
    configs = sorted(r.name for r in _owned(p, observed.endpoint_configs.values()))
    if configs:
        kept.append("endpoint configs " + ", ".join(configs))
    models = sorted(r.name for r in _owned(p, observed.models.values()))
    if models:
        kept.append("models " + ", ".join(models))
    message = (
        "deletionPolicy Retain: kept " + "; ".join(kept)
        if kept
        else "deletionPolicy Retain: no SageMaker resources to keep"
    )
    return Plan(
        actions=(),
        phase="Deleting",
        settled=True,
        done_deleting=True,
        failure_reason=None,
        ready=ConditionInput(False, "Deleting", "The LLMEndpoint is being deleted"),
        progressing=ConditionInput(False, "Retained", message),
        degraded=ConditionInput(False, "AsExpected", "No failures"),
        events=(PlanEvent("Normal", "Retained", message),),
        memory=memory,
    )
