"""Instance catalog: what a SageMaker ml.* instance type offers and roughly costs.

The figures live in `catalog.json` (dated, with its source) because prices drift
and new types appear; code only reads them. They feed the CRD's instance-type
rule, validation (copies must fit the pool), SM_NUM_GPUS and the cost estimate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Any, Literal

AcceleratorKind = Literal["gpu", "neuron"]


@dataclass(frozen=True)
class InstanceType:
    name: str
    # GPUs, or Inferentia chips for inf2; 0 for CPU-only types.
    accelerators: int
    accelerator_memory_gib: int  # per accelerator
    accelerator_kind: AcceleratorKind | None
    accelerator_model: str | None
    vcpus: int
    memory_gib: int
    hourly_usd: Decimal | None  # on-demand, catalog region; None when unknown

    @property
    def family(self) -> str:
        return family_of(self.name)


@dataclass(frozen=True)
class Catalog:
    as_of: str
    region: str
    source: str
    types: dict[str, InstanceType]


def family_of(instance_type: str) -> str:
    """`ml.g5.12xlarge` -> `g5`; empty string when the name is not ml.FAMILY.SIZE."""
    parts = instance_type.split(".")
    if len(parts) != 3 or parts[0] != "ml":
        return ""
    return parts[1]


def _instance(raw: dict[str, Any]) -> InstanceType:
    price = raw.get("hourlyUSD")
    return InstanceType(
        name=str(raw["name"]),
        accelerators=int(raw["accelerators"]),
        accelerator_memory_gib=int(raw["acceleratorMemoryGiB"]),
        accelerator_kind=raw.get("acceleratorKind"),
        accelerator_model=raw.get("acceleratorModel"),
        vcpus=int(raw["vcpus"]),
        memory_gib=int(raw["memoryGiB"]),
        hourly_usd=Decimal(str(price)) if price is not None else None,
    )


@cache
def load() -> Catalog:
    text = resources.files(__package__).joinpath("catalog.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    types = {t.name: t for t in map(_instance, raw["instanceTypes"])}
    return Catalog(as_of=raw["asOf"], region=raw["region"], source=raw["source"], types=types)


def instance_type(name: str) -> InstanceType | None:
    return load().types.get(name)


def instance_types() -> list[InstanceType]:
    return list(load().types.values())


def families() -> list[str]:
    """Known families in a stable order (the CRD's instance-type rule is built from it)."""
    return sorted({t.family for t in load().types.values()})


def hourly_cost(name: str, count: int) -> Decimal | None:
    """On-demand cost per hour of `count` instances, or None when the price is unknown."""
    t = instance_type(name)
    if t is None or t.hourly_usd is None:
        return None
    return t.hourly_usd * count


def format_usd(amount: Decimal | None) -> str | None:
    """Two decimals as a string, as status.estimatedHourlyCostUSD shows it ("7.09")."""
    if amount is None:
        return None
    return str(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def estimated_hourly_cost_usd(name: str, count: int) -> str | None:
    return format_usd(hourly_cost(name, count))
