"""What the operator checks beyond the CRD, as structured problems."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from llm_operator.api.models import LLMEndpointSpec, ModelSpec
from llm_operator.core import engines, validation
from llm_operator.core.validation import Problem

ROLE = "arn:aws:iam::111122223333:role/SageMakerExecution"

SEED: dict[str, Any] = {
    "model": {"hfModelId": "mistralai/Mistral-7B-Instruct-v0.1"},
    "instance": {"type": "ml.g5.12xlarge", "count": 1, "minCount": 1, "maxCount": 2},
    "resources": {
        "copies": 4,
        "acceleratorsPerCopy": 1,
        "cpusPerCopy": 2,
        "memoryMiBPerCopy": 5120,
    },
    "aws": {"region": "us-east-1", "executionRoleArn": ROLE},
}


def spec(**changes: Any) -> LLMEndpointSpec:
    raw = copy.deepcopy(SEED)
    for section, value in changes.items():
        if isinstance(value, dict) and isinstance(raw.get(section), dict):
            raw[section] = {**raw[section], **value}
        elif value is None:
            raw.pop(section, None)
        else:
            raw[section] = value
    return LLMEndpointSpec.model_validate(raw)


def reasons(problems: list[Problem]) -> list[tuple[str, str]]:
    return [(p.severity, p.reason) for p in problems]


def test_the_seed_setup_has_no_problems() -> None:
    assert validation.validate(spec(), name="mistral-7b") == []


def test_parse_spec_returns_the_spec_when_valid() -> None:
    parsed, problems = validation.parse_spec(SEED)
    assert problems == [] and parsed is not None
    assert parsed.instance.type == "ml.g5.12xlarge"


def test_parse_spec_reports_schema_errors_without_values() -> None:
    raw = copy.deepcopy(SEED)
    raw["model"]["env"] = {"HF_TOKEN": "hf_leakedSECRET"}
    raw["resources"]["copies"] = -3
    parsed, problems = validation.parse_spec(raw)
    assert parsed is None
    assert {p.reason for p in problems} == {"InvalidSpec"}
    text = " ".join(p.message for p in problems)
    assert "spec.resources.copies" in text
    assert "spec.model" in text and "hfTokenSecretRef" in text
    assert "hf_leakedSECRET" not in text and "-3" not in text


def test_too_long_name() -> None:
    problems = validation.validate(spec(), name="x" * 37)
    assert reasons(problems) == [("error", "NameTooLong")]
    assert "at most 36" in problems[0].message


def test_unknown_size_of_a_known_family() -> None:
    problems = validation.validate(spec(instance={"type": "ml.g5.3xlarge"}))
    assert reasons(problems) == [("error", "UnknownInstanceType")]
    assert "ml.g5.12xlarge" in problems[0].message


def test_unknown_version_unless_an_image_is_given() -> None:
    version = validation.validate(spec(model={"engineVersion": "0.1"}))
    assert reasons(version) == [("error", "UnknownEngineVersion")]
    assert "0.30.0" in version[0].message
    tgi = validation.validate(spec(model={"tgiVersion": "0.1"}))
    assert ("error", "UnknownEngineVersion") in reasons(tgi)
    assert any("3.3.6" in p.message for p in tgi if p.reason == "UnknownEngineVersion")
    custom = spec(model={"image": "r/vllm:1", "engineVersion": "0.1"})
    assert validation.validate(custom) == []


def test_tgi_is_allowed_with_a_warning_that_it_is_archived() -> None:
    problems = validation.validate(spec(model={"engine": "tgi"}))
    assert reasons(problems) == [("warning", "EngineArchived")]
    assert "archived" in problems[0].message and "vllm" in problems[0].message


def test_settings_the_engine_cannot_express_are_errors_when_the_engine_comes_from_status() -> None:
    # engine unset: the CRD cannot tell; the operator knows the engine (pinned: vllm) and says so.
    s = spec(model={"maxInputTokens": 100})
    problems = validation.validate(s)
    assert reasons(problems) == [("error", "EngineUnsupportedSetting")]
    assert "engine vllm" in problems[0].message and "maxModelLength" in problems[0].message


def test_neuron_images_per_engine() -> None:
    inf2 = {"type": "ml.inf2.24xlarge", "minCount": None, "maxCount": None}
    for engine in ("lmi", "tgi"):
        found = reasons(validation.validate(spec(instance=inf2, model={"engine": engine})))
        assert ("error", "ImageRequired") not in found
    # An explicit engine without a Neuron image is refused with the spec (the CRD's rule).
    with pytest.raises(ValueError, match=r"model\.engine vllm has no AWS container"):
        spec(instance=inf2, model={"engine": "vllm"})


def test_inferentia_needs_a_neuron_image() -> None:
    """vLLM, the default engine, has no Neuron image in the operator's table."""
    inf2 = {"type": "ml.inf2.24xlarge", "minCount": None, "maxCount": None}
    problems = validation.validate(spec(instance=inf2))
    assert ("error", "ImageRequired") in reasons(problems)
    with_image = spec(instance=inf2, model={"image": "r/neuron-tgi:1"})
    assert validation.validate(with_image) == []


