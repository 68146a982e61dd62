"""The pydantic API models: wire names, defaults, and the cross-field rules."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from llm_operator.api import models
from llm_operator.api.models import (
    Condition,
    Counts,
    LLMEndpointSpec,
    LLMEndpointStatus,
    ResourcesSpec,
    copies_summary,
)

ROLE = "arn:aws:iam::111122223333:role/SageMakerExecution"

ISSUE_EXAMPLE: dict[str, Any] = {
    "model": {
        "hfModelId": "mistralai/Mistral-7B-Instruct-v0.1",
        "revision": "main",
        "image": "",
        "hfTokenSecretRef": {"name": "hf-token", "key": "token"},
        "quantize": "bitsandbytes",
        "maxInputTokens": 4095,
        "maxTotalTokens": 4096,
        "maxBatchTotalTokens": 8192,
        "maxBatchPrefillTokens": 10000,
        "env": {},
    },
    "instance": {"type": "ml.g5.12xlarge", "count": 1, "minCount": 1, "maxCount": 2},
    "endpointType": "InferenceComponent",
    "resources": {
        "copies": 4,
        "acceleratorsPerCopy": 1,
        "cpusPerCopy": 2,
        "memoryMiBPerCopy": 5120,
    },
    "adapters": [{"name": "support-bot", "artifactUri": "s3://bucket/adapters/support.tar.gz"}],
    "aws": {
        "region": "us-east-1",
        "executionRoleArn": ROLE,
        "vpc": {"subnets": ["subnet-1"], "securityGroupIds": ["sg-1"]},
        "tags": {"team": "search"},
    },
    "deletionPolicy": "Delete",
}

MINIMAL: dict[str, Any] = {
    "model": {"hfModelId": "mistralai/Mistral-7B-Instruct-v0.1"},
    "instance": {"type": "ml.g5.2xlarge"},
    "aws": {"region": "us-east-1", "executionRoleArn": ROLE},
}


def with_changes(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    *parents, leaf = path.split(".")
    node = out
    for p in parents:
        node = node.setdefault(p, {})
    if value is None:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return out


def test_issue_example_parses_with_snake_case_attributes() -> None:
    spec = LLMEndpointSpec.model_validate(ISSUE_EXAMPLE)
    assert spec.model.hf_model_id == "mistralai/Mistral-7B-Instruct-v0.1"
    assert spec.model.hf_token_secret_ref is not None
    assert spec.model.hf_token_secret_ref.name == "hf-token"
    assert spec.resources is not None and spec.resources.memory_mib_per_copy == 5120
    assert spec.aws.vpc is not None and spec.aws.vpc.security_group_ids == ["sg-1"]
    assert spec.adapters[0].artifact_uri == "s3://bucket/adapters/support.tar.gz"


def test_dump_round_trips_camel_case_wire_names() -> None:
    spec = LLMEndpointSpec.model_validate(ISSUE_EXAMPLE)
    wire = spec.model_dump(exclude_none=True)
    assert wire["resources"]["memoryMiBPerCopy"] == 5120
    assert wire["aws"]["executionRoleArn"] == ROLE
    assert wire["model"]["maxBatchPrefillTokens"] == 10000
    assert LLMEndpointSpec.model_validate(wire) == spec


def test_snake_case_names_are_accepted_too() -> None:
    spec = LLMEndpointSpec(
        model=models.ModelSpec(hf_model_id="org/m-7b"),
        instance=models.InstanceSpec(type="ml.g5.xlarge"),
        aws=models.AwsSpec(region="eu-west-1", execution_role_arn=ROLE),
        resources=ResourcesSpec(memory_mib_per_copy=1024),
    )
    assert spec.model_dump()["resources"]["memoryMiBPerCopy"] == 1024


def test_defaults() -> None:
    spec = LLMEndpointSpec.model_validate(MINIMAL)
    assert spec.endpoint_type == "InferenceComponent"
    assert spec.deletion_policy == "Delete"
    assert spec.instance.count == 1
    assert spec.resources is None
    res = spec.effective_resources
    assert (res.copies, res.accelerators_per_copy, res.cpus_per_copy) == (1, 1, 1)
    assert res.memory_mib_per_copy == 4096
    assert spec.adapters == [] and spec.model.env == {} and spec.aws.tags == {}
    assert spec.model.quantize is None


def test_secret_key_defaults_to_token() -> None:
    raw = with_changes(MINIMAL, "model.hfTokenSecretRef", {"name": "hf"})
    ref = LLMEndpointSpec.model_validate(raw).model.hf_token_secret_ref
    assert ref is not None and ref.key == "token"


def test_model_source_is_id_or_artifact() -> None:
    assert LLMEndpointSpec.model_validate(MINIMAL).model.source.startswith("mistralai/")
    raw = with_changes(MINIMAL, "model", {"artifactUri": "s3://bucket/m.tar.gz"})
    assert LLMEndpointSpec.model_validate(raw).model.source == "s3://bucket/m.tar.gz"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("model.artifactUri", "s3://bucket/m.tar.gz", models.MSG_MODEL_SOURCE),
        ("model", {"revision": "main"}, models.MSG_MODEL_SOURCE),
        ("model.maxInputTokens", 4096, models.MSG_INPUT_TOTAL),
        ("model.maxBatchPrefillTokens", 100, models.MSG_PREFILL_INPUT),
        ("model.maxBatchTotalTokens", 1000, models.MSG_BATCH_TOTAL),
        ("model.env", {"HF_TOKEN": "x"}, "do not put the Hugging Face token"),
        ("model.env", {"HUGGING_FACE_HUB_TOKEN": "x"}, "do not put the Hugging Face token"),
        ("model.env", {"1ABC": "x"}, "environment variable names"),
        ("instance.type", "ml.x9.large", "instance.type must be an ml.* instance type"),
        ("instance.type", "g5.xlarge", "should match pattern"),
        ("instance", {"type": "ml.g5.xlarge", "minCount": 3, "maxCount": 2}, models.MSG_MIN_MAX),
        ("instance", {"type": "ml.g5.xlarge", "count": 1, "minCount": 2}, models.MSG_COUNT_MIN),
        ("instance", {"type": "ml.g5.xlarge", "count": 3, "maxCount": 2}, models.MSG_COUNT_MAX),
        ("resources.copies", -1, "greater than or equal to 0"),
        ("resources.memoryMiBPerCopy", 64, "greater than or equal to 128"),
        ("adapters", [{"name": "base", "artifactUri": "s3://b/a.tar.gz"}], "reserved"),
        ("adapters", [{"name": "Bad_Name", "artifactUri": "s3://b/a.tar.gz"}], "pattern"),
        ("adapters", [{"name": "a" * 18, "artifactUri": "s3://b/a.tar.gz"}], "at most 17"),
        ("adapters", [{"name": "a", "artifactUri": "s3://b/a.zip"}], "pattern"),
        ("aws.region", "US East", "pattern"),
        ("aws.executionRoleArn", "arn:aws:iam::1:user/x", "pattern"),
        ("aws.tags", {"llmoperator.io/uid": "x"}, "reserved"),
        ("aws.tags", {"aws:cloudformation": "x"}, "reserved"),
        ("model.quantize", "int3", "Input should be"),
        ("deletionPolicy", "Orphan", "Input should be"),
        ("model.unknownField", 1, "Extra inputs are not permitted"),
    ],
)
def test_invalid_specs_are_rejected(path: str, value: Any, message: str) -> None:
    tokens = {"maxInputTokens": 4095, "maxTotalTokens": 4096, "maxBatchTotalTokens": 8192}
    base = with_changes(MINIMAL, "model", {**MINIMAL["model"], **tokens})
    LLMEndpointSpec.model_validate(base)
    with pytest.raises(ValidationError) as info:
        LLMEndpointSpec.model_validate(with_changes(base, path, value))
    assert message in str(info.value)


def test_duplicate_adapter_names_are_rejected() -> None:
    adapter = {"name": "a", "artifactUri": "s3://bucket/a.tar.gz"}
    with pytest.raises(ValidationError, match="adapter names must be unique"):
        LLMEndpointSpec.model_validate(with_changes(MINIMAL, "adapters", [adapter, adapter]))


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("adapters", [{"name": "a", "artifactUri": "s3://bucket/a.tar.gz"}], "adapters need"),
        ("resources", {"copies": 2}, "resources (copies"),
        ("instance", {"type": "ml.g5.xlarge", "maxCount": 2}, "managed instance scaling"),
    ],
)
def test_inference_component_only_fields_are_rejected_on_model_endpoints(
    path: str, value: Any, message: str
) -> None:
    raw = with_changes(with_changes(MINIMAL, "endpointType", "Model"), path, value)
    with pytest.raises(ValidationError) as info:
        LLMEndpointSpec.model_validate(raw)
    assert message in str(info.value)


def test_status_dumps_with_the_wire_names_kubectl_columns_read() -> None:
    status = LLMEndpointStatus(
        phase="InService",
        conditions=[Condition(type="Ready", status="True", reason="InService")],
        copies=Counts(desired=4, current=3),
        copies_summary=copies_summary(3, 4),
        estimated_hourly_cost_usd="7.09",
        model_source="mistralai/Mistral-7B-Instruct-v0.1",
    )
    wire = status.model_dump(exclude_none=True)
    assert wire["copiesSummary"] == "3/4"
    assert wire["estimatedHourlyCostUSD"] == "7.09"
    assert wire["modelSource"] == "mistralai/Mistral-7B-Instruct-v0.1"
    assert wire["conditions"][0] == {"type": "Ready", "status": "True", "reason": "InService"}
    # The operator reads back what it (or kopf) wrote, including fields it does not know.
    again = LLMEndpointStatus.model_validate({**wire, "somethingNew": 1})
    assert again.copies == Counts(desired=4, current=3)


def test_copies_summary_shows_unknown_sides_as_dash() -> None:
    assert copies_summary(None, 4) == "-/4"
    assert copies_summary(0, 0) == "0/0"


def test_tensor_parallel_degree_counts_neuron_cores_on_inferentia() -> None:
    """Up to the copy's GPUs on GPU types; Neuron engines count cores, two per chip."""
    base: dict[str, Any] = {
        "model": {"hfModelId": "org/m", "tensorParallelDegree": 2},
        "instance": {"type": "ml.g5.12xlarge"},
        "resources": {"acceleratorsPerCopy": 1},
        "aws": {"region": "us-east-1", "executionRoleArn": "arn:aws:iam::111122223333:role/R"},
    }
    with pytest.raises(ValueError, match=r"must not exceed resources\.acceleratorsPerCopy"):
        LLMEndpointSpec.model_validate(base)
    neuron = {**base, "instance": {"type": "ml.inf2.24xlarge"}}
    assert LLMEndpointSpec.model_validate(neuron).model.tensor_parallel_degree == 2


