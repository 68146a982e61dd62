"""`llm-operator audit`'s cost per namespace: what each namespace's LLMEndpoints run now,
what its leftovers (orphaned, retained, unattributed) cost, the LLMEndpointPolicies
governing it and each budget's room, counted as the operator counts it.

A resource's namespace is its `llmoperator.io/namespace` tag; other clusters'
resources are left out (they are not this cluster's namespaces).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from llm_operator.api import catalog
from llm_operator.core import policy
from llm_operator.core.attribution import Attribution
from llm_operator.core.policy import BudgetLine, Policy
from llm_operator.shell.commands.kube import Cluster
from llm_operator.shell.commands.output import table

IN_USE = "in use"


@dataclass
class NamespaceCost:
    namespace: str
    llmendpoints: int = 0
    running: Decimal = Decimal(0)  # in-use endpoints, instances now x catalog price
    leftover: Decimal = Decimal(0)  # endpoints no LLMEndpoint of this cluster owns
    policies: tuple[str, ...] | None = ()  # None: the policies could not be read
    budget: list[BudgetLine] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "llmEndpoints": self.llmendpoints,
            "costPerHourUSD": catalog.format_usd(self.running),
            "leftoverCostPerHourUSD": catalog.format_usd(self.leftover),
            "policies": None if self.policies is None else list(self.policies),
            "budget": [line.to_json() for line in self.budget],
        }


def by_namespace(
    resources: Sequence[Any],
    live: Sequence[Mapping[str, Any]],
    policies: Sequence[Policy] | None,
    labels: Mapping[str, Mapping[str, str] | None],
) -> list[NamespaceCost]:
    """Cost per namespace from the audited `resources` (audit.Resource) and every live
    LLMEndpoint and LLMEndpointPool (by kind: a pool counts in its namespace's budget);
    `policies` None when they could not be read, `labels` each namespace's (None when it
    could not be read)."""
    rows: dict[str, NamespaceCost] = {}

    def row(namespace: str) -> NamespaceCost:
        return rows.setdefault(namespace, NamespaceCost(namespace))

    for obj in live:
        found = row(str(obj["metadata"]["namespace"]))
        if obj.get("kind") != policy.POOL_KIND:
            found.llmendpoints += 1
    for r in resources:
        if r.kind != "endpoint" or r.state == Attribution.OTHER.value:
            continue
        found = row(r.owner.split("/", 1)[0])
        if r.state == IN_USE:
            found.running += r.hourly or Decimal(0)
        else:
            found.leftover += r.hourly or Decimal(0)
    by_ns: dict[str, list[Mapping[str, Any]]] = {}
    for obj in live:
        by_ns.setdefault(str(obj["metadata"]["namespace"]), []).append(obj)
    for namespace, found in rows.items():
        ns_labels = labels.get(namespace)
        if policies is None or ns_labels is None:
            found.policies = None
            continue
        governing = policy.governing(policies, ns_labels)
        found.policies = tuple(p.name for p in governing)
        counted = [u for u in map(policy.usage_of, by_ns.get(namespace, [])) if u is not None]
        found.budget = policy.budget_lines(governing, counted)
    return sorted(rows.values(), key=lambda c: c.namespace)


def read(
    cluster: Cluster, resources: Sequence[Any], live: Sequence[Mapping[str, Any]]
) -> tuple[list[NamespaceCost], list[str]]:
    """`by_namespace` with the policies and labels read from the cluster; the warnings
    say what could not be read."""
    warnings: list[str] = []
    found = cluster.policies()
    parsed = None if found is None else [policy.parse(obj) for obj in found]
    if parsed is None:
        warnings.append("may not list LLMEndpointPolicies: no policy or budget per namespace")
    namespaces = {str(o["metadata"]["namespace"]) for o in live}
    namespaces |= {r.owner.split("/", 1)[0] for r in resources if r.kind == "endpoint"}
    labels: dict[str, Mapping[str, str] | None] = {}
    for namespace in sorted(namespaces):
        labels[namespace] = cluster.namespace_labels(namespace) if parsed else {}
        if labels[namespace] is None:
            warnings.append(f"may not get Namespace {namespace}: its policies are not shown")
    return by_namespace(resources, live, parsed, labels), warnings


def render(rows: Sequence[NamespaceCost]) -> str:
    """The per-namespace table audit prints after the resources."""
    if not rows:
        return ""
    body = [
        [
            c.namespace,
            str(c.llmendpoints),
            f"${catalog.format_usd(c.running)}",
            f"${catalog.format_usd(c.leftover)}",
            "?" if c.policies is None else (",".join(c.policies) or "-"),
            "; ".join(line.text() for line in c.budget) or "-",
        ]
        for c in rows
    ]
    headers = ["NAMESPACE", "LLMENDPOINTS", "$/HOUR", "LEFTOVER $/HOUR", "POLICIES", "BUDGET"]
    return "Cost per namespace:\n" + table(headers, body) + "\n"
