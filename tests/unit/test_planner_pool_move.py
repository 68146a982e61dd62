"""A standalone LLMEndpoint moved onto a pool (instance replaced by pool): its former
endpoint serves, and status names it, until the pool's component is InService; only
then (a pass later) are the former component, endpoint, config and model deleted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from llm_operator.core import naming
from llm_operator.core.actions import (
    CreateInferenceComponent,
    DeleteAlarm,
    DeleteEndpoint,
    DeleteEndpointConfig,
    DeleteInferenceComponent,
    DeleteModel,
    DeleteScalingPolicy,
    DeregisterScalableTarget,
    UpdateAlarm,
)
from llm_operator.core.desired import (
    COMPONENT_DIMENSION,
    DesiredComponent,
    DesiredFromZero,
    DesiredScaling,
    DesiredState,
    Host,
)
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import (
    ObservedEndpoint,
    ObservedPolicy,
    ObservedScaling,
    ObservedScalingAlarm,
    ObservedState,
    ObservedTarget,
)
from llm_operator.core.plan import Plan
from llm_operator.core.status import build_status

from .planner_factory import (
    BASE,
    ENDPOINT,
    OTHER_UID,
    UID,
    adapter_name,
    delete,
    make_desired,
    reconcile,
    resource,
    running,
    seen_component,
    seen_endpoint,
)

POOL_UID = "uid-pool"
POOL_ENDPOINT = "llm-shared-pool-9f8e7d"
POOLED = f"{ENDPOINT}-pool"
OLD_CONFIG = "llm-search-mistral-1a2b3c-c-old"


def standalone() -> DesiredState:
    return make_desired()


def pooled() -> DesiredState:
    before = standalone()
    base = before.components[0]
    return replace(
        before,
        endpoint_name=POOL_ENDPOINT,
        components=(DesiredComponent(name=POOLED, specification=base.specification, copies=1),),
        host=Host(namespace="shared", name="pool", uid=POOL_UID, endpoint_name=POOL_ENDPOINT),
    )


def former_of(observed: ObservedState) -> ObservedEndpoint:
    assert observed.former is not None
    return observed.former


def moving(new_status: str | None) -> ObservedState:
    """The former endpoint and its base serving; the pool's base in `new_status`."""
    old = standalone()
    seen = running(old, extra_configs=(OLD_CONFIG,))
    pool_ep = replace(
        seen_endpoint(old), name=POOL_ENDPOINT, config_name="pool-config", owner_uid=POOL_UID
    )
    components = dict(seen.components)
    want = pooled()
    if new_status is not None:
        components[POOLED] = seen_component(want, POOLED, new_status)
    return replace(
        seen,
        endpoint=pool_ep,
        components=components,
        former=seen_endpoint(old),
        endpoint_configs={OLD_CONFIG: resource(OLD_CONFIG)},
    )


def deletes(plan: Plan) -> list[type]:
    return [
        type(a)
        for a in plan.actions
        if isinstance(
            a, DeleteEndpoint | DeleteInferenceComponent | DeleteEndpointConfig | DeleteModel
        )
    ]


def status_of(desired: DesiredState, observed: ObservedState, plan: Plan) -> dict[str, object]:
    return build_status(
        desired=desired,
        observed=observed,
        plan=plan,
        generation=2,
        previous=None,
        now=datetime(2026, 1, 1, tzinfo=UTC),
        hourly_usd_per_instance=None,
    )


def test_the_pool_component_is_created_beside_the_serving_former_one() -> None:
    plan = reconcile(pooled(), moving(None))
    assert [type(a) for a in plan.actions] == [CreateInferenceComponent]
    assert plan.actions[0].key.endswith(POOLED)
    assert plan.ready.status is True and plan.ready.reason == "MovingToPool"
    status = status_of(pooled(), moving(None), plan)
    assert status["endpointName"] == ENDPOINT
    assert status["inferenceComponents"][0]["name"] == BASE  # type: ignore[index]
    assert status["phase"] == "InService"


