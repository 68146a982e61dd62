"""An operator killed at each step of a guarded rollout, in-process: the real
Reconciler, boto3 adapter and observer against the emulator with moto beside it
(where the rollback alarm lives), through a recording proxy.

A kill is the pass's task cancelled where it stands and a new Reconciler (new
adapter, observer and caches) built on what status holds, as a restarted
operator finds it. The windows are held open for real: the update call waits
unsent in the proxy (before it), waits in the emulator before it is handled (in
flight: SageMaker acts on it after the operator is gone), or the status write
after it never returns (after it); or the operator goes while SageMaker bakes,
and the alarm rolls the update back before it returns (after the rollback) or
after (during the bake). Whatever the step: exactly one update per generation,
the final status says what SageMaker serves, and deleting leaves nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from llm_operator.shell.reconciler import PassResult
from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer
from tests.plugins.alarms import latency_alarm
from tests.plugins.emulator_fixtures import ACCOUNT, MOTO_DELAY, REGION, boto3_client
from tests.plugins.reconciling import (
    SPEC,
    RecordingCluster,
    aws_environment,
    body,
    reconciler,
    until,
)
from tests.plugins.recording_proxy import RecordingProxy

MODEL_SPEC: dict[str, Any] = {
    **{k: v for k, v in SPEC.items() if k != "resources"},
    "endpointType": "Model",
    "instance": {"type": "ml.g5.2xlarge", "count": 2},
}
STEPS = ["before-the-call", "in-flight", "after-the-call", "during-the-bake", "after-the-rollback"]
# The alarm fires in these: the update must end RolledBack; in the others Succeeded.
ROLLED_BACK = {"in-flight", "during-the-bake", "after-the-rollback"}
# Bake seconds: at the emulator's 0.2 s per 300 AWS seconds, 600 s last 0.4 s and
# 3600 s 2.4 s; once the bake has started, the tests that kill the operator in it
# stretch the delay tenfold so that the alarm flips inside it even on a loaded machine.
SHORT_BAKE, LONG_BAKE = 600, 3600
# Creating and deleting need no such windows: they run ten times faster.
QUICK_DELAY = MOTO_DELAY / 10


class CrashableCluster(RecordingCluster):
    """A status write that never returns once `hang` is set (the operator dies in it)."""

    def __init__(self) -> None:
        super().__init__()
        self.hang = False
        self.hanging = False
        self.final: dict[str, Any] = {}  # status before deleting
        self.updates = 0  # updates SageMaker took before deleting

    async def patch_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> bool:
        if self.hang and "phase" in status:  # the pass's final write, not one ahead of a call
            self.hanging = True
            await asyncio.Event().wait()
        return await super().patch_status(namespace, name, status)


@pytest.fixture
def proxy(autoscaling_emulator: EmulatorServer) -> Iterator[RecordingProxy]:
    recording = RecordingProxy(autoscaling_emulator.url)
    yield recording
    recording.close()


@pytest.fixture
def alarm(
    autoscaling_emulator: EmulatorServer, proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> str:
    moto = autoscaling_emulator.moto_url
    assert moto is not None
    aws_environment(
        monkeypatch, SAGEMAKER=proxy.url, APPLICATION_AUTO_SCALING=moto, CLOUDWATCH=moto
    )
    return latency_alarm(boto3_client(moto, "cloudwatch"))


def specs(kind: str, alarm: str, bake: int) -> tuple[dict[str, Any], dict[str, Any]]:
    if kind == "Model":
        guard = {"strategy": "Canary", "canaryPercent": 50, "rollbackAlarms": [alarm]}
        first = {**MODEL_SPEC, "rollout": {**guard, "waitSeconds": bake}}
        return first, {**first, "instance": {"type": "ml.g5.4xlarge", "count": 2}}
    guard = {"strategy": "Rolling", "maxBatchPercent": 50, "rollbackAlarms": [alarm]}
    first = {**SPEC, "rollout": {**guard, "waitSeconds": bake}}
    return first, {**first, "model": {**SPEC["model"], "env": {"MODEL_VARIANT": "two"}}}


def condition(status: Mapping[str, Any], kind: str) -> tuple[str, str]:
    found = next(c for c in status.get("conditions") or [] if c["type"] == kind)
    return found["status"], found["reason"]


def settled(result: PassResult, status: Mapping[str, Any]) -> bool:
    return condition(status, "Ready")[0] == "True" and result.outcome == "settled"


def rollout(*phases: str) -> Any:
    def done(_: PassResult, status: Mapping[str, Any]) -> bool:
        found = status.get("rollout") or {}
        return found.get("generation") == 2 and found.get("phase") in phases

    return done


async def eventually(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def rolled_back(kind: str, sagemaker: Any, endpoint: str, component: str) -> bool:
    """SageMaker is done rolling the update back (the operator is not there to see it)."""
    if kind == "Model":
        found = sagemaker.describe_endpoint(EndpointName=endpoint)
        return bool(found["EndpointStatus"] == "InService" and found.get("FailureReason"))
    found = sagemaker.describe_inference_component(InferenceComponentName=component)
    return bool(found["InferenceComponentStatus"] == "InService" and found.get("FailureReason"))


@pytest.mark.parametrize("kind", ["Model", "InferenceComponent"])
@pytest.mark.parametrize("step", STEPS)
def test_an_operator_killed_at_each_step_of_a_rollout(
    autoscaling_emulator: EmulatorServer,
    proxy: RecordingProxy,
    alarm: str,
    kind: str,
    step: str,
) -> None:
    admin = AdminClient(autoscaling_emulator.url)
    sagemaker = boto3_client(autoscaling_emulator.url)
    moto = autoscaling_emulator.moto_url
    assert moto is not None
    cloudwatch = boto3_client(moto, "cloudwatch")
    operation = "UpdateEndpoint" if kind == "Model" else "UpdateInferenceComponent"
    bake = LONG_BAKE if step in ("during-the-bake", "after-the-rollback") else SHORT_BAKE
    first, second = specs(kind, alarm, bake)
    gen2 = {"generation": 2}

    def updates() -> int:
        return sum(1 for c in admin.call_log(operation=operation) if c["error"] is None)

    def fire() -> None:
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="test")

    async def scenario() -> CrashableCluster:
        cluster = CrashableCluster()
        r = reconciler(cluster)
        admin.set_delay(QUICK_DELAY)
        try:
            await until(r, cluster, settled, spec=first, passes=300)
        finally:
            r.close()
        admin.set_delay(MOTO_DELAY)
        endpoint = cluster.status["endpointName"]
        component = f"{endpoint}-base"

        # The operator runs the new generation, and is killed at `step`.
        r = reconciler(cluster)
        if step == "before-the-call":
            proxy.hold(operation)
        elif step == "in-flight":
            admin.faults(latency_seconds=1.0, operations=[operation])
        elif step == "after-the-call":
            cluster.hang = True
        never = rollout("never")
        running = asyncio.ensure_future(
            until(r, cluster, never, spec=second, passes=10_000, meta=gen2)
        )
        if step == "before-the-call":
            await eventually(lambda: proxy.held() == 1, "the update held in the proxy")
        elif step == "in-flight":
            await eventually(lambda: admin.calls().get(operation) == 1, "the update in flight")
        elif step == "after-the-call":
            await eventually(lambda: cluster.hanging, "the status write after the update")
        else:
            await eventually(
                lambda: (
                    (cluster.status.get("rollout") or {}).get("phase") in ("Baking", "InProgress")
                    and (cluster.status.get("rollout") or {}).get("step") not in (None, "Starting")
                ),
                "the rollout to run",
            )
            # The rest of the bake is stretched tenfold, so a loaded machine cannot
            # let it end before the alarm fires: each remaining check waits 2.4 s.
            admin.set_delay(MOTO_DELAY * 10)
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        r.close()
        proxy.drop_held()
        cluster.hang = False

        # While the operator is down.
        if step in ("in-flight", "after-the-rollback"):
            fire()
            await eventually(
                lambda: rolled_back(kind, sagemaker, endpoint, component), "the rollback", 60
            )
        admin.clear_faults()

        # Restarted.
        r = reconciler(cluster)
        try:
            if step == "during-the-bake":
                await until(r, cluster, lambda *_: True, spec=second, meta=gen2)
                fire()
            admin.set_delay(MOTO_DELAY)
            final = "RolledBack" if step in ROLLED_BACK else "Succeeded"
            await until(r, cluster, rollout(final), spec=second, passes=600, meta=gen2)
            for _ in range(5):  # it keeps re-checking, and sends nothing more
                await until(r, cluster, lambda *_: True, spec=second, meta=gen2)
            cluster.final, cluster.updates = dict(cluster.status), updates()
            admin.set_delay(QUICK_DELAY)
            await until(
                r, cluster, lambda res, _: res.deleted, deleting=True, spec=second, meta=gen2
            )
        finally:
            r.close()
        return cluster

    cluster = asyncio.run(scenario())
    status = cluster.final
    assert cluster.updates == 1, cluster.events
    if step in ROLLED_BACK:
        assert status["rollout"]["alarm"] == alarm
        assert condition(status, "Ready") == ("True", "RolledBack")
        assert condition(status, "Degraded") == ("True", "RolledBack")
        assert cluster.reasons().count("RolledBack") == 1
    else:
        assert condition(status, "Ready") == ("True", "InService")
        assert "RolloutSucceeded" in cluster.reasons()
    assert not any(admin.resource_names(ACCOUNT, REGION).values())


def test_an_update_is_remembered_when_a_later_call_of_its_pass_fails(
    autoscaling_emulator: EmulatorServer, proxy: RecordingProxy, alarm: str
) -> None:
    """Generation 2 changes the model and drops an adapter: one pass sends
    UpdateInferenceComponent, then DeleteInferenceComponent for the adapter, which
    fails. The alarm then rolls the update back: it is not sent again."""
    moto = autoscaling_emulator.moto_url
    assert moto is not None
    admin = AdminClient(autoscaling_emulator.url)
    first, second = specs("InferenceComponent", alarm, LONG_BAKE)
    first = {**first, "adapters": [{"name": "bot", "artifactUri": "s3://bucket/bot.tar.gz"}]}
    gen2 = {"generation": 2}

    def updates() -> int:
        log = admin.call_log(operation="UpdateInferenceComponent")
        return sum(1 for c in log if c["error"] is None)

    async def scenario() -> RecordingCluster:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            admin.set_delay(QUICK_DELAY)
            await until(r, cluster, settled, spec=first, passes=300)
            admin.set_delay(MOTO_DELAY)
            admin.faults(internal_error_rate=1.0, operations=["DeleteInferenceComponent"])
            result = await r.reconcile(body(cluster, second, **gen2), deleting=False)
            admin.clear_faults()
            assert result.outcome == "error"
            assert "DeleteInferenceComponentFailed" in cluster.reasons()
            assert updates() == 1
            boto3_client(moto, "cloudwatch").set_alarm_state(
                AlarmName=alarm, StateValue="ALARM", StateReason="test"
            )
            await until(r, cluster, rollout("RolledBack"), spec=second, passes=600, meta=gen2)
            for _ in range(5):
                await until(r, cluster, lambda *_: True, spec=second, meta=gen2)
        finally:
            r.close()
        return cluster

    cluster = asyncio.run(scenario())
    assert updates() == 1, cluster.events
    assert condition(cluster.status, "Degraded") == ("True", "RolledBack")


def test_tags_changed_with_a_rollout_are_recorded_only_once_every_call_passed(
    autoscaling_emulator: EmulatorServer, proxy: RecordingProxy, alarm: str
) -> None:
    """Generation 2 changes the model and a tag: one pass sends UpdateInferenceComponent
    (its memory written to status before it), then AddTags, which fails as a crash
    between the calls would stop them. Status still records the old tags, so the next
    passes re-tag; once done, every resource carries the new value."""
    admin = AdminClient(autoscaling_emulator.url)
    first, second = specs("InferenceComponent", alarm, SHORT_BAKE)
    first = {**first, "aws": {**first["aws"], "tags": {"team": "a"}}}
    second = {**second, "aws": {**second["aws"], "tags": {"team": "b"}}}
    gen2 = {"generation": 2}

    def recorded(status: Mapping[str, Any]) -> dict[str, str]:
        return {t["key"]: t["value"] for t in status["planMemory"]["tags"] or []}

    async def scenario() -> RecordingCluster:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        try:
            admin.set_delay(QUICK_DELAY)
            await until(r, cluster, settled, spec=first, passes=300)
            assert recorded(cluster.status) == {"team": "a"}
            admin.faults(internal_error_rate=1.0, operations=["AddTags"])
            result = await r.reconcile(body(cluster, second, **gen2), deleting=False)
            admin.clear_faults()
            assert result.outcome == "error"
            assert "AddTagsFailed" in cluster.reasons()
            assert cluster.status["planMemory"]["updateIssuedAt"] is not None
            assert recorded(cluster.status) == {"team": "a"}
            await until(r, cluster, rollout("Succeeded"), spec=second, passes=600, meta=gen2)
            await until(r, cluster, settled, spec=second, passes=300, meta=gen2)
        finally:
            r.close()
        return cluster

    cluster = asyncio.run(scenario())
    assert recorded(cluster.status) == {"team": "b"}
    sm = boto3_client(autoscaling_emulator.url)
    arns = [e["EndpointArn"] for e in sm.list_endpoints()["Endpoints"]]
    arns += [
        c["InferenceComponentArn"] for c in sm.list_inference_components()["InferenceComponents"]
    ]
    assert arns
    for arn in arns:
        tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=arn)["Tags"]}
        assert tags["team"] == "b", arn
