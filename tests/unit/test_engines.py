"""Each serving engine's container environment, built from the typed fields."""

from __future__ import annotations

from typing import Any

import pytest

from llm_operator.api.engines import ENGINES, SETTINGS, engines_supporting
from llm_operator.api.models import ModelSpec
from llm_operator.core import engines


def model(**fields: Any) -> ModelSpec:
    """A TGI model (the tests below were TGI's first); other engines pass engine=."""
    fields.setdefault("engine", "tgi")
    return ModelSpec.model_validate({"hfModelId": "mistralai/Mistral-7B-Instruct-v0.1", **fields})


def test_typed_fields_become_tgi_variables() -> None:
    m = model(
        revision="v0.1",
        quantize="bitsandbytes",
        maxInputTokens=4095,
        maxTotalTokens=4096,
        maxBatchTotalTokens=8192,
        maxBatchPrefillTokens=10000,
    )
    assert engines.environment(m, num_gpus=4, hf_token=None) == {
        "HF_MODEL_ID": "mistralai/Mistral-7B-Instruct-v0.1",
        "HF_MODEL_REVISION": "v0.1",
        "SM_NUM_GPUS": "4",
        "MAX_INPUT_TOKENS": "4095",
        "MAX_TOTAL_TOKENS": "4096",
        "MAX_BATCH_TOTAL_TOKENS": "8192",
        "MAX_BATCH_PREFILL_TOKENS": "10000",
        "HF_MODEL_QUANTIZE": "bitsandbytes",
    }


def test_unset_fields_are_left_to_tgi_defaults() -> None:
    assert engines.environment(model(), num_gpus=1, hf_token=None) == {
        "HF_MODEL_ID": "mistralai/Mistral-7B-Instruct-v0.1",
        "SM_NUM_GPUS": "1",
    }


def test_quantize_none_sets_nothing() -> None:
    env = engines.environment(model(quantize="none"), num_gpus=1, hf_token=None)
    assert "HF_MODEL_QUANTIZE" not in env


def test_no_gpus_leaves_sm_num_gpus_out() -> None:
    assert "SM_NUM_GPUS" not in engines.environment(model(), num_gpus=0, hf_token=None)


def test_artifact_models_load_from_the_model_directory() -> None:
    m = ModelSpec.model_validate(
        {"artifactUri": "s3://bucket/model.tar.gz", "revision": "x", "engine": "tgi"}
    )
    env = engines.environment(m, num_gpus=1, hf_token=None)
    assert env["HF_MODEL_ID"] == "/opt/ml/model"
    assert "HF_MODEL_REVISION" not in env


def test_token_only_when_given() -> None:
    assert engines.environment(model(), num_gpus=1, hf_token="hf_abc")["HF_TOKEN"] == "hf_abc"
    assert "HF_TOKEN" not in engines.environment(model(), num_gpus=1, hf_token="")


def test_extra_env_is_kept_and_typed_fields_win() -> None:
    m = model(
        maxTotalTokens=2048,
        env={"MAX_CONCURRENT_REQUESTS": "64", "MAX_TOTAL_TOKENS": "1", "SM_NUM_GPUS": "8"},
    )
    env = engines.environment(m, num_gpus=2, hf_token=None)
    assert env["MAX_CONCURRENT_REQUESTS"] == "64"
    assert env["MAX_TOTAL_TOKENS"] == "2048"
    assert env["SM_NUM_GPUS"] == "2"
    assert engines.overridden_keys(m, num_gpus=2) == ["MAX_TOTAL_TOKENS", "SM_NUM_GPUS"]


def test_env_may_set_what_no_typed_field_sets() -> None:
    m = model(env={"MAX_TOTAL_TOKENS": "4096"})
    assert engines.environment(m, num_gpus=1, hf_token=None)["MAX_TOTAL_TOKENS"] == "4096"
    assert engines.overridden_keys(m, num_gpus=1) == []


def test_legacy_max_input_length_gives_way_to_max_input_tokens() -> None:
    m = model(maxInputTokens=1000, env={"MAX_INPUT_LENGTH": "500"})
    env = engines.environment(m, num_gpus=1, hf_token=None)
    assert "MAX_INPUT_LENGTH" not in env and env["MAX_INPUT_TOKENS"] == "1000"
    assert engines.overridden_keys(m, num_gpus=1) == ["MAX_INPUT_LENGTH"]
    legacy_only = model(env={"MAX_INPUT_LENGTH": "500"})
    assert engines.environment(legacy_only, num_gpus=1, hf_token=None)["MAX_INPUT_LENGTH"] == "500"


NEUTRAL = {
    "revision": "v0.1",
    "maxModelLength": 8192,
    "maxConcurrentRequests": 32,
    "quantize": "awq",
    "dtype": "bfloat16",
    "trustRemoteCode": True,
    "maxLoraRank": 64,
}


