"""Guarded rollouts: what the planner asks SageMaker for, and what it tells the user.

The outcome is judged by what SageMaker serves afterwards, never by the update
having ended: a rollback leaves the endpoint InService on its old config.
"""

from __future__ import annotations

from dataclasses import replace

from llm_operator.api.models import RolloutSpec
from llm_operator.core.actions import (
    CreateAlarm,
    DeleteAlarm,
    UpdateAlarm,
    UpdateEndpoint,
    UpdateInferenceComponent,
    UpdateInferenceComponentRuntimeConfig,
)
from llm_operator.core.compare import component_fingerprint
from llm_operator.core.desired import DesiredState
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import ObservedAlarm, ObservedState
from llm_operator.core.plan import Plan
from llm_operator.core.rollout import alarm_names, desired_rollout, owned_alarms
from tests.unit.planner_factory import (
    BASE,
    OTHER_UID,
    UID,
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
)

ALARM = "mistral-p99-latency"
REASON = (
    f"Deployment rolled back: CloudWatch alarm(s) [{ALARM}] went into ALARM state during the "
    "baking period of step 1 of 2; the endpoint serves the old configuration again."
)


def guarded(desired: DesiredState, generation: int = 2, **rollout: object) -> DesiredState:
    settings = {"rollbackAlarms": [ALARM], "waitSeconds": 60, **rollout}
    if desired.endpoint_type == "Model":
        settings.setdefault("strategy", "Canary")
    spec = RolloutSpec.model_validate(settings)
    return replace(desired, rollout=desired_rollout(spec, desired.endpoint_type, generation))


OLD = make_desired(endpoint_type="Model")
NEW = guarded(make_desired(endpoint_type="Model", instance_type="ml.g5.2xlarge"))
NEWER = guarded(make_desired(endpoint_type="Model", instance_type="ml.g5.4xlarge"), 3)


def on_old(**changes: object) -> ObservedState:
    """NEW's resources exist; the endpoint still runs OLD's config."""
    return replace(
        running(NEW, extra_configs=(OLD.endpoint_config.name,)),
        endpoint=seen_endpoint(NEW, config_name=OLD.endpoint_config.name, **changes),
    )


def test_a_spec_change_starts_a_canary_with_the_alarms() -> None:
    result = reconcile(NEW, on_old())
    assert NEW.rollout is not None
    assert result.actions == (
        UpdateEndpoint(
            name=NEW.endpoint_name,
            config_name=NEW.endpoint_config.name,
            deployment=NEW.rollout.endpoint_deployment,
        ),
    )
    request = result.actions[0].request()
    assert request["DeploymentConfig"]["AutoRollbackConfiguration"] == {
        "Alarms": [{"AlarmName": ALARM}]
    }
    assert result.rollout is not None
    assert (result.rollout.phase, result.rollout.step, result.rollout.generation) == (
        "InProgress",
        "Starting",
        2,
    )
    assert [(e.reason, e.type) for e in result.events] == [("RolloutStarted", "Normal")]
    assert (result.phase, result.ready.status, result.ready.reason) == (
        "Updating",
        True,
        "RollingOut",
    )
    assert (result.progressing.status, result.progressing.reason) == (True, "RollingOut")


def test_without_spec_rollout_the_update_is_plain_and_ready_drops() -> None:
    plain = replace(NEW, rollout=None)
    result = reconcile(plain, on_old())
    assert result.actions == (
        UpdateEndpoint(name=plain.endpoint_name, config_name=plain.endpoint_config.name),
    )
    assert "DeploymentConfig" not in result.actions[0].request()
    assert result.rollout is None
    assert not result.ready.status


def test_each_step_is_reported_once_while_sagemaker_bakes() -> None:
    memory = reconcile(NEW, on_old()).memory
    baking = on_old(
        status="Updating",
        pending_config=NEW.endpoint_config.name,
        deployment_status="Baking",
        deployment_message="10% of traffic on the new fleet; baking for 60 seconds (step 1 of 2)",
    )
    first = reconcile(NEW, baking, memory)
    assert first.actions == ()
    assert first.rollout is not None
    assert (first.rollout.phase, first.rollout.step) == ("Baking", "Baking")
    assert [e.reason for e in first.events] == ["RolloutStep"]
    assert "10% of traffic" in first.events[0].message
    assert (first.phase, first.ready.status) == ("Updating", True)
    again = reconcile(NEW, baking, first.memory)
    assert again.events == ()
    assert again.actions == ()


