"""SageMaker's inference components (the base model's and its adapters'): create, update,
scale and delete."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from llm_operator.core.actions.base import Action, Baseline, Creation, Effect, Guard, Lookup
from llm_operator.core.desired import Owner
from llm_operator.core.kinds import Kind
from llm_operator.core.observed import ObservedComponent, ObservedState, serving_members


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
    starts_rollout: ClassVar[bool] = True
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

    def baseline(self, observed: ObservedState) -> Baseline:
        seen = observed.components.get(self.name)
        if seen is None:
            return Baseline()
        return Baseline(
            {
                "Specification": _specification(seen),
                "RuntimeConfig": {"CopyCount": seen.desired_copies},
            }
        )


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

    def baseline(self, observed: ObservedState) -> Baseline:
        seen = observed.components.get(self.name)
        if seen is None:
            return Baseline()
        return Baseline({"DesiredRuntimeConfig": {"CopyCount": seen.desired_copies}})


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
        serving=serving_members(spec),
    )


def _specification(seen: ObservedComponent) -> dict[str, Any]:
    """The Specification members SageMaker describes of a component, as a request has them."""
    members = {
        "ModelName": seen.model_name,
        "ComputeResourceRequirements": seen.compute,
        "BaseInferenceComponentName": seen.base_component,
        "Container": {"ArtifactUrl": seen.artifact_url} if seen.artifact_url else None,
        **(seen.serving or {}),
    }
    return {k: v for k, v in members.items() if v is not None}
