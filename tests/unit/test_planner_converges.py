"""Whole journeys: plan, apply what SageMaker would do, repeat, until settled.

`Cloud` below is SageMaker's state machine reduced to the rules the planner
must respect; it raises where SageMaker would refuse a call, so each journey
also proves that no plan ever asks for a refused change.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

import pytest

from llm_operator.core.actions import (
    Action,
    CreateEndpoint,
    CreateEndpointConfig,
    CreateInferenceComponent,
    CreateModel,
    DeleteEndpoint,
    DeleteEndpointConfig,
    DeleteInferenceComponent,
    DeleteModel,
    UpdateEndpoint,
    UpdateInferenceComponent,
    UpdateInferenceComponentRuntimeConfig,
)
from llm_operator.core.desired import DesiredState
from llm_operator.core.memory import PlanMemory
from llm_operator.core.observed import (
    ObservedComponent,
    ObservedEndpoint,
    ObservedResource,
    ObservedState,
)
from llm_operator.core.plan import Plan
from llm_operator.core.planner import plan
from tests.unit.planner_factory import UID, make_desired

MAX_PASSES = 12


class Refused(Exception):
    """SageMaker would answer this call with an error."""


@dataclass
class Cloud:
    endpoint: ObservedEndpoint | None = None
    components: dict[str, ObservedComponent] = field(default_factory=dict)
    models: set[str] = field(default_factory=set)
    configs: dict[str, str | None] = field(default_factory=dict)  # name -> variant's model
    calls: list[str] = field(default_factory=list)
    # What a transition still runs on until it ends (old config, old models).
    replacing: set[str] = field(default_factory=set)

    def observe(self) -> ObservedState:
        return ObservedState(
            endpoint=self.endpoint,
            components=dict(self.components),
            models={n: ObservedResource(n, UID) for n in self.models},
            endpoint_configs={n: ObservedResource(n, UID) for n in self.configs},
        )

    def in_use(self) -> set[str]:
        used = {c.model_name for c in self.components.values() if c.model_name} | self.replacing
        if self.endpoint is not None:
            used.add(self.endpoint.config_name)
            used.add(self.configs.get(self.endpoint.config_name) or "")
        return used

    def apply(self, action: Action) -> None:
        self.calls.append(type(action).__name__)
        ep = self.endpoint
        if isinstance(action, CreateModel):
            name = action.name
            if name in self.models:
                raise Refused(f"Cannot create already existing model {name}")
            self.models.add(name)
        elif isinstance(action, CreateEndpointConfig):
            name = action.name
            model = action.spec["ProductionVariants"][0].get("ModelName")
            if name in self.configs or (model is not None and model not in self.models):
                raise Refused(f"bad CreateEndpointConfig {name}")
            self.configs[name] = model
        elif isinstance(action, CreateEndpoint):
            if ep is not None or action.config_name not in self.configs:
                raise Refused("bad CreateEndpoint")
            self.endpoint = ObservedEndpoint(
                action.name, f"arn:{action.name}", "Creating", action.config_name, owner_uid=UID
            )
        elif isinstance(action, UpdateEndpoint):
            if ep is None or ep.status != "InService" or action.config_name not in self.configs:
                raise Refused("Cannot update in-progress endpoint")
            if any(c.status != "InService" for c in self.components.values()):
                raise Refused("components are changing")
            self.replacing |= {ep.config_name, self.configs.get(ep.config_name) or ""}
            self.endpoint = replace(ep, status="Updating", config_name=action.config_name)
        elif isinstance(action, CreateInferenceComponent):
            spec = action.specification
            base = spec.get("BaseInferenceComponentName")
            if ep is None or ep.status != "InService" or action.name in self.components:
                raise Refused("bad CreateInferenceComponent")
            if base is not None and self.components[base].status != "InService":
                raise Refused("base not in service")
            if spec.get("ModelName") is not None and spec["ModelName"] not in self.models:
                raise Refused("Could not find model")
            self.components[action.name] = ObservedComponent(
                name=action.name,
                status="Creating",
                endpoint_name=action.endpoint_name,
                model_name=spec.get("ModelName"),
                compute=spec.get("ComputeResourceRequirements"),
                artifact_url=(spec.get("Container") or {}).get("ArtifactUrl"),
                base_component=base,
                desired_copies=action.copies,
                current_copies=0 if action.copies is not None else None,
                owner_uid=UID,
            )
        elif isinstance(action, UpdateInferenceComponent):
            have = self.components[action.name]
            spec = action.specification
            if have.status != "InService" or ep is None or ep.status != "InService":
                raise Refused("Cannot update in-progress inference component")
            if spec.get("ModelName") is not None and spec["ModelName"] not in self.models:
                raise Refused("Could not find model")
            self.replacing.add(have.model_name or "")
            self.components[action.name] = replace(
                have,
                status="Updating",
                model_name=spec.get("ModelName"),
                compute=spec.get("ComputeResourceRequirements"),
                artifact_url=(spec.get("Container") or {}).get("ArtifactUrl"),
                desired_copies=action.copies,
            )
        elif isinstance(action, UpdateInferenceComponentRuntimeConfig):
            have = self.components[action.name]
            if have.status != "InService":
                raise Refused("Cannot update in-progress inference component")
            self.components[action.name] = replace(
                have, status="Updating", desired_copies=action.copies
            )
        elif isinstance(action, DeleteInferenceComponent):
            have = self.components[action.name]
            if have.status not in ("InService", "Failed") or any(
                c.base_component == action.name for c in self.components.values()
            ):
                raise Refused("is a base inference component for one or more associated")
            self.components[action.name] = replace(have, status="Deleting")
        elif isinstance(action, DeleteEndpoint):
            if ep is None or self.components or ep.status not in ("InService", "Failed"):
                raise Refused("bad DeleteEndpoint")
            self.endpoint = replace(ep, status="Deleting")
        elif isinstance(action, DeleteEndpointConfig):
            if action.name in self.in_use():
                raise Refused(f"planner deleted config {action.name} still in use")
            del self.configs[action.name]
        elif isinstance(action, DeleteModel):
            if action.name in self.in_use():
                raise Refused(f"planner deleted model {action.name} still in use")
            self.models.remove(action.name)

    def settle(self) -> None:
        """Every transition ends, as SageMaker's would after some minutes."""
        self.replacing.clear()
        for name, c in list(self.components.items()):
            if c.status == "Deleting":
                del self.components[name]
            elif c.status in ("Creating", "Updating"):
                self.components[name] = replace(
                    c, status="InService", current_copies=c.desired_copies
                )
        ep = self.endpoint
        if ep is not None and ep.status == "Deleting":
            self.endpoint = None
        elif ep is not None and ep.status in ("Creating", "Updating"):
            self.endpoint = replace(ep, status="InService")


