"""Failures and name clashes: reported once, never retried hot, retried when the spec changes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from llm_operator.core.actions import (
    CreateEndpoint,
    CreateEndpointConfig,
    CreateInferenceComponent,
    CreateModel,
    DeleteEndpoint,
    DeleteInferenceComponent,
    UpdateEndpoint,
    UpdateInferenceComponent,
    UpdateInferenceComponentRuntimeConfig,
)
from llm_operator.core.compare import component_fingerprint
from llm_operator.core.memory import Failure, PlanMemory
from llm_operator.core.observed import ObservedState
from llm_operator.core.plan import PlanEvent
from llm_operator.core.status import build_status
from tests.unit.planner_factory import (
    BASE,
    ENDPOINT,
    OTHER_UID,
    TAGS,
    adapter_name,
    create_model,
    make_desired,
    reconcile,
    resource,
    running,
    seen_component,
    seen_endpoint,
    with_components,
)

DESIRED = make_desired()
CAPACITY = "CapacityError: Unable to provision requested ML compute capacity."


def failed_endpoint_state() -> ObservedState:
    return replace(
        running(DESIRED),
        endpoint=seen_endpoint(DESIRED, "Failed", failure_reason=CAPACITY, current_instances=0),
        components={},
    )


def test_failed_endpoint_is_reported_once_and_not_retried() -> None:
    first = reconcile(DESIRED, failed_endpoint_state())
    assert first.actions == ()
    assert first.phase == "Failed"
    assert first.failure_reason == f"SageMaker endpoint {ENDPOINT} failed: {CAPACITY}"
    assert (first.degraded.status, first.degraded.reason) == (True, "EndpointFailed")
    assert (first.ready.status, first.progressing.status) == (False, False)
    assert first.settled
    assert first.events == (PlanEvent("Warning", "EndpointFailed", first.failure_reason),)

    again = reconcile(DESIRED, failed_endpoint_state(), first.memory)
    assert again.actions == ()
    assert again.events == ()
    assert again.phase == "Failed"


def test_failed_endpoint_is_replaced_when_the_spec_changes() -> None:
    new = make_desired(instance_type="ml.g6.12xlarge")
    result = reconcile(new, failed_endpoint_state())
    assert result.actions == (DeleteEndpoint(name=ENDPOINT),)
    assert result.phase == "Creating"
    assert not result.degraded.status
    gone = replace(failed_endpoint_state(), endpoint=None)
    assert reconcile(new, gone, result.memory).actions == (
        CreateEndpointConfig(
            name=new.endpoint_config.name, spec=new.endpoint_config.create_request, tags=TAGS
        ),
        CreateEndpoint(name=ENDPOINT, config_name=new.endpoint_config.name, tags=TAGS),
    )


def test_rolled_back_endpoint_update_is_not_reissued_until_the_spec_changes() -> None:
    new = make_desired(count=2)
    first = reconcile(new, running(DESIRED, extra_configs=(new.endpoint_config.name,)))
    assert first.actions == (UpdateEndpoint(name=ENDPOINT, config_name=new.endpoint_config.name),)

    rolled_back = replace(
        running(DESIRED, extra_configs=(new.endpoint_config.name,)),
        endpoint=seen_endpoint(DESIRED, failure_reason=CAPACITY),
    )
    second = reconcile(new, rolled_back, first.memory)
    assert second.actions == ()
    assert second.phase == "Failed"
    assert (second.degraded.status, second.degraded.reason) == (True, "UpdateFailed")
    assert CAPACITY in (second.failure_reason or "")
    assert second.memory.failed_endpoint_update == Failure(new.endpoint_config.name, CAPACITY)
    assert [e.reason for e in second.events] == ["UpdateFailed"]
    assert second.settled

    third = reconcile(new, rolled_back, second.memory)
    assert (third.actions, third.events) == ((), ())

    newer = make_desired(count=3)
    fourth = reconcile(newer, rolled_back, third.memory)
    assert fourth.actions == (
        CreateEndpointConfig(
            name=newer.endpoint_config.name, spec=newer.endpoint_config.create_request, tags=TAGS
        ),
        UpdateEndpoint(name=ENDPOINT, config_name=newer.endpoint_config.name),
    )
    assert fourth.memory.failed_endpoint_update is None
    assert not fourth.degraded.status


def test_update_that_never_reached_sagemaker_is_issued_again() -> None:
    new = make_desired(count=2)
    issued = PlanMemory(endpoint_update=new.endpoint_config.name)
    observed = running(DESIRED, extra_configs=(new.endpoint_config.name,))
    result = reconcile(new, observed, issued)
    assert result.actions == (UpdateEndpoint(name=ENDPOINT, config_name=new.endpoint_config.name),)
    assert not result.degraded.status


def test_components_still_converge_while_the_endpoint_update_is_failed() -> None:
    new = make_desired(count=2, copies=6)
    memory = PlanMemory(failed_endpoint_update=Failure(new.endpoint_config.name, CAPACITY))
    observed = replace(running(DESIRED), endpoint=seen_endpoint(DESIRED, failure_reason=CAPACITY))
    result = reconcile(new, observed, memory)
    assert result.actions == (UpdateInferenceComponentRuntimeConfig(name=BASE, copies=6),)
    assert result.degraded.reason == "UpdateFailed"


def test_failed_component_is_reported_and_left_until_the_spec_changes() -> None:
    failed = with_components(
        running(DESIRED),
        seen_component(DESIRED, BASE, "Failed", current_copies=0, failure_reason=CAPACITY),
    )
    result = reconcile(DESIRED, failed)
    assert result.actions == ()
    assert result.phase == "Failed"
    assert (result.degraded.status, result.degraded.reason) == (True, "ComponentFailed")
    assert result.events[0].message == f"SageMaker inference component {BASE} failed: {CAPACITY}"

    fewer = make_desired(copies=2)
    replaced = reconcile(fewer, failed, result.memory)
    assert replaced.actions == (DeleteInferenceComponent(name=BASE),)
    assert not replaced.degraded.status
    recreated = reconcile(fewer, replace(failed, components={}), replaced.memory)
    assert recreated.actions == (
        CreateInferenceComponent(
            name=BASE,
            endpoint_name=ENDPOINT,
            variant_name="AllTraffic",
            specification=fewer.components[0].specification,
            copies=2,
            tags=TAGS,
        ),
    )


def test_rolled_back_component_update_is_not_reissued_until_the_spec_changes() -> None:
    new = make_desired(model_id="other/model")
    observed = running(DESIRED, extra_models=(new.model.name,))
    first = reconcile(new, observed)
    assert first.actions == (
        UpdateInferenceComponent(
            name=BASE, specification=new.components[0].specification, copies=4
        ),
    )
    rolled_back = with_components(
        observed, seen_component(DESIRED, BASE, failure_reason="model failed to load")
    )
    second = reconcile(new, rolled_back, first.memory)
    assert second.actions == ()
    assert second.degraded.reason == "ComponentUpdateFailed"
    assert second.memory.failed_component_updates == {
        BASE: Failure(component_fingerprint(new.components[0]), "model failed to load")
    }
    assert reconcile(new, rolled_back, second.memory).actions == ()

    # A copy count is not a version: the refused specification stays refused, the
    # count changes in place.
    more = make_desired(model_id="other/model", copies=5)
    assert reconcile(more, rolled_back, second.memory).actions == (
        UpdateInferenceComponentRuntimeConfig(name=BASE, copies=5),
    )
    other = make_desired(model_id="third/model", copies=5)
    assert reconcile(other, rolled_back, second.memory).actions[-1] == (
        UpdateInferenceComponent(
            name=BASE, specification=other.components[0].specification, copies=5
        )
    )


def test_failed_adapter_does_not_stop_the_others() -> None:
    desired = make_desired(adapters={"a": "s3://b/a.tgz", "b": "s3://b/b.tgz"})
    observed = with_components(
        running(desired),
        seen_component(desired, adapter_name("a"), "Failed", failure_reason="bad weights"),
    )
    observed = replace(
        observed,
        components={k: v for k, v in observed.components.items() if k != adapter_name("b")},
    )
    result = reconcile(desired, observed)
    assert [type(a).__name__ for a in result.actions] == ["CreateInferenceComponent"]
    assert result.degraded.reason == "ComponentFailed"


def test_rejected_request_is_held_back_with_what_follows_it() -> None:
    memory = PlanMemory().with_rejection(
        create_model(DESIRED),
        "image not found",
    )
    result = reconcile(DESIRED, ObservedState(), memory)
    assert result.actions == ()
    assert result.phase == "Failed"
    assert result.degraded.reason == "Rejected"
    assert "image not found" in (result.failure_reason or "")
    assert result.memory.rejected == memory.rejected
    assert result.settled


def test_rejected_request_is_sent_again_once_it_changed() -> None:
    old_create = CreateEndpoint(name=ENDPOINT, config_name=DESIRED.endpoint_config.name, tags=TAGS)
    memory = PlanMemory().with_rejection(old_create, "ResourceLimitExceeded: 0 Instances")
    observed = ObservedState(models={DESIRED.model.name: resource(DESIRED.model.name)})
    held = reconcile(DESIRED, observed, memory)
    assert held.actions == (
        CreateEndpointConfig(
            name=DESIRED.endpoint_config.name,
            spec=DESIRED.endpoint_config.create_request,
            tags=TAGS,
        ),
    )
    new = make_desired(instance_type="ml.g6.12xlarge")
    sent = reconcile(new, observed, held.memory)
    assert sent.actions[-1] == CreateEndpoint(
        name=ENDPOINT, config_name=new.endpoint_config.name, tags=TAGS
    )
    assert sent.memory.rejected == {}
    assert not sent.degraded.status


def test_endpoint_of_another_llmendpoint_is_never_touched() -> None:
    observed = replace(
        running(make_desired(count=3)),
        endpoint=seen_endpoint(DESIRED, "Failed", owner_uid=OTHER_UID, owner_name="team-b/mistral"),
    )
    result = reconcile(DESIRED, observed)
    assert result.actions == ()
    assert result.phase == "Failed"
    assert result.degraded.reason == "NameConflict"
    assert result.degraded.message == (
        f"SageMaker endpoint {ENDPOINT} belongs to LLMEndpoint team-b/mistral; the operator "
        "leaves it alone. Delete or rename that resource, or give this LLMEndpoint another name"
    )
    assert not result.ready.status


def test_component_of_another_llmendpoint_blocks_only_itself_and_its_adapters() -> None:
    desired = make_desired(adapters={"a": "s3://b/a.tgz"})
    observed = with_components(
        replace(running(desired), components={}),
        replace(seen_component(desired, BASE, desired_copies=1), owner_uid=OTHER_UID),
    )
    result = reconcile(desired, observed)
    assert result.actions == ()
    assert result.degraded.reason == "NameConflict"
    assert "uid uid-other" in result.degraded.message


def test_model_of_another_owner_is_not_created_over_nor_used() -> None:
    observed = ObservedState(models={DESIRED.model.name: resource(DESIRED.model.name, OTHER_UID)})
    result = reconcile(DESIRED, observed)
    assert result.actions == ()
    assert result.degraded.reason == "NameConflict"
    assert result.phase == "Failed"


def test_name_conflict_warning_is_emitted_once() -> None:
    observed = ObservedState(endpoint=seen_endpoint(DESIRED, owner_uid=OTHER_UID, owner_name="b/c"))
    first = reconcile(DESIRED, observed)
    assert [e.reason for e in first.events] == ["NameConflict"]
    assert reconcile(DESIRED, observed, first.memory).events == ()


def test_memory_survives_the_trip_through_status_json() -> None:
    memory = PlanMemory(
        endpoint_update="cfg-2",
        failed_endpoint_update=Failure("cfg-1", "capacity"),
        component_updates={BASE: "abc"},
        failed_component_updates={BASE: Failure("def", "oom")},
        rejected={"CreateModel/m": Failure("123", "bad image")},
        reported=("NameConflict/endpoint/x",),
    )
    assert PlanMemory.from_dict(memory.to_dict()) == memory


def test_unreadable_memory_reads_as_empty() -> None:
    assert PlanMemory.from_dict(None) == PlanMemory()
    assert PlanMemory.from_dict({"failedEndpointUpdate": "x", "rejected": [1]}) == PlanMemory()


def test_the_token_never_shows_in_plans_memory_or_status() -> None:
    token = "hf_SeCrEtToKeN123"
    desired = make_desired(hf_token=token)
    fresh = reconcile(desired, ObservedState())
    create_model = fresh.actions[0]
    assert isinstance(create_model, CreateModel)
    assert create_model.spec["PrimaryContainer"]["Environment"]["HF_TOKEN"] == token
    memory = fresh.memory.with_rejection(
        create_model,
        f"Value '{token}' at 'primaryContainer.environment' failed to satisfy constraint",
        secrets=[token],
    )
    held = reconcile(desired, ObservedState(), memory)
    assert held.actions == ()
    assert "***" in (held.failure_reason or "")
    status = build_status(
        desired=desired,
        observed=ObservedState(),
        plan=held,
        generation=1,
        previous=None,
        now=datetime(2026, 1, 1, tzinfo=UTC),
        hourly_usd_per_instance=None,
    )
    for text in (repr(fresh), repr(held), str(status), str(held.events)):
        assert token not in text