@pytest.mark.parametrize("new_status", ["Creating", "Failed"])
def test_nothing_former_is_deleted_until_the_pool_component_serves(new_status: str) -> None:
    plan = reconcile(pooled(), moving(new_status))
    assert deletes(plan) == []
    # A failed move keeps status on what still serves.
    assert status_of(pooled(), moving(new_status), plan)["endpointName"] == ENDPOINT
    if new_status == "Creating":
        assert not plan.settled


def test_status_switches_when_the_pool_component_serves_then_the_former_goes() -> None:
    observed = moving("InService")
    first = reconcile(pooled(), observed)
    # The pass that first sees it serve names the pool's endpoint and deletes nothing.
    assert deletes(first) == []
    assert first.memory.moved_onto == POOL_ENDPOINT
    status = status_of(pooled(), observed, first)
    assert status["endpointName"] == POOL_ENDPOINT
    assert status["inferenceComponents"][0]["name"] == POOLED  # type: ignore[index]
    assert first.ready.status is True
    # The next pass deletes the former component (the endpoint waits for it).
    second = reconcile(pooled(), observed, first.memory)
    assert deletes(second) == [DeleteInferenceComponent]
    assert second.actions[0].key.endswith(BASE)


def test_the_former_endpoint_goes_once_empty_then_its_config() -> None:
    memory = PlanMemory(moved_onto=POOL_ENDPOINT)
    observed = moving("InService")
    empty = replace(observed, components={POOLED: observed.components[POOLED]})
    plan = reconcile(pooled(), empty, memory)
    assert [(type(a), a.key.split("/")[-1]) for a in plan.actions] == [(DeleteEndpoint, ENDPOINT)]
    # While it is being deleted its config stays; once it is gone, the config goes.
    going = replace(empty, former=replace(former_of(empty), status="Deleting"))
    assert deletes(reconcile(pooled(), going, memory)) == []
    gone = replace(empty, former=None)
    assert DeleteEndpointConfig in deletes(reconcile(pooled(), gone, memory))


def test_a_former_endpoint_not_ours_is_never_touched() -> None:
    observed = moving("InService")
    theirs = replace(
        observed,
        former=replace(former_of(observed), owner_uid="uid-other"),
        components={POOLED: observed.components[POOLED]},
    )
    plan = reconcile(pooled(), theirs, PlanMemory(moved_onto=POOL_ENDPOINT))
    assert DeleteEndpoint not in deletes(plan)


def test_deleting_in_the_middle_of_a_move_deletes_the_former_endpoint_too() -> None:
    observed = moving("InService")
    plan = delete(pooled(), observed)
    deleted = sorted(a.name for a in plan.actions if isinstance(a, DeleteInferenceComponent))
    assert deleted == sorted([BASE, POOLED])
    empty = replace(observed, components={})
    ended = [a.name for a in delete(pooled(), empty).actions if isinstance(a, DeleteEndpoint)]
    assert ended == [ENDPOINT]  # the former one, never the pool's
    assert observed.former is not None and observed.former.owner_uid == UID


# -- with LoRA adapters: re-created on the pool's base, under names of their own -------

ADAPTERS = {"support": "s3://bucket/support.tar.gz"}
FORMER_ADAPTER = adapter_name("support")
POOLED_ADAPTER = f"{ENDPOINT}-pool--support"


def pooled_with_adapter() -> DesiredState:
    want = pooled()
    adapter = DesiredComponent(
        name=POOLED_ADAPTER,
        specification={
            "BaseInferenceComponentName": POOLED,
            "Container": {"ArtifactUrl": ADAPTERS["support"]},
        },
        copies=None,
        base_component=POOLED,
        adapter="support",
    )
    return replace(want, components=(*want.components, adapter))


def moving_with_adapter(base_status: str | None, adapter_status: str | None) -> ObservedState:
    """The former endpoint serving its base and adapter; the pool's in the given states."""
    old = make_desired(adapters=ADAPTERS)
    seen = running(old, extra_configs=(OLD_CONFIG,))
    pool_ep = replace(
        seen_endpoint(old), name=POOL_ENDPOINT, config_name="pool-config", owner_uid=POOL_UID
    )
    want = pooled_with_adapter()
    components = dict(seen.components)
    if base_status is not None:
        components[POOLED] = seen_component(want, POOLED, base_status)
    if adapter_status is not None:
        components[POOLED_ADAPTER] = seen_component(want, POOLED_ADAPTER, adapter_status)
    return replace(
        seen,
        endpoint=pool_ep,
        components=components,
        former=seen_endpoint(old),
        endpoint_configs={OLD_CONFIG: resource(OLD_CONFIG)},
    )