def test_a_restarted_operator_picks_the_rollout_up_without_starting_another() -> None:
    """Memory lost (status never written): the pending deployment is still recognised."""
    baking = on_old(
        status="Updating",
        pending_config=NEW.endpoint_config.name,
        deployment_status="ActivatingTraffic",
        deployment_message="Turning on 10% of traffic",
    )
    result = reconcile(NEW, baking, PlanMemory())
    assert result.actions == ()
    assert result.rollout is not None and result.rollout.phase == "InProgress"
    assert result.ready.status


def test_an_update_that_ends_on_the_new_config_succeeded() -> None:
    memory = reconcile(NEW, on_old()).memory
    done = running(NEW, extra_configs=(OLD.endpoint_config.name,))
    result = reconcile(NEW, done, memory)
    assert result.rollout is not None and result.rollout.phase == "Succeeded"
    assert [e.reason for e in result.events] == ["RolloutSucceeded"]
    assert (result.phase, result.ready.reason, result.degraded.status) == (
        "InService",
        "InService",
        False,
    )
    # Reported once; the status keeps it from then on.
    assert reconcile(NEW, done, result.memory).rollout is None


def test_success_is_judged_by_what_serves_even_after_a_restart() -> None:
    announced = replace(PlanMemory(), rollout_step=f"{NEW.endpoint_config.name}|Baking|Baking")
    done = running(NEW, extra_configs=(OLD.endpoint_config.name,))
    result = reconcile(NEW, done, announced)
    assert result.rollout is not None and result.rollout.phase == "Succeeded"


def rolled_back() -> tuple[Plan, ObservedState]:
    memory = reconcile(NEW, on_old()).memory
    back = on_old(failure_reason=REASON)
    return reconcile(NEW, back, memory), back


def test_a_rollback_is_never_reported_as_success() -> None:
    result, _ = rolled_back()
    assert result.actions == ()
    assert result.rollout is not None
    assert (result.rollout.phase, result.rollout.alarm, result.rollout.generation) == (
        "RolledBack",
        ALARM,
        2,
    )
    assert (result.degraded.status, result.degraded.reason) == (True, "RolledBack")
    assert ALARM in result.degraded.message
    assert "generation 2" in result.degraded.message
    assert (result.ready.status, result.ready.reason) == (True, "RolledBack")
    assert result.phase == "InService"
    assert (result.progressing.status, result.progressing.reason) == (False, "Blocked")
    assert [(e.type, e.reason) for e in result.events] == [("Warning", "RolledBack")]
    failed = result.memory.failed_endpoint_update
    assert failed is not None and failed.generation == 2


def test_a_rolled_back_generation_is_not_retried_until_the_spec_changes() -> None:
    result, back = rolled_back()
    again = reconcile(NEW, back, result.memory)
    assert again.actions == ()
    assert again.events == ()
    assert again.degraded.reason == "RolledBack"
    assert again.rollout is not None and again.rollout.phase == "RolledBack"
    assert reconcile(NEW, back, PlanMemory.from_dict(again.memory.to_dict())).actions == ()
    observed = replace(
        back,
        endpoint_configs={
            **back.endpoint_configs,
            NEWER.endpoint_config.name: resource(NEWER.endpoint_config.name),
        },
    )
    later = reconcile(NEWER, observed, again.memory)
    assert NEWER.rollout is not None
    assert later.actions == (
        UpdateEndpoint(
            name=NEWER.endpoint_name,
            config_name=NEWER.endpoint_config.name,
            deployment=NEWER.rollout.endpoint_deployment,
        ),
    )
    assert later.degraded.status is False
    assert later.rollout is not None and later.rollout.generation == 3


