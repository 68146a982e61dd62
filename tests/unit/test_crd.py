"""The generated CRD: committed file up to date, structural schema, every CEL rule in place."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from llm_operator.api import catalog, crd, models

COMMITTED = Path(__file__).resolve().parents[2] / "crds" / "llmendpoints.yaml"


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    return crd.build_crd()


@pytest.fixture(scope="module")
def schema(built: dict[str, Any]) -> dict[str, Any]:
    return built["spec"]["versions"][0]["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def node_at(schema: dict[str, Any], path: str) -> dict[str, Any]:
    node = schema
    for part in path.split("."):
        node = node["items"] if part == "[]" else node["properties"][part]
    return node


def rules_at(schema: dict[str, Any], path: str) -> dict[str, str]:
    node = node_at(schema, path) if path else schema
    return {v["message"]: v["rule"] for v in node.get("x-kubernetes-validations", [])}


def walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node with its dotted path."""
    if not isinstance(node, dict):
        return
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from walk(sub, f"{path}.{name}")
    if "items" in node:
        yield from walk(node["items"], f"{path}.[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}.*")


def test_committed_crd_is_up_to_date() -> None:
    assert COMMITTED.read_text() == crd.render_crd_yaml(), (
        "crds/llmendpoints.yaml is stale: run `llm-operator crd > crds/llmendpoints.yaml`"
    )


def test_yaml_is_the_built_crd(built: dict[str, Any]) -> None:
    assert yaml.safe_load(crd.render_crd_yaml()) == built


def test_names_scope_and_version(built: dict[str, Any]) -> None:
    assert built["apiVersion"] == "apiextensions.k8s.io/v1"
    assert built["metadata"]["name"] == "llmendpoints.llmoperator.io"
    spec = built["spec"]
    assert spec["group"] == "llmoperator.io"
    assert spec["scope"] == "Namespaced"
    assert spec["names"] == {
        "kind": "LLMEndpoint",
        "listKind": "LLMEndpointList",
        "plural": "llmendpoints",
        "singular": "llmendpoint",
        "shortNames": ["llme"],
        "categories": ["sagemaker"],
    }
    (version,) = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {
        "status": {},
        "scale": {
            "specReplicasPath": ".spec.resources.copies",
            "statusReplicasPath": ".status.replicas",
            "labelSelectorPath": ".status.selector",
        },
    }


def test_printer_columns(built: dict[str, Any]) -> None:
    columns = built["spec"]["versions"][0]["additionalPrinterColumns"]
    default = [(c["name"], c["jsonPath"]) for c in columns if not c.get("priority")]
    assert default == [
        ("Model", ".status.modelSource"),
        ("Instance", ".spec.instance.type"),
        ("Copies", ".status.copiesSummary"),
        ("Status", ".status.phase"),
        ("Ready", '.status.conditions[?(@.type=="Ready")].status'),
        ("Age", ".metadata.creationTimestamp"),
    ]


def test_columns_point_at_fields_of_the_schema(
    built: dict[str, Any], schema: dict[str, Any]
) -> None:
    for column in built["spec"]["versions"][0]["additionalPrinterColumns"]:
        path = column["jsonPath"].lstrip(".").split("[")[0]
        if path.startswith("metadata"):
            continue
        node_at(schema, path)


def test_schema_is_structural(schema: dict[str, Any]) -> None:
    forbidden = {"$ref", "$defs", "anyOf", "allOf", "oneOf", "not", "title", "const"}
    for path, node in walk(schema):
        assert not forbidden & node.keys(), path
        # int-or-string is the one structural node without a type (Kubernetes' own rule).
        assert "type" in node or node.get("x-kubernetes-int-or-string"), f"{path} has no type"
        if "properties" in node:
            assert "additionalProperties" not in node, path
        if node.get("additionalProperties") is False:
            pytest.fail(f"{path}: additionalProperties false is not structural")
        for bound in ("exclusiveMinimum", "exclusiveMaximum"):
            assert node.get(bound, True) is True, path
        assert "default" not in node or node["default"] not in (None, [], {}), path


def test_every_field_is_described(schema: dict[str, Any]) -> None:
    for path, node in walk(schema):
        if path.startswith((".spec", ".status")) and not path.endswith((".*", ".[]")):
            assert node.get("description"), f"{path} has no description"


def test_nullable_only_in_status(schema: dict[str, Any]) -> None:
    for path, node in walk(schema):
        if node.get("nullable"):
            assert path.startswith(".status."), path
    assert node_at(schema, "status.phase")["nullable"] is True