def calls(plan: Plan) -> list[tuple[str, str]]:
    return [(type(a).__name__, str(getattr(a, "name", a.key))) for a in plan.actions]


def test_a_moving_adapter_is_created_on_the_pools_base_once_it_serves() -> None:
    want = pooled_with_adapter()
    first = reconcile(want, moving_with_adapter(None, None))
    assert calls(first) == [("CreateInferenceComponent", POOLED)]
    second = reconcile(want, moving_with_adapter("InService", None))
    assert calls(second) == [("CreateInferenceComponent", POOLED_ADAPTER)]
    create = second.actions[0]
    assert isinstance(create, CreateInferenceComponent)
    assert create.endpoint_name == POOL_ENDPOINT
    assert create.specification["BaseInferenceComponentName"] == POOLED
    # Meanwhile status names the former endpoint and its adapter: invoke goes there.
    status = status_of(want, moving_with_adapter("InService", None), second)
    assert status["endpointName"] == ENDPOINT
    assert status["adapters"] == [
        {"name": "support", "componentName": FORMER_ADAPTER, "status": "InService"}
    ]
    assert second.ready.status is True and second.ready.reason == "MovingToPool"


def test_nothing_former_goes_until_the_pools_adapter_serves_too() -> None:
    want = pooled_with_adapter()
    for adapter_status in ("Creating", "Failed"):
        observed = moving_with_adapter("InService", adapter_status)
        plan = reconcile(want, observed, PlanMemory(moved_onto=POOL_ENDPOINT))
        assert deletes(plan) == []
        assert status_of(want, observed, plan)["endpointName"] == ENDPOINT


def test_the_former_adapter_goes_before_its_base_then_the_endpoint() -> None:
    want = pooled_with_adapter()
    observed = moving_with_adapter("InService", "InService")
    first = reconcile(want, observed)
    assert deletes(first) == []
    status = status_of(want, observed, first)
    assert status["endpointName"] == POOL_ENDPOINT
    assert status["adapters"] == [
        {"name": "support", "componentName": POOLED_ADAPTER, "status": "InService"}
    ]
    second = reconcile(want, observed, first.memory)
    assert calls(second) == [("DeleteInferenceComponent", FORMER_ADAPTER)]
    no_adapter = replace(
        observed, components={k: v for k, v in observed.components.items() if k != FORMER_ADAPTER}
    )
    third = reconcile(want, no_adapter, first.memory)
    assert calls(third) == [("DeleteInferenceComponent", BASE)]
    empty = replace(
        no_adapter, components={k: v for k, v in no_adapter.components.items() if k != BASE}
    )
    assert calls(reconcile(want, empty, first.memory)) == [("DeleteEndpoint", ENDPOINT)]


def test_deleting_mid_move_with_adapters_deletes_both_sides_adapters_first() -> None:
    observed = moving_with_adapter("InService", "InService")
    plan = delete(pooled_with_adapter(), observed)
    deleted = sorted(a.name for a in plan.actions if isinstance(a, DeleteInferenceComponent))
    assert deleted == sorted([FORMER_ADAPTER, POOLED_ADAPTER])


# -- with spec.autoscaling: the target, policies and alarm move to the pool's base -----

FORMER_TARGET = naming.component_resource_id(BASE)
POOL_TARGET = naming.component_resource_id(POOLED)
ALARM_NAME = naming.no_capacity_alarm_name(ENDPOINT)  # one name, before and after
FORMER_STEP = "arn:aws:autoscaling:us-east-1:111122223333:scalingPolicy:1:former-from-zero"
POOL_STEP = "arn:aws:autoscaling:us-east-1:111122223333:scalingPolicy:2:pool-from-zero"
TRACKING = {"TargetValue": 4.0, "ScaleInCooldown": 300, "ScaleOutCooldown": 60}
STEP = {"AdjustmentType": "ChangeInCapacity", "Cooldown": 60}
ALARM = {"MetricName": "NoCapacityInvocationFailures", "Namespace": "AWS/SageMaker"}