def test_a_rollback_while_rolling_back_shows_as_a_step() -> None:
    memory = reconcile(NEW, on_old()).memory
    result = reconcile(NEW, on_old(status="RollingBack", failure_reason=REASON), memory)
    assert result.rollout is not None
    assert (result.rollout.phase, result.rollout.step) == ("InProgress", "RollingBack")
    assert result.ready.status


def test_a_rejected_deployment_config_fails_the_rollout() -> None:
    update = reconcile(NEW, on_old()).actions[0]
    memory = PlanMemory().with_rejection(update, "CanarySize must be between 1% and 50%")
    result = reconcile(NEW, on_old(), memory)
    assert result.actions == ()
    assert result.rollout is not None and result.rollout.phase == "Failed"
    assert result.degraded.reason == "Rejected"


# -- inference component endpoints ----------------------------------------------------

IC_OLD = make_desired(adapters={"sql": "s3://b/sql.tar.gz"})
IC_NEW = guarded(
    make_desired(
        model_id="mistralai/Mistral-7B-Instruct-v0.2", adapters={"sql": "s3://b/sql.tar.gz"}
    ),
    strategy="Rolling",
    maxBatchPercent=50,
)


def test_a_new_model_rolls_the_base_component_in_batches() -> None:
    result = reconcile(IC_NEW, running(IC_OLD))
    assert IC_NEW.rollout is not None and IC_NEW.rollout.component_deployment is not None
    base = IC_NEW.components[0]
    assert result.actions == (
        create_model(IC_NEW),
        UpdateInferenceComponent(
            name=BASE,
            specification=base.specification,
            copies=4,
            deployment=IC_NEW.rollout.component_deployment,
        ),
    )
    assert result.rollout is not None and result.rollout.step == "Starting"
    assert result.ready.status


def test_copies_alone_and_adapters_change_in_place() -> None:
    more = guarded(
        make_desired(copies=6, adapters={"sql": "s3://b/sql.tar.gz"}), strategy="Rolling"
    )
    assert reconcile(more, running(IC_OLD)).actions == (
        UpdateInferenceComponentRuntimeConfig(name=BASE, copies=6),
    )
    moved = guarded(make_desired(adapters={"sql": "s3://b/sql-v2.tar.gz"}), strategy="Rolling")
    result = reconcile(moved, running(IC_OLD))
    assert [type(a) for a in result.actions] == [UpdateInferenceComponent]
    assert "DeploymentConfig" not in result.actions[0].request()
    assert result.actions[0].name == adapter_name("sql")
    assert result.rollout is None


def test_a_rolled_back_component_is_degraded_and_not_retried() -> None:
    base = IC_NEW.components[0]
    memory = reconcile(IC_NEW, running(IC_OLD)).memory
    assert memory.component_updates == {BASE: component_fingerprint(base)}
    observed = with_components(
        running(IC_OLD),
        seen_component(IC_OLD, BASE, failure_reason=REASON),
    )
    observed = replace(
        observed, models={**observed.models, IC_NEW.model.name: resource(IC_NEW.model.name)}
    )
    updating = with_components(observed, seen_component(IC_OLD, BASE, status="Updating"))
    during = reconcile(IC_NEW, updating, memory)
    assert during.rollout is not None and during.rollout.phase == "InProgress"
    assert (during.ready.status, during.phase) == (True, "Updating")
    result = reconcile(IC_NEW, observed, during.memory)
    assert result.actions == ()
    assert result.rollout is not None
    assert (result.rollout.phase, result.rollout.alarm) == ("RolledBack", ALARM)
    assert (result.degraded.reason, result.ready.status, result.phase) == (
        "RolledBack",
        True,
        "InService",
    )
    assert reconcile(IC_NEW, observed, result.memory).actions == ()


def test_a_rolled_out_component_succeeded() -> None:
    memory = reconcile(IC_NEW, running(IC_OLD)).memory
    result = reconcile(IC_NEW, running(IC_NEW), memory)
    assert result.rollout is not None and result.rollout.phase == "Succeeded"
    assert [e.reason for e in result.events] == ["RolloutSucceeded"]
    assert result.ready.reason == "InService"


