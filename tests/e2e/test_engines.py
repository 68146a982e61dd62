"""Serving engines through the real API server and operator: an operator upgrade never
changes the container of a running endpoint, and TGI is served with a warning."""

from __future__ import annotations

import json

import pytest

from local_cluster.services import Operator
from local_cluster.waiting import wait_for
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import get_llme, wait_ready
from tests.plugins.sagemaker import SageMaker

pytestmark = pytest.mark.e2e


def test_an_endpoint_from_before_engines_keeps_its_tgi_container(
    kubectl: Kubectl, operator: Operator, sagemaker_api: SageMaker
) -> None:
    manifest = llmendpoint("tgi-pinned-version")
    name = manifest["metadata"]["name"]
    kubectl.apply(to_yaml(manifest))
    before = wait_ready(kubectl, name, log=operator.log_tail)
    model_name = before["status"]["modelName"]
    image = sagemaker_api.model(model_name)["PrimaryContainer"]["Image"]
    assert "huggingface-pytorch-tgi-inference" in image
    assert before["status"]["engine"] == "tgi"

    # What an operator before engines left behind: no engine in spec, none in status.
    operator.stop()
    kubectl(
        "patch", "llmendpoint", name, "--type=json", "-p",
        json.dumps([
            {"op": "remove", "path": "/spec/model/engine"},
            {"op": "remove", "path": "/spec/model/engineVersion"},
        ]),
    )  # fmt: skip
    kubectl(
        "patch", "llmendpoint", name, "--subresource=status", "--type=json", "-p",
        json.dumps([{"op": "remove", "path": "/status/engine"}]),
    )  # fmt: skip
    generation = get_llme(kubectl, name)["metadata"]["generation"]  # type: ignore[index]

    operator.start()
    operator.wait_healthy()

    def reconciled() -> bool:
        obj = get_llme(kubectl, name) or {}
        status = obj.get("status") or {}
        return status.get("observedGeneration") == generation and "engine" in status

    wait_for(
        reconciled, timeout=120, what="the new generation reconciled", diagnose=operator.log_tail
    )
    after = wait_ready(kubectl, name, log=operator.log_tail)["status"]
    assert after["engine"] == "tgi"
    assert after["modelName"] == model_name  # the same model: nothing rolled out
    assert after["endpointConfigName"] == before["status"]["endpointConfigName"]
    inventory = sagemaker_api.inventory()
    assert inventory.models == [model_name]
    assert sagemaker_api.model(model_name)["PrimaryContainer"]["Image"] == image

    events = json.loads(kubectl("get", "events", "-o", "json").stdout)["items"]
    archived = [e for e in events if e.get("reason") == "EngineArchived"]
    assert archived and archived[0]["type"] == "Warning"
    assert "archived" in archived[0]["message"]
