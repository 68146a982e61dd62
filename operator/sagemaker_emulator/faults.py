"""Faults on demand, so the operator's reliability tests can meet the failures AWS produces."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

RESOURCE_TYPES = ("model", "endpoint_config", "endpoint", "inference_component")


@dataclass
class FailNext:
    """The next creation or update of a matching resource ends Failed with `reason`."""

    resource: str
    reason: str
    name: str | None = None


@dataclass
class Stuck:
    """Matching resources created while this stands never leave Creating."""

    resource: str
    name: str | None = None


@dataclass
class Faults:
    throttle_rate: float = 0.0
    internal_error_rate: float = 0.0
    latency_seconds: float = 0.0
    operations: list[str] | None = None  # limit rate faults and latency to these operations
    fail_next: list[FailNext] = field(default_factory=list)
    stuck: list[Stuck] = field(default_factory=list)
    # Account-level instance quotas by instance type (absent: unlimited).
    instance_limits: dict[str, int] = field(default_factory=dict)
    seed: int | None = None
    # Streamed answers stop after their first token's parts until this is cleared.
    hold_streams: bool = False
    _random: random.Random = field(default_factory=random.Random, repr=False)

    def applies_to(self, operation: str) -> bool:
        return self.operations is None or operation in self.operations

    def roll(self, rate: float) -> bool:
        return rate > 0 and self._random.random() < rate

    def take_failure(self, resource: str, name: str) -> str | None:
        for index, fault in enumerate(self.fail_next):
            if fault.resource == resource and fault.name in (None, name):
                del self.fail_next[index]
                return fault.reason
        return None

    def is_stuck(self, resource: str, name: str) -> bool:
        return any(s.resource == resource and s.name in (None, name) for s in self.stuck)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_random")
        return data


def parse_faults(body: dict[str, Any], current: Faults) -> Faults:
    """Merge an admin request into the current faults; unknown keys are an error, not ignored."""
    allowed = {
        "throttle_rate",
        "internal_error_rate",
        "latency_seconds",
        "operations",
        "fail_next",
        "stuck",
        "instance_limits",
        "seed",
        "hold_streams",
    }
    unknown = set(body) - allowed
    if unknown:
        raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
    faults = current
    for rate in ("throttle_rate", "internal_error_rate"):
        if rate in body:
            value = float(body[rate])
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{rate} must be between 0 and 1")
            setattr(faults, rate, value)
    if "latency_seconds" in body:
        faults.latency_seconds = max(0.0, float(body["latency_seconds"]))
    if "operations" in body:
        ops = body["operations"]
        faults.operations = None if ops is None else [str(op) for op in ops]
    for item in body.get("fail_next", []):
        _check_resource(item.get("resource"))
        faults.fail_next.append(
            FailNext(
                item["resource"],
                str(item.get("reason", "Request to service failed.")),
                item.get("name"),
            )
        )
    for item in body.get("stuck", []):
        _check_resource(item.get("resource"))
        faults.stuck.append(Stuck(item["resource"], item.get("name")))
    if "instance_limits" in body:
        faults.instance_limits.update({str(k): int(v) for k, v in body["instance_limits"].items()})
    if "hold_streams" in body:
        if not isinstance(body["hold_streams"], bool):
            raise ValueError("hold_streams must be true or false")
        faults.hold_streams = body["hold_streams"]
    if "seed" in body:
        faults.seed = int(body["seed"])
        faults._random.seed(faults.seed)
    return faults


def _check_resource(resource: Any) -> None:
    if resource not in RESOURCE_TYPES:
        raise ValueError(f"resource must be one of {', '.join(RESOURCE_TYPES)}")
