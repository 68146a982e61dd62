"""`emulator.enabled=true`: the SageMaker emulator with moto beside the operator, to try
the chart on kind without AWS (docs/install-kind.md).

No container runtime runs here, so this takes everything the cluster would: the
manifests Helm renders for the value are applied server-side to the real API server,
read back, and the two containers become local processes with exactly the command,
arguments and environment the Deployment gives them (the emulator first, started as
its startup probe sees it). An example LLMEndpoint goes Ready through them, and
`kubectl llme invoke` answers with the environment the install notes print.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scripts import release

from local_cluster import processes
from local_cluster.cluster import LocalCluster
from local_cluster.ports import free_port
from local_cluster.services import Operator, console_script
from local_cluster.waiting import wait_for
from sagemaker_emulator.admin import AdminClient
from tests.chart.helm import CHART, REPO, by_kind, helm, objects, template, values_file

EXAMPLE = REPO / "examples" / "mistral-7b-inference-components.yaml"
NAME = "mistral-7b"


@pytest.fixture
def installed(cluster: LocalCluster, namespace: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """The chart with emulator.enabled, as `helm install` against the API server renders
    it (release JSON: manifest and notes), applied server-side; removed afterwards."""
    operator_namespace = f"{namespace}-op"
    cluster.kubectl("create", "namespace", operator_namespace)
    values = {
        "emulator": {
            "enabled": True,
            "port": free_port(),
            "motoPort": free_port(),
            "delaySeconds": 0.05,
        },
        "watch": {"namespaces": [namespace]},
        "operator": {"transitionPollSeconds": 1},
        "health": {"port": free_port()},
        "metrics": {"port": free_port()},
        # Cluster-wide and outliving the test, it would govern other tests' namespaces.
        "policies": {"admission": False},
    }
    rendered = json.loads(
        helm(
            "install",
            f"emu-{uuid.uuid4().hex[:6]}",
            str(CHART),
            "--namespace",
            operator_namespace,
            "--dry-run=server",
            "--output",
            "json",
            "--kubeconfig",
            str(cluster.kubeconfig),
            "-f",
            str(values_file(values, tmp_path)),
        ).stdout
    )
    manifest = rendered["manifest"]
    cluster.kubectl("apply", "--server-side", "-f", "-", input=manifest)
    yield rendered
    cluster.kubectl("delete", "--ignore-not-found", "--wait=false", "-f", "-", input=manifest)


def pod_environment(container: dict[str, Any], pod_name: str) -> dict[str, str]:
    env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    env.update({e["name"]: pod_name for e in container.get("env", []) if "valueFrom" in e})
    return env


def base_environment() -> dict[str, str]:
    """This machine's environment without any AWS or operator setting: only the chart's
    reach the processes."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LLMOP_"))}


