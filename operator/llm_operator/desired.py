"""What should exist in SageMaker for one LLMEndpoint: the exact requests, no I/O.

The planner compares this with what SageMaker reports; `render` is the only
place that knows how a spec becomes SageMaker requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

EndpointType = Literal["InferenceComponent", "Model"]


@dataclass(frozen=True)
class Owner:
    """The LLMEndpoint that owns a set of SageMaker resources."""

    namespace: str
    name: str
    uid: str


@dataclass(frozen=True)
class DesiredModel:
    name: str
    # CreateModel keyword arguments without Tags (ModelName included).
    create_request: Mapping[str, Any]


@dataclass(frozen=True)
class DesiredEndpointConfig:
    name: str
    # CreateEndpointConfig keyword arguments without Tags.
    create_request: Mapping[str, Any]
    instance_type: str
    initial_instance_count: int


@dataclass(frozen=True)
class DesiredComponent:
    """An inference component: the base model, or one LoRA adapter on it."""

    name: str
    # The `Specification` member of Create/UpdateInferenceComponent.
    specification: Mapping[str, Any]
    # RuntimeConfig.CopyCount; None for adapters, which follow their base.
    copies: int | None
    base_component: str | None = None
    adapter: str | None = None  # the spec's adapter name, for status


@dataclass(frozen=True)
class DesiredState:
    owner: Owner
    region: str
    endpoint_type: EndpointType
    endpoint_name: str
    model: DesiredModel
    endpoint_config: DesiredEndpointConfig
    # Base component first, then adapters; empty for Model endpoints.
    components: tuple[DesiredComponent, ...] = ()
    # Ownership tags plus the user's tags, put on every resource.
    tags: Mapping[str, str] = field(default_factory=dict)
