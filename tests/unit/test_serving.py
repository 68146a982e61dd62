"""LLM-aware serving: spec.routing rendered into the endpoint config and the engine, and
the serving members of the base inference component (the model data cache)."""

from __future__ import annotations

import copy
import re
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from llm_operator.api import engines as engine_table
from llm_operator.api.models import LLMEndpointSpec
from llm_operator.core import engines, validation
from llm_operator.core.compare import spec_matches
from llm_operator.core.desired import DesiredComponent, DesiredState, Owner, render
from llm_operator.core.observed import ObservedComponent

OWNER = Owner(namespace="team-a", name="chat", uid="0b9e6a52-7f0c-4d2e-9a51-1f2b3c4d5e6f")
ROLE = "arn:aws:iam::111122223333:role/SageMakerExecution"
SEED: dict[str, Any] = {
    "model": {"engine": "vllm", "hfModelId": "mistralai/Mistral-7B-Instruct-v0.1"},
    "instance": {"type": "ml.g5.12xlarge", "count": 1, "minCount": 1, "maxCount": 2},
    "resources": {"copies": 2, "acceleratorsPerCopy": 1, "memoryMiBPerCopy": 8192},
    "aws": {"region": "us-east-1", "executionRoleArn": ROLE},
}
_SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")


def raw(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(SEED)
    for section, value in changes.items():
        if value is None:
            out.pop(section, None)
        elif isinstance(value, dict) and isinstance(out.get(section), dict):
            out[section] = {**out[section], **value}
        else:
            out[section] = value
    return out


def go(**changes: Any) -> DesiredState:
    return render(LLMEndpointSpec.model_validate(raw(**changes)), OWNER, hf_token=None)


def variant(d: DesiredState) -> dict[str, Any]:
    result: dict[str, Any] = d.endpoint_config.create_request["ProductionVariants"][0]
    return result


def environment(d: DesiredState) -> dict[str, str]:
    result: dict[str, str] = d.model.create_request["PrimaryContainer"]["Environment"]
    return result


def assert_botocore_takes(d: DesiredState) -> None:
    shape = _SAGEMAKER.operation_model("CreateEndpointConfig").input_shape
    report = ParamValidator().validate(dict(d.endpoint_config.create_request), shape)
    assert not report.has_errors(), report.generate_report()


# --- routing ---------------------------------------------------------------------


def test_every_strategy_is_one_botocore_knows() -> None:
    from llm_operator.api.models import ROUTING_STRATEGIES

    known = _SAGEMAKER.shape_for("RoutingStrategy").enum
    assert set(ROUTING_STRATEGIES.values()) <= set(known)


def test_an_unset_routing_renders_what_it_always_did() -> None:
    """Existing endpoints keep their config names: no rollout after an upgrade."""
    unset = go()
    explicit = go(routing={"strategy": "LeastOutstandingRequests"})
    assert variant(unset)["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    assert unset.endpoint_config.name == explicit.endpoint_config.name
    assert unset.model.name == explicit.model.name
    assert "SM_VLLM_ENABLE_PREFIX_CACHING" not in environment(unset)


def test_a_model_endpoint_carries_routing_only_for_another_strategy() -> None:
    model: dict[str, Any] = {
        "endpointType": "Model",
        "resources": None,
        "instance": {"type": "ml.g5.12xlarge", "count": 1, "minCount": None, "maxCount": None},
    }
    plain = go(**model)
    assert "RoutingConfig" not in variant(plain)
    random = go(**model, routing={"strategy": "Random"})
    assert variant(random)["RoutingConfig"] == {"RoutingStrategy": "RANDOM"}
    assert random.endpoint_config.name != plain.endpoint_config.name
    assert_botocore_takes(random)


def test_prefix_aware_vllm_routes_by_prefix_and_switches_the_cache_on() -> None:
    d = go(routing={"strategy": "PrefixAware"})
    assert variant(d)["RoutingConfig"] == {
        "RoutingStrategy": "PREFIX_AWARE",
        "PrefixAwareRoutingConfig": {"PrefixLength": 4096, "ConcurrencyThreshold": 32},
    }
    assert environment(d)["SM_VLLM_ENABLE_PREFIX_CACHING"] == "true"
    assert_botocore_takes(d)
    # The cache is part of the model: switching routing rolls out a new model and config.
    plain = go()
    assert d.model.name != plain.model.name
    assert d.endpoint_config.name != plain.endpoint_config.name


def test_prefix_aware_takes_the_prefix_length_and_threshold_given() -> None:
    d = go(routing={"strategy": "PrefixAware", "prefixLength": 2048, "concurrencyThreshold": 4})
    assert variant(d)["RoutingConfig"]["PrefixAwareRoutingConfig"] == {
        "PrefixLength": 2048,
        "ConcurrencyThreshold": 4,
    }


@pytest.mark.parametrize(
    ("engine", "cache"),
    [
        ("vllm", {"SM_VLLM_ENABLE_PREFIX_CACHING": "true"}),
        ("lmi", {"OPTION_ENABLE_PREFIX_CACHING": "true"}),
        # SGLang's radix cache is on unless disabled: nothing to add.
        ("sglang", {}),
    ],
)
def test_kv_aware_routing_turns_each_engines_cache_on(engine: str, cache: dict[str, str]) -> None:
    d = go(model={"engine": engine}, routing={"strategy": "KVAware"})
    assert variant(d)["RoutingConfig"] == {"RoutingStrategy": "KV_AWARE"}
    env = environment(d)
    assert {k: v for k, v in env.items() if "PREFIX_CACHING" in k} == cache
    assert_botocore_takes(d)


def test_the_typed_cache_wins_over_model_env_and_says_so() -> None:
    spec = LLMEndpointSpec.model_validate(
        raw(
            model={"env": {"SM_VLLM_ENABLE_PREFIX_CACHING": "false"}},
            routing={"strategy": "PrefixAware"},
        )
    )
    assert environment(render(spec, OWNER, hf_token=None))["SM_VLLM_ENABLE_PREFIX_CACHING"] == (
        "true"
    )
    warned = [p for p in validation.validate(spec) if p.reason == "EnvOverridden"]
    assert warned and "SM_VLLM_ENABLE_PREFIX_CACHING" in warned[0].message


@pytest.mark.parametrize("engine", sorted(engine_table.NO_PREFIX_CACHE))
@pytest.mark.parametrize("strategy", ["PrefixAware", "KVAware"])
def test_cache_routing_is_refused_for_engines_without_a_prefix_cache(
    engine: str, strategy: str
) -> None:
    model = {"engine": engine}
    with pytest.raises(ValueError, match=f"routing.strategy {strategy} needs an engine") as err:
        LLMEndpointSpec.model_validate(raw(model=model, routing={"strategy": strategy}))
    assert engine_table.NO_PREFIX_CACHE[engine] in str(err.value)  # type: ignore[index]


def test_cache_routing_on_an_engine_from_status_is_refused_in_the_condition() -> None:
    """model.engine unset: the API server cannot know the engine; the operator says why."""
    spec = LLMEndpointSpec.model_validate(
        raw(model={"engine": None}, routing={"strategy": "KVAware"})
    )
    status = {"engine": "tgi", "modelName": "m"}
    why = engines.chosen_because(spec.model, status)
    problems = validation.validate(engines.pin(spec, status), engine_why=why)
    refused = [p for p in problems if p.severity == "error"]
    assert [p.reason for p in refused] == ["EngineUnsupportedSetting"]
    assert "routing.strategy KVAware needs an engine that keeps a prefix" in refused[0].message
    assert "status.engine records tgi" in refused[0].message


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {
                "instance": None,
                "resources": None,
                "pool": {"name": "shared"},
                "routing": {"strategy": "Random"},
            },
            "routing is the pool's",
        ),
        (
            {
                "endpointType": "Serverless",
                "instance": None,
                "resources": None,
                "model": {"engine": "tei", "hfModelId": "BAAI/bge-small-en-v1.5"},
                "serverless": {"memoryMiB": 4096, "maxConcurrency": 5},
                "routing": {"strategy": "Random"},
            },
            "routing applies to endpoints on instances",
        ),
        (
            {
                "model": {
                    "engine": None,
                    "hfModelId": None,
                    "modelPackage": {"group": "chat-models"},
                },
                "routing": {"strategy": "PrefixAware"},
            },
            "a model package brings its own container",
        ),
        (
            {"routing": {"strategy": "KVAware", "prefixLength": 2048}},
            "apply to strategy PrefixAware only",
        ),
    ],
)
def test_routing_where_it_cannot_apply_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        LLMEndpointSpec.model_validate(raw(**changes))


