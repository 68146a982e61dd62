"""Guarded rollouts of an autoscaled inference component, in-process: the real
Reconciler, boto3 adapter and observer against the emulator with moto beside it
(Application Auto Scaling, and CloudWatch where the rollback alarm lives).

The autoscaler moves the copy count behind the operator's back (here: the
UpdateInferenceComponentRuntimeConfig that Application Auto Scaling sends). What
was rolled out is the component's specification, never its count: a rolled-back
specification stays refused at any count, and a rollout that served ends
Succeeded whatever count the autoscaler holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from llm_operator.core import naming
from llm_operator.shell.reconciler import PassResult, Reconciler
from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer
from tests.plugins.alarms import latency_alarm
from tests.plugins.emulator_fixtures import MOTO_DELAY, boto3_client
from tests.plugins.reconciling import (
    SPEC,
    RecordingCluster,
    aws_environment,
    body,
    reconciler,
    until,
)

BASE = naming.base_component_name("team", "chat")


@pytest.fixture
def alarm(autoscaling_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> str:
    moto = autoscaling_emulator.moto_url
    assert moto is not None
    aws_environment(
        monkeypatch,
        SAGEMAKER=autoscaling_emulator.url,
        APPLICATION_AUTO_SCALING=moto,
        CLOUDWATCH=moto,
    )
    return latency_alarm(boto3_client(moto, "cloudwatch"))


def guarded_spec(alarm: str, variant: str | None = None) -> dict[str, Any]:
    """SPEC (2 copies) autoscaled within 2..3 copies, rolling out under `alarm`."""
    model = dict(SPEC["model"])
    if variant is not None:
        model["env"] = {"MODEL_VARIANT": variant}
    return {
        **SPEC,
        "model": model,
        "autoscaling": {"minReplicas": 2, "maxReplicas": 3, "target": 4},
        "rollout": {
            "strategy": "Rolling",
            "maxBatchPercent": 50,
            "waitSeconds": 600,
            "rollbackAlarms": [alarm],
        },
    }


def set_alarm(emulator: EmulatorServer, name: str, state: str) -> None:
    assert emulator.moto_url is not None
    boto3_client(emulator.moto_url, "cloudwatch").set_alarm_state(
        AlarmName=name, StateValue=state, StateReason="test"
    )


def rollout(generation: int, *phases: str) -> Any:
    def done(_: PassResult, status: Mapping[str, Any]) -> bool:
        found = status.get("rollout") or {}
        return found.get("generation") == generation and found.get("phase") in phases

    return done


def settled(result: PassResult, status: Mapping[str, Any]) -> bool:
    ready = any(
        c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or []
    )
    return ready and result.outcome in ("settled", "degraded")


async def created(
    r: Reconciler, cluster: RecordingCluster, emulator: EmulatorServer, spec: Any
) -> None:
    """Creates the LLMEndpoint ten times faster than the rollouts run (no window needed)."""
    admin = AdminClient(emulator.url)
    admin.set_delay(MOTO_DELAY / 10)
    try:
        await until(r, cluster, settled, spec=spec, passes=200)
    finally:
        admin.set_delay(MOTO_DELAY)


def updates(emulator: EmulatorServer) -> int:
    log = AdminClient(emulator.url).call_log(operation="UpdateInferenceComponent")
    return sum(1 for call in log if call["error"] is None)


async def autoscaler_scales_out(
    r: Reconciler, cluster: RecordingCluster, emulator: EmulatorServer, spec: Any, generation: int
) -> None:
    """Traffic rises: the emulator's autoscaler (Application Auto Scaling on moto) scales
    the component out to 3 copies; passes until the component holds them."""
    AdminClient(emulator.url).set_load(inference_component=BASE, concurrent_requests=100)
    sagemaker = boto3_client(emulator.url)

    def scaled(_: PassResult, __: Mapping[str, Any]) -> bool:
        found = sagemaker.describe_inference_component(InferenceComponentName=BASE)
        runtime = found.get("RuntimeConfig") or {}
        return bool(
            found["InferenceComponentStatus"] == "InService"
            and runtime.get("DesiredCopyCount") == runtime.get("CurrentCopyCount") == 3
        )

    await until(r, cluster, scaled, spec=spec, passes=300, meta={"generation": generation})


def test_a_rolled_back_specification_is_not_sent_again_when_the_autoscaler_moves_copies(
    autoscaling_emulator: EmulatorServer, alarm: str
) -> None:
    async def scenario() -> RecordingCluster:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            await created(r, cluster, autoscaling_emulator, guarded_spec(alarm))
            set_alarm(autoscaling_emulator, alarm, "ALARM")
            bad = guarded_spec(alarm, "bad")
            await until(
                r, cluster, rollout(2, "RolledBack"), spec=bad, passes=300, meta={"generation": 2}
            )
            assert updates(autoscaling_emulator) == 1, "\n".join(map(str, cluster.events))
            set_alarm(autoscaling_emulator, alarm, "OK")
            await autoscaler_scales_out(r, cluster, autoscaling_emulator, bad, 2)
        finally:
            r.close()
        # The operator keeps re-checking; a new observer describes everything afresh (as
        # the periodic full Describe, or a restart, does).
        r = reconciler(cluster)
        try:
            for _ in range(10):
                await r.reconcile(body(cluster, bad, generation=2), deleting=False)
                await asyncio.sleep(0.05)
        finally:
            r.close()
        return cluster

    cluster = asyncio.run(scenario())
    assert updates(autoscaling_emulator) == 1
    assert cluster.status["rollout"]["phase"] == "RolledBack"
    assert cluster.status["copies"] == {"desired": 3, "current": 3}
    assert cluster.reasons().count("RolledBack") == 1


def test_a_rollout_of_an_autoscaled_component_ends_succeeded(
    autoscaling_emulator: EmulatorServer, alarm: str
) -> None:
    async def scenario() -> RecordingCluster:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            await created(r, cluster, autoscaling_emulator, guarded_spec(alarm))
            await autoscaler_scales_out(r, cluster, autoscaling_emulator, guarded_spec(alarm), 1)
            good = guarded_spec(alarm, "good")
            await until(
                r, cluster, rollout(2, "Succeeded"), spec=good, passes=300, meta={"generation": 2}
            )
        finally:
            r.close()
        return cluster

    cluster = asyncio.run(scenario())
    assert updates(autoscaling_emulator) == 1
    assert cluster.status["rollout"]["phase"] == "Succeeded"
    assert "RolloutSucceeded" in cluster.reasons()


# -- a spec applied while a rollout runs (supersede) ------------------------------------

MODEL_SPEC: dict[str, Any] = {
    **{k: v for k, v in SPEC.items() if k != "resources"},
    "endpointType": "Model",
    "instance": {"type": "ml.g5.2xlarge", "count": 2},
}
# 1800 s of bake at MOTO_DELAY: 1.2 s per step, long enough to apply a spec meanwhile;
# the generation applied then bakes 600 s (0.4 s).
SLOW_BAKE, QUICK_BAKE = 1800, 600


def reason_of(status: Mapping[str, Any], kind: str) -> tuple[str, str]:
    found = next(c for c in status.get("conditions") or [] if c["type"] == kind)
    return found["status"], found["reason"]


def calls(emulator: EmulatorServer, operation: str) -> int:
    log = AdminClient(emulator.url).call_log(operation=operation)
    return sum(1 for call in log if call["error"] is None)


async def superseded(
    cluster: RecordingCluster,
    emulator: EmulatorServer,
    specs: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
    operation: str,
    rolling: set[str],
) -> tuple[str, list[dict[str, Any]]]:
    """Generation 2 rolls out; generation 3 is applied meanwhile. Generation 2's target,
    and the status of every pass from then until generation 3 starts."""
    first, second, third = specs
    seen: list[dict[str, Any]] = []
    r = reconciler(cluster)
    try:
        await created(r, cluster, emulator, first)
        await until(
            r, cluster, rollout(2, *rolling), spec=second, passes=300, meta={"generation": 2}
        )
        assert calls(emulator, operation) == 1
        target2 = str(cluster.status["rollout"]["target"])

        def record(_: PassResult, status: Mapping[str, Any]) -> bool:
            seen.append(dict(status))
            return (status.get("rollout") or {}).get("generation") == 3

        await until(r, cluster, record, spec=third, passes=300, meta={"generation": 3})
        await until(
            r, cluster, rollout(3, "Succeeded"), spec=third, passes=300, meta={"generation": 3}
        )
    finally:
        r.close()
    return target2, seen


def check_superseded(
    cluster: RecordingCluster,
    emulator: EmulatorServer,
    seen: list[dict[str, Any]],
    operation: str,
    target2: str,
) -> None:
    while_second = seen[:-1]
    assert while_second, "generation 3 started at once, while generation 2 still rolled"
    for status in while_second:
        rolled = status["rollout"]
        assert (rolled["generation"], rolled["target"]) == (2, target2), rolled
        pending = rolled.get("pending") or {}
        assert pending.get("generation") == 3, rolled
        assert pending.get("target") not in (None, target2)
        assert reason_of(status, "Ready") == ("True", "RollingOut")
        progressing = next(c for c in status["conditions"] if c["type"] == "Progressing")
        assert "generation 3 waits" in progressing["message"]
    assert cluster.status["rollout"]["pending"] is None
    assert calls(emulator, operation) == 2
    started = [m for _, r, m in cluster.events if r == "RolloutStarted"]
    assert [m.split(":")[0] for m in started] == ["Generation 2", "Generation 3"]
    # No step of generation 3 is announced before SageMaker rolls it.
    first3 = next(i for i, (_, r, m) in enumerate(cluster.events) if "Generation 3" in m)
    assert cluster.events[first3][1] == "RolloutStarted", cluster.events[first3]


def test_a_spec_applied_during_a_model_endpoint_rollout_waits_visibly(
    autoscaling_emulator: EmulatorServer, alarm: str
) -> None:
    guard = {"strategy": "Canary", "canaryPercent": 50, "waitSeconds": SLOW_BAKE}
    first = {**MODEL_SPEC, "rollout": guard}
    second = {**first, "instance": {"type": "ml.g5.4xlarge", "count": 2}}
    third = {
        **first,
        "instance": {"type": "ml.g5.8xlarge", "count": 2},
        "rollout": {**guard, "waitSeconds": QUICK_BAKE},
    }
    cluster = RecordingCluster()
    target2, seen = asyncio.run(
        superseded(
            cluster, autoscaling_emulator, (first, second, third), "UpdateEndpoint", {"Baking"}
        )
    )
    check_superseded(cluster, autoscaling_emulator, seen, "UpdateEndpoint", target2)


def test_a_spec_applied_during_a_component_rollout_waits_visibly(
    autoscaling_emulator: EmulatorServer, alarm: str
) -> None:
    guard = {"strategy": "Rolling", "maxBatchPercent": 50, "waitSeconds": SLOW_BAKE}
    first = {**SPEC, "rollout": guard}
    second = {**first, "model": {**SPEC["model"], "env": {"MODEL_VARIANT": "two"}}}
    third = {
        **first,
        "model": {**SPEC["model"], "env": {"MODEL_VARIANT": "three"}},
        "rollout": {**guard, "waitSeconds": QUICK_BAKE},
    }
    cluster = RecordingCluster()
    target2, seen = asyncio.run(
        superseded(
            cluster,
            autoscaling_emulator,
            (first, second, third),
            "UpdateInferenceComponent",
            {"InProgress"},
        )
    )
    check_superseded(cluster, autoscaling_emulator, seen, "UpdateInferenceComponent", target2)
