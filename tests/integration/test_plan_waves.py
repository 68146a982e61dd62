"""`llm-operator plan` of new LLMEndpoints with autoscaling and guarded rollouts, in-process:
the real Planner against the emulator with moto beside it. Every call the operator would
make is listed, wave after wave, and nothing is written."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from llm_operator.shell.aws import SageMaker
from llm_operator.shell.commands.kube import Cluster
from llm_operator.shell.commands.plan import EXIT_CHANGES, Planner, exit_code, render_text
from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer
from tests.plugins.reconciling import CLUSTER_ID, SPEC

MODEL_SPEC: dict[str, Any] = {
    key: value for key, value in SPEC.items() if key not in ("resources", "endpointType")
} | {"endpointType": "Model", "instance": {"type": "ml.g5.2xlarge", "count": 1}}
MANIFESTS: dict[str, dict[str, Any]] = {
    "scale-to-zero": {
        **SPEC,
        "instance": {**SPEC["instance"], "minCount": 0},
        "autoscaling": {"minReplicas": 0, "maxReplicas": 2, "target": 4},
    },
    "rollback-alarms": {
        **SPEC,
        "rollout": {"autoRollback": {"maxErrorRatePercent": 5, "maxP99LatencyMs": 2000}},
    },
    "model-endpoint-autoscaling": {
        **MODEL_SPEC,
        "autoscaling": {"minReplicas": 1, "maxReplicas": 3, "target": 4},
    },
}
EXPECTED = {
    "scale-to-zero": {"RegisterScalableTarget", "PutScalingPolicy", "PutMetricAlarm"},
    "rollback-alarms": {"PutMetricAlarm", "CreateEndpoint"},
    "model-endpoint-autoscaling": {"RegisterScalableTarget", "PutScalingPolicy"},
}


class NewObjects(Cluster):
    """The API server's side of `plan` for objects not created yet."""

    def __init__(self) -> None:
        super().__init__(api=None, namespace="team")

    def llmendpoint(self, namespace: str, name: str) -> dict[str, Any] | None:
        return None

    def namespace_annotations(self, namespace: str) -> dict[str, str] | None:
        return {}

    def policies(self) -> list[dict[str, Any]] | None:
        return []  # no LLMEndpointPolicy governs

    def cluster_id(self) -> str | None:
        return CLUSTER_ID


@pytest.mark.parametrize("case", sorted(MANIFESTS))
def test_plan_lists_every_call_of_a_new_endpoint_and_writes_nothing(
    aws_env_with_moto: EmulatorServer, case: str
) -> None:
    manifest: Mapping[str, Any] = {
        "apiVersion": "llmoperator.io/v1alpha1",
        "kind": "LLMEndpoint",
        "metadata": {"name": "chat", "namespace": "team"},
        "spec": MANIFESTS[case],
    }

    async def scenario() -> Any:
        sagemaker = SageMaker(workers=2, calls_per_second=1000, burst=1000, max_attempts=1)
        try:
            return await Planner(NewObjects(), sagemaker).plan(manifest, "team")
        finally:
            sagemaker.close()

    planned = asyncio.run(scenario())
    text = render_text([planned])
    assert planned.errors == [], text
    assert exit_code([planned]) == EXIT_CHANGES
    operations = {step.operation for step in planned.steps}
    assert EXPECTED[case] <= operations, text
    assert not [c for c in AdminClient(aws_env_with_moto.url).call_log() if c["write"]]