@pytest.mark.parametrize(
    ("region", "field", "arn", "partition"),
    [
        ("us-east-1", "executionRoleArn", "arn:aws-cn:iam::111122223333:role/x", "aws"),
        ("us-east-1", "executionRoleArn", "arn:aws-us-gov:iam::111122223333:role/x", "aws"),
        ("us-east-1", "roleArn", "arn:aws-iso-b:iam::111122223333:role/x", "aws"),
        ("cn-north-1", "executionRoleArn", ROLE, "aws-cn"),
        ("us-gov-west-1", "roleArn", ROLE, "aws-us-gov"),
    ],
)
def test_roles_must_be_of_the_regions_partition(
    region: str, field: str, arn: str, partition: str
) -> None:
    raw = with_changes(with_changes(MINIMAL, "aws.region", region), f"aws.{field}", arn)
    if field == "roleArn" and region != "us-east-1":
        raw = with_changes(raw, "aws.executionRoleArn", ROLE.replace(":aws:", f":{partition}:"))
    with pytest.raises(ValidationError, match=f"must be a role of partition {partition},"):
        LLMEndpointSpec.model_validate(raw)


def test_roles_of_the_regions_partition_are_accepted() -> None:
    china = ROLE.replace("arn:aws:", "arn:aws-cn:")
    raw = with_changes(with_changes(MINIMAL, "aws.region", "cn-north-1"), "aws.roleArn", china)
    spec = LLMEndpointSpec.model_validate(with_changes(raw, "aws.executionRoleArn", china))
    assert spec.aws.execution_role_arn == china


