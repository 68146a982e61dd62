"""desired.render: the exact SageMaker requests for a spec, checked against botocore's model."""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from llm_operator.api.models import LLMEndpointSpec
from llm_operator.core import engines, naming
from llm_operator.core.desired import (
    DesiredState,
    Owner,
    RenderError,
    ownership_tags,
    render,
    token_digest,
)

OWNER = Owner(namespace="team-a", name="mistral", uid="0b9e6a52-7f0c-4d2e-9a51-1f2b3c4d5e6f")
ROLE = "arn:aws:iam::111122223333:role/SageMakerExecution"
TOKEN = "hf_SECRETtokenVALUE1234567890"
IMAGE_RE = re.compile(
    r"^763104351884\.dkr\.ecr\.us-east-1\.amazonaws\.com/huggingface-pytorch-tgi-inference:\S+$"
)


def ic_spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "model": {
            "engine": "tgi",
            "hfModelId": "mistralai/Mistral-7B-Instruct-v0.1",
            "maxInputTokens": 4095,
            "maxTotalTokens": 4096,
            "maxBatchTotalTokens": 8192,
            "maxBatchPrefillTokens": 10000,
        },
        "instance": {"type": "ml.g5.12xlarge", "count": 1, "minCount": 1, "maxCount": 2},
        "resources": {
            "copies": 4,
            "acceleratorsPerCopy": 1,
            "cpusPerCopy": 2,
            "memoryMiBPerCopy": 5120,
        },
        "adapters": [{"name": "support-bot", "artifactUri": "s3://bucket/adapters/support.tar.gz"}],
        "aws": {"region": "us-east-1", "executionRoleArn": ROLE, "tags": {"team": "search"}},
    }
    return _merge(spec, changes)


def model_spec(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "endpointType": "Model",
        "model": {"engine": "tgi", "hfModelId": "mistralai/Mistral-7B-Instruct-v0.1"},
        "instance": {"type": "ml.g5.12xlarge", "count": 2},
        "aws": {"region": "us-east-1", "executionRoleArn": ROLE},
    }
    return _merge(spec, changes)


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def go(raw: dict[str, Any], owner: Owner = OWNER, token: str | None = None) -> DesiredState:
    return render(LLMEndpointSpec.model_validate(raw), owner, hf_token=token)


_SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")


def assert_valid_request(operation: str, params: dict[str, Any]) -> None:
    """botocore's own client-side check of the kwargs, plus SageMaker's name rules."""
    shape = _SAGEMAKER.operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


# --- inference-component endpoints ---------------------------------------------


def test_inference_component_endpoint_renders_the_seed_setup() -> None:
    d = go(ic_spec())
    prefix = naming.prefix("team-a", "mistral")
    assert d.endpoint_type == "InferenceComponent"
    assert d.region == "us-east-1"
    assert d.endpoint_name == prefix

    model = d.model.create_request
    assert model["ModelName"] == d.model.name
    assert d.model.name.startswith(prefix + "-m")
    assert model["ExecutionRoleArn"] == ROLE
    assert IMAGE_RE.match(model["PrimaryContainer"]["Image"])
    assert model["PrimaryContainer"]["Environment"] == {
        "HF_MODEL_ID": "mistralai/Mistral-7B-Instruct-v0.1",
        "SM_NUM_GPUS": "1",
        "MAX_INPUT_TOKENS": "4095",
        "MAX_TOTAL_TOKENS": "4096",
        "MAX_BATCH_TOTAL_TOKENS": "8192",
        "MAX_BATCH_PREFILL_TOKENS": "10000",
    }
    assert "VpcConfig" not in model
    assert "ModelDataUrl" not in model["PrimaryContainer"]

    config = d.endpoint_config.create_request
    assert config == {
        "EndpointConfigName": d.endpoint_config.name,
        "ExecutionRoleArn": ROLE,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.12xlarge",
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {
                    "Status": "ENABLED",
                    "MinInstanceCount": 1,
                    "MaxInstanceCount": 2,
                },
                "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
            }
        ],
    }
    assert d.endpoint_config.name.startswith(prefix + "-c")
    assert d.endpoint_config.instance_type == "ml.g5.12xlarge"
    assert d.endpoint_config.initial_instance_count == 1

    base, adapter = d.components
    assert base.name == naming.base_component_name("team-a", "mistral")
    assert base.specification == {
        "ModelName": d.model.name,
        "ComputeResourceRequirements": {
            "NumberOfAcceleratorDevicesRequired": 1,
            "NumberOfCpuCoresRequired": 2.0,
            "MinMemoryRequiredInMb": 5120,
        },
    }
    assert base.copies == 4
    assert base.base_component is None and base.adapter is None
    assert adapter.name == f"{prefix}--support-bot"
    assert adapter.specification == {
        "BaseInferenceComponentName": base.name,
        "Container": {"ArtifactUrl": "s3://bucket/adapters/support.tar.gz"},
    }
    assert adapter.copies is None
    assert adapter.base_component == base.name
    assert adapter.adapter == "support-bot"


