"""Reads the inference components of one LLMEndpoint: the wanted ones, those known to
be its own, and any on its endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from typing import Any

from llm_operator.core import naming
from llm_operator.core.kinds import Kind
from llm_operator.core.observed import ObservedComponent, serving_members
from llm_operator.shell.observe.reading import Reading, epoch


async def read_components(
    reading: Reading,
    endpoint_name: str,
    wanted: Collection[str],
    known: Collection[str],
    owner_hash: str | None = None,
) -> dict[str, ObservedComponent]:
    """The components named `wanted`, those of `known` that the inventory lists, and
    every one listed on `endpoint_name`, by name (those that exist).

    Their Describes go out side by side; their tags are read one after the other.
    """
    inventory = reading.inventory
    names = set(wanted)
    names |= {n for n in known if n in inventory.components}
    on_endpoint = inventory.components_on.get(endpoint_name, set())
    if owner_hash is not None:
        # A pool's endpoint: only names derived for this LLMEndpoint (its leftovers
        # included), not every other LLMEndpoint's placed there.
        on_endpoint = {
            n
            for n in on_endpoint
            if (naming.decode(Kind.INFERENCE_COMPONENT, n) or ("",))[0] == owner_hash
        }
    names |= on_endpoint
    described = await asyncio.gather(
        *(reading.describe(Kind.INFERENCE_COMPONENT, n) for n in sorted(names))
    )
    components: dict[str, ObservedComponent] = {}
    for n, found in zip(sorted(names), described, strict=True):
        if found is not None:
            components[n] = await _component(reading, found)
    return components


async def _component(reading: Reading, response: Mapping[str, Any]) -> ObservedComponent:
    spec = response.get("Specification") or {}
    runtime = response.get("RuntimeConfig") or {}
    container = spec.get("Container") or {}
    compute = spec.get("ComputeResourceRequirements")
    name = str(response["InferenceComponentName"])
    who = await reading.owner(
        str(response["InferenceComponentArn"]), response.get("CreationTime"), name
    )
    return ObservedComponent(
        name=name,
        status=str(response.get("InferenceComponentStatus", "")),
        endpoint_name=str(response.get("EndpointName", "")),
        model_name=spec.get("ModelName"),
        compute={k: float(v) for k, v in compute.items()} if compute else None,
        artifact_url=container.get("ArtifactUrl"),
        base_component=spec.get("BaseInferenceComponentName"),
        desired_copies=runtime.get("DesiredCopyCount"),
        current_copies=runtime.get("CurrentCopyCount"),
        failure_reason=response.get("FailureReason") or None,
        owner_uid=who.uid,
        owner_name=who.name,
        owner_cluster_id=who.cluster_id,
        arn=str(response["InferenceComponentArn"]),
        last_modified=epoch(response.get("LastModifiedTime")),
        serving=serving_members(spec),
    )