def test_cpu_instance_with_the_gpu_image_is_a_warning() -> None:
    cpu = spec(
        instance={"type": "ml.m5.2xlarge", "minCount": None, "maxCount": None},
        resources={"acceleratorsPerCopy": 0, "copies": 1},
    )
    assert reasons(validation.validate(cpu)) == [("warning", "ImageMismatch")]


@pytest.mark.parametrize(
    ("resources", "needle"),
    [
        ({"acceleratorsPerCopy": 8}, "needs 8 accelerators but ml.g5.12xlarge has 4"),
        ({"cpusPerCopy": 64}, "needs 64 vCPUs but ml.g5.12xlarge has 48"),
        ({"memoryMiBPerCopy": 300000}, "needs 300000 MiB but ml.g5.12xlarge has 196608 MiB"),
    ],
)
def test_a_copy_larger_than_one_instance(resources: dict[str, Any], needle: str) -> None:
    problems = validation.validate(spec(resources=resources))
    assert reasons(problems) == [("error", "CopyTooLarge")]
    assert needle in problems[0].message


def test_accelerators_on_a_cpu_instance() -> None:
    cpu = spec(
        instance={"type": "ml.c5.xlarge", "minCount": None, "maxCount": None},
        model={"image": "r/tgi-cpu:1"},
        resources={"copies": 1},
    )
    problems = validation.validate(cpu)
    assert reasons(problems) == [("error", "CopyTooLarge")]
    assert "ml.c5.xlarge has none" in problems[0].message


def test_copies_must_fit_the_pool_by_max_count() -> None:
    assert validation.validate(spec(resources={"copies": 8})) == []
    problems = validation.validate(spec(resources={"copies": 9}))
    assert reasons(problems) == [("error", "InsufficientCapacity")]
    assert "one ml.g5.12xlarge holds 4" in problems[0].message
    assert "instance.maxCount allows 2 instances, so at most 8" in problems[0].message


def test_copies_must_fit_the_pool_by_count_without_scaling() -> None:
    fixed = {"count": 1, "minCount": None, "maxCount": None}
    problems = validation.validate(spec(instance=fixed, resources={"copies": 5}))
    assert reasons(problems) == [("error", "InsufficientCapacity")]
    assert "instance.count allows 1 instance, so at most 4" in problems[0].message


def test_memory_or_cpus_can_be_what_limits_copies() -> None:
    # 48 vCPUs / 20 per copy = 2 copies per instance, though 4 GPUs are free.
    problems = validation.validate(spec(resources={"copies": 5, "cpusPerCopy": 20}))
    assert reasons(problems) == [("error", "InsufficientCapacity")]
    assert "holds 2" in problems[0].message


def test_copies_without_accelerators_on_a_gpu_instance_warn() -> None:
    problems = validation.validate(spec(resources={"acceleratorsPerCopy": 0, "copies": 1}))
    assert reasons(problems) == [("warning", "NoAccelerators")]


@pytest.mark.parametrize(
    ("model_id", "billions"),
    [
        ("mistralai/Mistral-7B-Instruct-v0.1", 7),
        ("meta-llama/Llama-2-70b-chat-hf", 70),
        ("meta-llama/Meta-Llama-3.1-8B-Instruct", 8),
        ("mistralai/Mixtral-8x7B-Instruct-v0.1", 56),
        ("Qwen/Qwen2.5-0.5B-Instruct", 0.5),
        ("google/gemma-3-270m-it", 0.27),
        ("openai-community/gpt2", None),
        ("tiiuae/falcon-40b", 40),
    ],
)
def test_parameter_count_from_the_model_id(model_id: str, billions: float | None) -> None:
    size = validation.parameters_billions(ModelSpec(hf_model_id=model_id))
    assert size == (pytest.approx(billions) if billions is not None else None)


def test_given_parameter_count_wins_over_the_id() -> None:
    m = ModelSpec(hf_model_id="org/model-7b", parameters_billions=13)
    assert validation.parameters_billions(m) == 13
    assert validation.parameters_billions(ModelSpec(artifact_uri="s3://bucket/m.tar.gz")) is None