def test_requests_pass_botocore_validation() -> None:
    for raw in (
        ic_spec(aws={"vpc": {"subnets": ["subnet-1"], "securityGroupIds": ["sg-1"]}}),
        model_spec(model={"hfModelId": None, "artifactUri": "s3://bucket/m/model.tar.gz"}),
        model_spec(model={"hfModelId": None, "artifactUri": "s3://bucket/m/"}),
    ):
        d = go(raw, token=TOKEN)
        tags = tag_list(dict(d.tags))
        assert_valid_request("CreateModel", {**d.model.create_request, "Tags": tags})
        assert_valid_request(
            "CreateEndpointConfig", {**d.endpoint_config.create_request, "Tags": tags}
        )
        assert_valid_request(
            "CreateEndpoint",
            {"EndpointName": d.endpoint_name, "EndpointConfigName": d.endpoint_config.name},
        )
        for c in d.components:
            params: dict[str, Any] = {
                "InferenceComponentName": c.name,
                "EndpointName": d.endpoint_name,
                "Specification": dict(c.specification),
                "Tags": tags,
            }
            if c.copies is not None:
                params["VariantName"] = "AllTraffic"
                params["RuntimeConfig"] = {"CopyCount": c.copies}
            assert_valid_request("CreateInferenceComponent", params)
        names = [d.endpoint_name, d.endpoint_config.name, d.model.name]
        names += [c.name for c in d.components]
        for name in names:
            assert len(name) <= 63
            assert naming.MODEL_NAME_RE.match(name) and naming.ENDPOINT_NAME_RE.match(name)


def test_scaling_bounds_fill_in_from_count_when_only_one_is_given() -> None:
    only_max = go(ic_spec(instance={"count": 2, "minCount": None, "maxCount": 5}))
    scaling = only_max.endpoint_config.create_request["ProductionVariants"][0]
    assert scaling["ManagedInstanceScaling"] == {
        "Status": "ENABLED",
        "MinInstanceCount": 2,
        "MaxInstanceCount": 5,
    }
    only_min = go(ic_spec(instance={"count": 3, "minCount": 0, "maxCount": None}))
    scaling = only_min.endpoint_config.create_request["ProductionVariants"][0]
    assert scaling["ManagedInstanceScaling"]["MinInstanceCount"] == 0
    assert scaling["ManagedInstanceScaling"]["MaxInstanceCount"] == 3


def test_no_managed_scaling_without_min_or_max() -> None:
    d = go(ic_spec(instance={"minCount": None, "maxCount": None}))
    variant = d.endpoint_config.create_request["ProductionVariants"][0]
    assert "ManagedInstanceScaling" not in variant
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}


def test_default_resources_give_one_copy() -> None:
    d = go(ic_spec(resources=None))
    (base, _adapter) = d.components
    assert base.copies == 1
    assert base.specification["ComputeResourceRequirements"] == {
        "NumberOfAcceleratorDevicesRequired": 1,
        "NumberOfCpuCoresRequired": 1.0,
        "MinMemoryRequiredInMb": 4096,
    }


