"""The boto3 adapter and the observer against the SageMaker emulator (no Kubernetes).

The emulator is the session's in-process one at delay 0 (a transition completes at the
next request), so converging takes passes, not waiting; the observer runs on a fake
clock; what a test asserts is calls counted by the emulator and the order of events.
"""

from __future__ import annotations

import asyncio

import pytest

from llm_operator.core import actions
from llm_operator.core.observed import ObservedState
from llm_operator.shell.aws import (
    BACKGROUND,
    CREATION_RANK,
    INTERACTIVE,
    AwsError,
    Lane,
    Lanes,
    SageMaker,
)
from llm_operator.shell.execute import execute
from llm_operator.shell.observe import Look, Observer
from llm_operator.shell.reconciler import _unless_woken
from llm_operator.shell.secrets import Redactor
from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer
from tests.plugins.observing import converge_with_clock, render
from tests.plugins.operator_fixtures import REGION, SageMakerEmulator

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"


@pytest.fixture
def emulated_sagemaker(sagemaker: EmulatorServer) -> SageMakerEmulator:
    """The session's emulator, reset: delay 0, no faults, call counters at zero."""
    return SageMakerEmulator(sagemaker, AdminClient(sagemaker.url))


def model_action(name: str, uid: str, env: dict[str, str] | None = None) -> actions.CreateModel:
    return actions.CreateModel(
        name=name,
        spec={
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {"Image": "example/tgi:latest", "Environment": env or {}},
        },
        tags={"llmoperator.io/uid": uid},
    )


