"""What a user reads once an LLMEndpoint is Ready: every status field, the Events, the
metrics, and the tags in SageMaker (the real operator against the in-process emulator,
whose call counters show what the operator asked SageMaker)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import event_reasons, wait_ready
from tests.plugins.operator_fixtures import SageMakerEmulator
from tests.plugins.sagemaker import OWNER_UID

pytestmark = pytest.mark.e2e


def test_inference_component_endpoint_becomes_ready_with_every_status_field(
    kubectl: Kubectl, run_operator: Any, emulated_sagemaker: SageMakerEmulator
) -> None:
    op = run_operator()
    kubectl.apply(to_yaml(llmendpoint("mistral-7b-inference-components")))
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
    assert tags[OWNER_UID] == obj["metadata"]["uid"]

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