def journey(
    cloud: Cloud, desired: DesiredState, *, deleting: bool = False
) -> tuple[Plan, int, PlanMemory]:
    memory = PlanMemory()
    for passes in range(1, MAX_PASSES + 1):
        result = plan(
            desired, cloud.observe(), deleting=deleting, deletion_policy="Delete", memory=memory
        )
        for action in result.actions:
            cloud.apply(action)
        memory = result.memory
        if result.settled and not result.actions:
            return result, passes, memory
        cloud.settle()
    raise AssertionError(f"not settled after {MAX_PASSES} passes: {cloud}")


def assert_exactly(cloud: Cloud, desired: DesiredState) -> None:
    assert cloud.endpoint is not None
    assert cloud.endpoint.config_name == desired.endpoint_config.name
    assert cloud.models == {desired.model.name}
    assert set(cloud.configs) == {desired.endpoint_config.name}
    assert set(cloud.components) == {c.name for c in desired.components}


ADAPTERS = {"support": "s3://b/support.tgz", "legal": "s3://b/legal.tgz"}
START = make_desired(adapters=ADAPTERS)

CHANGES = {
    "copies": make_desired(copies=8, adapters=ADAPTERS),
    "model": make_desired(model_id="other/model", adapters=ADAPTERS),
    "compute": make_desired(accelerators=2, adapters=ADAPTERS),
    "instance type": make_desired(instance_type="ml.g6.12xlarge", adapters=ADAPTERS),
    "instance count": make_desired(count=2, adapters=ADAPTERS),
    "adapter added": make_desired(adapters={**ADAPTERS, "sales": "s3://b/sales.tgz"}),
    "adapter removed": make_desired(adapters={"support": "s3://b/support.tgz"}),
    "adapter changed": make_desired(adapters={**ADAPTERS, "legal": "s3://b/legal-v2.tgz"}),
    "everything": make_desired(
        model_id="other/model",
        instance_type="ml.g6.48xlarge",
        count=2,
        copies=2,
        accelerators=4,
        adapters={"sales": "s3://b/sales.tgz"},
    ),
}


@pytest.mark.parametrize(
    "desired", [START, make_desired(endpoint_type="Model")], ids=["components", "model"]
)
def test_fresh_create_reaches_ready(desired: DesiredState) -> None:
    cloud = Cloud()
    result, passes, _ = journey(cloud, desired)
    assert result.phase == "InService" and result.ready.status
    assert_exactly(cloud, desired)
    assert cloud.calls.count("CreateEndpoint") == 1
    assert passes <= 4