def test_cpu_only_copies_request_no_accelerators() -> None:
    raw = ic_spec(
        instance={"type": "ml.m5.xlarge", "minCount": None, "maxCount": None},
        resources={"acceleratorsPerCopy": 0, "copies": 1},
        model={"image": "example.com/tgi-cpu:1"},
        adapters=[],
    )
    d = go(raw)
    compute = d.components[0].specification["ComputeResourceRequirements"]
    assert "NumberOfAcceleratorDevicesRequired" not in compute
    assert "SM_NUM_GPUS" not in d.model.create_request["PrimaryContainer"]["Environment"]


def test_sm_num_gpus_follows_accelerators_per_copy() -> None:
    d = go(ic_spec(resources={"acceleratorsPerCopy": 4, "copies": 1}))
    env = d.model.create_request["PrimaryContainer"]["Environment"]
    assert env["SM_NUM_GPUS"] == "4"


def test_vpc_goes_on_model_and_endpoint_config() -> None:
    vpc = {"subnets": ["subnet-1", "subnet-2"], "securityGroupIds": ["sg-1"]}
    d = go(ic_spec(aws={"vpc": vpc}))
    expected = {"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1", "subnet-2"]}
    assert d.model.create_request["VpcConfig"] == expected
    assert d.endpoint_config.create_request["VpcConfig"] == expected


# --- model-based endpoints ----------------------------------------------------------


def test_model_endpoint_is_a_classic_variant_without_components() -> None:
    d = go(model_spec())
    assert d.endpoint_type == "Model"
    assert d.components == ()
    config = d.endpoint_config.create_request
    assert config == {
        "EndpointConfigName": d.endpoint_config.name,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.12xlarge",
                "InitialInstanceCount": 2,
                "ModelName": d.model.name,
                "InitialVariantWeight": 1.0,
            }
        ],
    }
    # The instance's four GPUs shard the model.
    assert d.model.create_request["PrimaryContainer"]["Environment"]["SM_NUM_GPUS"] == "4"


def test_model_from_s3_archive_uses_model_data_url() -> None:
    d = go(model_spec(model={"hfModelId": None, "artifactUri": "s3://bucket/llm/model.tar.gz"}))
    container = d.model.create_request["PrimaryContainer"]
    assert container["ModelDataUrl"] == "s3://bucket/llm/model.tar.gz"
    assert container["Environment"]["HF_MODEL_ID"] == "/opt/ml/model"
    assert "ModelDataSource" not in container


def test_model_from_s3_prefix_uses_uncompressed_data_source() -> None:
    d = go(model_spec(model={"hfModelId": None, "artifactUri": "s3://bucket/llm/"}))
    container = d.model.create_request["PrimaryContainer"]
    assert container["ModelDataSource"] == {
        "S3DataSource": {
            "S3Uri": "s3://bucket/llm/",
            "S3DataType": "S3Prefix",
            "CompressionType": "None",
        }
    }
    assert "ModelDataUrl" not in container


def test_model_endpoint_config_changes_with_the_model() -> None:
    a = go(model_spec())
    b = go(model_spec(model={"quantize": "awq"}))
    assert a.model.name != b.model.name
    assert a.endpoint_config.name != b.endpoint_config.name


# --- images and tags ----------------------------------------------------------


def test_custom_image_and_version() -> None:
    custom = go(ic_spec(model={"image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/tgi:x"}))
    assert custom.model.create_request["PrimaryContainer"]["Image"].endswith("/tgi:x")
    pinned = go(ic_spec(model={"tgiVersion": "2.4.0"}))
    assert pinned.model.create_request["PrimaryContainer"]["Image"].endswith(
        ":2.4.0-tgi2.4.0-gpu-py311-cu124-ubuntu22.04"
    )
    china_role = ROLE.replace("arn:aws:", "arn:aws-cn:")
    china = go(ic_spec(aws={"region": "cn-north-1", "executionRoleArn": china_role}))
    assert ".amazonaws.com.cn/" in china.model.create_request["PrimaryContainer"]["Image"]