def test_model_too_big_for_one_copy_is_a_warning() -> None:
    big = spec(model={"hfModelId": "meta-llama/Llama-2-70b-chat-hf"}, resources={"copies": 1})
    problems = validation.validate(big)
    assert reasons(problems) == [("warning", "ModelMayNotFit")]
    assert "about 70B parameters" in problems[0].message
    assert "140 GiB" in problems[0].message and "24 GiB" in problems[0].message
    four = spec(
        model={"hfModelId": "meta-llama/Llama-2-70b-chat-hf"},
        resources={"copies": 1, "acceleratorsPerCopy": 4},
    )
    assert reasons(validation.validate(four)) == [("warning", "ModelMayNotFit")]
    quantized = spec(
        model={"hfModelId": "meta-llama/Llama-2-70b-chat-hf", "quantize": "awq"},
        resources={"copies": 1, "acceleratorsPerCopy": 4},
    )
    assert validation.validate(quantized) == []


def test_model_endpoints_get_all_the_instance_gpus() -> None:
    model_endpoint = spec(
        endpointType="Model",
        model={"hfModelId": "tiiuae/falcon-40b"},
        instance={"type": "ml.g5.12xlarge", "count": 1, "minCount": None, "maxCount": None},
        resources=None,
    )
    # 80 GiB of weights fit in 4 x 24 GiB; an inference component with 1 GPU would not.
    assert validation.validate(model_endpoint) == []
    ic = spec(model={"hfModelId": "tiiuae/falcon-40b"}, resources={"copies": 1})
    assert reasons(validation.validate(ic)) == [("warning", "ModelMayNotFit")]


def test_env_overridden_by_typed_fields_is_a_warning() -> None:
    s = spec(model={"maxModelLength": 2048, "env": {"SM_VLLM_MAX_MODEL_LEN": "1", "OTHER": "x"}})
    problems = validation.validate(s)
    assert reasons(problems) == [("warning", "EnvOverridden")]
    assert "SM_VLLM_MAX_MODEL_LEN" in problems[0].message and "OTHER" not in problems[0].message


def test_errors_and_warnings_split() -> None:
    problems = [validation.error("A", "a"), validation.warning("B", "b")]
    assert validation.errors(problems) == [Problem("error", "A", "a")]
    assert validation.warnings(problems) == [Problem("warning", "B", "b")]


def test_autoscaling_max_replicas_must_fit_the_pool() -> None:
    fits = {"minReplicas": 1, "maxReplicas": 8, "target": 4}
    assert validation.validate(spec(autoscaling=fits)) == []
    problems = validation.validate(spec(autoscaling={**fits, "maxReplicas": 9}))
    assert reasons(problems) == [("error", "InsufficientCapacity")]
    assert "lower autoscaling.maxReplicas" in problems[0].message


def test_scale_to_zero_with_an_instance_floor_warns_that_instances_keep_costing() -> None:
    zero = {"minReplicas": 0, "maxReplicas": 4, "target": 4}
    problems = validation.validate(spec(autoscaling=zero))
    assert reasons(problems) == [("warning", "InstancesKeepCosting")]
    assert "instance.minCount is 1" in problems[0].message
    assert validation.validate(spec(autoscaling=zero, instance={"minCount": 0})) == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"autoscaling": {"minReplicas": 3, "maxReplicas": 2, "target": 4}},
            "autoscaling.minReplicas must not be greater than autoscaling.maxReplicas",
        ),
        (
            {
                "endpointType": "Model",
                "resources": None,
                "instance": {"minCount": None, "maxCount": None},
                "autoscaling": {"minReplicas": 0, "maxReplicas": 2, "target": 4},
            },
            "needs endpointType InferenceComponent (or Async): SageMaker scales only inference",
        ),
    ],
)
def test_autoscaling_rules_mirror_the_cel_messages(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        spec(**changes)


def test_tgi_settings_on_a_new_object_without_engine_say_what_to_set() -> None:
    """vLLM is the default for new objects; `engine: tgi` keeps the settings; the advice
    for maxInputTokens is docs/engines.md's (drop it: the context bounds the prompt)."""
    raw = spec(model={"maxInputTokens": 1024, "maxBatchTotalTokens": 8192})
    why = engines.chosen_because(raw.model, None)
    problems = validation.validate(engines.pin(raw, None), engine_why=why)
    found = {p.message.split(" ", 1)[0]: p.message for p in problems if p.severity == "error"}
    tokens = found["model.maxInputTokens"]
    assert "vllm is the default for new objects" in tokens
    assert "set model.engine: tgi to keep it" in tokens
    assert "remove it (the engine bounds the prompt by the context" in tokens
    assert "use model.maxModelLength" not in tokens
    assert "model.engine: tgi" in found["model.maxBatchTotalTokens"]
    assert all(p.reason == "EngineUnsupportedSetting" for p in problems if p.severity == "error")


def test_an_engine_recorded_in_status_is_named_as_such() -> None:
    raw = spec(model={"maxInputTokens": 1024})
    status = {"engine": "sglang", "modelName": "m"}
    why = engines.chosen_because(raw.model, status)
    problems = validation.validate(engines.pin(raw, status), engine_why=why)
    assert any("status.engine records sglang" in p.message for p in problems)
