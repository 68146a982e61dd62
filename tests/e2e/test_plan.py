"""`llm-operator plan` against the real API server and the emulator, as a person runs it:
the console script with its own kubeconfig and AWS environment. It only reads, shows
what the operator would change (and in which waves) and never shows a secret.

`invoke` and `kubectl llme` are in test_invoke.py, `audit` in test_audit.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llm_operator.core import naming
from local_cluster.cluster import LocalCluster
from local_cluster.services import Emulator, Operator
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.commands import cli
from tests.plugins.examples import llmendpoint, load, to_yaml
from tests.plugins.llmendpoints import get_llme, wait_ready
from tests.plugins.sagemaker import SageMaker

pytestmark = pytest.mark.e2e

TOKEN = "hf_plan_must_never_print_this_1234567890"
CLI_AGENT = "llm-operator-cli/"
READ_VERBS = {"get", "list", "watch"}
SAGEMAKER_READS = ("List", "Describe")


def gated_manifest(namespace: str) -> tuple[dict[str, Any], dict[str, Any]]:
    secret, llme = load("gated-model-with-token")
    secret = {**secret, "stringData": {"token": TOKEN}}
    llme = {**llme, "metadata": {**llme["metadata"], "namespace": namespace}}
    return secret, llme


def test_plan_of_a_new_endpoint_reads_only_and_never_shows_the_token(
    cluster: LocalCluster,
    kubectl: Kubectl,
    namespace: str,
    emulator_process: Emulator,
    tmp_path: Path,
) -> None:
    secret, llme = gated_manifest(namespace)
    kubectl.apply(to_yaml(secret))
    manifest = tmp_path / "llme.yaml"
    manifest.write_text(to_yaml(llme))
    seq = (
        emulator_process.admin_client.call_log()[-1]["seq"]
        if emulator_process.admin_client.call_log()
        else 0
    )

    # The console script itself (the other runs are forks of the tests' fork server).
    result = cli(
        "plan",
        "-f",
        str(manifest),
        emulator=emulator_process,
        kubeconfig=cluster.kubeconfig,
        fork=False,
    )
    assert result.returncode == 2, result.stderr + result.stdout
    text = result.stdout
    assert f"LLMEndpoint {namespace}/llama-3-8b (new)" in text
    for call in ("+ CreateModel model", "+ CreateEndpointConfig", "+ CreateEndpoint endpoint"):
        assert call in text
    assert "then, once SageMaker has finished (wave 2):" in text
    assert "+ CreateInferenceComponent inference component" in text
    assert (
        "PrimaryContainer.Environment.SM_VLLM_MODEL: 'meta-llama/Meta-Llama-3-8B-Instruct'" in text
    )
    assert "PrimaryContainer.Environment.HF_TOKEN: '***'" in text
    assert "cost per hour: $0.00 (none) -> $7.09 (1 x ml.g5.12xlarge)" in text
    assert TOKEN not in text + result.stderr

    as_json = cli(
        "plan",
        "-f",
        str(manifest),
        "-o",
        "json",
        emulator=emulator_process,
        kubeconfig=cluster.kubeconfig,
    )
    assert as_json.returncode == 2
    assert TOKEN not in as_json.stdout
    planned = json.loads(as_json.stdout)["llmEndpoints"][0]
    assert [c["operation"] for c in planned["changes"]] == [
        "CreateModel",
        "CreateEndpointConfig",
        "CreateEndpoint",
        "CreateInferenceComponent",
    ]
    assert planned["exact"] is True and planned["costPerHourUSD"]["after"] == "7.09"

    # Read-only: SageMaker got only List/Describe/ListTags, the API server only reads.
    calls = emulator_process.admin_client.call_log(since=seq)
    assert calls, "plan made no SageMaker call at all"
    assert not [c for c in calls if c["write"]]
    assert {c["operation"] for c in calls} <= {
        "ListModels",
        "ListEndpointConfigs",
        "ListEndpoints",
        "ListInferenceComponents",
        "ListTags",
        "DescribeModel",
        "DescribeEndpointConfig",
        "DescribeEndpoint",
        "DescribeInferenceComponent",
    }
    requests = [
        e
        for e in cluster.audit_events()
        if str(e.get("userAgent", "")).startswith(CLI_AGENT)
        and (e.get("objectRef") or {}).get("namespace") == namespace
    ]
    assert {(e["verb"], e["objectRef"]["resource"]) for e in requests} <= {
        ("get", "llmendpoints"),
        ("get", "secrets"),
        ("get", "namespaces"),  # where the admin names the namespace's AWS role
    }
    assert ("get", "llmendpoints") in {(e["verb"], e["objectRef"]["resource"]) for e in requests}
    assert {e["verb"] for e in requests} <= READ_VERBS


def test_plan_without_the_secret_says_what_it_cannot_tell(
    cluster: LocalCluster,
    kubectl: Kubectl,
    namespace: str,
    emulator_process: Emulator,
    tmp_path: Path,
) -> None:
    """A person who may read LLMEndpoints but not Secrets still gets a plan, and a warning."""
    _, llme = gated_manifest(namespace)
    manifest = tmp_path / "llme.yaml"
    manifest.write_text(to_yaml(llme))
    kubectl("create", "serviceaccount", "reviewer")
    kubectl("create", "role", "read-llme", "--verb=get,list", "--resource=llmendpoints")
    kubectl(
        "create",
        "rolebinding",
        "reviewer",
        "--role=read-llme",
        f"--serviceaccount={namespace}:reviewer",
    )
    cluster.wait_until_allowed(
        f"system:serviceaccount:{namespace}:reviewer",
        "get",
        "llmendpoints.llmoperator.io",
        namespace=namespace,
    )
    reviewer = cluster.service_account_kubeconfig(namespace, "reviewer")
    result = cli("plan", "-f", str(manifest), emulator=emulator_process, kubeconfig=reviewer)
    assert result.returncode == 2, result.stderr + result.stdout
    assert (
        f"warning: SecretForbidden: the operator may not read Secret {namespace}/hf-token"
        in (result.stdout)
        or f"warning: SecretNotFound: Secret {namespace}/hf-token" in result.stdout
    )
    assert "cannot tell whether the model changes" in result.stdout


def test_plan_errors_and_name_conflicts(
    cluster: LocalCluster, namespace: str, emulator_process: Emulator, tmp_path: Path
) -> None:
    env = {"emulator": emulator_process, "kubeconfig": cluster.kubeconfig}
    missing = cli("plan", "-f", str(tmp_path / "nope.yaml"), **env)
    assert missing.returncode == 1 and "cannot read" in missing.stderr

    llme = llmendpoint("mistral-7b-inference-components")
    bad = {
        **llme,
        "spec": {
            **llme["spec"],
            "instance": {**llme["spec"]["instance"], "type": "ml.g5.13xlarge"},
        },
    }
    path = tmp_path / "bad.yaml"
    path.write_text(to_yaml(bad))
    result = cli("plan", "-f", str(path), "-n", namespace, **env)
    assert result.returncode == 1
    assert "error: " in result.stdout and "ml.g5.13xlarge" in result.stdout

    # Someone else's endpoint already has the name the operator would use.
    good = tmp_path / "good.yaml"
    good.write_text(to_yaml(llme))
    planned = json.loads(cli("plan", "-f", str(good), "-n", namespace, "-o", "json", **env).stdout)
    endpoint = next(
        c for c in planned["llmEndpoints"][0]["changes"] if c["operation"] == "CreateEndpoint"
    )
    sm = SageMaker(emulator_process).client
    sm.create_endpoint_config(
        EndpointConfigName="by-hand",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.12xlarge",
                "InitialInstanceCount": 1,
            }
        ],
        ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerExecution",
    )
    sm.create_endpoint(EndpointName=endpoint["name"], EndpointConfigName="by-hand")
    result = cli("plan", "-f", str(good), "-n", namespace, **env)
    assert "warning: NameConflict:" in result.stdout, result.stdout
    assert "CreateEndpoint" not in result.stdout


def test_plan_of_a_running_endpoint_shows_only_what_changes(
    cluster: LocalCluster,
    kubectl: Kubectl,
    namespace: str,
    operator: Operator,
    emulator_process: Emulator,
    tmp_path: Path,
) -> None:
    llme = llmendpoint("mistral-7b-inference-components")
    name = llme["metadata"]["name"]
    kubectl.apply(to_yaml(llme))
    wait_ready(kubectl, name, log=operator.log_tail)
    env = {"emulator": emulator_process, "kubeconfig": cluster.kubeconfig}
    path = tmp_path / "llme.yaml"
    path.write_text(to_yaml(llme))
    same = cli("plan", "-f", str(path), "-n", namespace, **env)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "no changes" in same.stdout and "(exists)" in same.stdout

    changed = json.loads(json.dumps(llme))
    changed["spec"]["resources"]["copies"] = 2
    changed["spec"]["model"]["maxModelLength"] = 4000
    path.write_text(to_yaml(changed))
    result = cli("plan", "-f", str(path), "-n", namespace, **env)
    assert result.returncode == 2, result.stdout + result.stderr
    text = result.stdout
    assert "PrimaryContainer.Environment.SM_VLLM_MAX_MODEL_LEN: '4096' -> '4000'" in text
    assert "~ UpdateInferenceComponent inference component" in text
    assert "RuntimeConfig.CopyCount: 4 -> 2" in text
    assert "- DeleteModel model" in text
    # Nothing moved: the endpoint still runs the old spec.
    assert get_llme(kubectl, name)["status"]["copies"] == {"desired": 4, "current": 4}


def test_plan_derives_names_and_account_as_the_operator_would(
    kubectl: Kubectl,
    namespace: str,
    emulator_process: Emulator,
    cluster: LocalCluster,
    tmp_path: Path,
) -> None:
    """The operator's cluster identity (LLMOP_CLUSTER_NAME) changes the names it derives,
    and a role the namespace's admin did not allow is refused, in plan as in the operator."""
    llme = llmendpoint("mistral-7b-inference-components")
    llme = {**llme, "metadata": {**llme["metadata"], "namespace": namespace}}
    manifest = tmp_path / "llme.yaml"
    manifest.write_text(to_yaml(llme))
    env = {"emulator": emulator_process, "kubeconfig": cluster.kubeconfig}

    blue = cli(
        "plan", "-f", str(manifest), "-o", "json", **env, extra_env={"LLMOP_CLUSTER_NAME": "blue"}
    )
    assert blue.returncode == 2, blue.stderr + blue.stdout
    steps = json.loads(blue.stdout)["llmEndpoints"][0]["changes"]
    endpoint = next(s["name"] for s in steps if s["operation"] == "CreateEndpoint")
    name = llme["metadata"]["name"]
    assert endpoint == naming.endpoint_name(namespace, name, "blue")
    assert endpoint != naming.endpoint_name(namespace, name)

    chosen = {
        **llme,
        "spec": {
            **llme["spec"],
            "aws": {**llme["spec"]["aws"], "roleArn": "arn:aws:iam::222222222222:role/NotAllowed"},
        },
    }
    manifest.write_text(to_yaml(chosen))
    refused = cli("plan", "-f", str(manifest), **env)
    assert refused.returncode == 1, refused.stderr + refused.stdout
    assert "RoleNotAllowed" in refused.stdout + refused.stderr
