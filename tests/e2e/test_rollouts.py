"""Guarded rollouts end to end: spec.rollout on both endpoint types.

The emulator runs SageMaker's deployment guardrails on its own clock and reads
the rollback alarms from its moto CloudWatch, where the test flips them. Each
test follows one LLMEndpoint through a rollout rolled back by an alarm (Ready
stays True on the old version, Degraded/RolledBack names the alarm, nothing is
retried), a later good spec that rolls out step by step, and an operator
SIGKILLed in the middle of that rollout, which picks it up without a second one;
and an operator SIGKILLed while its UpdateEndpoint is in flight, which SageMaker
takes and rolls back before the operator is back (tests/integration/
test_rollout_crashes.py kills it at every step of a rollout, in-process).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from llm_operator.core import naming
from local_cluster.llmendpoints import condition
from local_cluster.services import Emulator, Operator
from local_cluster.waiting import wait_for
from tests.plugins.alarms import latency_alarm
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import events, get_llme, patch_spec, wait_ready
from tests.plugins.operator_fixtures import EmulatorProcesses

pytestmark = pytest.mark.e2e

CREATE_DELAY = 0.2  # emulator seconds per transition while the endpoint is created
# During rollouts one delay stands for 300 s of AWS time (sagemaker_emulator.deployments):
# a 600 s bake then lasts 3 s, a 3600 s one 18 s, long enough to flip an alarm in it.
ROLLOUT_DELAY = 1.5


@pytest.fixture
def emulator_process(emulators: EmulatorProcesses) -> Emulator:
    """The test's emulator with moto next to it, where the rollback alarms live."""
    return emulators.fresh(delay=CREATE_DELAY, args=["--with-moto"])


@pytest.fixture
def cloudwatch(emulator_process: Emulator) -> Any:
    assert emulator_process.moto_url is not None
    return boto3.client(
        "cloudwatch",
        endpoint_url=emulator_process.moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def alarm(cloudwatch: Any) -> str:
    return latency_alarm(cloudwatch)


def set_alarm(cloudwatch: Any, name: str, state: str) -> None:
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="e2e")


def rollout_of(obj: dict[str, Any] | None) -> dict[str, Any]:
    return dict(((obj or {}).get("status") or {}).get("rollout") or {})


def wait_rollout(
    kubectl: Kubectl,
    name: str,
    generation: int,
    phases: set[str],
    log: Callable[[], str],
    timeout: float = 180.0,
) -> dict[str, Any]:
    """The LLMEndpoint once status.rollout of `generation` is in one of `phases`."""

    def probe() -> dict[str, Any] | None:
        obj = get_llme(kubectl, name)
        rollout = rollout_of(obj)
        if rollout.get("generation") == generation and rollout.get("phase") in phases:
            return obj
        return None

    return wait_for(
        probe,
        timeout=timeout,
        what=f"{name} rollout of generation {generation} {sorted(phases)}",
        diagnose=lambda: f"status: {(get_llme(kubectl, name) or {}).get('status')!r}\n{log()}",
    )


def event_lines(kubectl: Kubectl, name: str) -> list[tuple[str, str, str]]:
    """(type, reason, message) of the LLMEndpoint's Events, oldest first."""
    items = sorted(
        events(kubectl, name),
        key=lambda e: (e.get("lastTimestamp") or "", e["metadata"]["name"]),
    )
    return [(e["type"], e["reason"], e.get("message") or "") for e in items]


def patch(kubectl: Kubectl, name: str, spec: dict[str, Any]) -> int:
    """Merge `spec` into the LLMEndpoint's spec; the new generation."""
    patch_spec(kubectl, name, spec)
    obj = get_llme(kubectl, name)
    assert obj is not None
    return int(obj["metadata"]["generation"])


def update_calls(emulator: Emulator, operation: str, since: int) -> int:
    return sum(
        1
        for call in emulator.admin_client.call_log(since=since, operation=operation)
        if call["error"] is None
    )


def two_refreshes(emulator: Emulator, operator: Operator) -> None:
    """Waits until the operator took two more inventories: it re-checked everything."""
    checked = last_seq(emulator)
    wait_for(
        lambda: update_calls(emulator, "ListEndpoints", checked) >= 2,
        timeout=60,
        what="two more inventory refreshes of the operator",
        diagnose=operator.log_tail,
    )


def last_seq(emulator: Emulator) -> int:
    log = emulator.admin_client.call_log()
    return log[-1]["seq"] if log else 0


