"""Drift: someone changed or deleted our SageMaker resources; the planner puts them back."""

from __future__ import annotations

from dataclasses import replace

import pytest

from llm_operator.core.actions import (
    CreateEndpoint,
    CreateEndpointConfig,
    CreateInferenceComponent,
    UpdateEndpoint,
    UpdateInferenceComponentRuntimeConfig,
)
from tests.unit.planner_factory import (
    BASE,
    ENDPOINT,
    TAGS,
    adapter_name,
    create_model,
    make_desired,
    reconcile,
    running,
    seen_component,
    seen_endpoint,
    with_components,
    without_components,
)

DESIRED = make_desired(adapters={"support": "s3://b/support.tar.gz"})
SUPPORT = adapter_name("support")


def test_deleted_endpoint_is_created_again() -> None:
    observed = replace(running(DESIRED), endpoint=None, components={})
    result = reconcile(DESIRED, observed)
    assert result.actions == (
        CreateEndpoint(name=ENDPOINT, config_name=DESIRED.endpoint_config.name, tags=TAGS),
    )
    assert result.phase == "Creating"


def test_deleted_endpoint_and_config_are_both_recreated() -> None:
    observed = replace(running(DESIRED), endpoint=None, components={}, endpoint_configs={})
    assert reconcile(DESIRED, observed).actions == (
        CreateEndpointConfig(
            name=DESIRED.endpoint_config.name,
            spec=DESIRED.endpoint_config.create_request,
            tags=TAGS,
        ),
        CreateEndpoint(name=ENDPOINT, config_name=DESIRED.endpoint_config.name, tags=TAGS),
    )


def test_endpoint_being_deleted_by_someone_is_waited_for() -> None:
    observed = replace(running(DESIRED), endpoint=seen_endpoint(DESIRED, "Deleting"))
    result = reconcile(DESIRED, observed)
    assert result.actions == ()
    assert not result.settled
    assert result.phase == "Updating"


def test_deleted_base_component_is_recreated_before_its_adapters() -> None:
    observed = without_components(running(DESIRED), BASE, SUPPORT)
    assert reconcile(DESIRED, observed).actions == (
        CreateInferenceComponent(
            name=BASE,
            endpoint_name=ENDPOINT,
            variant_name="AllTraffic",
            specification=DESIRED.components[0].specification,
            copies=4,
            tags=TAGS,
        ),
    )


def test_deleted_adapter_is_recreated() -> None:
    observed = without_components(running(DESIRED), SUPPORT)
    assert reconcile(DESIRED, observed).actions == (
        CreateInferenceComponent(
            name=SUPPORT,
            endpoint_name=ENDPOINT,
            variant_name=None,
            specification=DESIRED.components[1].specification,
            copies=None,
            tags=TAGS,
        ),
    )


def test_copies_changed_in_the_console_are_set_back() -> None:
    observed = with_components(
        running(DESIRED), seen_component(DESIRED, BASE, desired_copies=1, current_copies=1)
    )
    result = reconcile(DESIRED, observed)
    assert result.actions == (UpdateInferenceComponentRuntimeConfig(name=BASE, copies=4),)
    assert not result.ready.status


def test_endpoint_switched_to_another_config_is_updated_back() -> None:
    observed = replace(
        running(DESIRED), endpoint=seen_endpoint(DESIRED, config_name="console-config")
    )
    assert reconcile(DESIRED, observed).actions == (
        UpdateEndpoint(name=ENDPOINT, config_name=DESIRED.endpoint_config.name),
    )


def test_model_deleted_while_in_use_is_created_again_under_its_name() -> None:
    observed = replace(running(DESIRED), models={})
    result = reconcile(DESIRED, observed)
    assert result.actions == (create_model(DESIRED),)
    assert [(e.type, e.reason) for e in result.events] == [("Warning", "ResourceMissing")]
    assert DESIRED.model.name in result.events[0].message
    assert result.phase == "InService"  # it still serves meanwhile


def test_model_of_a_model_endpoint_deleted_while_in_use_is_created_again() -> None:
    desired = make_desired(endpoint_type="Model")
    result = reconcile(desired, replace(running(desired), models={}))
    assert result.actions == (create_model(desired),)
    assert [e.reason for e in result.events] == ["ResourceMissing"]


def test_model_deleted_while_in_use_is_recreated_for_a_component_that_needs_it() -> None:
    observed = without_components(replace(running(DESIRED), models={}), BASE, SUPPORT)
    assert reconcile(DESIRED, observed).actions == (
        create_model(DESIRED),
        CreateInferenceComponent(
            name=BASE,
            endpoint_name=ENDPOINT,
            variant_name="AllTraffic",
            specification=DESIRED.components[0].specification,
            copies=4,
            tags=TAGS,
        ),
    )


def test_config_deleted_while_in_use_is_created_again_under_its_name() -> None:
    observed = replace(running(DESIRED), endpoint_configs={})
    result = reconcile(DESIRED, observed)
    assert result.actions == (
        CreateEndpointConfig(
            name=DESIRED.endpoint_config.name,
            spec=DESIRED.endpoint_config.create_request,
            tags=TAGS,
        ),
    )
    assert [e.reason for e in result.events] == ["ResourceMissing"]


def test_model_endpoint_recreated_after_model_and_config_vanished() -> None:
    desired = make_desired(endpoint_type="Model")
    observed = replace(running(desired), endpoint=None, models={}, endpoint_configs={})
    assert reconcile(desired, observed).actions == (
        create_model(desired),
        CreateEndpointConfig(
            name=desired.endpoint_config.name,
            spec=desired.endpoint_config.create_request,
            tags=TAGS,
        ),
        CreateEndpoint(name=ENDPOINT, config_name=desired.endpoint_config.name, tags=TAGS),
    )


@pytest.mark.parametrize("status", ["SystemUpdating", "RollingBack", "Updating", "OutOfService"])
def test_transitioning_endpoint_is_left_alone(status: str) -> None:
    observed = replace(
        running(DESIRED),
        endpoint=seen_endpoint(DESIRED, status),
        components={},  # even missing components wait for the endpoint
    )
    result = reconcile(DESIRED, observed)
    assert result.actions == ()
    assert not result.settled
    assert result.progressing.status
    assert status in result.progressing.message


def test_what_sagemaker_describes_beyond_our_request_is_not_drift() -> None:
    observed = with_components(
        running(DESIRED),
        seen_component(DESIRED, BASE, artifact_url="s3://sagemaker-deployed/model.tar.gz"),
        seen_component(DESIRED, SUPPORT, model_name=DESIRED.model.name),
    )
    result = reconcile(DESIRED, observed)
    assert result.actions == ()
    assert result.phase == "InService"
