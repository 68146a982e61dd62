"""The shell's branches, in-process: the real Reconciler, boto3 adapter and observer
against the SageMaker emulator, with a recording `kube.Cluster` in place of the API
server (the e2e tests cover the real one). No subprocess, no kopf.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from llm_operator.core.memory import PlanMemory
from llm_operator.shell.reconciler import TRANSIENT_FAILURES, PassResult
from tests.plugins.operator_fixtures import SageMakerEmulator
from tests.plugins.reconciling import (
    GATED,
    SETTINGS,
    SPEC,
    TOKEN,
    RecordingCluster,
    body,
    ready,
    reconciler,
    until,
)


def test_a_pass_brings_an_llmendpoint_to_ready_and_deletion_removes_everything(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    async def scenario() -> None:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            result = await until(r, cluster, ready)
            assert result.outcome == "settled" and result.delay == SETTINGS.resync_seconds
            assert cluster.reasons()[:3] == [
                "CreateModel",
                "CreateEndpointConfig",
                "CreateEndpoint",
            ]
            gone = await until(r, cluster, lambda res, _: res.deleted, deleting=True)
            assert gone.outcome == "deleted"
        finally:
            r.close()

    asyncio.run(scenario())
    assert not any(emulated_sagemaker.names().values())


def test_only_what_this_process_created_skips_listtags(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    async def scenario() -> None:
        cluster = RecordingCluster()
        first = reconciler(cluster)
        try:
            await until(first, cluster, ready)
        finally:
            first.close()
        assert emulated_sagemaker.admin.calls().get("ListTags", 0) == 0
        # A restarted replica finds the same names in status: it reads their tags.
        second = reconciler(cluster)
        try:
            await second.reconcile(body(cluster), deleting=False)
        finally:
            second.close()

    asyncio.run(scenario())
    # endpoint, base component, model and endpoint config: each read once.
    assert emulated_sagemaker.admin.calls().get("ListTags", 0) == 4


def test_a_missing_secret_is_degraded_announced_once_even_across_a_restart(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    spec = GATED

    async def scenario() -> None:
        cluster = RecordingCluster()
        for _ in range(2):  # two replicas, one after the other, two passes each
            r = reconciler(cluster)
            try:
                for _ in range(2):
                    result = await r.reconcile(body(cluster, spec), deleting=False)
                    assert result.outcome == "degraded"
                    assert result.delay == SETTINGS.resync_seconds
            finally:
                r.close()
        assert cluster.reasons() == ["SecretNotFound"]
        degraded = next(c for c in cluster.status["conditions"] if c["type"] == "Degraded")
        assert (degraded["status"], degraded["reason"]) == ("True", "SecretNotFound")
        # Fixed: it goes on, and the secret's value never shows.
        cluster.secrets[("team", "hf", "token")] = TOKEN
        r = reconciler(cluster)
        try:
            await until(r, cluster, ready, spec=spec)
        finally:
            r.close()
        assert TOKEN not in repr(cluster.status) + repr(cluster.events)

    asyncio.run(scenario())


def test_spec_warnings_are_announced_once_across_restarts(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    spec = {**SPEC, "model": {**SPEC["model"], "env": {"SM_VLLM_MAX_MODEL_LEN": "100"}}}

    async def scenario() -> None:
        cluster = RecordingCluster()
        for _ in range(2):
            r = reconciler(cluster)
            try:
                await r.reconcile(body(cluster, spec), deleting=False)
                await r.reconcile(body(cluster, spec), deleting=False)
            finally:
                r.close()
        assert cluster.reasons().count("EnvOverridden") == 1
        assert any(
            k.startswith("EnvOverridden/")
            for k in PlanMemory.from_dict(cluster.status["planMemory"]).reported
        )

    asyncio.run(scenario())


def test_aws_failures_back_off_and_only_a_lasting_one_is_reported(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    emulated_sagemaker.admin.faults(throttle_rate=1.0, operations=["ListEndpoints"])

    async def scenario() -> list[PassResult]:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            results = [
                await r.reconcile(body(cluster), deleting=False)
                for _ in range(TRANSIENT_FAILURES + 2)
            ]
        finally:
            r.close()
        assert cluster.reasons() == ["AwsError"]  # after the blips, once
        assert "ThrottlingException" in cluster.status["failureReason"]
        return results

    results = asyncio.run(scenario())
    assert {r.outcome for r in results} == {"error"}
    delays = [r.delay for r in results]
    assert delays == sorted(delays) and delays[0] < delays[-1] <= SETTINGS.resync_seconds


def test_an_unexpected_error_is_reported_never_raised(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    class Broken(RecordingCluster):
        async def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> bool:
            if "conditions" in status and any(
                c["reason"] == "ReconcileError" for c in status["conditions"]
            ):
                return await super().patch_status(namespace, name, status)
            raise RuntimeError(f"status write refused for {TOKEN}")

    async def scenario() -> PassResult:
        cluster = Broken({("team", "hf", "token"): TOKEN})
        spec = GATED
        r = reconciler(cluster)
        try:
            result = await r.reconcile(body(cluster, spec), deleting=False)
        finally:
            r.close()
        assert cluster.reasons()[-1] == "ReconcileError"
        assert TOKEN not in cluster.status["failureReason"]
        assert "***" in cluster.status["failureReason"]
        return result

    result = asyncio.run(scenario())
    assert result.outcome == "error" and 0 < result.delay < SETTINGS.resync_seconds


def test_an_llmendpoint_whose_spec_no_longer_renders_is_still_deleted(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    async def scenario() -> None:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            await until(r, cluster, ready)
            # Broken afterwards (an instance type that does not exist), then deleted:
            # the names come from namespace and name, the rest is found by prefix.
            broken = {**SPEC, "instance": {**SPEC["instance"], "type": "ml.nope.xlarge"}}
            await until(r, cluster, lambda res, _: res.deleted, deleting=True, spec=broken)
        finally:
            r.close()

    asyncio.run(scenario())
    assert not any(emulated_sagemaker.names().values())


def test_the_token_reaches_only_the_model(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    spec = GATED

    async def scenario() -> None:
        cluster = RecordingCluster({("team", "hf", "token"): TOKEN})
        r = reconciler(cluster)
        try:
            await until(r, cluster, ready, spec=spec)
        finally:
            r.close()
        assert TOKEN not in repr(cluster.status) + repr(cluster.events)

    asyncio.run(scenario())
    model = emulated_sagemaker.client().describe_model(
        ModelName=emulated_sagemaker.names()["models"][0]
    )
    assert model["PrimaryContainer"]["Environment"]["HF_TOKEN"] == TOKEN
