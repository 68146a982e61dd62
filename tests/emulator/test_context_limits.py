"""A request longer than the model's context is refused at the engine's configured limit
(SM_VLLM_MAX_MODEL_LEN and its kin; the engine's default when unset), in its words."""

from __future__ import annotations

from typing import Any

import pytest

from sagemaker_emulator.admin import AdminClient
from tests.emulator.serving import ENVIRONMENTS, invoke, refusal, serve, sse, stream

# A prompt of 10 tokens: the role marker and nine words (one token per word).
TEN = {"messages": [{"role": "user", "content": "one two three four five six seven eight nine"}]}


def test_vllm_refuses_max_tokens_past_its_configured_length(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    serve(sm, emulator_admin, "vllm", {**ENVIRONMENTS["vllm"], "SM_VLLM_MAX_MODEL_LEN": "64"})
    assert invoke(rt, {**TEN, "max_tokens": 54})["usage"]["prompt_tokens"] == 10
    status, body = refusal(rt, {**TEN, "max_tokens": 55})
    assert status == 400
    assert body["error"] == {
        "message": "'max_tokens' or 'max_completion_tokens' is too large: 55. This model's "
        "maximum context length is 64 tokens and your request has 10 input tokens "
        "(55 > 64 - 10). (parameter=max_tokens, value=55)",
        "type": "BadRequestError",
        "param": "max_tokens",
        "code": 400,
    }
    long = {"messages": [{"role": "user", "content": "word " * 70}]}
    status, body = refusal(rt, {**long, "max_tokens": 1}, stream=True)
    assert (status, body["error"]["param"]) == (400, "input_tokens")
    assert body["error"]["message"].startswith(
        "This model's maximum context length is 64 tokens. However, your request has 71 "
        "input tokens. Please reduce the length of the input messages."
    )
    # Without max_tokens the answer stops at the end of the context.
    squeezed = {"messages": [{"role": "user", "content": "word " * 59}]}
    answer = invoke(rt, squeezed)["choices"][0]
    assert answer["finish_reason"] == "length" and len(answer["message"]["content"].split()) == 4


@pytest.mark.parametrize(
    ("model_id", "limit"),
    [("meta-llama/Llama-3.1-8B-Instruct", 131072), ("org/model-7b", 4096)],
)
def test_unset_the_limit_is_the_models(
    sm: Any, rt: Any, emulator_admin: AdminClient, model_id: str, limit: int
) -> None:
    serve(sm, emulator_admin, "vllm", {"SM_VLLM_MODEL": model_id})
    invoke(rt, {**TEN, "max_tokens": limit - 10})
    status, body = refusal(rt, {**TEN, "max_tokens": limit - 9})
    assert status == 400
    assert f"maximum context length is {limit} tokens" in body["error"]["message"]


def test_sglang_refuses_at_its_context_length_and_in_a_stream(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    serve(
        sm, emulator_admin, "sglang", {**ENVIRONMENTS["sglang"], "SM_SGLANG_CONTEXT_LENGTH": "64"}
    )
    invoke(rt, {**TEN, "max_tokens": 53})
    status, body = refusal(rt, {**TEN, "max_tokens": 54})  # SGLang needs one token spare
    words = (
        "Requested token count exceeds the model's maximum context length of 64 tokens. You "
        "requested a total of 64 tokens: 10 tokens from the input messages and 54 tokens for "
        "the completion."
    )
    assert status == 400 and body["type"] == "BadRequestError" and body["message"].startswith(words)
    # SGLang checks while it generates: a stream is answered and carries the error.
    parts = stream(rt, {**TEN, "max_tokens": 54, "stream": True})
    (event,) = sse(parts)
    assert event["error"]["message"].startswith(words) and event["error"]["code"] == 400
    assert parts[-1] == b"data: [DONE]\n\n"


def test_tgi_refuses_at_max_total_tokens_and_max_input_tokens(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    env = {**ENVIRONMENTS["tgi"], "MAX_TOTAL_TOKENS": "64", "MAX_INPUT_TOKENS": "20"}
    serve(sm, emulator_admin, "tgi", env)
    prompt = "one two three four five six seven eight nine ten"
    invoke(rt, {"inputs": prompt, "parameters": {"max_new_tokens": 54}})
    status, body = refusal(rt, {"inputs": prompt, "parameters": {"max_new_tokens": 55}})
    assert (status, body) == (
        422,
        {
            "error": "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 64. "
            "Given: 10 `inputs` tokens and 55 `max_new_tokens`",
            "error_type": "validation",
        },
    )
    status, body = refusal(rt, {"inputs": "word " * 21, "parameters": {"max_new_tokens": 1}})
    assert (
        body["error"] == "Input validation error: `inputs` must have less than 20 tokens. Given: 21"
    )


def test_tgi_2_caps_an_unset_limit_at_4096(sm: Any, rt: Any, emulator_admin: AdminClient) -> None:
    serve(sm, emulator_admin, "tgi", {"HF_MODEL_ID": "meta-llama/Llama-3.1-8B-Instruct"})
    invoke(rt, {"inputs": "Hi", "parameters": {"max_new_tokens": 4095}})
    _, body = refusal(rt, {"inputs": "Hi", "parameters": {"max_new_tokens": 4096}})
    assert "must be <= 4096" in body["error"]


def test_the_model_stops_on_its_own_before_a_generous_max_tokens(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    serve(sm, emulator_admin, "vllm")
    answer = invoke(rt, {**TEN, "max_tokens": 1000})["choices"][0]
    assert answer["finish_reason"] == "stop"
    assert 64 <= len(answer["message"]["content"].split()) < 128