def pooled_scaled(low: int = 0) -> DesiredState:
    want = pooled()
    from_zero = DesiredFromZero(
        policy_name=naming.from_zero_policy_name(POOL_ENDPOINT),
        step=STEP,
        alarm_name=ALARM_NAME,
        alarm=ALARM,
    )
    scaling = DesiredScaling(
        resource_id=POOL_TARGET,
        dimension=COMPONENT_DIMENSION,
        min_capacity=low,
        max_capacity=4,
        policy_name=naming.target_tracking_policy_name(POOL_ENDPOINT),
        target_tracking=TRACKING,
        from_zero=from_zero if low == 0 else None,
    )
    return replace(want, scaling=scaling, alarm_stem=ENDPOINT)


def scaling_policies(endpoint: str, step_arn: str) -> dict[str, ObservedPolicy]:
    tracking = naming.target_tracking_policy_name(endpoint)
    zero = naming.from_zero_policy_name(endpoint)
    return {
        tracking: ObservedPolicy(tracking, f"{step_arn}-tt", "TargetTrackingScaling", TRACKING),
        zero: ObservedPolicy(zero, step_arn, "StepScaling", STEP),
    }


def moving_scaled(
    *, pool_target: bool, alarm_on: str, former_owner: str = UID, former_copies: int = 2
) -> ObservedState:
    """Mid-move: the former base autoscaled (to `former_copies`), the pool's base serving;
    the pool's target registered or not; the alarm firing `alarm_on`'s policy."""
    observed = moving("InService")
    former_base = replace(
        observed.components[BASE], desired_copies=former_copies, current_copies=former_copies
    )
    pool_dims = {"Dimensions": {"InferenceComponentName": POOLED}}
    former_dims = {"Dimensions": {"InferenceComponentName": BASE}}
    on_pool = alarm_on == "pool"
    scaling = ObservedScaling(
        target=(
            ObservedTarget(POOL_TARGET, COMPONENT_DIMENSION, 0, 4, owner_uid=UID)
            if pool_target
            else None
        ),
        policies=scaling_policies(POOL_ENDPOINT, POOL_STEP) if pool_target else {},
        alarm=ObservedScalingAlarm(
            ALARM_NAME,
            (POOL_STEP if on_pool else FORMER_STEP,),
            {**ALARM, **(pool_dims if on_pool else former_dims)},
            owner_uid=UID,
        ),
        former_target=ObservedTarget(
            FORMER_TARGET, COMPONENT_DIMENSION, 0, 4, owner_uid=former_owner
        ),
        former_policies=scaling_policies(ENDPOINT, FORMER_STEP),
    )
    return replace(observed, components={**observed.components, BASE: former_base}, scaling=scaling)


def test_the_pool_component_starts_at_the_former_components_autoscaled_count() -> None:
    observed = moving_scaled(pool_target=False, alarm_on="former", former_copies=3)
    fresh = replace(
        observed, components={k: v for k, v in observed.components.items() if k != POOLED}
    )
    plan = reconcile(pooled_scaled(), fresh)
    create = next(a for a in plan.actions if isinstance(a, CreateInferenceComponent))
    assert create.copies == 3
    # Scaled to zero there: the pool's starts with one copy, so it serves before the move.
    at_zero = replace(
        fresh,
        components={**fresh.components, BASE: replace(fresh.components[BASE], desired_copies=0)},
    )
    create = next(
        a
        for a in reconcile(pooled_scaled(), at_zero).actions
        if isinstance(a, CreateInferenceComponent)
    )
    assert create.copies == 1


