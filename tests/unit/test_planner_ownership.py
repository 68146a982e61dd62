"""The ownership rule: only what is tagged with this LLMEndpoint's uid is ever changed.

An untagged resource (owner_uid None) or one tagged for another owner that
carries a name the planner wants is a NameConflict: reported, never written to,
and left in place when the LLMEndpoint is deleted.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from llm_operator.core.actions import (
    CreateEndpoint,
    CreateEndpointConfig,
    CreateInferenceComponent,
    DeleteEndpointConfig,
    DeleteInferenceComponent,
    DeleteModel,
)
from tests.unit.planner_factory import (
    BASE,
    OTHER_UID,
    TAGS,
    adapter_name,
    create_model,
    delete,
    make_desired,
    reconcile,
    resource,
    running,
    seen_component,
    seen_endpoint,
    with_components,
    without_components,
)

DESIRED = make_desired(adapters={"sql": "s3://bucket/sql.tar.gz"})
SQL = adapter_name("sql")
NOT_OURS = [None, OTHER_UID]


def writes(actions: tuple[object, ...], name: str) -> list[object]:
    return [a for a in actions if getattr(a, "name", None) == name]


@pytest.mark.parametrize("owner", NOT_OURS)
def test_endpoint_not_ours_is_a_conflict_and_nothing_else_happens(owner: str | None) -> None:
    observed = replace(
        running(DESIRED),
        endpoint=seen_endpoint(DESIRED, owner_uid=owner, config_name="hand-made-config"),
        components={},
    )
    result = reconcile(DESIRED, observed)
    assert result.actions == ()
    assert result.degraded.reason == "NameConflict"
    assert result.ready.status is False and result.ready.reason == "NameConflict"
    assert [(e.type, e.reason) for e in result.events] == [("Warning", "NameConflict")]
    assert DESIRED.endpoint_name in result.events[0].message


def test_untagged_conflict_says_it_has_no_ownership_tags() -> None:
    observed = replace(running(DESIRED), endpoint=seen_endpoint(DESIRED, owner_uid=None))
    message = reconcile(DESIRED, observed).degraded.message
    assert "has no ownership tags" in message
    assert "another name" in message


@pytest.mark.parametrize("owner", NOT_OURS)
def test_base_component_not_ours_on_another_endpoint_is_never_ready(owner: str | None) -> None:
    intruder = seen_component(DESIRED, BASE, owner_uid=owner, endpoint_name="hand-made")
    observed = with_components(without_components(running(DESIRED), BASE, SQL), intruder)
    result = reconcile(DESIRED, observed)
    assert writes(result.actions, BASE) == []
    assert result.degraded.reason == "NameConflict"
    assert not result.ready.status
    assert result.phase == "Failed"


@pytest.mark.parametrize("owner", NOT_OURS)
def test_adapter_not_ours_is_reported_even_while_the_base_is_creating(owner: str | None) -> None:
    observed = with_components(
        running(DESIRED),
        seen_component(DESIRED, BASE, status="Creating"),
        seen_component(DESIRED, SQL, owner_uid=owner),
    )
    result = reconcile(DESIRED, observed)
    assert writes(result.actions, SQL) == []
    assert result.degraded.reason == "NameConflict"
    assert SQL in result.degraded.message


@pytest.mark.parametrize("owner", NOT_OURS)
def test_model_with_our_name_not_ours_is_never_used(owner: str | None) -> None:
    observed = replace(
        running(DESIRED),
        endpoint=None,
        components={},
        models={DESIRED.model.name: resource(DESIRED.model.name, owner_uid=owner)},
        endpoint_configs={},
    )
    result = reconcile(DESIRED, observed)
    assert result.actions == ()
    assert result.degraded.reason == "NameConflict"


@pytest.mark.parametrize("owner", NOT_OURS)
def test_config_with_our_name_not_ours_is_never_pointed_to(owner: str | None) -> None:
    name = DESIRED.endpoint_config.name
    observed = replace(
        running(DESIRED),
        endpoint=None,
        components={},
        endpoint_configs={name: resource(name, owner_uid=owner)},
    )
    result = reconcile(DESIRED, observed)
    assert not any(isinstance(a, CreateEndpoint) for a in result.actions)
    assert result.degraded.reason == "NameConflict"


def test_old_models_and_configs_not_ours_are_not_garbage() -> None:
    observed = running(DESIRED)
    observed = replace(
        observed,
        models={**observed.models, "x-m1": resource("x-m1", None)},
        endpoint_configs={**observed.endpoint_configs, "x-c1": resource("x-c1", OTHER_UID)},
    )
    result = reconcile(DESIRED, observed)
    assert result.actions == ()


def test_our_component_left_on_another_endpoint_is_replaced() -> None:
    stray = seen_component(DESIRED, SQL, endpoint_name="an-earlier-endpoint")
    observed = with_components(running(DESIRED), stray)
    result = reconcile(DESIRED, observed)
    assert DeleteInferenceComponent(name=SQL) in result.actions
    assert not result.ready.status


@pytest.mark.parametrize("owner", NOT_OURS)
def test_deletion_leaves_what_is_not_ours_and_finishes(owner: str | None) -> None:
    observed = replace(
        running(DESIRED),
        endpoint=seen_endpoint(DESIRED, owner_uid=owner),
        components={
            BASE: seen_component(DESIRED, BASE, owner_uid=owner, endpoint_name="hand-made")
        },
        models={DESIRED.model.name: resource(DESIRED.model.name, owner)},
        endpoint_configs={"mine-c1": resource("mine-c1")},
    )
    result = delete(DESIRED, observed)
    assert result.actions == (DeleteEndpointConfig(name="mine-c1"),)
    assert result.degraded.reason == "NameConflict"
    gone = replace(observed, endpoint_configs={})
    assert delete(DESIRED, gone).done_deleting


def test_someone_elses_component_on_our_endpoint_holds_the_endpoint_back() -> None:
    guest = replace(seen_component(DESIRED, BASE), name="guest", owner_uid=None)
    observed = replace(running(DESIRED), components={"guest": guest})
    result = delete(DESIRED, observed)
    assert result.actions == ()
    assert not result.done_deleting
    assert result.degraded.reason == "NameConflict"


def test_a_fresh_llmendpoint_creates_everything_tagged() -> None:
    result = reconcile(
        DESIRED,
        replace(running(DESIRED), endpoint=None, components={}, models={}, endpoint_configs={}),
    )
    assert result.actions == (
        create_model(DESIRED),
        CreateEndpointConfig(
            name=DESIRED.endpoint_config.name,
            spec=DESIRED.endpoint_config.create_request,
            tags=TAGS,
        ),
        CreateEndpoint(
            name=DESIRED.endpoint_name, config_name=DESIRED.endpoint_config.name, tags=TAGS
        ),
    )
    assert not any(isinstance(a, CreateInferenceComponent | DeleteModel) for a in result.actions)