# --- the model data cache ------------------------------------------------------------


def base_component(d: DesiredState) -> DesiredComponent:
    return d.components[0]


def observed_as(component: DesiredComponent, **serving: Any) -> ObservedComponent:
    """The component as SageMaker describes it, with `serving` as its serving members."""
    spec = component.specification
    return ObservedComponent(
        name=component.name,
        status="InService",
        endpoint_name="ep",
        model_name=spec["ModelName"],
        compute={k: float(v) for k, v in spec["ComputeResourceRequirements"].items()},
        artifact_url=None,
        base_component=None,
        desired_copies=component.copies,
        current_copies=component.copies,
        serving=serving,
    )


def assert_component_request_valid(component: DesiredComponent) -> None:
    shape = _SAGEMAKER.operation_model("CreateInferenceComponent").input_shape
    params = {
        "InferenceComponentName": component.name,
        "EndpointName": "ep",
        "VariantName": "AllTraffic",
        "Specification": dict(component.specification),
        "RuntimeConfig": {"CopyCount": component.copies},
    }
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()


def test_an_unset_cache_leaves_the_component_as_it_was() -> None:
    spec = base_component(go()).specification
    assert set(spec) == {"ModelName", "ComputeResourceRequirements"}


@pytest.mark.parametrize("enabled", [True, False])
def test_cache_model_data_is_the_components_data_cache(enabled: bool) -> None:
    component = base_component(go(resources={"cacheModelData": enabled}))
    assert component.specification["DataCacheConfig"] == {"EnableCaching": enabled}
    assert_component_request_valid(component)


