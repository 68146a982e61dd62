"""Spec changes converge in SageMaker: copies, model and instance type."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.test_lifecycle import apply, example, get, wait_ready
from tests.plugins.operator_fixtures import SageMakerEmulator


def patch_spec(kubectl: Any, name: str, spec: dict[str, Any]) -> None:
    kubectl("patch", "llmendpoint", name, "--type=merge", "-p", json.dumps({"spec": spec}))


def test_copies_model_and_instance_type_changes_reach_sagemaker(
    kubectl: Any, run_operator: Any, sagemaker: SageMakerEmulator
) -> None:
    run_operator()
    apply(kubectl, example("mistral-7b-inference-components.yaml"))
    first = wait_ready(kubectl, "mistral-7b")["status"]
    sm = sagemaker.client()
    component = first["inferenceComponents"][0]["name"]

    # Copies: the runtime config of the same component, nothing else touched.
    patch_spec(kubectl, "mistral-7b", {"resources": {"copies": 2}})
    status = wait_ready(kubectl, "mistral-7b")["status"]
    assert status["copies"] == {"desired": 2, "current": 2}
    runtime = sm.describe_inference_component(InferenceComponentName=component)["RuntimeConfig"]
    assert (runtime["DesiredCopyCount"], runtime["CurrentCopyCount"]) == (2, 2)
    assert status["endpointConfigName"] == first["endpointConfigName"]
    assert sagemaker.admin.calls().get("UpdateInferenceComponentRuntimeConfig") == 1

    # Model: a new model, the component updated in place, the old model deleted.
    patch_spec(kubectl, "mistral-7b", {"model": {"hfModelId": "mistralai/Mistral-7B-Instruct-v0.2"}})
    status = wait_ready(kubectl, "mistral-7b")["status"]
    assert status["modelName"] != first["modelName"]
    spec = sm.describe_inference_component(InferenceComponentName=component)["Specification"]
    assert spec["ModelName"] == status["modelName"]
    environment = sm.describe_model(ModelName=status["modelName"])
    assert "Mistral-7B-Instruct-v0.2" in json.dumps(environment, default=str)
    assert sagemaker.names()["models"] == [status["modelName"]]

    # Instance type: a new endpoint config, UpdateEndpoint, the old config deleted.
    patch_spec(kubectl, "mistral-7b", {"instance": {"type": "ml.g5.24xlarge"}})
    status = wait_ready(kubectl, "mistral-7b")["status"]
    assert status["endpointConfigName"] != first["endpointConfigName"]
    endpoint = sm.describe_endpoint(EndpointName=status["endpointName"])
    assert endpoint["EndpointConfigName"] == status["endpointConfigName"]
    config = sm.describe_endpoint_config(EndpointConfigName=status["endpointConfigName"])
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.g5.24xlarge"
    assert status["estimatedHourlyCostUSD"] == "10.18"
    names = sagemaker.names()
    assert names["endpoint_configs"] == [status["endpointConfigName"]]
    assert names["inference_components"] == [component]
    assert names["endpoints"] == [status["endpointName"]]
    assert get(kubectl, "mistral-7b") is not None
