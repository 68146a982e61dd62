"""What one planning pass works on and collects, and whose resources it may touch."""

from __future__ import annotations

from llm_operator.core.actions import Action
from llm_operator.core.desired import DesiredState
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import (
    ObservedAlarm,
    ObservedComponent,
    ObservedEndpoint,
    ObservedResource,
    ObservedScalingAlarm,
    ObservedState,
    ObservedTarget,
)
from llm_operator.core.plan import PlanEvent, Problem
from llm_operator.core.rollout import RolloutReport


class Pass:
    """Mutable scratchpad of one plan() call, shared by the modules of `core.passes`."""

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
        # spec.pool, moved from an endpoint of its own: see PlanMemory.moved_onto.
        self.moved_onto = memory.moved_onto

    def foreign(self, owner_uid: str | None) -> bool:
        """Not provably ours: untagged (None) or tagged for another owner.

        The one ownership rule: only a resource whose uid tag names this
        LLMEndpoint is ever updated, re-pointed or deleted.
        """
        return owner_uid != self.desired.owner.uid

    def endpoint_ours(self, ep: ObservedEndpoint) -> bool:
        """The endpoint may be used: ours, or for spec.pool the pool's (tagged with its uid)."""
        host = self.desired.host
        if host is not None:
            return ep.owner_uid == host.uid
        return not self.foreign(ep.owner_uid)

    def serves_config(self, ep: ObservedEndpoint) -> bool:
        """The endpoint serves our endpoint config (a pool's serves the pool's)."""
        return self.desired.host is not None or ep.config_name == self.desired.endpoint_config.name

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


def _service(kind: str) -> str:
    """How a conflict message introduces a kind: SageMaker's resources by service."""
    return "" if kind.startswith(("CloudWatch", "Application Auto Scaling")) else "SageMaker "