def test_create_is_idempotent_for_the_owner_and_refused_for_anyone_else(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    async def scenario() -> None:
        sm = SageMaker(workers=2)
        try:
            first = await execute(sm, REGION, model_action("m-1", "uid-a"))
            again = await execute(sm, REGION, model_action("m-1", "uid-a"))
            assert (first.note, again.note) == ("", "already existed")
            with pytest.raises(AwsError) as clash:
                await execute(sm, REGION, model_action("m-1", "uid-b"))
            assert clash.value.kind == "conflict" and not clash.value.retryable
            gone = await execute(sm, REGION, actions.DeleteModel(name="m-1"))
            missing = await execute(sm, REGION, actions.DeleteModel(name="m-1"))
            assert (gone.note, missing.note) == ("", "already gone")
        finally:
            sm.close()

    asyncio.run(scenario())
    assert emulated_sagemaker.admin.calls()["CreateModel"] == 3
    assert emulated_sagemaker.names()["models"] == []


def test_throttling_is_retried_by_botocore_standard_mode(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    emulated_sagemaker.admin.faults(throttle_rate=0.3, operations=["ListModels"], seed=7)

    async def scenario() -> int:
        sm = SageMaker(workers=1, max_attempts=8)
        try:
            for _ in range(8):
                await sm.list_all(REGION, "ListModels", "Models")
            return 8
        finally:
            sm.close()

    assert asyncio.run(scenario()) == 8
    assert emulated_sagemaker.admin.calls()["ListModels"] > 8  # some attempts were throttled


def test_secret_values_never_reach_error_messages(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    token = "hf_" + "Q" * 1100  # too long: SageMaker's error echoes the value back
    action = model_action("m-secret", "uid-a", {"HF_TOKEN": token})

    async def scenario() -> AwsError:
        sm = SageMaker(workers=1)
        try:
            with pytest.raises(AwsError) as failed:
                await execute(sm, REGION, action, Redactor([token]))
            return failed.value
        finally:
            sm.close()

    error = asyncio.run(scenario())
    assert error.kind == "invalid" and error.code == "ValidationException"
    assert token not in str(error) and "***" in str(error)


def test_steady_endpoints_are_observed_from_shared_lists_without_describe(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    wants = [render(f"llm-{i}", f"uid-{i}") for i in range(4)]

    async def scenario() -> tuple[dict[str, int], dict[str, int]]:
        sm = SageMaker(workers=8, calls_per_second=500, burst=100)
        clock = [0.0]
        observer = Observer(sm, max_age=1.0, describe_max_age=3600, clock=lambda: clock[0])
        try:
            for want in wants:
                clock[0] += 10  # every pass sees a fresh inventory
                plan = await converge_with_clock(sm, observer, want, clock)
                assert plan.phase == "InService"
            before = emulated_sagemaker.admin.calls()
            clock[0] += 10
            observed = await asyncio.gather(
                *(observer.observe(want, Look(ours=[])) for want in wants)
            )
            assert all(
                o.endpoint is not None and o.endpoint.status == "InService" for o in observed
            )
            return before, emulated_sagemaker.admin.calls()
        finally:
            sm.close()

    before, after = asyncio.run(scenario())
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    # One refresh of each List for all four endpoints; no Describe, no ListTags.
    assert {k: v for k, v in delta.items() if v} == {
        "ListEndpoints": 1,
        "ListInferenceComponents": 1,
        "ListModels": 1,
        "ListEndpointConfigs": 1,
    }


def test_rate_limit_lets_a_burst_through_then_holds_calls_back(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    async def scenario() -> tuple[float, float]:
        sm = SageMaker(workers=4, calls_per_second=0.01, burst=3)
        try:
            full = sm.bucket(REGION).available()
            await asyncio.gather(*(sm.list_all(REGION, "ListModels", "Models") for _ in range(3)))
            assert sm.bucket("eu-west-1") is not sm.bucket(REGION)  # per account and region
            return full, sm.bucket(REGION).available()
        finally:
            sm.close()

    before, after = asyncio.run(scenario())
    assert before == 3
    assert after < 1  # the three calls spent the burst: a fourth would wait
    assert emulated_sagemaker.admin.calls()["ListModels"] == 3


def calls_during(emulated_sagemaker: SageMakerEmulator, before: dict[str, int]) -> dict[str, int]:
    after = emulated_sagemaker.admin.calls()
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def test_settled_passes_accept_an_older_inventory_and_moving_ones_refresh_it(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    want = render("llm-0", "uid-0")

    async def scenario() -> tuple[dict[str, int], dict[str, int]]:
        sm = SageMaker(workers=4, calls_per_second=500, burst=100)
        clock = [0.0]
        observer = Observer(sm, max_age=2.0, describe_max_age=3600, clock=lambda: clock[0])
        try:
            await converge_with_clock(sm, observer, want, clock)
            await observer.observe(want)
            clock[0] += 5  # older than a poll interval, younger than a resync
            before = emulated_sagemaker.admin.calls()
            steady = await observer.observe(want, Look(max_age=30.0))
            assert steady.endpoint is not None and steady.endpoint.status == "InService"
            settled = calls_during(emulated_sagemaker, before)
            before = emulated_sagemaker.admin.calls()
            await observer.observe(want)
            return settled, calls_during(emulated_sagemaker, before)
        finally:
            sm.close()

    settled, moving = asyncio.run(scenario())
    assert settled == {}
    assert moving == {
        "ListEndpoints": 1,
        "ListInferenceComponents": 1,
        "ListModels": 1,
        "ListEndpointConfigs": 1,
    }


def test_old_models_and_configs_are_found_by_prefix_and_a_neighbours_are_not(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    want = render("llm-0", "uid-0")
    prefix = want.endpoint_name
    config_request = dict(want.endpoint_config.create_request)

    async def scenario() -> tuple[set[str], set[str]]:
        sm = SageMaker(workers=4, calls_per_second=500, burst=100)
        clock = [0.0]
        observer = Observer(sm, max_age=1.0, describe_max_age=3600, clock=lambda: clock[0])
        try:
            await converge_with_clock(sm, observer, want, clock)
            for name, uid in (
                (f"{prefix}-m0000aaaa", "uid-0"),  # an older model of ours
                (f"{prefix}-m0000bbbb", "uid-9"),  # our prefix, someone else's uid
                (f"{prefix}x-m0000cccc", "uid-0"),  # a longer prefix: not ours by name
            ):
                await execute(sm, REGION, model_action(name, uid))
            await execute(
                sm,
                REGION,
                actions.CreateEndpointConfig(
                    name=f"{prefix}-c0000dddd",
                    spec=config_request,
                    tags={"llmoperator.io/uid": "uid-0"},
                ),
            )
            clock[0] += 10
            observed = await observer.observe(want)
            return set(observed.models), set(observed.endpoint_configs)
        finally:
            sm.close()

    models, configs = asyncio.run(scenario())
    assert models == {want.model.name, f"{prefix}-m0000aaaa"}
    assert configs == {want.endpoint_config.name, f"{prefix}-c0000dddd"}


def test_cached_describes_of_resources_created_together_expire_spread_out(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    wants = [render(f"llm-{i}", f"uid-{i}") for i in range(8)]

    async def scenario() -> tuple[int, int]:
        sm = SageMaker(workers=8, calls_per_second=500, burst=100)
        clock = [0.0]
        observer = Observer(sm, max_age=1.0, describe_max_age=100, clock=lambda: clock[0])

        async def describes_at(when: float) -> int:
            clock[0] = when
            before = emulated_sagemaker.admin.calls()
            await asyncio.gather(*(observer.observe(w, Look(max_age=1e9)) for w in wants))
            return sum(
                v for k, v in calls_during(emulated_sagemaker, before).items() if "Describe" in k
            )

        try:
            for want in wants:
                await converge_with_clock(sm, observer, want, clock)
            clock[0] += 10
            # Every endpoint and component described at the same moment...
            await asyncio.gather(*(observer.observe(w, Look(full=True)) for w in wants))
            start = clock[0]
            # ...expires at a different one: some 75 seconds later, all within 150, each on
            # its own tick of the 100-second period...
            early, late = await describes_at(start + 75), await describes_at(start + 150)
            # ...and from then on each costs one Describe per period, not more.
            later = [await describes_at(start + 150 + 10 * step) for step in range(1, 41)]
            return early, late, sum(later)
        finally:
            sm.close()

    early, late, over_400_seconds = asyncio.run(scenario())
    assert 0 < early < 16
    assert early + late == 16
    assert 16 * 3 <= over_400_seconds <= 16 * 4


def test_an_interactive_call_overtakes_a_queue_of_background_calls(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    async def scenario() -> list[str]:
        sm = SageMaker(workers=2, calls_per_second=20, burst=1)
        finished: list[str] = []
        moving = asyncio.Event()

        async def one(label: str, lane: Lane) -> None:
            await sm.call(REGION, "ListModels", {}, lane=lane)
            finished.append(label)
            moving.set()

        try:
            background = [
                asyncio.create_task(one(f"background-{i}", BACKGROUND)) for i in range(20)
            ]
            await moving.wait()  # the background queue is moving
            await one("interactive", INTERACTIVE)
            await asyncio.gather(*background)
            return finished
        finally:
            sm.close()

    order = asyncio.run(scenario())
    assert len(order) == 21
    assert order.index("interactive") <= 3  # not behind the ~19 queued before it


def test_a_queued_background_observe_is_given_up_when_its_resource_is_woken(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    want = render("llm-0", "uid-0")

    async def scenario() -> tuple[ObservedState | None, dict[str, int]]:
        sm = SageMaker(workers=2, calls_per_second=500, burst=100)
        clock = [0.0]
        observer = Observer(sm, max_age=1.0, describe_max_age=0, clock=lambda: clock[0])
        try:
            await converge_with_clock(sm, observer, want, clock)
            await observer.inventory(REGION, max_age=0)
            bucket = sm.bucket(REGION)
            bucket.rate, bucket.capacity = 2.0, 1.0  # a busy account from now on
            moving = asyncio.Event()

            async def routine() -> None:
                await sm.call(REGION, "ListModels", {}, lane=BACKGROUND)
                moving.set()

            backlog = [asyncio.create_task(routine()) for _ in range(8)]
            await moving.wait()  # the backlog is being worked through
            before = emulated_sagemaker.admin.calls()
            wake = asyncio.Event()
            checking = asyncio.create_task(
                _unless_woken(observer.observe(want, Look(max_age=1e9, lane=BACKGROUND)), wake)
            )
            await asyncio.sleep(0)  # the re-check starts and queues behind the backlog
            assert not checking.done()
            wake.set()  # a spec change
            given_up = await checking
            await sm.call(REGION, "ListModels", {})  # the lanes still admit calls
            await asyncio.gather(*backlog)
            return given_up, calls_during(emulated_sagemaker, before)
        finally:
            sm.close()

    given_up, calls = asyncio.run(scenario())
    assert given_up is None
    assert "DescribeEndpoint" not in calls  # the queued Describe was never sent
    assert calls["ListModels"] == 8  # the rest of the backlog, and the interactive call


def test_creations_are_finished_in_the_order_they_were_started() -> None:
    """While workers are busy, a waiting call is let in by what it is for: a call that
    no creation ranks (a spec change, a settled LLMEndpoint's) first, then those of
    LLMEndpoints being created, the one seen first before later ones however late its
    call came (what was started is finished before more is started), the background last."""

    async def scenario() -> list[str]:
        lanes = Lanes(slots=1, background_slots=1)
        await lanes.acquire(INTERACTIVE)  # the one worker is busy
        admitted: list[str] = []

        async def call(name: str, lane: Lane, rank: int | None) -> None:
            CREATION_RANK.set(rank)
            await lanes.acquire(lane)
            admitted.append(name)
            lanes.release(lane)

        waiting = []
        for name, lane, rank in (
            ("background re-check", BACKGROUND, None),
            ("new #7 creates its model", INTERACTIVE, 7),
            ("new #2 creates its component", INTERACTIVE, 2),
            ("spec change", INTERACTIVE, None),
        ):
            waiting.append(asyncio.ensure_future(call(name, lane, rank)))
            await asyncio.sleep(0)  # queued in this order
        lanes.release(INTERACTIVE)
        await asyncio.gather(*waiting)
        return admitted

    assert asyncio.run(scenario()) == [
        "spec change",
        "new #2 creates its component",
        "new #7 creates its model",
        "background re-check",
    ]
