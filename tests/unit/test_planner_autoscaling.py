"""spec.autoscaling in the planner: the autoscaler's count is never fought.

While autoscaling is set, the copy (or instance) count SageMaker holds inside
[min, max] is left alone, clamped when the range changes, and the fixed count
returns once autoscaling is removed. The target, policies and alarm are ours
only when their tags (or, for policies, their names on our target) say so.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from llm_operator.core import naming
from llm_operator.core.actions import (
    CreateAlarm,
    DeleteAlarm,
    DeleteInferenceComponent,
    DeleteScalingPolicy,
    DeregisterScalableTarget,
    Effect,
    PutScalingPolicy,
    RegisterScalableTarget,
    UpdateEndpoint,
    UpdateEndpointWeightsAndCapacities,
    UpdateInferenceComponentRuntimeConfig,
)
from llm_operator.core.desired import (
    COMPONENT_DIMENSION,
    VARIANT_DIMENSION,
    DesiredFromZero,
    DesiredScaling,
    DesiredState,
)
from llm_operator.core.kinds import Kind
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import (
    ObservedPolicy,
    ObservedScaling,
    ObservedScalingAlarm,
    ObservedState,
    ObservedTarget,
)
from llm_operator.core.status import build_status
from tests.unit.planner_factory import (
    BASE,
    ENDPOINT,
    OTHER_UID,
    UID,
    delete,
    make_desired,
    reconcile,
    running,
    seen_component,
    seen_endpoint,
    with_components,
)

TRACKING = {
    "TargetValue": 4.0,
    "PredefinedMetricSpecification": {
        "PredefinedMetricType": "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
    },
    "ScaleInCooldown": 300,
    "ScaleOutCooldown": 60,
}
STEP = {
    "AdjustmentType": "ChangeInCapacity",
    "MetricAggregationType": "Maximum",
    "Cooldown": 60,
    "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
}
ALARM = {"MetricName": "NoCapacityInvocationFailures", "Namespace": "AWS/SageMaker"}
POLICY = naming.target_tracking_policy_name(ENDPOINT)
FROM_ZERO = naming.from_zero_policy_name(ENDPOINT)
ALARM_NAME = naming.no_capacity_alarm_name(ENDPOINT)
STEP_ARN = "arn:aws:autoscaling:us-east-1:111122223333:scalingPolicy:1:from-zero"
IC_TARGET = naming.component_resource_id(BASE)


def scaled(
    low: int = 1, high: int = 8, *, endpoint_type: Any = "InferenceComponent", copies: int = 4
) -> DesiredState:
    desired = make_desired(endpoint_type=endpoint_type, copies=copies)
    ic = endpoint_type == "InferenceComponent"
    from_zero = (
        DesiredFromZero(policy_name=FROM_ZERO, step=STEP, alarm_name=ALARM_NAME, alarm=ALARM)
        if low == 0
        else None
    )
    scaling = DesiredScaling(
        resource_id=IC_TARGET if ic else naming.variant_resource_id(ENDPOINT, "AllTraffic"),
        dimension=COMPONENT_DIMENSION if ic else VARIANT_DIMENSION,
        min_capacity=low,
        max_capacity=high,
        policy_name=POLICY,
        target_tracking=TRACKING,
        from_zero=from_zero,
    )
    return replace(desired, scaling=scaling)


def target(low: int = 1, high: int = 8, owner: str | None = UID) -> ObservedTarget:
    return ObservedTarget(IC_TARGET, COMPONENT_DIMENSION, low, high, owner_uid=owner)


def policies(*, from_zero: bool = False) -> dict[str, ObservedPolicy]:
    found = {POLICY: ObservedPolicy(POLICY, "arn:tt", "TargetTrackingScaling", TRACKING)}
    if from_zero:
        found[FROM_ZERO] = ObservedPolicy(FROM_ZERO, STEP_ARN, "StepScaling", STEP)
    return found


def alarm(owner: str | None = UID) -> ObservedScalingAlarm:
    return ObservedScalingAlarm(ALARM_NAME, (STEP_ARN,), {**ALARM, "Period": 30}, owner_uid=owner)


def autoscaled(
    desired: DesiredState,
    *,
    copies: int | None = None,
    current: int | None = None,
    scaling: ObservedScaling | None = None,
) -> ObservedState:
    """Everything running, the autoscaler having set `copies` (current: `current`)."""
    observed = running(desired)
    if copies is not None:
        base = seen_component(
            desired,
            BASE,
            desired_copies=copies,
            current_copies=copies if current is None else current,
        )
        observed = with_components(observed, base)
    if scaling is None:
        scaling = ObservedScaling(target=target(), policies=policies())
    return replace(observed, scaling=scaling)


def kinds(actions: Any) -> list[str]:
    return [type(a).__name__ for a in actions]


def test_the_autoscalers_copies_are_left_alone_inside_the_range() -> None:
    desired = scaled(1, 8)  # resources.copies is 4
    for copies in (1, 6, 8):
        result = reconcile(desired, autoscaled(desired, copies=copies))
        assert result.actions == ()
        assert result.settled
        assert result.ready.status


def test_without_autoscaling_the_fixed_count_is_restored() -> None:
    desired = make_desired(copies=4)
    result = reconcile(desired, autoscaled(desired, copies=6, scaling=ObservedScaling()))
    assert result.actions == (UpdateInferenceComponentRuntimeConfig(name=BASE, copies=4),)


def test_a_changed_range_clamps_the_count_and_registers_the_range() -> None:
    desired = scaled(1, 3)
    result = reconcile(desired, autoscaled(desired, copies=6))
    assert UpdateInferenceComponentRuntimeConfig(name=BASE, copies=3) in result.actions
    assert (
        RegisterScalableTarget(
            name=IC_TARGET,
            dimension=COMPONENT_DIMENSION,
            min_capacity=1,
            max_capacity=3,
            tags=desired.tags,
        )
        in result.actions
    )
    raised = scaled(5, 8)
    result = reconcile(raised, autoscaled(raised, copies=2))
    assert UpdateInferenceComponentRuntimeConfig(name=BASE, copies=5) in result.actions


def test_first_registration_then_the_policy_in_one_plan() -> None:
    desired = scaled(1, 8)
    result = reconcile(desired, autoscaled(desired, scaling=ObservedScaling()))
    assert kinds(result.actions) == ["RegisterScalableTarget", "PutScalingPolicy"]
    put = result.actions[1]
    assert isinstance(put, PutScalingPolicy)
    assert put.request()["TargetTrackingScalingPolicyConfiguration"] == TRACKING
    assert result.memory.autoscaled


def test_a_crash_after_registering_puts_only_the_policy() -> None:
    desired = scaled(1, 8)
    result = reconcile(desired, autoscaled(desired, scaling=ObservedScaling(target=target())))
    assert kinds(result.actions) == ["PutScalingPolicy"]


def test_a_changed_policy_is_put_again() -> None:
    desired = scaled(1, 8)
    other = ObservedPolicy(
        POLICY, "arn:tt", "TargetTrackingScaling", {**TRACKING, "TargetValue": 9}
    )
    seen = ObservedScaling(target=target(), policies={POLICY: other})
    assert kinds(reconcile(desired, autoscaled(desired, scaling=seen)).actions) == [
        "PutScalingPolicy"
    ]


def test_nothing_is_registered_before_the_component_is_in_service() -> None:
    desired = scaled(1, 8)
    observed = with_components(running(desired), seen_component(desired, BASE, "Creating"))
    assert reconcile(desired, observed).actions == ()


def test_scale_to_zero_puts_the_step_policy_then_the_alarm_on_its_arn() -> None:
    desired = scaled(0, 4)
    registered = ObservedScaling(target=target(0, 4), policies=policies())
    first = reconcile(desired, autoscaled(desired, scaling=registered))
    assert kinds(first.actions) == ["PutScalingPolicy"]
    assert "before its alarm" in first.progressing.message
    seen = ObservedScaling(target=target(0, 4), policies=policies(from_zero=True))
    second = reconcile(desired, autoscaled(desired, scaling=seen))
    (put,) = second.actions
    assert isinstance(put, CreateAlarm)
    assert put.request()["AlarmActions"] == [STEP_ARN]
    assert {"Key": "llmoperator.io/uid", "Value": UID} in put.request()["Tags"]
    done = replace(seen, alarm=alarm())
    assert reconcile(desired, autoscaled(desired, scaling=done)).actions == ()


def test_scaled_to_zero_is_ready_with_its_own_reason() -> None:
    desired = scaled(0, 4)
    seen = ObservedScaling(target=target(0, 4), policies=policies(from_zero=True), alarm=alarm())
    result = reconcile(desired, autoscaled(desired, copies=0, scaling=seen))
    assert result.actions == ()
    assert result.ready.status
    assert result.ready.reason == "ScaledToZero"
    assert result.phase == "InService"


def test_raising_the_floor_above_zero_removes_the_alarm_and_step_policy() -> None:
    desired = scaled(1, 4)
    seen = ObservedScaling(target=target(0, 4), policies=policies(from_zero=True), alarm=alarm())
    result = reconcile(desired, autoscaled(desired, copies=2, scaling=seen))
    assert DeleteAlarm(name=ALARM_NAME, owner_uid=UID) in result.actions
    assert (
        DeleteScalingPolicy(
            name=FROM_ZERO, resource_id=IC_TARGET, dimension=COMPONENT_DIMENSION, owner_uid=UID
        )
        in result.actions
    )


def test_removing_autoscaling_deregisters_and_returns_to_the_fixed_count() -> None:
    desired = make_desired(copies=4)
    seen = ObservedScaling(target=target(0, 8), policies=policies(from_zero=True), alarm=alarm())
    result = reconcile(desired, autoscaled(desired, copies=7, scaling=seen))
    assert kinds(result.actions) == [
        "UpdateInferenceComponentRuntimeConfig",
        "DeleteAlarm",
        "DeleteScalingPolicy",
        "DeleteScalingPolicy",
        "DeregisterScalableTarget",
    ]
    assert result.actions[0] == UpdateInferenceComponentRuntimeConfig(name=BASE, copies=4)
    assert result.memory.autoscaled  # look again next pass, until all of it is gone
    gone = reconcile(desired, running(desired))
    assert not gone.memory.autoscaled


def test_someone_elses_target_is_never_touched() -> None:
    desired = scaled(1, 8)
    foreign = ObservedScaling(target=target(2, 3, owner=OTHER_UID), policies=policies())
    result = reconcile(desired, autoscaled(desired, copies=6, scaling=foreign))
    assert not any(
        isinstance(a, RegisterScalableTarget | PutScalingPolicy | DeregisterScalableTarget)
        for a in result.actions
    )
    assert result.degraded.reason == "NameConflict"
    assert "Application Auto Scaling scalable target" in result.degraded.message
    # Without spec.autoscaling, someone else's target is simply left alone.
    plain = make_desired(copies=4)
    untagged = ObservedScaling(target=target(owner=None), policies=policies())
    result = reconcile(plain, autoscaled(plain, scaling=untagged))
    assert result.actions == ()
    assert not result.degraded.status


def test_someone_elses_alarm_is_never_overwritten() -> None:
    desired = scaled(0, 4)
    seen = ObservedScaling(
        target=target(0, 4), policies=policies(from_zero=True), alarm=alarm(owner=None)
    )
    result = reconcile(desired, autoscaled(desired, scaling=seen))
    assert not any(isinstance(a, CreateAlarm) for a in result.actions)
    assert result.degraded.reason == "NameConflict"


def test_deletion_removes_alarm_policies_and_target_before_the_component() -> None:
    desired = scaled(0, 4)
    seen = ObservedScaling(target=target(0, 4), policies=policies(from_zero=True), alarm=alarm())
    result = delete(desired, autoscaled(desired, scaling=seen))
    names = kinds(result.actions)
    assert names[:5] == [
        "DeleteAlarm",
        "DeleteScalingPolicy",
        "DeleteScalingPolicy",
        "DeregisterScalableTarget",
        "DeleteInferenceComponent",
    ]
    assert not result.done_deleting
    assert DeleteInferenceComponent(name=BASE) in result.actions


def test_deletion_leaves_someone_elses_target() -> None:
    desired = scaled(1, 4)
    seen = ObservedScaling(target=target(owner=OTHER_UID), policies=policies())
    result = delete(desired, autoscaled(desired, scaling=seen))
    assert not any(isinstance(a, DeregisterScalableTarget) for a in result.actions)
    assert result.degraded.reason == "NameConflict"


def test_model_endpoint_instances_are_clamped_and_kept_across_updates() -> None:
    desired = scaled(2, 5, endpoint_type="Model")
    variant_target = ObservedTarget(desired.scaling.resource_id, VARIANT_DIMENSION, 2, 5, UID)  # type: ignore[union-attr]
    seen = ObservedScaling(target=variant_target, policies=policies())
    inside = replace(running(desired), endpoint=seen_endpoint(desired, desired_instances=4))
    assert reconcile(desired, replace(inside, scaling=seen)).actions == ()
    over = replace(running(desired), endpoint=seen_endpoint(desired, desired_instances=9))
    result = reconcile(desired, replace(over, scaling=seen))
    assert result.actions == (
        UpdateEndpointWeightsAndCapacities(name=ENDPOINT, variant_name="AllTraffic", instances=5),
    )
    moved = replace(
        running(desired), endpoint=seen_endpoint(desired, config_name=f"{ENDPOINT}-c-old")
    )
    update = reconcile(desired, replace(moved, scaling=seen)).actions
    assert isinstance(update[0], UpdateEndpoint)
    assert update[0].request()["RetainAllVariantProperties"] is True


def test_memory_round_trips_the_autoscaled_flag() -> None:
    assert PlanMemory.from_dict(PlanMemory(autoscaled=True).to_dict()).autoscaled
    assert not PlanMemory.from_dict({}).autoscaled


def test_retain_keeps_our_scaling_and_says_so() -> None:
    """Retain leaves autoscaling running: an endpoint scaled to zero without its alarm
    and step policy could never come back. Someone else's are not listed as kept."""
    desired = scaled(0, 4)
    seen = ObservedScaling(target=target(0, 4), policies=policies(from_zero=True), alarm=alarm())
    result = delete(desired, autoscaled(desired, copies=0, scaling=seen), policy="Retain")
    assert result.done_deleting
    tagged = {(a.operation, a.kind, a.name) for a in result.actions}
    assert ("TagResource", Kind.SCALABLE_TARGET, IC_TARGET) in tagged
    assert ("TagResource", Kind.ALARM, ALARM_NAME) in tagged
    assert all(a.effect is Effect.UPDATE for a in result.actions)
    (event,) = result.events
    assert event.reason == "Retained"
    assert (
        f"Application Auto Scaling scalable target {IC_TARGET} with scaling policies "
        f"{FROM_ZERO}, {POLICY}; CloudWatch alarms {ALARM_NAME}"
    ) in event.message
    assert result.progressing.message == event.message

    foreign = ObservedScaling(
        target=target(0, 4, owner=OTHER_UID),
        policies=policies(from_zero=True),
        alarm=alarm(owner=OTHER_UID),
    )
    result = delete(desired, autoscaled(desired, copies=0, scaling=foreign), policy="Retain")
    assert {a.kind for a in result.actions}.isdisjoint({Kind.SCALABLE_TARGET, Kind.ALARM})
    (event,) = result.events
    assert "scalable target" not in event.message
    assert ALARM_NAME not in event.message