def test_status_fields_are_optional_and_bookkeeping_is_preserved(schema: dict[str, Any]) -> None:
    status = node_at(schema, "status")
    assert "required" not in status
    for key in ("kopf", "planMemory"):
        assert status["properties"][key]["x-kubernetes-preserve-unknown-fields"] is True
    preserved = [p for p, n in walk(schema) if n.get("x-kubernetes-preserve-unknown-fields")]
    assert preserved == [".status.planMemory", ".status.kopf"]
    assert node_at(schema, "status.estimatedHourlyCostUSD")["type"] == "string"
    assert node_at(schema, "status.conditions")["x-kubernetes-list-map-keys"] == ["type"]


def test_defaults(schema: dict[str, Any]) -> None:
    assert node_at(schema, "spec.endpointType")["default"] == "InferenceComponent"
    assert node_at(schema, "spec.deletionPolicy")["default"] == "Delete"
    assert node_at(schema, "spec.instance.count")["default"] == 1
    assert node_at(schema, "spec.resources.copies")["default"] == 1
    assert node_at(schema, "spec.resources.acceleratorsPerCopy")["default"] == 1
    assert node_at(schema, "spec.model.hfTokenSecretRef.key")["default"] == "token"
    assert node_at(schema, "spec")["required"] == ["model", "aws"]


@pytest.mark.parametrize(
    ("path", "message", "rule_part"),
    [
        ("spec.model", models.MSG_MODEL_SOURCE, ".filter(x, x).size() == 1"),
        ("spec.model", models.MSG_PACKAGE_IMAGE, "!has(self.modelPackage) || !has(self.image)"),
        ("spec.model", models.MSG_PACKAGE_SETTINGS, "has(self.engine)"),
        ("spec.model.modelPackage", models.MSG_PACKAGE_SOURCE, "has(self.group) != has(self.arn)"),
        ("spec.model.modelPackage", models.MSG_PACKAGE_VERSION, "has(self.group)"),
        (
            "spec.model.modelPackage.version",
            models.MSG_PACKAGE_VERSION_VALUE,
            "string(self).matches(",
        ),
        ("spec.model", models.MSG_INPUT_TOTAL, "self.maxInputTokens < self.maxTotalTokens"),
        (
            "spec.model",
            models.MSG_PREFILL_INPUT,
            "self.maxBatchPrefillTokens >= self.maxInputTokens",
        ),
        ("spec.model", models.MSG_BATCH_TOTAL, "self.maxBatchTotalTokens >= self.maxTotalTokens"),
        ("spec.model.env", models.MSG_ENV_TOKEN, "!('HF_TOKEN' in self)"),
        ("spec.model.env", models.MSG_ENV_KEYS, "k.matches("),
        ("spec.instance", models.MSG_MIN_MAX, "self.minCount <= self.maxCount"),
        ("spec.instance", models.MSG_COUNT_MIN, "self.count >= self.minCount"),
        ("spec.instance", models.MSG_COUNT_MAX, "self.count <= self.maxCount"),
        ("spec.instance.type", models.msg_instance_family(), "self.matches('^ml"),
        ("spec", models.MSG_ADAPTERS_MODEL, "size(self.adapters) == 0"),
        ("spec", models.MSG_RESOURCES_MODEL, "!has(self.resources)"),
        ("spec", models.MSG_SCALING_MODEL, "!has(self.instance.minCount)"),
        ("spec.adapters.[].name", models.MSG_ADAPTER_RESERVED, "self != 'base'"),
        ("spec.aws.tags", models.MSG_TAGS_RESERVED, "!k.startsWith('llmoperator.io/')"),
        ("spec.aws.region", models.MSG_REGION_IMMUTABLE, "self == oldSelf"),
        ("spec.endpointType", models.MSG_TYPE_IMMUTABLE, "self == oldSelf"),
        ("", models.msg_name_length(), "size(self.metadata.name) <= 36"),
    ],
)
def test_cel_rule_present(schema: dict[str, Any], path: str, message: str, rule_part: str) -> None:
    found = rules_at(schema, path)
    assert message in found, f"no rule with message {message!r} at {path or 'root'}"
    assert rule_part in found[message]


def test_instance_family_rule_is_generated_from_the_catalog(schema: dict[str, Any]) -> None:
    rule = rules_at(schema, "spec.instance.type")[models.msg_instance_family()]
    literal = re.search(r"self\.matches\('(.*)'\)", rule)
    assert literal is not None
    regex = re.compile(literal.group(1).replace("\\\\", "\\"))
    for t in catalog.instance_types():
        assert regex.match(t.name), t.name
    for bad in ("ml.x9.large", "ml.g5x.xlarge", "ml.p3.2xlarge", "g5.xlarge"):
        assert not regex.match(bad), bad


