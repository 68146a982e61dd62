"""audit's listing by pool: each pool's endpoint and cost, the models placed on it with
their copies and share of the cost, and what a deleted LLMEndpoint left on it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from llm_operator.shell.commands.audit import IN_USE, ORPHANED, Resource
from llm_operator.shell.commands.audit_pools import by_pool, render

ENDPOINT = "ml-platform-shared-g5-abc123"


def resource(kind: str, name: str, owner: str, state: str, **kw: Any) -> Resource:
    return Resource(
        account="default",
        region="us-east-1",
        kind=kind,
        name=name,
        arn="arn",
        uid="u",
        owner=owner,
        status="InService",
        state=state,
        **kw,
    )


POOL = {
    "metadata": {"namespace": "ml-platform", "name": "shared-g5"},
    "spec": {"instance": {"type": "ml.g5.12xlarge", "minCount": 1, "maxCount": 2}},
    "status": {"endpointName": ENDPOINT},
}


def guest(namespace: str, name: str, copies: int, pool: str = "shared-g5") -> dict[str, Any]:
    return {
        "metadata": {"namespace": namespace, "name": name},
        "spec": {"pool": {"name": pool, "namespace": "ml-platform"}},
        "status": {"copies": {"current": copies}, "pool": {"acceleratorsPerCopy": 1}},
    }


def test_each_pool_lists_its_models_with_copies_and_share_of_its_cost() -> None:
    resources = [
        resource(
            "endpoint",
            ENDPOINT,
            "ml-platform/shared-g5",
            IN_USE,
            hourly=Decimal("14.18"),
            instances="2 x ml.g5.12xlarge",
        ),
        resource("inference component", "c1", "search/mistral", IN_USE, endpoint=ENDPOINT),
        resource("inference component", "c2", "support/gone", ORPHANED, endpoint=ENDPOINT),
        resource(
            "inference component", "c2a", "support/gone", ORPHANED, endpoint=ENDPOINT, base="c2"
        ),
    ]
    live = [
        guest("search", "mistral", 2),
        guest("support", "qwen", 1),
        guest("search", "elsewhere", 1, pool="other"),
    ]
    rows = by_pool([POOL], live, resources)
    # ml.g5.12xlarge: 4 GPUs at 7.09 USD/h; a share is rounded as the operator rounds it.
    assert [r.to_json() for r in rows] == [
        {
            "namespace": "ml-platform",
            "name": "shared-g5",
            "endpointName": ENDPOINT,
            "instanceType": "ml.g5.12xlarge",
            "instances": "2 x ml.g5.12xlarge",
            "costPerHourUSD": "14.18",
            "models": [
                {
                    "namespace": "search",
                    "name": "mistral",
                    "copies": 2,
                    "acceleratorsPerCopy": 1,
                    "costPerHourUSD": "3.54",
                    "state": IN_USE,
                },
                {
                    "namespace": "support",
                    "name": "qwen",
                    "copies": 1,
                    "acceleratorsPerCopy": 1,
                    "costPerHourUSD": "1.77",
                    "state": IN_USE,
                },
                {
                    "namespace": "support",
                    "name": "gone",
                    "copies": None,
                    "acceleratorsPerCopy": 0,
                    "costPerHourUSD": None,
                    "state": ORPHANED,
                },
            ],
        }
    ]
    text = render(rows)
    assert text.startswith("Pools:\n")
    lines = text.splitlines()
    assert "ml-platform/shared-g5" in lines[2] and "$14.18" in lines[2]
    assert "search/mistral" in lines[3] and "2 x 1" in lines[3] and "$3.54" in lines[3]
    assert "support/gone" in lines[5] and ORPHANED in lines[5]


def test_a_pool_outside_the_audited_regions_shows_what_its_status_says() -> None:
    pool = {**POOL, "status": {"instances": {"current": 1}, "costPerHourUSD": "7.09"}}
    (row,) = by_pool([pool], [], [])
    assert (row.endpoint, row.instances, row.cost, row.models) == (
        None,
        "1 x ml.g5.12xlarge",
        Decimal("7.09"),
        [],
    )
    assert render([]) == ""


def test_a_pool_whose_instance_type_change_has_not_rolled_out_shows_what_runs() -> None:
    """spec.instance.type changed (refused, or still rolling): the type and the models'
    shares are those of the instances the endpoint runs."""
    changed = {
        **POOL,
        "spec": {"instance": {"type": "ml.g6.12xlarge", "minCount": 1, "maxCount": 2}},
        "status": {"instances": {"current": 1}, "instanceType": "ml.g5.12xlarge"},
    }
    (row,) = by_pool([changed], [guest("search", "mistral", 2)], [])
    assert row.instance_type == "ml.g5.12xlarge"
    assert row.instances == "1 x ml.g5.12xlarge"
    (model,) = row.models
    assert model.share == Decimal("3.54")  # 2 of the 4 GPUs of an ml.g5.12xlarge at 7.09
