"""What plan shows of the policies governing a manifest: the policies, each default and
enforced tag with the policy that set it, the limits broken, each budget's room."""

from __future__ import annotations

from decimal import Decimal

from llm_operator.api.models import LLMEndpointSpec
from llm_operator.core import policy
from llm_operator.shell.commands.plan_policy import PolicyReport

ROLE = "arn:aws:iam::111122223333:role/SageMakerExecution"


def test_the_report_names_each_value_and_the_policy_it_came_from() -> None:
    team = policy.parse(
        {
            "metadata": {"name": "team"},
            "spec": {
                "namespaceSelector": {},
                "defaults": {"aws": {"tags": {"owner": "ml-platform"}}},
                "enforcedTags": {"cost-center": "1234"},
                "limits": {"allowedInstanceTypes": ["ml.g5.*"]},
                "budget": {"maxEndpoints": 2},
            },
        }
    )
    spec = LLMEndpointSpec.model_validate(
        {
            "model": {"hfModelId": "mistralai/Mistral-7B-Instruct-v0.1"},
            "instance": {"type": "ml.p5.48xlarge", "count": 1},
            "aws": {"region": "us-east-1", "executionRoleArn": ROLE},
        }
    )
    report = PolicyReport.of(policy.govern(spec, [team]))
    report.budget = policy.budget_lines([team], [policy.Usage("x", Decimal("1.41"))])
    shown = report.to_json()
    assert shown is not None
    assert shown["governedBy"] == ["team"]
    assert shown["defaults"] == [
        {"field": "aws.tags.owner", "value": "ml-platform", "policy": "team"}
    ]
    assert shown["enforcedTags"][0]["value"] == "1234"
    assert shown["violations"] == [
        "LLMEndpointPolicy team: instance.type ml.p5.48xlarge is not allowed (allowed: ml.g5.*)"
    ]
    assert report.text() == [
        "  governed by LLMEndpointPolicy team",
        "    default aws.tags.owner: ml-platform (from team)",
        "    enforced tag aws.tags.cost-center: 1234 (from team)",
        "    limit violated: LLMEndpointPolicy team: instance.type ml.p5.48xlarge is not "
        "allowed (allowed: ml.g5.*)",
        "    budget left after this one: team: 1 of 2 LLMEndpoints (1 left)",
    ]
    assert PolicyReport().to_json() is None and PolicyReport().text() == []
