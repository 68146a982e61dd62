"""Deletion: policy Delete tears down in SageMaker's order; Retain leaves everything,
tagged as retained."""

from __future__ import annotations

from dataclasses import replace

import pytest

from llm_operator.core.actions import (
    AddTags,
    DeleteEndpoint,
    DeleteEndpointConfig,
    DeleteInferenceComponent,
    DeleteModel,
    Effect,
    RemoveTags,
    TagEndpoint,
    TagEndpointConfig,
    TagInferenceComponent,
    TagModel,
    UntagEndpoint,
    UntagEndpointConfig,
    UntagModel,
)
from llm_operator.core.desired import MANAGED_BY, MANAGED_BY_TAG, RETAINED_TAG, UID_TAG, Adopted
from llm_operator.core.observed import ObservedState
from llm_operator.core.plan import PlanEvent
from tests.unit.planner_factory import (
    BASE,
    ENDPOINT,
    OTHER_UID,
    adapter_name,
    delete,
    make_desired,
    resource,
    running,
    seen_component,
    seen_endpoint,
    with_components,
    without_components,
)

DESIRED = make_desired(adapters={"a": "s3://b/a.tgz", "b": "s3://b/b.tgz"})
OLD = make_desired(count=2)
EVERYTHING = running(
    DESIRED, extra_models=(f"{ENDPOINT}-m-old",), extra_configs=(OLD.endpoint_config.name,)
)


def test_adapters_go_first() -> None:
    result = delete(DESIRED, EVERYTHING)
    assert result.actions == (
        DeleteInferenceComponent(name=adapter_name("a")),
        DeleteInferenceComponent(name=adapter_name("b")),
    )
    assert result.phase == "Deleting"
    assert not result.done_deleting
    assert not result.settled
    assert (result.ready.status, result.progressing.status) == (False, True)


def test_base_goes_once_its_adapters_are_gone() -> None:
    deleting = with_components(EVERYTHING, seen_component(DESIRED, adapter_name("a"), "Deleting"))
    deleting = without_components(deleting, adapter_name("b"))
    assert delete(DESIRED, deleting).actions == ()
    gone = without_components(EVERYTHING, adapter_name("a"), adapter_name("b"))
    assert delete(DESIRED, gone).actions == (DeleteInferenceComponent(name=BASE),)


def test_endpoint_goes_once_no_component_is_left() -> None:
    base_deleting = with_components(
        without_components(EVERYTHING, adapter_name("a"), adapter_name("b")),
        seen_component(DESIRED, BASE, "Deleting"),
    )
    assert delete(DESIRED, base_deleting).actions == ()
    no_components = replace(EVERYTHING, components={})
    assert delete(DESIRED, no_components).actions == (DeleteEndpoint(name=ENDPOINT),)


def test_configs_and_models_go_once_the_endpoint_is_gone() -> None:
    endpoint_deleting = replace(
        EVERYTHING, components={}, endpoint=seen_endpoint(DESIRED, "Deleting")
    )
    assert delete(DESIRED, endpoint_deleting).actions == ()
    result = delete(DESIRED, replace(EVERYTHING, components={}, endpoint=None))
    assert result.actions == (
        *(DeleteEndpointConfig(name=n) for n in sorted(EVERYTHING.endpoint_configs)),
        *(DeleteModel(name=n) for n in sorted(EVERYTHING.models)),
    )
    assert not result.done_deleting


def test_done_once_nothing_owned_is_left() -> None:
    result = delete(DESIRED, ObservedState())
    assert result.actions == ()
    assert result.done_deleting
    assert result.settled
    assert not result.progressing.status


@pytest.mark.parametrize("status", ["Failed", "InService", "UpdateRollbackFailed"])
def test_endpoint_in_a_final_state_is_deleted(status: str) -> None:
    desired = make_desired(endpoint_type="Model")
    observed = replace(running(desired), endpoint=seen_endpoint(desired, status))
    assert delete(desired, observed).actions == (DeleteEndpoint(name=ENDPOINT),)


@pytest.mark.parametrize("status", ["Creating", "Updating", "SystemUpdating"])
def test_transitioning_endpoint_is_deleted_once_it_settles(status: str) -> None:
    desired = make_desired(endpoint_type="Model")
    observed = replace(running(desired), endpoint=seen_endpoint(desired, status))
    result = delete(desired, observed)
    assert result.actions == ()
    assert not result.done_deleting
    assert status in result.progressing.message


def test_component_still_creating_is_deleted_once_it_settles() -> None:
    observed = with_components(
        without_components(EVERYTHING, adapter_name("b")),
        seen_component(DESIRED, adapter_name("a"), "Creating"),
    )
    assert delete(DESIRED, observed).actions == ()


def test_resources_of_another_owner_are_left_and_reported() -> None:
    observed = ObservedState(
        endpoint=seen_endpoint(DESIRED, owner_uid=OTHER_UID, owner_name="x/y"),
        components={BASE: replace(seen_component(DESIRED, BASE), owner_uid=OTHER_UID)},
        models={"mine": resource("mine"), "theirs": resource("theirs", OTHER_UID)},
    )
    result = delete(DESIRED, observed)
    assert result.actions == (DeleteModel(name="mine"),)
    assert result.degraded.reason == "NameConflict"
    done = delete(DESIRED, replace(observed, models={"theirs": resource("theirs", OTHER_UID)}))
    assert done.done_deleting


def test_foreign_component_on_our_endpoint_blocks_its_deletion() -> None:
    foreign = replace(seen_component(DESIRED, BASE), name="intruder", owner_uid=OTHER_UID)
    observed = replace(EVERYTHING, components={"intruder": foreign})
    result = delete(DESIRED, observed)
    assert result.actions == ()
    assert result.degraded.status
    assert not result.done_deleting


