"""Changes made by hand are caught by the next settled pass, one resync later.

The real Reconciler, boto3 adapter and observer (wired as the operator wires them)
against the SageMaker emulator, with the observer's clock moved one resync interval
between passes: an endpoint, component, model or endpoint config deleted or changed
by hand is repaired by the first pass after it, from what the List inventory shows,
long before the observer's slow sweep would Describe each resource again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from llm_operator.shell.aws import SageMaker
from llm_operator.shell.reconciler import Reconciler, production_observer
from tests.plugins.operator_fixtures import SageMakerEmulator
from tests.plugins.reconciling import SETTINGS, RecordingCluster, body, ready, until


class Clock:
    """Monotonic time, moved forward at will."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


# A change by hand: (boto3 client, the names SageMaker holds, settle the emulator now).
Drift = Callable[[Any, dict[str, list[str]], Callable[[], int]], None]


def scale_down(sm: Any, names: dict[str, list[str]], settle: Callable[[], int]) -> None:
    (component,) = names["inference_components"]
    sm.update_inference_component_runtime_config(
        InferenceComponentName=component, DesiredRuntimeConfig={"CopyCount": 1}
    )


def delete_component(sm: Any, names: dict[str, list[str]], settle: Callable[[], int]) -> None:
    (component,) = names["inference_components"]
    sm.delete_inference_component(InferenceComponentName=component)


def delete_endpoint(sm: Any, names: dict[str, list[str]], settle: Callable[[], int]) -> None:
    delete_component(sm, names, settle)  # an endpoint goes only once nothing is on it
    settle()
    (endpoint,) = names["endpoints"]
    sm.delete_endpoint(EndpointName=endpoint)


def delete_model(sm: Any, names: dict[str, list[str]], settle: Callable[[], int]) -> None:
    (model,) = names["models"]
    sm.delete_model(ModelName=model)


def delete_config(sm: Any, names: dict[str, list[str]], settle: Callable[[], int]) -> None:
    (config,) = names["endpoint_configs"]
    sm.delete_endpoint_config(EndpointConfigName=config)


def switch_config(sm: Any, names: dict[str, list[str]], settle: Callable[[], int]) -> None:
    """The endpoint moved by hand onto a copy of its config under another name."""
    (config,) = names["endpoint_configs"]
    (endpoint,) = names["endpoints"]
    ours = sm.describe_endpoint_config(EndpointConfigName=config)
    sm.create_endpoint_config(
        EndpointConfigName="by-hand",
        ExecutionRoleArn=ours["ExecutionRoleArn"],
        ProductionVariants=ours["ProductionVariants"],
    )
    sm.update_endpoint(EndpointName=endpoint, EndpointConfigName="by-hand")


@pytest.mark.parametrize(
    ("drift", "repair"),
    [
        (scale_down, "UpdateInferenceComponentRuntimeConfig"),
        (delete_component, "CreateInferenceComponent"),
        (delete_endpoint, "CreateEndpoint"),
        (delete_model, "CreateModel"),
        (delete_config, "CreateEndpointConfig"),
        (switch_config, "UpdateEndpoint"),
    ],
    ids=[
        "copies",
        "component-deleted",
        "endpoint-deleted",
        "model-deleted",
        "config-deleted",
        "endpoint-config",
    ],
)
def test_drift_is_repaired_by_the_next_settled_pass(
    aws_env: None, emulated_sagemaker: SageMakerEmulator, drift: Drift, repair: str
) -> None:
    sm, admin = emulated_sagemaker.client(), emulated_sagemaker.admin

    async def scenario() -> list[str]:
        cluster = RecordingCluster()
        clock = Clock()
        sagemaker = SageMaker(
            workers=4, calls_per_second=1000, burst=1000, max_attempts=1, identity_retry_seconds=0
        )
        r = Reconciler(
            SETTINGS,
            sagemaker=sagemaker,
            observer=production_observer(SETTINGS, sagemaker, clock),
            cluster=cluster,
        )
        try:
            await until(r, cluster, lambda res, st: ready(res, st) and res.outcome == "settled")
            for _ in range(2):  # steady: settled passes one resync apart
                clock.advance(SETTINGS.resync_seconds)
                assert (await r.reconcile(body(cluster), deleting=False)).outcome == "settled"
            drift(sm, emulated_sagemaker.names(), admin.settle)
            admin.settle()
            before = len(cluster.events)
            clock.advance(SETTINGS.resync_seconds)
            await r.reconcile(body(cluster), deleting=False)
            return [reason for _, reason, _ in cluster.events[before:]]
        finally:
            r.close()

    assert repair in asyncio.run(scenario())
