"""`llm-operator invoke` and `kubectl llme invoke` against the real API server and the
emulator, as a person runs them: console scripts with their own kubeconfig and AWS
environment."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from local_cluster.cluster import LocalCluster
from local_cluster.services import Emulator, Operator, console_script
from local_cluster.waiting import wait_for
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.commands import cli
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import get_llme, wait_ready
from tests.plugins.sagemaker import SageMaker

pytestmark = pytest.mark.e2e


def test_invoke_answers_streams_and_picks_adapters(
    cluster: LocalCluster,
    kubectl: Kubectl,
    namespace: str,
    operator: Operator,
    emulator_process: Emulator,
) -> None:
    env = {"emulator": emulator_process, "kubeconfig": cluster.kubeconfig}
    llme = llmendpoint("lora-adapters")
    name = llme["metadata"]["name"]
    missing = cli("invoke", name, "-n", namespace, "--prompt", "hi", **env)
    assert missing.returncode == 1
    assert f"LLMEndpoint {namespace}/{name} not found" in missing.stderr

    kubectl.apply(to_yaml(llme))
    status = wait_ready(kubectl, name, log=operator.log_tail)["status"]
    whole = cli(
        "invoke",
        name,
        "-n",
        namespace,
        "--prompt",
        "What is SageMaker?",
        "--max-tokens",
        "8",
        "-o",
        "json",
        **env,
    )
    assert whole.returncode == 0, whole.stderr
    answer = json.loads(whole.stdout)
    assert answer["endpointName"] == status["endpointName"]
    assert answer["inferenceComponentName"] == status["inferenceComponents"][0]["name"]
    assert answer["engine"] == "vllm" and len(answer["text"].split()) == 8

    streamed = cli(
        "invoke",
        name,
        "-n",
        namespace,
        "--prompt",
        "What is SageMaker?",
        "--max-tokens",
        "8",
        "--stream",
        **env,
    )
    assert streamed.returncode == 0, streamed.stderr
    assert streamed.stdout == answer["text"] + "\n"
    assert "first token after" in streamed.stderr
    log = emulator_process.admin_client.call_log(operation="InvokeEndpointWithResponseStream")
    assert len(log) == 1 and log[0]["status"] == 200

    adapter = cli(
        "invoke",
        name,
        "-n",
        namespace,
        "--prompt",
        "What is SageMaker?",
        "--max-tokens",
        "8",
        "--adapter",
        "summarizer",
        "-o",
        "json",
        **env,
    )
    assert adapter.returncode == 0, adapter.stderr
    assert json.loads(adapter.stdout)["inferenceComponentName"] == next(
        a["componentName"] for a in status["adapters"] if a["name"] == "summarizer"
    )
    assert json.loads(adapter.stdout)["text"] != answer["text"]
    unknown = cli("invoke", name, "-n", namespace, "--prompt", "hi", "--adapter", "poet", **env)
    assert unknown.returncode == 1
    assert "has no adapter 'poet' (its adapters: support-bot, summarizer)" in unknown.stderr

    # kubectl's own flags through the plugin.
    plugin_env = {
        **os.environ,
        **emulator_process.aws_env,
        "PATH": f"{Path(console_script('kubectl-llme')).parent}{os.pathsep}{os.environ['PATH']}",
    }
    plugin = subprocess.run(
        [
            cluster.kubectl_path,
            "llme",
            "invoke",
            name,
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--namespace",
            namespace,
            "--prompt",
            "What is SageMaker?",
            "--max-tokens",
            "8",
        ],
        env=plugin_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert plugin.returncode == 0, plugin.stderr
    assert plugin.stdout == answer["text"] + "\n"

    # Scaled in to zero behind the status's back (as autoscaling does): the request is
    # sent, since it is what wakes such a component, and the refusal is explained.
    operator.stop()
    SageMaker(emulator_process).client.update_inference_component_runtime_config(
        InferenceComponentName=status["inferenceComponents"][0]["name"],
        DesiredRuntimeConfig={"CopyCount": 0},
    )
    assert emulator_process.admin_client.wait(timeout=30)
    asleep = cli("invoke", name, "-n", namespace, "--prompt", "hi", **env)
    assert asleep.returncode == 1
    assert "(scaled to zero): Inference Component has no capacity" in asleep.stderr
    assert "this request has woken it: it answers after about 5 to 10 minutes" in asleep.stderr
    operator.start().wait_healthy()

    # Scaled to zero by the spec: said plainly, and nothing is sent.
    kubectl(
        "patch", "llmendpoint", name, "--type=merge", "-p", '{"spec":{"resources":{"copies":0}}}'
    )
    wait_for(
        lambda: (
            (get_llme(kubectl, name) or {}).get("status", {}).get("copies", {}).get("current") == 0
            and wait_ready(kubectl, name, log=operator.log_tail)
        ),
        timeout=60,
        what="copies to reach 0",
    )
    zero = cli("invoke", name, "-n", namespace, "--prompt", "hi", **env)
    assert zero.returncode == 1
    assert "is scaled to zero: spec.resources.copies is 0" in zero.stderr


def test_invoke_refuses_an_endpoint_that_is_not_ready(
    cluster: LocalCluster, kubectl: Kubectl, namespace: str, emulator_process: Emulator
) -> None:
    llme = llmendpoint("lora-adapters")
    kubectl.apply(to_yaml(llme))  # no operator watches this namespace: never Ready
    result = cli(
        "invoke",
        llme["metadata"]["name"],
        "-n",
        namespace,
        "--prompt",
        "hi",
        emulator=emulator_process,
        kubeconfig=cluster.kubeconfig,
    )
    assert result.returncode == 1
    assert "is not Ready (phase Pending" in result.stderr
    assert "kubectl wait --for=condition=Ready" in result.stderr
