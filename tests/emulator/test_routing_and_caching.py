"""Routing strategies: kept in the endpoint config, shown by the endpoint, refused like AWS."""

from __future__ import annotations

from typing import Any

import pytest

from sagemaker_emulator.admin import AdminClient
from tests.emulator import builders
from tests.emulator.builders import error

PREFIX_AWARE = {
    "RoutingStrategy": "PREFIX_AWARE",
    "PrefixAwareRoutingConfig": {"PrefixLength": 4096, "ConcurrencyThreshold": 32},
}


def refusal(sm: Any, routing: dict[str, Any]) -> tuple[str, str]:
    def create() -> None:
        builders.component_config(sm, "cfg", routing=routing)

    return error(create)


@pytest.mark.parametrize(
    "routing", [PREFIX_AWARE, {"RoutingStrategy": "KV_AWARE"}, {"RoutingStrategy": "RANDOM"}]
)
def test_the_routing_strategy_is_described_by_config_and_endpoint(
    sm: Any, emulator_admin: AdminClient, routing: dict[str, Any]
) -> None:
    builders.component_config(sm, "cfg", routing=routing)
    config = sm.describe_endpoint_config(EndpointConfigName="cfg")
    assert config["ProductionVariants"][0]["RoutingConfig"] == routing
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    emulator_admin.settle()
    endpoint = sm.describe_endpoint(EndpointName="ep")
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["ProductionVariants"][0]["RoutingConfig"] == routing


def test_prefix_aware_routing_needs_its_prefix_length_and_threshold(sm: Any) -> None:
    code, message = refusal(
        sm, {"RoutingStrategy": "PREFIX_AWARE", "PrefixAwareRoutingConfig": {"PrefixLength": 4096}}
    )
    assert code == "ValidationException"
    assert "ConcurrencyThreshold in PrefixAwareRoutingConfig is required" in message


def test_a_prefix_config_with_another_strategy_is_refused(sm: Any) -> None:
    code, message = refusal(sm, {**PREFIX_AWARE, "RoutingStrategy": "KV_AWARE"})
    assert code == "ValidationException"
    assert "only when RoutingStrategy is PREFIX_AWARE" in message