def test_lists_and_maps_under_cel_are_bounded(schema: dict[str, Any]) -> None:
    # The API server refuses CEL rules whose worst-case cost it cannot bound.
    assert node_at(schema, "spec.model.env")["maxProperties"] == models.MAX_ENV
    assert node_at(schema, "spec.model.env")["additionalProperties"]["maxLength"] == 1024
    assert node_at(schema, "spec.aws.tags")["maxProperties"] == 46
    assert node_at(schema, "spec.adapters")["maxItems"] == models.MAX_ADAPTERS
    assert node_at(schema, "spec.adapters")["x-kubernetes-list-map-keys"] == ["name"]
    assert node_at(schema, "spec.adapters.[].name")["maxLength"] == 17


@pytest.mark.parametrize(
    ("path", "key", "value"),
    [
        ("spec.resources.copies", "minimum", 0),
        ("spec.instance.count", "minimum", 1),
        ("spec.instance.minCount", "minimum", 0),
        ("spec.resources.memoryMiBPerCopy", "minimum", 128),
        ("spec.resources.cpusPerCopy", "minimum", 0.25),
        ("spec.aws.region", "pattern", models.REGION_PATTERN),
        ("spec.aws.executionRoleArn", "pattern", models.ROLE_ARN_PATTERN),
        ("spec.model.artifactUri", "pattern", models.MODEL_ARTIFACT_PATTERN),
        ("spec.adapters.[].artifactUri", "pattern", models.ADAPTER_ARTIFACT_PATTERN),
        ("spec.model.hfModelId", "pattern", models.HF_MODEL_ID_PATTERN),
        ("spec.model.revision", "pattern", models.REVISION_PATTERN),
        ("spec.model.hfTokenSecretRef.name", "pattern", models.SECRET_NAME_PATTERN),
        ("spec.aws.vpc.subnets.[]", "pattern", models.SUBNET_PATTERN),
        ("spec.aws.vpc.securityGroupIds", "maxItems", 5),
        ("spec.model.quantize", "enum", ["none", "bitsandbytes", "gptq", "awq", "eetq", "fp8"]),
        ("spec.endpointType", "enum", ["InferenceComponent", "Model", "Serverless", "Async"]),
        ("spec.deletionPolicy", "enum", ["Delete", "Retain"]),
    ],
)
def test_openapi_constraints(schema: dict[str, Any], path: str, key: str, value: Any) -> None:
    assert node_at(schema, path)[key] == value


def test_patterns_match_what_they_should() -> None:
    cases = {
        models.REGION_PATTERN: (["us-east-1", "cn-north-1", "us-gov-west-1"], ["US", "useast1"]),
        models.ROLE_ARN_PATTERN: (
            [
                "arn:aws:iam::111122223333:role/SageMakerExecution",
                "arn:aws-cn:iam::111122223333:role/SageMakerExecution",
                "arn:aws-iso-b:iam::111122223333:role/SageMakerExecution",
            ],
            [
                "arn:aws:iam::111122223333:user/x",
                "role/x",
                "arn:awsfoo:iam::111122223333:role/x",
                "arn:aws-:iam::111122223333:role/x",
            ],
        ),
        models.MODEL_ARTIFACT_PATTERN: (
            ["s3://bucket/model.tar.gz", "s3://bucket/models/llm/", "s3://bucket/"],
            ["s3://bucket/model.zip", "https://x/model.tar.gz", "s3://B/m.tar.gz"],
        ),
        models.HF_MODEL_ID_PATTERN: (["mistralai/Mistral-7B-Instruct-v0.1", "gpt2"], ["a/b/c"]),
    }
    for pattern, (good, bad) in cases.items():
        for text in good:
            assert re.match(pattern, text), (pattern, text)
        for text in bad:
            assert not re.match(pattern, text), (pattern, text)


def test_roles_are_checked_against_the_regions_partition(schema: dict[str, Any]) -> None:
    found = rules_at(schema, "spec.aws")
    for field in ("executionRoleArn", "roleArn"):
        rule = found[models.MSG_ROLE_PARTITION.format(field=field)]
        assert f"self.{field}.startsWith('arn:' + " in rule
        assert "'cn-north-1'" in rule and "'us-gov-west-1'" in rule


def test_inferentia_engine_rule_is_generated_from_the_catalog(schema: dict[str, Any]) -> None:
    rule = rules_at(schema, "spec")[models.MSG_NEURON_ENGINE]
    assert "self.model.engine in ['lmi', 'tgi']" in rule
    assert "self.instance.type.startsWith('ml.inf2.')" in rule