def rolled_back_then_good_rollout(
    *,
    kubectl: Kubectl,
    operator: Operator,
    emulator: Emulator,
    cloudwatch: Any,
    alarm: str,
    manifest: dict[str, Any],
    bad_change: dict[str, Any],
    good_change: dict[str, Any],
    update_operation: str,
    mid_bake: set[str],
) -> None:
    """`mid_bake`: the rollout phases in which the alarm is flipped (a component's
    Describe shows no bake step, so there it is flipped while the copies roll)."""
    name = manifest["metadata"]["name"]
    kubectl.apply(to_yaml(manifest))
    created = wait_ready(kubectl, name, timeout=180, log=operator.log_tail)
    served = created["status"]["endpointConfigName"], created["status"]["modelName"]
    emulator.admin_client.set_delay(ROLLOUT_DELAY)

    # 1. A rollout the alarm rolls back mid-bake.
    before = last_seq(emulator)
    bad = patch(
        kubectl,
        name,
        {**bad_change, "rollout": {**manifest["spec"]["rollout"], "waitSeconds": 3600}},
    )
    baking = wait_rollout(kubectl, name, bad, mid_bake, operator.log_tail)
    assert condition(baking, "Ready")["status"] == "True"  # the old version serves
    assert baking["status"]["phase"] == "Updating"
    set_alarm(cloudwatch, alarm, "ALARM")
    back = wait_rollout(kubectl, name, bad, {"RolledBack"}, operator.log_tail)
    rollout = rollout_of(back)
    assert rollout["alarm"] == alarm
    assert rollout["startTime"] <= rollout["endTime"]
    degraded = condition(back, "Degraded")
    assert (degraded["status"], degraded["reason"]) == ("True", "RolledBack")
    assert alarm in degraded["message"] and f"generation {bad}" in degraded["message"]
    ready = condition(back, "Ready")
    assert (ready["status"], ready["reason"]) == ("True", "RolledBack")
    assert (back["status"]["endpointConfigName"], back["status"]["modelName"]) == served
    seen = event_lines(kubectl, name)
    assert ("Normal", "RolloutStarted") in {(t, r) for t, r, _ in seen}
    assert any(r == "RolloutStep" and f"Generation {bad}" in m for _, r, m in seen), seen
    assert [m for t, r, m in seen if (t, r) == ("Warning", "RolledBack")] == [degraded["message"]]
    assert update_calls(emulator, update_operation, before) == 1

    # 2. Not retried: the operator keeps re-checking, and says the same thing.
    set_alarm(cloudwatch, alarm, "OK")
    two_refreshes(emulator, operator)
    assert update_calls(emulator, update_operation, before) == 1
    still = get_llme(kubectl, name)
    assert rollout_of(still)["phase"] == "RolledBack"
    assert condition(still or {}, "Ready")["status"] == "True"

    # 3. A later good spec rolls out step by step; the operator is SIGKILLed mid-bake.
    before = last_seq(emulator)
    good = patch(kubectl, name, {**good_change, "rollout": manifest["spec"]["rollout"]})
    running = wait_rollout(kubectl, name, good, mid_bake, operator.log_tail)
    assert condition(running, "Degraded")["status"] == "False"
    assert condition(running, "Ready")["status"] == "True"
    operator.kill()
    operator.start()
    operator.wait_healthy()
    done = wait_rollout(kubectl, name, good, {"Succeeded"}, operator.log_tail)
    done = wait_ready(kubectl, name, timeout=120, log=operator.log_tail)
    assert rollout_of(done)["phase"] == "Succeeded"
    assert rollout_of(done)["endTime"] >= rollout_of(done)["startTime"]
    assert condition(done, "Ready")["reason"] == "InService"
    assert condition(done, "Degraded")["status"] == "False"
    assert update_calls(emulator, update_operation, before) == 1
    steps = [
        m
        for _, r, m in event_lines(kubectl, name)
        if r == "RolloutStep" and f"Generation {good}" in m
    ]
    assert steps, event_lines(kubectl, name)
    assert any(
        r == "RolloutSucceeded" and f"Generation {good}" in m
        for _, r, m in event_lines(kubectl, name)
    )


def test_model_endpoint_canary_rolled_back_by_an_alarm_then_rolled_out(
    kubectl: Kubectl, operator: Operator, emulator_process: Emulator, cloudwatch: Any, alarm: str
) -> None:
    manifest = llmendpoint("model-based-endpoint")
    manifest["spec"]["instance"]["count"] = 2
    manifest["spec"]["rollout"] = {
        "strategy": "Canary",
        "canaryPercent": 50,
        "waitSeconds": 600,
        "rollbackAlarms": [alarm],
    }
    rolled_back_then_good_rollout(
        kubectl=kubectl,
        operator=operator,
        emulator=emulator_process,
        cloudwatch=cloudwatch,
        alarm=alarm,
        manifest=manifest,
        bad_change={"instance": {"type": "ml.g5.4xlarge", "count": 2}},
        good_change={"instance": {"type": "ml.g5.8xlarge", "count": 2}},
        update_operation="UpdateEndpoint",
        mid_bake={"Baking"},
    )


