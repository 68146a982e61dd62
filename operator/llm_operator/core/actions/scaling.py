"""Application Auto Scaling (spec.autoscaling): the scalable target on the base component's
copy count (or the variant's instance count) and its scaling policies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from llm_operator.core.actions.base import Action, Creation, Effect, Guard, Lookup, plain
from llm_operator.core.desired import Owner
from llm_operator.core.kinds import Kind
from llm_operator.core.observed import ObservedPolicy, ObservedState, ObservedTarget

SERVICE_NAMESPACE = "sagemaker"


@dataclass(frozen=True)
class RegisterScalableTarget(Creation):
    """Registers (or changes the range of) a scalable target; `name` is its ResourceId.

    An upsert: the shell first checks that an existing target's tags name this
    LLMEndpoint, so someone else's target is never changed.
    """

    operation: ClassVar[str] = "RegisterScalableTarget"
    guard: ClassVar[Guard] = Guard.UPSERT
    lookup: ClassVar[Lookup] = Lookup.SCALABLE_TARGET
    kind: ClassVar[Kind] = Kind.SCALABLE_TARGET
    dimension: str
    min_capacity: int
    max_capacity: int

    def lookup_request(self) -> dict[str, Any]:
        return target_lookup(self.name, self.dimension)

    def request(self) -> dict[str, Any]:
        return {
            "ServiceNamespace": SERVICE_NAMESPACE,
            "ResourceId": self.name,
            "ScalableDimension": self.dimension,
            "MinCapacity": self.min_capacity,
            "MaxCapacity": self.max_capacity,
            "Tags": dict(self.tags),  # Application Auto Scaling takes a map
        }

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        target = ObservedTarget(
            resource_id=self.name,
            dimension=self.dimension,
            min_capacity=self.min_capacity,
            max_capacity=self.max_capacity,
            owner_uid=owner.uid,
            owner_cluster_id=owner.cluster_id or None,
            arn=f"(new) {self.name}",
        )
        return replace(observed, scaling=replace(observed.scaling, target=target))


@dataclass(frozen=True)
class DeregisterScalableTarget(Action):
    """Also deletes the target's policies (Application Auto Scaling does).

    It deregisters whatever target holds the ResourceId, so the shell re-reads the
    target's tags right before and deregisters only when they name `owner_uid`.
    """

    operation: ClassVar[str] = "DeregisterScalableTarget"
    guard: ClassVar[Guard] = Guard.ON_TARGET
    lookup: ClassVar[Lookup] = Lookup.SCALABLE_TARGET
    kind: ClassVar[Kind] = Kind.SCALABLE_TARGET
    effect: ClassVar[Effect] = Effect.DELETE
    dimension: str
    owner_uid: str

    def required_uid(self) -> str | None:
        return self.owner_uid

    def lookup_request(self) -> dict[str, Any]:
        return target_lookup(self.name, self.dimension)

    def request(self) -> dict[str, Any]:
        return {
            "ServiceNamespace": SERVICE_NAMESPACE,
            "ResourceId": self.name,
            "ScalableDimension": self.dimension,
        }

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        return replace(observed, scaling=replace(observed.scaling, target=None, policies={}))


@dataclass(frozen=True)
class PutScalingPolicy(Action):
    """Creates or changes a policy on a target the planner saw is ours (an upsert by name).

    Policies carry no tags: the shell re-reads the target's tags right before and
    writes only when they name `owner_uid`.
    """

    operation: ClassVar[str] = "PutScalingPolicy"
    guard: ClassVar[Guard] = Guard.ON_TARGET
    lookup: ClassVar[Lookup] = Lookup.SCALABLE_TARGET
    kind: ClassVar[Kind] = Kind.SCALING_POLICY
    effect: ClassVar[Effect] = Effect.UPDATE
    resource_id: str
    dimension: str
    policy_type: str  # TargetTrackingScaling | StepScaling
    configuration: Mapping[str, Any]
    owner_uid: str

    def required_uid(self) -> str | None:
        return self.owner_uid

    def lookup_request(self) -> dict[str, Any]:
        return target_lookup(self.resource_id, self.dimension)

    def request(self) -> dict[str, Any]:
        member = (
            "TargetTrackingScalingPolicyConfiguration"
            if self.policy_type == "TargetTrackingScaling"
            else "StepScalingPolicyConfiguration"
        )
        return {
            "PolicyName": self.name,
            "ServiceNamespace": SERVICE_NAMESPACE,
            "ResourceId": self.resource_id,
            "ScalableDimension": self.dimension,
            "PolicyType": self.policy_type,
            member: plain(self.configuration),
        }

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        policy = ObservedPolicy(
            self.name, f"(new) {self.name}", self.policy_type, plain(self.configuration)
        )
        policies = {**observed.scaling.policies, self.name: policy}
        return replace(observed, scaling=replace(observed.scaling, policies=policies))


@dataclass(frozen=True)
class DeleteScalingPolicy(Action):
    """Deletes a policy of ours: one of our derived names on a target whose tags, re-read
    by the shell right before, name `owner_uid`."""

    operation: ClassVar[str] = "DeleteScalingPolicy"
    guard: ClassVar[Guard] = Guard.ON_TARGET
    lookup: ClassVar[Lookup] = Lookup.SCALABLE_TARGET
    kind: ClassVar[Kind] = Kind.SCALING_POLICY
    effect: ClassVar[Effect] = Effect.DELETE
    resource_id: str
    dimension: str
    owner_uid: str

    def required_uid(self) -> str | None:
        return self.owner_uid

    def lookup_request(self) -> dict[str, Any]:
        return target_lookup(self.resource_id, self.dimension)

    def request(self) -> dict[str, Any]:
        return {
            "PolicyName": self.name,
            "ServiceNamespace": SERVICE_NAMESPACE,
            "ResourceId": self.resource_id,
            "ScalableDimension": self.dimension,
        }

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        policies = {k: v for k, v in observed.scaling.policies.items() if k != self.name}
        return replace(observed, scaling=replace(observed.scaling, policies=policies))


def target_lookup(resource_id: str, dimension: str) -> dict[str, Any]:
    """DescribeScalableTargets of the target holding a ResourceId (Lookup.SCALABLE_TARGET)."""
    return {
        "ServiceNamespace": SERVICE_NAMESPACE,
        "ResourceIds": [resource_id],
        "ScalableDimension": dimension,
    }
