"""Placing inference component copies on an endpoint variant's instances.

Each copy needs accelerators, CPU cores and memory; copies are packed onto the
first instance with room. When nothing has room, ManagedInstanceScaling may add
an instance up to MaxInstanceCount; beyond that the copy cannot be placed and
the reason starts with "CapacityError" as SageMaker's clients expect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .catalog import InstanceType, instance_type


@dataclass(frozen=True)
class Need:
    accelerators: float
    cpus: float
    memory_mb: int

    @classmethod
    def of(cls, requirements: dict[str, Any]) -> Need:
        return cls(
            float(requirements.get("NumberOfAcceleratorDevicesRequired", 0)),
            float(requirements.get("NumberOfCpuCoresRequired", 0)),
            int(requirements.get("MinMemoryRequiredInMb", 0)),
        )

    def fits(self, free: list[float]) -> bool:
        return (
            self.accelerators <= free[0] + 1e-9
            and self.cpus <= free[1] + 1e-9
            and self.memory_mb <= free[2]
        )


class CapacityError(Exception):
    pass


def capacity(kind: InstanceType) -> list[float]:
    return [float(kind.accelerators), float(kind.vcpus), float(kind.memory_mb)]


def never_fits(need: Need, instance: str) -> str | None:
    """Why one copy can never fit on one instance of this type, or None."""
    kind = instance_type(instance)
    if need.fits(capacity(kind)):
        return None
    return (
        f"The compute resource requirements of one copy (accelerators {need.accelerators:g}, "
        f"CPU cores {need.cpus:g}, memory {need.memory_mb} MB) exceed what one {instance} "
        f"instance offers (accelerators {kind.accelerators}, CPU cores {kind.vcpus}, "
        f"memory {kind.memory_mb} MB)."
    )


@dataclass
class Variant:
    """A variant's instances with what others already use on them."""

    instance: str
    count: int
    scaling: dict[str, Any] | None
    used: list[list[float]]  # per instance: accelerators, cpus, memory

    @property
    def max_count(self) -> int:
        if self.scaling and self.scaling.get("Status") == "ENABLED":
            return int(self.scaling.get("MaxInstanceCount", self.count))
        return self.count

    @property
    def min_count(self) -> int:
        if self.scaling and self.scaling.get("Status") == "ENABLED":
            return int(self.scaling.get("MinInstanceCount", self.count))
        return self.count

    def free(self, index: int) -> list[float]:
        total = capacity(instance_type(self.instance))
        return [t - u for t, u in zip(total, self.used[index], strict=True)]

    def take(self, index: int, need: Need) -> None:
        used = self.used[index]
        used[0] += need.accelerators
        used[1] += need.cpus
        used[2] += need.memory_mb


def place(
    variant: Variant, need: Need, keep: list[int], copies: int, *, spread: bool = False
) -> list[int]:
    """Instance index of each copy: existing ones stay, new ones are packed (or, with
    `spread`, SchedulingConfig SPREAD, put on the least used instance they fit); may add
    instances."""
    placement = list(keep[:copies])
    for index in placement:
        variant.take(index, need)
    while len(placement) < copies:
        fitting = [i for i in range(variant.count) if need.fits(variant.free(i))]
        if spread:
            fitting.sort(key=lambda i: (variant.used[i][0], variant.used[i][1], i))
        spot = fitting[0] if fitting else None
        if spot is None:
            if variant.count >= variant.max_count:
                raise CapacityError(
                    f"CapacityError: Unable to place {copies - len(placement)} of {copies} "
                    f"copies: the {variant.count} {variant.instance} instance(s) of the variant "
                    f"are full and ManagedInstanceScaling allows at most {variant.max_count}."
                )
            variant.count += 1
            variant.used.append([0.0, 0.0, 0.0])
            spot = variant.count - 1
        variant.take(spot, need)
        placement.append(spot)
    return placement


def compact(variant: Variant, placements: list[list[int]]) -> list[list[int]]:
    """Release empty instances down to MinInstanceCount (scale in), renumbering copies."""
    if not (variant.scaling and variant.scaling.get("Status") == "ENABLED"):
        return placements
    busy = sorted({i for p in placements for i in p})
    keep = list(busy)
    for index in range(variant.count):
        if len(keep) >= variant.min_count:
            break
        if index not in keep:
            keep.append(index)
    keep.sort()
    renumber = {old: new for new, old in enumerate(keep)}
    variant.count = len(keep)
    variant.used = [variant.used[i] for i in keep]
    return [[renumber[i] for i in p] for p in placements]