def test_serverless_canary_rolled_back_by_an_alarm_then_rolled_out(
    kubectl: Kubectl, operator: Operator, emulator_process: Emulator, cloudwatch: Any, alarm: str
) -> None:
    """A serverless endpoint takes blue/green deployments (not rolling ones): a new
    memory size is a new endpoint config, guarded like a model endpoint's."""
    manifest = llmendpoint("serverless-tei")
    manifest["spec"]["rollout"] = {
        "strategy": "Canary",
        "canaryPercent": 50,
        "waitSeconds": 600,
        "rollbackAlarms": [alarm],
    }
    rolled_back_then_good_rollout(
        kubectl=kubectl,
        operator=operator,
        emulator=emulator_process,
        cloudwatch=cloudwatch,
        alarm=alarm,
        manifest=manifest,
        bad_change={"serverless": {"memoryMiB": 3072}},
        good_change={"serverless": {"memoryMiB": 4096}},
        update_operation="UpdateEndpoint",
        mid_bake={"Baking"},
    )


def test_inference_component_rolling_update_rolled_back_by_an_alarm_then_rolled_out(
    kubectl: Kubectl, operator: Operator, emulator_process: Emulator, cloudwatch: Any, alarm: str
) -> None:
    manifest = llmendpoint("mistral-7b-inference-components")
    manifest["spec"]["resources"]["copies"] = 2
    manifest["spec"]["rollout"] = {
        "strategy": "Rolling",
        "maxBatchPercent": 50,
        "waitSeconds": 600,
        "rollbackAlarms": [alarm],
    }
    rolled_back_then_good_rollout(
        kubectl=kubectl,
        operator=operator,
        emulator=emulator_process,
        cloudwatch=cloudwatch,
        alarm=alarm,
        manifest=manifest,
        bad_change={"model": {"env": {"MODEL_VARIANT": "bad"}}},
        good_change={"model": {"env": {"MODEL_VARIANT": "good"}}},
        update_operation="UpdateInferenceComponent",
        mid_bake={"InProgress", "Baking"},
    )


def alarms_of(cloudwatch: Any, names: list[str]) -> dict[str, dict[str, Any]]:
    """name -> {"threshold": ..., "tags": {...}} for the alarms that exist."""
    found = cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]
    return {
        a["AlarmName"]: {
            "threshold": a["Threshold"],
            "tags": {
                t["Key"]: t["Value"]
                for t in cloudwatch.list_tags_for_resource(ResourceARN=a["AlarmArn"])["Tags"]
            },
        }
        for a in found
    }


