"""Deleting an autoscaled LLMEndpoint (and `audit` deleting an orphaned one), in-process:
the real Reconciler, boto3 adapter and observer against the emulator with moto beside it
(Application Auto Scaling, CloudWatch).

A spec that no longer renders is deleted by names alone (`core.render`);
its scalable target, policies and no-capacity alarm must go too, and only when they are
ours. The adapter re-reads a target's tags before every call that acts on it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest

from llm_operator.core import naming
from llm_operator.core.actions import (
    Action,
    DeleteScalingPolicy,
    DeregisterScalableTarget,
    PutScalingPolicy,
)
from llm_operator.core.desired import (
    CLUSTER_ID_TAG,
    MANAGED_BY,
    MANAGED_BY_TAG,
    NAME_TAG,
    NAMESPACE_TAG,
    RETAINED_TAG,
    UID_TAG,
)
from llm_operator.shell import metrics
from llm_operator.shell.aws import AwsError, SageMaker
from llm_operator.shell.execute import execute
from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer
from tests.plugins.emulator_fixtures import ACCOUNT, REGION, boto3_client
from tests.plugins.reconciling import (
    CLUSTER_ID,
    SPEC,
    RecordingCluster,
    body,
    reconciler,
    until,
)

# Scale to zero allowed: a target, the target tracking and from-zero policies, the alarm.
SCALED: dict[str, Any] = {
    **SPEC,
    "instance": {**SPEC["instance"], "minCount": 0},
    "autoscaling": {"minReplicas": 0, "maxReplicas": 2, "target": 4},
}
# The same LLMEndpoint after an instance type left the catalog: it no longer renders.
BROKEN: dict[str, Any] = {**SCALED, "instance": {**SCALED["instance"], "type": "ml.nope.xlarge"}}
ENDPOINT = naming.endpoint_name("team", "chat")
DELETED_AT = "2025-06-01T12:00:00Z"
BASE = naming.base_component_name("team", "chat")
RESOURCE_ID = naming.component_resource_id(BASE)
DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
OURS = {
    naming.target_tracking_policy_name(ENDPOINT),
    naming.from_zero_policy_name(ENDPOINT),
}


class Scaling:
    """What moto holds for Application Auto Scaling and CloudWatch."""

    def __init__(self, moto_url: str) -> None:
        self.aas: Any = boto3_client(moto_url, "application-autoscaling")
        self.cw: Any = boto3_client(moto_url, "cloudwatch")

    def targets(self) -> list[str]:
        found = self.aas.describe_scalable_targets(ServiceNamespace="sagemaker")
        return sorted(t["ResourceId"] for t in found["ScalableTargets"])

    def policies(self) -> set[str]:
        found = self.aas.describe_scaling_policies(ServiceNamespace="sagemaker")
        return {p["PolicyName"] for p in found["ScalingPolicies"]}

    def alarms(self) -> set[str]:
        return {a["AlarmName"] for a in self.cw.describe_alarms()["MetricAlarms"]}


@pytest.fixture
def scaling(aws_env_with_moto: EmulatorServer) -> Scaling:
    assert aws_env_with_moto.moto_url is not None
    return Scaling(aws_env_with_moto.moto_url)


def settled(result: Any, status: Mapping[str, Any]) -> bool:
    """Ready with nothing left to do: the target, both policies and the alarm are in place."""
    ready = any(
        c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or []
    )
    return ready and result.outcome == "settled"


def resource_names(emulator: EmulatorServer) -> dict[str, list[str]]:
    return AdminClient(emulator.url).resource_names(ACCOUNT, REGION)


@pytest.mark.parametrize("remembered", [True, False], ids=["remembered", "status-lost"])
def test_a_spec_that_no_longer_renders_still_deletes_its_scaling(
    scaling: Scaling, autoscaling_emulator: EmulatorServer, remembered: bool
) -> None:
    """`remembered`: status says the LLMEndpoint has autoscaling; without it (a crash
    right after registering the target), the raw spec's autoscaling says where to look."""

    async def scenario() -> list[str]:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            await until(r, cluster, settled, spec=SCALED)
            assert scaling.targets() == [RESOURCE_ID]
            assert scaling.policies() == OURS
            assert naming.no_capacity_alarm_name(ENDPOINT) in scaling.alarms()
            if not remembered:
                cluster.status["planMemory"]["autoscaled"] = False
            await until(r, cluster, lambda res, _: res.deleted, deleting=True, spec=BROKEN)
        finally:
            r.close()
        return cluster.reasons()

    reasons = asyncio.run(scenario())
    assert scaling.targets() == []
    assert scaling.policies() == set()
    assert naming.no_capacity_alarm_name(ENDPOINT) not in scaling.alarms()
    assert not any(resource_names(autoscaling_emulator).values())
    for operation in ("DeleteAlarms", "DeleteScalingPolicy", "DeregisterScalableTarget"):
        assert operation in reasons