def test_a_component_without_the_wanted_cache_is_updated() -> None:
    wanted = base_component(go(resources={"cacheModelData": True}))
    assert not spec_matches(wanted, observed_as(wanted))
    assert spec_matches(wanted, observed_as(wanted, DataCacheConfig={"EnableCaching": True}))
    # Turned off: a component described without a cache already has it off.
    off = base_component(go(resources={"cacheModelData": False}))
    assert spec_matches(off, observed_as(off))
    assert not spec_matches(off, observed_as(off, DataCacheConfig={"EnableCaching": True}))


def test_members_the_spec_does_not_set_are_not_compared() -> None:
    """SageMaker may describe a default it was never sent: that is no reason to update."""
    plain = base_component(go())
    assert spec_matches(plain, observed_as(plain, SchedulingConfig={"PlacementStrategy": "SPREAD"}))


# --- placement -------------------------------------------------------------------------


def test_placement_is_the_components_scheduling_config() -> None:
    placement = {
        "strategy": "Spread",
        "availabilityZoneBalance": {"mode": "Permissive", "maxImbalance": 1},
    }
    component = base_component(go(resources={"placement": placement}))
    assert component.specification["SchedulingConfig"] == {
        "PlacementStrategy": "SPREAD",
        "AvailabilityZoneBalance": {"EnforcementMode": "PERMISSIVE", "MaxImbalance": 1},
    }
    assert_component_request_valid(component)
    binpack = base_component(go(resources={"placement": {"strategy": "Binpack"}}))
    assert binpack.specification["SchedulingConfig"] == {"PlacementStrategy": "BINPACK"}
    assert_component_request_valid(binpack)


def test_every_placement_value_is_one_botocore_knows() -> None:
    from llm_operator.api.models import PLACEMENT_STRATEGIES, ZONE_BALANCE_MODES

    strategies = _SAGEMAKER.shape_for("InferenceComponentPlacementStrategy").enum
    modes = _SAGEMAKER.shape_for("AvailabilityZoneBalanceEnforcementMode").enum
    assert set(PLACEMENT_STRATEGIES.values()) <= set(strategies)
    assert set(ZONE_BALANCE_MODES.values()) <= set(modes)


def test_a_component_placed_otherwise_is_updated() -> None:
    wanted = base_component(go(resources={"placement": {"strategy": "Binpack"}}))
    assert not spec_matches(wanted, observed_as(wanted))
    assert not spec_matches(
        wanted, observed_as(wanted, SchedulingConfig={"PlacementStrategy": "SPREAD"})
    )
    described = {"PlacementStrategy": "BINPACK", "AvailabilityZoneBalance": {}}
    assert spec_matches(wanted, observed_as(wanted, SchedulingConfig=described))


@pytest.mark.parametrize(
    ("placement", "message"),
    [
        ({"strategy": "RoundRobin"}, "strategy"),
        ({"strategy": "Spread", "availabilityZoneBalance": {"maxImbalance": 101}}, "100"),
        ({"strategy": "Spread", "availabilityZoneBalance": {"mode": "Strict"}}, "Permissive"),
        ({}, "strategy"),
    ],
)
def test_placement_values_sagemaker_does_not_have_are_refused(
    placement: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        LLMEndpointSpec.model_validate(raw(resources={"placement": placement}))
