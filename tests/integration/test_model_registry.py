"""spec.model.modelPackage in-process against the emulator's model registry: one
ListModelPackages per group shared by every LLMEndpoint of the group (or one of the
whole account when that costs less), a throttled listing that delays and never
duplicates, and a restart between the approval being seen and the rollout call that
converges with one rollout."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from llm_operator.core.registry import Listing
from llm_operator.shell.aws import AwsError, SageMaker, Scope
from llm_operator.shell.observe.registry import REPROBE_INTERVALS, Registry
from llm_operator.shell.reconciler import PassResult
from tests.plugins.emulator_fixtures import ACCOUNT, REGION
from tests.plugins.operator_fixtures import SageMakerEmulator
from tests.plugins.reconciling import SPEC, RecordingCluster, body, reconciler, until

GROUP = "support-bot-llm"
PACKAGE_SPEC: dict[str, Any] = {
    **SPEC,
    "model": {"modelPackage": {"group": GROUP}},
    "rollout": {"strategy": "Rolling", "maxBatchPercent": 50, "waitSeconds": 0},
}


def register(sm: Any, status: str, group: str = GROUP) -> str:
    answer = sm.create_model_package(
        ModelPackageGroupName=group,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [{"Image": "example.com/llm:1", "Environment": {"HF_MODEL_ID": "m"}}],
            "SupportedContentTypes": ["application/json"],
            "SupportedResponseMIMETypes": ["application/json"],
        },
    )
    arn: str = answer["ModelPackageArn"]
    return arn


def calls(emulator: SageMakerEmulator, operation: str, *, ok: bool = True) -> int:
    return sum(
        1 for c in emulator.admin.call_log(operation=operation) if (c["error"] is None) == ok
    )


def serving(version: int) -> Any:
    def done(_: PassResult, status: Mapping[str, Any]) -> bool:
        model = status.get("model") or {}
        ready = any(
            c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions") or []
        )
        return ready and model.get("version") == version and status.get("phase") == "InService"

    return done


def test_endpoints_of_a_group_share_one_listing(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    sm = emulated_sagemaker.client()
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    register(sm, "Approved")

    async def scenario() -> None:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        # Their first passes at once: one List and one Describe between them.
        await asyncio.gather(
            *(
                r.reconcile(
                    {**body(cluster, PACKAGE_SPEC, name=name, uid=f"uid-{name}"), "status": {}},
                    deleting=False,
                )
                for name in ("one", "two", "three")
            )
        )
        r.close()

    asyncio.run(scenario())
    assert calls(emulated_sagemaker, "ListModelPackages") == 1
    assert calls(emulated_sagemaker, "DescribeModelPackage") == 1
    assert calls(emulated_sagemaker, "CreateModel") == 3


def test_a_throttled_listing_delays_and_never_duplicates(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    sm = emulated_sagemaker.client()
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    register(sm, "Approved")
    emulated_sagemaker.admin.faults(throttle_rate=1.0, operations=["ListModelPackages"])

    async def scenario() -> None:
        cluster = RecordingCluster()
        r = reconciler(cluster)
        for _ in range(3):
            result = await r.reconcile(body(cluster, PACKAGE_SPEC), deleting=False)
            assert result.outcome == "error" and result.delay > 0
        assert calls(emulated_sagemaker, "CreateModel") == 0
        emulated_sagemaker.admin.clear_faults()
        await until(r, cluster, serving(1), spec=PACKAGE_SPEC)
        r.close()

    asyncio.run(scenario())
    assert calls(emulated_sagemaker, "ListModelPackages", ok=False) >= 3  # with retries
    assert calls(emulated_sagemaker, "CreateModel") == 1
    assert calls(emulated_sagemaker, "CreateEndpoint") == 1


def test_a_restart_between_the_approval_and_the_rollout_makes_one_rollout(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    sm = emulated_sagemaker.client()
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    register(sm, "Approved")
    v2 = register(sm, "PendingManualApproval")
    cluster = RecordingCluster()

    async def first_life() -> None:
        # The registry is listed again once a resync interval old.
        r = reconciler(cluster, resync_seconds=1)
        await until(r, cluster, serving(1), spec=PACKAGE_SPEC)
        sm.update_model_package(ModelPackageArn=v2, ModelApprovalStatus="Approved")
        # The approval is seen and its model made; the rollout call never goes out.
        emulated_sagemaker.admin.faults(throttle_rate=1.0, operations=["UpdateInferenceComponent"])
        for _ in range(60):
            await r.reconcile(body(cluster, PACKAGE_SPEC), deleting=False)
            if calls(emulated_sagemaker, "UpdateInferenceComponent", ok=False):
                break
            await asyncio.sleep(0.1)
        r.close()  # the process dies here

    async def second_life() -> None:
        emulated_sagemaker.admin.clear_faults()
        r = reconciler(cluster)  # new adapter, observer and caches: a restart
        await until(r, cluster, serving(2), spec=PACKAGE_SPEC)
        r.close()

    asyncio.run(first_life())
    assert calls(emulated_sagemaker, "CreateModel") == 2
    assert calls(emulated_sagemaker, "UpdateInferenceComponent") == 0
    asyncio.run(second_life())
    assert calls(emulated_sagemaker, "UpdateInferenceComponent") == 1
    assert calls(emulated_sagemaker, "CreateModel") == 2  # v2's model was not made again
    assert "ModelVersionApproved" in cluster.reasons()
    assert cluster.status["model"]["arn"] == v2


def test_a_rolled_back_version_is_not_retried_until_a_newer_one_is_approved(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    sm = emulated_sagemaker.client()
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    register(sm, "Approved")
    v2 = register(sm, "PendingManualApproval")
    # One GPU and no room to grow: the rolling update of a new version cannot place its
    # copy, and SageMaker rolls it back, as an alarm would.
    full = {
        **PACKAGE_SPEC,
        "instance": {"type": "ml.g5.2xlarge", "count": 1},
        "resources": {
            "copies": 1,
            "acceleratorsPerCopy": 1,
            "cpusPerCopy": 2,
            "memoryMiBPerCopy": 8192,
        },
    }
    cluster = RecordingCluster()

    def rolled_back(_: PassResult, status: Mapping[str, Any]) -> bool:
        return (status.get("model") or {}).get("notRetried") == [2]

    async def scenario() -> None:
        r = reconciler(cluster, resync_seconds=1)
        await until(r, cluster, serving(1), spec=full)
        sm.update_model_package(ModelPackageArn=v2, ModelApprovalStatus="Approved")
        await until(r, cluster, rolled_back, spec=full, passes=200)
        await until(r, cluster, serving(1), spec=full)
        # Listed again several times since: version 2 is still Approved, never retried.
        for _ in range(15):
            await r.reconcile(body(cluster, full), deleting=False)
            await asyncio.sleep(0.1)
        r.close()

    asyncio.run(scenario())
    assert calls(emulated_sagemaker, "UpdateInferenceComponent") == 1
    assert cluster.status["model"]["version"] == 1
    assert calls(emulated_sagemaker, "ListModelPackages") >= 2
    rolled = [m for t, r, m in cluster.events if r == "RolledBack"]
    assert rolled and "version 2 of model package group" in rolled[0]


def test_a_rolled_back_spec_change_does_not_count_against_the_version_served(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    sm = emulated_sagemaker.client()
    sm.create_model_package_group(ModelPackageGroupName=GROUP)
    register(sm, "Approved")
    full = {
        **PACKAGE_SPEC,
        "instance": {"type": "ml.g5.2xlarge", "count": 1},
        "resources": {
            "copies": 1,
            "acceleratorsPerCopy": 1,
            "cpusPerCopy": 2,
            "memoryMiBPerCopy": 8192,
        },
    }
    changed = {**full, "model": {**full["model"], "env": {"MAX_BATCH": "4"}}}
    cluster = RecordingCluster()

    def rolled_back(_: PassResult, status: Mapping[str, Any]) -> bool:
        return (status.get("rollout") or {}).get("phase") == "RolledBack"

    async def scenario() -> None:
        r = reconciler(cluster, resync_seconds=1)
        await until(r, cluster, serving(1), spec=full)
        await until(r, cluster, rolled_back, spec=changed, passes=200, meta={"generation": 2})
        for _ in range(10):
            await r.reconcile(body(cluster, changed, generation=2), deleting=False)
            await asyncio.sleep(0.1)
        r.close()

    asyncio.run(scenario())
    assert cluster.status["model"]["version"] == 1
    assert cluster.status["model"]["notRetried"] == []
    assert cluster.status["planMemory"]["packageRollbacks"] == []
    assert calls(emulated_sagemaker, "UpdateInferenceComponent") == 1


# -- the account-wide listing ------------------------------------------------------

RESYNC = 10.0
STANDALONE: dict[str, Any] = {
    "Containers": [{"Image": "example.com/llm:1"}],
    "SupportedContentTypes": ["application/json"],
    "SupportedResponseMIMETypes": ["application/json"],
}
PLACE = Scope(REGION)


class Clock:
    """The registry's clock, moved by the test one resync interval at a time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def next_interval(self) -> None:
        self.now += RESYNC


