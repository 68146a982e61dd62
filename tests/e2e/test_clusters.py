"""Several clusters, one AWS account: every resource says which cluster made it, `audit`
speaks for one cluster only, and the same name in two clusters makes two endpoints.

The session's control plane is one cluster ("east"); this module starts two more
("west", "north") from the same binaries. All of them talk to one emulator, as
clusters sharing an account talk to one SageMaker.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llm_operator.api.crd import CRD_NAME
from llm_operator.core import naming
from llm_operator.core.kinds import Kind
from local_cluster.cluster import LocalCluster
from local_cluster.services import Emulator, Operator
from local_cluster.waiting import wait_for
from tests.plugins.cluster_fixtures import CRD_FILE, Kubectl
from tests.plugins.commands import cli
from tests.plugins.emulator_fixtures import ACCOUNT, REGION
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import get_llme, wait_gone, wait_ready
from tests.plugins.operator_fixtures import EmulatorProcesses, OperatorIdentity, started_operator
from tests.plugins.recording_proxy import RecordingProxy
from tests.plugins.sagemaker import SageMaker, tags_by_arn

pytestmark = pytest.mark.e2e

CLUSTER_ID_TAG = "llmoperator.io/cluster-id"
UID_TAG = "llmoperator.io/uid"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/x:1"


def cluster_id(cluster: LocalCluster) -> str:
    found = cluster.kubectl(
        "get", "namespace", "kube-system", "-o", "jsonpath={.metadata.uid}"
    ).stdout.strip()
    assert found
    return found


@pytest.fixture(scope="module")
def other_clusters(cluster: LocalCluster) -> Iterator[tuple[LocalCluster, LocalCluster]]:
    """Two more control planes beside the session's, with the CRD Established."""
    with (
        LocalCluster(cluster.binaries.bin_dir) as west,
        LocalCluster(cluster.binaries.bin_dir) as north,
    ):
        for c in (west, north):
            c.kubectl("apply", "--server-side", "-f", str(CRD_FILE))
            c.wait_established(f"crd/{CRD_NAME}")
        yield west, north


def chat(region: str = "us-east-1", name: str = "chat") -> dict[str, Any]:
    resource = llmendpoint("mistral-7b-inference-components", aws={"region": region})
    resource["metadata"] = {"name": name}
    resource["spec"]["resources"]["copies"] = 1
    return resource


def in_namespace(cluster: LocalCluster, namespace: str) -> Kubectl:
    """The namespace in `cluster` (created when missing), as its admin sees it."""
    cluster.kubectl("create", "namespace", namespace, check=False)
    return Kubectl(cluster, namespace)


def audit(cluster: LocalCluster, emulator: Emulator, *args: str, name: str = "") -> Any:
    """`llm-operator audit` with `cluster`'s kubeconfig (and its cluster name, if any)."""
    done = cli(
        "audit",
        "--region",
        "us-east-1",
        "--region",
        "us-west-2",
        *args,
        emulator=emulator,
        kubeconfig=Path(cluster.kubeconfig),
        extra_env={"LLMOP_CLUSTER_NAME": name},
    )
    return done


def audited(cluster: LocalCluster, emulator: Emulator, *args: str, name: str = "") -> Any:
    done = audit(cluster, emulator, "-o", "json", *args, name=name)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def hand_made_model(
    emulator: Emulator, name: str, uid: str, cluster: str | None, region: str = "us-east-1"
) -> str:
    """A model tagged as the operator's for a uid no cluster has; with `cluster`'s id."""
    tags = {
        "llmoperator.io/managed-by": "sagemaker-llm-operator",
        "llmoperator.io/namespace": "gone",
        "llmoperator.io/name": name,
        UID_TAG: uid,
    }
    if cluster is not None:
        tags[CLUSTER_ID_TAG] = cluster
    answer = SageMaker(emulator, region).client.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE},
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    return str(answer["ModelArn"])