def test_a_spec_that_no_longer_renders_leaves_someone_elses_target_alone(
    scaling: Scaling, autoscaling_emulator: EmulatorServer
) -> None:
    """Someone replaced our target on our component with theirs, with a policy of a name
    ours would have: not ours (the uid tag says so), so neither is touched."""

    async def scenario() -> RecordingCluster:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            await until(r, cluster, settled, spec=SCALED)
            scaling.aas.deregister_scalable_target(
                ServiceNamespace="sagemaker", ResourceId=RESOURCE_ID, ScalableDimension=DIMENSION
            )
            scaling.aas.register_scalable_target(
                ServiceNamespace="sagemaker",
                ResourceId=RESOURCE_ID,
                ScalableDimension=DIMENSION,
                MinCapacity=1,
                MaxCapacity=3,
                Tags={UID_TAG: "uid-someone-else", NAMESPACE_TAG: "other", NAME_TAG: "theirs"},
            )
            scaling.aas.put_scaling_policy(
                PolicyName=naming.target_tracking_policy_name(ENDPOINT),
                ServiceNamespace="sagemaker",
                ResourceId=RESOURCE_ID,
                ScalableDimension=DIMENSION,
                PolicyType="TargetTrackingScaling",
                TargetTrackingScalingPolicyConfiguration={
                    "TargetValue": 10.0,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": ("SageMakerInferenceComponentInvocationsPerCopy")
                    },
                },
            )
            await until(r, cluster, lambda res, _: res.deleted, deleting=True, spec=BROKEN)
        finally:
            r.close()
        return cluster

    cluster = asyncio.run(scenario())
    assert scaling.targets() == [RESOURCE_ID]
    assert scaling.policies() == {naming.target_tracking_policy_name(ENDPOINT)}
    assert "DeregisterScalableTarget" not in cluster.reasons()
    assert "DeleteScalingPolicy" not in cluster.reasons()
    conflicts = [m for _, reason, m in cluster.events if reason == "NameConflict"]
    assert any(RESOURCE_ID in m and "other/theirs" in m for m in conflicts), cluster.events


def test_the_adapter_acts_on_a_target_and_its_policies_only_while_the_target_is_ours(
    scaling: Scaling,
) -> None:
    """Deregistering and putting or deleting a policy act on whatever target holds the
    ResourceId, so the adapter reads the target's tags right before each call."""
    adapter = SageMaker(workers=2, calls_per_second=1000, burst=1000, max_attempts=1)
    policy_name = naming.target_tracking_policy_name(ENDPOINT)
    put = PutScalingPolicy(
        name=policy_name,
        resource_id=RESOURCE_ID,
        dimension=DIMENSION,
        policy_type="TargetTrackingScaling",
        configuration={
            "TargetValue": 4.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"
            },
        },
        owner_uid="uid-1",
    )
    delete_policy = DeleteScalingPolicy(
        name=policy_name, resource_id=RESOURCE_ID, dimension=DIMENSION, owner_uid="uid-1"
    )
    deregister = DeregisterScalableTarget(name=RESOURCE_ID, dimension=DIMENSION, owner_uid="uid-1")

    def run(action: Action) -> str:
        return asyncio.run(execute(adapter, REGION, action)).note

    def register(uid: str) -> None:
        scaling.aas.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId=RESOURCE_ID,
            ScalableDimension=DIMENSION,
            MinCapacity=1,
            MaxCapacity=3,
            Tags={UID_TAG: uid},
        )

    try:
        # No target: deletes are done, a policy has nothing to stand on.
        assert run(deregister) == "already gone"
        assert run(delete_policy) == "already gone"
        with pytest.raises(AwsError) as missing:
            run(put)
        assert missing.value.kind == "not_found"

        # Someone else's target: nothing is written, whatever the policy's name.
        register("uid-someone-else")
        scaling.aas.put_scaling_policy(**put.request())
        for action in (put, delete_policy, deregister):
            with pytest.raises(AwsError) as refused:
                run(action)
            assert (refused.value.code, refused.value.kind) == ("NameConflict", "conflict")
        assert scaling.targets() == [RESOURCE_ID]
        assert scaling.policies() == {policy_name}

        # Ours: each call goes through.
        scaling.aas.deregister_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=RESOURCE_ID, ScalableDimension=DIMENSION
        )
        register("uid-1")
        assert run(put) == ""
        assert scaling.policies() == {policy_name}
        assert run(delete_policy) == ""
        assert scaling.policies() == set()
        assert run(deregister) == ""
        assert scaling.targets() == []
    finally:
        adapter.close()


