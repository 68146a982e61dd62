"""The TGI container environment built from the typed fields."""

from __future__ import annotations

from typing import Any

from llm_operator.api.models import ModelSpec
from llm_operator.core import tgi


def model(**fields: Any) -> ModelSpec:
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
    assert tgi.environment(m, num_gpus=4, hf_token=None) == {
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
    assert tgi.environment(model(), num_gpus=1, hf_token=None) == {
        "HF_MODEL_ID": "mistralai/Mistral-7B-Instruct-v0.1",
        "SM_NUM_GPUS": "1",
    }


def test_quantize_none_sets_nothing() -> None:
    env = tgi.environment(model(quantize="none"), num_gpus=1, hf_token=None)
    assert "HF_MODEL_QUANTIZE" not in env


def test_no_gpus_leaves_sm_num_gpus_out() -> None:
    assert "SM_NUM_GPUS" not in tgi.environment(model(), num_gpus=0, hf_token=None)


def test_artifact_models_load_from_the_model_directory() -> None:
    m = ModelSpec.model_validate({"artifactUri": "s3://bucket/model.tar.gz", "revision": "x"})
    env = tgi.environment(m, num_gpus=1, hf_token=None)
    assert env["HF_MODEL_ID"] == "/opt/ml/model"
    assert "HF_MODEL_REVISION" not in env


def test_token_only_when_given() -> None:
    assert tgi.environment(model(), num_gpus=1, hf_token="hf_abc")["HF_TOKEN"] == "hf_abc"
    assert "HF_TOKEN" not in tgi.environment(model(), num_gpus=1, hf_token="")


def test_extra_env_is_kept_and_typed_fields_win() -> None:
    m = model(
        maxTotalTokens=2048,
        env={"MAX_CONCURRENT_REQUESTS": "64", "MAX_TOTAL_TOKENS": "1", "SM_NUM_GPUS": "8"},
    )
    env = tgi.environment(m, num_gpus=2, hf_token=None)
    assert env["MAX_CONCURRENT_REQUESTS"] == "64"
    assert env["MAX_TOTAL_TOKENS"] == "2048"
    assert env["SM_NUM_GPUS"] == "2"
    assert tgi.overridden_keys(m, num_gpus=2) == ["MAX_TOTAL_TOKENS", "SM_NUM_GPUS"]


def test_env_may_set_what_no_typed_field_sets() -> None:
    m = model(env={"MAX_TOTAL_TOKENS": "4096"})
    assert tgi.environment(m, num_gpus=1, hf_token=None)["MAX_TOTAL_TOKENS"] == "4096"
    assert tgi.overridden_keys(m, num_gpus=1) == []


def test_legacy_max_input_length_gives_way_to_max_input_tokens() -> None:
    m = model(maxInputTokens=1000, env={"MAX_INPUT_LENGTH": "500"})
    env = tgi.environment(m, num_gpus=1, hf_token=None)
    assert "MAX_INPUT_LENGTH" not in env and env["MAX_INPUT_TOKENS"] == "1000"
    assert tgi.overridden_keys(m, num_gpus=1) == ["MAX_INPUT_LENGTH"]
    legacy_only = model(env={"MAX_INPUT_LENGTH": "500"})
    assert tgi.environment(legacy_only, num_gpus=1, hf_token=None)["MAX_INPUT_LENGTH"] == "500"