def test_vllm_reads_its_sm_vllm_flags() -> None:
    env = engines.environment(
        model(engine="vllm", **NEUTRAL), num_gpus=2, hf_token="hf_x", adapters=2
    )
    assert env == {
        "SM_VLLM_MODEL": "mistralai/Mistral-7B-Instruct-v0.1",
        "SM_VLLM_REVISION": "v0.1",
        "SM_VLLM_TENSOR_PARALLEL_SIZE": "2",
        "SM_VLLM_MAX_MODEL_LEN": "8192",
        "SM_VLLM_MAX_NUM_SEQS": "32",
        "SM_VLLM_QUANTIZATION": "awq",
        "SM_VLLM_DTYPE": "bfloat16",
        "SM_VLLM_TRUST_REMOTE_CODE": "true",
        "HF_TOKEN": "hf_x",
        "SM_VLLM_ENABLE_LORA": "true",
        "SM_VLLM_MAX_LORAS": "2",
        "SM_VLLM_MAX_LORA_RANK": "64",
    }


def test_sglang_reads_its_sm_sglang_flags() -> None:
    env = engines.environment(model(engine="sglang", **NEUTRAL), num_gpus=4, hf_token=None)
    assert env == {
        "SM_SGLANG_MODEL_PATH": "mistralai/Mistral-7B-Instruct-v0.1",
        "SM_SGLANG_REVISION": "v0.1",
        "SM_SGLANG_TP_SIZE": "4",
        "SM_SGLANG_CONTEXT_LENGTH": "8192",
        "SM_SGLANG_MAX_RUNNING_REQUESTS": "32",
        "SM_SGLANG_QUANTIZATION": "awq",
        "SM_SGLANG_DTYPE": "bfloat16",
        "SM_SGLANG_TRUST_REMOTE_CODE": "true",
    }


def test_lmi_reads_option_variables_and_runs_its_vllm_backend() -> None:
    env = engines.environment(model(engine="lmi", **NEUTRAL), num_gpus=1, hf_token=None, adapters=1)
    assert env == {
        "OPTION_ROLLING_BATCH": "vllm",
        "HF_MODEL_ID": "mistralai/Mistral-7B-Instruct-v0.1",
        "OPTION_REVISION": "v0.1",
        "OPTION_TENSOR_PARALLEL_DEGREE": "1",
        "OPTION_MAX_MODEL_LEN": "8192",
        "OPTION_MAX_ROLLING_BATCH_SIZE": "32",
        "OPTION_QUANTIZE": "awq",
        "OPTION_DTYPE": "bf16",
        "OPTION_TRUST_REMOTE_CODE": "true",
        "OPTION_ENABLE_LORA": "true",
        "OPTION_MAX_LORAS": "1",
        "OPTION_MAX_LORA_RANK": "64",
    }


def test_tgi_reads_the_neutral_settings_under_its_own_names() -> None:
    fields = {k: v for k, v in NEUTRAL.items() if k != "maxLoraRank"}
    env = engines.environment(model(engine="tgi", **fields), num_gpus=2, hf_token=None)
    assert env == {
        "HF_MODEL_ID": "mistralai/Mistral-7B-Instruct-v0.1",
        "HF_MODEL_REVISION": "v0.1",
        "SM_NUM_GPUS": "2",
        "MAX_TOTAL_TOKENS": "8192",
        "MAX_CONCURRENT_REQUESTS": "32",
        "HF_MODEL_QUANTIZE": "awq",
        "DTYPE": "bfloat16",
        "HF_MODEL_TRUST_REMOTE_CODE": "true",
    }


@pytest.mark.parametrize("engine", engines_supporting("tensorParallelDegree"))
def test_tensor_parallel_degree_overrides_the_copy_s_accelerators(engine: str) -> None:
    variable = next(s for s in SETTINGS if s.name == "tensorParallelDegree").variables
    env = engines.environment(
        model(engine=engine, tensorParallelDegree=2), num_gpus=4, hf_token=None
    )
    assert env[str(variable[engine])] == "2"  # type: ignore[index]


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_loads_artifacts_from_the_model_directory(engine: str) -> None:
    m = ModelSpec.model_validate({"artifactUri": "s3://bucket/model/", "engine": engine})
    env = engines.environment(m, num_gpus=1, hf_token=None)
    assert "/opt/ml/model" in env.values()


def test_settings_an_engine_cannot_express_are_refused_naming_the_engine() -> None:
    with pytest.raises(ValueError, match="maxInputTokens cannot be expressed by engine vllm"):
        model(engine="vllm", maxInputTokens=10)
    with pytest.raises(ValueError, match="quantize eetq is not supported by engine sglang"):
        model(engine="sglang", quantize="eetq")
    with pytest.raises(ValueError, match="maxLoraRank cannot be expressed by engine tgi"):
        model(engine="tgi", maxLoraRank=8)
    with pytest.raises(ValueError, match="tgiVersion"):
        model(engine="vllm", tgiVersion="3.3")


def test_unset_engine_keeps_the_recorded_one_and_old_objects_stay_on_tgi() -> None:
    unset = ModelSpec.model_validate({"hfModelId": "org/m"})
    assert engines.effective(unset, None) == "vllm"  # a new object
    assert engines.effective(unset, {}) == "vllm"
    assert engines.effective(unset, {"engine": "sglang", "modelName": "x"}) == "sglang"
    # Reconciled by an operator before engines: it rendered TGI, so TGI it stays.
    assert engines.effective(unset, {"modelName": "llme-ns-name-0123456789"}) == "tgi"
    assert engines.effective(unset.model_copy(update={"tgi_version": "3.3"}), None) == "tgi"
    explicit = ModelSpec.model_validate({"hfModelId": "org/m", "engine": "lmi"})
    assert engines.effective(explicit, {"engine": "tgi", "modelName": "x"}) == "lmi"
