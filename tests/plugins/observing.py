"""Driving the observer and the planner by hand, on a fake clock (no Kubernetes)."""

from __future__ import annotations

from typing import Any

from llm_operator.api.models import LLMEndpointSpec
from llm_operator.core import desired, planner
from llm_operator.core.memory import PlanMemory
from llm_operator.core.plan import Plan
from llm_operator.shell.aws import SageMaker
from llm_operator.shell.execute import execute
from llm_operator.shell.observe import Observer
from tests.plugins.examples import llmendpoint


def render(name: str, uid: str, **spec: Any) -> desired.DesiredState:
    """The inference-component example as LLMEndpoint team-a/`name`, `spec` merged in."""
    base = llmendpoint("mistral-7b-inference-components")["spec"]
    model = LLMEndpointSpec.model_validate({**base, **spec})
    return desired.render(model, desired.Owner("team-a", name, uid), hf_token=None)


async def converge_with_clock(
    sm: SageMaker, observer: Observer, want: desired.DesiredState, clock: list[float]
) -> Plan:
    """Passes 10 fake seconds apart, acting on each plan, until one has nothing to do."""
    memory = PlanMemory()
    for _ in range(100):
        clock[0] += 10
        observed = await observer.observe(want)
        plan = planner.plan(want, observed, deleting=False, deletion_policy="Delete", memory=memory)
        for action in plan.actions:
            await execute(sm, want.region, action)
            observer.touched(want.region, action.kind, action.name)
        memory = plan.memory
        if plan.settled and not plan.actions:
            return plan
    raise AssertionError(f"did not settle: {plan.phase} {plan.progressing}")
