"""Every action class of the registry, sent by the guarded executor to the emulator (SageMaker)
and moto (Application Auto Scaling, CloudWatch): one sample of each (built from its fields,
tests/plugins/action_samples.py), in an order AWS accepts, on resources the samples made.

A class added to `core.actions` is sent here without anyone listing it; one whose
request AWS refuses, whose guard cannot find what it acts on, or whose create leaves
nothing a guard can find fails here.
"""

from __future__ import annotations

import asyncio

from llm_operator.core.actions import ACTIONS, Effect
from llm_operator.shell.aws import SageMaker
from llm_operator.shell.execute import FINDERS, execute
from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.server import EmulatorServer
from tests.plugins.action_samples import World, lifecycle, sample
from tests.plugins.emulator_fixtures import REGION, boto3_client


def test_every_action_class_is_executed_against_the_emulator_and_moto(
    aws_env_with_moto: EmulatorServer,
) -> None:
    admin = AdminClient(aws_env_with_moto.url)
    order = lifecycle(ACTIONS)
    notes: dict[str, str] = {}

    async def scenario() -> None:
        sm = SageMaker(workers=2, calls_per_second=100, burst=100)
        world = World()
        try:
            for cls in order:
                admin.settle()  # what the previous call started has finished
                action = sample(cls, world)
                notes[cls.__name__] = (await execute(sm, REGION, action)).note
                if cls.effect is Effect.CREATE:
                    # What it made is what its guard finds, and what tagging names by ARN.
                    found = await FINDERS[cls.lookup](sm, REGION, action)
                    assert found is not None, f"{action.describe()} left nothing to find"
                    world = world.with_arn(cls.kind, found[0])
        finally:
            sm.close()

    asyncio.run(scenario())
    admin.settle()
    # Every call did what it says: nothing "already existed" or was "already gone".
    assert notes == dict.fromkeys(notes, ""), {k: v for k, v in notes.items() if v}
    assert len(notes) == len(ACTIONS)
    # The deletes at the end left nothing behind, in SageMaker or beside it.
    assert not any(admin.resource_names().values())
    moto = aws_env_with_moto.moto_url
    scaling = boto3_client(str(moto), "application-autoscaling")
    assert scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []
    cloudwatch = boto3_client(str(moto), "cloudwatch")
    assert cloudwatch.describe_alarms()["MetricAlarms"] == []
