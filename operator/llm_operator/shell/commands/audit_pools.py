"""`llm-operator audit`'s listing by pool: each LLMEndpointPool's endpoint, what its
instances cost now, and the models placed on it with their copies and share of that cost.

A model's share is what the operator shows in its status: the accelerators its running
copies hold, at the pool's price per accelerator. The models are the LLMEndpoints whose
spec.pool names the pool, and the owners of other base components audited on the
pool's endpoint (what a deleted LLMEndpoint left there), with their state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from llm_operator.api import catalog
from llm_operator.core import pools
from llm_operator.shell.commands.output import table

IN_USE = "in use"


@dataclass
class HostedModel:
    namespace: str
    name: str
    copies: int | None  # its base component's copies now (None: not known)
    accelerators_per_copy: int
    share: Decimal | None  # of the pool's cost per hour
    state: str = IN_USE

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "copies": self.copies,
            "acceleratorsPerCopy": self.accelerators_per_copy,
            "costPerHourUSD": catalog.format_usd(self.share),
            "state": self.state,
        }


@dataclass
class PoolRow:
    namespace: str
    name: str
    endpoint: str | None
    instance_type: str
    instances: str | None  # "current x type", as audit shows endpoints
    cost: Decimal | None
    models: list[HostedModel] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "name": self.name,
            "endpointName": self.endpoint,
            "instanceType": self.instance_type,
            "instances": self.instances,
            "costPerHourUSD": catalog.format_usd(self.cost),
            "models": [m.to_json() for m in self.models],
        }


def _on(obj: Mapping[str, Any], namespace: str, name: str) -> bool:
    meta = obj.get("metadata") or {}
    ref = (obj.get("spec") or {}).get("pool") or {}
    return ref.get("name") == name and (ref.get("namespace") or meta.get("namespace")) == namespace


def _share(instance_type: str, copies: int | None, accelerators: int) -> Decimal | None:
    kind = catalog.instance_type(instance_type)
    if kind is None or copies is None:
        return None
    price = catalog.hourly_cost(instance_type, 1)
    return pools.share(price, copies * accelerators, kind.accelerators)


def by_pool(
    found: Sequence[Mapping[str, Any]],
    live: Sequence[Mapping[str, Any]],
    resources: Sequence[Any],
) -> list[PoolRow]:
    """Each pool (`found`) with its endpoint's audited cost and the models on it, from
    every live LLMEndpoint and the audited `resources` (audit.Resource)."""
    rows: list[PoolRow] = []
    for obj in found:
        meta, status = obj.get("metadata") or {}, obj.get("status") or {}
        namespace, name = str(meta.get("namespace")), str(meta.get("name"))
        # What the endpoint runs (spec.instance.type once a change of it rolled out).
        kind = str(
            status.get("instanceType")
            or ((obj.get("spec") or {}).get("instance") or {}).get("type")
            or ""
        )
        endpoint = status.get("endpointName")
        audited = next((r for r in resources if r.kind == "endpoint" and r.name == endpoint), None)
        row = PoolRow(namespace, name, endpoint, kind, None, None)
        if audited is not None:
            row.instances, row.cost = audited.instances, audited.hourly
        else:  # not in the audited regions: what the pool's status says
            current = (status.get("instances") or {}).get("current")
            row.instances = f"{current} x {kind}" if current is not None else None
            cost = status.get("costPerHourUSD")
            row.cost = Decimal(cost) if cost else None
        for guest in sorted(
            (o for o in live if _on(o, namespace, name)),
            key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]),
        ):
            gs = guest.get("status") or {}
            copies = (gs.get("copies") or {}).get("current")
            per = int((gs.get(pools.PLACEMENT_KEY) or {}).get("acceleratorsPerCopy") or 0)
            row.models.append(
                HostedModel(
                    str(guest["metadata"]["namespace"]),
                    str(guest["metadata"]["name"]),
                    copies,
                    per,
                    _share(kind, copies, per),
                )
            )
        placed = {f"{m.namespace}/{m.name}" for m in row.models}
        for r in resources:
            if (
                r.kind == "inference component"
                and r.endpoint == endpoint
                and not r.base
                and r.owner not in placed
            ):
                ns, _, owner = r.owner.partition("/")
                row.models.append(HostedModel(ns, owner, None, 0, None, r.state))
                placed.add(r.owner)
        rows.append(row)
    return sorted(rows, key=lambda p: (p.namespace, p.name))


def render(rows: Sequence[PoolRow]) -> str:
    """The per-pool table audit prints after the resources: a line per pool, then a
    line per model on it."""
    if not rows:
        return ""
    body: list[list[str]] = []
    for p in rows:
        body.append(
            [
                f"{p.namespace}/{p.name}",
                p.endpoint or "-",
                p.instances or "-",
                "-",
                f"${catalog.format_usd(p.cost)}" if p.cost is not None else "-",
                "",
            ]
        )
        for m in p.models:
            body.append(
                [
                    f"  {m.namespace}/{m.name}",
                    "",
                    "",
                    "-" if m.copies is None else f"{m.copies} x {m.accelerators_per_copy}",
                    f"${catalog.format_usd(m.share)}" if m.share is not None else "-",
                    m.state,
                ]
            )
    headers = ["POOL / MODEL", "ENDPOINT", "INSTANCES", "COPIES", "$/HOUR", "STATE"]
    return "Pools:\n" + table(headers, body) + "\n"
