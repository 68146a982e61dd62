"""Serverless endpoints and embedding models end to end: the examples applied with
kubectl, run by the operator on the emulator, asked through `llm-operator invoke` as a
person would, changed (a new endpoint config rolls out), planned, and deleted without a
trace in SageMaker."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from local_cluster.cluster import LocalCluster
from local_cluster.services import Emulator, Operator
from local_cluster.waiting import wait_for
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.commands import cli
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import get_llme, patch_spec, wait_gone, wait_ready
from tests.plugins.operator_fixtures import SageMakerEmulator
from tests.plugins.sagemaker import SageMaker

pytestmark = pytest.mark.e2e


def test_serverless_embeddings_answer_roll_out_plan_and_leave_nothing(
    cluster: LocalCluster,
    kubectl: Kubectl,
    namespace: str,
    operator: Operator,
    emulator_process: Emulator,
    sagemaker_api: SageMaker,
    tmp_path: Path,
) -> None:
    env = {"emulator": emulator_process, "kubeconfig": cluster.kubeconfig}
    llme = llmendpoint("serverless-tei")
    name = llme["metadata"]["name"]
    kubectl.apply(to_yaml(llme))
    status = wait_ready(kubectl, name, log=operator.log_tail)["status"]
    assert status["serverless"]["memoryMiB"] == 2048

    embedded = cli("invoke", name, "-n", namespace, "--input", "What is SageMaker?", **env)
    assert embedded.returncode == 0, embedded.stderr
    assert re.fullmatch(r"384 dimensions: \[(-?\d\.\d{4}, ){5}\.\.\.\]\n", embedded.stdout)
    again = cli("invoke", name, "-n", namespace, "--input", "What is SageMaker?", **env)
    assert again.stdout == embedded.stdout  # the same text, the same vector
    wrong = cli("invoke", name, "-n", namespace, "--prompt", "hi", **env)
    assert wrong.returncode == 1
    assert "an embedding model: send --input TEXT" in wrong.stderr

    # plan: a new memory size is a new endpoint config, billed per use before and after.
    bigger = json.loads(json.dumps(llme))
    bigger["spec"]["serverless"]["memoryMiB"] = 4096
    path = tmp_path / "llme.yaml"
    path.write_text(to_yaml(bigger))
    planned = cli("plan", "-f", str(path), "-n", namespace, **env)
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert "+ CreateEndpointConfig" in planned.stdout
    assert "~ UpdateEndpoint" in planned.stdout
    assert "serverless 2048 MiB x 10 (billed per use)" in planned.stdout
    assert "serverless 4096 MiB x 10 (billed per use)" in planned.stdout

    # The rollout: UpdateEndpoint onto the new config, the old one deleted after.
    patch_spec(kubectl, name, {"serverless": {"memoryMiB": 4096}})
    wait_for(
        lambda: (
            (get_llme(kubectl, name) or {}).get("status", {}).get("serverless", {}).get("memoryMiB")
            == 4096
        ),
        timeout=60,
        what="status.serverless.memoryMiB 4096",
    )
    status = wait_ready(kubectl, name, log=operator.log_tail)["status"]

    def rolled_out() -> bool:
        endpoint = sagemaker_api.endpoint(status["endpointName"])
        (variant,) = endpoint["ProductionVariants"]
        inventory = sagemaker_api.inventory()
        return variant["CurrentServerlessConfig"][
            "MemorySizeInMB"
        ] == 4096 and inventory.endpoint_configs == [endpoint["EndpointConfigName"]]

    wait_for(rolled_out, timeout=60, what="the 4096 MiB config serving, the old one deleted")
    wait_for(
        lambda: (
            (get_llme(kubectl, name) or {})["status"]["serverless"].get("current")
            == {"memoryMiB": 4096, "maxConcurrency": 10}
        ),
        timeout=60,
        what="status.serverless.current: the 4096 MiB config",
    )

    kubectl("delete", "llmendpoint", name)
    wait_gone(kubectl, name, log=operator.log_tail)
    assert sagemaker_api.inventory().empty


def test_a_reranker_component_answers_rerank_and_leaves_nothing(
    cluster: LocalCluster,
    kubectl: Kubectl,
    namespace: str,
    operator: Operator,
    emulator_process: Emulator,
    sagemaker_api: SageMaker,
) -> None:
    env = {"emulator": emulator_process, "kubeconfig": cluster.kubeconfig}
    llme = llmendpoint("tei-reranker-inference-component")
    name = llme["metadata"]["name"]
    kubectl.apply(to_yaml(llme))
    status = wait_ready(kubectl, name, log=operator.log_tail)["status"]
    assert status["engine"] == "tei"

    texts = ["Bananas are yellow.", "SageMaker hosts models."]
    args = ("invoke", name, "-n", namespace, "--rerank", "What does SageMaker host?")
    ranked = cli(*args, "--texts", *texts, **env)
    assert ranked.returncode == 0, ranked.stderr
    first, second = ranked.stdout.splitlines()
    assert first.endswith("[1] SageMaker hosts models.")
    assert second.endswith("[0] Bananas are yellow.")
    as_json = json.loads(cli(*args, "--texts", *texts, "-o", "json", **env).stdout)
    assert as_json["inferenceComponentName"] == status["inferenceComponents"][0]["name"]
    assert [s["index"] for s in as_json["scores"]] == [1, 0]
    no_texts = cli(*args, **env)
    assert no_texts.returncode == 1 and "--rerank QUERY needs --texts" in no_texts.stderr

    kubectl("delete", "llmendpoint", name)
    wait_gone(kubectl, name, log=operator.log_tail)
    assert sagemaker_api.inventory().empty


def test_a_serverless_endpoint_moved_by_hand_is_put_back(
    kubectl: Kubectl, run_operator: Any, emulated_sagemaker: SageMakerEmulator
) -> None:
    run_operator(LLMOP_RESYNC_SECONDS="1")
    kubectl.apply(to_yaml(llmendpoint("serverless-tei")))
    status = wait_ready(kubectl, "bge-small-serverless")["status"]
    sm = emulated_sagemaker.client()
    # Someone gives the endpoint less memory in the console: a config of their own.
    sm.create_endpoint_config(
        EndpointConfigName="by-hand",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": status["modelName"],
                "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1},
            }
        ],
    )
    sm.update_endpoint(EndpointName=status["endpointName"], EndpointConfigName="by-hand")

    def memory() -> int | None:
        found = sm.describe_endpoint(EndpointName=status["endpointName"])
        if found["EndpointStatus"] != "InService":
            return None
        (variant,) = found["ProductionVariants"]
        return int(variant["CurrentServerlessConfig"]["MemorySizeInMB"])

    wait_for(lambda: emulated_sagemaker.admin.calls().get("UpdateEndpoint") == 2, what="put back")
    wait_for(lambda: memory() == 2048 or None, what="the endpoint back on 2048 MiB")
    described = sm.describe_endpoint(EndpointName=status["endpointName"])
    assert described["EndpointConfigName"] == status["endpointConfigName"]
    assert "by-hand" in emulated_sagemaker.names()["endpoint_configs"]  # not ours: left alone


def test_retain_leaves_the_serverless_endpoint_serving(
    kubectl: Kubectl, operator: Operator, sagemaker_api: SageMaker
) -> None:
    manifest = llmendpoint("serverless-tei", deletionPolicy="Retain")
    name = manifest["metadata"]["name"]
    kubectl.apply(to_yaml(manifest))
    status = wait_ready(kubectl, name, log=operator.log_tail)["status"]
    before = sagemaker_api.inventory()
    kubectl("delete", "llmendpoint", name, "--timeout=120s")
    assert get_llme(kubectl, name) is None
    assert sagemaker_api.inventory() == before
    endpoint = sagemaker_api.endpoint(status["endpointName"])
    assert endpoint["EndpointStatus"] == "InService"
    assert "llmoperator.io/retained" in sagemaker_api.tags(endpoint["EndpointArn"])
