"""Spec changes converge in SageMaker; deletion removes everything, or nothing with
deletionPolicy Retain."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from local_cluster.cluster import LocalCluster
from local_cluster.services import Emulator, Operator
from local_cluster.waiting import wait_for
from sagemaker_emulator.admin import AdminClient
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import get_llme, patch_spec, wait_gone, wait_ready
from tests.plugins.operator_fixtures import install_operator_rbac, operator_env
from tests.plugins.sagemaker import SageMaker

pytestmark = pytest.mark.e2e


def test_inference_component_spec_changes_converge(
    kubectl: Kubectl, operator: Operator, sagemaker_api: SageMaker
) -> None:
    manifest = llmendpoint("mistral-7b-inference-components")
    name = manifest["metadata"]["name"]
    kubectl.apply(to_yaml(manifest))
    first = wait_ready(kubectl, name, log=operator.log_tail)["status"]
    base = first["inferenceComponents"][0]["name"]
    assert sagemaker_api.inference_component(base)["RuntimeConfig"]["CurrentCopyCount"] == 4

    # Copies: the inference component's runtime config, nothing else replaced.
    patch_spec(kubectl, name, {"resources": {"copies": 2}})
    status = wait_ready(kubectl, name, log=operator.log_tail)["status"]
    assert status["copies"] == {"desired": 2, "current": 2}
    assert sagemaker_api.inference_component(base)["RuntimeConfig"]["CurrentCopyCount"] == 2
    assert status["endpointConfigName"] == first["endpointConfigName"]
    assert status["modelName"] == first["modelName"]

    # Model settings: a new model, the component updated in place, the old model removed.
    patch_spec(kubectl, name, {"model": {"maxModelLength": 3000}})
    status = wait_ready(kubectl, name, log=operator.log_tail)["status"]
    assert status["modelName"] != first["modelName"]
    assert status["inferenceComponents"][0]["name"] == base
    component = sagemaker_api.inference_component(base)
    assert component["Specification"]["ModelName"] == status["modelName"]
    wait_for(
        lambda: sagemaker_api.inventory().models == [status["modelName"]],
        timeout=60,
        what="the old model to be deleted",
        diagnose=lambda: repr(sagemaker_api.inventory()),
    )

    # Engine: like any model change, a new model with the engine's image and variables.
    vllm_model = status["modelName"]
    patch_spec(kubectl, name, {"model": {"engine": "sglang"}})
    status = wait_ready(kubectl, name, log=operator.log_tail)["status"]
    assert status["engine"] == "sglang"
    assert status["modelName"] != vllm_model
    container = sagemaker_api.model(status["modelName"])["PrimaryContainer"]
    assert "/sglang:" in container["Image"]
    assert container["Environment"]["SM_SGLANG_CONTEXT_LENGTH"] == "3000"
    assert (
        sagemaker_api.inference_component(base)["Specification"]["ModelName"]
        == (status["modelName"])
    )
    wait_for(
        lambda: sagemaker_api.inventory().models == [status["modelName"]],
        timeout=60,
        what="the vLLM model to be deleted",
        diagnose=lambda: repr(sagemaker_api.inventory()),
    )

    # Instance type: a new endpoint config and UpdateEndpoint; the old config removed.
    patch_spec(kubectl, name, {"instance": {"type": "ml.g5.24xlarge"}})
    status = wait_ready(kubectl, name, log=operator.log_tail)["status"]
    assert status["endpointConfigName"] != first["endpointConfigName"]
    endpoint = sagemaker_api.endpoint(status["endpointName"])
    assert endpoint["EndpointConfigName"] == status["endpointConfigName"]
    config = sagemaker_api.endpoint_config(status["endpointConfigName"])
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.g5.24xlarge"
    assert status["estimatedHourlyCostUSD"] == "10.18"
    wait_for(
        lambda: sagemaker_api.inventory().endpoint_configs == [status["endpointConfigName"]],
        timeout=60,
        what="the old endpoint config to be deleted",
        diagnose=lambda: repr(sagemaker_api.inventory()),
    )
    inventory = sagemaker_api.inventory()
    assert inventory.endpoints == [status["endpointName"]]
    assert inventory.inference_components == [base]


def test_model_endpoint_instance_count_change_converges(
    kubectl: Kubectl, operator: Operator, sagemaker_api: SageMaker
) -> None:
    manifest = llmendpoint("model-based-endpoint")
    name = manifest["metadata"]["name"]
    kubectl.apply(to_yaml(manifest))
    first = wait_ready(kubectl, name, log=operator.log_tail)["status"]

    patch_spec(kubectl, name, {"instance": {"count": 2}})
    status = wait_ready(kubectl, name, log=operator.log_tail)["status"]
    assert status["instances"] == {"desired": 2, "current": 2}
    endpoint = sagemaker_api.endpoint(status["endpointName"])
    assert endpoint["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert status["endpointName"] == first["endpointName"]
    wait_for(
        lambda: len(sagemaker_api.inventory().endpoint_configs) == 1,
        timeout=60,
        what="only the endpoint config in use to remain",
        diagnose=lambda: repr(sagemaker_api.inventory()),
    )


def test_deletion_waits_for_sagemaker_and_leaves_nothing(
    kubectl: Kubectl, operator: Operator, sagemaker_api: SageMaker
) -> None:
    manifest = llmendpoint("lora-adapters")
    name = manifest["metadata"]["name"]
    kubectl.apply(to_yaml(manifest))
    wait_ready(kubectl, name, log=operator.log_tail)
    assert len(sagemaker_api.inventory().inference_components) == 3

    # kubectl delete returns once the finalizer is gone: SageMaker must be clean by then.
    kubectl("delete", "llmendpoint", name, "--timeout=120s")
    assert get_llme(kubectl, name) is None
    leftovers = sagemaker_api.inventory()
    assert leftovers.empty, leftovers
    # Waiting for SageMaker to delete is the normal course of a deletion, not an error.
    log = operator.logs()
    assert "DeleteEndpoint endpoint" in log  # it did wait: components went first
    assert "failed temporarily" not in log, operator.log_tail()
    handler_errors = [
        line for line in log.splitlines() if "kopf.objects" in line and "ERROR" in line
    ]
    assert not handler_errors, operator.log_tail()


def test_a_stuck_deletion_lets_go_once_the_policy_becomes_retain(
    kubectl: Kubectl, operator: Operator, emulator_process: Emulator, sagemaker_api: SageMaker
) -> None:
    """The deletion waits on SageMaker within one handler call: it still reads the spec
    as it is now, so switching to Retain ends a deletion SageMaker never lets finish
    (an endpoint held in Creating cannot be deleted)."""
    admin = AdminClient(emulator_process.url)
    admin.faults(stuck=[{"resource": "endpoint"}])
    manifest = llmendpoint("mistral-7b-inference-components")
    name = manifest["metadata"]["name"]
    try:
        kubectl.apply(to_yaml(manifest))
        wait_for(
            lambda: bool(sagemaker_api.inventory().endpoints),
            timeout=60,
            what="the endpoint to be created (and held in Creating)",
        )
        kubectl("delete", "llmendpoint", name, "--wait=false")
        wait_for(
            lambda: (
                ((get_llme(kubectl, name) or {}).get("status") or {}).get("phase") == "Deleting"
            ),
            timeout=60,
            what="the deletion to wait for the endpoint",
        )
        time.sleep(2)  # a few more passes: SageMaker does not let it finish
        assert get_llme(kubectl, name) is not None
        patch_spec(kubectl, name, {"deletionPolicy": "Retain"})
        wait_gone(kubectl, name, timeout=60, log=operator.log_tail)
    finally:
        admin.clear_faults()
    assert sagemaker_api.inventory().endpoints  # kept, as Retain says
    assert "failed temporarily" not in operator.logs()


def test_retain_leaves_everything_running(
    kubectl: Kubectl, operator: Operator, sagemaker_api: SageMaker
) -> None:
    manifest = llmendpoint("mistral-7b-inference-components")
    manifest["spec"]["deletionPolicy"] = "Retain"
    name = manifest["metadata"]["name"]
    kubectl.apply(to_yaml(manifest))
    status = wait_ready(kubectl, name, log=operator.log_tail)["status"]
    before = sagemaker_api.inventory()

    kubectl("delete", "llmendpoint", name, "--timeout=120s")
    assert get_llme(kubectl, name) is None
    assert sagemaker_api.inventory() == before
    assert sagemaker_api.endpoint(status["endpointName"])["EndpointStatus"] == "InService"
    events = kubectl.json("get", "events", "--field-selector", f"involvedObject.name={name}")
    messages = " ".join(e.get("message") or "" for e in events["items"])
    assert "retain" in messages.lower(), messages


def test_operator_runs_under_the_charts_per_namespace_rbac(
    cluster: LocalCluster,
    kubectl: Kubectl,
    namespace: str,
    emulator_process: Emulator,
    sagemaker_api: SageMaker,
    tmp_path: Path,
) -> None:
    """With watch.namespaces set, the chart grants Roles in those namespaces only;
    the operator must manage with exactly that."""
    release = f"llm-operator-{namespace[-6:]}"
    identity = install_operator_rbac(
        cluster,
        release=release,
        namespace=f"{release}-system",
        set_values={"watch.namespaces": f"{{{namespace}}}"},
    )
    assert kubectl.json("get", "role", release)["rules"]
    as_operator = Kubectl(cluster, "default", identity.kubeconfig)
    denied = as_operator("get", "llmendpoints", check=False)
    assert denied.returncode != 0 and "Forbidden" in denied.stderr

    operator = Operator(
        kubeconfig=identity.kubeconfig,
        log=tmp_path / "operator.log",
        env=operator_env(emulator_process, namespace),
    )
    operator.start()
    try:
        operator.wait_healthy()
        manifest = llmendpoint("model-based-endpoint")
        kubectl.apply(to_yaml(manifest))
        wait_ready(kubectl, manifest["metadata"]["name"], log=operator.log_tail)
        kubectl("delete", "llmendpoint", manifest["metadata"]["name"], "--timeout=120s")
        assert sagemaker_api.inventory().empty
    finally:
        operator.stop()
        print(f"--- operator log ---\n{operator.log_tail(200)}")