def test_retain_keeps_the_scaling_resources_and_lists_them(
    scaling: Scaling, autoscaling_emulator: EmulatorServer
) -> None:
    """Retain keeps autoscaling running on the endpoint it keeps (scaled to zero, it still
    comes back on traffic), the Retained Event names what stays, and each kept resource
    is tagged llmoperator.io/retained before the finalizer goes."""
    retain = {**SCALED, "deletionPolicy": "Retain"}

    async def scenario() -> RecordingCluster:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            await until(r, cluster, settled, spec=retain)
            await until(
                r,
                cluster,
                lambda res, _: res.deleted,
                deleting=True,
                spec=retain,
                meta={"deletionTimestamp": DELETED_AT},
            )
        finally:
            r.close()
        return cluster

    cluster = asyncio.run(scenario())
    # Everything kept carries the time of deletion, which outlives the Retained Event.
    (target,) = scaling.aas.describe_scalable_targets(ServiceNamespace="sagemaker")[
        "ScalableTargets"
    ]
    tags = scaling.aas.list_tags_for_resource(ResourceARN=target["ScalableTargetARN"])["Tags"]
    assert tags[RETAINED_TAG] == DELETED_AT and tags[UID_TAG] == "uid-1"
    (found,) = scaling.cw.describe_alarms(AlarmNames=[naming.no_capacity_alarm_name(ENDPOINT)])[
        "MetricAlarms"
    ]
    listed = scaling.cw.list_tags_for_resource(ResourceARN=found["AlarmArn"])["Tags"]
    assert {"Key": RETAINED_TAG, "Value": DELETED_AT} in listed
    sm = boto3_client(autoscaling_emulator.url)
    arns = [
        *(e["EndpointArn"] for e in sm.list_endpoints()["Endpoints"]),
        *(
            c["InferenceComponentArn"]
            for c in sm.list_inference_components()["InferenceComponents"]
        ),
        *(c["EndpointConfigArn"] for c in sm.list_endpoint_configs()["EndpointConfigs"]),
        *(m["ModelArn"] for m in sm.list_models()["Models"]),
    ]
    assert len(arns) == 4
    for arn in arns:
        kept = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}
        assert kept[RETAINED_TAG] == DELETED_AT and kept[UID_TAG] == "uid-1", arn
    assert scaling.targets() == [RESOURCE_ID]
    assert scaling.policies() == OURS
    alarm = naming.no_capacity_alarm_name(ENDPOINT)
    assert alarm in scaling.alarms()
    (message,) = [m for _, reason, m in cluster.events if reason == "Retained"]
    assert (
        f"Application Auto Scaling scalable target {RESOURCE_ID} with scaling policies "
        f"{naming.from_zero_policy_name(ENDPOINT)}, {naming.target_tracking_policy_name(ENDPOINT)}"
        f"; CloudWatch alarms {alarm}"
    ) in message
    assert any(resource_names(autoscaling_emulator).values())