def test_autoscaling_moves_target_then_alarm_then_the_former_target_goes() -> None:
    want = pooled_scaled()
    memory = PlanMemory(moved_onto=POOL_ENDPOINT)
    # The pool's base serves: its target and policies are registered; nothing former goes.
    first = reconcile(want, moving_scaled(pool_target=False, alarm_on="former"), memory)
    assert calls(first) == [
        ("RegisterScalableTarget", POOL_TARGET),
        ("PutScalingPolicy", naming.target_tracking_policy_name(POOL_ENDPOINT)),
        ("PutScalingPolicy", naming.from_zero_policy_name(POOL_ENDPOINT)),
    ]
    assert "autoscaling of the inference component" in first.progressing.message
    # Registered: the one alarm is re-pointed at the pool's from-zero policy and base.
    second = reconcile(want, moving_scaled(pool_target=True, alarm_on="former"), memory)
    assert calls(second) == [("UpdateAlarm", ALARM_NAME)]
    update = second.actions[0]
    assert isinstance(update, UpdateAlarm) and update.spec["AlarmActions"] == [POOL_STEP]
    # Then the former target (its policies first) goes, before the component it scales.
    third = reconcile(want, moving_scaled(pool_target=True, alarm_on="pool"), memory)
    assert calls(third) == [
        ("DeleteScalingPolicy", naming.from_zero_policy_name(ENDPOINT)),
        ("DeleteScalingPolicy", naming.target_tracking_policy_name(ENDPOINT)),
        ("DeregisterScalableTarget", FORMER_TARGET),
        ("DeleteInferenceComponent", BASE),
    ]
    assert {a.resource_id for a in third.actions if isinstance(a, DeleteScalingPolicy)} == {
        FORMER_TARGET
    }
    # A crash after the target went: the component's deletion is what is left.
    gone = replace(
        moving_scaled(pool_target=True, alarm_on="pool"),
    )
    gone = replace(gone, scaling=replace(gone.scaling, former_target=None, former_policies={}))
    assert calls(reconcile(want, gone, memory)) == [("DeleteInferenceComponent", BASE)]


def test_a_former_target_not_ours_is_never_touched() -> None:
    observed = moving_scaled(pool_target=True, alarm_on="pool", former_owner=OTHER_UID)
    plan = reconcile(pooled_scaled(), observed, PlanMemory(moved_onto=POOL_ENDPOINT))
    assert not [
        a for a in plan.actions if isinstance(a, DeleteScalingPolicy | DeregisterScalableTarget)
    ]


def test_status_names_the_former_target_while_it_autoscales_what_serves() -> None:
    observed = moving_scaled(pool_target=False, alarm_on="former", former_copies=3)
    creating = replace(observed.components[POOLED], status="Creating")
    observed = replace(observed, components={**observed.components, POOLED: creating})
    plan = reconcile(pooled_scaled(), observed)
    status = status_of(pooled_scaled(), observed, plan)
    assert status["endpointName"] == ENDPOINT
    scaling = status["autoscaling"]
    assert isinstance(scaling, dict)
    assert (scaling["minReplicas"], scaling["maxReplicas"], scaling["desiredReplicas"]) == (0, 4, 3)


def test_deleting_mid_move_deregisters_both_targets() -> None:
    observed = moving_scaled(pool_target=True, alarm_on="pool")
    plan = delete(pooled_scaled(), observed)
    deregistered = [
        a.key.split("/", 1)[-1] for a in plan.actions if isinstance(a, DeregisterScalableTarget)
    ]
    assert sorted(deregistered) == sorted([FORMER_TARGET, POOL_TARGET])
    assert [a for a in plan.actions if isinstance(a, DeleteAlarm)]


@pytest.mark.parametrize("renamed_status", ["Creating", "InService"])
def test_an_adapter_on_a_pool_under_its_earlier_name_goes_once_its_successor_serves(
    renamed_status: str,
) -> None:
    """Placed on a pool with a `-pool` base but its adapter under the standalone name
    (before pooled adapters were named apart): replaced, make before break."""
    want = pooled_with_adapter()
    observed = moving_with_adapter("InService", renamed_status)
    earlier = replace(
        observed.components[FORMER_ADAPTER], endpoint_name=POOL_ENDPOINT, base_component=POOLED
    )
    on_pool = replace(
        observed,
        former=None,
        components={
            POOLED: observed.components[POOLED],
            POOLED_ADAPTER: observed.components[POOLED_ADAPTER],
            FORMER_ADAPTER: earlier,
        },
    )
    plan = reconcile(want, on_pool)
    deleted = [a.name for a in plan.actions if isinstance(a, DeleteInferenceComponent)]
    assert deleted == ([FORMER_ADAPTER] if renamed_status == "InService" else [])
