"""`plan` is the operator minus the writes: `llm-operator plan -f` of a manifest the
operator has just applied and reconciled shows no change (exit 0), however the operator
derived what it made: its cluster name (`clusterName`, which plan is not told), the
namespace's role (another account), an adopted endpoint, autoscaling down to zero, a
canary with rollback alarms, an LLMEndpointPolicy's defaults (a VPC: the model's
request), enforced tags and budget. The operator runs under the chart's RBAC against the
emulator with moto beside it (STS, Application Auto Scaling, CloudWatch); plan runs as
a person runs it, with the admin's kubeconfig and only the AWS environment.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from llm_operator.core import naming
from llm_operator.core.adoption import ADOPT_ANNOTATION
from llm_operator.core.identity import ROLE_ANNOTATION
from local_cluster.cluster import LocalCluster
from local_cluster.services import Emulator, Operator
from tests.emulator import builders
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.commands import cli
from tests.plugins.emulator_fixtures import boto3_client
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import wait_settled
from tests.plugins.operator_fixtures import OperatorIdentity, started_operator

pytestmark = pytest.mark.e2e

CLUSTER_NAME = "east"  # the operator's; plan is not told it
TEAM_ROLE = "arn:aws:iam::111111111111:role/team-a"
HAND_MADE = "hand-made-chat"
DELAY = 0.1  # emulator seconds per transition


def _adopting(endpoint: str) -> dict[str, Any]:
    doc = llmendpoint("mistral-7b-inference-components")
    doc["metadata"]["annotations"] = {ADOPT_ANNOTATION: endpoint}
    return doc


def _governed() -> dict[str, Any]:
    doc = llmendpoint("mistral-7b-inference-components")
    del doc["spec"]["model"]["engine"]  # the policy's default engine applies
    return doc


# Governs the "policy" case's namespace: defaults that change SageMaker's requests.
POLICY_SPEC: dict[str, Any] = {
    "defaults": {
        "engine": "vllm",
        "aws": {
            "vpc": {"subnets": ["subnet-0a1b2c3d4e5f60001"], "securityGroupIds": ["sg-0a1b2c3d"]},
            "tags": {"owner": "ml-platform"},
        },
    },
    "enforcedTags": {"cost-center": "1234"},
    "budget": {"maxEndpoints": 3, "maxCostPerHourUSD": "60.00"},
}

CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "cluster-name": lambda: llmendpoint("mistral-7b-inference-components"),
    "namespace-role": lambda: llmendpoint("mistral-7b-inference-components"),
    "adoption": lambda: _adopting(HAND_MADE),
    "scale-to-zero": lambda: llmendpoint("autoscaling-scale-to-zero"),
    "canary-rollback-alarms": lambda: llmendpoint("canary-with-auto-rollback"),
    "policy": _governed,
}


@dataclass
class World:
    cluster: LocalCluster
    emulator: Emulator
    operator: Operator
    namespaces: dict[str, str]  # case -> namespace
    manifests: dict[str, dict[str, Any]]  # case -> what was applied there


@pytest.fixture(scope="module")
def world(
    cluster: LocalCluster,
    operator_identity: OperatorIdentity,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    """One emulator and one operator (cluster name east) for every case, each case
    applied in its own namespace (one of them mapped to team-a's role by its
    annotation), all reconciled side by side."""
    tmp = tmp_path_factory.mktemp("plan-agrees")
    emulator = Emulator.start(tmp / "emulator.log", delay=DELAY, args=["--with-moto"])
    namespaces = {case: f"plan-{case}-{uuid.uuid4().hex[:6]}" for case in CASES}
    for namespace in namespaces.values():
        cluster.kubectl("create", "namespace", namespace)
    cluster.kubectl(
        "annotate", "namespace", namespaces["namespace-role"], f"{ROLE_ANNOTATION}={TEAM_ROLE}"
    )
    _hand_made(emulator, HAND_MADE)
    governed = namespaces["policy"]
    cluster.kubectl("label", "namespace", governed, f"plan-agrees={governed}")
    policy = {
        "apiVersion": "llmoperator.io/v1alpha1",
        "kind": "LLMEndpointPolicy",
        "metadata": {"name": governed},
        "spec": {"namespaceSelector": {"matchLabels": {"plan-agrees": governed}}, **POLICY_SPEC},
    }
    cluster.kubectl("apply", "-f", "-", input=to_yaml(policy))
    operator = started_operator(
        operator_identity.kubeconfig,
        emulator,
        list(namespaces.values()),
        tmp / "operator.log",
        LLMOP_CLUSTER_NAME=CLUSTER_NAME,
        # No LLMEndpointPolicy governs these namespaces: adoption is the setting's.
        LLMOP_ALLOW_ADOPTION="true",
    )
    manifests = {case: make() for case, make in CASES.items()}
    for case, manifest in manifests.items():
        Kubectl(cluster, namespaces[case]).apply(to_yaml(manifest))
    yield World(cluster, emulator, operator, namespaces, manifests)
    cluster.kubectl("delete", "llmpol", governed, "--wait=false", check=False)
    operator.stop()
    print(f"--- operator log ({operator.log}) ---\n{operator.log_tail(200)}")
    emulator.stop()
    assert "Traceback" not in operator.logs()


def _hand_made(emulator: Emulator, name: str) -> None:
    """An endpoint someone made with boto3, serving one inference component."""
    sm = boto3_client(emulator.url)
    builders.model(sm, f"{name}-model")
    builders.component_config(sm, f"{name}-config", scaling=(1, 2))
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300}
    )
    builders.component(sm, f"{name}-ic", name, model_name=f"{name}-model")


@dataclass
class Planned:
    statuses: dict[str, dict[str, Any]]  # case -> status once settled
    result: subprocess.CompletedProcess[str]  # `plan -f` of every manifest, as JSON
    entries: dict[str, dict[str, Any]]  # namespace -> its LLMEndpoint's plan


@pytest.fixture(scope="module")
def planned(world: World, tmp_path_factory: pytest.TempPathFactory) -> Planned:
    """Every case settled, then one `plan -f` of the file of every manifest applied."""
    statuses: dict[str, dict[str, Any]] = {}
    for case, manifest in world.manifests.items():
        kubectl = Kubectl(world.cluster, world.namespaces[case])
        found = wait_settled(kubectl, manifest["metadata"]["name"], log=world.operator.log_tail)
        statuses[case] = found["status"]
    every = [
        {**m, "metadata": {**m["metadata"], "namespace": world.namespaces[case]}}
        for case, m in world.manifests.items()
    ]
    result = _plan(world, every, tmp_path_factory.mktemp("plan"), "-o", "json")
    entries: dict[str, dict[str, Any]] = {}
    if result.stdout.strip():
        entries = {e["namespace"]: e for e in json.loads(result.stdout)["llmEndpoints"]}
    return Planned(statuses, result, entries)


def test_plan_right_after_the_operator_applied_every_manifest_exits_0(planned: Planned) -> None:
    out = planned.result.stdout + planned.result.stderr
    assert planned.result.returncode == 0, out
    assert "Traceback" not in out


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan_shows_no_change_for_what_the_operator_just_made(
    world: World, planned: Planned, case: str
) -> None:
    namespace, manifest = world.namespaces[case], world.manifests[case]
    name, status = manifest["metadata"]["name"], planned.statuses[case]
    # What the operator made carries its cluster name and lands where it should.
    if case == "adoption":
        assert status["endpointName"] == HAND_MADE
    else:
        assert status["endpointName"] == naming.endpoint_name(namespace, name, CLUSTER_NAME)
    account = "111111111111" if case == "namespace-role" else "123456789012"
    assert f":{account}:endpoint/" in status["endpointArn"]
    if "autoscaling" in manifest["spec"]:
        assert (
            status["autoscaling"]["maxReplicas"] == manifest["spec"]["autoscaling"]["maxReplicas"]
        )

    entry = planned.entries.get(namespace)
    assert entry is not None, planned.result.stdout + planned.result.stderr
    shown = json.dumps(entry, indent=1)
    assert entry["name"] == name and entry["exists"], shown
    assert entry["errors"] == [] and entry["changes"] == [], shown
    assert entry["exact"], shown
    # Plan was not told the operator's cluster name: it read it from its tags.
    assert any(
        w.startswith("ClusterName: ") and repr(CLUSTER_NAME) in w for w in entry["warnings"]
    ), shown
    if case != "policy":
        assert entry["policy"] is None, shown
        return
    # Rendered under the policy, as the operator did: what it applied, and the budget's
    # room with this LLMEndpoint counted once (at 2 x ml.g5.12xlarge, 14.18 USD/h).
    assert status["policy"]["governedBy"] == [namespace]
    shown_policy = entry["policy"]
    assert shown_policy["governedBy"] == [namespace], shown
    assert {d["field"] for d in shown_policy["defaults"]} == {"aws.vpc", "aws.tags.owner"}
    assert shown_policy["enforcedTags"] == [
        {"field": "aws.tags.cost-center", "value": "1234", "policy": namespace, "enforced": True}
    ]
    assert shown_policy["violations"] == [] and not shown_policy["budgetExceeded"]
    assert shown_policy["budget"] == [
        {
            "policy": namespace,
            "endpoints": 1,
            "maxEndpoints": 3,
            "endpointsLeft": 2,
            "ceilingCostPerHourUSD": "14.18",
            "maxCostPerHourUSD": "60.00",
            "leftPerHourUSD": "45.82",
        }
    ], shown


def test_plan_of_an_adoption_shows_the_tagging_and_what_follows(
    world: World, namespace: str, tmp_path: Path
) -> None:
    """Before the operator adopts: the tags it adds, then its own resources replacing
    the hand-made ones, as the operator goes on in the same pass."""
    _hand_made(world.emulator, "hand-made-later")
    # The operator allows adoption where no policy governs: plan reads the same setting.
    allow = {"LLMOP_ALLOW_ADOPTION": "true"}
    refused = _plan(world, [_adopting("hand-made-later")], tmp_path, "-n", namespace)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "error: AdoptionNotAllowed: " in refused.stdout
    result = _plan(world, [_adopting("hand-made-later")], tmp_path, "-n", namespace, env=allow)
    out = result.stdout + result.stderr
    assert result.returncode == 2, out
    for step in (
        "~ AddTags model hand-made-later-model",
        "~ AddTags endpoint config hand-made-later-config",
        "~ AddTags inference component hand-made-later-ic",
        "~ AddTags endpoint hand-made-later",
        "~ UpdateEndpoint endpoint hand-made-later",
        "- DeleteInferenceComponent inference component hand-made-later-ic",
    ):
        assert step in result.stdout, out
    assert "Tags.llmoperator.io/uid: '(not created yet)'" in result.stdout, out
    assert "NameConflict" not in out
    sm = boto3_client(world.emulator.url)
    arn = sm.describe_endpoint(EndpointName="hand-made-later")["EndpointArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == []  # nothing tagged


def _plan(
    world: World,
    manifests: list[dict[str, Any]],
    tmp_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`llm-operator plan -f` as a person runs it: no LLMOP_ settings but `env`, the
    admin's kubeconfig, the emulator's AWS environment."""
    path = tmp_path / "llme.yaml"
    path.write_text(to_yaml(*manifests))
    return cli(
        "plan",
        "-f",
        str(path),
        *args,
        emulator=world.emulator,
        kubeconfig=world.cluster.kubeconfig,
        extra_env=env,
    )
