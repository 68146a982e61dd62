"""Adopting a hand-made endpoint on explicit opt-in, in-process against the emulator.

The endpoint is never deleted or re-created: it is tagged, updated to the
operator's endpoint config, its hand-made component replaced by the operator's,
and what it used before is garbage collected once unused (it carries our tags).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from llm_operator.core.adoption import ADOPT_ANNOTATION
from llm_operator.core.desired import UID_TAG
from llm_operator.shell.reconciler import PassResult, Reconciler
from tests.emulator import builders
from tests.plugins.operator_fixtures import SageMakerEmulator
from tests.plugins.reconciling import SPEC, RecordingCluster, body, ready, reconciler

HAND = "hand-made-chat"


def hand_made(sm: Any) -> dict[str, Any]:
    builders.model(sm, "hand-model")
    builders.component_config(sm, "hand-config", scaling=(1, 2))
    sm.create_endpoint(EndpointName=HAND, EndpointConfigName="hand-config")
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName=HAND, WaiterConfig={"Delay": 0.1, "MaxAttempts": 200}
    )
    builders.component(sm, "hand-ic", HAND, model_name="hand-model")
    return dict(sm.describe_endpoint(EndpointName=HAND))


def adopting(cluster: RecordingCluster, spec: Mapping[str, Any] = SPEC) -> dict[str, Any]:
    doc = body(cluster, spec)
    doc["metadata"]["annotations"] = {ADOPT_ANNOTATION: HAND}
    return doc


async def passes(
    r: Reconciler, cluster: RecordingCluster, sm: Any, done: Any, *, deleting: bool = False
) -> list[str]:
    """Passes until `done`; the endpoint's status after each one, "InService" only
    while an inference component on it serves."""
    seen: list[str] = []
    for _ in range(120):
        result: PassResult = await r.reconcile(adopting(cluster), deleting=deleting)
        found = sm.list_endpoints(NameContains=HAND)["Endpoints"]
        serving = sm.list_inference_components(EndpointNameEquals=HAND, StatusEquals="InService")[
            "InferenceComponents"
        ]
        state = found[0]["EndpointStatus"] if found else "absent"
        seen.append(state if serving or state != "InService" else "InService, nothing serving")
        if done(result, cluster.status):
            return seen
        await asyncio.sleep(0.05)
    raise AssertionError(f"not done: {cluster.status.get('conditions')}")


def test_an_adopted_endpoint_is_tagged_updated_in_place_and_its_old_parts_collected(
    aws_env: None,
    emulated_sagemaker: SageMakerEmulator,
) -> None:
    sm = emulated_sagemaker.client()
    before = hand_made(sm)

    async def scenario() -> list[str]:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            seen = await passes(r, cluster, sm, ready)
            # Settles: the hand-made model, config and component go once unused.
            seen += await passes(
                r,
                cluster,
                sm,
                lambda res, _: (
                    res.outcome == "settled"
                    and "hand-config" not in emulated_sagemaker.names()["endpoint_configs"]
                ),
            )
        finally:
            r.close()
        assert cluster.status["endpointName"] == HAND
        assert cluster.status["adopted"] == {
            "endpoint": HAND,
            "endpointConfigs": ["hand-config"],
            "models": ["hand-model"],
            "inferenceComponents": ["hand-ic"],
        }
        assert cluster.reasons().count("Adopted") == 4
        assert "CreateEndpoint" not in cluster.reasons()
        assert "DeleteEndpoint" not in cluster.reasons()
        assert "UpdateEndpoint" in cluster.reasons()
        return seen

    seen = asyncio.run(scenario())
    assert set(seen) <= {"InService", "Updating"}, seen  # never gone, never re-created
    after = sm.describe_endpoint(EndpointName=HAND)
    assert after["CreationTime"] == before["CreationTime"]
    assert after["EndpointArn"] == before["EndpointArn"]
    names = emulated_sagemaker.names()
    assert "hand-ic" not in names["inference_components"]
    assert "hand-model" not in names["models"]
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=after["EndpointArn"])["Tags"]}
    assert tags[UID_TAG] == "uid-1"


def test_deleting_an_adopted_endpoint_follows_the_deletion_policy(
    aws_env: None,
    emulated_sagemaker: SageMakerEmulator,
) -> None:
    sm = emulated_sagemaker.client()
    hand_made(sm)

    async def scenario() -> None:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        retain = {**SPEC, "deletionPolicy": "Retain"}
        try:
            for _ in range(120):
                await r.reconcile(adopting(cluster, retain), deleting=False)
                if ready(None, cluster.status):  # type: ignore[arg-type]
                    break
                await asyncio.sleep(0.05)
            result = await r.reconcile(adopting(cluster, retain), deleting=True)
            assert result.deleted  # Retain: the LLMEndpoint goes, the endpoint stays
            assert sm.describe_endpoint(EndpointName=HAND)["EndpointStatus"] == "InService"
            await passes(r, cluster, sm, lambda res, _: res.deleted, deleting=True)
        finally:
            r.close()

    asyncio.run(scenario())
    assert not any(emulated_sagemaker.names().values())


def test_an_endpoint_tagged_for_another_owner_is_never_adopted(
    aws_env: None,
    emulated_sagemaker: SageMakerEmulator,
) -> None:
    sm = emulated_sagemaker.client()
    endpoint = hand_made(sm)
    sm.add_tags(
        ResourceArn=endpoint["EndpointArn"], Tags=[{"Key": UID_TAG, "Value": "someone-else"}]
    )
    before = emulated_sagemaker.admin.calls()

    async def scenario() -> None:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            result = await r.reconcile(adopting(cluster), deleting=False)
        finally:
            r.close()
        assert result.outcome == "degraded"
        degraded = next(c for c in cluster.status["conditions"] if c["type"] == "Degraded")
        assert degraded["reason"] == "AdoptionRefused"
        assert HAND in degraded["message"] and "someone-else" in degraded["message"]

    asyncio.run(scenario())
    calls = emulated_sagemaker.admin.calls()
    writes = ("Create", "Update", "Delete", "AddTags")
    assert {op: n for op, n in calls.items() if op.startswith(writes)} == {
        op: n for op, n in before.items() if op.startswith(writes)
    }