def test_auto_rollback_alarms_are_owned_updated_and_deleted_with_the_llmendpoint(
    kubectl: Kubectl, operator: Operator, emulator_process: Emulator, cloudwatch: Any
) -> None:
    manifest = llmendpoint("model-based-endpoint")
    name = manifest["metadata"]["name"]
    manifest["spec"]["rollout"] = {
        "strategy": "Linear",
        "linearStepPercent": 50,
        "autoRollback": {"maxErrorRatePercent": 1, "maxP99LatencyMs": 2000},
    }
    # Someone else's alarm already holds the latency alarm's name. (moto keeps an
    # alarm's tags after it is deleted, so it must not have been ours before.)
    endpoint = rendered_endpoint_name(kubectl, manifest)
    errors, latency = f"{endpoint}-rollback-error-rate", f"{endpoint}-rollback-p99-latency"
    cloudwatch.put_metric_alarm(
        AlarmName=latency,
        Namespace="AWS/SageMaker",
        MetricName="ModelLatency",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=123.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    kubectl.apply(to_yaml(manifest))

    def conflict() -> dict[str, Any] | None:
        obj = get_llme(kubectl, name)
        degraded = condition(obj or {}, "Degraded")
        named = latency in degraded.get("message", "")
        return obj if degraded.get("reason") == "NameConflict" and named else None

    wait_for(conflict, timeout=120, what="NameConflict on the alarm", diagnose=operator.log_tail)
    assert alarms_of(cloudwatch, [latency])[latency] == {"threshold": 123.0, "tags": {}}

    # Its owner deletes it: the operator creates its own.
    cloudwatch.delete_alarms(AlarmNames=[latency])
    wait_for(
        lambda: conflict() is None,
        timeout=120,
        what="the NameConflict to clear",
        diagnose=operator.log_tail,
    )
    created = wait_ready(kubectl, name, timeout=180, log=operator.log_tail)
    uid = created["metadata"]["uid"]

    def alarms_are(expected: dict[str, float]) -> dict[str, dict[str, Any]] | None:
        found = alarms_of(cloudwatch, [errors, latency])
        return found if {n: a["threshold"] for n, a in found.items()} == expected else None

    found = wait_for(
        lambda: alarms_are({errors: 1.0, latency: 2_000_000.0}),
        timeout=60,
        what="both rollback alarms",
        diagnose=operator.log_tail,
    )
    assert all(a["tags"]["llmoperator.io/uid"] == uid for a in found.values())
    assert all(
        a["tags"]["llmoperator.io/managed-by"] == "sagemaker-llm-operator" for a in found.values()
    )
    assert condition(created, "Degraded")["status"] == "False"

    # A new threshold updates the alarm in place; a dropped one deletes it.
    thresholds = {"maxErrorRatePercent": 5, "maxP99LatencyMs": None}
    patch(kubectl, name, {"rollout": {"autoRollback": thresholds}})
    wait_for(
        lambda: alarms_are({errors: 5.0}),
        timeout=60,
        what="the error-rate alarm at 5% and no latency alarm",
        diagnose=operator.log_tail,
    )

    # Deleted with the LLMEndpoint.
    kubectl("delete", "llmendpoint", name, "--wait=false")
    wait_for(
        lambda: get_llme(kubectl, name) is None,
        timeout=120,
        what=f"{name} gone",
        diagnose=operator.log_tail,
    )
    assert alarms_of(cloudwatch, [errors, latency]) == {}


def rendered_endpoint_name(kubectl: Kubectl, manifest: dict[str, Any]) -> str:
    """The SageMaker endpoint name the operator derives for `manifest` in this namespace."""
    return naming.endpoint_name(kubectl.namespace, manifest["metadata"]["name"])


# -- kill -9 around the update, the alarm firing while the operator is down ------------


def sagemaker_of(emulator: Emulator) -> Any:
    return boto3.client(
        "sagemaker",
        endpoint_url=emulator.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_model_endpoint_update_in_flight_at_a_kill_and_rolled_back_meanwhile_is_not_sent_again(
    kubectl: Kubectl, operator: Operator, emulator_process: Emulator, cloudwatch: Any, alarm: str
) -> None:
    """SIGKILL while UpdateEndpoint waits in the emulator (not yet handled, so not yet
    recorded by the pass); SageMaker then takes it and the alarm rolls it back before
    the operator is back. The restarted operator reports RolledBack and sends nothing."""
    emulator = emulator_process
    manifest = llmendpoint("model-based-endpoint")
    name = manifest["metadata"]["name"]
    manifest["spec"]["instance"]["count"] = 2
    manifest["spec"]["rollout"] = {
        "strategy": "Canary",
        "canaryPercent": 50,
        "waitSeconds": 600,
        "rollbackAlarms": [alarm],
    }
    kubectl.apply(to_yaml(manifest))
    created = wait_ready(kubectl, name, timeout=180, log=operator.log_tail)
    served = created["status"]["endpointConfigName"]
    endpoint = created["status"]["endpointName"]
    emulator.admin_client.set_delay(ROLLOUT_DELAY)
    before = last_seq(emulator)
    emulator.admin_client.faults(latency_seconds=3.0, operations=["UpdateEndpoint"])
    bad = patch(
        kubectl,
        name,
        {"instance": {"type": "ml.g5.4xlarge", "count": 2}, "rollout": manifest["spec"]["rollout"]},
    )
    wait_for(
        lambda: emulator.admin_client.calls().get("UpdateEndpoint", 0) >= 1 or None,
        timeout=60,
        what="UpdateEndpoint in flight",
        diagnose=operator.log_tail,
    )
    operator.kill()
    set_alarm(cloudwatch, alarm, "ALARM")
    sagemaker = sagemaker_of(emulator)

    def rolled_back() -> bool | None:
        found = sagemaker.describe_endpoint(EndpointName=endpoint)
        return (found["EndpointStatus"] == "InService" and bool(found.get("FailureReason"))) or None

    wait_for(rolled_back, timeout=60, what="SageMaker's rollback", diagnose=operator.log_tail)
    emulator.admin_client.clear_faults()
    operator.start()
    operator.wait_healthy()
    back = wait_rollout(kubectl, name, bad, {"RolledBack"}, operator.log_tail)
    assert rollout_of(back)["alarm"] == alarm
    assert condition(back, "Ready")["reason"] == "RolledBack"
    assert back["status"]["endpointConfigName"] == served
    set_alarm(cloudwatch, alarm, "OK")
    two_refreshes(emulator, operator)
    assert update_calls(emulator, "UpdateEndpoint", before) == 1
    still = get_llme(kubectl, name)
    assert rollout_of(still)["phase"] == "RolledBack"
    assert (still or {})["status"]["endpointConfigName"] == served