@pytest.mark.parametrize("partition", ["awsfoo", "aws-", "aws-cnx", "AWS"])
def test_a_role_of_no_partition_is_refused(partition: str) -> None:
    arn = f"arn:{partition}:iam::111122223333:role/x"
    with pytest.raises(ValidationError, match="should match pattern"):
        LLMEndpointSpec.model_validate(with_changes(MINIMAL, "aws.executionRoleArn", arn))


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_an_engine_without_a_neuron_container_is_refused_on_inferentia(engine: str) -> None:
    raw = with_changes(
        with_changes(MINIMAL, "instance.type", "ml.inf2.24xlarge"), "model.engine", engine
    )
    with pytest.raises(
        ValidationError, match=f"model.engine {engine} has no AWS container for ml.inf2.24xlarge"
    ):
        LLMEndpointSpec.model_validate(raw)
    own = with_changes(raw, "model.image", "123456789012.dkr.ecr.us-east-1.amazonaws.com/n:1")
    assert LLMEndpointSpec.model_validate(own).model.engine == engine


@pytest.mark.parametrize("engine", ["lmi", "tgi", None])
def test_neuron_engines_and_an_unset_engine_are_accepted_on_inferentia(engine: str | None) -> None:
    raw = with_changes(
        with_changes(MINIMAL, "instance.type", "ml.inf2.24xlarge"), "model.engine", engine
    )
    assert LLMEndpointSpec.model_validate(raw).instance.type == "ml.inf2.24xlarge"


