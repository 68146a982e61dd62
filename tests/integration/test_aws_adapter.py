"""The boto3 adapter and the observer against the SageMaker emulator (no Kubernetes)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest
import yaml

from llm_operator import actions, desired, planner
from llm_operator.api import LLMEndpointSpec
from llm_operator.aws import AwsError, SageMaker
from llm_operator.observe import Observer
from llm_operator.secrets import Redactor
from tests.integration.test_lifecycle import EXAMPLES
from tests.plugins.operator_fixtures import REGION, SageMakerEmulator

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"


@pytest.fixture
def aws_env(
    emulated_sagemaker: SageMakerEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """The standard AWS environment, pointed at the emulator."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", emulated_sagemaker.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEOPERATOR")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    yield


def model_action(name: str, uid: str, env: dict[str, str] | None = None) -> actions.CreateModel:
    return actions.CreateModel(
        request={
            "ModelName": name,
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {"Image": "example/tgi:latest", "Environment": env or {}},
        },
        tags={"llmoperator.io/uid": uid},
    )


def render(name: str, uid: str) -> desired.DesiredState:
    docs = [
        d
        for d in yaml.safe_load_all((EXAMPLES / "mistral-7b-inference-components.yaml").read_text())
        if d
    ]
    spec = LLMEndpointSpec.model_validate(docs[-1]["spec"])
    return desired.render(spec, desired.Owner("team-a", name, uid), hf_token=None)


def test_create_is_idempotent_for_the_owner_and_refused_for_anyone_else(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    async def scenario() -> None:
        sm = SageMaker(workers=2)
        try:
            first = await sm.execute(REGION, model_action("m-1", "uid-a"))
            again = await sm.execute(REGION, model_action("m-1", "uid-a"))
            assert (first.note, again.note) == ("", "already existed")
            with pytest.raises(AwsError) as clash:
                await sm.execute(REGION, model_action("m-1", "uid-b"))
            assert clash.value.kind == "conflict" and not clash.value.retryable
            gone = await sm.execute(REGION, actions.DeleteModel(name="m-1"))
            missing = await sm.execute(REGION, actions.DeleteModel(name="m-1"))
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
                await sm.execute(REGION, action, Redactor([token]))
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
            observed = await asyncio.gather(*(observer.observe(want, ours=[]) for want in wants))
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


async def converge_with_clock(
    sm: SageMaker, observer: Observer, want: desired.DesiredState, clock: list[float]
) -> planner.Plan:
    memory = planner.PlanMemory()
    for _ in range(100):
        clock[0] += 10
        observed = await observer.observe(want)
        plan = planner.plan(want, observed, deleting=False, deletion_policy="Delete", memory=memory)
        for action in plan.actions:
            outcome = await sm.execute(want.region, action)
            observer.touched(want.region, outcome.resource, outcome.name)
        memory = plan.memory
        if plan.settled and not plan.actions:
            return plan
        await asyncio.sleep(0.05)
    raise AssertionError(f"did not settle: {plan.phase} {plan.progressing}")


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
