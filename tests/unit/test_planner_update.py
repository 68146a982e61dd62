"""Spec changes: each kind converges through the SageMaker call made for it."""

from __future__ import annotations

from dataclasses import replace

from llm_operator.core.actions import (
    CreateEndpointConfig,
    CreateInferenceComponent,
    DeleteEndpointConfig,
    DeleteInferenceComponent,
    DeleteModel,
    UpdateEndpoint,
    UpdateInferenceComponent,
    UpdateInferenceComponentRuntimeConfig,
)
from llm_operator.core.compare import component_fingerprint
from llm_operator.core.memory import PlanMemory
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
    without_components,
)

OLD = make_desired(adapters={"support": "s3://b/support.tar.gz"})
SUPPORT = adapter_name("support")


def test_copies_only_updates_the_runtime_config() -> None:
    new = make_desired(copies=6, adapters={"support": "s3://b/support.tar.gz"})
    result = reconcile(new, running(OLD))
    assert result.actions == (UpdateInferenceComponentRuntimeConfig(name=BASE, copies=6),)
    assert result.phase == "Updating"
    assert result.memory.component_updates == {BASE: component_fingerprint(new.components[0])}


def test_new_model_is_created_then_the_base_component_moves_to_it() -> None:
    new = make_desired(model_id="mistralai/Mistral-7B-Instruct-v0.2")
    old = make_desired()
    result = reconcile(new, running(old))
    assert result.actions == (
        create_model(new),
        UpdateInferenceComponent(
            name=BASE, specification=new.components[0].specification, copies=4
        ),
    )
    assert result.phase == "Updating"
    assert not result.ready.status


def test_compute_requirements_update_the_component_without_a_new_model() -> None:
    new = make_desired(accelerators=2)
    assert new.model.name == make_desired().model.name
    result = reconcile(new, running(make_desired()))
    assert result.actions == (
        UpdateInferenceComponent(
            name=BASE, specification=new.components[0].specification, copies=4
        ),
    )


def test_model_endpoint_gets_a_new_model_through_a_new_config() -> None:
    old = make_desired(endpoint_type="Model")
    new = make_desired(endpoint_type="Model", model_id="mistralai/Mistral-7B-Instruct-v0.2")
    result = reconcile(new, running(old))
    assert result.actions == (
        create_model(new),
        CreateEndpointConfig(
            name=new.endpoint_config.name, spec=new.endpoint_config.create_request, tags=TAGS
        ),
        UpdateEndpoint(name=ENDPOINT, config_name=new.endpoint_config.name),
    )
    assert result.memory.endpoint_update == new.endpoint_config.name


def test_instance_type_change_updates_the_endpoint_to_a_new_config() -> None:
    new = make_desired(instance_type="ml.g6.12xlarge")
    result = reconcile(new, running(make_desired()))
    assert result.actions == (
        CreateEndpointConfig(
            name=new.endpoint_config.name, spec=new.endpoint_config.create_request, tags=TAGS
        ),
        UpdateEndpoint(name=ENDPOINT, config_name=new.endpoint_config.name),
    )
    assert result.phase == "Updating"


def test_instance_change_waits_for_a_transitioning_endpoint() -> None:
    new = make_desired(count=2)
    observed = replace(running(make_desired()), endpoint=seen_endpoint(make_desired(), "Updating"))
    result = reconcile(new, observed)
    assert result.actions == ()
    assert not result.settled


def test_instance_change_waits_for_components_to_settle() -> None:
    old, new = make_desired(), make_desired(count=2)
    observed = with_components(running(old), seen_component(old, BASE, "Updating"))
    assert reconcile(new, observed).actions == ()


def test_instance_and_model_change_endpoint_first_then_component() -> None:
    old = make_desired()
    new = make_desired(instance_type="ml.g6.12xlarge", model_id="other/model")
    first = reconcile(new, running(old))
    assert first.actions == (
        CreateEndpointConfig(
            name=new.endpoint_config.name, spec=new.endpoint_config.create_request, tags=TAGS
        ),
        UpdateEndpoint(name=ENDPOINT, config_name=new.endpoint_config.name),
    )
    during = replace(
        running(old),
        endpoint=seen_endpoint(old, "Updating"),
        endpoint_configs={
            old.endpoint_config.name: resource(old.endpoint_config.name),
            new.endpoint_config.name: resource(new.endpoint_config.name),
        },
    )
    assert reconcile(new, during, first.memory).actions == ()
    after = replace(during, endpoint=seen_endpoint(new))
    second = reconcile(new, after, first.memory)
    assert second.actions == (
        create_model(new),
        UpdateInferenceComponent(
            name=BASE, specification=new.components[0].specification, copies=4
        ),
    )
    assert second.memory.endpoint_update is None


def test_added_adapter_is_created_on_the_base() -> None:
    new = make_desired(adapters={"support": "s3://b/support.tar.gz", "legal": "s3://b/l.tgz"})
    result = reconcile(new, running(OLD))
    assert result.actions == (
        CreateInferenceComponent(
            name=adapter_name("legal"),
            endpoint_name=ENDPOINT,
            variant_name=None,
            specification=new.components[2].specification,
            copies=None,
            tags=TAGS,
        ),
    )