def test_tags_are_ownership_plus_user_tags() -> None:
    d = go(ic_spec())
    assert dict(d.tags) == {
        "team": "search",
        "llmoperator.io/managed-by": "sagemaker-llm-operator",
        "llmoperator.io/namespace": "team-a",
        "llmoperator.io/name": "mistral",
        "llmoperator.io/uid": OWNER.uid,
    }
    assert ownership_tags(OWNER).items() <= d.tags.items()


def test_ownership_tags_win_over_user_tags() -> None:
    spec = LLMEndpointSpec.model_validate(ic_spec())
    # A spec that slipped past the CRD with a reserved key cannot steal ownership.
    spec.aws.tags["llmoperator.io/uid"] = "someone-else"
    d = render(spec, OWNER, hf_token=None)
    assert d.tags["llmoperator.io/uid"] == OWNER.uid


# --- content hashes ---------------------------------------------------------------


def test_render_is_deterministic() -> None:
    assert go(ic_spec(), token=TOKEN) == go(ic_spec(), token=TOKEN)


@pytest.mark.parametrize(
    "change",
    [
        {"model": {"hfModelId": "mistralai/Mistral-7B-Instruct-v0.2"}},
        {"model": {"revision": "abc123"}},
        {"model": {"quantize": "gptq"}},
        {"model": {"maxTotalTokens": 8192}},
        {"model": {"env": {"MAX_CONCURRENT_REQUESTS": "64"}}},
        {"model": {"tgiVersion": "3.0.1"}},
        {"resources": {"acceleratorsPerCopy": 2, "copies": 2}},
        {"aws": {"executionRoleArn": "arn:aws:iam::111122223333:role/Other"}},
    ],
)
def test_model_hash_follows_model_content(change: dict[str, Any]) -> None:
    before = go(ic_spec())
    after = go(ic_spec(**change))
    assert after.model.name != before.model.name
    assert after.endpoint_name == before.endpoint_name


@pytest.mark.parametrize(
    "change",
    [
        {"resources": {"copies": 1}},
        {"resources": {"memoryMiBPerCopy": 8192, "cpusPerCopy": 4}},
        {"adapters": []},
        {"instance": {"type": "ml.g5.48xlarge"}},
        {"aws": {"tags": {"team": "other"}}},
        {"deletionPolicy": "Retain"},
    ],
)
def test_model_hash_ignores_what_the_model_does_not_hold(change: dict[str, Any]) -> None:
    assert go(ic_spec(**change)).model.name == go(ic_spec()).model.name


@pytest.mark.parametrize(
    "change",
    [
        {"instance": {"type": "ml.g5.48xlarge"}},
        {"instance": {"count": 2}},
        {"instance": {"maxCount": 4}},
        {"instance": {"minCount": None, "maxCount": None}},
        {"aws": {"vpc": {"subnets": ["subnet-1"], "securityGroupIds": ["sg-1"]}}},
    ],
)
def test_endpoint_config_hash_follows_the_instance_pool(change: dict[str, Any]) -> None:
    assert go(ic_spec(**change)).endpoint_config.name != go(ic_spec()).endpoint_config.name


@pytest.mark.parametrize(
    "change",
    [
        {"resources": {"copies": 1}},
        {"model": {"quantize": "awq"}},
        {"adapters": []},
        {"aws": {"tags": {"team": "other"}}},
    ],
)
def test_inference_component_endpoint_config_ignores_model_and_copies(
    change: dict[str, Any],
) -> None:
    assert go(ic_spec(**change)).endpoint_config.name == go(ic_spec()).endpoint_config.name


def test_component_names_are_stable_across_changes() -> None:
    before = go(ic_spec())
    after = go(ic_spec(model={"quantize": "awq"}, resources={"copies": 2}))
    assert [c.name for c in after.components] == [c.name for c in before.components]
    assert after.components[0].specification["ModelName"] == after.model.name


# --- the Hugging Face token ----------------------------------------------------------


