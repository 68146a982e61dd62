"""OpenAI chat completions as vLLM and SGLang take them: every message shape the API
defines, tools and tool_choice answered with tool calls, usage, and the engine's own
refusal of a shape the API does not define."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sagemaker_emulator.admin import AdminClient
from tests.emulator.serving import ENVIRONMENTS, invoke, refusal, serve, sse, stream

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer"},
            },
            "required": ["city", "unit"],
        },
    },
}
TIME = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
TOOL_PARSER = {"SM_VLLM_ENABLE_AUTO_TOOL_CHOICE": "true", "SM_VLLM_TOOL_CALL_PARSER": "llama3_json"}
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}

VALID_CONVERSATIONS = {
    "system and user": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ],
    "developer message": [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
    ],
    "content parts": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
            ],
        }
    ],
    "assistant tool call without content, then the tool's result": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21 C"},
    ],
    "assistant content null with a tool call, tool result as parts": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "sunny"}]},
    ],
    "assistant content as parts and a name": [
        {"role": "user", "content": "Hi", "name": "ada"},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello."}]},
        {"role": "user", "content": "Again"},
    ],
}


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
@pytest.mark.parametrize("name", list(VALID_CONVERSATIONS))
def test_every_message_shape_the_api_defines_is_answered(
    sm: Any, rt: Any, emulator_admin: AdminClient, engine: str, name: str
) -> None:
    serve(sm, emulator_admin, engine)
    body = invoke(rt, {"messages": VALID_CONVERSATIONS[name], "max_tokens": 4})
    (choice,) = body["choices"]
    assert choice["message"]["role"] == "assistant"
    assert len(choice["message"]["content"].split()) == 4
    assert body["usage"]["completion_tokens"] == 4
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + 4


INVALID = {
    "a tool message without tool_call_id": (
        [{"role": "tool", "content": "sunny"}],
        ("messages", 0, "tool_call_id"),
    ),
    "a user message without content": ([{"role": "user"}], ("messages", 0, "content")),
    "an unknown role": ([{"role": "robot", "content": "beep"}], ("messages", 0, "role")),
    "a content part of no known type": (
        [{"role": "user", "content": [{"type": "hologram", "data": "x"}]}],
        ("messages", 0, "content", 0, "type"),
    ),
    "a tool call without a function name": (
        [{"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {}}]}],
        ("messages", 0, "tool_calls", 0, "function", "name"),
    ),
    "no messages": ([], ("messages",)),
}


@pytest.mark.parametrize("name", list(INVALID))
def test_shapes_the_api_does_not_define_are_refused_in_each_engines_words(
    sm: Any, rt: Any, emulator_admin: AdminClient, name: str
) -> None:
    messages, where = INVALID[name]
    serve(sm, emulator_admin, "sglang")
    status, body = refusal(rt, {"messages": messages})
    assert status == 400
    assert (body["object"], body["type"], body["code"]) == ("error", "Bad Request", 400)
    assert repr(("body", *where)) in body["message"]
    sm.delete_endpoint(EndpointName="ep")
    sm.delete_endpoint_config(EndpointConfigName="cfg")
    sm.delete_model(ModelName="m")
    emulator_admin.settle()
    # vLLM's SageMaker route tries each request model and names them when none fits.
    serve(sm, emulator_admin, "vllm")
    status, body = refusal(rt, {"messages": messages})
    assert status == 400
    assert body == {
        "error": {
            "message": "Cannot find suitable handler for request. Expected one of: "
            "['ChatCompletionRequest', 'CompletionRequest']",
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        }
    }


@pytest.mark.parametrize(
    ("request_body", "words"),
    [
        (
            {"tool_choice": "required"},
            "When using `tool_choice`, `tools` must be set.",
        ),
        (
            {"tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "The tool specified in `tool_choice` does not match any of the specified `tools`",
        ),
        ({"stream_options": {"include_usage": True}}, "Stream options can only be defined when"),
    ],
)
def test_vllms_own_checks_of_tools_and_stream_options(
    sm: Any, rt: Any, emulator_admin: AdminClient, request_body: dict[str, Any], words: str
) -> None:
    serve(sm, emulator_admin, "sglang")
    status, body = refusal(rt, {"messages": [{"role": "user", "content": "Hi"}], **request_body})
    assert status == 400 and words in body["message"]


def test_a_tool_call_round_trip_is_deterministic(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    serve(sm, emulator_admin, "vllm", {**ENVIRONMENTS["vllm"], **TOOL_PARSER})
    ask = {"messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": [WEATHER]}
    first = invoke(rt, ask)
    assert invoke(rt, ask) == first
    (choice,) = first["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] is None
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function" and call["id"].startswith("chatcmpl-tool-")
    assert call["function"]["name"] == "get_weather"
    arguments = json.loads(call["function"]["arguments"])
    assert set(arguments) == {"city", "unit"} and arguments["unit"] in ("celsius", "fahrenheit")

    answered = {
        **ask,
        "messages": [
            *ask["messages"],
            {"role": "assistant", "tool_calls": [call]},
            {"role": "tool", "tool_call_id": call["id"], "content": "sunny, 21 C"},
        ],
        "max_tokens": 6,
    }
    final = invoke(rt, answered)["choices"][0]
    assert "tool_calls" not in final["message"] and len(final["message"]["content"].split()) == 6

    required = invoke(rt, {**answered, "tool_choice": "required"})["choices"][0]
    assert required["message"]["content"] == "" and required["finish_reason"] == "stop"
    assert len(required["message"]["tool_calls"]) == 1
    named = {**answered, "tools": [WEATHER, TIME]}
    named["tool_choice"] = {"type": "function", "function": {"name": "get_time"}}
    (call,) = invoke(rt, named)["choices"][0]["message"]["tool_calls"]
    assert call["function"] == {"name": "get_time", "arguments": "{}"}
    none = invoke(rt, {**ask, "tool_choice": "none", "max_tokens": 3})["choices"][0]
    assert none["finish_reason"] == "length" and "tool_calls" not in none["message"]


def test_auto_tool_choice_needs_the_parser_flags_on_vllm(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    serve(sm, emulator_admin, "vllm")
    status, body = refusal(
        rt, {"messages": [{"role": "user", "content": "Hi"}], "tools": [WEATHER]}
    )
    assert status == 400
    assert body["error"]["message"] == (
        '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
    )
    required = {"messages": [{"role": "user", "content": "Hi"}], "tools": [WEATHER]}
    answer = invoke(rt, {**required, "tool_choice": "required"})["choices"][0]
    assert answer["message"]["tool_calls"][0]["function"]["name"] == "get_weather"


def test_sglang_without_a_tool_call_parser_answers_in_words(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    serve(sm, emulator_admin, "sglang")
    ask = {"messages": [{"role": "user", "content": "Hi"}], "tools": [WEATHER], "max_tokens": 3}
    assert len(invoke(rt, ask)["choices"][0]["message"]["content"].split()) == 3
    sm.delete_endpoint(EndpointName="ep")
    sm.delete_endpoint_config(EndpointConfigName="cfg")
    sm.delete_model(ModelName="m")
    emulator_admin.settle()
    serve(
        sm,
        emulator_admin,
        "sglang",
        {**ENVIRONMENTS["sglang"], "SM_SGLANG_TOOL_CALL_PARSER": "qwen25"},
    )
    choice = invoke(rt, ask)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"][0]["id"].startswith("call_")


def test_tgi_sends_a_calls_arguments_as_an_object(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    serve(sm, emulator_admin, "tgi")
    ask = {"messages": [{"role": "user", "content": "Weather?"}], "tools": [WEATHER]}
    (call,) = invoke(rt, ask)["choices"][0]["message"]["tool_calls"]
    assert call["id"] == "0" and set(call["function"]["arguments"]) == {"city", "unit"}


@pytest.mark.parametrize("engine", ["vllm", "sglang"])
def test_a_streamed_tool_call_arrives_in_pieces(
    sm: Any, rt: Any, emulator_admin: AdminClient, engine: str
) -> None:
    serve(sm, emulator_admin, engine)
    ask = {"messages": [{"role": "user", "content": "Weather?"}], "tools": [WEATHER]}
    ask["tool_choice"] = {"type": "function", "function": {"name": "get_weather"}}
    whole = invoke(rt, ask)["choices"][0]["message"]["tool_calls"][0]
    chunks = sse(stream(rt, {**ask, "stream": True}))
    head = chunks[0]["choices"][0]["delta"]["tool_calls"][0]
    assert (head["id"], head["function"]["name"]) == (whole["id"], "get_weather")
    arguments = "".join(
        c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] for c in chunks
    )
    assert json.loads(arguments) == json.loads(whole["function"]["arguments"])
    assert len(chunks) > 3


@pytest.mark.parametrize("engine", ["vllm", "sglang", "lmi"])
def test_include_usage_ends_the_stream_with_a_usage_chunk(
    sm: Any, rt: Any, emulator_admin: AdminClient, engine: str
) -> None:
    serve(sm, emulator_admin, engine)
    ask = {"messages": [{"role": "user", "content": "What is SageMaker?"}], "max_tokens": 5}
    usage = invoke(rt, ask)["usage"]
    assert usage == {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9}
    parts = stream(rt, {**ask, "stream": True, "stream_options": {"include_usage": True}})
    chunks = [json.loads(p) for p in parts] if engine == "lmi" else sse(parts)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == usage
    assert all("usage" not in c for c in chunks[:-1])
    without = stream(rt, {**ask, "stream": True})
    assert all(
        "usage" not in c
        for c in ([json.loads(p) for p in without] if engine == "lmi" else sse(without))
    )


def test_completions_carry_usage_too(sm: Any, rt: Any, emulator_admin: AdminClient) -> None:
    serve(sm, emulator_admin, "vllm")
    ask = {"prompt": "Once upon a time", "max_tokens": 3}
    assert invoke(rt, ask)["usage"] == {
        "prompt_tokens": 4,
        "completion_tokens": 3,
        "total_tokens": 7,
    }
    chunks = sse(stream(rt, {**ask, "stream": True, "stream_options": {"include_usage": True}}))
    assert chunks[-1]["usage"]["completion_tokens"] == 3 and chunks[-1]["choices"] == []


def test_a_model_name_vllm_does_not_serve_is_not_found(
    sm: Any, rt: Any, emulator_admin: AdminClient
) -> None:
    serve(sm, emulator_admin, "vllm")
    ask = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}
    assert invoke(rt, {**ask, "model": "org/model-7b"})["model"] == "org/model-7b"
    status, body = refusal(rt, {**ask, "model": "gpt-4o"})
    assert status == 404
    assert body["error"] == {
        "message": "The model `gpt-4o` does not exist.",
        "type": "NotFoundError",
        "param": "model",
        "code": 404,
    }