def owned(emulator: Emulator, uid: str, region: str = "us-east-1") -> dict[str, dict[str, str]]:
    """ARN -> tags of every SageMaker resource whose uid tag is `uid`."""
    found = tags_by_arn(SageMaker(emulator, region).client)
    return {arn: tags for arn, tags in found.items() if tags.get(UID_TAG) == uid}


@pytest.fixture
def emulator_and_moto(emulators: EmulatorProcesses) -> Emulator:
    """The emulator process with moto beside it: audit lists scalable targets and alarms."""
    return emulators.fresh(delay=0.2, args=["--with-moto"])


def test_audit_in_one_cluster_never_deletes_another_clusters_endpoints(
    cluster: LocalCluster,
    other_clusters: tuple[LocalCluster, LocalCluster],
    operator_identity: OperatorIdentity,
    kubectl: Kubectl,
    namespace: str,
    emulator_and_moto: Emulator,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """Two clusters leaving the cluster name empty (the default), one account, the same
    LLMEndpoint apps/chat in each (in two regions, as their names are the same): east's
    audit deletes its own orphan and nothing of west's."""
    east, (west, _) = cluster, other_clusters
    emulator = emulator_and_moto
    west_kubectl = in_namespace(west, namespace)
    east_op = started_operator(
        operator_identity.kubeconfig, emulator, namespace, tmp_path / "east.log"
    )
    west_op = started_operator(west.kubeconfig, emulator, namespace, tmp_path / "west.log")
    for op in (east_op, west_op):  # even if the test fails: the emulator outlives it
        request.addfinalizer(op.stop)
    kubectl.apply(to_yaml(chat("us-east-1"), chat("us-east-1", "old")))
    west_kubectl.apply(to_yaml(chat("us-west-2")))
    wait_ready(kubectl, "chat", log=east_op.log_tail)
    old_uid = wait_ready(kubectl, "old", log=east_op.log_tail)["metadata"]["uid"]
    west_chat = wait_ready(west_kubectl, "chat", log=west_op.log_tail)
    west_uid = west_chat["metadata"]["uid"]
    west_resources = owned(emulator, west_uid, "us-west-2")
    assert len(west_resources) == 4
    assert {t[CLUSTER_ID_TAG] for t in west_resources.values()} == {cluster_id(west)}

    # A real orphan of east's: its finalizer forced away while east's operator is down.
    east_op.stop()
    kubectl("patch", "llmendpoint", "old", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    kubectl("delete", "llmendpoint", "old")
    # Made before clusters were tagged: nothing says whose it is.
    hand_made_model(emulator, "made-before-cluster-ids", "0000-gone", None)

    listed = audited(east, emulator)
    states = {(r["name"], r["state"]) for r in listed["resources"]}
    assert {r["uid"] for r in listed["resources"] if r["state"] == "orphaned"} == {old_uid}
    assert ("made-before-cluster-ids", "unattributed") in states
    assert not [r for r in listed["resources"] if r["uid"] == west_uid]
    assert listed["clusterId"] == cluster_id(east)
    everything = audited(east, emulator, "--all-clusters")
    theirs = [r for r in everything["resources"] if r["uid"] == west_uid]
    assert {r["state"] for r in theirs} == {"other cluster"} and len(theirs) == 4
    assert {r["cluster"] for r in theirs} == {cluster_id(west)}

    seq = emulator.admin_client.call_log()[-1]["seq"]
    deleted = audit(east, emulator, "--delete", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    writes = [c for c in emulator.admin_client.call_log(since=seq) if c["write"]]
    assert len(writes) == 4
    assert {(c["tags"] or {}).get(UID_TAG) for c in writes} == {old_uid}
    assert "unattributed" not in deleted.stderr  # not a candidate without the flag

    # Only with the flag, and the warning says what is at stake.
    seq = emulator.admin_client.call_log()[-1]["seq"]
    forced = audit(east, emulator, "--delete", "--yes", "--include-unattributed")
    assert forced.returncode == 0, forced.stderr
    assert "WARNING: 1 of them are unattributed" in forced.stderr
    writes = [c for c in emulator.admin_client.call_log(since=seq) if c["write"]]
    assert [(c["operation"], (c["tags"] or {}).get(UID_TAG)) for c in writes] == [
        ("DeleteModel", "0000-gone")
    ]

    # West never noticed: all four resources there, its LLMEndpoint still Ready.
    assert set(owned(emulator, west_uid, "us-west-2")) == set(west_resources)
    west_after = get_llme(west_kubectl, "chat")
    assert west_after is not None
    ready = {c["type"]: c["status"] for c in west_after["status"]["conditions"]}
    assert ready["Ready"] == "True"
    west_op.stop()


def test_three_clusters_each_audit_their_own_and_tagging_after_an_upgrade_survives_a_kill(
    cluster: LocalCluster,
    other_clusters: tuple[LocalCluster, LocalCluster],
    operator_identity: OperatorIdentity,
    kubectl: Kubectl,
    namespace: str,
    emulator_process: Emulator,
    tmp_path: Path,
) -> None:
    """Three clusters with names, one region: each one's audit lists exactly its own
    orphan; resources made before the cluster id existed get it from their operator,
    a kill -9 in the middle of that included, with nothing created again."""
    emulator = emulator_process
    clusters = {"east": cluster, "west": other_clusters[0], "north": other_clusters[1]}
    ids = {name: cluster_id(c) for name, c in clusters.items()}
    assert len(set(ids.values())) == 3
    for name in clusters:
        hand_made_model(emulator, f"orphan-of-{name}", f"gone-{name}", ids[name])

    # Without Application Auto Scaling and CloudWatch to read (no moto here), audit says
    # what it left out and goes on.
    partial = audit(cluster, emulator, name="east")
    assert partial.returncode == 0, partial.stderr
    assert "warning: scalable targets in default/us-east-1 not audited" in partial.stderr
    for name, c in clusters.items():
        listed = audited(c, emulator, name=name)
        assert [(r["name"], r["state"]) for r in listed["resources"]] == [
            (f"orphan-of-{name}", "orphaned")
        ]
        everything = audited(c, emulator, "--all-clusters", name=name)
        assert {(r["name"], r["state"]) for r in everything["resources"]} == {
            (f"orphan-of-{n}", "orphaned" if n == name else "other cluster") for n in clusters
        }

    # With names set too, east's --delete takes its own orphan and nothing of the others.
    seq = emulator.admin_client.call_log()[-1]["seq"]
    deleted = audit(cluster, emulator, "--delete", "--yes", name="east")
    assert deleted.returncode == 0, deleted.stderr
    writes = [c for c in emulator.admin_client.call_log(since=seq) if c["write"]]
    assert [(c["operation"], (c["tags"] or {}).get(UID_TAG)) for c in writes] == [
        ("DeleteModel", "gone-east")
    ]
    assert SageMaker(emulator).inventory().models == ["orphan-of-north", "orphan-of-west"]

    # East runs an LLMEndpoint, then loses the cluster-id tags as if made before them.
    proxy = RecordingProxy(emulator.url)
    op: Operator = started_operator(
        operator_identity.kubeconfig,
        emulator,
        namespace,
        tmp_path / "east.log",
        LLMOP_CLUSTER_NAME="east",
        AWS_ENDPOINT_URL_SAGEMAKER=proxy.url,
    )
    try:
        kubectl.apply(to_yaml(chat()))
        uid = wait_ready(kubectl, "chat", log=op.log_tail)["metadata"]["uid"]
        op.stop()
        sm = SageMaker(emulator).client
        before = owned(emulator, uid)
        assert len(before) == 4
        assert {t[CLUSTER_ID_TAG] for t in before.values()} == {ids["east"]}
        for arn in before:
            sm.delete_tags(ResourceArn=arn, TagKeys=[CLUSTER_ID_TAG])
        assert not any(CLUSTER_ID_TAG in t for t in owned(emulator, uid).values())

        # kill -9 while the first AddTags is in flight.
        proxy.hold("AddTags")
        since = proxy.mark()
        op.start().wait_healthy()
        wait_for(lambda: proxy.held() > 0, timeout=60, what="AddTags", diagnose=op.log_tail)
        op.kill()
        proxy.drop_held()
        op.start().wait_healthy()
        wait_for(
            lambda: all(
                t.get(CLUSTER_ID_TAG) == ids["east"] for t in owned(emulator, uid).values()
            ),
            timeout=60,
            what="every resource of east's LLMEndpoint tagged with east's cluster id",
            diagnose=op.log_tail,
        )
        after = owned(emulator, uid)
        assert set(after) == set(before)  # the same resources: nothing made again
        calls = [c for c in proxy.calls(since) if c.by_operator]
        assert not [c for c in calls if c.operation.startswith(("Create", "Delete", "Update"))]
        tagged = [c for c in calls if c.operation == "AddTags" and c.status == 200]
        assert len(tagged) == 4, [str(c) for c in calls if c.is_write]
        assert get_llme(kubectl, "chat") is not None
        wait_ready(kubectl, "chat", log=op.log_tail)
    finally:
        op.stop()
        proxy.close()


def test_two_clusters_sharing_an_account_reconcile_the_same_name_side_by_side(
    cluster: LocalCluster,
    other_clusters: tuple[LocalCluster, LocalCluster],
    emulator_process: Emulator,
    namespace: str,
    tmp_path: Path,
) -> None:
    """The same namespace and LLMEndpoint name in two clusters with names, one account and
    region: both Ready under names of their own, and deleting one leaves the other's
    resources alone."""
    second_cluster = other_clusters[0]
    east, west = Kubectl(cluster, namespace), in_namespace(second_cluster, namespace)
    operators = [
        started_operator(
            c.kubeconfig, emulator_process, [namespace], tmp_path / f"{n}.log", LLMOP_CLUSTER_NAME=n
        )
        for c, n in ((cluster, "east"), (second_cluster, "west"))
    ]
    manifest = to_yaml(
        llmendpoint("mistral-7b-inference-components") | {"metadata": {"name": "chat"}}
    )
    try:
        east.apply(manifest)
        west.apply(manifest)
        wait_ready(east, "chat", log=operators[0].log_tail)
        wait_ready(west, "chat", log=operators[1].log_tail)
        east_endpoint = get_llme(east, "chat")["status"]["endpointName"]  # type: ignore[index]
        west_endpoint = get_llme(west, "chat")["status"]["endpointName"]  # type: ignore[index]
        assert east_endpoint == naming.endpoint_name(namespace, "chat", "east")
        assert west_endpoint == naming.endpoint_name(namespace, "chat", "west")
        sagemaker = SageMaker(emulator_process).client
        west_before = sagemaker.describe_endpoint(EndpointName=west_endpoint)
        for c in (east, west):
            for event in c.json("get", "events")["items"]:
                assert event["reason"] != "NameConflict", event

        east("delete", "llmendpoint", "chat", "--wait=false")
        wait_gone(east, "chat", log=operators[0].log_tail)
        names = emulator_process.admin_client.resource_names(ACCOUNT, REGION)
        assert names["endpoints"] == [west_endpoint]
        assert all(
            naming.decode(kind, n) is None
            or naming.decode(kind, n)[0] != naming.owner_hash(namespace, "chat", "east")  # type: ignore[index]
            for kind, table in (
                (Kind.MODEL, names["models"]),
                (Kind.ENDPOINT_CONFIG, names["endpoint_configs"]),
                (Kind.INFERENCE_COMPONENT, names["inference_components"]),
            )
            for n in table
        ), names
        west_after = sagemaker.describe_endpoint(EndpointName=west_endpoint)
        assert west_after["EndpointStatus"] == "InService"
        assert west_after["LastModifiedTime"] == west_before["LastModifiedTime"]
        assert get_llme(west, "chat") is not None
        west("delete", "llmendpoint", "chat", "--wait=false")
        wait_gone(west, "chat", log=operators[1].log_tail)
        assert not any(emulator_process.admin_client.resource_names(ACCOUNT, REGION).values())
    finally:
        for op in operators:
            op.stop()
