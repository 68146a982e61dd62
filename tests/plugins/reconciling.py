"""Running the real Reconciler in-process against the emulator, with a recording
`kube.Cluster` in place of the API server (no subprocess, no kopf), and the standard
AWS environment pointed at the emulators.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Any

import pytest

from llm_operator.shell.aws import SageMaker
from llm_operator.shell.kube import ClusterIdentityError, identity_error
from llm_operator.shell.observe import Observer
from llm_operator.shell.reconciler import PassResult, Reconciler
from llm_operator.shell.secrets import SecretError
from llm_operator.shell.settings import OperatorSettings
from tests.plugins.emulator_fixtures import REGION


def aws_environment(monkeypatch: pytest.MonkeyPatch, **endpoints: str) -> None:
    """Only the standard AWS variables, with these `AWS_ENDPOINT_URL_<SERVICE>` values
    (e.g. SAGEMAKER=url) and credentials any emulator accepts."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    for service, url in endpoints.items():
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEOPERATOR")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


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


# The in-memory cluster's identifier, as kube-system's uid would be.
CLUSTER_ID = "0b6c5ef4-3d1e-4c55-9a7e-5f2a0f6f1c01"


class RecordingCluster:
    """The Kubernetes side of a pass, in memory: Secrets and Namespace annotations in,
    status and Events out."""

    def __init__(
        self,
        secrets: Mapping[tuple[str, str, str], str] | None = None,
        cluster_id: str | None = CLUSTER_ID,
    ) -> None:
        """`cluster_id` None: kube-system may not be read."""
        self.secrets = dict(secrets or {})
        self.id = cluster_id
        self.annotations: dict[str, dict[str, str]] = {}  # by namespace
        self.status: dict[str, Any] = {}
        self.events: list[tuple[str, str, str]] = []

    async def cluster_id(self) -> str:
        if self.id is None:
            raise ClusterIdentityError(identity_error(403, "Forbidden"))
        return self.id

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

    async def llmendpoint(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return None  # no stored object here: the tests hand each pass its body

    def reasons(self) -> list[str]:
        return [reason for _, reason, _ in self.events]


# Quick passes while SageMaker moves; the settled delay is what a test compares against.
SETTINGS = OperatorSettings(resync_seconds=30, transition_poll_seconds=0.5)


def reconciler(
    cluster: RecordingCluster,
    *,
    aws_rate: float = 1000,
    aws_burst: int = 1000,
    search: bool = False,
    **settings: Any,
) -> Reconciler:
    """A Reconciler with its own adapter (`aws_rate` calls per second, `aws_burst`) and
    observer (`search`: its first inventory starts with a Search, as the operator's
    does); `settings` override SETTINGS."""
    options = OperatorSettings(**{**SETTINGS.model_dump(), **settings})
    sagemaker = SageMaker(
        workers=4,
        calls_per_second=aws_rate,
        burst=aws_burst,
        max_attempts=1,
        identity_retry_seconds=0,
    )
    observer = Observer(sagemaker, max_age=0.0, describe_max_age=300, search=search)
    return Reconciler(options, sagemaker=sagemaker, observer=observer, cluster=cluster)


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
    meta: Mapping[str, Any] | None = None,
) -> PassResult:
    for _ in range(passes):
        result = await r.reconcile(body(cluster, spec, **(meta or {})), deleting=deleting)
        if done(result, cluster.status):
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached after {passes} passes: {cluster.status.get('conditions')}")


def ready(_: PassResult, status: Mapping[str, Any]) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or []
    )