def test_token_goes_into_the_model_environment_only() -> None:
    d = go(ic_spec(), token=TOKEN)
    assert d.model.create_request["PrimaryContainer"]["Environment"]["HF_TOKEN"] == TOKEN
    without_env = copy.deepcopy(dataclasses.asdict(d))
    del without_env["model"]["create_request"]["PrimaryContainer"]["Environment"]["HF_TOKEN"]
    assert TOKEN not in repr(without_env)
    assert TOKEN not in d.model.name


def test_token_rotation_changes_the_model_hash_without_revealing_the_token() -> None:
    a = go(ic_spec(), token=TOKEN)
    b = go(ic_spec(), token=TOKEN + "x")
    none = go(ic_spec(), token=None)
    assert len({a.model.name, b.model.name, none.model.name}) == 3
    digest = token_digest(TOKEN)
    assert TOKEN not in digest
    assert digest == token_digest(TOKEN)
    assert digest != token_digest(TOKEN + "x")


# --- names ------------------------------------------------------------------------------


def test_same_stem_in_other_namespace_gets_other_names() -> None:
    a = go(ic_spec(), owner=Owner("a-b", "c", "u1"))
    b = go(ic_spec(), owner=Owner("a", "b-c", "u2"))
    assert a.endpoint_name != b.endpoint_name
    assert a.model.name != b.model.name
    assert {c.name for c in a.components}.isdisjoint(c.name for c in b.components)


# --- errors -----------------------------------------------------------------------------


def test_unknown_instance_size_is_a_render_error() -> None:
    with pytest.raises(RenderError, match=r"ml\.g5\.3xlarge is not in the operator's"):
        go(ic_spec(instance={"type": "ml.g5.3xlarge"}))


def test_engine_without_an_image_for_the_instance_is_a_render_error() -> None:
    inf2 = {"type": "ml.inf2.24xlarge", "minCount": None, "maxCount": None}
    # Engine unset (vLLM for a new object): the CRD cannot tell, rendering can.
    with pytest.raises(RenderError, match="no vLLM Neuron image is known"):
        go(
            ic_spec(
                instance=inf2,
                model={
                    "engine": None,
                    "maxInputTokens": None,
                    "maxTotalTokens": None,
                    "maxBatchTotalTokens": None,
                    "maxBatchPrefillTokens": None,
                },
            )
        )
    # With an explicit image the engine needs no table entry.
    d = go(
        ic_spec(
            instance=inf2,
            model={
                "engine": "sglang",
                "image": "registry/sglang-neuron:1",
                "maxInputTokens": None,
                "maxTotalTokens": None,
                "maxBatchTotalTokens": None,
                "maxBatchPrefillTokens": None,
            },
        )
    )
    assert d.model.create_request["PrimaryContainer"]["Image"] == "registry/sglang-neuron:1"


def test_environment_over_sagemakers_32_kb_is_a_render_error() -> None:
    # Within the API's character limit, but multi-byte characters pass 32 KB in bytes.
    env = {f"V{i:02d}": "é" * 1000 for i in range(17)}
    with pytest.raises(RenderError, match="over SageMaker's limit of 32768 bytes"):
        go(ic_spec(model={"env": env}))
    go(ic_spec(model={"env": {f"V{i:02d}": "e" * 1000 for i in range(16)}}))


# --- engines ------------------------------------------------------------------

NEUTRAL_MODEL = {
    "engine": None,
    "maxInputTokens": None,
    "maxTotalTokens": None,
    "maxBatchTotalTokens": None,
    "maxBatchPrefillTokens": None,
    "maxModelLength": 4096,
    "maxConcurrentRequests": 16,
}

ENGINE_RENDERING = {
    "vllm": ("/vllm:", "SM_VLLM_MAX_MODEL_LEN", "SM_VLLM_ENABLE_LORA"),
    "sglang": ("/sglang:", "SM_SGLANG_CONTEXT_LENGTH", "SM_SGLANG_ENABLE_LORA"),
    "lmi": ("/djl-inference:", "OPTION_MAX_MODEL_LEN", "OPTION_ENABLE_LORA"),
    "tgi": ("/huggingface-pytorch-tgi-inference:", "MAX_TOTAL_TOKENS", None),
}