def test_a_failed_endpoint_is_not_ready_during_a_rollout() -> None:
    failed = on_old(status="Failed", failure_reason="boom")
    result = reconcile(NEW, failed)
    assert not result.ready.status


# -- the operator's own rollback alarms (autoRollback) ----------------------------------


def with_auto_rollback(desired: DesiredState, **thresholds: object) -> DesiredState:
    spec = RolloutSpec.model_validate(
        {"strategy": "Canary", "rollbackAlarms": [ALARM], "autoRollback": thresholds}
    )
    alarms = owned_alarms(
        spec,
        endpoint_name=desired.endpoint_name,
        variant_name="AllTraffic",
        component_name=None,
        owner="search/mistral",
    )
    return replace(desired, rollout=desired_rollout(spec, desired.endpoint_type, 4, alarms))


AUTO = with_auto_rollback(NEW, maxErrorRatePercent=1, maxP99LatencyMs=2000)
ERRORS, LATENCY = alarm_names(AUTO.endpoint_name)


def alarm(name: str, threshold: float, owner: str | None = UID) -> ObservedAlarm:
    return ObservedAlarm(name=name, threshold=threshold, owner_uid=owner)


def with_alarms(observed: ObservedState, *alarms: ObservedAlarm) -> ObservedState:
    return replace(observed, alarms={a.name: a for a in alarms})


def test_the_alarms_are_created_before_the_update_that_names_them() -> None:
    assert AUTO.rollout is not None
    result = reconcile(AUTO, on_old())
    assert [type(a) for a in result.actions] == [CreateAlarm, CreateAlarm, UpdateEndpoint]
    assert [a.name for a in result.actions[:2]] == [ERRORS, LATENCY]
    assert all(a.tags == AUTO.tags for a in result.actions[:2] if isinstance(a, CreateAlarm))
    update = result.actions[2].request()
    assert update["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"] == [
        {"AlarmName": ALARM},
        {"AlarmName": ERRORS},
        {"AlarmName": LATENCY},
    ]
    assert result.memory.alarms == (ERRORS, LATENCY)


def test_a_changed_threshold_updates_only_our_alarm() -> None:
    settled = with_alarms(running(AUTO), alarm(ERRORS, 5.0), alarm(LATENCY, 2_000_000.0))
    result = reconcile(AUTO, settled)
    assert [(type(a), a.name) for a in result.actions] == [(UpdateAlarm, ERRORS)]
    assert (
        reconcile(AUTO, with_alarms(running(AUTO), alarm(ERRORS, 1.0), alarm(LATENCY, 2e6))).actions
        == ()
    )


def test_an_alarm_name_held_by_someone_else_blocks_the_guarded_update() -> None:
    taken = with_alarms(on_old(), alarm(ERRORS, 1.0, owner=OTHER_UID), alarm(LATENCY, 2e6))
    result = reconcile(AUTO, taken)
    assert result.actions == ()
    assert result.degraded.reason == "NameConflict"
    assert f"CloudWatch alarm {ERRORS} is tagged for another owner" in result.degraded.message


def test_alarms_the_spec_drops_are_deleted_and_someone_elses_stay() -> None:
    fewer = with_auto_rollback(NEW, maxP99LatencyMs=2000)
    observed = with_alarms(running(fewer), alarm(ERRORS, 1.0), alarm(LATENCY, 2e6))
    result = reconcile(fewer, observed)
    assert result.actions == (DeleteAlarm(name=ERRORS, owner_uid=UID),)
    foreign = with_alarms(running(fewer), alarm(ERRORS, 1.0, owner=OTHER_UID), alarm(LATENCY, 2e6))
    assert reconcile(fewer, foreign).actions == ()


def test_an_alarm_names_the_rollback_it_caused() -> None:
    memory = reconcile(AUTO, on_old()).memory
    back = with_alarms(
        on_old(failure_reason=f"Deployment rolled back: CloudWatch alarm(s) [{LATENCY}] fired"),
        alarm(ERRORS, 1.0),
        alarm(LATENCY, 2e6),
    )
    result = reconcile(AUTO, back, memory)
    assert result.rollout is not None and result.rollout.alarm == LATENCY
    assert f"alarm {LATENCY} fired" in result.degraded.message


