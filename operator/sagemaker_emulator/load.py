"""Simulated traffic: the load the autoscaler sees, per inference component or endpoint variant.

Load comes from two places. The admin API sets a steady level (concurrent
requests, invocations per minute) that holds until changed; InvokeEndpoint
calls add to it as they arrive (each call counts as one invocation at its time;
the emulator answers at once, so calls add no concurrency). Invocations that
found a component with no copies are kept apart: they are the
`NoCapacityInvocationFailures` metric that brings a component back from zero.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .caller import Caller

HISTORY_SECONDS = 3600.0  # timestamps older than this (emulator seconds) are dropped


@dataclass(frozen=True)
class Target:
    """What carries load: an inference component, or a variant of a model-based endpoint."""

    account: str
    region: str
    component: str | None = None
    endpoint: str | None = None
    variant: str | None = None

    @classmethod
    def of_component(cls, caller: Caller, name: str) -> Target:
        return cls(caller.account, caller.region, component=name)

    @classmethod
    def of_variant(cls, caller: Caller, endpoint: str, variant: str) -> Target:
        return cls(caller.account, caller.region, endpoint=endpoint, variant=variant)

    @classmethod
    def invoked(cls, caller: Caller, endpoint: str, component: str | None, variant: str) -> Target:
        """What an InvokeEndpoint call loads: the component it names, else the variant."""
        if component:
            return cls.of_component(caller, component)
        return cls.of_variant(caller, endpoint, variant)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"account": self.account, "region": self.region}
        if self.component is not None:
            out["inference_component"] = self.component
        else:
            out["endpoint"] = self.endpoint
            out["variant"] = self.variant
        return out


@dataclass
class Level:
    concurrent_requests: float = 0.0
    invocations_per_minute: float = 0.0


# (target, time) of one invocation refused for lack of copies: the metric's publisher.
FailureListener = Callable[[Target, float], None]


@dataclass
class LoadBook:
    levels: dict[Target, Level] = field(default_factory=dict)
    invocations: dict[Target, list[float]] = field(default_factory=dict)
    failures: dict[Target, list[float]] = field(default_factory=dict)
    on_failure: FailureListener | None = None

    def clear(self) -> None:
        self.levels.clear()
        self.invocations.clear()
        self.failures.clear()

    def set(
        self,
        target: Target,
        *,
        concurrent_requests: float | None = None,
        invocations_per_minute: float | None = None,
    ) -> Level:
        level = self.levels.setdefault(target, Level())
        if concurrent_requests is not None:
            level.concurrent_requests = float(concurrent_requests)
        if invocations_per_minute is not None:
            level.invocations_per_minute = float(invocations_per_minute)
        return level

    def level(self, target: Target) -> Level:
        return self.levels.get(target) or Level()

    def invoked(self, target: Target, at: float) -> None:
        _append(self.invocations.setdefault(target, []), at)

    def refused(self, target: Target, at: float) -> None:
        """An invocation found no copy to serve it (NoCapacityInvocationFailures)."""
        _append(self.failures.setdefault(target, []), at)
        if self.on_failure is not None:
            self.on_failure(target, at)

    @staticmethod
    def count(times: list[float] | None, start: float, end: float) -> int:
        """How many of `times` fall in [start, end)."""
        if not times:
            return 0
        return bisect.bisect_left(times, end) - bisect.bisect_left(times, start)

    def to_json(self) -> list[dict[str, Any]]:
        return [
            {
                **target.to_json(),
                "concurrent_requests": level.concurrent_requests,
                "invocations_per_minute": level.invocations_per_minute,
            }
            for target, level in self.levels.items()
        ]


def _append(times: list[float], at: float) -> None:
    bisect.insort(times, at)
    if times[0] < at - HISTORY_SECONDS:
        del times[: bisect.bisect_left(times, at - HISTORY_SECONDS)]
