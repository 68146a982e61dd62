"""Observing spec.autoscaling's resources, in-process against the emulator with moto
beside it, the observer on a fake clock.

The region's scalable targets and policies are one shared, paged inventory, accepted as
old as a cached Describe (only someone acting changes them); a spec change asks for the
LLMEndpoint's own target directly instead of the region's pages, so it never waits
behind them. Every Application Auto Scaling call goes through a recording proxy.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest

from llm_operator.shell.aws import SageMaker
from llm_operator.shell.observe import Look, Observer
from sagemaker_emulator.server import EmulatorServer
from tests.plugins.emulator_fixtures import boto3_client
from tests.plugins.observing import converge_with_clock, render
from tests.plugins.reconciling import aws_environment
from tests.plugins.recording_proxy import RecordingProxy

# The example's two copies are the floor: with no load the emulator's autoscaler leaves
# them be, so the count (and the last scaling activity it explains) does not change.
AUTOSCALING = {"minReplicas": 2, "maxReplicas": 2, "target": 4}
OTHERS = 120  # other targets in the region: three pages of DescribeScalableTargets
DESCRIBE_MAX_AGE = 100.0
DIMENSION = "sagemaker:inference-component:DesiredCopyCount"


@pytest.fixture
def proxy(
    autoscaling_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RecordingProxy]:
    """The standard AWS environment; Application Auto Scaling through the proxy."""
    moto = autoscaling_emulator.moto_url
    assert moto is not None
    recording = RecordingProxy(moto)
    aws_environment(
        monkeypatch,
        SAGEMAKER=autoscaling_emulator.url,
        APPLICATION_AUTO_SCALING=recording.url,
        CLOUDWATCH=moto,
    )
    yield recording
    recording.close()


def test_a_spec_change_asks_for_its_own_target_not_the_regions_pages(
    proxy: RecordingProxy, autoscaling_emulator: EmulatorServer
) -> None:
    assert autoscaling_emulator.moto_url is not None
    aas = boto3_client(autoscaling_emulator.moto_url, "application-autoscaling")
    want = render("chat", "uid-chat", autoscaling=AUTOSCALING)
    changed = render("chat", "uid-chat", autoscaling={**AUTOSCALING, "target": 5})
    neighbour = render("other", "uid-other", autoscaling=AUTOSCALING)

    def calls(since: int) -> Counter[str]:
        return Counter(c.operation for c in proxy.calls(since))

    async def scenario() -> tuple[Counter[str], Counter[str], Counter[str]]:
        sm = SageMaker(workers=4, calls_per_second=500, burst=100)
        clock = [0.0]
        observer = Observer(
            sm, max_age=1.0, describe_max_age=DESCRIBE_MAX_AGE, clock=lambda: clock[0]
        )
        try:
            await converge_with_clock(sm, observer, want, clock)
            for i in range(OTHERS):
                aas.register_scalable_target(
                    ServiceNamespace="sagemaker",
                    ResourceId=f"inference-component/someone-else-{i}",
                    ScalableDimension=DIMENSION,
                    MinCapacity=1,
                    MaxCapacity=2,
                )
            clock[0] += 2 * DESCRIBE_MAX_AGE  # the region's inventory is due

            # A spec change: its own target and policies, directly.
            since = proxy.mark()
            seen = await observer.observe(changed, Look(full=True, max_age=1.0))
            assert seen.scaling.target is not None
            assert seen.scaling.target.owner_uid == "uid-chat"
            assert seen.scaling.policies, "the target tracking policy is observed"
            on_change = calls(since)

            # A settled pass refreshes the region's inventory, page by page...
            since = proxy.mark()
            await observer.observe(want)
            on_resync = calls(since)
            # ...which every other LLMEndpoint of the region then shares.
            since = proxy.mark()
            await observer.observe(neighbour)
            await observer.observe(want)
            shared = calls(since)
            return on_change, on_resync, shared
        finally:
            sm.close()

    on_change, on_resync, shared = asyncio.run(scenario())
    assert on_change == Counter({"DescribeScalableTargets": 1, "DescribeScalingPolicies": 1})
    assert on_resync["DescribeScalableTargets"] >= 3  # 121 targets, 50 a page
    assert +shared == Counter()


def test_bounds_changed_by_hand_show_within_one_resync_for_one_page(
    proxy: RecordingProxy, autoscaling_emulator: EmulatorServer
) -> None:
    """The region's targets are listed again each resync (their bounds are what the
    autoscaler obeys); its policies and alarms only once per cached Describe's age."""
    assert autoscaling_emulator.moto_url is not None
    aas = boto3_client(autoscaling_emulator.moto_url, "application-autoscaling")
    want = render("chat", "uid-chat", autoscaling=AUTOSCALING)
    resync = 10.0

    async def scenario() -> tuple[tuple[int, int], Counter[str], Counter[str]]:
        sm = SageMaker(workers=4, calls_per_second=500, burst=100)
        clock = [0.0]
        observer = Observer(
            sm,
            max_age=1.0,
            describe_max_age=DESCRIBE_MAX_AGE,
            targets_max_age=resync,
            clock=lambda: clock[0],
        )
        try:
            await converge_with_clock(sm, observer, want, clock)
            # Start from a full listing: the last converging pass may have changed a
            # policy after the listing, and that alone is asked for directly once.
            clock[0] += DESCRIBE_MAX_AGE + 1
            seen = await observer.observe(want, Look(max_age=resync))
            assert seen.scaling.target is not None
            resource_id = seen.scaling.target.resource_id
            aas.register_scalable_target(
                ServiceNamespace="sagemaker",
                ResourceId=resource_id,
                ScalableDimension=DIMENSION,
                MinCapacity=2,
                MaxCapacity=10,
            )
            clock[0] += resync + 0.1  # one resync later, far from DESCRIBE_MAX_AGE

            since = proxy.mark()
            seen = await observer.observe(want, Look(max_age=resync))
            assert seen.scaling.target is not None
            bounds = (seen.scaling.target.min_capacity, seen.scaling.target.max_capacity)
            assert seen.scaling.policies, "the policies kept from the last listing"
            one_resync = Counter(c.operation for c in proxy.calls(since))

            clock[0] += DESCRIBE_MAX_AGE  # now the policies are due as well
            since = proxy.mark()
            await observer.observe(want, Look(max_age=resync))
            full = Counter(c.operation for c in proxy.calls(since))
            return bounds, one_resync, full
        finally:
            sm.close()

    bounds, one_resync, full = asyncio.run(scenario())
    assert bounds == (2, 10)
    assert one_resync == Counter({"DescribeScalableTargets": 1})
    assert full == Counter({"DescribeScalableTargets": 1, "DescribeScalingPolicies": 1})