def version_arn(group: str, version: int) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/{version}"


def lists(emulator: SageMakerEmulator) -> int:
    return calls(emulator, "ListModelPackages") + calls(emulator, "ListModelPackages", ok=False)


async def read(registry: Registry, groups: list[str]) -> dict[str, Listing]:
    """Every group's listing, asked for at once as the passes of an interval do."""
    found = await asyncio.gather(*(registry.listing(PLACE, g) for g in groups))
    return dict(zip(groups, found, strict=True))


def versions(found: Mapping[str, Listing]) -> dict[str, list[int]]:
    return {g: [v.version for v in listing.approved] for g, listing in found.items()}


def make_registry(clock: Clock) -> Registry:
    adapter = SageMaker(workers=2, calls_per_second=1000, burst=1000, max_attempts=1)
    return Registry(adapter, max_age=RESYNC, clock=clock)


def test_twenty_groups_cost_one_listing_per_interval_of_the_whole_account(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    sm = emulated_sagemaker.client()
    groups = [f"team-{i}-llm" for i in range(20)]
    for group in groups:
        sm.create_model_package_group(ModelPackageGroupName=group)
        for status in ("Approved", "Rejected", "Approved", "PendingManualApproval"):
            register(sm, status, group)
    sm.create_model_package(ModelPackageName="standalone", InferenceSpecification=STANDALONE)
    clock = Clock()

    async def scenario() -> None:
        registry = make_registry(clock)
        # The first interval lists each group: the groups in use are not known yet.
        first = await read(registry, groups)
        assert lists(emulated_sagemaker) == 20
        for interval in range(1, 4):
            clock.next_interval()
            again = await read(registry, groups)
            assert lists(emulated_sagemaker) == 20 + interval
            assert again == first
        assert versions(first) == {g: [3, 1] for g in groups}
        # Within an interval, nothing more.
        await read(registry, groups)
        assert lists(emulated_sagemaker) == 23

    asyncio.run(scenario())


def test_a_group_of_another_account_is_listed_on_its_own(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    sm = emulated_sagemaker.client()
    ours = ["support-bot-llm", "search-llm"]
    for group in ours:
        sm.create_model_package_group(ModelPackageGroupName=group)
        register(sm, "Approved", group)
    theirs = f"arn:aws:sagemaker:{REGION}:444455556666:model-package-group/shared-llm"
    clock = Clock()

    async def scenario() -> None:
        registry = make_registry(clock)
        await read(registry, [*ours, theirs])
        assert lists(emulated_sagemaker) == 3
        for interval in range(1, 4):
            clock.next_interval()
            found = await read(registry, [*ours, theirs])
            # The account's listing holds our groups only: theirs has a List of its own.
            assert lists(emulated_sagemaker) == 3 + 2 * interval
            assert versions({g: found[g] for g in ours}) == {g: [1] for g in ours}

    asyncio.run(scenario())


@pytest.fixture
def crowded(emulated_sagemaker: SageMakerEmulator) -> list[str]:
    """Three groups of ours and an account holding 201 more Approved versions: its
    listing takes three pages of 100."""
    sm = emulated_sagemaker.client()
    ours = ["support-bot-llm", "search-llm", "triage-llm"]
    for group in ours:
        sm.create_model_package_group(ModelPackageGroupName=group)
        register(sm, "Approved", group)
        register(sm, "PendingManualApproval", group)
    sm.create_model_package_group(ModelPackageGroupName="experiments")
    for _ in range(201):
        register(sm, "Approved", "experiments")
    return ours


def test_an_account_with_many_other_versions_stays_per_group(
    aws_env: None, emulated_sagemaker: SageMakerEmulator, crowded: list[str]
) -> None:
    two = crowded[:2]
    clock = Clock()

    async def scenario() -> None:
        registry = make_registry(clock)
        await read(registry, two)
        assert lists(emulated_sagemaker) == 2
        clock.next_interval()
        # The probe stops after two pages (as many as groups in use), then each group.
        probed = await read(registry, two)
        assert lists(emulated_sagemaker) == 2 + 2 + 2
        assert versions(probed) == {g: [1] for g in two}
        for interval in range(1, REPROBE_INTERVALS):
            clock.next_interval()
            await read(registry, two)
            assert lists(emulated_sagemaker) == 6 + 2 * interval
        clock.next_interval()
        await read(registry, two)  # probed again, still dearer
        assert lists(emulated_sagemaker) == 6 + 2 * REPROBE_INTERVALS + 2

    asyncio.run(scenario())


def test_both_ways_of_listing_give_the_same_versions_and_see_approvals_within_an_interval(
    aws_env: None, emulated_sagemaker: SageMakerEmulator, crowded: list[str]
) -> None:
    sm = emulated_sagemaker.client()
    two = crowded[:2]
    clock = Clock()

    async def scenario() -> None:
        per_group = make_registry(clock)  # two groups: the account's three pages are dearer
        account_wide = make_registry(clock)  # three groups: its three pages are as cheap
        # By name, by ARN and in other letter cases, as a spec may name them.
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package-group/{crowded[2]}"
        names = [*two, crowded[2].upper(), arn]
        await read(per_group, two)
        await read(account_wide, names)
        clock.next_interval()
        before = lists(emulated_sagemaker)
        seen = await read(per_group, two)
        assert lists(emulated_sagemaker) == before + 2 + 2  # a probe that stopped, then each
        wide = await read(account_wide, names)
        assert lists(emulated_sagemaker) == before + 4 + 3  # the account's three pages
        for _ in range(2):
            clock.next_interval()
            before = lists(emulated_sagemaker)
            assert await read(per_group, two) == seen
            assert await read(account_wide, names) == wide
            assert lists(emulated_sagemaker) == before + 2 + 3
        assert {g: wide[g] for g in two} == seen
        assert versions(wide) == {g: [1] for g in names}
        assert wide[arn].group == arn

        # Version 2 of the first group approved, version 1 of the second rejected.
        sm.update_model_package(
            ModelPackageArn=version_arn(two[0], 2), ModelApprovalStatus="Approved"
        )
        sm.update_model_package(
            ModelPackageArn=version_arn(two[1], 1), ModelApprovalStatus="Rejected"
        )
        clock.next_interval()
        expected = {two[0]: [2, 1], two[1]: []}
        assert versions(await read(per_group, two)) == expected
        now_wide = await read(account_wide, names)
        assert versions({g: now_wide[g] for g in two}) == expected

    asyncio.run(scenario())


def test_a_throttled_listing_of_the_account_decides_nothing(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    sm = emulated_sagemaker.client()
    groups = ["support-bot-llm", "search-llm"]
    for group in groups:
        sm.create_model_package_group(ModelPackageGroupName=group)
        register(sm, "Approved", group)
    clock = Clock()

    async def scenario() -> None:
        registry = make_registry(clock)
        first = await read(registry, groups)
        clock.next_interval()
        emulated_sagemaker.admin.faults(throttle_rate=1.0, operations=["ListModelPackages"])
        with pytest.raises(AwsError):
            await read(registry, groups)
        emulated_sagemaker.admin.clear_faults()
        before = lists(emulated_sagemaker)
        assert await read(registry, groups) == first
        assert lists(emulated_sagemaker) == before + 1  # the account's listing, tried again

    asyncio.run(scenario())
