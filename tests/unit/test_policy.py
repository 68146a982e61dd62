"""core.policy: which policies govern a namespace, the effective spec, limits and budgets."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from llm_operator.api.models import LLMEndpointSpec
from llm_operator.core import policy
from llm_operator.core.policy import Policy, Usage

ROLE = "arn:aws:iam::111122223333:role/SageMakerExecution"


def spec(**changes: Any) -> LLMEndpointSpec:
    raw: dict[str, Any] = {
        "model": {"hfModelId": "mistralai/Mistral-7B-Instruct-v0.1"},
        "instance": {"type": "ml.g5.12xlarge", "count": 1, "maxCount": 2},
        "resources": {"copies": 2},
        "aws": {"region": "us-east-1", "executionRoleArn": ROLE},
    }
    raw.update(changes)
    return LLMEndpointSpec.model_validate(raw)


def pol(name: str, selector: dict[str, Any] | None = None, **spec: Any) -> Policy:
    body = {"namespaceSelector": selector if selector is not None else {}, **spec}
    return policy.parse({"metadata": {"name": name, "generation": 3}, "spec": body})


def messages(governed: policy.Governed) -> list[str]:
    return [p.message for p in governed.problems]


# -- selection -----------------------------------------------------------------------------


def test_selectors_follow_kubernetes_label_selector_rules() -> None:
    tiers = {"matchLabels": {"tier": "standard"}}
    exprs = {
        "matchExpressions": [
            {"key": "team", "operator": "In", "values": ["search", "ads"]},
            {"key": "frozen", "operator": "DoesNotExist"},
        ]
    }
    policies = [pol("b-tier", tiers), pol("a-teams", exprs), pol("everything")]
    found = policy.governing(policies, {"tier": "standard", "team": "ads"})
    assert [p.name for p in found] == ["a-teams", "b-tier", "everything"]
    assert [p.name for p in policy.governing(policies, {"team": "ads", "frozen": "x"})] == [
        "everything"
    ]
    assert [p.name for p in policy.governing(policies, {"tier": "gold"})] == ["everything"]


def test_a_policy_that_does_not_parse_governs_nothing_and_says_why() -> None:
    bad = pol("bad", limits={"allowedInstanceTypes": ["ml.[g5].*"]})
    assert bad.spec is None
    assert "globs" in bad.problems[0]
    assert policy.governing([bad], {}) == ()
    status = policy.policy_status(bad, [bad], {"search": {}}, [])
    assert status["governed"] == 0 and "globs" in status["problems"][0]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"budget": {"maxCostPerHourUSD": "-5"}}, "non-negative"),
        ({"budget": {"maxEndpoints": -1}}, "greater than or equal to 0"),
        ({"limits": {"allowedEngines": ["triton"]}}, "vllm"),
        ({"limits": {"allowedRegions": ["mars-east-1"]}}, "SageMaker is available"),
        ({"enforcedTags": {"llmoperator.io/x": "y"}}, "reserved"),
    ],
)
def test_bad_policies_are_refused_with_a_reason(body: dict[str, Any], words: str) -> None:
    bad = pol("bad", **body)
    assert bad.spec is None
    assert words in " ".join(bad.problems)


# -- defaults and enforced tags ------------------------------------------------------------


def test_defaults_fill_only_what_the_tenant_left_unset() -> None:
    p = pol(
        "team",
        defaults={
            "engine": "sglang",
            "deletionPolicy": "Retain",
            "rollout": {"strategy": "Rolling", "maxBatchPercent": 25, "waitSeconds": 300},
            "aws": {"tags": {"cost-center": "1234", "team": "platform"}},
        },
    )
    tenant = spec(
        deletionPolicy="Delete",
        aws={"region": "us-east-1", "executionRoleArn": ROLE, "tags": {"team": "search"}},
    )
    governed = policy.govern(tenant, [p])
    effective = governed.spec
    assert effective is not None
    assert effective.model.engine == "sglang"
    assert effective.deletion_policy == "Delete"  # the tenant's
    assert effective.rollout is not None and effective.rollout.wait_seconds == 300
    assert effective.aws.tags == {"team": "search", "cost-center": "1234"}
    assert {a.field: a.policy for a in governed.applied} == {
        "model.engine": "team",
        "rollout": "team",
        "aws.tags.cost-center": "team",
    }
    assert governed.to_status()["governedBy"] == ["team"]
    # The tenant's object is untouched: the effective spec is a new one.
    assert tenant.model.engine is None and tenant.rollout is None


def test_the_engine_default_never_switches_a_running_endpoint() -> None:
    p = pol("team", defaults={"engine": "sglang"})
    governed = policy.govern(spec(), [p], status={"engine": "vllm", "modelName": "m"})
    assert governed.spec is not None and governed.spec.model.engine is None
    assert governed.applied == ()


def test_enforced_tags_win_over_the_tenants() -> None:
    p = pol("team", enforcedTags={"cost-center": "1234"})
    tenant = spec(
        aws={"region": "us-east-1", "executionRoleArn": ROLE, "tags": {"cost-center": "free"}}
    )
    governed = policy.govern(tenant, [p])
    assert governed.spec is not None and governed.spec.aws.tags == {"cost-center": "1234"}
    assert governed.applied[0].enforced


def test_defaults_merge_by_policy_name_and_conflicts_are_reported() -> None:
    a = pol("a-first", defaults={"engine": "vllm", "aws": {"tags": {"team": "a"}}})
    b = pol("b-second", defaults={"engine": "sglang", "deletionPolicy": "Retain"})
    for order in ([a, b], [b, a]):
        effective = policy.govern(spec(), order).spec
        assert effective is not None
        assert (effective.model.engine, effective.deletion_policy) == ("vllm", "Retain")
    (conflict,) = policy.conflicts([b, a])
    assert conflict.message() == (
        "model.engine: LLMEndpointPolicy a-first and b-second set different values; "
        "a-first applies (the first by name)"
    )
    status = policy.policy_status(b, [a, b], {"search": {}}, [])
    assert status["problems"] == [f"namespace search: {conflict.message()}"]


def test_defaults_that_make_the_spec_invalid_are_an_error_naming_the_policy() -> None:
    p = pol("blue-green", defaults={"rollout": {"strategy": "Canary", "waitSeconds": 60}})
    governed = policy.govern(spec(), [p])  # an InferenceComponent endpoint: Rolling only
    assert governed.spec is None
    (problem,) = governed.problems
    assert problem.reason == policy.DEFAULTS_INVALID
    assert "LLMEndpointPolicy blue-green" in problem.message
    assert "Rolling" in problem.message


# -- limits --------------------------------------------------------------------------------


def test_every_limit_breaks_with_a_message_naming_the_policy() -> None:
    p = pol(
        "strict",
        limits={
            "allowedRegions": ["eu-west-1"],
            "allowedInstanceTypes": ["ml.g6.*"],
            "allowedEngines": ["sglang"],
            "maxInstancesPerEndpoint": 1,
            "maxCopiesPerEndpoint": 1,
            "requireAutoscaling": True,
            "requireRollbackAlarms": True,
        },
    )
    assert messages(policy.govern(spec(), [p])) == [
        "LLMEndpointPolicy strict: aws.region us-east-1 is not allowed (allowed: eu-west-1)",
        "LLMEndpointPolicy strict: instance.type ml.g5.12xlarge is not allowed (allowed: ml.g6.*)",
        "LLMEndpointPolicy strict: engine vllm is not allowed (allowed: sglang)",
        "LLMEndpointPolicy strict: at most 1 instances per LLMEndpoint; this one may run 2 "
        "(instance.count, instance.maxCount or autoscaling.maxReplicas)",
        "LLMEndpointPolicy strict: at most 1 copies per LLMEndpoint; this one may run 2 "
        "(resources.copies or autoscaling.maxReplicas)",
        "LLMEndpointPolicy strict: spec.autoscaling is required",
        "LLMEndpointPolicy strict: spec.rollout with autoRollback or rollbackAlarms is required",
    ]


def test_a_spec_within_the_limits_passes() -> None:
    p = pol(
        "fits",
        limits={
            "allowedRegions": ["us-east-1"],
            "allowedInstanceTypes": ["ml.g5.*", "ml.g6.*"],
            "allowedEngines": ["vllm"],
            "maxInstancesPerEndpoint": 2,
            "maxCopiesPerEndpoint": 2,
        },
    )
    assert policy.govern(spec(), [p]).problems == ()


def test_the_strictest_limit_of_several_policies_holds() -> None:
    loose = pol("loose", limits={"maxInstancesPerEndpoint": 8, "allowedInstanceTypes": ["*"]})
    tight = pol("tight", limits={"maxInstancesPerEndpoint": 1})
    assert messages(policy.govern(spec(), [loose, tight])) == [
        "LLMEndpointPolicy tight: at most 1 instances per LLMEndpoint; this one may run 2 "
        "(instance.count, instance.maxCount or autoscaling.maxReplicas)"
    ]


def test_globs_match_whole_instance_types() -> None:
    assert policy.matches_glob("ml.g5.12xlarge", ["ml.g5.*"])
    assert not policy.matches_glob("ml.g5.12xlarge", ["ml.g5"])
    assert not policy.matches_glob("ml.g52.xlarge", ["ml.g5.*"])
    assert policy.matches_glob("ml.g6.xlarge", ["ml.g?.xlarge"])


def test_adoption_needs_every_governing_policy_to_allow_it() -> None:
    yes = pol("yes", limits={"allowAdoption": True})
    no = pol("no")
    assert policy.adoption_refusal([yes], allowed_without=False) is None
    refusal = policy.adoption_refusal([yes, no], allowed_without=True)
    assert refusal is not None and "LLMEndpointPolicy no" in refusal
    assert policy.adoption_refusal([], allowed_without=True) is None
    assert policy.adoption_refusal([], allowed_without=False) is not None


# -- budget --------------------------------------------------------------------------------


def stored(name: str, *, admitted: str | None = None, running: bool = False) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if admitted is not None:
        status["policy"] = {"admitted": True, "ceilingCostPerHourUSD": admitted}
    if running:
        status["endpointName"] = f"{name}-x"
        status["estimatedHourlyCostUSD"] = "7.09"
    return {
        "metadata": {"name": name, "namespace": "search"},
        "spec": {"instance": {"type": "ml.g5.12xlarge", "count": 1, "maxCount": 2}},
        "status": status,
    }


def test_what_counts_against_a_budget() -> None:
    assert policy.usage_of(stored("waiting")) is None
    assert policy.usage_of(stored("admitted", admitted="14.18")) == Usage(
        "admitted", Decimal("14.18")
    )
    # Running since before any budget: counted at its spec's ceiling (2 x 7.09).
    assert policy.usage_of(stored("old", running=True)) == Usage(
        "old", Decimal("14.18"), Decimal("7.09")
    )
    gone = stored("gone", admitted="1")
    gone["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert policy.usage_of(gone) is None


def test_ceilings_are_max_count_or_a_model_endpoints_autoscaling_maximum() -> None:
    assert policy.ceiling_instances(spec()) == 2
    model = spec(
        endpointType="Model",
        resources=None,
        instance={"type": "ml.g5.12xlarge", "count": 1},
        autoscaling={"minReplicas": 1, "maxReplicas": 3, "target": 5},
    )
    assert policy.ceiling_instances(model) == 3
    assert policy.raw_ceiling(
        json.loads(model.model_dump_json(by_alias=True, exclude_none=True))
    ) == ("ml.g5.12xlarge", 3)


def test_the_budget_admits_up_to_its_cost_and_says_what_is_left() -> None:
    p = pol("team", budget={"maxCostPerHourUSD": "30.00"})
    others = [Usage("a", Decimal("14.18"))]
    fits = policy.admit(
        namespace="search", name="b", ceiling=Decimal("14.18"), what="x", others=others,
        policies=[p],
    )  # fmt: skip
    assert fits.admitted and fits.left == ("team: 1.64 USD/h",)
    refused = policy.admit(
        namespace="search",
        name="c",
        ceiling=Decimal("14.18"),
        what="ml.g5.12xlarge x 2",
        others=[*others, Usage("b", Decimal("14.18"))],
        policies=[p],
    )
    assert not refused.admitted and refused.problem is not None
    assert refused.problem.reason == policy.BUDGET_EXCEEDED
    assert refused.problem.message.startswith(
        "LLMEndpointPolicy team allows 30.00 USD/h in namespace search at ceilings; 28.36 is "
        "taken by 2 LLMEndpoints, 1.64 is left, and this one needs 14.18 (ml.g5.12xlarge x 2"
    )


def test_an_endpoint_is_not_counted_against_itself() -> None:
    p = pol("team", budget={"maxEndpoints": 1, "maxCostPerHourUSD": "15"})
    grown = policy.admit(
        namespace="search",
        name="a",
        ceiling=Decimal("14.18"),
        what="x",
        others=[Usage("a", Decimal("7.09"))],
        policies=[p],
    )
    assert grown.admitted


def test_every_budget_of_several_policies_holds() -> None:
    count = pol("count", budget={"maxEndpoints": 1})
    money = pol("money", budget={"maxCostPerHourUSD": "1000"})
    refused = policy.admit(
        namespace="search",
        name="b",
        ceiling=Decimal(1),
        what="x",
        others=[Usage("a", Decimal(1))],
        policies=[money, count],
    )
    assert refused.problem is not None
    assert refused.problem.message == (
        "LLMEndpointPolicy count allows 1 LLMEndpoints in namespace search; 1 are counted, "
        "none is left"
    )


def test_policy_status_counts_usage_per_governed_namespace() -> None:
    p = pol("team", {"matchLabels": {"tier": "standard"}})
    refused = stored("refused")
    refused["status"]["conditions"] = [
        {"type": "Degraded", "status": "True", "reason": "BudgetExceeded"}
    ]
    status = policy.policy_status(
        p,
        [p],
        {"search": {"tier": "standard"}, "ads": {}},
        [stored("a", admitted="14.18", running=True), stored("b", running=True), refused],
    )
    assert status["namespaces"] == [
        {
            "name": "search",
            "endpoints": 2,
            "costPerHourUSD": "14.18",
            "ceilingCostPerHourUSD": "28.36",
            "refused": 1,
        }
    ]
    assert status["governed"] == 1 and status["problems"] == []
    nobody = policy.policy_status(pol("x", {"matchLabels": {"no": "one"}}), [], {"a": {}}, [])
    assert nobody["problems"] == ["namespaceSelector matches no namespace"]


def test_an_admitted_or_running_endpoint_is_not_counted_again_unless_it_grows() -> None:
    admitted = {"policy": {"admitted": True, "ceilingCostPerHourUSD": "14.18"}}
    assert policy.standing(admitted, Decimal("14.18")) == policy.ADMITTED
    assert policy.standing(admitted, Decimal("7.09")) == policy.ADMITTED  # shrunk
    assert policy.standing(admitted, Decimal("21.27")) is None  # grown: must fit again
    assert policy.standing({"endpointName": "e"}, Decimal("99")) == policy.RUNNING
    assert policy.standing({}, Decimal("1")) is None  # new


def test_budget_lines_say_what_is_left_for_each_governing_budget() -> None:
    policies = [
        pol("a", budget={"maxEndpoints": 3}),
        pol("b", budget={"maxCostPerHourUSD": "20.00"}),
        pol("c"),
    ]
    counted = [Usage("x", Decimal("7.09")), Usage("y", Decimal("7.09"))]
    lines = policy.budget_lines(policies, counted)
    assert [line.to_json() for line in lines] == [
        {
            "policy": "a",
            "endpoints": 2,
            "maxEndpoints": 3,
            "endpointsLeft": 1,
            "ceilingCostPerHourUSD": "14.18",
            "maxCostPerHourUSD": None,
            "leftPerHourUSD": None,
        },
        {
            "policy": "b",
            "endpoints": 2,
            "maxEndpoints": None,
            "endpointsLeft": None,
            "ceilingCostPerHourUSD": "14.18",
            "maxCostPerHourUSD": "20.00",
            "leftPerHourUSD": "5.82",
        },
    ]
    assert lines[0].text() == "a: 2 of 3 LLMEndpoints (1 left)"
    assert lines[1].text() == "b: 14.18 of 20.00 USD/h at ceilings (5.82 left)"


def test_a_pool_counts_its_cost_and_a_model_on_a_pool_counts_as_an_llmendpoint() -> None:
    pool = {
        "kind": "LLMEndpointPool",
        "metadata": {"name": "shared", "namespace": "search"},
        "spec": {"instance": {"type": "ml.g5.12xlarge", "minCount": 1, "maxCount": 3}},
        "status": {"endpointName": "e", "costPerHourUSD": "7.09"},
    }
    # Running since before any budget: at its ceiling, 3 x 7.09; not an LLMEndpoint.
    counted = policy.usage_of(pool)
    assert counted == Usage(
        "LLMEndpointPool/shared", Decimal("21.27"), Decimal("7.09"), endpoint=False
    )
    guest = stored("guest", admitted="0.00")
    guest["spec"] = {"pool": {"name": "shared"}}
    assert policy.usage_of(guest) == Usage("guest", Decimal(0), Decimal(0))
    p = pol("team", budget={"maxEndpoints": 1, "maxCostPerHourUSD": "30"})
    # The pool takes cost, not an LLMEndpoint's place; the model on it takes the place.
    assert policy.admit(
        namespace="search", name="a", ceiling=Decimal("7.09"), what="x",
        others=[counted], policies=[p],
    ).admitted  # fmt: skip
    refused = policy.admit(
        namespace="search", name="b", ceiling=Decimal(0), what="on LLMEndpointPool search/shared",
        others=[counted, Usage("guest", Decimal(0))], policies=[p],
    )  # fmt: skip
    assert not refused.admitted
    # A second pool of 3 x 7.09 does not fit 30 USD/h beside the first.
    grown = policy.admit(
        namespace="search", name="LLMEndpointPool/other", ceiling=Decimal("21.27"),
        what="LLMEndpointPool other: ml.g5.12xlarge x 3", others=[counted], policies=[p],
        endpoint=False,
    )  # fmt: skip
    assert not grown.admitted and grown.problem is not None
    assert "taken by 0 LLMEndpoints and 1 LLMEndpointPools" in grown.problem.message
    lines = policy.budget_lines([p], [counted, Usage("guest", Decimal(0))])
    assert (lines[0].endpoints, lines[0].ceiling) == (1, Decimal("21.27"))
