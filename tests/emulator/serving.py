"""Serving a model on an emulated engine and talking to it through boto3, for the
runtime tests: one model endpoint named "ep" whose container is the engine's image."""

from __future__ import annotations

import json
from typing import Any

from sagemaker_emulator.admin import AdminClient
from tests.emulator import builders

ACCOUNT = "763104351884.dkr.ecr.us-east-1.amazonaws.com"
IMAGES = {
    "vllm": f"{ACCOUNT}/vllm:0.30.0-gpu-py312-cu130-ubuntu24.04-sagemaker",
    "sglang": f"{ACCOUNT}/sglang:0.5.20-gpu-py312-cu130-ubuntu24.04-sagemaker",
    "lmi": f"{ACCOUNT}/djl-inference:0.38.0-lmi29.0.0-cu130",
    "tgi": builders.IMAGE,
}
ENVIRONMENTS = {
    "vllm": {"SM_VLLM_MODEL": "org/model-7b", "SM_VLLM_TENSOR_PARALLEL_SIZE": "1"},
    "sglang": {"SM_SGLANG_MODEL_PATH": "org/model-7b", "SM_SGLANG_TP_SIZE": "1"},
    "lmi": {"HF_MODEL_ID": "org/model-7b", "OPTION_TENSOR_PARALLEL_DEGREE": "1"},
    "tgi": {"HF_MODEL_ID": "org/model-7b", "SM_NUM_GPUS": "1"},
}
CHAT = {"messages": [{"role": "user", "content": "What is SageMaker?"}], "max_tokens": 5}


def serve(
    sm: Any, admin: AdminClient, engine: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    sm.create_model(
        ModelName="m",
        PrimaryContainer={
            "Image": IMAGES[engine],
            "Environment": ENVIRONMENTS[engine] if env is None else env,
        },
        ExecutionRoleArn=builders.ROLE,
    )
    builders.model_config(sm, "cfg", "m")  # ml.g5.2xlarge: one GPU
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    admin.settle()
    described: dict[str, Any] = sm.describe_endpoint(EndpointName="ep")
    return described


def invoke(rt: Any, body: dict[str, Any]) -> Any:
    response = rt.invoke_endpoint(
        EndpointName="ep", Body=json.dumps(body).encode(), ContentType="application/json"
    )
    return json.loads(response["Body"].read())


def stream(rt: Any, body: dict[str, Any]) -> list[bytes]:
    response = rt.invoke_endpoint_with_response_stream(
        EndpointName="ep", Body=json.dumps(body).encode(), ContentType="application/json"
    )
    assert response["InvokedProductionVariant"] == "AllTraffic"
    return [event["PayloadPart"]["Bytes"] for event in response["Body"]]


def sse(parts: list[bytes]) -> list[Any]:
    """The JSON events of a server-sent event stream, up to [DONE]."""
    events = []
    for part in parts:
        data = part.decode().strip().removeprefix("data:").strip()
        if data == "[DONE]":
            break
        events.append(json.loads(data))
    return events


def refusal(rt: Any, body: dict[str, Any], *, stream: bool = False) -> tuple[int, Any]:
    """The container's own refusal behind a ModelError: (its status, its JSON body)."""
    from botocore.exceptions import ClientError

    call = rt.invoke_endpoint_with_response_stream if stream else rt.invoke_endpoint
    try:
        call(EndpointName="ep", Body=json.dumps(body).encode(), ContentType="application/json")
    except ClientError as raised:
        response = raised.response
        assert response["Error"]["Code"] == "ModelError", response["Error"]
        return int(response["OriginalStatusCode"]), json.loads(response["OriginalMessage"])
    raise AssertionError("the request was answered")
