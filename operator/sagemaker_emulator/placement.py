"""Inference component copies on their endpoint variant's instances.

Shared by the component handlers and rolling deployments: the variant as the other
components leave it, and its instances settled after copies moved.
"""

from __future__ import annotations

from typing import Any

from .capacity import CapacityError, Need, Variant, compact, never_fits, place
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


def redeploy(
    region: Region, endpoint: Record, variants: list[Record], *, apply: bool
) -> str | None:
    """Every inference component of `endpoint` placed anew on `variants` (a new endpoint
    config's): UpdateEndpoint on an endpoint hosting components brings up new instances
    and SageMaker redeploys the components' copies onto them. Returns why a copy has no
    room there (the update then rolls back), else None; `apply` records the placements
    and the variants' instance counts (managed instance scaling: as many as the copies
    need, at least MinInstanceCount)."""
    hosted = sorted(
        (
            c
            for c in region.inference_components.values()
            if c["EndpointName"] == endpoint["EndpointName"]
            and not c["_spec"].get("BaseInferenceComponentName")
        ),
        key=lambda c: (float(c.get("CreationTime") or 0), c["InferenceComponentName"]),
    )
    fleets: dict[str, Variant] = {}
    for spec in variants:
        scaling = spec.get("ManagedInstanceScaling")
        managed = bool(scaling and scaling.get("Status") == "ENABLED")
        count = 0 if managed else int(spec["DesiredInstanceCount"])
        fleets[spec["VariantName"]] = Variant(
            spec["_InstanceType"], count, scaling, [[0.0] * 3 for _ in range(count)]
        )
    placed: list[tuple[Record, str, list[int]]] = []
    for component in hosted:
        name = component["InferenceComponentName"]
        fleet = fleets.get(component["VariantName"])
        if fleet is None:
            return (
                f"Inference component {name} runs on variant {component['VariantName']}, which "
                "the new endpoint configuration does not have."
            )
        for spec, placement, key in _groups(component):
            need = Need.of(spec["ComputeResourceRequirements"])
            why = never_fits(need, fleet.instance)
            if why is not None:
                return f"Inference component {name} cannot be placed on the new instances: {why}"
            try:
                placed.append((component, key, place(fleet, need, [], len(placement))))
            except CapacityError as error:
                return f"Inference component {name} cannot be placed on the new instances: {error}"
    if not apply:
        return None
    for component, key, where in placed:
        if key == "_placement":
            component["_placement"] = where
        else:
            component["_rollout"]["placement"] = where
    for spec in variants:
        fleet = fleets[spec["VariantName"]]
        count = max(fleet.count, fleet.min_count) if fleet.scaling else fleet.count
        spec["CurrentInstanceCount"] = spec["DesiredInstanceCount"] = count
    return None


def _groups(record: Record) -> list[tuple[dict[str, Any], list[int], str]]:
    groups = [(record["_spec"], record["_placement"], "_placement")]
    rollout = record.get("_rollout")
    if rollout:
        groups.append((rollout["spec"], rollout["placement"], "_rollout"))
    return groups
