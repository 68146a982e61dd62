"""docs/iam/operator-policy.json grants exactly the SageMaker operations the code calls
(the CloudWatch ones of the rollback alarms and the no-capacity alarm, and the
Application Auto Scaling ones of spec.autoscaling), and
docs/iam/cli-policy.json exactly those of plan, invoke and audit.

What the operator writes is read from the registry of actions (`core.actions.ACTIONS`):
each class's call, the read its ownership guard makes right before it (the kind's
Describe, DescribeScalableTargets or DescribeAlarms, and the resource's tags) and the
tagging its tags are authorized as. Everything else (the observer's List and Describe
calls, adoption, the commands) is read from the source: every string literal that is
an operation name (`call(region, "ListEndpoints", ...)`) and every attribute named like
a boto3 method (`client.describe_endpoint`). The operator is the package without
`shell/commands` (the commands people run with their own credentials) and without the
action classes (the registry speaks for them); the commands are `shell/commands` plus
the observer they share.
"""

from __future__ import annotations

import ast
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from botocore import xform_name
from botocore.loaders import Loader

from llm_operator.core.actions import ACTIONS, Lookup
from llm_operator.core.kinds import SAGEMAKER, Kind

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "operator" / "llm_operator"
POLICY = REPO / "docs" / "iam" / "operator-policy.json"
CLI_POLICY = REPO / "docs" / "iam" / "cli-policy.json"
COMMANDS = PACKAGE / "shell" / "commands"
ACTIONS_DIR = PACKAGE / "core" / "actions"


def operator_files() -> list[Path]:
    """The operator's source, but for the commands and the action classes."""
    return sorted(
        p
        for p in PACKAGE.rglob("*.py")
        if COMMANDS not in p.parents and ACTIONS_DIR not in p.parents
    )


def cli_files() -> list[Path]:
    return [*sorted(COMMANDS.rglob("*.py")), *sorted((PACKAGE / "shell" / "observe").rglob("*.py"))]


EXECUTION_POLICY = REPO / "docs" / "iam" / "execution-role-policy.json"
MANAGED_BY = "aws:RequestTag/llmoperator.io/managed-by"
OWNED = "aws:ResourceTag/llmoperator.io/managed-by"


# boto3 service name -> IAM prefix
SERVICES = {
    "sagemaker": "sagemaker",
    "application-autoscaling": "application-autoscaling",
    "cloudwatch": "cloudwatch",
}


# The service of the read a guard's lookup makes (a kind's Describe: the kind's service).
LOOKUP_SERVICES = {
    Lookup.SCALABLE_TARGET: "application-autoscaling",
    Lookup.ALARM: "cloudwatch",
}
# How each service reads a resource's tags, and authorizes the tags a request carries.
LIST_TAGS = {"sagemaker": "ListTags"}
ADD_TAGS = {"sagemaker": "AddTags"}


def registry_operations() -> dict[str, set[str]]:
    """Per boto3 service, what the guarded executor sends for the registry's actions: the
    call, the lookup its guard makes right before, the tags that guard reads, and the
    tagging a request that carries tags is authorized as (tag-on-create)."""
    found: dict[str, set[str]] = {service: set() for service in SERVICES}
    for cls in ACTIONS:
        service = cls.kind.service
        found[service].add(cls.operation)
        if cls.lookup is Lookup.DESCRIBE:
            found[service].add(cls.kind.describe)
        elif cls.lookup in LOOKUP_SERVICES:
            found[LOOKUP_SERVICES[cls.lookup]].add(cls.lookup.value)
        if cls.lookup is not Lookup.NONE:
            found[service].add(LIST_TAGS.get(service, "ListTagsForResource"))
        if "tags" in {f.name for f in dataclasses.fields(cls)}:
            found[service].add(ADD_TAGS.get(service, "TagResource"))
    return found


def service_operations(service: str) -> set[str]:
    model = Loader().load_service_model(service, "service-2")
    return set(model["operations"])


def cloudwatch_operations() -> set[str]:
    model = Loader().load_service_model("cloudwatch", "service-2")
    return set(model["operations"])