@pytest.mark.e2e
def test_the_emulator_beside_the_operator_makes_an_example_ready(
    cluster: LocalCluster, namespace: str, installed: dict[str, Any], tmp_path: Path
) -> None:
    operator_namespace = installed["namespace"]
    (deployment,) = [
        doc
        for doc in json.loads(
            cluster.kubectl("get", "deployments", "-n", operator_namespace, "-o", "json").stdout
        )["items"]
    ]
    pod = deployment["spec"]["template"]["spec"]
    (sidecar,) = pod["initContainers"]
    (container,) = pod["containers"]
    assert sidecar["restartPolicy"] == "Always"  # a native sidecar: runs beside, starts first
    assert sidecar["image"] == container["image"]  # the same image carries the emulator

    # The operator container's identity: the chart's ServiceAccount.
    account = pod["serviceAccountName"]
    user = f"system:serviceaccount:{operator_namespace}:{account}"
    cluster.wait_until_allowed(user, "get", "secrets", namespace=namespace)
    kubeconfig = cluster.service_account_kubeconfig(operator_namespace, account)

    # The emulator container (its command, arguments and environment) and the operator
    # container. The kubelet starts the operator once the emulator's startup probe
    # passes; both start together here, and nothing calls SageMaker until both are up.
    argv = [console_script(sidecar["command"][0]), *sidecar["command"][1:], *sidecar["args"]]
    emulator = processes.spawn(
        argv,
        log=tmp_path / "emulator.log",
        env={**base_environment(), **pod_environment(sidecar, "pod-0")},
    )
    operator = Operator(
        kubeconfig=kubeconfig,
        log=tmp_path / "operator.log",
        env=pod_environment(container, "pod-0"),
        inherit_settings=False,
    )
    try:
        operator.start()
        probe = sidecar["startupProbe"]["exec"]["command"]
        assert probe[0] == "python"

        def started() -> bool:
            assert emulator.poll() is None, (tmp_path / "emulator.log").read_text()[-3000:]
            answer = subprocess.run([sys.executable, *probe[1:]], capture_output=True, check=False)
            return answer.returncode == 0

        wait_for(started, what="the emulator's startup probe to pass", timeout=60)
        # moto listens where the operator's STS, CloudWatch and autoscaling calls go.
        moto = pod_environment(container, "pod-0")["AWS_ENDPOINT_URL_STS"]
        assert f"moto listening on {moto}\n" in (tmp_path / "emulator.log").read_text()
        operator.wait_healthy()

        cluster.kubectl("apply", "-n", namespace, "-f", str(EXAMPLE))
        cluster.kubectl(
            "wait", "-n", namespace, "--for=condition=Ready", "--timeout=180s", f"llme/{NAME}"
        )

        # `kubectl llme invoke` with what the install notes say (the port-forward they
        # start makes the pod's loopback port this machine's).
        notes = installed["info"]["notes"]
        exports: dict[str, str] = {}
        for line in notes.splitlines():
            if line.strip().startswith("export "):
                for word in shlex.split(line.strip())[1:]:
                    key, _, value = word.partition("=")
                    exports[key] = value
        (invoke,) = [ln.strip() for ln in notes.splitlines() if "kubectl llme invoke" in ln]
        venv_bin = str(Path(sys.executable).parent)
        result = subprocess.run(
            [*shlex.split(invoke), "-n", namespace],
            env={
                **base_environment(),
                **exports,
                "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
                "KUBECONFIG": str(cluster.kubeconfig),
            },
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip()

        # Both speak with the release's version in their User-Agent.
        version = release.version()
        admin = AdminClient(exports["AWS_ENDPOINT_URL_SAGEMAKER"])
        created = admin.call_log(operation="CreateEndpoint")
        assert created
        assert all(f"sagemaker-llm-operator/{version}" in (c["user_agent"] or "") for c in created)
        assert admin.call_log(user_agent=f"llm-operator-cli/{version}")
        assert "Traceback" not in operator.logs()
    finally:
        operator.stop()
        print(f"--- operator log ---\n{operator.log_tail(200)}")
        processes.stop(emulator)


def rendered_pod(tmp_path: Path, values: dict[str, Any]) -> dict[str, Any]:
    (deployment,) = by_kind(
        objects(template(values, tmp_path, show_only="templates/deployment.yaml")), "Deployment"
    )
    pod: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return pod


def test_without_the_value_nothing_of_the_emulator_is_rendered(tmp_path: Path) -> None:
    overrides = {"sagemaker": "https://sagemaker.vpce.example", "sagemakerRuntime": "", "sts": ""}
    pod = rendered_pod(tmp_path, {"aws": {"endpointOverrides": overrides}})
    assert "initContainers" not in pod
    env = pod_environment(pod["containers"][0], "pod-0")
    assert env["AWS_ENDPOINT_URL_SAGEMAKER"] == overrides["sagemaker"]
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} & env.keys()  # the real identity


def test_the_emulator_wins_over_endpoint_overrides_and_is_locked_down_as_the_operator(
    tmp_path: Path,
) -> None:
    overrides = {"sagemaker": "https://sagemaker.vpce.example", "sagemakerRuntime": "", "sts": ""}
    values = {
        "emulator": {"enabled": True, "port": 5000, "motoPort": 5001, "delaySeconds": 0.5},
        "aws": {"endpointOverrides": overrides},
    }
    pod = rendered_pod(tmp_path, values)
    (sidecar,) = pod["initContainers"]
    (container,) = pod["containers"]
    env = pod_environment(container, "pod-0")
    for service in ("SAGEMAKER", "SAGEMAKER_RUNTIME"):
        assert env[f"AWS_ENDPOINT_URL_{service}"] == "http://127.0.0.1:5000"
    for service in ("STS", "CLOUDWATCH", "APPLICATION_AUTO_SCALING"):
        assert env[f"AWS_ENDPOINT_URL_{service}"] == "http://127.0.0.1:5001"
    assert sidecar["args"] == [
        "--host", "127.0.0.1", "--port", "5000",
        "--with-moto", "--moto-port", "5001", "--delay", "0.5",
    ]  # fmt: skip
    assert sidecar["securityContext"] == container["securityContext"]
    assert sidecar["volumeMounts"] == container["volumeMounts"]  # a writable /tmp only
