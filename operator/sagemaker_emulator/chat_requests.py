"""Reading a request body the way each engine's server does, refusing what it refuses.

OpenAI chat completions accept every message shape the API defines: system,
developer and user messages with a string or a list of content parts, assistant
messages with `tool_calls` and no content, `tool` messages answering a
`tool_call_id`, plus `tools`, `tool_choice` and `stream_options`. vLLM's checks of
those (ChatCompletionRequest's validators) are reproduced with its words; a shape
the API does not define is refused as the server's request model refuses it.
TGI's and LMI's own `{"inputs", "parameters"}` body is read as before.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from .engine_errors import Engine, refusal, validation_message

Kind = Literal["chat", "completion", "generate"]
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
PART_TYPES = ("text", "image_url", "input_audio", "video_url", "file", "refusal")
Problem = tuple[tuple[Any, ...], str, str]  # where, what pydantic says, its error type


@dataclass(frozen=True)
class Request:
    kind: Kind
    seed_text: str  # what the generator hashes: the same prompt gives the same words
    prompt_tokens: int
    max_tokens: int | None  # None: until the model stops (or the context is full)
    stream: bool
    include_usage: bool = False
    full_text: bool = False
    model: str | None = None
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str | dict[str, Any] | None = None  # None, "none", "auto", "required", named
    last_role: str | None = None
    default_max_tokens: int | None = field(default=None)  # the engine's when unset


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _words(text: str) -> int:
    return len(text.split())


def _part_text(part: dict[str, Any]) -> str:
    return str(part.get("text") or part.get("refusal") or "")


def _content_problems(
    content: Any, where: tuple[Any, ...], parts: tuple[str, ...]
) -> list[Problem]:
    if isinstance(content, str):
        return []
    if not isinstance(content, list):
        return [(where, "Input should be a valid string", "string_type")]
    problems: list[Problem] = []
    for index, part in enumerate(content):
        at = (*where, index)
        if not isinstance(part, dict):
            problems.append((at, "Input should be a valid dictionary", "dict_type"))
        elif part.get("type") not in parts:
            allowed = ", ".join(f"'{p}'" for p in parts)
            problems.append(((*at, "type"), f"Input should be {allowed}", "literal_error"))
        elif part["type"] in ("text", "refusal") and not isinstance(part.get(part["type"]), str):
            problems.append(((*at, part["type"]), "Field required", "missing"))
        elif part["type"] == "image_url" and not isinstance(
            (part.get("image_url") or {}).get("url"), str
        ):
            problems.append(((*at, "image_url", "url"), "Field required", "missing"))
    return problems


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(_part_text(p) for p in content if isinstance(p, dict))
    return ""


def _message_problems(index: int, message: Any) -> list[Problem]:
    where: tuple[Any, ...] = ("messages", index)
    if not isinstance(message, dict):
        return [(where, "Input should be a valid dictionary", "dict_type")]
    role = message.get("role")
    if role is None:
        return [((*where, "role"), "Field required", "missing")]
    if role not in ROLES:
        allowed = ", ".join(f"'{r}'" for r in ROLES)
        return [((*where, "role"), f"Input should be {allowed}", "literal_error")]
    content = message.get("content")
    if role == "assistant":
        problems = (
            []
            if content is None
            else _content_problems(content, (*where, "content"), ("text", "refusal"))
        )
        calls = message.get("tool_calls")
        if calls is not None and not isinstance(calls, list):
            return [((*where, "tool_calls"), "Input should be a valid list", "list_type")]
        for number, call in enumerate(calls or []):
            at = (*where, "tool_calls", number)
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(call, dict) or not isinstance(call.get("id"), str):
                problems.append(((*at, "id"), "Field required", "missing"))
            elif call.get("type", "function") != "function":
                problems.append(((*at, "type"), "Input should be 'function'", "literal_error"))
            elif not isinstance(function, dict) or not isinstance(function.get("name"), str):
                problems.append(((*at, "function", "name"), "Field required", "missing"))
            elif not isinstance(function.get("arguments"), str):
                problems.append(((*at, "function", "arguments"), "Field required", "missing"))
        return problems
    if content is None:
        return [((*where, "content"), "Field required", "missing")]
    parts = ("text",) if role in ("tool", "system", "developer") else PART_TYPES[:-1]
    problems = _content_problems(content, (*where, "content"), parts)
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        problems.append(((*where, "tool_call_id"), "Field required", "missing"))
    if role == "function" and not isinstance(message.get("name"), str):
        problems.append(((*where, "name"), "Field required", "missing"))
    return problems


def _tool_problems(request: dict[str, Any]) -> tuple[list[Problem], list[str]]:
    """(shape problems, vLLM's value errors) of `tools` and `tool_choice`."""
    tools = request.get("tools")
    problems: list[Problem] = []
    if tools is not None and not isinstance(tools, list):
        return [(("tools",), "Input should be a valid list", "list_type")], []
    for index, tool in enumerate(tools or []):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type", "function") != "function":
            problems.append(
                (("tools", index, "type"), "Input should be 'function'", "literal_error")
            )
        elif not isinstance(function, dict) or not isinstance(function.get("name"), str):
            problems.append((("tools", index, "function", "name"), "Field required", "missing"))
        elif "parameters" in function and not isinstance(function["parameters"], dict | None):
            problems.append(
                (
                    ("tools", index, "function", "parameters"),
                    "Input should be a valid dictionary",
                    "dict_type",
                )
            )
    if problems or "tool_choice" not in request or request["tool_choice"] in (None, "none"):
        return problems, []
    choice = request["tool_choice"]
    if tools is None:
        return [], ["When using `tool_choice`, `tools` must be set."]
    if choice not in ("auto", "required") and not isinstance(choice, dict):
        return [], [
            f'Invalid value for `tool_choice`: {choice}! Only named tools, "none", "auto" '
            'or "required" are supported.'
        ]
    if isinstance(choice, dict):
        name = (
            (choice.get("function") or {}).get("name") if choice.get("type") == "function" else None
        )
        if not isinstance(name, str):
            return [], [
                "Expected field `type` to be `function` and `function.name` to be set in "
                "`tool_choice`"
            ]
        if name not in [(t.get("function") or {}).get("name") for t in tools]:
            return [], [
                "The tool specified in `tool_choice` does not match any of the specified `tools`"
            ]
    return [], []


def _openai(engine: Engine, request: dict[str, Any], kind: Kind) -> Request:
    problems: list[Problem] = []
    errors: list[str] = []
    if kind == "chat":
        messages = request["messages"]
        if not isinstance(messages, list):
            problems.append((("messages",), "Input should be a valid list", "list_type"))
            messages = []
        elif not messages:
            problems.append(
                (
                    ("messages",),
                    "List should have at least 1 item after validation, not 0",
                    "too_short",
                )
            )
        for index, message in enumerate(messages):
            problems.extend(_message_problems(index, message))
        shape, errors = _tool_problems(request)
        problems.extend(shape)
    elif not isinstance(request["prompt"], str):
        problems.append((("prompt",), "Input should be a valid string", "string_type"))
    limit_key = (
        "max_completion_tokens"
        if request.get("max_completion_tokens") is not None
        else "max_tokens"
    )
    limit = request.get(limit_key)
    if limit is not None and not _is_int(limit):
        problems.append(((limit_key,), "Input should be a valid integer", "int_type"))
    stream = request.get("stream", False)
    if not isinstance(stream, bool | None):
        problems.append((("stream",), "Input should be a valid boolean", "bool_type"))
    options = request.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            problems.append(
                (("stream_options",), "Input should be a valid dictionary", "dict_type")
            )
        elif not stream:
            errors.append("Stream options can only be defined when `stream=True`.")
    model = request.get("model")
    if model is not None and not isinstance(model, str):
        problems.append((("model",), "Input should be a valid string", "string_type"))
    if problems:
        raise refusal(engine, validation_message(problems), kind="validation")
    if errors:
        text = validation_message([((), f"Value error, {errors[0]}", "value_error")])
        raise refusal(engine, text, kind="validation")
    if limit is not None and limit < 1:
        raise refusal(engine, f"max_tokens must be at least 1, got {limit}.")
    if kind == "completion":
        prompt = str(request["prompt"])
        return Request(
            "completion",
            prompt,
            _words(prompt),
            limit,
            bool(stream),
            include_usage=bool((options or {}).get("include_usage")),
            model=model,
            default_max_tokens=16,  # the OpenAI completions default vLLM keeps
        )
    rendered, seed = [], []
    for message in request["messages"]:
        text = _text(message.get("content"))
        for call in message.get("tool_calls") or []:
            text += f" {call['function']['name']} {call['function']['arguments']}"
        seed.append(
            str(message.get("content")) if isinstance(message.get("content"), str) else text
        )
        rendered.append(f"{message['role']}: {text}")
    tools = tuple(request.get("tools") or ())
    tokens = sum(_words(line) for line in rendered) + sum(_words(json.dumps(t)) for t in tools)
    choice = request.get("tool_choice")
    if tools and choice is None:
        choice = "auto"  # vLLM's and OpenAI's default when tools are given
    if choice == "required" and not tools:
        choice = "none"
    return Request(
        "chat",
        "\n".join(seed),
        tokens,
        limit,
        bool(stream),
        include_usage=bool((options or {}).get("include_usage")),
        model=model,
        tools=tools,
        tool_choice=choice,
        last_role=str(request["messages"][-1].get("role")),
    )


def _generate(engine: Engine, request: dict[str, Any]) -> Request:
    inputs = request["inputs"]
    parameters = request.get("parameters") or {}
    if not isinstance(inputs, str) or not isinstance(parameters, dict):
        raise ValueError
    limit = parameters.get("max_new_tokens", 20)
    if not _is_int(limit):
        raise ValueError
    if limit < 1:
        if engine == "tgi":
            raise refusal(
                engine, "Input validation error: `max_new_tokens` must be strictly positive"
            )
        raise refusal(engine, f"max_new_tokens must be at least 1, got {limit}")
    return Request(
        "generate",
        inputs,
        _words(inputs),
        int(limit),
        bool(request.get("stream")),
        full_text=bool(parameters.get("return_full_text")),
    )


def parse(engine: Engine, body: bytes) -> Request:
    """The request, or the engine's refusal of it (an EngineRefusal)."""
    try:
        request: Any = json.loads(body or b"{}")
    except ValueError as error:
        if engine == "vllm":
            raise refusal(engine, f"JSON decode error: {error}", kind="http") from None
        request = None
    try:
        if isinstance(request, dict):
            if "messages" in request:
                return _openai(engine, request, "chat")
            if "prompt" in request and engine in ("vllm", "sglang"):
                return _openai(engine, request, "completion")
            if "inputs" in request and engine in ("tgi", "lmi"):
                return _generate(engine, request)
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    if engine in ("vllm", "sglang"):
        raise refusal(
            engine,
            "invalid request: send an OpenAI chat completion ('messages') or completion "
            "('prompt') body",
            kind="validation",
        )
    if engine == "lmi":
        raise refusal(engine, "Input is not a valid chat completion or 'inputs' request")
    raise refusal(engine, "Failed to deserialize the JSON body into the target type")