def cloudwatch_operations_called_by_the_operator() -> set[str]:
    """CloudWatch operations of the registry's actions (a PutMetricAlarm's tags are
    authorized as cloudwatch:TagResource) and named in the rest of the operator's code."""
    operations = cloudwatch_operations()
    found = registry_operations()["cloudwatch"]
    for path in operator_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value in operations:
                found.add(str(node.value))
            elif isinstance(node, ast.Attribute) and node.attr == "describe":
                found |= {kind.describe for kind in Kind if kind.service == "cloudwatch"}
    return found


def sagemaker_operations() -> set[str]:
    return service_operations("sagemaker")


def scaling_operations_called() -> dict[str, set[str]]:
    """Application Auto Scaling and CloudWatch operations of the registry's actions and
    named in the rest of the code (the observer's listings)."""
    registry = registry_operations()
    constants: set[str] = set()
    for path in operator_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                constants.add(node.value)
    return {
        service: registry[service] | (constants & service_operations(service))
        for service in ("application-autoscaling", "cloudwatch")
    }


def carries_tags(node: ast.AST) -> bool:
    """A call with `Tags=...` or a request dict with a "Tags" key."""
    if isinstance(node, ast.Call):
        return any(k.arg == "Tags" for k in node.keywords)
    if isinstance(node, ast.Dict):
        return any(isinstance(k, ast.Constant) and k.value == "Tags" for k in node.keys)
    return False


def operations_called_by_the_code(files: list[Path] | None = None) -> set[str]:
    """SageMaker operations named in the code, plus AddTags when a request carries `Tags`
    (SageMaker authorizes tag-on-create as sagemaker:AddTags as well); for the operator
    (no `files`), also those of the registry's actions.
    """
    operations = sagemaker_operations()
    # Multi-word names only: `search` is also re.Pattern.search.
    by_method = {xform_name(op): op for op in operations if "_" in xform_name(op)}
    found: set[str] = registry_operations()["sagemaker"] if files is None else set()
    for path in files if files is not None else operator_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value in operations:
                    found.add(node.value)
            elif isinstance(node, ast.Attribute) and node.attr in by_method:
                found.add(by_method[node.attr])
            elif isinstance(node, ast.Attribute) and node.attr == "describe":
                # `kind.describe`: the Describe call of a resource kind (core/kinds.py).
                found |= {kind.describe for kind in Kind if kind.service == SAGEMAKER}
            elif carries_tags(node):
                found.add("AddTags")
    return found


def boto3_services_used(files: list[Path] | None = None) -> set[str]:
    services: set[str] = set()
    for path in files if files is not None else operator_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "client"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                services.add(str(node.args[0].value))
    return services


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return list(policy["Statement"])


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def resources_of(statement: dict[str, Any]) -> list[str]:
    resource = statement["Resource"]
    return [resource] if isinstance(resource, str) else list(resource)


@pytest.fixture(scope="module")
def policy() -> dict[str, Any]:
    return dict(json.loads(POLICY.read_text()))


def test_the_code_calls_only_the_services_the_policy_covers() -> None:
    """STS only to assume the roles namespaces are mapped to."""
    assert {kind.service for kind in Kind} == set(SERVICES)
    assert boto3_services_used() <= {*SERVICES, "sts"}


def test_policy_names_exactly_the_cloudwatch_operations_the_code_calls(
    policy: dict[str, Any],
) -> None:
    called = cloudwatch_operations_called_by_the_operator()
    assert {"PutMetricAlarm", "DeleteAlarms", "DescribeAlarms"} <= called
    granted = {
        action.removeprefix("cloudwatch:")
        for statement in statements(policy)
        for action in actions_of(statement)
        if action.startswith("cloudwatch:")
    }
    assert granted == called


def test_alarm_writes_need_the_ownership_tag_and_only_reach_rollback_alarms(
    policy: dict[str, Any],
) -> None:
    for statement in statements(policy):
        writes = [a for a in actions_of(statement) if a.startswith("cloudwatch:")]
        if not writes:
            continue
        for resource in resources_of(statement):
            if writes == ["cloudwatch:DescribeAlarms"]:
                continue  # one listing of the region's alarms per resync (spec.autoscaling)
            assert resource.startswith(
                (
                    "arn:aws:cloudwatch:*:*:alarm:*-rollback-",
                    "arn:aws:cloudwatch:*:*:alarm:*-no-capacity",
                )
            ), resource
        if any(a.endswith(("PutMetricAlarm", "TagResource")) for a in writes):
            assert statement["Condition"]["StringEquals"][MANAGED_BY] == "sagemaker-llm-operator"
        if "cloudwatch:DeleteAlarms" in writes:
            assert statement["Condition"]["StringEquals"][OWNED] == "sagemaker-llm-operator"


