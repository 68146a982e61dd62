"""Reads the endpoint and what it is made of: its endpoint configs and models.

Models and endpoint configs are immutable, so existence and ownership are all a pass
needs of them: they come from the inventory, and older ones of this LLMEndpoint are
found by its name prefix so they can be deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llm_operator.core.kinds import Kind
from llm_operator.core.observed import ObservedEndpoint, ObservedResource
from llm_operator.shell.observe.reading import Reading, epoch


async def read_endpoint(reading: Reading, name: str) -> ObservedEndpoint | None:
    """The endpoint `name`, or None when there is none."""
    response = await reading.describe(Kind.ENDPOINT, name)
    if response is None:
        return None
    who = await reading.owner(str(response["EndpointArn"]), response.get("CreationTime"), name)
    variants = response.get("ProductionVariants") or []
    current = sum(int(v.get("CurrentInstanceCount") or 0) for v in variants)
    wanted = sum(int(v.get("DesiredInstanceCount") or 0) for v in variants)
    pending = response.get("PendingDeploymentSummary") or {}
    stage = _variant_status(pending.get("ProductionVariants") or variants)
    return ObservedEndpoint(
        name=name,
        arn=str(response["EndpointArn"]),
        status=str(response.get("EndpointStatus", "")),
        config_name=str(response.get("EndpointConfigName", "")),
        failure_reason=response.get("FailureReason") or None,
        current_instances=current if variants else None,
        desired_instances=wanted if variants else None,
        owner_uid=who.uid,
        owner_name=who.name,
        owner_cluster_id=who.cluster_id,
        pending_config=pending.get("EndpointConfigName") or None,
        deployment_status=stage.get("Status"),
        deployment_message=stage.get("StatusMessage"),
        last_modified=epoch(response.get("LastModifiedTime")),
        serverless=(variants[0].get("CurrentServerlessConfig") or None) if variants else None,
    )


async def read_immutables(
    reading: Reading, kind: Kind, wanted: set[str], prefixed: set[str], uid: str
) -> dict[str, ObservedResource]:
    """The models or endpoint configs (`kind`) named `wanted`, and those listed under
    this LLMEndpoint's prefix (`prefixed`) whose uid tag is `uid`."""
    place, inventory = reading.place, reading.inventory
    listed, arn_key = inventory.listed()[kind], kind.arn_member
    names = prefixed | {n for n in wanted if n in listed}
    # A name we acted on after the inventory was taken: ask SageMaker directly.
    recheck = {n for n in wanted if reading.cache.stale(place, kind, n, inventory)}
    found: dict[str, ObservedResource] = {}
    for n in sorted(names | recheck):
        made = reading.cache.created(place, kind, n) if n in recheck else None
        if made is not None:
            # This process just created it (its Create answered with the ARN).
            arn, created = str(made[arn_key]), made.get("CreationTime")
        elif n in recheck:
            response = await reading.cache.describe(place, kind, n, None, stale=True, full=True)
            if response is None:
                continue
            arn, created = str(response[arn_key]), response.get("CreationTime")
        else:
            arn, created = str(listed[n][arn_key]), listed[n].get("CreationTime")
        who = await reading.owner(arn, created, n)
        if n not in wanted and who.uid != uid:
            continue  # an old name of ours only if our uid tag says so
        found[n] = ObservedResource(
            name=n,
            owner_uid=who.uid,
            owner_name=who.name,
            owner_cluster_id=who.cluster_id,
            arn=arn,
            created=epoch(created),
        )
    return found


def _variant_status(variants: list[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The first variant's newest VariantStatus entry (a deployment's current step)."""
    for variant in variants:
        entries = variant.get("VariantStatus") or []
        if entries:
            latest: Mapping[str, Any] = entries[-1]
            return latest
    return {}
