"""`llm-operator plan`'s cost line, in-process: the real Planner (observer, planner and
simulated waves) against the emulator with moto beside it, and the LLMEndpoint the
real Reconciler made. An unchanged plan costs the same on both sides, whatever holds
the instance count (here: autoscaling at zero copies and managed instance scaling).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from llm_operator.core import naming
from llm_operator.shell.aws import SageMaker
from llm_operator.shell.commands.kube import Cluster
from llm_operator.shell.commands.plan import Planner, render_text
from sagemaker_emulator.server import EmulatorServer
from tests.plugins.emulator_fixtures import boto3_client
from tests.plugins.reconciling import (
    CLUSTER_ID,
    SPEC,
    RecordingCluster,
    body,
    reconciler,
    until,
)

SCALED: dict[str, Any] = {
    **SPEC,
    "instance": {**SPEC["instance"], "minCount": 0},
    "autoscaling": {"minReplicas": 0, "maxReplicas": 2, "target": 4},
}
BASE = naming.base_component_name("team", "chat")
ENDPOINT = naming.endpoint_name("team", "chat")


class LiveCluster(Cluster):
    """The API server's side of `plan`: the live LLMEndpoint, no Namespace annotations,
    the cluster id of the reconciler's cluster."""

    def __init__(self, live: dict[str, Any]) -> None:
        super().__init__(api=None, namespace="team")
        self.live = live

    def llmendpoint(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.live

    def namespace_annotations(self, namespace: str) -> dict[str, str] | None:
        return {}

    def policies(self) -> list[dict[str, Any]] | None:
        return []  # no LLMEndpointPolicy governs

    def cluster_id(self) -> str | None:
        return CLUSTER_ID  # the same cluster the reconciler ran in


@pytest.fixture
def sagemaker_url(aws_env_with_moto: EmulatorServer) -> str:
    return aws_env_with_moto.url


def test_plan_of_an_unchanged_endpoint_scaled_to_zero_costs_the_same_both_sides(
    sagemaker_url: str,
) -> None:
    sm = boto3_client(sagemaker_url)

    def at_zero(_: Any, __: Any) -> bool:
        ep = sm.describe_endpoint(EndpointName=ENDPOINT)
        return bool(
            ep["EndpointStatus"] == "InService"
            and ep["ProductionVariants"][0].get("CurrentInstanceCount") == 0
        )

    async def scenario() -> str:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            await until(
                r, cluster, lambda res, _: res.outcome == "settled", spec=SCALED, passes=200
            )
            # The autoscaler takes the copies to zero; managed instance scaling the instances.
            # (once the component is InService: a settled pass may see it still Updating)
            await until(
                r,
                cluster,
                lambda *_: (
                    sm.describe_inference_component(InferenceComponentName=BASE)[
                        "InferenceComponentStatus"
                    ]
                    == "InService"
                ),
                spec=SCALED,
                passes=200,
            )
            sm.update_inference_component_runtime_config(
                InferenceComponentName=BASE, DesiredRuntimeConfig={"CopyCount": 0}
            )
            await until(r, cluster, at_zero, spec=SCALED, passes=200)
            await until(
                r, cluster, lambda res, _: res.outcome == "settled", spec=SCALED, passes=200
            )
        finally:
            r.close()
        live = body(cluster, SCALED)
        adapter = SageMaker(workers=2, calls_per_second=100, burst=100)
        try:
            planned = await Planner(LiveCluster(live), adapter).plan(live, "team")
        finally:
            adapter.close()
        assert planned.errors == [] and planned.steps == [], render_text([planned])
        assert planned.cost_before == planned.cost_after, render_text([planned])
        assert planned.instances_before == planned.instances_after
        return render_text([planned])

    text = asyncio.run(scenario())
    assert "cost per hour: $0.00 (0 x ml.g5.12xlarge) -> $0.00 (0 x ml.g5.12xlarge)" in text
