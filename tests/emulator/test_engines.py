"""The emulated containers: each engine answers in its own shape, streamed or not, and a
container that cannot start fails its endpoint or component as SageMaker reports it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagemaker_emulator.admin import AdminClient
from tests.emulator import builders
from tests.emulator.serving import CHAT, ENVIRONMENTS, IMAGES, invoke, serve, sse, stream


@pytest.mark.parametrize("engine", ["vllm", "sglang", "lmi"])
def test_openai_engines_answer_chat_completions(
    sm: Any, rt: Any, emulator_admin: AdminClient, engine: str
) -> None:
    assert serve(sm, emulator_admin, engine)["EndpointStatus"] == "InService"
    body = invoke(rt, CHAT)
    assert body["object"] == "chat.completion"
    assert body["model"] == "org/model-7b"
    (choice,) = body["choices"]
    assert choice["message"]["role"] == "assistant"
    assert len(choice["message"]["content"].split()) == 5
    assert body["usage"]["completion_tokens"] == 5
    again = invoke(rt, CHAT)  # deterministic, but for the second it was created in
    assert {**again, "created": body["created"]} == body


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_openai_engines_stream_chat_chunks_as_server_sent_events(
    sm: Any, rt: Any, emulator_admin: AdminClient, engine: str
) -> None:
    serve(sm, emulator_admin, engine)
    parts = stream(rt, {**CHAT, "stream": True})
    assert parts[-1] == b"data: [DONE]\n\n"
    chunks = sse(parts)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == invoke(rt, CHAT)["choices"][0]["message"]["content"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_vllm_answers_completions_and_refuses_tgi_bodies(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    serve(sm, emulator_admin, "vllm")
    body = invoke(rt, {"prompt": "Once", "max_tokens": 3})
    assert body["object"] == "text_completion" and len(body["choices"][0]["text"].split()) == 3
    code, message = builders.error(rt.invoke_endpoint, EndpointName="ep", Body=b'{"inputs": "Hi"}')
    assert code == "ModelError" and "Cannot find suitable handler for request" in message


def test_tgi_answers_generated_text_and_streams_token_events(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    serve(sm, emulator_admin, "tgi")
    request = {"inputs": "What is SageMaker?", "parameters": {"max_new_tokens": 4}}
    (whole,) = invoke(rt, request)
    events = sse(stream(rt, {**request, "stream": True}))
    assert [e["token"]["text"] for e in events] == [
        " " + w for w in whole["generated_text"].split()
    ]
    assert events[-1]["generated_text"] == whole["generated_text"]
    assert events[0]["generated_text"] is None
    assert invoke(rt, CHAT)["object"] == "chat.completion"  # TGI's Messages API


def test_lmi_answers_its_own_generate_shape_and_streams_json_lines(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    serve(sm, emulator_admin, "lmi")
    request = {"inputs": "What is SageMaker?", "parameters": {"max_new_tokens": 4}}
    whole = invoke(rt, request)
    assert set(whole) == {"generated_text"}
    lines = [json.loads(p) for p in stream(rt, {**request, "stream": True})]
    assert "".join(line["token"]["text"] for line in lines) == whole["generated_text"]
    assert lines[-1]["generated_text"] == whole["generated_text"]


def test_a_non_streaming_answer_comes_back_whole_from_the_stream_api(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    serve(sm, emulator_admin, "vllm")
    (part,) = stream(rt, CHAT)
    assert json.loads(part) == invoke(rt, CHAT)


@pytest.mark.parametrize(
    ("engine", "env", "words"),
    [
        ("vllm", {"SM_VLLM_MAX_MODEL_LEN": "4096"}, "set SM_VLLM_MODEL or HF_MODEL_ID"),
        ("sglang", {}, "the following arguments are required: --model-path"),
        ("lmi", {"OPTION_ROLLING_BATCH": "vllm"}, "set HF_MODEL_ID or option.model_id"),
        (
            "vllm",
            {"SM_VLLM_MODEL": "org/m", "SM_VLLM_TENSOR_PARALLEL_SIZE": "4"},
            "Tensor parallel size (4) cannot be larger than the number of available GPUs (1)",
        ),
        ("tgi", {"HF_MODEL_ID": "org/m", "SM_NUM_GPUS": "8"}, "greater than the number of"),
    ],
)
def test_a_container_that_cannot_start_fails_the_endpoint_in_its_own_words(
    sm: Any, emulator_admin: AdminClient, engine: str, env: dict[str, str], words: str
) -> None:
    described = serve(sm, emulator_admin, engine, env)
    assert described["EndpointStatus"] == "Failed"
    reason = described["FailureReason"]
    assert "did not pass the ping health check" in reason and words in reason


def test_a_component_whose_container_cannot_start_fails(
    sm: Any, emulator_admin: AdminClient
) -> None:
    sm.create_model(
        ModelName="llm-model",
        PrimaryContainer={
            "Image": IMAGES["vllm"],
            "Environment": {"SM_VLLM_MODEL": "org/m", "SM_VLLM_TENSOR_PARALLEL_SIZE": "2"},
        },
        ExecutionRoleArn=builders.ROLE,
    )
    builders.component_config(sm, "cfg")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    emulator_admin.settle()
    builders.component(sm, "ic", "ep", gpus=1)
    emulator_admin.settle()
    described = sm.describe_inference_component(InferenceComponentName="ic")
    assert described["InferenceComponentStatus"] == "Failed"
    assert "inference component ic" in described["FailureReason"]
    assert "Tensor parallel size (2)" in described["FailureReason"]


def test_an_adapter_answers_as_itself(sm: Any, rt: Any, emulator_admin: AdminClient) -> None:
    sm.create_model(
        ModelName="llm-model",
        PrimaryContainer={"Image": IMAGES["vllm"], "Environment": ENVIRONMENTS["vllm"]},
        ExecutionRoleArn=builders.ROLE,
    )
    builders.component_config(sm, "cfg")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    emulator_admin.settle()
    builders.component(sm, "ic", "ep")
    emulator_admin.settle()
    sm.create_inference_component(
        InferenceComponentName="ic-support",
        EndpointName="ep",
        Specification={
            "BaseInferenceComponentName": "ic",
            "Container": {"ArtifactUrl": "s3://bucket/adapters/support.tar.gz"},
        },
    )
    emulator_admin.settle()

    def chat(component: str) -> Any:
        response = rt.invoke_endpoint(
            EndpointName="ep", InferenceComponentName=component, Body=json.dumps(CHAT).encode()
        )
        return json.loads(response["Body"].read())

    base, adapter = chat("ic"), chat("ic-support")
    assert base["model"] == "org/model-7b"
    assert adapter["model"] == "ic-support"
    assert adapter["choices"][0]["message"] != base["choices"][0]["message"]
