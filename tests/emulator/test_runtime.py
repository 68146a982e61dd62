"""sagemaker-runtime InvokeEndpoint: a TGI-shaped answer, AWS's errors (ModelError with its
fields), and the signature every runtime request needs."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sagemaker_emulator.admin import AdminClient
from tests.emulator import builders
from tests.emulator.builders import error
from tests.plugins.emulator_fixtures import boto3_client

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


def test_model_error_carries_the_containers_answer_and_its_log(
    sm: Any, rt: Any, emulator_admin: AdminClient, component_endpoint: str
) -> None:
    builders.model(sm, "m")
    builders.model_config(sm, "cfg-m", "m")
    sm.create_endpoint(EndpointName="model-ep", EndpointConfigName="cfg-m")
    emulator_admin.settle()
    logs = "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
    for target, group in (
        ({"EndpointName": "model-ep"}, "/aws/sagemaker/Endpoints/model-ep"),
        (
            {"EndpointName": "ep", "InferenceComponentName": "ic"},
            "/aws/sagemaker/InferenceComponents/ic",
        ),
    ):
        with pytest.raises(ClientError) as raised:
            rt.invoke_endpoint(**target, Body=b'{"inputs": 42}', ContentType="application/json")
        response = raised.value.response
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
        assert response["Error"]["Code"] == "ModelError"
        assert response["OriginalStatusCode"] == 422  # TGI's status for a body it cannot read
        original = json.loads(response["OriginalMessage"])
        assert original == {
            "error": "Failed to deserialize the JSON body into the target type",
            "error_type": "validation",
        }
        assert response["LogStreamArn"] == f"arn:aws:logs:us-east-1:123456789012:log-group:{group}"
        assert response["Error"]["Message"] == (
            f'Received client error (422) from primary with message "{response["OriginalMessage"]}"'
            f". See {logs}#logEventViewer:group={group} in account 123456789012 for more "
            "information."
        )


def test_unsigned_runtime_requests_are_refused_as_aws_does(
    sm: Any, emulator_admin: AdminClient, emulator: Any
) -> None:
    builders.model(sm, "m")
    builders.model_config(sm, "cfg", "m")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    emulator_admin.settle()
    unsigned = boto3_client(
        emulator.url, "sagemaker-runtime", config=Config(signature_version=botocore.UNSIGNED)
    )
    for call in (unsigned.invoke_endpoint, unsigned.invoke_endpoint_with_response_stream):
        assert error(call, EndpointName="ep", Body=PROMPT) == (
            "MissingAuthenticationTokenException",
            "Missing Authentication Token",
        )
    request = urllib.request.Request(
        f"{emulator.url}/endpoints/ep/invocations",
        data=PROMPT,
        headers={"Authorization": "Bearer abc", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request)
    assert raised.value.code == 403
    assert raised.value.headers["x-amzn-ErrorType"].startswith("IncompleteSignatureException:")
    assert json.loads(raised.value.read())["message"].startswith(
        "Authorization header requires 'Credential' parameter."
    )
    assert emulator_admin.calls()["InvokeEndpoint"] == 2
    log = emulator_admin.call_log(operation="InvokeEndpoint")
    assert [(c["status"], c["error"]) for c in log] == [
        (403, "MissingAuthenticationTokenException"),
        (403, "IncompleteSignatureException"),
    ]
    # Any key signs: another account's key works, in that account.
    other = boto3_client(emulator.url, "sagemaker-runtime", aws_access_key_id="210987654321")
    assert error(other.invoke_endpoint, EndpointName="ep", Body=PROMPT)[1] == (
        "Endpoint ep of account 210987654321 not found."
    )
