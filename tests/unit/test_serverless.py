"""Serverless endpoints and engine tei, as the operator renders, checks, plans and reports
them (no I/O: the spec is parsed, rendered and planned in memory)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from llm_operator.api.models import LLMEndpointSpec
from llm_operator.core import adoption, desired, invocation, policy, validation
from llm_operator.core.actions import CreateEndpoint, CreateEndpointConfig, CreateModel
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import ObservedState
from llm_operator.core.planner import plan
from llm_operator.core.status import build_status
from tests.unit.planner_factory import UID, running
from tests.unit.test_argocd_health import health

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
OWNER = desired.Owner("search", "embed", UID)


def serverless(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "model": {"engine": "tei", "hfModelId": "BAAI/bge-small-en-v1.5"},
        "endpointType": "Serverless",
        "serverless": {"memoryMiB": 2048, "maxConcurrency": 10},
        "aws": {"region": "us-east-1", "executionRoleArn": ROLE},
    }
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        else:
            spec[key] = value
    return spec


def parse(raw: dict[str, Any]) -> LLMEndpointSpec:
    return LLMEndpointSpec.model_validate(raw)


def test_serverless_renders_one_model_variant_with_its_config_and_the_cpu_image() -> None:
    spec = parse(serverless(serverless={"provisionedConcurrency": 2}))
    want = desired.render(spec, OWNER, hf_token=None)
    (variant,) = want.endpoint_config.create_request["ProductionVariants"]
    assert variant == {
        "VariantName": "AllTraffic",
        "ModelName": want.model.name,
        "ServerlessConfig": {
            "MemorySizeInMB": 2048,
            "MaxConcurrency": 10,
            "ProvisionedConcurrency": 2,
        },
    }
    assert "ExecutionRoleArn" not in want.endpoint_config.create_request
    container = want.model.create_request["PrimaryContainer"]
    assert "/tei-cpu:" in container["Image"]
    assert container["Environment"] == {"HF_MODEL_ID": "BAAI/bge-small-en-v1.5"}
    assert want.components == () and want.scaling is None


def test_a_memory_change_is_a_new_endpoint_config() -> None:
    small = desired.render(parse(serverless()), OWNER, hf_token=None)
    big = desired.render(parse(serverless(serverless={"memoryMiB": 4096})), OWNER, hf_token=None)
    assert small.endpoint_config.name != big.endpoint_config.name
    assert small.model.name == big.model.name


def test_tei_on_a_gpu_inference_component_takes_the_gpu_image_and_its_settings() -> None:
    raw = serverless(endpointType="InferenceComponent", instance={"type": "ml.g5.xlarge"})
    del raw["serverless"]
    raw["model"].update(maxBatchTokens=16384, pooling="mean", autoTruncate=True)
    want = desired.render(parse(raw), OWNER, hf_token="hf_secret")
    container = want.model.create_request["PrimaryContainer"]
    assert "/tei:" in container["Image"] and "-gpu-" in container["Image"]
    assert container["Environment"] == {
        "HF_MODEL_ID": "BAAI/bge-small-en-v1.5",
        "MAX_BATCH_TOKENS": "16384",
        "POOLING": "mean",
        "AUTO_TRUNCATE": "true",
        "HF_TOKEN": "hf_secret",
    }
    assert "SM_NUM_GPUS" not in container["Environment"]  # TEI has no tensor parallelism


def test_plan_creates_model_config_and_endpoint_then_settles() -> None:
    want = desired.render(parse(serverless()), OWNER, hf_token=None)
    first = plan(
        want, ObservedState(), deleting=False, deletion_policy="Delete", memory=PlanMemory()
    )
    assert [type(a) for a in first.actions] == [CreateModel, CreateEndpointConfig, CreateEndpoint]
    settled = plan(
        want, running(want), deleting=False, deletion_policy="Delete", memory=PlanMemory()
    )
    assert settled.actions == () and settled.settled
    assert settled.phase == "InService" and settled.ready.status


def test_status_shows_the_serverless_config_and_says_it_is_billed_per_use() -> None:
    want = desired.render(parse(serverless()), OWNER, hf_token=None)
    observed = running(want)
    assert observed.endpoint is not None
    serving = {"MemorySizeInMB": 1024, "MaxConcurrency": 10}  # still the former config
    observed = replace(observed, endpoint=replace(observed.endpoint, serverless=serving))
    result = plan(want, observed, deleting=False, deletion_policy="Delete", memory=PlanMemory())
    status = build_status(
        desired=want,
        observed=observed,
        plan=result,
        generation=1,
        previous=None,
        now=datetime(2026, 12, 1, tzinfo=UTC),
        hourly_usd_per_instance=None,
    )
    assert status["serverless"]["memoryMiB"] == 2048
    assert status["serverless"]["maxConcurrency"] == 10
    assert "per use" in status["serverless"]["billing"]
    assert status["serverless"]["current"] == {"memoryMiB": 1024, "maxConcurrency": 10}
    assert status["estimatedHourlyCostUSD"] is None and status["instances"] is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"model": {"engine": "vllm"}}, "endpointType Serverless runs on CPUs only"),
        ({"serverless": {"memoryMiB": 3000}}, "must be one of 1024, 2048, 3072"),
        ({"serverless": {"provisionedConcurrency": 11}}, "must not exceed serverless.max"),
        ({"instance": {"type": "ml.c5.xlarge"}}, "not on instances"),
        ({"model": {"parametersBillions": 7}}, "no serverless memory size holds it"),
        ({"model": {"parametersBillions": 1.5}}, "raise serverless.memoryMiB to 3072"),
        ({"rollout": {"strategy": "Rolling"}}, "rolling deployments"),
    ],
)
def test_the_operator_refuses_what_the_crd_refuses(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse(serverless(**changes))


def test_a_model_id_too_large_for_the_memory_is_an_error_naming_what_fits() -> None:
    spec = parse(serverless(model={"hfModelId": "Qwen/Qwen3-Embedding-4B"}))
    (problem,) = validation.errors(validation.validate(spec))
    assert problem.reason == "ModelTooLarge"
    assert "about 4B parameters" in problem.message
    assert "no serverless memory size holds it" in problem.message
    fits = parse(serverless(model={"hfModelId": "Qwen/Qwen3-Embedding-0.6B"}))
    assert validation.errors(validation.validate(fits)) == []


def test_tei_settings_are_refused_on_other_engines_and_the_reverse() -> None:
    raw = serverless(endpointType="Model", instance={"type": "ml.g5.xlarge"})
    del raw["serverless"]
    raw["model"] = {"engine": "vllm", "hfModelId": "org/m-7b", "pooling": "cls"}
    with pytest.raises(ValidationError, match=r"model\.pooling cannot be expressed by engine vllm"):
        parse(raw)
    raw["model"] = {"engine": "tei", "hfModelId": "org/m", "trustRemoteCode": True}
    with pytest.raises(ValidationError, match="trustRemoteCode cannot be expressed by engine tei"):
        parse(raw)


def test_invoke_builds_tei_bodies_and_reads_its_answers() -> None:
    assert json.loads(invocation.embed_request(["a"])) == {"inputs": "a"}
    assert json.loads(invocation.embed_request(["a", "b"])) == {"inputs": ["a", "b"]}
    assert json.loads(invocation.rerank_request("q", ["x"])) == {"query": "q", "texts": ["x"]}
    vectors = invocation.decode_embeddings(b"[[0.5, -0.25, 0.125, 0, 1, 2]]")
    assert invocation.describe_vector(vectors[0]) == (
        "6 dimensions: [0.5000, -0.2500, 0.1250, 0.0000, 1.0000, ...]"
    )
    assert invocation.decode_scores(b'[{"index": 1, "score": 0.9}]') == [(1, 0.9)]
    with pytest.raises(invocation.AnswerError):
        invocation.decode_embeddings(b'[{"generated_text": "hi"}]')


def test_a_serverless_endpoint_counts_in_a_budget_at_no_hourly_cost() -> None:
    spec = parse(serverless())
    cost, what = policy.endpoint_ceiling(spec, "search")
    assert cost == Decimal(0) and what == "serverless 2048 MiB (billed per use)"
    running_one = {
        "kind": "LLMEndpoint",
        "metadata": {"name": "embed"},
        "spec": serverless(),
        "status": {"endpointName": "search-embed"},
    }
    assert policy.usage_of(running_one) == policy.Usage("embed", Decimal(0), Decimal(0))


def test_adoption_takes_a_serverless_endpoint_only_as_serverless() -> None:
    variants = [
        {
            "VariantName": "AllTraffic",
            "ModelName": "m",
            "ServerlessConfig": {"MemorySizeInMB": 1024},
        }
    ]
    adoption.check_type("ep", variants, "Serverless")
    with pytest.raises(
        adoption.AdoptionError, match=r"ep is serverless .* spec\.endpointType: Serverless"
    ):
        adoption.check_type("ep", variants, "Model")


def test_argo_cd_reads_a_running_serverless_endpoint_as_healthy() -> None:
    want = desired.render(parse(serverless()), OWNER, hf_token=None)
    observed = running(want)
    result = plan(want, observed, deleting=False, deletion_policy="Delete", memory=PlanMemory())
    status = build_status(
        desired=want,
        observed=observed,
        plan=result,
        generation=1,
        previous=None,
        now=datetime(2026, 12, 1, tzinfo=UTC),
        hourly_usd_per_instance=None,
    )
    live = {"metadata": {"name": "embed", "generation": 1}, "spec": serverless()}
    stored = {k: v for k, v in status.items() if v is not None}  # the API server drops nulls
    assert health({**live, "status": stored})["status"] == "Healthy"
