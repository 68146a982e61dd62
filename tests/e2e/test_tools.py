"""`llm-operator plan | invoke | audit` and `kubectl llme`, against the real API server and
the emulator, as a person runs them: console scripts with their own kubeconfig and AWS
environment."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from llm_operator.core import naming
from local_cluster.cluster import LocalCluster
from local_cluster.services import Emulator, Operator, console_script
from local_cluster.waiting import wait_for
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.commands import cli
from tests.plugins.emulator_fixtures import boto3_client
from tests.plugins.examples import llmendpoint, load, to_yaml
from tests.plugins.llmendpoints import get_llme, wait_gone, wait_ready
from tests.plugins.operator_fixtures import EmulatorProcesses, started_operator
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


# -- plan ----------------------------------------------------------------------------


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

    result = cli(
        "plan", "-f", str(manifest), emulator=emulator_process, kubeconfig=cluster.kubeconfig
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


# -- invoke ----------------------------------------------------------------------------


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


# -- audit -------------------------------------------------------------------------------


@pytest.fixture
def emulator_process_with_moto(emulators: EmulatorProcesses) -> Emulator:
    return emulators.fresh(delay=0.2, args=["--with-moto"])


def test_audit_finds_orphans_by_uid_and_deletes_only_them(
    cluster: LocalCluster,
    kubectl: Kubectl,
    namespace: str,
    operator_identity: Any,
    emulator_process_with_moto: Emulator,
    tmp_path: Path,
) -> None:
    emulator = emulator_process_with_moto
    op = started_operator(
        operator_identity.kubeconfig, emulator, namespace, tmp_path / "operator.log"
    )
    leaked = llmendpoint("mistral-7b-inference-components")
    kept = {**llmendpoint("lora-adapters")}
    kept["spec"] = {**kept["spec"], "deletionPolicy": "Retain"}
    kubectl.apply(to_yaml(leaked, kept))
    old_uid = wait_ready(kubectl, leaked["metadata"]["name"], log=op.log_tail)["metadata"]["uid"]
    kept_status = wait_ready(kubectl, kept["metadata"]["name"], log=op.log_tail)["status"]

    # Retained on purpose: deleted with deletionPolicy Retain while the operator runs.
    kubectl("delete", "llmendpoint", kept["metadata"]["name"])
    wait_gone(kubectl, kept["metadata"]["name"], log=op.log_tail)
    # The Retained Event expires (about an hour); the llmoperator.io/retained tag does not.
    kubectl("delete", "events", "--field-selector", "reason=Retained")
    # Leaked: the finalizer forced away while no operator runs, then the same name again.
    op.stop()
    kubectl(
        "patch",
        "llmendpoint",
        leaked["metadata"]["name"],
        "--type=merge",
        "-p",
        '{"metadata":{"finalizers":null}}',
    )
    kubectl("delete", "llmendpoint", leaked["metadata"]["name"])
    kubectl.apply(to_yaml(leaked))
    # Someone's own endpoint: never listed, never touched.
    sm = SageMaker(emulator).client
    sm.create_model(
        ModelName="by-hand",
        ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerExecution",
        PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"},
    )
    # CloudWatch knows the retained endpoint took no traffic.
    assert emulator.moto_url is not None
    cloudwatch = boto3_client(emulator.moto_url, "cloudwatch")
    cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Value": 0.0,
                "Dimensions": [
                    {"Name": "EndpointName", "Value": kept_status["endpointName"]},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
            }
        ],
    )

    env = {"emulator": emulator, "kubeconfig": cluster.kubeconfig}
    listed = cli("audit", "-o", "json", **env)
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout)["resources"]
    orphans = [r for r in found if r["state"] == "orphaned"]
    retained = [r for r in found if r["state"] == "retained"]
    assert {r["uid"] for r in orphans} == {old_uid}
    assert sorted(r["kind"] for r in orphans) == [
        "endpoint",
        "endpoint config",
        "inference component",
        "model",
    ]
    assert len(retained) == 6  # endpoint, config, model, base and two adapters
    assert all(r["retainedAt"] for r in retained)  # tagged: no Event left to say so
    endpoint = next(r for r in retained if r["kind"] == "endpoint")
    assert endpoint["traffic"] == "idle" and endpoint["costPerHourUSD"] == "7.09"
    orphan_endpoint = next(r for r in orphans if r["kind"] == "endpoint")
    assert orphan_endpoint["traffic"] == "unknown (no data)"
    assert all(r["name"] != "by-hand" for r in found)

    human = cli("audit", **env)
    assert "4 orphaned, 6 retained, 0 idle in use" in human.stdout, human.stdout
    assert "$14.18/hour without an LLMEndpoint" in human.stdout, human.stdout

    refused = cli("audit", "--delete", **env, input="")
    assert refused.returncode == 1 and "pass --yes" in refused.stderr

    seq = emulator.admin_client.call_log()[-1]["seq"]
    deleted = cli("audit", "--delete", "--yes", **env)
    assert deleted.returncode == 0, deleted.stderr
    writes = [c for c in emulator.admin_client.call_log(since=seq) if c["write"]]
    assert [c["operation"] for c in writes] == [
        "DeleteInferenceComponent",
        "DeleteEndpoint",
        "DeleteEndpointConfig",
        "DeleteModel",
    ]
    assert all((c["tags"] or {}).get("llmoperator.io/uid") == old_uid for c in writes)
    left = SageMaker(emulator).inventory()
    assert "by-hand" in left.models
    assert kept_status["endpointName"] in left.endpoints
    again = json.loads(cli("audit", "-o", "json", **env).stdout)["resources"]
    assert {r["state"] for r in again} == {"retained"}


def test_audit_across_accounts_and_regions_by_profile(
    cluster: LocalCluster, kubectl: Kubectl, emulator_process: Emulator, tmp_path: Path
) -> None:
    """--all-accounts: one account per AWS profile; an LLMEndpoint's uid keeps its resources."""
    import boto3

    live = llmendpoint("model-based-endpoint")
    kubectl.apply(to_yaml(live))  # no operator here: it only has to exist
    live_uid = get_llme(kubectl, live["metadata"]["name"])["metadata"]["uid"]
    accounts = {"team-a": "111111111111", "team-b": "222222222222"}
    (tmp_path / "config").write_text(
        "".join(f"[profile {p}]\nregion = us-east-1\n" for p in accounts)
    )
    (tmp_path / "credentials").write_text(
        "".join(
            f"[{p}]\naws_access_key_id = {key}\naws_secret_access_key = testing\n"
            for p, key in accounts.items()
        )
    )

    here = cluster.kubectl(
        "get", "namespace", "kube-system", "-o", "jsonpath={.metadata.uid}"
    ).stdout.strip()

    def model(account: str, region: str, name: str, uid: str | None) -> None:
        client = boto3.client(
            "sagemaker",
            region_name=region,
            endpoint_url=emulator_process.url,
            aws_access_key_id=account,
            aws_secret_access_key="testing",
        )
        tags = (
            [
                {"Key": "llmoperator.io/managed-by", "Value": "sagemaker-llm-operator"},
                {"Key": "llmoperator.io/namespace", "Value": "gone"},
                {"Key": "llmoperator.io/name", "Value": name},
                {"Key": "llmoperator.io/uid", "Value": uid},
                {"Key": "llmoperator.io/cluster-id", "Value": here},
            ]
            if uid
            else []
        )
        client.create_model(
            ModelName=name,
            ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerExecution",
            PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1"},
            Tags=tags,
        )

    model(accounts["team-a"], "us-east-1", "leak-a", "0000-gone-a")
    model(accounts["team-b"], "us-west-2", "leak-b", "0000-gone-b")
    model(accounts["team-b"], "us-west-2", "kept", live_uid)  # its LLMEndpoint exists
    model(accounts["team-a"], "us-east-1", "by-hand", None)  # not ours at all

    env = {
        "emulator": emulator_process,
        "kubeconfig": cluster.kubeconfig,
        "extra_env": {
            "AWS_CONFIG_FILE": str(tmp_path / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        },
    }
    regions = ["--region", "us-east-1", "--region", "us-west-2"]
    listed = cli("audit", "--all-accounts", *regions, "-o", "json", **env)
    assert listed.returncode == 0, listed.stderr
    found = {
        (r["account"], r["region"], r["name"], r["state"])
        for r in json.loads(listed.stdout)["resources"]
    }
    assert found == {
        ("team-a", "us-east-1", "leak-a", "orphaned"),
        ("team-b", "us-west-2", "leak-b", "orphaned"),
    }
    assert json.loads(listed.stdout)["managedResources"] == 3

    deleted = cli("audit", "--all-accounts", *regions, "--delete", "--yes", "-o", "json", **env)
    assert deleted.returncode == 0, deleted.stderr
    assert {(d["name"], d["result"]) for d in json.loads(deleted.stdout)["deleted"]} == {
        ("leak-a", "deleted"),
        ("leak-b", "deleted"),
    }
    names = emulator_process.admin_client.resource_names
    assert names("111111111111", "us-east-1")["models"] == ["by-hand"]
    assert names("222222222222", "us-west-2")["models"] == ["kept"]

    no_region = cli(
        "audit",
        **{
            **env,
            "extra_env": {
                **env["extra_env"],
                "AWS_REGION": "",
                "AWS_DEFAULT_REGION": "",
                "AWS_CONFIG_FILE": os.devnull,
            },
        },
    )
    assert no_region.returncode == 1 and "pass --region" in no_region.stderr


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
