"""The real operator (subprocess) against a real kube-apiserver and the SageMaker emulator.

Each test applies resources with the real kubectl, waits for conditions the
user would watch, and checks SageMaker through boto3 and the emulator's admin
API: what exists, and how many Create calls were made.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from local_cluster.waiting import wait_for
from tests.plugins.operator_fixtures import SageMakerEmulator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
UID_TAG = "llmoperator.io/uid"


def example(name: str, **overrides: Any) -> dict[str, Any]:
    """The LLMEndpoint of an example file, with spec overrides merged one level deep."""
    docs = [d for d in yaml.safe_load_all((EXAMPLES / name).read_text()) if d]
    resource: dict[str, Any] = next(d for d in docs if d["kind"] == "LLMEndpoint")
    for key, value in overrides.items():
        if isinstance(value, dict):
            resource["spec"].setdefault(key, {}).update(value)
        else:
            resource["spec"][key] = value
    return resource


def apply(kubectl: Any, resource: dict[str, Any]) -> None:
    kubectl.apply(json.dumps(resource))


def get(kubectl: Any, name: str) -> dict[str, Any] | None:
    result = kubectl("get", "llmendpoint", name, "-o", "json", check=False)
    if result.returncode != 0:
        return None
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    for c in (obj or {}).get("status", {}).get("conditions", []):
        if c.get("type") == kind:
            return dict(c)
    return None


def wait_ready(kubectl: Any, name: str, timeout: float = 90.0) -> dict[str, Any]:
    """Waits until Ready is True for the current generation."""

    def ready() -> dict[str, Any] | None:
        obj = get(kubectl, name)
        c = condition(obj, "Ready")
        if obj is None or c is None or c["status"] != "True":
            return None
        return obj if c.get("observedGeneration") == obj["metadata"]["generation"] else None

    return wait_for(ready, what=f"{name} to be Ready", timeout=timeout)


def events(kubectl: Any, name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = kubectl.json(
        "get", "events", "--field-selector", f"involvedObject.name={name}"
    )["items"]
    return items


def event_reasons(kubectl: Any, name: str) -> set[str]:
    return {e["reason"] for e in events(kubectl, name)}


def create_calls(emulated_sagemaker: SageMakerEmulator) -> dict[str, int]:
    return {k: v for k, v in emulated_sagemaker.admin.calls().items() if k.startswith("Create")}


def test_inference_component_endpoint_becomes_ready_with_every_status_field(
    kubectl: Any, run_operator: Any, emulated_sagemaker: SageMakerEmulator
) -> None:
    op = run_operator()
    apply(kubectl, example("mistral-7b-inference-components.yaml"))
    obj = wait_ready(kubectl, "mistral-7b")
    status = obj["status"]
    # What the operator created itself it knows to be its own: no tags read back.
    assert "ListTags" not in emulated_sagemaker.admin.calls()

    assert status["phase"] == "InService"
    assert status["observedGeneration"] == obj["metadata"]["generation"]
    assert status["sagemakerStatus"] == "InService"
    assert status["copies"] == {"desired": 4, "current": 4}
    assert status["instances"]["desired"] >= 1 and status["instances"]["current"] >= 1
    assert status["estimatedHourlyCostUSD"] == "7.09"
    endpoint = status["endpointName"]
    assert status["invocationUrl"] == (
        f"https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/{endpoint}/invocations"
    )
    assert status["endpointArn"].endswith(f":endpoint/{endpoint.lower()}")
    assert [c["status"] for c in status["inferenceComponents"]] == ["InService"]
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {"Ready": "True", "Progressing": "False", "Degraded": "False"}
    for key in ("endpointConfigName", "modelName", "modelSource"):
        assert status[key], key

    # SageMaker holds exactly what the status names, tagged with the owner's uid.
    sm = emulated_sagemaker.client()
    described = sm.describe_endpoint(EndpointName=endpoint)
    assert described["EndpointConfigName"] == status["endpointConfigName"]
    component = sm.describe_inference_component(
        InferenceComponentName=status["inferenceComponents"][0]["name"]
    )
    assert component["Specification"]["ModelName"] == status["modelName"]
    assert component["RuntimeConfig"]["CurrentCopyCount"] == 4
    tags = {
        t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=described["EndpointArn"])["Tags"]
    }
    assert tags[UID_TAG] == obj["metadata"]["uid"]

    # One Event per AWS action; kopf's bookkeeping in status, none in annotations.
    assert {"CreateModel", "CreateEndpointConfig", "CreateEndpoint"} <= event_reasons(
        kubectl, "mistral-7b"
    )
    assert "CreateInferenceComponent" in event_reasons(kubectl, "mistral-7b")
    annotations = obj["metadata"].get("annotations") or {}
    assert not [k for k in annotations if k.startswith("kopf.zalando.org")]
    assert "llmoperator.io/finalizer" in obj["metadata"]["finalizers"]

    # Prometheus: AWS calls by operation and outcome, endpoints by phase.
    ok = {"operation": "CreateEndpoint", "outcome": "ok"}
    assert op.metric("llmop_aws_calls_total", **ok) == 1
    assert op.metric("llmop_endpoints", phase="InService") == 1
    assert op.metric("llmop_reconciles_total", result="settled") >= 1


def test_model_endpoint_becomes_ready(
    kubectl: Any, run_operator: Any, emulated_sagemaker: SageMakerEmulator
) -> None:
    run_operator()
    resource = example("model-based-endpoint.yaml")
    name = resource["metadata"]["name"]
    apply(kubectl, resource)
    obj = wait_ready(kubectl, name)
    status = obj["status"]
    assert status["phase"] == "InService"
    assert status["inferenceComponents"] == []
    assert status["estimatedHourlyCostUSD"]
    names = emulated_sagemaker.names()
    assert names["endpoints"] == [status["endpointName"]]
    assert names["inference_components"] == []
    assert names["models"] == [status["modelName"]]
    assert names["endpoint_configs"] == [status["endpointConfigName"]]
    variants = emulated_sagemaker.client().describe_endpoint_config(
        EndpointConfigName=status["endpointConfigName"]
    )["ProductionVariants"]
    assert variants[0]["ModelName"] == status["modelName"]


@pytest.mark.parametrize("policy", ["Delete", "Retain"])
def test_deletion_follows_the_policy(
    policy: str, kubectl: Any, run_operator: Any, emulated_sagemaker: SageMakerEmulator
) -> None:
    op = run_operator()
    apply(kubectl, example("lora-adapters.yaml", deletionPolicy=policy))
    wait_ready(kubectl, "mistral-7b-lora")
    before = emulated_sagemaker.names()
    assert len(before["inference_components"]) == 3  # base + two adapters

    kubectl("delete", "llmendpoint", "mistral-7b-lora", "--wait=false")
    wait_for(lambda: get(kubectl, "mistral-7b-lora") is None, what="the LLMEndpoint to be gone")

    after = emulated_sagemaker.names()
    if policy == "Delete":
        assert after == {k: [] for k in after}
    else:
        assert after == before
        assert "Retained" in event_reasons(kubectl, "mistral-7b-lora")
    assert op.metric("llmop_endpoints", phase="Deleting") == 0
