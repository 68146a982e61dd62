"""The operator run exactly as the chart's Deployment describes it (its environment,
ports, probes, ServiceAccount, namespaced RBAC and kopf peering object), against the
real API server and the SageMaker emulator. No kubelet runs here, so the container
is a local process with the container's environment and the ServiceAccount's token.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local_cluster.cluster import LocalCluster
from local_cluster.ports import free_port
from local_cluster.services import EMULATOR_AWS_ENV, Emulator, Operator
from local_cluster.waiting import wait_for
from tests.chart.helm import CHART, REPO, by_kind, objects, template
from tests.plugins.emulator_fixtures import boto3_client

EXAMPLE = REPO / "examples" / "lora-adapters.yaml"


def http_get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError:
        return 0, ""


def wait_for_ok(url: str, operator: Operator, timeout: float = 60.0) -> str:
    """Polls url until it answers 200, failing fast when the operator exits."""

    def answer() -> tuple[str] | None:
        assert operator.running, f"llm-operator exited:\n{operator.log_tail()}"
        status, body = http_get(url)
        return (body,) if status == 200 else None

    (body,) = wait_for(
        answer,
        what=f"{url} to answer 200",
        timeout=timeout,
        interval=0.1,
        diagnose=operator.log_tail,
    )
    return body


def container_port(container: dict[str, Any], name: str) -> int:
    (port,) = [p["containerPort"] for p in container["ports"] if p["name"] == name]
    return int(port)


@dataclass
class Deployed:
    """The chart rendered and its RBAC and peering applied; the pod not started yet."""

    watched: str
    container: dict[str, Any]
    kubeconfig: Path
    env: dict[str, str]

    def replica(self, index: int, log: Path, **env: str) -> Operator:
        """One pod of the Deployment, as a local process with the pod's environment."""
        pod_env = {**self.env, "POD_NAME": f"replica-{index}", **env}
        return Operator(kubeconfig=self.kubeconfig, log=log, env=pod_env)


