"""Tagging calls: the tags deletionPolicy Retain adds to what it keeps, the cluster id added
to resources made before it existed, the ownership tags an unfinished adoption gives
back, and the spec's tags re-applied when they change (`core.retag`). Each acts on
whatever holds the ARN, so the shell reads the resource's tags right before and tags
only when they name `owner_uid`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from llm_operator.core.actions.alarms import alarm_lookup
from llm_operator.core.actions.base import Action, Effect, Guard, Lookup, Notice, tag_list
from llm_operator.core.actions.scaling import target_lookup
from llm_operator.core.desired import CLUSTER_ID_TAG, Owner
from llm_operator.core.kinds import Kind
from llm_operator.core.observed import ObservedState


@dataclass(frozen=True)
class AddTags(Action):
    """Adds tags to a SageMaker resource of ours (AddTags overwrites a key's value);
    one subclass per kind below.

    AddTags acts on whatever holds the ARN, so the shell re-reads the resource's
    tags right before and tags it only when they name `owner_uid`.
    """

    operation: ClassVar[str] = "AddTags"
    guard: ClassVar[Guard] = Guard.TAGS
    lookup: ClassVar[Lookup] = Lookup.ARN
    effect: ClassVar[Effect] = Effect.UPDATE
    notice: ClassVar[Notice] = Notice.TAGGED
    arn: str
    tags: Mapping[str, str]
    owner_uid: str

    def required_uid(self) -> str | None:
        return self.owner_uid

    def tagging(self) -> tuple[str, Mapping[str, str]]:
        return self.arn, self.tags

    def lookup_request(self) -> dict[str, Any]:
        return {"ResourceArn": self.arn}

    def request(self) -> dict[str, Any]:
        return {
            "ResourceArn": self.arn,
            "Tags": tag_list(self.tags),
        }

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        return _retagged(observed, self.kind, self.name, self.tags.get(CLUSTER_ID_TAG))


@dataclass(frozen=True)
class TagModel(AddTags):
    kind: ClassVar[Kind] = Kind.MODEL


@dataclass(frozen=True)
class TagEndpointConfig(AddTags):
    kind: ClassVar[Kind] = Kind.ENDPOINT_CONFIG


@dataclass(frozen=True)
class TagEndpoint(AddTags):
    kind: ClassVar[Kind] = Kind.ENDPOINT


@dataclass(frozen=True)
class TagInferenceComponent(AddTags):
    kind: ClassVar[Kind] = Kind.INFERENCE_COMPONENT


@dataclass(frozen=True)
class RemoveTags(Action):
    """Removes tag keys from a SageMaker resource of ours: the ownership tags of what
    an adoption took over but never completed, given back on deletion.

    DeleteTags acts on whatever holds the ARN, so the shell re-reads the
    resource's tags right before and untags it only when they name `owner_uid`.
    """

    operation: ClassVar[str] = "DeleteTags"
    guard: ClassVar[Guard] = Guard.TAGS
    lookup: ClassVar[Lookup] = Lookup.ARN
    effect: ClassVar[Effect] = Effect.UPDATE
    notice: ClassVar[Notice] = Notice.RETAGGED
    arn: str
    keys: tuple[str, ...]
    owner_uid: str

    def required_uid(self) -> str | None:
        return self.owner_uid

    def tagging(self) -> tuple[str, Mapping[str, str]]:
        return self.arn, {}

    def lookup_request(self) -> dict[str, Any]:
        return {"ResourceArn": self.arn}

    def request(self) -> dict[str, Any]:
        return {"ResourceArn": self.arn, "TagKeys": list(self.keys)}

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        return observed  # only deletion gives adopted resources back; plan never deletes


@dataclass(frozen=True)
class UntagModel(RemoveTags):
    kind: ClassVar[Kind] = Kind.MODEL


@dataclass(frozen=True)
class UntagEndpointConfig(RemoveTags):
    kind: ClassVar[Kind] = Kind.ENDPOINT_CONFIG


@dataclass(frozen=True)
class UntagEndpoint(RemoveTags):
    kind: ClassVar[Kind] = Kind.ENDPOINT


@dataclass(frozen=True)
class UntagInferenceComponent(RemoveTags):
    kind: ClassVar[Kind] = Kind.INFERENCE_COMPONENT


@dataclass(frozen=True)
class DropTags(RemoveTags):
    """Removes keys the operator set and the spec no longer wants (never an ownership
    tag): the owner cached for the ARN still holds, so nothing is read again.

    The shell re-reads the resource's tags right before, as for every tagging call.
    """

    notice: ClassVar[Notice] = Notice.TAGGED

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        return observed  # the observed state holds no tags other than the owner's


@dataclass(frozen=True)
class DropModelTags(DropTags):
    kind: ClassVar[Kind] = Kind.MODEL


@dataclass(frozen=True)
class DropEndpointConfigTags(DropTags):
    kind: ClassVar[Kind] = Kind.ENDPOINT_CONFIG


@dataclass(frozen=True)
class DropEndpointTags(DropTags):
    kind: ClassVar[Kind] = Kind.ENDPOINT


@dataclass(frozen=True)
class DropInferenceComponentTags(DropTags):
    kind: ClassVar[Kind] = Kind.INFERENCE_COMPONENT


@dataclass(frozen=True)
class TagAlarm(Action):
    """Adds tags to a CloudWatch alarm of ours (CloudWatch TagResource, a list of tags).

    The shell re-reads the alarm's tags right before, as for every alarm write.
    """

    operation: ClassVar[str] = "TagResource"
    guard: ClassVar[Guard] = Guard.ALARM
    lookup: ClassVar[Lookup] = Lookup.ALARM
    kind: ClassVar[Kind] = Kind.ALARM
    effect: ClassVar[Effect] = Effect.UPDATE
    notice: ClassVar[Notice] = Notice.TAGGED
    arn: str
    tags: Mapping[str, str]
    owner_uid: str

    def required_uid(self) -> str | None:
        return self.owner_uid

    def tagging(self) -> tuple[str, Mapping[str, str]]:
        return self.arn, self.tags

    def lookup_request(self) -> dict[str, Any]:
        return alarm_lookup(self.name)

    def request(self) -> dict[str, Any]:
        return {
            "ResourceARN": self.arn,
            "Tags": tag_list(self.tags),
        }

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        return _retagged(observed, self.kind, self.name, self.tags.get(CLUSTER_ID_TAG))


@dataclass(frozen=True)
class TagScalableTarget(Action):
    """Adds tags to a scalable target of ours (Application Auto Scaling TagResource, a map);
    `name` is its ResourceId. The shell re-reads the target's tags right before."""

    operation: ClassVar[str] = "TagResource"
    guard: ClassVar[Guard] = Guard.ON_TARGET
    lookup: ClassVar[Lookup] = Lookup.SCALABLE_TARGET
    kind: ClassVar[Kind] = Kind.SCALABLE_TARGET
    effect: ClassVar[Effect] = Effect.UPDATE
    notice: ClassVar[Notice] = Notice.TAGGED
    arn: str
    dimension: str
    tags: Mapping[str, str]
    owner_uid: str

    def required_uid(self) -> str | None:
        return self.owner_uid

    def tagging(self) -> tuple[str, Mapping[str, str]]:
        return self.arn, self.tags

    def lookup_request(self) -> dict[str, Any]:
        return target_lookup(self.name, self.dimension)

    def request(self) -> dict[str, Any]:
        return {"ResourceARN": self.arn, "Tags": dict(self.tags)}

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        return _retagged(observed, self.kind, self.name, self.tags.get(CLUSTER_ID_TAG))


# Every action that only adds tags (kept for imports; consumers read `Action.notice`).
TAGGING = (AddTags, TagAlarm, TagScalableTarget)


def _retagged(
    observed: ObservedState, kind: Kind, name: str, cluster_id: str | None
) -> ObservedState:
    """The cluster id a tagging call adds, on the resource it names."""
    if cluster_id is None:
        return observed

    def mark(found: Any) -> Any:
        return replace(found, owner_cluster_id=cluster_id)

    scaling = observed.scaling
    if kind is Kind.ENDPOINT and observed.endpoint is not None:
        return replace(observed, endpoint=mark(observed.endpoint))
    if kind is Kind.INFERENCE_COMPONENT and name in observed.components:
        return replace(
            observed, components={**observed.components, name: mark(observed.components[name])}
        )
    if kind is Kind.ENDPOINT_CONFIG and name in observed.endpoint_configs:
        configs = {**observed.endpoint_configs, name: mark(observed.endpoint_configs[name])}
        return replace(observed, endpoint_configs=configs)
    if kind is Kind.MODEL and name in observed.models:
        return replace(observed, models={**observed.models, name: mark(observed.models[name])})
    if kind is Kind.SCALABLE_TARGET and scaling.target is not None:
        return replace(observed, scaling=replace(scaling, target=mark(scaling.target)))
    if kind is Kind.ALARM and name in observed.alarms:
        return replace(observed, alarms={**observed.alarms, name: mark(observed.alarms[name])})
    if kind is Kind.ALARM and scaling.alarm is not None and scaling.alarm.name == name:
        return replace(observed, scaling=replace(scaling, alarm=mark(scaling.alarm)))
    return observed
