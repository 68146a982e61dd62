"""The cluster id, in-process against the emulator: what the operator creates carries it,
what an older operator created gets it once, and nothing is written without it."""

from __future__ import annotations

import asyncio
from typing import Any

from llm_operator.core.adoption import ADOPT_ANNOTATION
from llm_operator.core.desired import CLUSTER_ID_TAG, UID_TAG
from tests.emulator import builders
from tests.plugins.operator_fixtures import SageMakerEmulator
from tests.plugins.reconciling import CLUSTER_ID, RecordingCluster, body, ready, reconciler, until
from tests.plugins.sagemaker import tags_by_arn


def operations(emulated: SageMakerEmulator, since: int) -> list[str]:
    return [c["operation"] for c in emulated.admin.call_log(since=since)]


def last_seq(emulated: SageMakerEmulator) -> int:
    log = emulated.admin.call_log()
    return log[-1]["seq"] if log else 0


def settled(result: Any, status: Any) -> bool:
    return bool(result.outcome == "settled" and ready(result, status))


def test_resources_carry_the_cluster_id_and_an_older_operators_get_it_once(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    sm = emulated_sagemaker.client()

    async def scenario() -> None:
        cluster = RecordingCluster()
        first = reconciler(cluster)
        try:
            await until(first, cluster, settled)
        finally:
            first.close()
        made = tags_by_arn(sm)
        assert len(made) == 4
        assert {t.get(CLUSTER_ID_TAG) for t in made.values()} == {CLUSTER_ID}

        # As an operator older than the tag left them; then a new operator starts.
        for arn in made:
            sm.delete_tags(ResourceArn=arn, TagKeys=[CLUSTER_ID_TAG])
        since = last_seq(emulated_sagemaker)
        upgraded = reconciler(cluster)
        try:
            await until(upgraded, cluster, settled)
            calls = operations(emulated_sagemaker, since)
            assert calls.count("AddTags") == 4
            assert not [c for c in calls if c.startswith(("Create", "Update", "Delete"))]
            assert {t.get(CLUSTER_ID_TAG) for t in tags_by_arn(sm).values()} == {CLUSTER_ID}
            # Tagged once: the next passes neither tag nor read the tags again.
            since = last_seq(emulated_sagemaker)
            for _ in range(3):
                await upgraded.reconcile(body(cluster), deleting=False)
            again = operations(emulated_sagemaker, since)
            assert "AddTags" not in again and "ListTags" not in again, again
        finally:
            upgraded.close()

    asyncio.run(scenario())


def test_without_the_cluster_id_nothing_is_written(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    async def scenario() -> None:
        cluster = RecordingCluster(cluster_id=None)
        r = reconciler(cluster)
        try:
            await r.reconcile(body(cluster), deleting=False)
        finally:
            r.close()
        degraded = next(c for c in cluster.status["conditions"] if c["type"] == "Degraded")
        assert degraded["status"] == "True"
        assert degraded["reason"] == "ClusterIdentityUnreadable"
        assert "kube-system" in degraded["message"] and "get on namespaces" in degraded["message"]

    asyncio.run(scenario())
    assert not [c for c in emulated_sagemaker.admin.call_log() if c["write"]]


def test_adoption_refuses_what_another_clusters_tags_claim(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    sm = emulated_sagemaker.client()
    builders.model(sm, "west-model")
    builders.component_config(sm, "west-config", scaling=(1, 2))
    sm.create_endpoint(EndpointName="west-chat", EndpointConfigName="west-config")
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName="west-chat", WaiterConfig={"Delay": 0.1, "MaxAttempts": 200}
    )
    arn = sm.describe_endpoint(EndpointName="west-chat")["EndpointArn"]
    # Its uid tag removed by hand, its cluster's id still on it.
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": CLUSTER_ID_TAG, "Value": "another-cluster"}])
    since = last_seq(emulated_sagemaker)

    async def scenario() -> None:
        cluster = RecordingCluster()
        r = reconciler(cluster, allow_adoption=True)
        doc = body(cluster)
        doc["metadata"]["annotations"] = {ADOPT_ANNOTATION: "west-chat"}
        try:
            await r.reconcile(doc, deleting=False)
        finally:
            r.close()
        degraded = next(c for c in cluster.status["conditions"] if c["type"] == "Degraded")
        assert degraded["reason"] == "AdoptionRefused", degraded
        assert "another cluster's (another-cluster)" in degraded["message"]

    asyncio.run(scenario())
    writes = [c for c in emulated_sagemaker.admin.call_log(since=since) if c["write"]]
    assert writes == []
    assert UID_TAG not in {t["Key"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}
