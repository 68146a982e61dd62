"""Fresh creation: what the planner asks SageMaker for, pass after pass."""

from __future__ import annotations

from dataclasses import replace

import pytest

from llm_operator.api.models import EndpointTypeName
from llm_operator.core.actions import (
    CreateEndpoint,
    CreateEndpointConfig,
    CreateInferenceComponent,
    CreateModel,
)
from llm_operator.core.desired import DesiredState
from llm_operator.core.observed import ObservedState
from tests.unit.planner_factory import (
    BASE,
    ENDPOINT,
    TAGS,
    adapter_name,
    create_model,
    make_desired,
    reconcile,
    resource,
    running,
    seen_component,
    seen_endpoint,
)

ADAPTERS = {"support": "s3://b/support.tar.gz", "legal": "s3://b/legal.tar.gz"}


@pytest.mark.parametrize("endpoint_type", ["InferenceComponent", "Model"])
def test_nothing_exists_creates_model_config_and_endpoint_in_one_pass(
    endpoint_type: EndpointTypeName,
) -> None:
    desired = make_desired(endpoint_type=endpoint_type)
    result = reconcile(desired, ObservedState())
    assert result.actions == (
        create_model(desired),
        CreateEndpointConfig(
            name=desired.endpoint_config.name,
            spec=desired.endpoint_config.create_request,
            tags=TAGS,
        ),
        CreateEndpoint(name=ENDPOINT, config_name=desired.endpoint_config.name, tags=TAGS),
    )
    assert result.phase == "Creating"
    assert not result.settled
    assert (result.ready.status, result.progressing.status, result.degraded.status) == (
        False,
        True,
        False,
    )
    assert result.failure_reason is None


def test_model_variant_references_the_model_it_creates() -> None:
    desired = make_desired(endpoint_type="Model")
    create_model, create_config, _ = reconcile(desired, ObservedState()).actions
    assert isinstance(create_model, CreateModel) and isinstance(create_config, CreateEndpointConfig)
    variant = create_config.spec["ProductionVariants"][0]
    assert variant["ModelName"] == create_model.name


def test_restart_after_a_crash_creates_only_what_is_missing() -> None:
    desired = make_desired()
    observed = ObservedState(models={desired.model.name: resource(desired.model.name)})
    assert reconcile(desired, observed).actions == (
        CreateEndpointConfig(
            name=desired.endpoint_config.name,
            spec=desired.endpoint_config.create_request,
            tags=TAGS,
        ),
        CreateEndpoint(name=ENDPOINT, config_name=desired.endpoint_config.name, tags=TAGS),
    )


def test_waits_while_the_endpoint_is_creating() -> None:
    desired = make_desired()
    observed = replace(running(desired), endpoint=seen_endpoint(desired, "Creating"), components={})
    result = reconcile(desired, observed)
    assert result.actions == ()
    assert result.phase == "Creating"
    assert not result.settled
    assert result.progressing.status and "Creating" in result.progressing.message


def test_endpoint_in_service_creates_the_base_component_on_its_variant() -> None:
    desired = make_desired(adapters=ADAPTERS)
    observed = replace(running(desired), components={})
    result = reconcile(desired, observed)
    assert result.actions == (
        CreateInferenceComponent(
            name=BASE,
            endpoint_name=ENDPOINT,
            variant_name="AllTraffic",
            specification=desired.components[0].specification,
            copies=4,
            tags=TAGS,
        ),
    )
    assert result.phase == "Creating"


def test_adapters_wait_for_the_base_component() -> None:
    desired = make_desired(adapters=ADAPTERS)
    observed = replace(
        running(desired), components={BASE: seen_component(desired, BASE, "Creating")}
    )
    result = reconcile(desired, observed)
    assert result.actions == ()
    assert result.phase == "Creating"
    assert not result.settled


def test_base_in_service_creates_one_component_per_adapter() -> None:
    desired = make_desired(adapters=ADAPTERS)
    observed = replace(running(desired), components={BASE: seen_component(desired, BASE)})
    result = reconcile(desired, observed)
    assert result.actions == tuple(
        CreateInferenceComponent(
            name=adapter_name(name),
            endpoint_name=ENDPOINT,
            variant_name=None,
            specification={"BaseInferenceComponentName": BASE, "Container": {"ArtifactUrl": url}},
            copies=None,
            tags=TAGS,
        )
        for name, url in ADAPTERS.items()
    )


def test_copies_still_starting_is_progress_not_ready() -> None:
    desired = make_desired()
    observed = replace(
        running(desired), components={BASE: seen_component(desired, BASE, current_copies=1)}
    )
    result = reconcile(desired, observed)
    assert result.actions == ()
    assert not result.ready.status
    assert result.progressing.status and "1/4" in result.progressing.message
    assert not result.settled


@pytest.mark.parametrize(
    "desired",
    [make_desired(adapters=ADAPTERS), make_desired(endpoint_type="Model")],
    ids=["InferenceComponent", "Model"],
)
def test_everything_in_service_is_ready_and_settled(desired: DesiredState) -> None:
    result = reconcile(desired, running(desired))
    assert result.actions == ()
    assert result.phase == "InService"
    assert result.settled
    assert (result.ready.status, result.progressing.status, result.degraded.status) == (
        True,
        False,
        False,
    )
    assert result.events == ()
