"""The calls the planner can ask for: one class per AWS API call.

Each class is the one home of its call: the operation name, the kind of
resource it acts on, whether it creates, changes or deletes it, the ownership
guard the shell runs right before it (and how that guard finds the resource
whose tags it reads), the resource's name, the exact request, what AWS holds
once it finished (`settle`, for `plan`) and the fingerprint the planner
remembers a rejection by. The shell executes any action from these declarations
alone (`shell.execute`), without knowing which one it is, so adding a call
means adding a class here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any, ClassVar

from llm_operator.core import naming
from llm_operator.core.desired import CLUSTER_ID_TAG, UID_TAG, Owner
from llm_operator.core.kinds import Kind
from llm_operator.core.observed import (
    ObservedAlarm,
    ObservedComponent,
    ObservedEndpoint,
    ObservedPolicy,
    ObservedResource,
    ObservedScalingAlarm,
    ObservedState,
    ObservedTarget,
)


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """Tags as SageMaker and CloudWatch take them: a list of Key/Value pairs."""
    return [{"Key": k, "Value": v} for k, v in tags.items()]


class Effect(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class Guard(StrEnum):
    """What the shell does right before (and around) an action's call, so that it never
    writes to a resource whose tags name another owner (docs/design.md, Ownership).

    Every guard that reads tags compares the resource's uid tag with
    `Action.required_uid()` through one owner check; a mismatch is a `NameConflict`.
    """

    NONE = "none"
    """A plain call: an update by name of a resource the planner saw is ours."""

    DELETE = "delete"
    """A plain delete; a resource already gone (not found) is success."""

    CREATE = "create"
    """Create; when the name is taken, the existing resource (found by `lookup`) is
    success only when its tags name our uid (a crash between the Create and
    recording it), a conflict otherwise."""

    UPSERT = "upsert"
    """The call overwrites whatever holds the name: the existing resource (found by
    `lookup`), if any, must be ours before the call is sent."""

    ON_TARGET = "on target"
    """The call acts on whatever scalable target holds the ResourceId: that target
    (found by `lookup`) must exist and be ours right before; a delete whose target
    is gone is success."""

    TAGS = "tags"
    """Tagging by ARN: the resource's tags are read again by that ARN right before,
    and must name our uid; a resource already gone is success."""

    ALARM = "alarm"
    """A CloudWatch alarm (PutMetricAlarm overwrites, DeleteAlarms deletes whatever
    holds the name): the alarm is described and its tags read right before; a create
    may find it absent or ours, an update needs it present and ours, a delete of an
    absent alarm is success."""


class Lookup(StrEnum):
    """How the shell finds the ARN whose tags a guard reads (`Action.lookup_request()`
    is the request of that read)."""

    NONE = "none"
    """The guard reads no tags."""

    ARN = "arn"
    """The action names the ARN itself; the request is `{"ResourceArn": arn}`."""

    DESCRIBE = "describe"
    """The kind's Describe call on the name (`Kind.describe`, `name_member`,
    `arn_member`); not found means absent."""

    SCALABLE_TARGET = "DescribeScalableTargets"
    """DescribeScalableTargets of the ResourceId and dimension the action acts on."""

    ALARM = "DescribeAlarms"
    """DescribeAlarms of the alarm's name."""


@dataclass(frozen=True)
class Action:
    """Base of every action; subclasses are frozen dataclasses with a `name` field."""

    operation: ClassVar[str]
    kind: ClassVar[Kind]
    effect: ClassVar[Effect]
    # Declared by every class that names an operation (tests/unit/test_actions.py).
    guard: ClassVar[Guard]
    lookup: ClassVar[Lookup] = Lookup.NONE
    name: str

    def request(self) -> dict[str, Any]:
        """The boto3 keyword arguments of the call."""
        return {self.kind.name_member: self.name}

    def lookup_request(self) -> dict[str, Any]:
        """The request of the read `lookup` names (by default the kind's Describe by name)."""
        return {self.kind.name_member: self.name}

    def required_uid(self) -> str | None:
        """The uid the resource's `llmoperator.io/uid` tag must name for the guard to let
        the call through."""
        raise NotImplementedError(f"{type(self).__name__} declares no owner")

    @property
    def key(self) -> str:
        """Which resource it acts on and how, e.g. `CreateEndpoint/my-endpoint`."""
        return f"{self.operation}/{self.name}"

    def fingerprint(self) -> str:
        """A short hash of everything the action sends, tags included."""
        return digest({"operation": self.operation, **_fields(self)})

    def describe(self) -> str:
        """For Events, logs and progress messages: `CreateEndpoint endpoint my-endpoint`."""
        return f"{self.operation} {self.kind} {self.name}"

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        """What AWS holds once this call succeeded and finished, for `plan`, which runs
        the planner pass after pass on it instead of sending the call."""
        raise NotImplementedError(f"{type(self).__name__} declares no settle()")


