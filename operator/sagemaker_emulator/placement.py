"""Inference component copies on their endpoint variant's instances.

Shared by the component handlers and rolling deployments: the variant as the other
components leave it, and its instances settled after copies moved.
"""

from __future__ import annotations

from typing import Any

from .capacity import Need, Variant, compact
from .state import Record, Region


def endpoint_variant(endpoint: Record, name: str) -> Record | None:
    """The endpoint's production variant called `name`."""
    return next((v for v in endpoint["ProductionVariants"] if v["VariantName"] == name), None)


def _siblings(region: Region, record: Record) -> list[Record]:
    return [
        c
        for c in region.inference_components.values()
        if c["EndpointName"] == record["EndpointName"]
        and c["VariantName"] == record["VariantName"]
        and not c["_spec"].get("BaseInferenceComponentName")
    ]


def variant_of(region: Region, record: Record, exclude: str) -> tuple[Variant, Record] | None:
    """The variant hosting `record` with the copies of its siblings (but `exclude`) placed,
    and the endpoint's variant record; None once the endpoint no longer hosts it."""
    endpoint = region.endpoints.get(record["EndpointName"])
    hosting = endpoint_variant(endpoint, record["VariantName"]) if endpoint else None
    if hosting is None:
        return None
    count = int(hosting["CurrentInstanceCount"])
    variant = Variant(
        hosting["_InstanceType"],
        count,
        hosting.get("ManagedInstanceScaling"),
        [[0.0] * 3 for _ in range(count)],
    )
    for other in _siblings(region, record):
        if other["InferenceComponentName"] == exclude:
            continue
        for spec, placement in _copies(other):
            need = Need.of(spec["ComputeResourceRequirements"])
            for index in placement:
                if index < variant.count:
                    variant.take(index, need)
    return variant, hosting


def _copies(record: Record) -> list[tuple[dict[str, Any], list[int]]]:
    """A component's copies by specification: its own, and a rolling deployment's new ones."""
    groups = [(record["_spec"], record["_placement"])]
    rollout = record.get("_rollout")
    if rollout:
        groups.append((rollout["spec"], rollout["placement"]))
    return groups


def settle_instances(region: Region, record: Record, variant: Variant, hosting: Record) -> None:
    """Compact the siblings' copies onto the variant and record its instance count."""
    siblings = _siblings(region, record)
    owners = [(c, "_placement") for c in siblings] + [
        (c, "_rollout") for c in siblings if c.get("_rollout")
    ]
    placements = compact(
        variant,
        [
            c["_placement"] if key == "_placement" else c["_rollout"]["placement"]
            for c, key in owners
        ],
    )
    for (sibling, key), placement in zip(owners, placements, strict=True):
        if key == "_placement":
            sibling["_placement"] = placement
        else:
            sibling["_rollout"]["placement"] = placement
    hosting["CurrentInstanceCount"] = hosting["DesiredInstanceCount"] = variant.count