def deploy(
    cluster: LocalCluster, namespace: str, emulator: Emulator, tmp_path: Path, *, replicas: int
) -> Deployed:
    watched = f"watched-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", watched)
    for manifest in sorted((CHART / "crds").glob("kopf-*.yaml")):
        cluster.kubectl("apply", "--server-side", "-f", str(manifest))
    release = f"r{uuid.uuid4().hex[:6]}"
    values = {
        "replicaCount": replicas,  # above 1: the KopfPeering object and its RBAC are used
        "watch": {"namespaces": [watched]},
        "aws": {
            "region": "us-east-1",
            "endpointOverrides": {"sagemaker": emulator.url, "sagemakerRuntime": emulator.url},
        },
        "operator": {"resyncSeconds": 30, "transitionPollSeconds": 1},
        "health": {"port": free_port()},
        "metrics": {"port": free_port()},
    }
    docs = objects(template(values, tmp_path, release=release, namespace=namespace))
    wanted = {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    for doc in docs:
        if doc["kind"] in wanted | {"KopfPeering"}:
            cluster.kubectl("apply", "-f", "-", input=json.dumps(doc))
    (account,) = by_kind(docs, "ServiceAccount")
    meta = account["metadata"]
    user = f"system:serviceaccount:{meta['namespace']}:{meta['name']}"
    cluster.wait_until_allowed(user, "get", "secrets", namespace=watched)
    (deployment,) = by_kind(docs, "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    environment = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    # Static credentials stand in for IRSA; everything else is the chart's.
    credentials = {k: v for k, v in EMULATOR_AWS_ENV.items() if not k.startswith("AWS_REGION")}
    return Deployed(
        watched=watched,
        container=container,
        kubeconfig=cluster.service_account_kubeconfig(namespace, account["metadata"]["name"]),
        env={**credentials, **environment},
    )


@pytest.mark.e2e
@pytest.mark.parametrize("emulator_process", [0.05], indirect=True, ids=["delay-0.05"])
def test_operator_runs_as_the_chart_deploys_it(
    cluster: LocalCluster, namespace: str, emulator_process: Emulator, tmp_path: Path
) -> None:
    deployed = deploy(cluster, namespace, emulator_process, tmp_path, replicas=2)
    watched, container = deployed.watched, deployed.container
    operator = deployed.replica(0, tmp_path / "operator.log")
    operator.start()
    try:
        probe = container["readinessProbe"]["httpGet"]
        port = container_port(container, probe["port"])
        wait_for_ok(f"http://127.0.0.1:{port}{probe['path']}", operator)
        liveness = container["livenessProbe"]["httpGet"]
        assert http_get(f"http://127.0.0.1:{port}{liveness['path']}")[0] == 200

        cluster.kubectl("apply", "-n", watched, "-f", str(EXAMPLE))
        cluster.kubectl(
            "wait",
            "-n",
            watched,
            "--for=condition=Ready",
            "--timeout=180s",
            "llmendpoint/mistral-7b-lora",
        )
        client = boto3_client(emulator_process.url)
        components = client.list_inference_components()["InferenceComponents"]
        assert len(components) == 3  # the base model and its two LoRA adapters
        metrics_port = container_port(container, "metrics")
        metrics = wait_for_ok(f"http://127.0.0.1:{metrics_port}/metrics", operator)
        assert "# TYPE" in metrics
        log = operator.log_tail(400)
        assert "Pausing" not in log  # peering did not freeze it
        assert "Forbidden" not in log  # the chart's RBAC covers every call

        # Deletion returns once the finalizer is gone, i.e. SageMaker confirmed.
        cluster.kubectl("delete", "-n", watched, "llmendpoint/mistral-7b-lora", "--timeout=180s")
        assert client.list_endpoints()["Endpoints"] == []
        assert client.list_inference_components()["InferenceComponents"] == []
    finally:
        operator.stop()
        print(f"--- operator log ---\n{operator.log_tail(200)}")


@pytest.mark.e2e
@pytest.mark.parametrize("emulator_process", [0.05], indirect=True, ids=["delay-0.05"])
def test_two_replicas_one_works_and_the_other_takes_over(
    cluster: LocalCluster, namespace: str, emulator_process: Emulator, tmp_path: Path
) -> None:
    """Peering as the chart sets it up: one replica reconciles, the other waits, and
    takes over when the first dies, with nothing created twice."""
    deployed = deploy(cluster, namespace, emulator_process, tmp_path, replicas=2)
    replicas = [
        deployed.replica(
            i,
            tmp_path / f"replica-{i}.log",
            LLMOP_HEALTH_PORT=str(free_port()),
            LLMOP_METRICS_PORT=str(free_port()),
        )
        for i in range(2)
    ]
    for replica in replicas:
        replica.start()
    try:
        watched = deployed.watched
        name = "llmendpoint/mistral-7b-lora"
        cluster.kubectl("apply", "-n", watched, "-f", str(EXAMPLE))
        cluster.kubectl("wait", "-n", watched, "--for=condition=Ready", "--timeout=180s", name)

        def creates(replica: Operator) -> float:
            return sum(
                replica.metric("llmop_aws_calls_total", operation=op, outcome="ok")
                for op in ("CreateModel", "CreateEndpoint", "CreateInferenceComponent")
            )

        working = [r for r in replicas if creates(r) > 0]
        assert len(working) == 1, "exactly one replica acts; its peer waits"
        assert all("Pausing all operators" not in r.logs() for r in replicas)
        calls = emulator_process.admin_client.calls()
        assert calls.get("CreateEndpoint") == 1
        assert calls.get("CreateInferenceComponent") == 3  # base and two adapters

        # The working replica dies; the waiting one resumes once its peer's lease ends.
        (active,) = working
        active.kill()
        cluster.kubectl(
            "patch",
            "-n",
            watched,
            name,
            "--type=merge",
            "-p",
            '{"spec":{"resources":{"copies":2}}}',
        )
        client = boto3_client(emulator_process.url)

        def copies() -> int | None:
            (base,) = [
                c
                for c in client.list_inference_components()["InferenceComponents"]
                if c["InferenceComponentName"].endswith("-base")
            ]
            described = client.describe_inference_component(
                InferenceComponentName=base["InferenceComponentName"]
            )
            current = described["RuntimeConfig"]["CurrentCopyCount"]
            return int(current) if current == 2 else None

        wait_for(copies, what="the surviving replica to scale to 2 copies", timeout=180)
        assert emulator_process.admin_client.calls().get("CreateEndpoint") == 1
    finally:
        for replica in replicas:
            replica.stop()
