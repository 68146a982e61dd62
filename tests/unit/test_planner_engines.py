"""Changing the serving engine of a running LLMEndpoint rolls out like any model change."""

from __future__ import annotations

from typing import Any

import pytest

from llm_operator.api.models import LLMEndpointSpec
from llm_operator.core.actions import (
    CreateEndpointConfig,
    CreateModel,
    UpdateEndpoint,
    UpdateInferenceComponent,
)
from llm_operator.core.desired import DesiredState, Owner, render
from tests.unit.planner_factory import UID, reconcile, running

OWNER = Owner(namespace="team-a", name="chat", uid=UID)
ROLE = "arn:aws:iam::111122223333:role/SageMakerExecution"


def desired(engine: str, endpoint_type: str) -> DesiredState:
    spec: dict[str, Any] = {
        "model": {"engine": engine, "hfModelId": "org/chat-7b", "maxModelLength": 4096},
        "instance": {"type": "ml.g5.12xlarge", "count": 1},
        "endpointType": endpoint_type,
        "aws": {"region": "us-east-1", "executionRoleArn": ROLE},
    }
    if endpoint_type == "InferenceComponent":
        spec["resources"] = {"copies": 2, "acceleratorsPerCopy": 1}
    return render(LLMEndpointSpec.model_validate(spec), OWNER, hf_token=None)


def create_model(d: DesiredState) -> CreateModel:
    return CreateModel(name=d.model.name, spec=d.model.create_request, tags=d.tags)


def create_config(d: DesiredState) -> CreateEndpointConfig:
    config = d.endpoint_config
    return CreateEndpointConfig(name=config.name, spec=config.create_request, tags=d.tags)


@pytest.mark.parametrize(("old", "new"), [("tgi", "vllm"), ("vllm", "sglang"), ("sglang", "lmi")])
def test_model_endpoint_moves_to_the_new_engine_through_a_new_config(old: str, new: str) -> None:
    before, after = desired(old, "Model"), desired(new, "Model")
    result = reconcile(after, running(before))
    assert result.actions == (
        create_model(after),
        create_config(after),
        UpdateEndpoint(name=after.endpoint_name, config_name=after.endpoint_config.name),
    )


def test_component_endpoint_moves_its_base_component_to_the_new_engine_s_model() -> None:
    before, after = desired("tgi", "InferenceComponent"), desired("vllm", "InferenceComponent")
    assert before.endpoint_config.name == after.endpoint_config.name  # the pool stays
    result = reconcile(after, running(before))
    assert result.actions == (
        create_model(after),
        UpdateInferenceComponent(
            name=after.components[0].name,
            specification=after.components[0].specification,
            copies=2,
        ),
    )
    assert "/vllm:" in after.model.create_request["PrimaryContainer"]["Image"]
