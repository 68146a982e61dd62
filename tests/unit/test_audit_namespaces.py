"""audit's cost per namespace: running and leftover cost by the namespace tag, the
policies governing each namespace and their budgets' room, other clusters left out."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from llm_operator.core import policy
from llm_operator.core.attribution import Attribution
from llm_operator.shell.commands.audit import IN_USE, ORPHANED, OTHER_CLUSTER, Resource
from llm_operator.shell.commands.audit_namespaces import by_namespace, render


def endpoint(owner: str, state: str, hourly: str, **kw: Any) -> Resource:
    return Resource(
        account="default",
        region="us-east-1",
        kind="endpoint",
        name=f"{owner.replace('/', '-')}-{state}",
        arn="arn",
        uid="u",
        owner=owner,
        status="InService",
        state=state,
        hourly=Decimal(hourly),
        **kw,
    )


def live(namespace: str, name: str, ceiling: str) -> dict[str, Any]:
    return {
        "metadata": {"namespace": namespace, "name": name},
        "status": {"policy": {"admitted": True, "ceilingCostPerHourUSD": ceiling}},
    }


def test_cost_is_grouped_per_namespace_with_its_policies_and_budget() -> None:
    team = policy.parse(
        {
            "metadata": {"name": "team"},
            "spec": {
                "namespaceSelector": {"matchLabels": {"tier": "standard"}},
                "budget": {"maxEndpoints": 4, "maxCostPerHourUSD": "60.00"},
            },
        }
    )
    resources = [
        endpoint("search/chat", IN_USE, "7.09"),
        endpoint("search/old", ORPHANED, "1.41"),
        endpoint("ads/x", IN_USE, "1.41"),
        endpoint("elsewhere/y", OTHER_CLUSTER, "99", attribution=Attribution.OTHER),
    ]
    objs = [live("search", "chat", "14.18"), live("ads", "x", "1.41")]
    labels = {"search": {"tier": "standard"}, "ads": {}}
    rows = by_namespace(resources, objs, [team], labels)
    assert [r.to_json() for r in rows] == [
        {
            "namespace": "ads",
            "llmEndpoints": 1,
            "costPerHourUSD": "1.41",
            "leftoverCostPerHourUSD": "0.00",
            "policies": [],
            "budget": [],
        },
        {
            "namespace": "search",
            "llmEndpoints": 1,
            "costPerHourUSD": "7.09",
            "leftoverCostPerHourUSD": "1.41",
            "policies": ["team"],
            "budget": [
                {
                    "policy": "team",
                    "endpoints": 1,
                    "maxEndpoints": 4,
                    "endpointsLeft": 3,
                    "ceilingCostPerHourUSD": "14.18",
                    "maxCostPerHourUSD": "60.00",
                    "leftPerHourUSD": "45.82",
                }
            ],
        },
    ]
    text = render(rows)
    assert "team: 1 of 4 LLMEndpoints (3 left), 14.18 of 60.00 USD/h at ceilings" in text
    # Policies that could not be read: shown as unknown, not as none.
    assert by_namespace(resources, objs, None, labels)[0].policies is None


def test_a_pool_counts_in_its_namespaces_budget_but_is_no_llmendpoint() -> None:
    team = policy.parse(
        {
            "metadata": {"name": "team"},
            "spec": {"namespaceSelector": {}, "budget": {"maxCostPerHourUSD": "60.00"}},
        }
    )
    pool = {
        "kind": "LLMEndpointPool",
        "metadata": {"namespace": "platform", "name": "shared"},
        "status": {"policy": {"admitted": True, "ceilingCostPerHourUSD": "14.18"}},
    }
    (row,) = by_namespace([], [pool], [team], {"platform": {}})
    assert row.llmendpoints == 0
    assert (row.budget[0].endpoints, row.budget[0].ceiling) == (0, Decimal("14.18"))