def test_audit_lists_and_deletes_an_orphans_scaling_with_it(
    scaling: Scaling, autoscaling_emulator: EmulatorServer, tmp_path: Any
) -> None:
    """An autoscaled LLMEndpoint forced away: `audit` finds its scalable target and
    no-capacity alarm beside its SageMaker resources, and deletes them first; an alarm of
    another cluster's, and someone's untagged alarm with a name like ours, stay."""
    import boto3

    from llm_operator.shell.commands import audit

    async def create() -> None:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            await until(r, cluster, settled, spec=SCALED)
        finally:
            r.close()

    asyncio.run(create())
    theirs = "west-chat-no-capacity"
    for name, tags in ((theirs, {CLUSTER_ID_TAG: "west"}), ("by-hand-no-capacity", None)):
        scaling.cw.put_metric_alarm(
            AlarmName=name,
            MetricName="NoCapacityInvocationFailures",
            Namespace="AWS/SageMaker",
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            Tags=[
                {"Key": k, "Value": v}
                for k, v in {
                    **({UID_TAG: "uid-west", MANAGED_BY_TAG: MANAGED_BY} if tags else {}),
                    **(tags or {}),
                }.items()
            ],
        )
    account = audit.Account("default", boto3.session.Session(region_name=REGION))
    here = audit.Here(CLUSTER_ID)
    try:
        found = asyncio.run(audit._scan_region(account, REGION, here))
        audit.classify(found, live={}, retained=set())
        states = {(r.kind, r.name): r.state for r in found}
        alarm = naming.no_capacity_alarm_name(ENDPOINT)
        assert states[("alarm", alarm)] == audit.ORPHANED
        assert states[("scalable target", RESOURCE_ID)] == audit.ORPHANED
        assert states[("alarm", theirs)] == audit.OTHER_CLUSTER
        assert ("alarm", "by-hand-no-capacity") not in states
        assert sum(s == audit.ORPHANED for s in states.values()) == 6
        victims = [r for r in found if r.state == audit.ORPHANED]
        with (tmp_path / "out.txt").open("w") as out:
            done = asyncio.run(audit.delete(account, victims, here, out))
    finally:
        account.sagemaker.close()
    assert [d["kind"] for d in done][:2] == ["alarm", "scalable target"]
    assert {d["result"] for d in done} == {"deleted"}, done
    assert scaling.targets() == []
    assert scaling.policies() == set()  # deregistering the target deleted them
    assert scaling.alarms() == {theirs, "by-hand-no-capacity"}
    boto3_client(autoscaling_emulator.url).get_waiter("endpoint_deleted").wait(
        EndpointName=ENDPOINT, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
    )
    assert not any(resource_names(autoscaling_emulator).values())


def _aws_calls() -> Counter[str]:
    """The operator's own count of its AWS calls by operation (every outcome)."""
    counted: Counter[str] = Counter()
    for metric in metrics.AWS_CALLS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                counted[sample.labels["operation"]] += int(sample.value)
    return counted


def test_a_target_registered_and_policies_put_are_not_read_back(
    scaling: Scaling, autoscaling_emulator: EmulatorServer
) -> None:
    """The target this process registered and the policies it put are known from its own
    requests and their answers: creating them costs no read-back (DescribeScalableTargets,
    DescribeScalingPolicies) and no DescribeScalingActivities (nothing has scaled a new
    target), and the status written is the one a replica that reads them back writes."""
    steady = {**SPEC, "autoscaling": {"minReplicas": 2, "maxReplicas": 2, "target": 4}}

    async def scenario() -> tuple[Counter[str], dict[str, Any], dict[str, Any]]:
        cluster = RecordingCluster()
        before = _aws_calls()
        first = reconciler(cluster)
        try:
            await until(first, cluster, settled, spec=steady)
        finally:
            first.close()
        creating = _aws_calls() - before
        created = dict(cluster.status)
        second = reconciler(cluster)
        try:
            await second.reconcile(body(cluster, steady), deleting=False)
        finally:
            second.close()
        return creating, created, dict(cluster.status)

    creating, created, read_back = asyncio.run(scenario())
    assert creating["RegisterScalableTarget"] == 1 and creating["PutScalingPolicy"] == 1
    # The region's first listing, then the register's and the put's guards: a new
    # LLMEndpoint's first pass does not ask for a target it cannot have yet.
    assert creating["DescribeScalableTargets"] == 3
    assert creating["DescribeScalingPolicies"] == 1  # the region's first listing only
    assert creating["DescribeScalingActivities"] == 0
    assert created["autoscaling"] == read_back["autoscaling"]
    assert created == read_back
