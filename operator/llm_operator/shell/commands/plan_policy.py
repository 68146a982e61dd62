"""What `llm-operator plan` reads and shows of the LLMEndpointPolicies governing a
manifest's namespace: plan renders under them as the operator does (defaults, enforced
tags, limits), counts the namespace's budgets as the operator would at its next pass,
and refuses an adoption they forbid. Read with the person's kubeconfig: what may not
be read becomes a warning and an inexact plan, never a failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llm_operator.api.models import LLMEndpointSpec
from llm_operator.core import policy
from llm_operator.core.policy import Applied, BudgetLine, Governed, Policy
from llm_operator.shell.commands.kube import Cluster


@dataclass
class PolicyReport:
    """The policies' part of one LLMEndpoint's plan."""

    governed_by: tuple[str, ...] = ()
    applied: tuple[Applied, ...] = ()
    violations: list[str] = field(default_factory=list)
    budget: list[BudgetLine] = field(default_factory=list)
    budget_exceeded: bool = False

    @classmethod
    def of(cls, governed: Governed) -> PolicyReport:
        return cls(
            governed_by=governed.policies,
            applied=governed.applied,
            violations=[
                p.message
                for p in governed.problems
                if p.severity == "error" and p.reason == policy.VIOLATION
            ],
        )

    def to_json(self) -> dict[str, Any] | None:
        if not self.governed_by:
            return None
        return {
            "governedBy": list(self.governed_by),
            "defaults": [a.to_status() for a in self.applied if not a.enforced],
            "enforcedTags": [a.to_status() for a in self.applied if a.enforced],
            "violations": self.violations,
            "budget": [line.to_json() for line in self.budget],
            "budgetExceeded": self.budget_exceeded,
        }

    def text(self) -> list[str]:
        if not self.governed_by:
            return []
        lines = [f"  governed by LLMEndpointPolicy {', '.join(self.governed_by)}"]
        for a in self.applied:
            what = "enforced tag" if a.enforced else "default"
            lines.append(f"    {what} {a.field}: {a.value} (from {a.policy})")
        lines += [f"    limit violated: {v}" for v in self.violations]
        for line in self.budget:
            lines.append(f"    budget left after this one: {line.text()}")
        if self.budget_exceeded:
            lines.append("    budget exceeded: the operator would refuse it (BudgetExceeded)")
        return lines


class PolicyReads:
    """The LLMEndpointPolicies and the namespace's labels and LLMEndpoints, read once
    per command."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._policies: tuple[Policy, ...] | None = None
        self._readable = True
        # Per namespace, the LLMEndpoints of the file planned so far that the budget
        # counts (by name, at their new ceilings): a file of ten with room for six is
        # planned as six that fit and four refused, as the operator would decide.
        self._planned: dict[str, dict[str, policy.Usage]] = {}

    async def governing(self, namespace: str) -> tuple[tuple[Policy, ...], list[str]]:
        """The policies governing `namespace`, and what could not be read (the plan is
        then inexact)."""
        if self._policies is None:
            found = await asyncio.to_thread(self.cluster.policies)
            self._readable = found is not None
            self._policies = tuple(policy.parse(obj) for obj in found or ())
        if not self._readable:
            return (), [
                "PoliciesUnreadable: may not list LLMEndpointPolicies: planned as if none "
                "governs; the operator applies their defaults, limits and budgets"
            ]
        if not self._policies:
            return (), []
        labels = await asyncio.to_thread(self.cluster.namespace_labels, namespace)
        if labels is None:
            return (), [
                f"NamespaceUnreadable: may not get Namespace {namespace}, whose labels "
                "LLMEndpointPolicies select by: planned as if none governs it"
            ]
        return policy.governing(self._policies, labels), []

    async def budget(
        self,
        report: PolicyReport,
        *,
        namespace: str,
        name: str,
        uid: str,
        spec: LLMEndpointSpec,
        status: Mapping[str, Any],
        governing: Sequence[Policy],
    ) -> tuple[str | None, str | None]:
        """The namespace's budgets as the operator counts them at its next pass (with
        the file's LLMEndpoints planned before this one), into `report`; returns
        (error, warning) as `reason: message` texts."""
        if not policy.budgets(governing):
            return None, None
        found = await asyncio.to_thread(self.cluster.namespace_llmendpoints, namespace)
        if found is None:
            return None, (
                f"LLMEndpointsUnreadable: may not list the LLMEndpoints of {namespace}: "
                "its budget could not be counted"
            )
        counting = {
            u.name: u
            for obj in found
            if (obj.get("metadata") or {}).get("uid") != uid
            and (u := policy.usage_of(obj)) is not None
        }
        planned = self._planned.setdefault(namespace, {})
        counting.update((n, u) for n, u in planned.items() if n != name)
        others = list(counting.values())
        ceiling, what = policy.endpoint_ceiling(spec, namespace)  # as the operator
        error: str | None = None
        warning: str | None = None
        if policy.standing(status, ceiling) is None:
            answer = policy.admit(
                namespace=namespace,
                name=name,
                ceiling=ceiling,
                what=what,
                others=others,
                policies=governing,
            )
            if answer.problem is not None:
                text = f"{answer.problem.reason}: {answer.problem.message}"
                if answer.admitted:
                    warning = text
                else:
                    error = text
        report.budget_exceeded = error is not None
        if error is None:
            planned[name] = policy.Usage(name, ceiling)
        counted = others if error else [*others, policy.Usage(name, ceiling)]
        report.budget = policy.budget_lines(governing, counted)
        return error, warning