def test_status_shows_the_range_application_auto_scaling_holds() -> None:
    """A target changed by hand (2..10 over the spec's 1..3) is what the autoscaler obeys:
    status says so while the plan registers the spec's range again."""
    desired = scaled(1, 3)
    observed = autoscaled(
        desired, copies=2, scaling=ObservedScaling(target=target(2, 10), policies=policies())
    )
    result = reconcile(desired, observed)
    assert (
        RegisterScalableTarget(
            name=IC_TARGET,
            dimension=COMPONENT_DIMENSION,
            min_capacity=1,
            max_capacity=3,
            tags=desired.tags,
        )
        in result.actions
    )
    shown = build_status(
        desired=desired,
        observed=observed,
        plan=result,
        generation=1,
        previous=None,
        now=datetime(2026, 12, 7, tzinfo=UTC),
        hourly_usd_per_instance=None,
    )["autoscaling"]
    assert (shown["minReplicas"], shown["maxReplicas"]) == (2, 10)

    # Before the target is registered there is no range in force; someone else's
    # target is not ours to report.
    for scaling in (ObservedScaling(), ObservedScaling(target=target(2, 10, owner=OTHER_UID))):
        unregistered = replace(observed, scaling=scaling)
        shown = build_status(
            desired=desired,
            observed=unregistered,
            plan=reconcile(desired, unregistered),
            generation=1,
            previous=None,
            now=datetime(2026, 12, 7, tzinfo=UTC),
            hourly_usd_per_instance=None,
        )["autoscaling"]
        assert (shown["minReplicas"], shown["maxReplicas"]) == (None, None)


def test_an_alarm_of_ours_under_an_earlier_name_is_replaced_by_the_wanted_one() -> None:
    """On a pool the no-capacity alarm was once named after the pool's endpoint: ours
    under that name is deleted and the wanted one created; someone else's is a conflict."""
    desired = scaled(0, 4)
    assert desired.scaling is not None and desired.scaling.from_zero is not None
    renamed = replace(
        desired,
        scaling=replace(
            desired.scaling,
            from_zero=replace(desired.scaling.from_zero, alarm_name="mine-no-capacity"),
        ),
    )
    seen = ObservedScaling(target=target(0, 4), policies=policies(from_zero=True), alarm=alarm())
    plan = reconcile(renamed, autoscaled(renamed, scaling=seen))
    delete_old, create_new = plan.actions
    assert isinstance(delete_old, DeleteAlarm) and delete_old.name == ALARM_NAME
    assert isinstance(create_new, CreateAlarm) and create_new.name == "mine-no-capacity"
    theirs = replace(seen, alarm=alarm(owner="someone-else"))
    held = reconcile(renamed, autoscaled(renamed, scaling=theirs))
    assert held.actions == () and held.degraded.reason == "NameConflict"
