"""examples/*.yaml: the seeds' setups as LLMEndpoints, valid for the CRD, the API
server (schema, CEL rules, strict field validation) and the operator's own models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from llm_operator.api import catalog, engines
from llm_operator.api.models import LLMEndpointSpec
from local_cluster.cluster import LocalCluster

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
CRD = REPO / "crds" / "llmendpoints.yaml"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
NAMES = [
    "mistral-7b-inference-components.yaml",
    "model-based-endpoint.yaml",
    "s3-model-in-vpc.yaml",
    "gated-model-with-token.yaml",
    "lora-adapters.yaml",
    "sglang-qwen.yaml",
    "lmi-llama-tensor-parallel.yaml",
    "tgi-pinned-version.yaml",
    "autoscaling-scale-to-zero.yaml",
    "canary-with-auto-rollback.yaml",
    "serverless-tei.yaml",
    "tei-reranker-inference-component.yaml",
    "async-llm.yaml",
    "vllm-prefix-aware-routing.yaml",
]
ENGINE_EXAMPLES = {
    "vllm": "mistral-7b-inference-components.yaml",
    "sglang": "sglang-qwen.yaml",
    "lmi": "lmi-llama-tensor-parallel.yaml",
    "tgi": "tgi-pinned-version.yaml",
    "tei": "serverless-tei.yaml",
}


def documents(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((EXAMPLES / name).read_text()) if doc]


def endpoint(name: str) -> dict[str, Any]:
    (found,) = [doc for doc in documents(name) if doc["kind"] == "LLMEndpoint"]
    return found


def closed(schema: Any) -> Any:
    """The CRD schema with unknown fields rejected, as `kubectl --validate=strict` does."""
    if isinstance(schema, dict):
        schema = {key: closed(value) for key, value in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    return schema


@pytest.fixture(scope="module")
def crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load(CRD.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    return dict(closed(version["schema"]["openAPIV3Schema"]))


def test_every_example_is_listed() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.yaml")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_example_matches_the_crd_schema(name: str, crd_schema: dict[str, Any]) -> None:
    obj = endpoint(name)
    assert obj["apiVersion"] == "llmoperator.io/v1alpha1"
    assert "namespace" not in obj["metadata"]  # applies into any namespace
    jsonschema.Draft4Validator(crd_schema).validate(obj)  # OpenAPI v3.0 is draft-4 based
    LLMEndpointSpec.model_validate(obj["spec"])  # the operator's own validation
    assert obj["spec"]["aws"]["executionRoleArn"] == ROLE
    assert obj["spec"]["aws"]["region"] == "us-east-1"


def test_mistral_runs_four_single_gpu_copies_on_one_g5_12xlarge() -> None:
    spec = endpoint("mistral-7b-inference-components.yaml")["spec"]
    assert spec["model"]["hfModelId"] == "mistralai/Mistral-7B-Instruct-v0.1"
    assert spec["endpointType"] == "InferenceComponent"
    assert spec["instance"]["type"] == "ml.g5.12xlarge"
    assert spec["resources"]["copies"] == 4
    assert spec["resources"]["acceleratorsPerCopy"] == 1
    instance = catalog.instance_type("ml.g5.12xlarge")
    assert instance is not None
    per_instance = instance.accelerators // spec["resources"]["acceleratorsPerCopy"]
    assert spec["resources"]["copies"] <= per_instance * spec["instance"]["count"]


def test_model_based_and_vpc_examples_use_classic_variants() -> None:
    assert endpoint("model-based-endpoint.yaml")["spec"]["endpointType"] == "Model"
    spec = endpoint("s3-model-in-vpc.yaml")["spec"]
    assert spec["model"]["artifactUri"].startswith("s3://")
    assert "hfModelId" not in spec["model"]
    assert spec["aws"]["vpc"]["subnets"] and spec["aws"]["vpc"]["securityGroupIds"]


def test_gated_model_reads_its_token_from_the_secret_in_the_same_file() -> None:
    (secret,) = [d for d in documents("gated-model-with-token.yaml") if d["kind"] == "Secret"]
    ref = endpoint("gated-model-with-token.yaml")["spec"]["model"]["hfTokenSecretRef"]
    assert ref["name"] == secret["metadata"]["name"]
    assert ref["key"] in secret["stringData"]
    text = (EXAMPLES / "gated-model-with-token.yaml").read_text()
    assert text.count(secret["stringData"][ref["key"]]) == 1  # only in the Secret


@pytest.mark.parametrize("engine", sorted(ENGINE_EXAMPLES))
def test_one_example_per_engine_names_its_engine(engine: str) -> None:
    spec = endpoint(ENGINE_EXAMPLES[engine])["spec"]
    assert spec["model"]["engine"] == engine


def test_examples_without_an_engine_use_only_settings_the_default_engine_expresses() -> None:
    for name in NAMES:
        model = LLMEndpointSpec.model_validate(endpoint(name)["spec"]).model
        if model.engine is None:
            assert engines.unsupported(engines.DEFAULT_ENGINE, model.settings()) == []


def test_lora_example_has_two_adapters_on_an_inference_component_base() -> None:
    spec = endpoint("lora-adapters.yaml")["spec"]
    assert spec["endpointType"] == "InferenceComponent"
    assert len(spec["adapters"]) == 2
    assert all(a["artifactUri"].startswith("s3://") for a in spec["adapters"])


@pytest.mark.e2e
@pytest.mark.parametrize("name", NAMES)
def test_api_server_accepts_the_example(name: str, cluster: LocalCluster, namespace: str) -> None:
    result = cluster.kubectl(
        "apply",
        "--dry-run=server",
        "--validate=strict",
        "-n",
        namespace,
        "-f",
        str(EXAMPLES / name),
    )
    assert f"llmendpoint.llmoperator.io/{endpoint(name)['metadata']['name']} created" in (
        result.stdout
    )


def test_autoscaling_example_scales_copies_and_instances_to_zero() -> None:
    spec = endpoint("autoscaling-scale-to-zero.yaml")["spec"]
    assert spec["endpointType"] == "InferenceComponent"
    assert spec["autoscaling"]["minReplicas"] == 0
    assert spec["instance"]["minCount"] == 0  # the instances follow the copies down
    assert spec["resources"]["copies"] <= spec["autoscaling"]["maxReplicas"]


def test_canary_example_rolls_back_on_the_operator_s_own_alarms() -> None:
    spec = endpoint("canary-with-auto-rollback.yaml")["spec"]
    assert spec["endpointType"] == "Model"
    assert spec["rollout"]["strategy"] == "Canary"
    assert set(spec["rollout"]["autoRollback"]) == {"maxErrorRatePercent", "maxP99LatencyMs"}
    assert spec["autoscaling"]["minReplicas"] >= 1  # Model endpoints do not scale to zero