def test_the_alarms_go_with_the_llmendpoint() -> None:
    gone = with_alarms(ObservedState(), alarm(ERRORS, 1.0), alarm(LATENCY, 2e6, owner=OTHER_UID))
    result = delete(AUTO, gone)
    assert result.actions == (DeleteAlarm(name=ERRORS, owner_uid=UID),)
    assert not result.done_deleting
    assert delete(AUTO, with_alarms(ObservedState(), alarm(LATENCY, 2e6, OTHER_UID))).done_deleting
    kept = delete(AUTO, with_alarms(ObservedState(), alarm(ERRORS, 1.0)), policy="Retain")
    assert ERRORS in kept.progressing.message and kept.done_deleting
    assert [(type(a).__name__, a.name) for a in kept.actions] == [("TagAlarm", ERRORS)]


# -- what SageMaker's record says about an update remembered (or not) ------------------

ISSUED_AT = 1_000.0


def issued(**changes: object) -> PlanMemory:
    """The memory the shell writes before sending NEW's UpdateEndpoint."""
    memory = replace(reconcile(NEW, on_old()).memory, update_issued_at=ISSUED_AT)
    return replace(memory, **changes)


def test_an_update_recorded_but_never_arrived_is_sent_once() -> None:
    """SageMaker changed nothing since the record (a crash before the call)."""
    result = reconcile(NEW, on_old(last_modified=ISSUED_AT - 60), issued())
    assert [type(a) for a in result.actions] == [UpdateEndpoint]


def test_an_update_that_arrived_and_ended_on_the_old_config_was_rolled_back() -> None:
    """Even once a scaling update has cleared FailureReason: nothing is sent again."""
    result = reconcile(NEW, on_old(last_modified=ISSUED_AT + 60), issued())
    assert result.actions == ()
    assert result.rollout is not None and result.rollout.phase == "RolledBack"
    assert result.degraded.reason == "RolledBack"
    assert (result.ready.status, result.ready.reason) == (True, "RolledBack")


def test_with_nothing_remembered_sagemakers_record_still_shows_the_rollback() -> None:
    """A FailureReason set after the desired config was created: that update failed."""
    config = NEW.endpoint_config.name
    created = replace(
        on_old(failure_reason=REASON, last_modified=ISSUED_AT + 60),
        endpoint_configs={
            **on_old().endpoint_configs,
            config: replace(on_old().endpoint_configs[config], created=ISSUED_AT),
        },
    )
    result = reconcile(NEW, created, PlanMemory())
    assert result.actions == ()
    assert result.rollout is not None and result.rollout.alarm == ALARM
    older = replace(created, endpoint=replace(created.endpoint, last_modified=ISSUED_AT - 60))
    assert [type(a) for a in reconcile(NEW, older, PlanMemory()).actions] == [UpdateEndpoint]


def test_a_spec_applied_during_a_rollout_is_pending_while_the_previous_one_rolls() -> None:
    """Generation 3 (NEWER) while SageMaker still bakes generation 2 (NEW)."""
    memory = issued(rollout_generation=2)
    baking = replace(
        on_old(
            status="Updating",
            pending_config=NEW.endpoint_config.name,
            deployment_status="Baking",
            deployment_message="10% of traffic on the new fleet",
        ),
        endpoint_configs={
            **on_old().endpoint_configs,
            NEWER.endpoint_config.name: resource(NEWER.endpoint_config.name),
        },
    )
    result = reconcile(NEWER, baking, memory)
    assert result.actions == ()
    assert result.rollout is not None
    assert (result.rollout.generation, result.rollout.target, result.rollout.phase) == (
        2,
        NEW.endpoint_config.name,
        "Baking",
    )
    assert (result.rollout.pending_generation, result.rollout.pending_target) == (
        3,
        NEWER.endpoint_config.name,
    )
    assert (result.ready.status, result.ready.reason) == (True, "RollingOut")
    assert "generation 3 waits" in result.progressing.message