@pytest.mark.parametrize("engine", sorted(ENGINE_RENDERING))
def test_each_engine_renders_its_image_and_variables(engine: str) -> None:
    image, length, lora = ENGINE_RENDERING[engine]
    d = go(ic_spec(model={**NEUTRAL_MODEL, "engine": engine}))
    container = d.model.create_request["PrimaryContainer"]
    assert image in container["Image"]
    assert container["Environment"][length] == "4096"
    if lora is not None:  # the spec has one adapter
        assert container["Environment"][lora] == "true"
    assert_valid_request("CreateModel", {**d.model.create_request, "Tags": tag_list(d.tags)})


def test_unset_engine_renders_vllm_for_a_new_object() -> None:
    d = go(ic_spec(model=NEUTRAL_MODEL))
    assert "/vllm:" in d.model.create_request["PrimaryContainer"]["Image"]


def test_changing_the_engine_rolls_out_a_new_model_and_config() -> None:
    names = set()
    for engine in ENGINE_RENDERING:
        d = go(model_spec(model={**NEUTRAL_MODEL, "engine": engine}))
        names.add((d.model.name, d.endpoint_config.name))
    assert len(names) == len(ENGINE_RENDERING)  # content hash differs per engine


def test_upgrading_the_operator_keeps_the_model_of_an_existing_tgi_endpoint() -> None:
    """An object an operator before engines created (no engine in spec or status) renders
    byte for byte the model that operator created: same image, environment and name."""
    raw = ic_spec(model={"engine": None})
    spec = engines.pin(LLMEndpointSpec.model_validate(raw), {"modelName": "created-before"})
    d = render(spec, OWNER, hf_token=None)
    before_image = (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
        "2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"
    )
    before_env = {
        "HF_MODEL_ID": "mistralai/Mistral-7B-Instruct-v0.1",
        "SM_NUM_GPUS": "1",
        "MAX_INPUT_TOKENS": "4095",
        "MAX_TOTAL_TOKENS": "4096",
        "MAX_BATCH_TOTAL_TOKENS": "8192",
        "MAX_BATCH_PREFILL_TOKENS": "10000",
    }
    before = {
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {"Image": before_image, "Environment": before_env},
    }
    assert d.model.create_request["PrimaryContainer"] == before["PrimaryContainer"]
    assert d.model.name == naming.model_name(OWNER.namespace, OWNER.name, before)
    # The engine recorded in status holds too, whatever the default becomes.
    again = engines.pin(LLMEndpointSpec.model_validate(raw), {"engine": "tgi"})
    assert render(again, OWNER, hf_token=None).model.name == d.model.name


def test_inference_ami_version_goes_on_the_production_variant() -> None:
    d = go(ic_spec(instance={"inferenceAmiVersion": "al2023-ami-sagemaker-inference-gpu-4-1"}))
    (variant,) = d.endpoint_config.create_request["ProductionVariants"]
    assert variant["InferenceAmiVersion"] == "al2023-ami-sagemaker-inference-gpu-4-1"
    assert_valid_request(
        "CreateEndpointConfig", {**d.endpoint_config.create_request, "Tags": tag_list(d.tags)}
    )
    assert d.endpoint_config.name != go(ic_spec()).endpoint_config.name


def test_a_cluster_identity_is_tagged_and_names_differ_only_with_one() -> None:
    legacy = go(ic_spec())
    assert "llmoperator.io/cluster" not in legacy.tags  # as every earlier version tagged
    east = go(ic_spec(), owner=Owner(OWNER.namespace, OWNER.name, OWNER.uid, cluster="east"))
    assert east.tags["llmoperator.io/cluster"] == "east"
    assert east.endpoint_name != legacy.endpoint_name
    assert east.endpoint_name == naming.endpoint_name(OWNER.namespace, OWNER.name, "east")
    assert {c.name for c in east.components}.isdisjoint({c.name for c in legacy.components})
    assert east.model.name != legacy.model.name
