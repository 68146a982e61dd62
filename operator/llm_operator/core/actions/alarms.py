"""CloudWatch alarms: the rollback alarms of spec.rollout.autoRollback and the no-capacity
alarm of scaling to zero (spec.autoscaling)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from llm_operator.core import naming
from llm_operator.core.actions.base import Action, Creation, Effect, Guard, Lookup, tag_list
from llm_operator.core.desired import UID_TAG, Owner
from llm_operator.core.kinds import Kind
from llm_operator.core.observed import ObservedAlarm, ObservedScalingAlarm, ObservedState


@dataclass(frozen=True)
class CreateAlarm(Creation):
    """A rollback alarm of spec.rollout.autoRollback (CloudWatch PutMetricAlarm).

    PutMetricAlarm overwrites an alarm of the same name, so the shell checks the
    name is free or ours right before the call.
    """

    operation: ClassVar[str] = "PutMetricAlarm"
    guard: ClassVar[Guard] = Guard.ALARM
    lookup: ClassVar[Lookup] = Lookup.ALARM
    kind: ClassVar[Kind] = Kind.ALARM
    spec: Mapping[str, Any]  # PutMetricAlarm kwargs without Tags

    def lookup_request(self) -> dict[str, Any]:
        return alarm_lookup(self.name)

    def request(self) -> dict[str, Any]:
        return self._tagged({**self.spec, "AlarmName": self.name})

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        return _alarm_put(observed, self.name, self.spec, owner)


@dataclass(frozen=True)
class UpdateAlarm(Action):
    """A new threshold for an alarm of ours; the tags are sent again (CloudWatch ignores
    them on an existing alarm, but an IAM policy may require them on every request)."""

    operation: ClassVar[str] = "PutMetricAlarm"
    guard: ClassVar[Guard] = Guard.ALARM
    lookup: ClassVar[Lookup] = Lookup.ALARM
    kind: ClassVar[Kind] = Kind.ALARM
    effect: ClassVar[Effect] = Effect.UPDATE
    spec: Mapping[str, Any]
    tags: Mapping[str, str]

    def required_uid(self) -> str | None:
        return self.tags.get(UID_TAG)

    def lookup_request(self) -> dict[str, Any]:
        return alarm_lookup(self.name)

    def request(self) -> dict[str, Any]:
        tags = tag_list(self.tags)
        return {**self.spec, "AlarmName": self.name, "Tags": tags}

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        return _alarm_put(observed, self.name, self.spec, owner)


@dataclass(frozen=True)
class DeleteAlarm(Action):
    operation: ClassVar[str] = "DeleteAlarms"
    guard: ClassVar[Guard] = Guard.ALARM
    lookup: ClassVar[Lookup] = Lookup.ALARM
    kind: ClassVar[Kind] = Kind.ALARM
    effect: ClassVar[Effect] = Effect.DELETE
    owner_uid: str  # the shell re-reads the alarm's tags and deletes only when they match

    def required_uid(self) -> str | None:
        return self.owner_uid

    def lookup_request(self) -> dict[str, Any]:
        return alarm_lookup(self.name)

    def request(self) -> dict[str, Any]:
        return {"AlarmNames": [self.name]}

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        scaling = observed.scaling
        if scaling.alarm is not None and scaling.alarm.name == self.name:
            scaling = replace(scaling, alarm=None)
        alarms = {k: v for k, v in observed.alarms.items() if k != self.name}
        return replace(observed, alarms=alarms, scaling=scaling)


def alarm_lookup(name: str) -> dict[str, Any]:
    """DescribeAlarms of one alarm by name (Lookup.ALARM)."""
    return {"AlarmNames": [name]}


def _alarm_put(
    observed: ObservedState, name: str, spec: Mapping[str, Any], owner: Owner
) -> ObservedState:
    """A rollback alarm, or the no-capacity alarm of scaling to zero, as CloudWatch
    describes it once PutMetricAlarm succeeded."""
    cluster_id = owner.cluster_id or None
    if name.endswith(f"-{naming.NO_CAPACITY_SUFFIX}"):
        dimensions = {d["Name"]: d["Value"] for d in spec.get("Dimensions") or []}
        alarm = ObservedScalingAlarm(
            name=name,
            actions=tuple(str(a) for a in spec.get("AlarmActions") or ()),
            settings={**spec, "Dimensions": dimensions},
            owner_uid=owner.uid,
            owner_cluster_id=cluster_id,
            arn=f"(new) {name}",
        )
        return replace(observed, scaling=replace(observed.scaling, alarm=alarm))
    threshold = spec.get("Threshold")
    found = ObservedAlarm(
        name=name,
        threshold=float(threshold) if threshold is not None else None,
        owner_uid=owner.uid,
        owner_cluster_id=cluster_id,
        arn=f"(new) {name}",
    )
    return replace(observed, alarms={**observed.alarms, name: found})
