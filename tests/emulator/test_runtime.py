"""sagemaker-runtime InvokeEndpoint: a TGI-shaped answer and AWS's errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagemaker_emulator.admin import AdminClient
from tests.emulator import builders
from tests.emulator.builders import error

PROMPT = json.dumps({"inputs": "What is SageMaker?", "parameters": {"max_new_tokens": 12}}).encode()


def answer(response: dict[str, Any]) -> str:
    body = json.loads(response["Body"].read())
    assert isinstance(body, list) and set(body[0]) == {"generated_text"}
    text: str = body[0]["generated_text"]
    return text


@pytest.fixture
def component_endpoint(sm: Any, emulator_admin: AdminClient) -> str:
    builders.model(sm, "llm-model")
    builders.component_config(sm, "cfg", scaling=(0, 1))
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    emulator_admin.settle()
    builders.component(sm, "ic", "ep")
    emulator_admin.settle()
    return "ep"


def test_model_endpoint_answers_deterministically(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    builders.model(sm, "m", model_id="mistralai/Mistral-7B-Instruct-v0.3")
    builders.model_config(sm, "cfg", "m")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    emulator_admin.settle()
    first = rt.invoke_endpoint(EndpointName="ep", Body=PROMPT, ContentType="application/json")
    assert first["InvokedProductionVariant"] == "AllTraffic"
    assert first["ContentType"] == "application/json"
    text = answer(first)
    assert len(text.split()) == 12
    assert (
        answer(rt.invoke_endpoint(EndpointName="ep", Body=PROMPT, ContentType="application/json"))
        == text
    )
    other = json.dumps({"inputs": "Something else", "parameters": {"max_new_tokens": 12}}).encode()
    assert (
        answer(rt.invoke_endpoint(EndpointName="ep", Body=other, ContentType="application/json"))
        != text
    )
    full = json.dumps(
        {"inputs": "Hi", "parameters": {"max_new_tokens": 3, "return_full_text": True}}
    ).encode()
    assert answer(
        rt.invoke_endpoint(EndpointName="ep", Body=full, ContentType="application/json")
    ).startswith("Hi ")


def test_component_endpoint_needs_the_component_header(rt: Any, component_endpoint: str) -> None:
    code, message = error(
        rt.invoke_endpoint, EndpointName="ep", Body=PROMPT, ContentType="application/json"
    )
    assert code == "ValidationError"
    assert message.startswith(
        "Inference Component Name header is required for endpoints to which you plan to deploy "
        "inference components"
    )
    response = rt.invoke_endpoint(
        EndpointName="ep", InferenceComponentName="ic", Body=PROMPT, ContentType="application/json"
    )
    assert len(answer(response).split()) == 12
    code, message = error(
        rt.invoke_endpoint, EndpointName="ep", InferenceComponentName="other", Body=PROMPT
    )
    assert code == "ValidationError" and "other" in message


def test_component_scaled_to_zero_has_no_capacity(
    sm: Any, rt: Any, emulator_admin: AdminClient, component_endpoint: str
) -> None:
    sm.update_inference_component_runtime_config(
        InferenceComponentName="ic", DesiredRuntimeConfig={"CopyCount": 0}
    )
    emulator_admin.settle()
    code, message = error(
        rt.invoke_endpoint, EndpointName="ep", InferenceComponentName="ic", Body=PROMPT
    )
    assert code == "ValidationError"
    assert message.startswith("Inference Component has no capacity to process this request.")


def test_endpoints_not_in_service_or_missing(sm: Any, rt: Any, emulator_admin: AdminClient) -> None:
    code, message = error(rt.invoke_endpoint, EndpointName="ghost", Body=PROMPT)
    assert (code, message) == (
        "ValidationError",
        "Endpoint ghost of account 123456789012 not found.",
    )
    emulator_admin.set_delay(3600)
    builders.model(sm, "m")
    builders.model_config(sm, "cfg", "m")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    code, message = error(rt.invoke_endpoint, EndpointName="ep", Body=PROMPT)
    assert code == "ValidationError" and "Creating" in message


def test_target_variant_and_bad_bodies(sm: Any, rt: Any, emulator_admin: AdminClient) -> None:
    builders.model(sm, "m")
    builders.model_config(sm, "cfg", "m")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    emulator_admin.settle()
    response = rt.invoke_endpoint(EndpointName="ep", TargetVariant="AllTraffic", Body=PROMPT)
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert (
        error(rt.invoke_endpoint, EndpointName="ep", TargetVariant="Blue", Body=PROMPT)[0]
        == "ValidationError"
    )
    code, message = error(rt.invoke_endpoint, EndpointName="ep", Body=b"not json")
    assert code == "ModelError" and "422" in message
