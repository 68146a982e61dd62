"""The AWS calls the planner can ask for: one action, one SageMaker API call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CreateModel:
    # CreateModel kwargs without Tags; kept out of repr: its environment holds the HF token.
    request: Mapping[str, Any] = field(repr=False)
    tags: Mapping[str, str]


@dataclass(frozen=True)
class CreateEndpointConfig:
    request: Mapping[str, Any]  # CreateEndpointConfig kwargs without Tags
    tags: Mapping[str, str]


@dataclass(frozen=True)
class CreateEndpoint:
    name: str
    config_name: str
    tags: Mapping[str, str]


@dataclass(frozen=True)
class UpdateEndpoint:
    name: str
    config_name: str


@dataclass(frozen=True)
class CreateInferenceComponent:
    name: str
    endpoint_name: str
    variant_name: str | None  # None for adapters
    specification: Mapping[str, Any]
    copies: int | None  # None for adapters
    tags: Mapping[str, str]


@dataclass(frozen=True)
class UpdateInferenceComponent:
    name: str
    specification: Mapping[str, Any]
    copies: int | None


@dataclass(frozen=True)
class UpdateInferenceComponentRuntimeConfig:
    name: str
    copies: int


@dataclass(frozen=True)
class DeleteInferenceComponent:
    name: str


@dataclass(frozen=True)
class DeleteEndpoint:
    name: str


@dataclass(frozen=True)
class DeleteEndpointConfig:
    name: str


@dataclass(frozen=True)
class DeleteModel:
    name: str


Action = (
    CreateModel
    | CreateEndpointConfig
    | CreateEndpoint
    | UpdateEndpoint
    | CreateInferenceComponent
    | UpdateInferenceComponent
    | UpdateInferenceComponentRuntimeConfig
    | DeleteInferenceComponent
    | DeleteEndpoint
    | DeleteEndpointConfig
    | DeleteModel
)
