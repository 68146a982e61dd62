"""Adopting hand-made endpoints end to end: the operator under the chart's RBAC takes
over two endpoints made with boto3 (annotation llmoperator.io/adopt-endpoint), each
becomes Ready without a moment with nothing serving (the endpoint is only ever
InService or Updating, a component always InService on it), and deleting the
LLMEndpoints removes the endpoint under deletionPolicy Delete and leaves it under
Retain. A model-based endpoint is refused by an InferenceComponent LLMEndpoint
before anything is tagged, and survives its deletion.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from llm_operator.core.adoption import ADOPT_ANNOTATION
from local_cluster.services import Emulator, Operator
from local_cluster.waiting import wait_for
from tests.emulator import builders
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.emulator_fixtures import boto3_client
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import get_llme, wait_gone, wait_ready
from tests.plugins.operator_fixtures import OperatorIdentity, started_operator

pytestmark = pytest.mark.e2e


@pytest.fixture
def operator(
    operator_identity: OperatorIdentity, emulator_process: Emulator, namespace: str, tmp_path: Path
) -> Iterator[Operator]:
    """The operator allowing adoption where no LLMEndpointPolicy governs (the chart's
    adoption.allowWithoutPolicy)."""
    op = started_operator(
        operator_identity.kubeconfig,
        emulator_process,
        namespace,
        tmp_path / "operator.log",
        LLMOP_ALLOW_ADOPTION="true",
    )
    yield op
    op.stop()
    print(f"--- operator log ({op.log}) ---\n{op.log_tail(200)}")


def hand_made(sm: Any, name: str) -> None:
    builders.model(sm, f"{name}-model")
    builders.component_config(sm, f"{name}-config", scaling=(1, 2))
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300}
    )
    builders.component(sm, f"{name}-ic", name, model_name=f"{name}-model")

    def serving() -> bool:
        found = sm.describe_inference_component(InferenceComponentName=f"{name}-ic")
        return bool(found["InferenceComponentStatus"] == "InService")

    wait_for(serving, timeout=60, what=f"{name}-ic InService")


class Watch(threading.Thread):
    """Records, until stopped, what an endpoint looks like to its clients."""

    def __init__(self, url: str, endpoint: str) -> None:
        super().__init__(daemon=True)
        self.sm = boto3_client(url)
        self.endpoint = endpoint
        self.seen: set[str] = set()
        self.created: set[Any] = set()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            found = self.sm.list_endpoints(NameContains=self.endpoint)["Endpoints"]
            if not found:
                self.seen.add("absent")
                continue
            self.created.add(found[0]["CreationTime"])
            serving = self.sm.list_inference_components(
                EndpointNameEquals=self.endpoint, StatusEquals="InService"
            )["InferenceComponents"]
            self.seen.add(found[0]["EndpointStatus"] if serving else "nothing serving")


def test_adopted_hand_made_endpoints_become_ready_without_downtime(
    operator: Operator, emulator_process: Emulator, kubectl: Kubectl, namespace: str
) -> None:
    sm = boto3_client(emulator_process.url)
    policies = {"kept": "Retain", "removed": "Delete"}
    for name in policies:
        hand_made(sm, f"hand-{name}")
    watches = {name: Watch(emulator_process.url, f"hand-{name}") for name in policies}
    for watch in watches.values():
        watch.start()
    try:
        for name, policy in policies.items():
            doc = llmendpoint("mistral-7b-inference-components")
            doc["metadata"] = {
                "name": name,
                "namespace": namespace,
                "annotations": {ADOPT_ANNOTATION: f"hand-{name}"},
            }
            doc["spec"]["deletionPolicy"] = policy
            kubectl.apply(to_yaml(doc))
        for name in policies:
            obj = wait_ready(kubectl, name, log=operator.log_tail)
            assert obj["status"]["endpointName"] == f"hand-{name}"
            assert obj["status"]["adopted"]["inferenceComponents"] == [f"hand-{name}-ic"]
    finally:
        for watch in watches.values():
            watch.done.set()
            watch.join()
    for name, watch in watches.items():
        assert watch.seen <= {"InService", "Updating"}, (name, watch.seen)
        assert len(watch.created) == 1, (name, watch.created)  # never made again
    for name in policies:
        kubectl("delete", "llmendpoint", name, "--wait=false")
    for name in policies:
        wait_gone(kubectl, name, log=operator.log_tail)
    endpoints = [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]
    assert endpoints == ["hand-kept"]
    assert sm.describe_endpoint(EndpointName="hand-kept")["EndpointStatus"] == "InService"
    assert get_llme(kubectl, "kept") is None


def test_a_model_based_endpoint_is_refused_by_an_inference_component_llmendpoint(
    operator: Operator, emulator_process: Emulator, kubectl: Kubectl, namespace: str
) -> None:
    """Refused before anything is tagged (SageMaker cannot update it to the operator's
    component-based config), and still there, untouched, after the LLMEndpoint goes."""
    sm = boto3_client(emulator_process.url)
    builders.model(sm, "hand-classic-model")
    builders.model_config(sm, "hand-classic-config", "hand-classic-model", "ml.g5.12xlarge")
    sm.create_endpoint(EndpointName="hand-classic", EndpointConfigName="hand-classic-config")
    arn = sm.describe_endpoint(EndpointName="hand-classic")["EndpointArn"]
    doc = llmendpoint("mistral-7b-inference-components")
    doc["metadata"] = {
        "name": "classic",
        "namespace": namespace,
        "annotations": {ADOPT_ANNOTATION: "hand-classic"},
    }
    kubectl.apply(to_yaml(doc))

    def refused() -> str | None:
        obj = get_llme(kubectl, "classic") or {}
        for c in (obj.get("status") or {}).get("conditions") or []:
            if c["type"] == "Degraded" and c.get("reason") == "AdoptionRefused":
                return str(c["message"])
        return None

    message = wait_for(refused, timeout=60, what="AdoptionRefused")
    assert "endpointType: Model" in message
    assert sm.list_tags(ResourceArn=arn)["Tags"] == []
    kubectl("delete", "llmendpoint", "classic", "--wait=false")
    wait_gone(kubectl, "classic", log=operator.log_tail)
    assert sm.describe_endpoint(EndpointName="hand-classic")["EndpointConfigName"] == (
        "hand-classic-config"
    )
    assert sm.list_tags(ResourceArn=arn)["Tags"] == []
    assert sm.describe_model(ModelName="hand-classic-model")["ModelName"] == "hand-classic-model"
