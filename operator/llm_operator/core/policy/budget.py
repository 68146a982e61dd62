"""Budgets: how the LLMEndpoints and LLMEndpointPools of a namespace count at their
ceilings, and whether one more fits every budget governing it.

A pool counts against its own namespace's cost at its ceiling (its instance type x
maxCount) but is not an LLMEndpoint (`maxEndpoints`); an LLMEndpoint on a pool counts
toward `maxEndpoints` at no cost (its instances are the pool's)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from llm_operator.api import catalog
from llm_operator.api.models import VARIANT_ENDPOINT_TYPES, LLMEndpointSpec
from llm_operator.api.policy import PolicyBudget
from llm_operator.core.policy.limits import ceiling_instances
from llm_operator.core.policy.parsed import BUDGET_EXCEEDED, PRICE_UNKNOWN, Policy, specs
from llm_operator.core.validation import Problem, error, warning


def ceiling_cost(instance_type: str, instances: int) -> Decimal | None:
    return catalog.hourly_cost(instance_type, instances)


@dataclass(frozen=True)
class Usage:
    """Another LLMEndpoint of the namespace as the budget counts it."""

    name: str
    ceiling: Decimal | None  # USD per hour at its ceiling; None: price unknown
    now: Decimal | None = None  # USD per hour running now (its status)
    refused: bool = False
    endpoint: bool = True  # an LLMEndpoint (counts toward maxEndpoints); False: a pool


POOL_KIND = "LLMEndpointPool"


def endpoint_ceiling(spec: LLMEndpointSpec, namespace: str) -> tuple[Decimal | None, str]:
    """What an LLMEndpoint counts against its namespace's budget, and how to name it:
    its instances at their ceiling, or nothing on a pool (the instances are the pool's,
    counted in the pool's namespace; it takes a maxEndpoints slot only). One rule for
    the operator's admission and for plan's."""
    if spec.pool is not None:
        return Decimal(0), f"on LLMEndpointPool {spec.pool.namespace or namespace}/{spec.pool.name}"
    if spec.serverless is not None:
        # Billed per use, no hourly ceiling to count: it takes a maxEndpoints slot only.
        return Decimal(0), f"serverless {spec.serverless.memory_mib} MiB (billed per use)"
    instances = ceiling_instances(spec)
    return (
        ceiling_cost(spec.instance_spec.type, instances),
        f"{spec.instance_spec.type} x {instances}",
    )


def pool_key(name: str) -> str:
    """A pool's name as the budget counts it: never an LLMEndpoint's of the namespace."""
    return f"{POOL_KIND}/{name}"


def pool_ceiling(spec: Mapping[str, Any]) -> tuple[str, int]:
    """(instance type, maxCount) of a stored pool's spec, without parsing it."""
    instance = spec.get("instance") or {}
    return str(instance.get("type") or ""), int(instance.get("maxCount") or 1)


def raw_ceiling(spec: Mapping[str, Any]) -> tuple[str, int]:
    """(instance type, instances at the ceiling) of a stored spec, without parsing it
    (the other LLMEndpoints of a namespace are counted from what the API server holds)."""
    instance = spec.get("instance") or {}
    itype = str(instance.get("type") or "")
    count = int(instance.get("count") or 1)
    most = max(count, int(instance.get("maxCount") or 0))
    scaling = spec.get("autoscaling") or {}
    if spec.get("endpointType") in VARIANT_ENDPOINT_TYPES and scaling:
        most = max(count, int(scaling.get("maxReplicas") or 0))
    return itype, most


def usage_of(obj: Mapping[str, Any]) -> Usage | None:
    """How one stored LLMEndpoint (or LLMEndpointPool, by its kind) counts against its
    namespace's budget; None when it does not count: being deleted, or neither admitted
    nor running (waiting or refused). One on a pool counts at no cost."""
    meta = obj.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return None
    if obj.get("kind") == POOL_KIND:
        return _pool_usage(obj)
    status = obj.get("status") or {}
    record = status.get("policy") or {}
    name = str(meta.get("name"))
    spec = obj.get("spec") or {}
    if spec.get("pool") or spec.get("serverless"):
        # On a pool (the pool's instances count) or serverless (billed per use): no
        # hourly cost of its own, one endpoint.
        counts = record.get("admitted") or status.get("endpointName")
        return Usage(name, Decimal(0), Decimal(0)) if counts else None
    now = parse_usd(status.get("estimatedHourlyCostUSD"))
    if record.get("admitted"):
        return Usage(name, parse_usd(record.get("ceilingCostPerHourUSD")), now)
    if status.get("endpointName"):
        # Running since before any budget governed it: it counts at its spec's ceiling.
        itype, most = raw_ceiling(obj.get("spec") or {})
        return Usage(name, ceiling_cost(itype, most), now)
    return None


def _pool_usage(obj: Mapping[str, Any]) -> Usage | None:
    status = obj.get("status") or {}
    record = status.get("policy") or {}
    key = pool_key(str((obj.get("metadata") or {}).get("name")))
    now = parse_usd(status.get("costPerHourUSD"))
    if record.get("admitted"):
        return Usage(key, parse_usd(record.get("ceilingCostPerHourUSD")), now, endpoint=False)
    if status.get("endpointName"):  # running since before any budget governed it
        return Usage(key, ceiling_cost(*pool_ceiling(obj.get("spec") or {})), now, endpoint=False)
    return None


def parse_usd(text: Any) -> Decimal | None:
    """A USD amount from status (None when absent or not a number)."""
    try:
        return Decimal(str(text)) if text not in (None, "") else None
    except ArithmeticError:
        return None


def budgets(policies: Sequence[Policy]) -> list[tuple[str, PolicyBudget]]:
    return [(n, s.budget) for n, s in specs(policies) if s.budget is not None]


@dataclass(frozen=True)
class Admission:
    """The budget's answer for one LLMEndpoint: refused (with the problem) or not,
    and what is left under each budget once it is counted."""

    problem: Problem | None
    left: tuple[str, ...] = field(default=())

    @property
    def admitted(self) -> bool:
        return self.problem is None or self.problem.severity != "error"


def admit(
    *,
    namespace: str,
    name: str,
    ceiling: Decimal | None,
    what: str,
    others: Sequence[Usage],
    policies: Sequence[Policy],
    endpoint: bool = True,
) -> Admission:
    """Whether one more LLMEndpoint (or a higher ceiling of one; a pool with `endpoint`
    False) fits every budget governing the namespace. `others` excludes this one;
    `what` describes its ceiling (e.g. "ml.g5.12xlarge x 2") for the message."""
    counted = [u for u in others if u.name != name]
    endpoints = sum(1 for u in counted if u.endpoint)
    taken = sum((u.ceiling or Decimal(0) for u in counted), Decimal(0))
    left: list[str] = []
    for policy, budget in budgets(policies):
        who = f"LLMEndpointPolicy {policy}"
        if endpoint and budget.max_endpoints is not None and endpoints + 1 > budget.max_endpoints:
            return Admission(
                error(
                    BUDGET_EXCEEDED,
                    f"{who} allows {budget.max_endpoints} LLMEndpoints in namespace "
                    f"{namespace}; {endpoints} are counted, none is left",
                )
            )
        limit = budget.max_cost
        if limit is None:
            continue
        if ceiling is None:
            return Admission(
                warning(
                    PRICE_UNKNOWN,
                    f"{what}: no price in the operator's instance catalog "
                    f"({catalog.load().as_of}); not counted against {who}'s budget",
                )
            )
        remaining = limit - taken
        if ceiling > remaining:
            return Admission(
                error(
                    BUDGET_EXCEEDED,
                    f"{who} allows {catalog.format_usd(limit)} USD/h in namespace {namespace} "
                    f"at ceilings; {catalog.format_usd(taken)} is taken by {_taken_by(counted)}"
                    f", {catalog.format_usd(max(remaining, Decimal(0)))} is left, "
                    f"and this one needs {catalog.format_usd(ceiling)} ({what}, prices of "
                    f"{catalog.load().as_of})",
                )
            )
        left.append(f"{policy}: {catalog.format_usd(remaining - ceiling)} USD/h")
    return Admission(None, tuple(left))


def _taken_by(counted: Sequence[Usage]) -> str:
    endpoints = sum(1 for u in counted if u.endpoint)
    pools = len(counted) - endpoints
    return f"{endpoints} LLMEndpoints" + (f" and {pools} LLMEndpointPools" if pools else "")


# Why an LLMEndpoint is not counted again (`standing`).
ADMITTED, RUNNING = "admitted", "running"


def standing(status: Mapping[str, Any], ceiling: Decimal | None) -> str | None:
    """Why this LLMEndpoint needs no new admission: ADMITTED already at this ceiling or a
    higher one, or RUNNING since before any budget governed it (what runs keeps
    running); None when it must fit (new, or its ceiling raised)."""
    record = status.get("policy") or {}
    if record.get("admitted"):
        before = parse_usd(record.get("ceilingCostPerHourUSD"))
        return ADMITTED if ceiling is None or (before or 0) >= ceiling else None
    return RUNNING if status.get("endpointName") else None


@dataclass(frozen=True)
class BudgetLine:
    """One budget as it stands for a namespace: what is counted (this LLMEndpoint
    included when it counts) against what the policy allows."""

    policy: str
    endpoints: int
    ceiling: Decimal  # USD per hour at ceilings
    max_endpoints: int | None
    max_cost: Decimal | None

    def to_json(self) -> dict[str, Any]:
        left = None if self.max_cost is None else max(self.max_cost - self.ceiling, Decimal(0))
        return {
            "policy": self.policy,
            "endpoints": self.endpoints,
            "maxEndpoints": self.max_endpoints,
            "endpointsLeft": (
                None if self.max_endpoints is None else max(self.max_endpoints - self.endpoints, 0)
            ),
            "ceilingCostPerHourUSD": catalog.format_usd(self.ceiling),
            "maxCostPerHourUSD": catalog.format_usd(self.max_cost),
            "leftPerHourUSD": catalog.format_usd(left),
        }

    def text(self) -> str:
        row = self.to_json()
        parts = []
        if self.max_endpoints is not None:
            parts.append(
                f"{self.endpoints} of {self.max_endpoints} LLMEndpoints "
                f"({row['endpointsLeft']} left)"
            )
        if self.max_cost is not None:
            parts.append(
                f"{row['ceilingCostPerHourUSD']} of {row['maxCostPerHourUSD']} USD/h at "
                f"ceilings ({row['leftPerHourUSD']} left)"
            )
        return f"{self.policy}: " + ", ".join(parts)


def budget_lines(
    policies: Sequence[Policy],
    counted: Sequence[Usage],
) -> list[BudgetLine]:
    """Every budget governing a namespace against the LLMEndpoints `counted` there."""
    cost = sum((u.ceiling or Decimal(0) for u in counted), Decimal(0))
    endpoints = sum(1 for u in counted if u.endpoint)
    return [
        BudgetLine(name, endpoints, cost, b.max_endpoints, b.max_cost)
        for name, b in budgets(policies)
    ]
