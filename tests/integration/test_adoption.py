"""Adopting a hand-made endpoint on explicit opt-in, in-process against the emulator.

The endpoint is never deleted or re-created: it is tagged, updated to the
operator's endpoint config, its hand-made component replaced by the operator's,
and what it used before is garbage collected once unused (it carries our tags).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from llm_operator.core.adoption import ADOPT_ANNOTATION
from llm_operator.core.desired import UID_TAG
from llm_operator.shell.reconciler import PassResult, Reconciler
from tests.emulator import builders
from tests.plugins.operator_fixtures import SageMakerEmulator
from tests.plugins.reconciling import SPEC, RecordingCluster, body, ready, reconciler, until

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
        r = reconciler(cluster, allow_adoption=True)
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
            "completed": True,
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
        r = reconciler(cluster, allow_adoption=True)
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
        r = reconciler(cluster, allow_adoption=True)
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


MODEL_SPEC: dict[str, Any] = {
    "endpointType": "Model",
    "model": {"hfModelId": "mistralai/Mistral-7B-Instruct-v0.1", "maxModelLength": 4096},
    "instance": {"type": "ml.g5.12xlarge", "count": 1},
    "aws": SPEC["aws"],
}


def model_based(sm: Any) -> dict[str, Any]:
    """A hand-made endpoint whose variant names its model (no inference components)."""
    builders.model(sm, "hand-model")
    builders.model_config(sm, "hand-config", "hand-model", instance="ml.g5.12xlarge")
    sm.create_endpoint(EndpointName=HAND, EndpointConfigName="hand-config")
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName=HAND, WaiterConfig={"Delay": 0.1, "MaxAttempts": 200}
    )
    return dict(sm.describe_endpoint(EndpointName=HAND))


def writes(emulated_sagemaker: SageMakerEmulator) -> dict[str, int]:
    calls = emulated_sagemaker.admin.calls()
    return {
        op: n for op, n in calls.items() if op.startswith(("Create", "Update", "Delete", "Add"))
    }


def owner_tags(sm: Any, arn: str) -> dict[str, str]:
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}
    return {k: v for k, v in tags.items() if k.startswith("llmoperator.io/")}


@pytest.mark.parametrize(
    ("spec", "make", "use"),
    [
        (SPEC, model_based, "endpointType: Model"),
        (MODEL_SPEC, hand_made, "endpointType: InferenceComponent"),
    ],
    ids=["model-based-by-components", "components-by-model"],
)
def test_an_endpoint_of_the_other_type_is_refused_before_anything_is_tagged(
    aws_env: None,
    emulated_sagemaker: SageMakerEmulator,
    spec: dict[str, Any],
    make: Any,
    use: str,
) -> None:
    sm = emulated_sagemaker.client()
    endpoint = make(sm)
    before = writes(emulated_sagemaker)
    names = emulated_sagemaker.names()

    async def scenario() -> None:
        cluster = RecordingCluster()
        r = reconciler(cluster, allow_adoption=True)
        try:
            result = await r.reconcile(adopting(cluster, spec), deleting=False)
            assert result.outcome == "degraded"
            degraded = next(c for c in cluster.status["conditions"] if c["type"] == "Degraded")
            assert degraded["reason"] == "AdoptionRefused"
            assert HAND in degraded["message"] and use in degraded["message"]
            assert "adopted" not in cluster.status
            assert "Adopted" not in cluster.reasons()
            # Deleting the LLMEndpoint leaves the hand-made endpoint as it was.
            await until(
                r,
                cluster,
                lambda res, _: res.deleted,
                deleting=True,
                spec=spec,
                meta={"annotations": {ADOPT_ANNOTATION: HAND}},
            )
        finally:
            r.close()

    asyncio.run(scenario())
    assert writes(emulated_sagemaker) == before
    assert emulated_sagemaker.names() == names
    assert owner_tags(sm, endpoint["EndpointArn"]) == {}


def test_an_adoption_that_never_completed_leaves_the_endpoint_untagged_on_deletion(
    aws_env: None,
    emulated_sagemaker: SageMakerEmulator,
) -> None:
    """The update to the operator's config fails: deleting the LLMEndpoint deletes only
    what the operator made, and gives back what it adopted without its ownership tags."""
    sm = emulated_sagemaker.client()
    endpoint = model_based(sm)
    emulated_sagemaker.admin.faults(
        fail_next=[{"resource": "endpoint", "name": HAND, "reason": "CapacityError: none left"}]
    )

    async def scenario() -> None:
        cluster = RecordingCluster()
        r = reconciler(cluster, allow_adoption=True)
        meta = {"annotations": {ADOPT_ANNOTATION: HAND}}
        try:
            await until(
                r,
                cluster,
                lambda _, status: (
                    status.get("failureReason") is not None
                    or any(c["reason"] == "RolledBack" for c in status.get("conditions") or [])
                ),
                spec=MODEL_SPEC,
                meta=meta,
                passes=200,
            )
            assert cluster.reasons().count("Adopted") == 3
            assert "UpdateEndpoint" in cluster.reasons()
            assert cluster.status["adopted"].get("completed") is not True
            await until(
                r, cluster, lambda res, _: res.deleted, deleting=True, spec=MODEL_SPEC, meta=meta
            )
        finally:
            r.close()
        assert "DeleteEndpoint" not in cluster.reasons()

    asyncio.run(scenario())
    names = emulated_sagemaker.names()
    assert names["endpoints"] == [HAND]
    assert names["endpoint_configs"] == ["hand-config"]
    assert names["models"] == ["hand-model"]
    after = sm.describe_endpoint(EndpointName=HAND)
    assert after["EndpointConfigName"] == "hand-config"
    assert after["EndpointStatus"] == "InService"
    assert owner_tags(sm, endpoint["EndpointArn"]) == {}
    config = sm.describe_endpoint_config(EndpointConfigName="hand-config")
    assert owner_tags(sm, config["EndpointConfigArn"]) == {}
    model = sm.describe_model(ModelName="hand-model")
    assert owner_tags(sm, model["ModelArn"]) == {}


def test_a_completed_adoption_of_a_model_endpoint_is_deleted_with_its_llmendpoint(
    aws_env: None,
    emulated_sagemaker: SageMakerEmulator,
) -> None:
    sm = emulated_sagemaker.client()
    model_based(sm)

    async def scenario() -> None:
        cluster = RecordingCluster()
        r = reconciler(cluster, allow_adoption=True)
        meta = {"annotations": {ADOPT_ANNOTATION: HAND}}
        try:
            await until(r, cluster, ready, spec=MODEL_SPEC, meta=meta, passes=200)
            assert cluster.status["adopted"]["completed"] is True
            await until(
                r, cluster, lambda res, _: res.deleted, deleting=True, spec=MODEL_SPEC, meta=meta
            )
        finally:
            r.close()

    asyncio.run(scenario())
    assert not any(emulated_sagemaker.names().values())