@dataclass(frozen=True)
class Creation(Action):
    """Creates carry the ownership tags; the shell checks them on a name already taken."""

    effect: ClassVar[Effect] = Effect.CREATE
    tags: Mapping[str, str]

    def required_uid(self) -> str | None:
        return self.tags.get(UID_TAG)

    def _tagged(self, request: Mapping[str, Any]) -> dict[str, Any]:
        return {**request, "Tags": tag_list(self.tags)}


@dataclass(frozen=True)
class _Immutable(Creation):
    """A model or endpoint config: its name carries a hash of its content."""

    # The Create kwargs without Tags; kept out of repr: a model's environment holds the token.
    spec: Mapping[str, Any] = field(repr=False)

    def request(self) -> dict[str, Any]:
        return self._tagged({**self.spec, self.kind.name_member: self.name})

    def fingerprint(self) -> str:
        # The name already hashes the content, and the model request holds the
        # Hugging Face token, which must not even be hashed into status.
        return digest({"operation": self.operation, "name": self.name, "tags": self.tags})


@dataclass(frozen=True)
class CreateModel(_Immutable):
    operation: ClassVar[str] = "CreateModel"
    guard: ClassVar[Guard] = Guard.CREATE
    lookup: ClassVar[Lookup] = Lookup.DESCRIBE
    kind: ClassVar[Kind] = Kind.MODEL

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        found = ObservedResource(self.name, owner.uid, owner_cluster_id=owner.cluster_id or None)
        return replace(observed, models={**observed.models, self.name: found})


@dataclass(frozen=True)
class CreateEndpointConfig(_Immutable):
    operation: ClassVar[str] = "CreateEndpointConfig"
    guard: ClassVar[Guard] = Guard.CREATE
    lookup: ClassVar[Lookup] = Lookup.DESCRIBE
    kind: ClassVar[Kind] = Kind.ENDPOINT_CONFIG

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        found = ObservedResource(self.name, owner.uid, owner_cluster_id=owner.cluster_id or None)
        return replace(observed, endpoint_configs={**observed.endpoint_configs, self.name: found})


@dataclass(frozen=True)
class CreateEndpoint(Creation):
    operation: ClassVar[str] = "CreateEndpoint"
    guard: ClassVar[Guard] = Guard.CREATE
    lookup: ClassVar[Lookup] = Lookup.DESCRIBE
    kind: ClassVar[Kind] = Kind.ENDPOINT
    config_name: str

    def request(self) -> dict[str, Any]:
        return self._tagged({"EndpointName": self.name, "EndpointConfigName": self.config_name})

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        endpoint = ObservedEndpoint(
            name=self.name,
            arn=f"(new) {self.name}",
            status="InService",
            config_name=self.config_name,
            owner_uid=owner.uid,
            owner_cluster_id=owner.cluster_id or None,
        )
        return replace(observed, endpoint=endpoint)


@dataclass(frozen=True)
class UpdateEndpoint(Action):
    operation: ClassVar[str] = "UpdateEndpoint"
    guard: ClassVar[Guard] = Guard.NONE
    kind: ClassVar[Kind] = Kind.ENDPOINT
    effect: ClassVar[Effect] = Effect.UPDATE
    config_name: str
    # DeploymentConfig from spec.rollout (guardrails); None: SageMaker's plain update.
    deployment: Mapping[str, Any] | None = None
    # Keep the autoscaled instance count instead of the config's initial one.
    retain_instance_count: bool = False

    def request(self) -> dict[str, Any]:
        request: dict[str, Any] = {
            "EndpointName": self.name,
            "EndpointConfigName": self.config_name,
        }
        if self.deployment is not None:
            request["DeploymentConfig"] = dict(self.deployment)
        if self.retain_instance_count:
            request["RetainAllVariantProperties"] = True
            request["ExcludeRetainedVariantProperties"] = [
                {"VariantPropertyType": "DesiredWeight"},
                {"VariantPropertyType": "DataCaptureConfig"},
            ]
        return request

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        if observed.endpoint is None:
            return observed
        endpoint = replace(observed.endpoint, config_name=self.config_name, status="InService")
        return replace(observed, endpoint=endpoint)


@dataclass(frozen=True)
class UpdateEndpointWeightsAndCapacities(Action):
    """Sets a variant's instance count (clamping into, or back from, an autoscaling range)."""

    operation: ClassVar[str] = "UpdateEndpointWeightsAndCapacities"
    guard: ClassVar[Guard] = Guard.NONE
    kind: ClassVar[Kind] = Kind.ENDPOINT
    effect: ClassVar[Effect] = Effect.UPDATE
    variant_name: str
    instances: int

    def request(self) -> dict[str, Any]:
        return {
            "EndpointName": self.name,
            "DesiredWeightsAndCapacities": [
                {"VariantName": self.variant_name, "DesiredInstanceCount": self.instances}
            ],
        }

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        if observed.endpoint is None:
            return observed
        endpoint = replace(
            observed.endpoint, desired_instances=self.instances, current_instances=self.instances
        )
        return replace(observed, endpoint=endpoint)


