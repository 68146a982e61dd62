"""Which LLMEndpointPolicies govern a namespace: Kubernetes label selectors on its labels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from llm_operator.api.policy import NamespaceSelector
from llm_operator.core.policy.parsed import Policy


def selects(selector: NamespaceSelector, labels: Mapping[str, str]) -> bool:
    """Kubernetes label selector semantics (matchLabels and matchExpressions, all must hold)."""
    for key, value in selector.match_labels.items():
        if labels.get(key) != value:
            return False
    for req in selector.match_expressions:
        present = req.key in labels
        if req.operator == "Exists" and not present:
            return False
        if req.operator == "DoesNotExist" and present:
            return False
        if req.operator == "In" and (not present or labels[req.key] not in req.values):
            return False
        if req.operator == "NotIn" and present and labels[req.key] in req.values:
            return False
    return True


def governing(policies: Iterable[Policy], labels: Mapping[str, str]) -> tuple[Policy, ...]:
    """The valid policies selecting a namespace with these labels, in name order."""
    found = [
        p for p in policies if p.spec is not None and selects(p.spec.namespace_selector, labels)
    ]
    return tuple(sorted(found, key=lambda p: p.name))
