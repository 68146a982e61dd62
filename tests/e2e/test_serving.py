"""LLM-aware serving through the API server, the operator and the emulator: the routing
a person asks for is the endpoint's, the engine's cache is switched on to match, and the
model data cache and placement are the component's."""

from __future__ import annotations

import pytest

from local_cluster.services import Operator
from local_cluster.waiting import wait_for
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import get_llme, wait_ready
from tests.plugins.sagemaker import SageMaker

pytestmark = pytest.mark.e2e


def test_a_prefix_aware_vllm_endpoint_routes_by_prefix_with_the_cache_on(
    kubectl: Kubectl, operator: Operator, sagemaker_api: SageMaker
) -> None:
    manifest = llmendpoint("vllm-prefix-aware-routing")
    name = manifest["metadata"]["name"]
    kubectl.apply(to_yaml(manifest))
    status = wait_ready(kubectl, name, log=operator.log_tail)["status"]

    endpoint = sagemaker_api.endpoint(status["endpointName"])
    assert endpoint["ProductionVariants"][0]["RoutingConfig"] == {
        "RoutingStrategy": "PREFIX_AWARE",
        "PrefixAwareRoutingConfig": {"PrefixLength": 4096, "ConcurrencyThreshold": 16},
    }
    environment = sagemaker_api.model(status["modelName"])["PrimaryContainer"]["Environment"]
    assert environment["SM_VLLM_ENABLE_PREFIX_CACHING"] == "true"
    component = sagemaker_api.inference_component(status["inferenceComponents"][0]["name"])
    assert component["Specification"]["DataCacheConfig"] == {"EnableCaching": True}
    assert component["Specification"]["SchedulingConfig"] == {"PlacementStrategy": "BINPACK"}

    # Back to the default: a new model and config roll out, the cache left to vLLM.
    kubectl("patch", "llmendpoint", name, "--type=merge", "-p", '{"spec":{"routing":null}}')

    def rolled_out() -> bool:
        current = (get_llme(kubectl, name) or {}).get("status") or {}
        if current.get("modelName") in (None, status["modelName"]):
            return False
        now = sagemaker_api.endpoint(status["endpointName"])
        routing = now["ProductionVariants"][0].get("RoutingConfig") or {}
        return bool(
            now["EndpointStatus"] == "InService"
            and routing.get("RoutingStrategy") == "LEAST_OUTSTANDING_REQUESTS"
        )

    wait_for(rolled_out, timeout=180, what="the default routing", diagnose=operator.log_tail)
    final = wait_ready(kubectl, name, log=operator.log_tail)["status"]
    variant = sagemaker_api.endpoint(final["endpointName"])["ProductionVariants"][0]
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    environment = sagemaker_api.model(final["modelName"])["PrimaryContainer"]["Environment"]
    assert "SM_VLLM_ENABLE_PREFIX_CACHING" not in environment