@pytest.mark.parametrize("change", list(CHANGES))
def test_every_spec_change_converges_and_leaves_no_garbage(change: str) -> None:
    cloud = Cloud()
    journey(cloud, START)
    cloud.calls.clear()
    result, _, _ = journey(cloud, CHANGES[change])
    assert result.phase == "InService" and result.ready.status
    assert_exactly(cloud, CHANGES[change])
    assert "DeleteEndpoint" not in cloud.calls


def test_model_endpoint_follows_a_new_model_with_one_update() -> None:
    old = make_desired(endpoint_type="Model")
    new = make_desired(endpoint_type="Model", model_id="other/model", count=2)
    cloud = Cloud()
    journey(cloud, old)
    cloud.calls.clear()
    result, _, _ = journey(cloud, new)
    assert result.ready.status
    assert_exactly(cloud, new)
    assert cloud.calls.count("UpdateEndpoint") == 1


@pytest.mark.parametrize(
    "desired", [START, make_desired(endpoint_type="Model")], ids=["components", "model"]
)
def test_deletion_leaves_nothing(desired: DesiredState) -> None:
    cloud = Cloud()
    journey(cloud, desired)
    result, _, _ = journey(cloud, desired, deleting=True)
    assert result.done_deleting
    assert cloud.observe() == ObservedState()


def test_deletion_in_the_middle_of_creation_leaves_nothing() -> None:
    cloud = Cloud()
    first = plan(
        START, cloud.observe(), deleting=False, deletion_policy="Delete", memory=PlanMemory()
    )
    for action in first.actions:
        cloud.apply(action)
    result, _, _ = journey(cloud, START, deleting=True)
    assert result.done_deleting
    assert cloud.observe() == ObservedState()


def settle_some(cloud: Cloud, rng: random.Random) -> None:
    """Only some transitions end before the next look: SageMaker's timing varies."""
    snapshot = Cloud(
        endpoint=cloud.endpoint,
        components=dict(cloud.components),
        models=set(cloud.models),
        configs=dict(cloud.configs),
    )
    snapshot.settle()
    if rng.random() < 0.5:
        cloud.endpoint = snapshot.endpoint
    for name in list(cloud.components):
        if rng.random() < 0.5:
            if name in snapshot.components:
                cloud.components[name] = snapshot.components[name]
            else:
                del cloud.components[name]
    if not any(c.status != "InService" for c in cloud.components.values()) and (
        cloud.endpoint is None or cloud.endpoint.status == "InService"
    ):
        cloud.replacing.clear()


def crashing_journey(
    cloud: Cloud,
    desired: DesiredState,
    rng: random.Random,
    memory: PlanMemory,
    *,
    passes: int = 60,
) -> tuple[Plan | None, PlanMemory]:
    """Random timing, and an operator that may die after any call, losing its memory.

    Returns the settling plan, or None when `passes` ran out first.
    """
    for _ in range(passes):
        result = plan(
            desired, cloud.observe(), deleting=False, deletion_policy="Delete", memory=memory
        )
        crash_at = rng.randrange(len(result.actions) + 1) if rng.random() < 0.3 else None
        for index, action in enumerate(result.actions):
            if index == crash_at:
                break
            cloud.apply(action)
        if crash_at is None:
            memory = result.memory
        if result.settled and not result.actions:
            return result, memory
        settle_some(cloud, rng)
    return None, memory


@pytest.mark.parametrize("seed", range(40))
def test_random_timing_and_crashes_never_ask_for_a_refused_call(seed: int) -> None:
    rng = random.Random(seed)
    cloud = Cloud()
    memory = PlanMemory()
    for desired in [START, *rng.sample(list(CHANGES.values()), 3)]:
        result, memory = crashing_journey(cloud, desired, rng, memory)
        assert result is not None and result.ready.status
        assert_exactly(cloud, desired)
    assert cloud.calls.count("CreateEndpoint") == 1


@pytest.mark.parametrize("seed", range(40))
def test_spec_changed_again_before_the_last_change_finished(seed: int) -> None:
    rng = random.Random(1000 + seed)
    cloud = Cloud()
    memory = PlanMemory()
    changes = [START, *rng.sample(list(CHANGES.values()), 4)]
    for desired in changes[:-1]:
        _, memory = crashing_journey(cloud, desired, rng, memory, passes=rng.randrange(4))
    result, _ = crashing_journey(cloud, changes[-1], rng, memory)
    assert result is not None and result.ready.status
    assert_exactly(cloud, changes[-1])
