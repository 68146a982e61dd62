"""DesiredState and ObservedState builders for the planner and status tests.

Names mimic the real scheme (immutable resources carry a hash of what they
hold) without depending on `desired.render`, so these tests pin the planner alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from llm_operator.api.models import EndpointTypeName
from llm_operator.core.actions import CreateEndpointConfig, CreateModel
from llm_operator.core.desired import (
    DesiredComponent,
    DesiredEndpointConfig,
    DesiredModel,
    DesiredState,
    Owner,
)
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import (
    ObservedComponent,
    ObservedEndpoint,
    ObservedResource,
    ObservedState,
)
from llm_operator.core.plan import Plan
from llm_operator.core.planner import plan

UID = "uid-mine"
OTHER_UID = "uid-other"
ENDPOINT = "llm-search-mistral-1a2b3c"
BASE = f"{ENDPOINT}-base"
ROLE = "arn:aws:iam::111122223333:role/SageMakerExecution"
TAGS = {"llmoperator.io/uid": UID, "team": "search"}


def _hash(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:8]


def adapter_name(adapter: str) -> str:
    return f"{ENDPOINT}--{adapter}"


def make_desired(
    *,
    endpoint_type: EndpointTypeName = "InferenceComponent",
    model_id: str = "mistralai/Mistral-7B-Instruct-v0.1",
    instance_type: str = "ml.g5.12xlarge",
    count: int = 1,
    copies: int = 4,
    accelerators: int = 1,
    adapters: Mapping[str, str] | None = None,
    hf_token: str | None = None,
) -> DesiredState:
    """One LLMEndpoint's desired state, names derived from content like render()'s."""
    model_name = f"{ENDPOINT}-m-{_hash(model_id)}"
    env = {"HF_MODEL_ID": model_id, **({"HF_TOKEN": hf_token} if hf_token else {})}
    model = DesiredModel(
        name=model_name,
        create_request={
            "ModelName": model_name,
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {"Image": "tgi:3", "Environment": env},
        },
    )
    variant: dict[str, Any] = {
        "VariantName": "AllTraffic",
        "InstanceType": instance_type,
        "InitialInstanceCount": count,
    }
    if endpoint_type == "Model":
        variant["ModelName"] = model_name
    config_name = f"{ENDPOINT}-c-{_hash(variant)}"
    config = DesiredEndpointConfig(
        name=config_name,
        create_request={
            "EndpointConfigName": config_name,
            "ProductionVariants": [variant],
            "ExecutionRoleArn": ROLE,
        },
        instance_type=instance_type,
        initial_instance_count=count,
    )
    components: tuple[DesiredComponent, ...] = ()
    if endpoint_type == "InferenceComponent":
        base = DesiredComponent(
            name=BASE,
            specification={
                "ModelName": model_name,
                "ComputeResourceRequirements": {
                    "NumberOfAcceleratorDevicesRequired": accelerators,
                    "NumberOfCpuCoresRequired": 2,
                    "MinMemoryRequiredInMb": 5120,
                },
            },
            copies=copies,
        )
        adapter_components = [
            DesiredComponent(
                name=adapter_name(name),
                specification={
                    "BaseInferenceComponentName": BASE,
                    "Container": {"ArtifactUrl": url},
                },
                copies=None,
                base_component=BASE,
                adapter=name,
            )
            for name, url in (adapters or {}).items()
        ]
        components = (base, *adapter_components)
    return DesiredState(
        owner=Owner(namespace="search", name="mistral", uid=UID),
        region="us-east-1",
        endpoint_type=endpoint_type,
        endpoint_name=ENDPOINT,
        model=model,
        endpoint_config=config,
        components=components,
        tags=TAGS,
    )


def seen_endpoint(
    desired: DesiredState, status: str = "InService", **changes: Any
) -> ObservedEndpoint:
    endpoint = ObservedEndpoint(
        name=desired.endpoint_name,
        arn=f"arn:aws:sagemaker:us-east-1:111122223333:endpoint/{desired.endpoint_name}",
        status=status,
        config_name=desired.endpoint_config.name,
        current_instances=desired.endpoint_config.initial_instance_count,
        desired_instances=desired.endpoint_config.initial_instance_count,
        owner_uid=UID,
    )
    return replace(endpoint, **changes)


def seen_component(
    desired: DesiredState, name: str, status: str = "InService", **changes: Any
) -> ObservedComponent:
    """The component `name` exactly as desired, as SageMaker would describe it."""
    want = next(c for c in desired.components if c.name == name)
    spec = want.specification
    compute = spec.get("ComputeResourceRequirements")
    container = spec.get("Container") or {}
    component = ObservedComponent(
        name=want.name,
        status=status,
        endpoint_name=desired.endpoint_name,
        model_name=spec.get("ModelName"),
        compute=(
            {**{k: float(v) for k, v in compute.items()}, "MaxMemoryRequiredInMb": 5120.0}
            if compute
            else None
        ),
        artifact_url=container.get("ArtifactUrl"),
        base_component=spec.get("BaseInferenceComponentName"),
        desired_copies=want.copies,
        current_copies=want.copies,
        owner_uid=UID,
    )
    return replace(component, **changes)


def resource(name: str, owner_uid: str | None = UID) -> ObservedResource:
    return ObservedResource(name=name, owner_uid=owner_uid)


def running(
    desired: DesiredState,
    *,
    extra_models: tuple[str, ...] = (),
    extra_configs: tuple[str, ...] = (),
) -> ObservedState:
    """Everything of `desired` InService, plus leftovers from earlier versions."""
    return ObservedState(
        endpoint=seen_endpoint(desired),
        components={c.name: seen_component(desired, c.name) for c in desired.components},
        models={n: resource(n) for n in (desired.model.name, *extra_models)},
        endpoint_configs={n: resource(n) for n in (desired.endpoint_config.name, *extra_configs)},
    )


def with_components(observed: ObservedState, *components: ObservedComponent) -> ObservedState:
    return replace(observed, components={**observed.components, **{c.name: c for c in components}})


def without_components(observed: ObservedState, *names: str) -> ObservedState:
    return replace(
        observed, components={k: v for k, v in observed.components.items() if k not in names}
    )


def reconcile(
    desired: DesiredState, observed: ObservedState, memory: PlanMemory | None = None
) -> Plan:
    return plan(
        desired, observed, deleting=False, deletion_policy="Delete", memory=memory or PlanMemory()
    )


def delete(desired: DesiredState, observed: ObservedState, policy: str = "Delete") -> Plan:
    assert policy in ("Delete", "Retain")
    return plan(
        desired,
        observed,
        deleting=True,
        deletion_policy="Delete" if policy == "Delete" else "Retain",
        memory=PlanMemory(),
    )


def create_model(desired: DesiredState) -> CreateModel:
    return CreateModel(name=desired.model.name, spec=desired.model.create_request, tags=TAGS)


def create_config(desired: DesiredState) -> CreateEndpointConfig:
    config = desired.endpoint_config
    return CreateEndpointConfig(name=config.name, spec=config.create_request, tags=TAGS)
