"""The generated LLMEndpointPolicy CRD: committed copies up to date, cluster-scoped, its
columns and CEL rules in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llm_operator.api import crd, policy

REPO = Path(__file__).resolve().parents[2]


def test_committed_policy_crds_are_up_to_date() -> None:
    for path in (REPO / "crds", REPO / "charts" / "llm-operator" / "crds"):
        assert (path / "llmendpointpolicies.yaml").read_text() == crd.render_policy_crd_yaml(), (
            f"{path}/llmendpointpolicies.yaml is stale: run `make crd`"
        )


def test_names_scope_and_columns() -> None:
    built = crd.build_policy_crd()
    spec = built["spec"]
    assert spec["scope"] == "Cluster"
    assert spec["names"]["kind"] == "LLMEndpointPolicy"
    assert spec["names"]["shortNames"] == ["llmpol"]
    (version,) = spec["versions"]
    columns = [c["name"] for c in version["additionalPrinterColumns"] if "priority" not in c]
    assert columns == [
        "Namespaces",
        "Endpoints",
        "Cost/h",
        "Ceiling/h",
        "Budget/h",
        "Refused",
        "Age",
    ]


def _rules(node: dict[str, Any]) -> list[str]:
    found = [v["message"] for v in node.get("x-kubernetes-validations", [])]
    for sub in node.get("properties", {}).values():
        found += _rules(sub)
    if "items" in node:
        found += _rules(node["items"])
    return found


def test_bad_input_has_cel_rules_with_clear_messages() -> None:
    schema = crd.policy_openapi_schema()
    messages = _rules(schema)
    for expected in (policy.MSG_GLOB, policy.MSG_USD, policy.MSG_REGION_LIMIT):
        assert expected in messages
    limits = schema["properties"]["spec"]["properties"]["limits"]["properties"]
    assert limits["allowedEngines"]["items"]["enum"] == ["vllm", "sglang", "lmi", "tgi", "tei"]


def test_the_example_policy_is_valid() -> None:
    import yaml

    from llm_operator.core.policy import parse

    doc = yaml.safe_load((REPO / "examples" / "policies" / "team-defaults.yaml").read_text())
    found = parse(doc)
    assert found.spec is not None and found.problems == ()
    assert found.spec.budget is not None and found.spec.budget.max_endpoints == 10