def test_retain_deletes_nothing_and_tags_what_it_kept() -> None:
    """Every kept resource is tagged llmoperator.io/retained with the time of deletion
    in the same pass that lets the finalizer go (done once those calls succeed)."""
    desired = replace(make_desired(), deleted_at="2025-06-01T12:00:00Z")
    observed = running(desired)
    result = delete(desired, observed, policy="Retain")
    assert result.done_deleting
    assert {a.effect for a in result.actions} == {Effect.UPDATE}
    assert {(type(a), a.name) for a in result.actions} == {
        (TagEndpoint, ENDPOINT),
        (TagInferenceComponent, BASE),
        (TagEndpointConfig, desired.endpoint_config.name),
        (TagModel, desired.model.name),
    }
    for action in result.actions:
        assert isinstance(action, AddTags)
        assert action.tags[RETAINED_TAG] == "2025-06-01T12:00:00Z"
        assert action.tags[MANAGED_BY_TAG] == MANAGED_BY  # what the IAM policy requires
        assert action.owner_uid == desired.owner.uid
    (endpoint,) = (a for a in result.actions if isinstance(a, TagEndpoint))
    assert observed.endpoint is not None and endpoint.arn == observed.endpoint.arn
    assert result.events == (
        PlanEvent(
            "Normal",
            "Retained",
            f"deletionPolicy Retain: kept endpoint {ENDPOINT}; inference components {BASE}; "
            f"endpoint configs {desired.endpoint_config.name}; models {desired.model.name}",
        ),
    )


def test_retain_tags_only_what_names_this_llmendpoint() -> None:
    """Someone else's endpoint, components, configs and models are neither kept nor tagged."""
    desired = make_desired()
    observed = replace(
        running(desired),
        endpoint=seen_endpoint(desired, owner_uid=OTHER_UID),
        models={"theirs": resource("theirs", OTHER_UID), "untagged": resource("untagged", None)},
    )
    observed = with_components(
        observed, seen_component(DESIRED, adapter_name("a"), owner_uid=OTHER_UID)
    )
    result = delete(desired, observed, policy="Retain")
    assert result.done_deleting
    assert {a.name for a in result.actions} == {BASE, desired.endpoint_config.name}


def test_retain_with_nothing_left_has_nothing_to_tag() -> None:
    result = delete(make_desired(), ObservedState(), policy="Retain")
    assert result.actions == () and result.done_deleting


# An adopted model-based endpoint (status.adopted): its hand-made config and model.
HAND_CONFIG, HAND_MODEL = "hand-config", "hand-model"
MODEL_DESIRED = make_desired(endpoint_type="Model")
ADOPTED = Adopted(
    endpoint=MODEL_DESIRED.endpoint_name,
    endpoint_configs=frozenset({HAND_CONFIG}),
    models=frozenset({HAND_MODEL}),
)


def _adopted(status: str, config: str, owner: str | None = "uid-mine") -> ObservedState:
    """The adopted endpoint serving `config`, with what the operator created beside it."""
    ours = running(MODEL_DESIRED)
    return replace(
        ours,
        endpoint=seen_endpoint(MODEL_DESIRED, status, config_name=config, owner_uid=owner),
        models={
            **ours.models,
            HAND_MODEL: replace(resource(HAND_MODEL, owner), arn="arn:m"),
        },
        endpoint_configs={
            **ours.endpoint_configs,
            HAND_CONFIG: replace(resource(HAND_CONFIG, owner), arn="arn:c"),
        },
    )


def test_an_unfinished_adoption_is_given_back_untagged_and_only_ours_deleted() -> None:
    desired = replace(MODEL_DESIRED, adopted=ADOPTED)
    result = delete(desired, _adopted("InService", HAND_CONFIG))
    deleted = [a for a in result.actions if a.effect is Effect.DELETE]
    assert deleted == [
        DeleteEndpointConfig(name=MODEL_DESIRED.endpoint_config.name),
        DeleteModel(name=MODEL_DESIRED.model.name),
    ]
    untagged = [a for a in result.actions if isinstance(a, RemoveTags)]
    assert [(type(a), a.name) for a in untagged] == [
        (UntagModel, HAND_MODEL),
        (UntagEndpointConfig, HAND_CONFIG),
        (UntagEndpoint, MODEL_DESIRED.endpoint_name),
    ]
    assert all(UID_TAG in a.keys and MANAGED_BY_TAG in a.keys for a in untagged)
    assert not result.done_deleting
    # Once untagged and ours deleted: done, the endpoint left as it was, no NameConflict.
    after = replace(
        _adopted("InService", HAND_CONFIG, owner=None),
        models={HAND_MODEL: resource(HAND_MODEL, None)},
        endpoint_configs={HAND_CONFIG: resource(HAND_CONFIG, None)},
    )
    done = delete(desired, after)
    assert done.actions == () and done.done_deleting
    assert "NameConflict" not in str(done.memory.reported)


def test_an_adopted_endpoint_still_updating_is_waited_for() -> None:
    desired = replace(MODEL_DESIRED, adopted=ADOPTED)
    result = delete(desired, _adopted("Updating", HAND_CONFIG))
    assert result.actions == ()
    assert not result.done_deleting


def test_a_completed_adoption_is_deleted_like_anything_of_ours() -> None:
    desired = replace(MODEL_DESIRED, adopted=ADOPTED)
    result = delete(desired, _adopted("InService", MODEL_DESIRED.endpoint_config.name))
    assert DeleteEndpoint(name=MODEL_DESIRED.endpoint_name) in result.actions
    assert not any(isinstance(a, RemoveTags) for a in result.actions)