@dataclass(frozen=True)
class CreateInferenceComponent(Creation):
    operation: ClassVar[str] = "CreateInferenceComponent"
    guard: ClassVar[Guard] = Guard.CREATE
    lookup: ClassVar[Lookup] = Lookup.DESCRIBE
    kind: ClassVar[Kind] = Kind.INFERENCE_COMPONENT
    endpoint_name: str
    variant_name: str | None  # None for adapters
    specification: Mapping[str, Any]
    copies: int | None  # None for adapters

    def request(self) -> dict[str, Any]:
        request: dict[str, Any] = {
            "InferenceComponentName": self.name,
            "EndpointName": self.endpoint_name,
            "Specification": dict(self.specification),
        }
        if self.variant_name is not None:
            request["VariantName"] = self.variant_name
        if self.copies is not None:
            request["RuntimeConfig"] = {"CopyCount": self.copies}
        return self._tagged(request)

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        found = _component(self.name, self.endpoint_name, self.specification, self.copies, owner)
        return replace(observed, components={**observed.components, self.name: found})


@dataclass(frozen=True)
class UpdateInferenceComponent(Action):
    operation: ClassVar[str] = "UpdateInferenceComponent"
    guard: ClassVar[Guard] = Guard.NONE
    kind: ClassVar[Kind] = Kind.INFERENCE_COMPONENT
    effect: ClassVar[Effect] = Effect.UPDATE
    specification: Mapping[str, Any]
    copies: int | None
    # A rolling DeploymentConfig from spec.rollout; None: SageMaker's plain update.
    deployment: Mapping[str, Any] | None = None

    def request(self) -> dict[str, Any]:
        request: dict[str, Any] = {
            "InferenceComponentName": self.name,
            "Specification": dict(self.specification),
        }
        if self.copies is not None:
            request["RuntimeConfig"] = {"CopyCount": self.copies}
        if self.deployment is not None:
            request["DeploymentConfig"] = dict(self.deployment)
        return request

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        before = observed.components.get(self.name)
        if before is None:
            return observed
        copies = self.copies if self.copies is not None else before.desired_copies
        found = _component(self.name, before.endpoint_name, self.specification, copies, owner)
        return replace(observed, components={**observed.components, self.name: found})


@dataclass(frozen=True)
class UpdateInferenceComponentRuntimeConfig(Action):
    operation: ClassVar[str] = "UpdateInferenceComponentRuntimeConfig"
    guard: ClassVar[Guard] = Guard.NONE
    kind: ClassVar[Kind] = Kind.INFERENCE_COMPONENT
    effect: ClassVar[Effect] = Effect.UPDATE
    copies: int

    def request(self) -> dict[str, Any]:
        return {
            "InferenceComponentName": self.name,
            "DesiredRuntimeConfig": {"CopyCount": self.copies},
        }

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        before = observed.components.get(self.name)
        if before is None:
            return observed
        found = replace(before, desired_copies=self.copies, current_copies=self.copies)
        return replace(observed, components={**observed.components, self.name: found})


@dataclass(frozen=True)
class DeleteInferenceComponent(Action):
    operation: ClassVar[str] = "DeleteInferenceComponent"
    guard: ClassVar[Guard] = Guard.DELETE
    kind: ClassVar[Kind] = Kind.INFERENCE_COMPONENT
    effect: ClassVar[Effect] = Effect.DELETE

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        return replace(
            observed, components={k: v for k, v in observed.components.items() if k != self.name}
        )


@dataclass(frozen=True)
class DeleteEndpoint(Action):
    operation: ClassVar[str] = "DeleteEndpoint"
    guard: ClassVar[Guard] = Guard.DELETE
    kind: ClassVar[Kind] = Kind.ENDPOINT
    effect: ClassVar[Effect] = Effect.DELETE

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        return replace(observed, endpoint=None)


@dataclass(frozen=True)
class DeleteEndpointConfig(Action):
    operation: ClassVar[str] = "DeleteEndpointConfig"
    guard: ClassVar[Guard] = Guard.DELETE
    kind: ClassVar[Kind] = Kind.ENDPOINT_CONFIG
    effect: ClassVar[Effect] = Effect.DELETE

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        return replace(
            observed,
            endpoint_configs={k: v for k, v in observed.endpoint_configs.items() if k != self.name},
        )