@pytest.mark.parametrize("service", ["application-autoscaling"])
def test_policy_names_exactly_the_scaling_operations_called(
    policy: dict[str, Any], service: str
) -> None:
    called = scaling_operations_called()[service]
    assert called, f"the scan found no {service} call"
    granted = {
        action.removeprefix(f"{SERVICES[service]}:")
        for statement in statements(policy)
        for action in actions_of(statement)
        if action.startswith(f"{SERVICES[service]}:")
    }
    assert not granted - called, f"granted but never called: {sorted(granted - called)}"
    assert not called - granted, f"called but not granted: {sorted(called - granted)}"


def test_scaling_writes_need_the_ownership_tag(policy: dict[str, Any]) -> None:
    for statement in statements(policy):
        writes = [
            a
            for a in actions_of(statement)
            if a.split(":")[0] in ("application-autoscaling", "cloudwatch")
            and not a.split(":")[1].startswith(("Describe", "List"))
        ]
        if writes:
            condition = statement["Condition"]["StringEquals"]
            assert (
                condition.get(MANAGED_BY) == "sagemaker-llm-operator"
                or condition.get(OWNED) == "sagemaker-llm-operator"
            ), statement


def test_service_linked_role_for_autoscaling_only(policy: dict[str, Any]) -> None:
    (linked,) = [s for s in statements(policy) if "iam:CreateServiceLinkedRole" in actions_of(s)]
    assert linked["Condition"]["StringEquals"]["iam:AWSServiceName"] == (
        "sagemaker.application-autoscaling.amazonaws.com"
    )


def test_policy_names_exactly_the_operations_the_code_calls(policy: dict[str, Any]) -> None:
    called = operations_called_by_the_code()
    assert "CreateEndpoint" in called, "the scan found no SageMaker call: is aws.py gone?"
    granted = {
        action.removeprefix("sagemaker:")
        for statement in statements(policy)
        for action in actions_of(statement)
        if action.startswith("sagemaker:")
    }
    assert not granted - called, f"granted but never called: {sorted(granted - called)}"
    assert not called - granted, f"called but not granted: {sorted(called - granted)}"


def test_policy_has_no_wildcards_and_allows_only(policy: dict[str, Any]) -> None:
    assert policy["Version"] == "2012-10-17"
    sids = [statement["Sid"] for statement in statements(policy)]
    assert len(sids) == len(set(sids))
    for statement in statements(policy):
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        for action in actions_of(statement):
            assert "*" not in action, action
        services = {action.split(":")[0] for action in actions_of(statement)}
        assert services <= {*SERVICES.values(), "iam", "sts"}


def test_only_list_calls_reach_every_resource(policy: dict[str, Any]) -> None:
    for statement in statements(policy):
        if "*" in resources_of(statement):
            # Search reads what a List and ListTags read, account-wide (it takes no
            # resource-level permission).
            assert all(
                a.startswith(("sagemaker:List", "application-autoscaling:Describe"))
                or a == "sagemaker:Search"
                for a in actions_of(statement)
            ), statement
            assert all(a != "sagemaker:ListTags" for a in actions_of(statement))


def test_creates_require_the_ownership_tag(policy: dict[str, Any]) -> None:
    for statement in statements(policy):
        creates = [a for a in actions_of(statement) if a.startswith("sagemaker:Create")]
        if creates:
            condition = statement["Condition"]["StringEquals"]
            assert condition[MANAGED_BY] == "sagemaker-llm-operator"


def test_updates_and_deletes_only_touch_owned_resources(policy: dict[str, Any]) -> None:
    for statement in statements(policy):
        changes = [
            a
            for a in actions_of(statement)
            if a.startswith(("sagemaker:Update", "sagemaker:Delete"))
        ]
        if changes:
            condition = statement["Condition"]["StringEquals"]
            assert condition[OWNED] == "sagemaker-llm-operator"
            for resource in resources_of(statement):
                assert resource.startswith("arn:aws:sagemaker:"), resource


