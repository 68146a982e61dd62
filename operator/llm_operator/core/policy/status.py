"""The LLMEndpointPolicy's own status: usage per governed namespace, and what the
admin should look at (a selector matching nothing, conflicting defaults)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from llm_operator.api import catalog
from llm_operator.core.policy.budget import Usage, usage_of
from llm_operator.core.policy.defaults import conflicts
from llm_operator.core.policy.parsed import (
    ADOPTION_NOT_ALLOWED,
    BUDGET_EXCEEDED,
    VIOLATION,
    Policy,
)
from llm_operator.core.policy.selection import governing, selects


def namespace_status(namespace: str, usages: Sequence[Usage], refused: int) -> dict[str, Any]:
    now = [u.now for u in usages if u.now is not None]
    ceilings = [u.ceiling for u in usages if u.ceiling is not None]
    return {
        "name": namespace,
        "endpoints": sum(1 for u in usages if u.endpoint),
        "costPerHourUSD": catalog.format_usd(sum(now, Decimal(0))),
        "ceilingCostPerHourUSD": catalog.format_usd(sum(ceilings, Decimal(0))),
        "refused": refused,
    }


def refused(obj: Mapping[str, Any]) -> bool:
    """The LLMEndpoint is held back by a policy (its Degraded reason says so)."""
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Degraded" and c.get("status") == "True":
            return c.get("reason") in (BUDGET_EXCEEDED, VIOLATION, ADOPTION_NOT_ALLOWED)
    return False


def policy_status(
    policy: Policy,
    policies: Sequence[Policy],
    namespaces: Mapping[str, Mapping[str, str]],
    endpoints: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """One policy's status from every policy, every namespace's labels and every
    LLMEndpoint: usage per governed namespace, and what the admin should look at."""
    out: dict[str, Any] = {
        "observedGeneration": policy.generation,
        "priceDate": catalog.load().as_of,
    }
    if policy.spec is None:
        out.update(namespaces=[], governed=0, problems=list(policy.problems))
        return out
    governed = sorted(
        n for n, labels in namespaces.items() if selects(policy.spec.namespace_selector, labels)
    )
    by_namespace: dict[str, list[Mapping[str, Any]]] = {}
    for obj in endpoints:
        by_namespace.setdefault(str((obj.get("metadata") or {}).get("namespace")), []).append(obj)
    rows = []
    problems: list[str] = []
    seen: set[str] = set()
    for ns in governed:
        objs = by_namespace.get(ns, [])
        usages = [u for u in map(usage_of, objs) if u is not None]
        rows.append(namespace_status(ns, usages, sum(1 for o in objs if refused(o))))
        for c in conflicts(governing(policies, namespaces[ns])):
            if policy.name in (c.winner, c.loser) and c.message() not in seen:
                seen.add(c.message())
                problems.append(f"namespace {ns}: {c.message()}")
    if not governed:
        problems.insert(0, "namespaceSelector matches no namespace")
    out.update(namespaces=rows, governed=len(governed), problems=problems)
    return out