def test_removed_adapter_is_deleted() -> None:
    new = make_desired()
    result = reconcile(new, running(OLD))
    assert result.actions == (DeleteInferenceComponent(name=SUPPORT),)


def test_removed_adapter_still_creating_is_deleted_once_it_settles() -> None:
    new = make_desired()
    observed = with_components(running(OLD), seen_component(OLD, SUPPORT, "Creating"))
    assert reconcile(new, observed).actions == ()


def test_changed_adapter_artifact_is_updated_in_place() -> None:
    new = make_desired(adapters={"support": "s3://b/support-v2.tar.gz"})
    result = reconcile(new, running(OLD))
    assert result.actions == (
        UpdateInferenceComponent(
            name=SUPPORT, specification=new.components[1].specification, copies=None
        ),
    )


def test_adapters_wait_while_the_base_is_updated() -> None:
    new = make_desired(copies=2, adapters={"support": "s3://b/support-v2.tar.gz"})
    result = reconcile(new, running(OLD))
    assert result.actions == (UpdateInferenceComponentRuntimeConfig(name=BASE, copies=2),)


def test_old_model_and_config_are_deleted_once_nothing_uses_them() -> None:
    old = make_desired()
    new = make_desired(instance_type="ml.g6.12xlarge", model_id="other/model")
    observed = running(
        new, extra_models=(old.model.name,), extra_configs=(old.endpoint_config.name,)
    )
    result = reconcile(new, observed)
    assert result.actions == (
        DeleteEndpointConfig(name=old.endpoint_config.name),
        DeleteModel(name=old.model.name),
    )
    assert result.phase == "InService"
    assert (result.ready.status, result.progressing.status) == (True, True)
    assert result.progressing.reason == "Reconciling"


def test_old_model_is_kept_while_the_component_still_runs_it() -> None:
    old = make_desired()
    new = make_desired(model_id="other/model")
    observed = running(new, extra_models=(old.model.name,))
    updating = with_components(
        observed, seen_component(old, BASE, "Updating")
    )  # still on the old model
    assert reconcile(new, updating).actions == ()


def test_old_config_is_kept_while_the_endpoint_is_on_it() -> None:
    old, new = make_desired(), make_desired(count=2)
    observed = replace(
        running(old, extra_configs=(new.endpoint_config.name,)),
        endpoint=seen_endpoint(old, "Updating"),
    )
    assert reconcile(new, observed).actions == ()


def test_garbage_of_another_owner_is_never_deleted() -> None:
    new = make_desired()
    observed = running(new)
    observed = replace(
        observed,
        models={**observed.models, "stray-model": resource("stray-model", OTHER_UID)},
    )
    assert reconcile(new, observed).actions == ()


def test_finished_update_clears_the_memory_of_it() -> None:
    new = make_desired(copies=6)
    issued = PlanMemory(component_updates={BASE: component_fingerprint(new.components[0])})
    result = reconcile(new, running(new), issued)
    assert result.memory == PlanMemory(tags={"team": "search"})  # the tags applied stay
    assert result.phase == "InService"


def test_stale_component_of_ours_is_deleted_adapters_first() -> None:
    new = make_desired(endpoint_type="InferenceComponent")
    stray_base = replace(seen_component(OLD, BASE), name="old-base")
    stray_adapter = replace(
        seen_component(OLD, SUPPORT), name="old-adapter", base_component="old-base"
    )
    observed = with_components(running(new), stray_base, stray_adapter)
    assert reconcile(new, observed).actions == (DeleteInferenceComponent(name="old-adapter"),)


def test_old_model_is_kept_while_a_removed_component_is_still_going() -> None:
    new = make_desired()
    leaving = replace(seen_component(OLD, BASE, "Deleting"), name="old-base", model_name="old-m")
    observed = with_components(running(new, extra_models=("old-m",)), leaving)
    result = reconcile(new, observed)
    assert result.actions == ()
    assert not result.settled
    gone = reconcile(new, running(new, extra_models=("old-m",)))
    assert gone.actions == (DeleteModel(name="old-m"),)


def test_a_serving_stale_base_waits_until_the_wanted_base_serves() -> None:
    """Make before break: an adopted endpoint's hand-made component keeps serving."""
    new = make_desired(endpoint_type="InferenceComponent")
    hand_made = replace(seen_component(OLD, BASE), name="hand-ic", model_name="hand-model")
    base = new.components[0].name
    creating = with_components(without_components(running(new), base), hand_made)
    first = reconcile(new, creating)
    assert DeleteInferenceComponent(name="hand-ic") not in first.actions
    starting = with_components(running(new), hand_made, seen_component(new, base, "Creating"))
    assert DeleteInferenceComponent(name="hand-ic") not in reconcile(new, starting).actions
    serving = with_components(running(new), hand_made)
    assert DeleteInferenceComponent(name="hand-ic") in reconcile(new, serving).actions
    # A wanted base that failed may need the room the old one holds: it goes.
    failed = with_components(running(new), hand_made, seen_component(new, base, "Failed"))
    assert DeleteInferenceComponent(name="hand-ic") in reconcile(new, failed).actions
