"""Routing strategies (kept in the endpoint config, shown by the endpoint, refused like
AWS) and the model data cache (shown by the component; later copies start sooner)."""

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


# --- the model data cache ------------------------------------------------------------

DELAY = 100.0


@pytest.fixture
def component_endpoint(sm: Any, emulator_admin: AdminClient) -> str:
    builders.model(sm, "llm-model")
    builders.component_config(sm, "ic-cfg", scaling=(1, 2))
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="ic-cfg")
    emulator_admin.settle()
    emulator_admin.set_delay(DELAY)
    return "ep"


def next_copy_wait(sm: Any, emulator_admin: AdminClient, name: str) -> float:
    """Seconds from one copy starting (on the emulator's clock) to the next falling due."""
    emulator_admin.settle(once=True)
    started = sm.describe_inference_component(InferenceComponentName=name)["LastModifiedTime"]
    (due,) = [p["due"] for p in emulator_admin.pending() if p["name"] == name]
    return float(due) - started.timestamp()


def test_a_cached_copy_starts_sooner_on_an_instance_that_holds_one(
    sm: Any, emulator_admin: AdminClient, component_endpoint: str
) -> None:
    cache = {"EnableCaching": True}
    builders.component(sm, "cached", "ep", copies=3, DataCacheConfig=cache)
    described = sm.describe_inference_component(InferenceComponentName="cached")
    assert described["Specification"]["DataCacheConfig"] == cache
    # The first copy downloads the model; the second lands on the same instance.
    assert next_copy_wait(sm, emulator_admin, "cached") == pytest.approx(DELAY / 4, abs=0.01)
    emulator_admin.settle()
    assert sm.describe_inference_component(InferenceComponentName="cached")["RuntimeConfig"] == {
        "DesiredCopyCount": 3,
        "CurrentCopyCount": 3,
    }


def test_without_the_cache_every_copy_downloads_the_model(
    sm: Any, emulator_admin: AdminClient, component_endpoint: str
) -> None:
    builders.component(sm, "plain", "ep", copies=3)
    described = sm.describe_inference_component(InferenceComponentName="plain")
    assert "DataCacheConfig" not in described["Specification"]
    assert next_copy_wait(sm, emulator_admin, "plain") == pytest.approx(DELAY, abs=0.01)


def test_a_copy_on_a_new_instance_has_no_cache_to_start_from(
    sm: Any, emulator_admin: AdminClient, component_endpoint: str
) -> None:
    """Four GPUs per instance and four per copy: the second copy needs a second instance."""
    builders.component(sm, "big", "ep", gpus=4, copies=2, DataCacheConfig={"EnableCaching": True})
    assert next_copy_wait(sm, emulator_admin, "big") == pytest.approx(DELAY, abs=0.01)


# --- placement -------------------------------------------------------------------------


@pytest.fixture
def two_instances(sm: Any, emulator_admin: AdminClient) -> str:
    builders.model(sm, "llm-model")
    builders.component_config(sm, "ic-cfg", count=2)
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="ic-cfg")
    emulator_admin.settle()
    emulator_admin.set_delay(DELAY)
    return "ep"


@pytest.mark.parametrize(
    ("strategy", "wait"),
    # Spread puts the second copy on the other instance, which has no cache yet; Binpack
    # puts it next to the first.
    [("SPREAD", DELAY), ("BINPACK", DELAY / 4)],
)
def test_the_placement_strategy_decides_where_the_next_copy_goes(
    sm: Any, emulator_admin: AdminClient, two_instances: str, strategy: str, wait: float
) -> None:
    scheduling = {
        "PlacementStrategy": strategy,
        "AvailabilityZoneBalance": {"EnforcementMode": "PERMISSIVE", "MaxImbalance": 1},
    }
    builders.component(
        sm,
        "ic",
        "ep",
        copies=2,
        DataCacheConfig={"EnableCaching": True},
        SchedulingConfig=scheduling,
    )
    described = sm.describe_inference_component(InferenceComponentName="ic")
    assert described["Specification"]["SchedulingConfig"] == scheduling
    assert next_copy_wait(sm, emulator_admin, "ic") == pytest.approx(wait, abs=0.01)