GROUP_PACKAGE = {"modelPackage": {"group": "support-bot-llm"}}
MARKETPLACE_ARN = "arn:aws:sagemaker:us-east-1:865070037744:model-package/vendor-llm-1-abc"


def test_a_model_package_is_a_model_source() -> None:
    spec = LLMEndpointSpec.model_validate(with_changes(MINIMAL, "model", GROUP_PACKAGE))
    package = spec.model.model_package
    assert package is not None and package.pinned is None
    assert spec.model.source == "support-bot-llm:latest-approved"
    pinned = with_changes(MINIMAL, "model", {"modelPackage": {"group": "g", "version": 3}})
    assert LLMEndpointSpec.model_validate(pinned).model.source == "g:3"
    by_arn = with_changes(MINIMAL, "model", {"modelPackage": {"arn": MARKETPLACE_ARN}})
    assert LLMEndpointSpec.model_validate(by_arn).model.source == MARKETPLACE_ARN
    group_arn = "arn:aws:sagemaker:us-east-1:111122223333:model-package-group/support-bot-llm"
    as_arn = with_changes(MINIMAL, "model", {"modelPackage": {"group": group_arn, "version": "2"}})
    package = LLMEndpointSpec.model_validate(as_arn).model.model_package
    assert package is not None and package.group_name == "support-bot-llm"
    assert package.pinned == 2


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({**GROUP_PACKAGE, "hfModelId": "org/m"}, models.MSG_MODEL_SOURCE),
        ({"modelPackage": {}}, models.MSG_PACKAGE_SOURCE),
        ({"modelPackage": {"group": "g", "arn": MARKETPLACE_ARN}}, models.MSG_PACKAGE_SOURCE),
        ({"modelPackage": {"arn": MARKETPLACE_ARN, "version": 1}}, models.MSG_PACKAGE_VERSION),
        ({"modelPackage": {"group": "g", "version": 0}}, models.MSG_PACKAGE_VERSION_VALUE),
        ({"modelPackage": {"group": "g", "version": "newest"}}, models.MSG_PACKAGE_VERSION_VALUE),
        ({"modelPackage": {"group": "bad_name"}}, "pattern"),
        ({"modelPackage": {"arn": "arn:aws:sagemaker:us-east-1:1:model/x"}}, "pattern"),
        ({**GROUP_PACKAGE, "image": "example.com/llm:1"}, models.MSG_PACKAGE_IMAGE),
        ({**GROUP_PACKAGE, "engine": "vllm"}, models.MSG_PACKAGE_SETTINGS),
        ({**GROUP_PACKAGE, "maxModelLength": 4096}, models.MSG_PACKAGE_SETTINGS),
    ],
)
def test_invalid_model_packages_are_refused(model: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        LLMEndpointSpec.model_validate(with_changes(MINIMAL, "model", model))
    assert message in str(info.value)


def test_a_package_takes_environment_overrides_and_a_token() -> None:
    model = {**GROUP_PACKAGE, "env": {"MAX_BATCH": "8"}, "hfTokenSecretRef": {"name": "hf"}}
    spec = LLMEndpointSpec.model_validate(with_changes(MINIMAL, "model", model))
    assert spec.model.env == {"MAX_BATCH": "8"}
