"""spec.model.modelPackage in-process against the emulator's model registry: one
ListModelPackages per group shared by every LLMEndpoint of the group, a throttled
listing that delays and never duplicates, and a restart between the approval being
seen and the rollout call that converges with one rollout."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from llm_operator.shell.reconciler import PassResult
from tests.plugins.operator_fixtures import SageMakerEmulator
from tests.plugins.reconciling import SPEC, RecordingCluster, body, reconciler, until

GROUP = "support-bot-llm"
PACKAGE_SPEC: dict[str, Any] = {
    **SPEC,
    "model": {"modelPackage": {"group": GROUP}},
    "rollout": {"strategy": "Rolling", "maxBatchPercent": 50, "waitSeconds": 0},
}


def register(sm: Any, status: str) -> str:
    answer = sm.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": "example.com/llm:1", "Environment": {"HF_MODEL_ID": "m"}}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )
    arn: str = answer["ModelPackageArn"]
    return arn


def calls(emulator: SageMakerEmulator, operation: str, *, ok: bool = True) -> int:
    return sum(
        1 for c in emulator.admin.call_log(operation=operation) if (c["error"] is None) == ok
    )


def serving(version: int) -> Any:
    def done(_: PassResult, status: Mapping[str, Any]) -> bool:
        model = status.get("model") or {}
        ready = any(
            c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or []
        )
        return ready and model.get("version") == version and status.get("phase") == "InService"

    return done


def test_endpoints_of_a_group_share_one_listing(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    sm = emulated_sagemaker.client()
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    register(sm, "Approved")

    async def scenario() -> None:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        # Their first passes at once: one List and one Describe between them.
        await asyncio.gather(
            *(
                r.reconcile(
                    {**body(cluster, PACKAGE_SPEC, name=name, uid=f"uid-{name}"), "status": {}},
                    deleting=False,
                )
                for name in ("one", "two", "three")
            )
        )
        r.close()

    asyncio.run(scenario())
    assert calls(emulated_sagemaker, "ListModelPackages") == 1
    assert calls(emulated_sagemaker, "DescribeModelPackage") == 1
    assert calls(emulated_sagemaker, "CreateModel") == 3


def test_a_throttled_listing_delays_and_never_duplicates(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    sm = emulated_sagemaker.client()
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    register(sm, "Approved")
    emulated_sagemaker.admin.faults(throttle_rate=1.0, operations=["ListModelPackages"])

    async def scenario() -> None:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        for _ in range(3):
            result = await r.reconcile(body(cluster, PACKAGE_SPEC), deleting=False)
            assert result.outcome == "error" and result.delay > 0
        assert calls(emulated_sagemaker, "CreateModel") == 0
        emulated_sagemaker.admin.clear_faults()
        await until(r, cluster, serving(1), spec=PACKAGE_SPEC)
        r.close()

    asyncio.run(scenario())
    assert calls(emulated_sagemaker, "ListModelPackages", ok=False) >= 3  # with retries
    assert calls(emulated_sagemaker, "CreateModel") == 1
    assert calls(emulated_sagemaker, "CreateEndpoint") == 1


def test_a_restart_between_the_approval_and_the_rollout_makes_one_rollout(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    sm = emulated_sagemaker.client()
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    register(sm, "Approved")
    v2 = register(sm, "PendingManualApproval")
    cluster = RecordingCluster()

    async def first_life() -> None:
        # The registry is listed again once a resync interval old.
        r = reconciler(cluster, resync_seconds=1)
        await until(r, cluster, serving(1), spec=PACKAGE_SPEC)
        sm.update_model_package(ModelPackageArn=v2, ModelApprovalStatus="Approved")
        # The approval is seen and its model made; the rollout call never goes out.
        emulated_sagemaker.admin.faults(throttle_rate=1.0, operations=["UpdateInferenceComponent"])
        for _ in range(60):
            await r.reconcile(body(cluster, PACKAGE_SPEC), deleting=False)
            if calls(emulated_sagemaker, "UpdateInferenceComponent", ok=False):
                break
            await asyncio.sleep(0.1)
        r.close()  # the process dies here

    async def second_life() -> None:
        emulated_sagemaker.admin.clear_faults()
        r = reconciler(cluster)  # new adapter, observer and caches: a restart
        await until(r, cluster, serving(2), spec=PACKAGE_SPEC)
        r.close()

    asyncio.run(first_life())
    assert calls(emulated_sagemaker, "CreateModel") == 2
    assert calls(emulated_sagemaker, "UpdateInferenceComponent") == 0
    asyncio.run(second_life())
    assert calls(emulated_sagemaker, "UpdateInferenceComponent") == 1
    assert calls(emulated_sagemaker, "CreateModel") == 2  # v2's model was not made again
    assert "ModelVersionApproved" in cluster.reasons()
    assert cluster.status["model"]["arn"] == v2


def test_a_rolled_back_version_is_not_retried_until_a_newer_one_is_approved(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    sm = emulated_sagemaker.client()
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    register(sm, "Approved")
    v2 = register(sm, "PendingManualApproval")
    # One GPU and no room to grow: the rolling update of a new version cannot place its
    # copy, and SageMaker rolls it back, as an alarm would.
    full = {
        **PACKAGE_SPEC,
        "instance": {"type": "ml.g5.2xlarge", "count": 1},
        "resources": {
            "copies": 1,
            "acceleratorsPerCopy": 1,
            "cpusPerCopy": 2,
            "memoryMiBPerCopy": 8192,
        },
    }
    cluster = RecordingCluster()

    def rolled_back(_: PassResult, status: Mapping[str, Any]) -> bool:
        return (status.get("model") or {}).get("notRetried") == [2]

    async def scenario() -> None:
        r = reconciler(cluster, resync_seconds=1)
        await until(r, cluster, serving(1), spec=full)
        sm.update_model_package(ModelPackageArn=v2, ModelApprovalStatus="Approved")
        await until(r, cluster, rolled_back, spec=full, passes=200)
        await until(r, cluster, serving(1), spec=full)
        # Listed again several times since: version 2 is still Approved, never retried.
        for _ in range(15):
            await r.reconcile(body(cluster, full), deleting=False)
            await asyncio.sleep(0.1)
        r.close()

    asyncio.run(scenario())
    assert calls(emulated_sagemaker, "UpdateInferenceComponent") == 1
    assert cluster.status["model"]["version"] == 1
    assert calls(emulated_sagemaker, "ListModelPackages") >= 2
    rolled = [m for t, r, m in cluster.events if r == "RolledBack"]
    assert rolled and "version 2 of model package group" in rolled[0]


def test_a_rolled_back_spec_change_does_not_count_against_the_version_served(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    sm = emulated_sagemaker.client()
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    register(sm, "Approved")
    full = {
        **PACKAGE_SPEC,
        "instance": {"type": "ml.g5.2xlarge", "count": 1},
        "resources": {
            "copies": 1,
            "acceleratorsPerCopy": 1,
            "cpusPerCopy": 2,
            "memoryMiBPerCopy": 8192,
        },
    }
    changed = {**full, "model": {**full["model"], "env": {"MAX_BATCH": "4"}}}
    cluster = RecordingCluster()

    def rolled_back(_: PassResult, status: Mapping[str, Any]) -> bool:
        return (status.get("rollout") or {}).get("phase") == "RolledBack"

    async def scenario() -> None:
        r = reconciler(cluster, resync_seconds=1)
        await until(r, cluster, serving(1), spec=full)
        await until(r, cluster, rolled_back, spec=changed, passes=200, meta={"generation": 2})
        for _ in range(10):
            await r.reconcile(body(cluster, changed, generation=2), deleting=False)
            await asyncio.sleep(0.1)
        r.close()

    asyncio.run(scenario())
    assert cluster.status["model"]["version"] == 1
    assert cluster.status["model"]["notRetried"] == []
    assert cluster.status["planMemory"]["packageRollbacks"] == []
    assert calls(emulated_sagemaker, "UpdateInferenceComponent") == 1
