"""Spec changes converge in SageMaker: copies, model and instance type."""

from __future__ import annotations

import json
from typing import Any

from local_cluster.waiting import wait_for
from tests.integration.test_lifecycle import apply, example, get, wait_ready
from tests.plugins.operator_fixtures import SageMakerEmulator


def patch_spec(kubectl: Any, name: str, spec: dict[str, Any]) -> None:
    kubectl("patch", "llmendpoint", name, "--type=merge", "-p", json.dumps({"spec": spec}))


def test_copies_model_and_instance_type_changes_reach_sagemaker(
    kubectl: Any, run_operator: Any, emulated_sagemaker: SageMakerEmulator
) -> None:
    run_operator()
    apply(kubectl, example("mistral-7b-inference-components.yaml"))
    first = wait_ready(kubectl, "mistral-7b")["status"]
    sm = emulated_sagemaker.client()
    component = first["inferenceComponents"][0]["name"]

    # Copies: the runtime config of the same component, nothing else touched.
    patch_spec(kubectl, "mistral-7b", {"resources": {"copies": 2}})
    status = wait_ready(kubectl, "mistral-7b")["status"]
    assert status["copies"] == {"desired": 2, "current": 2}
    runtime = sm.describe_inference_component(InferenceComponentName=component)["RuntimeConfig"]
    assert (runtime["DesiredCopyCount"], runtime["CurrentCopyCount"]) == (2, 2)
    assert status["endpointConfigName"] == first["endpointConfigName"]
    assert emulated_sagemaker.admin.calls().get("UpdateInferenceComponentRuntimeConfig") == 1

    # Model: a new model, the component updated in place, the old model deleted.
    patch_spec(
        kubectl, "mistral-7b", {"model": {"hfModelId": "mistralai/Mistral-7B-Instruct-v0.2"}}
    )
    status = wait_ready(kubectl, "mistral-7b")["status"]
    assert status["modelName"] != first["modelName"]
    spec = sm.describe_inference_component(InferenceComponentName=component)["Specification"]
    assert spec["ModelName"] == status["modelName"]
    environment = sm.describe_model(ModelName=status["modelName"])
    assert "Mistral-7B-Instruct-v0.2" in json.dumps(environment, default=str)
    assert emulated_sagemaker.names()["models"] == [status["modelName"]]

    # Instance type: a new endpoint config, UpdateEndpoint, the old config deleted.
    patch_spec(kubectl, "mistral-7b", {"instance": {"type": "ml.g5.24xlarge"}})
    status = wait_ready(kubectl, "mistral-7b")["status"]
    assert status["endpointConfigName"] != first["endpointConfigName"]
    endpoint = sm.describe_endpoint(EndpointName=status["endpointName"])
    assert endpoint["EndpointConfigName"] == status["endpointConfigName"]
    config = sm.describe_endpoint_config(EndpointConfigName=status["endpointConfigName"])
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.g5.24xlarge"
    assert status["estimatedHourlyCostUSD"] == "10.18"
    names = emulated_sagemaker.names()
    assert names["endpoint_configs"] == [status["endpointConfigName"]]
    assert names["inference_components"] == [component]
    assert names["endpoints"] == [status["endpointName"]]
    assert get(kubectl, "mistral-7b") is not None


def test_drift_made_in_the_console_is_put_back(
    kubectl: Any, run_operator: Any, emulated_sagemaker: SageMakerEmulator
) -> None:
    run_operator(LLMOP_RESYNC_SECONDS="1")
    apply(kubectl, example("mistral-7b-inference-components.yaml"))
    status = wait_ready(kubectl, "mistral-7b")["status"]
    component = status["inferenceComponents"][0]["name"]
    sm = emulated_sagemaker.client()

    # Someone scales the component down by hand: the operator scales it back.
    sm.update_inference_component_runtime_config(
        InferenceComponentName=component, DesiredRuntimeConfig={"CopyCount": 1}
    )

    def copies() -> tuple[int, int] | None:
        try:
            found = sm.describe_inference_component(InferenceComponentName=component)
        except sm.exceptions.ClientError:
            return None  # deleted, not yet created again
        runtime = found["RuntimeConfig"]
        return runtime["DesiredCopyCount"], runtime["CurrentCopyCount"]

    wait_for(lambda: copies() == (4, 4) or None, what="copies to be back at 4")
    assert emulated_sagemaker.admin.calls()["UpdateInferenceComponentRuntimeConfig"] == 2

    # Someone deletes the component: the operator creates it again.
    sm.delete_inference_component(InferenceComponentName=component)
    wait_for(
        lambda: emulated_sagemaker.admin.calls().get("CreateInferenceComponent") == 2,
        what="the component to be created again",
    )
    wait_for(lambda: copies() == (4, 4) or None, what="the new component to run 4 copies")
    assert wait_ready(kubectl, "mistral-7b")["status"]["copies"] == {"desired": 4, "current": 4}
    assert emulated_sagemaker.names()["inference_components"] == [component]
