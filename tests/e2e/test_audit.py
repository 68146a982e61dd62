"""`llm-operator audit` against the real API server and the emulator (with moto, where
CloudWatch's metrics are), as a person runs it: the console script with its own
kubeconfig and AWS environment. It finds orphans by uid and deletes only those."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from local_cluster.cluster import LocalCluster
from local_cluster.services import Emulator
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.commands import cli
from tests.plugins.emulator_fixtures import boto3_client
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import get_llme, wait_gone, wait_ready
from tests.plugins.operator_fixtures import EmulatorProcesses, started_operator
from tests.plugins.sagemaker import SageMaker

pytestmark = pytest.mark.e2e


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
    request: pytest.FixtureRequest,
) -> None:
    emulator = emulator_process_with_moto
    op = started_operator(
        operator_identity.kubeconfig, emulator, namespace, tmp_path / "operator.log"
    )
    request.addfinalizer(op.stop)  # even if the test fails: the emulator outlives it
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

    # A policy with a budget governs the namespace: audit shows it beside its cost.
    policy = f"{namespace}-budget"
    cluster.kubectl("label", "namespace", namespace, f"audit-test={namespace}")
    governs = {"matchLabels": {"audit-test": namespace}}
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        input=to_yaml(
            {
                "apiVersion": "llmoperator.io/v1alpha1",
                "kind": "LLMEndpointPolicy",
                "metadata": {"name": policy},
                "spec": {"namespaceSelector": governs, "budget": {"maxEndpoints": 5}},
            }
        ),
    )
    request.addfinalizer(
        lambda: cluster.kubectl("delete", "llmpol", policy, "--wait=false", check=False)
    )

    env = {"emulator": emulator, "kubeconfig": cluster.kubeconfig}
    # The console script itself (the other runs are forks of the tests' fork server).
    listed = cli("audit", "-o", "json", **env, fork=False)
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
    # Per namespace: nothing runs (the re-applied LLMEndpoint waits for an operator),
    # the orphaned and the retained endpoint cost 7.09 each.
    row = next(n for n in json.loads(listed.stdout)["namespaces"] if n["namespace"] == namespace)
    assert row == {
        "namespace": namespace,
        "llmEndpoints": 1,
        "costPerHourUSD": "0.00",
        "leftoverCostPerHourUSD": "14.18",
        "policies": [policy],
        "budget": [
            {
                "policy": policy,
                "endpoints": 0,
                "maxEndpoints": 5,
                "endpointsLeft": 5,
                "ceilingCostPerHourUSD": "0.00",
                "maxCostPerHourUSD": None,
                "leftPerHourUSD": None,
            }
        ],
    }

    human = cli("audit", **env)
    assert "4 orphaned, 6 retained, 0 idle in use" in human.stdout, human.stdout
    assert "$14.18/hour without an LLMEndpoint" in human.stdout, human.stdout
    assert "Cost per namespace:" in human.stdout, human.stdout
    line = next(x for x in human.stdout.splitlines() if x.startswith(namespace))
    assert "$14.18" in line and f"{policy}: 0 of 5 LLMEndpoints (5 left)" in line, line

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