@dataclass(frozen=True)
class DeleteModel(Action):
    operation: ClassVar[str] = "DeleteModel"
    guard: ClassVar[Guard] = Guard.DELETE
    kind: ClassVar[Kind] = Kind.MODEL
    effect: ClassVar[Effect] = Effect.DELETE

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        return replace(
            observed, models={k: v for k, v in observed.models.items() if k != self.name}
        )


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
        return _alarm_lookup(self.name)

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
        return _alarm_lookup(self.name)

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
        return _alarm_lookup(self.name)

    def request(self) -> dict[str, Any]:
        return {"AlarmNames": [self.name]}

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        scaling = observed.scaling
        if scaling.alarm is not None and scaling.alarm.name == self.name:
            scaling = replace(scaling, alarm=None)
        alarms = {k: v for k, v in observed.alarms.items() if k != self.name}
        return replace(observed, alarms=alarms, scaling=scaling)


# --- Tagging what deletionPolicy Retain keeps -------------------------


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
    arn: str
    tags: Mapping[str, str]
    owner_uid: str

    def required_uid(self) -> str | None:
        return self.owner_uid

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
    arn: str
    keys: tuple[str, ...]
    owner_uid: str

    def required_uid(self) -> str | None:
        return self.owner_uid

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
class TagAlarm(Action):
    """Adds tags to a CloudWatch alarm of ours (CloudWatch TagResource, a list of tags).

    The shell re-reads the alarm's tags right before, as for every alarm write.
    """

    operation: ClassVar[str] = "TagResource"
    guard: ClassVar[Guard] = Guard.ALARM
    lookup: ClassVar[Lookup] = Lookup.ALARM
    kind: ClassVar[Kind] = Kind.ALARM
    effect: ClassVar[Effect] = Effect.UPDATE
    arn: str
    tags: Mapping[str, str]
    owner_uid: str

    def required_uid(self) -> str | None:
        return self.owner_uid

    def lookup_request(self) -> dict[str, Any]:
        return _alarm_lookup(self.name)

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
    arn: str
    dimension: str
    tags: Mapping[str, str]
    owner_uid: str

    def required_uid(self) -> str | None:
        return self.owner_uid

    def lookup_request(self) -> dict[str, Any]:
        return _target_lookup(self.name, self.dimension)

    def request(self) -> dict[str, Any]:
        return {"ResourceARN": self.arn, "Tags": dict(self.tags)}

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        return _retagged(observed, self.kind, self.name, self.tags.get(CLUSTER_ID_TAG))


# Every action that only adds tags: it changes no Describe answer, only the owner read.
TAGGING = (AddTags, TagAlarm, TagScalableTarget)


# --- Application Auto Scaling (spec.autoscaling) ---------------------

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
        return _target_lookup(self.name, self.dimension)

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
        return _target_lookup(self.name, self.dimension)

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
        return _target_lookup(self.resource_id, self.dimension)

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
            member: _plain(self.configuration),
        }

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        policy = ObservedPolicy(
            self.name, f"(new) {self.name}", self.policy_type, _plain(self.configuration)
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
        return _target_lookup(self.resource_id, self.dimension)

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


def _alarm_lookup(name: str) -> dict[str, Any]:
    """DescribeAlarms of one alarm by name (Lookup.ALARM)."""
    return {"AlarmNames": [name]}


def _target_lookup(resource_id: str, dimension: str) -> dict[str, Any]:
    """DescribeScalableTargets of the target holding a ResourceId (Lookup.SCALABLE_TARGET)."""
    return {
        "ServiceNamespace": SERVICE_NAMESPACE,
        "ResourceIds": [resource_id],
        "ScalableDimension": dimension,
    }


def _component(
    name: str, endpoint: str, spec: Mapping[str, Any], copies: int | None, owner: Owner
) -> ObservedComponent:
    """A component as SageMaker describes it once it serves `spec`."""
    compute = spec.get("ComputeResourceRequirements")
    return ObservedComponent(
        name=name,
        status="InService",
        endpoint_name=endpoint,
        model_name=spec.get("ModelName"),
        compute={k: float(v) for k, v in compute.items()} if compute else None,
        artifact_url=(spec.get("Container") or {}).get("ArtifactUrl"),
        base_component=spec.get("BaseInferenceComponentName"),
        desired_copies=copies,
        current_copies=copies,
        owner_uid=owner.uid,
        owner_cluster_id=owner.cluster_id or None,
    )


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


def _plain(value: Any) -> Any:
    """Mappings and tuples as dicts and lists: what botocore's validation accepts."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def digest(value: Any) -> str:
    """A short, stable hash of a JSON-able value (mappings, tuples and sets included)."""
    text = json.dumps(value, sort_keys=True, default=_json_default, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _fields(action: Action) -> dict[str, Any]:
    return {f.name: getattr(action, f.name) for f in fields(action)}


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
