"""The operator survives what production throws at it: being SIGKILLed in the middle of
a reconcile, and the API server going away under it."""

from __future__ import annotations

import json

import pytest

from local_cluster.cluster import LocalCluster
from local_cluster.services import Emulator, Operator
from local_cluster.waiting import wait_for
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import wait_gone, wait_ready
from tests.plugins.sagemaker import SageMaker

pytestmark = pytest.mark.e2e

# Slow transitions so that the operator is reliably caught with work in flight.
SLOW_DELAY = 1.5


@pytest.mark.parametrize("emulator_process", [SLOW_DELAY], indirect=True)
def test_operator_killed_mid_reconcile_converges_without_duplicates(
    kubectl: Kubectl, operator: Operator, emulator_process: Emulator, sagemaker_api: SageMaker
) -> None:
    manifest = llmendpoint("lora-adapters")
    name = manifest["metadata"]["name"]
    kubectl.apply(to_yaml(manifest))

    # SIGKILL at three points of the creation, restarting each time.
    kill_points = [
        ("a model created", "models"),
        ("the endpoint created", "endpoints"),
        ("an inference component created", "inference_components"),
    ]
    for what, kind in kill_points:

        def reached(kind: str = kind) -> list[str]:
            names: list[str] = getattr(sagemaker_api.inventory(), kind)
            return names

        wait_for(
            reached,
            timeout=120,
            what=what,
            diagnose=operator.log_tail,
        )
        operator.kill()
        operator.start()
        operator.wait_healthy()

    status = wait_ready(kubectl, name, log=operator.log_tail)["status"]
    inventory = sagemaker_api.inventory()
    assert inventory.endpoints == [status["endpointName"]]
    assert inventory.endpoint_configs == [status["endpointConfigName"]]
    assert inventory.models == [status["modelName"]]
    assert len(inventory.inference_components) == 1 + len(manifest["spec"]["adapters"])
    assert (
        sorted(c["name"] for c in status["inferenceComponents"]) == inventory.inference_components
    )

    # And once more in the middle of the deletion.
    kubectl("delete", "llmendpoint", name, "--wait=false")

    def deleting() -> bool:
        components = sagemaker_api.client.list_inference_components()["InferenceComponents"]
        return any(c["InferenceComponentStatus"] == "Deleting" for c in components)

    wait_for(deleting, timeout=120, what="a component Deleting", diagnose=operator.log_tail)
    operator.kill()
    operator.start()
    wait_gone(kubectl, name, timeout=180, log=operator.log_tail)
    leftovers = sagemaker_api.inventory()
    assert leftovers.empty, leftovers


def test_operator_reconnects_after_apiserver_restart(
    cluster: LocalCluster, kubectl: Kubectl, operator: Operator, sagemaker_api: SageMaker
) -> None:
    first = llmendpoint("mistral-7b-inference-components")
    kubectl.apply(to_yaml(first))
    status = wait_ready(kubectl, first["metadata"]["name"], log=operator.log_tail)["status"]

    cluster.restart_apiserver(graceful=False)

    # Changes made after the restart reach the operator through its re-established watch.
    spec = {"spec": {"resources": {"copies": 3}}}
    kubectl(
        "patch", "llmendpoint", first["metadata"]["name"], "--type=merge", "-p", json.dumps(spec)
    )
    second = llmendpoint("model-based-endpoint")
    kubectl.apply(to_yaml(second))
    after = wait_ready(kubectl, first["metadata"]["name"], log=operator.log_tail)["status"]
    assert after["copies"] == {"desired": 3, "current": 3}
    base = status["inferenceComponents"][0]["name"]
    assert sagemaker_api.inference_component(base)["RuntimeConfig"]["CurrentCopyCount"] == 3
    wait_ready(kubectl, second["metadata"]["name"], log=operator.log_tail)
    assert operator.running
