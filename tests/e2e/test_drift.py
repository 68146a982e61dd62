"""Changes made behind the operator's back, in the SageMaker console, are put back."""

from __future__ import annotations

from typing import Any

import pytest

from local_cluster.waiting import wait_for
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import wait_ready
from tests.plugins.operator_fixtures import SageMakerEmulator

pytestmark = pytest.mark.e2e


def test_drift_made_in_the_console_is_put_back(
    kubectl: Kubectl, run_operator: Any, emulated_sagemaker: SageMakerEmulator
) -> None:
    run_operator(LLMOP_RESYNC_SECONDS="1")
    kubectl.apply(to_yaml(llmendpoint("mistral-7b-inference-components")))
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
