"""SageMaker's models, endpoint configs and endpoints: their create, update and delete calls.

Models and endpoint configs are immutable (their names carry a hash of their
content); an endpoint is updated in place onto a new config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from llm_operator.core.actions.base import (
    Action,
    Baseline,
    Creation,
    Effect,
    Guard,
    Lookup,
    Pick,
    Read,
    digest,
)
from llm_operator.core.desired import Owner
from llm_operator.core.kinds import Kind
from llm_operator.core.observed import ObservedEndpoint, ObservedResource, ObservedState

# What `plan` compares a new model or endpoint config with: the members a change moves.
MODEL_MEMBERS = ("ExecutionRoleArn", "PrimaryContainer", "VpcConfig")
CONFIG_MEMBERS = ("ProductionVariants", "ExecutionRoleArn", "VpcConfig")


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

    def baseline(self, observed: ObservedState) -> Baseline:
        """The model served now: the base component's, else the endpoint config's."""
        base = next(
            (c for c in observed.components.values() if c.base_component is None and c.model_name),
            None,
        )
        if base is not None and base.model_name:
            return Baseline(read=Read(Kind.MODEL, base.model_name, MODEL_MEMBERS))
        if observed.endpoint is None:
            return Baseline()
        served = Pick(
            Kind.ENDPOINT_CONFIG,
            observed.endpoint.config_name,
            ("ProductionVariants", 0, "ModelName"),
        )
        return Baseline(read=Read(Kind.MODEL, served, MODEL_MEMBERS))


@dataclass(frozen=True)
class CreateEndpointConfig(_Immutable):
    operation: ClassVar[str] = "CreateEndpointConfig"
    guard: ClassVar[Guard] = Guard.CREATE
    lookup: ClassVar[Lookup] = Lookup.DESCRIBE
    kind: ClassVar[Kind] = Kind.ENDPOINT_CONFIG

    def settle(self, observed: ObservedState, owner: Owner) -> ObservedState:
        found = ObservedResource(self.name, owner.uid, owner_cluster_id=owner.cluster_id or None)
        return replace(observed, endpoint_configs={**observed.endpoint_configs, self.name: found})

    def baseline(self, observed: ObservedState) -> Baseline:
        """The config the endpoint serves now."""
        if observed.endpoint is None:
            return Baseline()
        return Baseline(
            read=Read(Kind.ENDPOINT_CONFIG, observed.endpoint.config_name, CONFIG_MEMBERS)
        )


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
    starts_rollout: ClassVar[bool] = True
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

    def baseline(self, observed: ObservedState) -> Baseline:
        if observed.endpoint is None:
            return Baseline()
        return Baseline({"EndpointConfigName": observed.endpoint.config_name})


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