def test_pass_role_only_to_sagemaker(policy: dict[str, Any]) -> None:
    passes = [s for s in statements(policy) if "iam:PassRole" in actions_of(s)]
    assert len(passes) == 1
    assert actions_of(passes[0]) == ["iam:PassRole"]
    assert passes[0]["Condition"]["StringEquals"]["iam:PassedToService"] == (
        "sagemaker.amazonaws.com"
    )
    assert all(r.startswith("arn:aws:iam::") for r in resources_of(passes[0]))


def test_execution_role_policy_is_valid_and_grants_no_sagemaker_control() -> None:
    execution = json.loads(EXECUTION_POLICY.read_text())
    assert execution["Version"] == "2012-10-17"
    actions = {a for s in execution["Statement"] for a in actions_of(s)}
    assert {"ecr:BatchGetImage", "s3:GetObject", "logs:PutLogEvents"} <= actions
    assert not any(a.startswith(("sagemaker:", "iam:")) for a in actions)


# sagemaker-runtime calls and the IAM action that authorizes each (the streamed one
# is authorized as sagemaker:InvokeEndpoint).
RUNTIME_ACTIONS = {
    "invoke_endpoint": "InvokeEndpoint",
    "invoke_endpoint_with_response_stream": "InvokeEndpoint",
    "invoke_endpoint_async": "InvokeEndpointAsync",
}
# invoke --async: the request uploaded to S3 and the answer read from it (boto3's s3 calls,
# each authorized as the action of its name).
S3_ACTIONS = {"put_object": "s3:PutObject", "get_object": "s3:GetObject"}


def test_cli_policy_names_exactly_what_plan_invoke_and_audit_call() -> None:
    policy = json.loads(CLI_POLICY.read_text())
    called = operations_called_by_the_code(cli_files()) | {"ListTags"}  # SageMaker.tags()
    for path in cli_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in RUNTIME_ACTIONS:
                called.add(RUNTIME_ACTIONS[node.attr])
    granted = {
        action.removeprefix("sagemaker:")
        for statement in statements(policy)
        for action in actions_of(statement)
        if action.startswith("sagemaker:")
    }
    assert {"InvokeEndpoint", "DeleteModel", "DescribeEndpoint"} <= called
    assert granted == called, (sorted(granted - called), sorted(called - granted))
    assert boto3_services_used(cli_files()) <= {
        "sagemaker",
        "sagemaker-runtime",
        "cloudwatch",
        "s3",
    }
    s3_calls = {
        S3_ACTIONS[node.attr]
        for path in cli_files()
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Attribute) and node.attr in S3_ACTIONS
    }
    assert s3_calls == {"s3:PutObject", "s3:GetObject"}
    others = {
        a for s in statements(policy) for a in actions_of(s) if not a.startswith("sagemaker:")
    }
    # plan observes spec.autoscaling; audit lists and deletes targets and alarms. The
    # tags of both are read with ListTagsForResource (SageMaker.tags()).
    constants = {
        node.value
        for path in cli_files()
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    scaling = {
        f"{service}:{operation}"
        for service in ("application-autoscaling", "cloudwatch")
        for operation in (constants & service_operations(service)) | {"ListTagsForResource"}
    }
    assert "application-autoscaling:DeregisterScalableTarget" in scaling
    expected = scaling | {"cloudwatch:GetMetricStatistics"} | s3_calls
    assert others == expected, sorted(others ^ expected)
    for statement in statements(policy):
        writes = [
            a
            for a in actions_of(statement)
            if a.startswith(
                (
                    "sagemaker:Delete",
                    "sagemaker:Invoke",
                    "application-autoscaling:Deregister",
                    "cloudwatch:Delete",
                )
            )
        ]
        if writes:
            assert statement["Condition"]["StringEquals"][OWNED] == "sagemaker-llm-operator"


def test_sts_only_assumes_roles(policy: dict[str, Any]) -> None:
    for statement in statements(policy):
        for action in actions_of(statement):
            if action.startswith("sts:"):
                assert action == "sts:AssumeRole"
                assert all(r.startswith("arn:aws:iam::") for r in resources_of(statement))
