"""The shell's branches, in-process: the real Reconciler, boto3 adapter and observer
against the SageMaker emulator, with a recording `kube.Cluster` in place of the API
server (the e2e tests cover the real one). No subprocess, no kopf.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from llm_operator.core.memory import PlanMemory
from llm_operator.shell.aws import SageMaker
from llm_operator.shell.observe import Observer
from llm_operator.shell.reconciler import TRANSIENT_FAILURES, PassResult, Reconciler
from llm_operator.shell.secrets import SecretError
from llm_operator.shell.settings import OperatorSettings
from tests.plugins.operator_fixtures import REGION, SageMakerEmulator

TOKEN = "hf_reconciler_test_token_value"
SPEC: dict[str, Any] = {
    "model": {
        "hfModelId": "mistralai/Mistral-7B-Instruct-v0.1",
        "maxModelLength": 4096,
    },
    "instance": {"type": "ml.g5.12xlarge", "count": 1, "minCount": 1, "maxCount": 2},
    "endpointType": "InferenceComponent",
    "resources": {
        "copies": 2,
        "acceleratorsPerCopy": 1,
        "cpusPerCopy": 2,
        "memoryMiBPerCopy": 5120,
    },
    "aws": {
        "region": REGION,
        "executionRoleArn": "arn:aws:iam::123456789012:role/SageMakerExecution",
    },
}

# The same LLMEndpoint with its token in Secret team/hf, key "token".
GATED: dict[str, Any] = {
    **SPEC,
    "model": {**SPEC["model"], "hfTokenSecretRef": {"name": "hf", "key": "token"}},
}


class RecordingCluster:
    """The Kubernetes side of a pass, in memory: Secrets and Namespace annotations in,
    status and Events out."""

    def __init__(self, secrets: Mapping[tuple[str, str, str], str] | None = None) -> None:
        self.secrets = dict(secrets or {})
        self.annotations: dict[str, dict[str, str]] = {}  # by namespace
        self.status: dict[str, Any] = {}
        self.events: list[tuple[str, str, str]] = []

    async def namespace_annotations(self, namespace: str) -> Mapping[str, str]:
        return dict(self.annotations.get(namespace, {}))

    async def read_secret(self, namespace: str, name: str, key: str) -> str:
        if (namespace, name, key) not in self.secrets:
            raise SecretError("SecretNotFound", f"Secret {namespace}/{name} does not exist")
        return self.secrets[(namespace, name, key)]

    async def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> bool:
        self.status.update(status)
        return True

    def event(self, body: Mapping[str, Any], type: str, reason: str, message: str) -> None:
        self.events.append((type, reason, message))

    def reasons(self) -> list[str]:
        return [reason for _, reason, _ in self.events]


@pytest.fixture
def aws_env(
    emulated_sagemaker: SageMakerEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", emulated_sagemaker.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEOPERATOR")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield


SETTINGS = OperatorSettings(resync_seconds=30, transition_poll_seconds=0.5)


def reconciler(cluster: RecordingCluster) -> Reconciler:
    sagemaker = SageMaker(workers=4, calls_per_second=1000, burst=1000, max_attempts=1)
    observer = Observer(sagemaker, max_age=0.0, describe_max_age=300)
    return Reconciler(SETTINGS, sagemaker=sagemaker, observer=observer, cluster=cluster)


def body(cluster: RecordingCluster, spec: Mapping[str, Any] = SPEC, **meta: Any) -> dict[str, Any]:
    metadata = {"namespace": "team", "name": "chat", "uid": "uid-1", "generation": 1, **meta}
    return {
        "apiVersion": "llmoperator.io/v1alpha1",
        "kind": "LLMEndpoint",
        "metadata": metadata,
        "spec": dict(spec),
        "status": dict(cluster.status),
    }


async def until(
    r: Reconciler,
    cluster: RecordingCluster,
    done: Any,
    *,
    deleting: bool = False,
    spec: Mapping[str, Any] = SPEC,
    passes: int = 60,
) -> PassResult:
    for _ in range(passes):
        result = await r.reconcile(body(cluster, spec), deleting=deleting)
        if done(result, cluster.status):
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached after {passes} passes: {cluster.status.get('conditions')}")


def ready(_: PassResult, status: Mapping[str, Any]) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or []
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
