"""What a container answers: the text (or tool call) it generates, in its engine's shape.

The text comes from a tiny deterministic generator (a hash of model and prompt picks
words and where the model would stop), so tests can assert on it and nothing
downloads a model. An answer is a list of parts, each with the number of tokens the
model generates before the part can be written: the server paces them by the
emulator's per-token time, so a stream arrives as it is produced.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .chat_requests import Request
from .engine_errors import Engine

_WORDS = tuple(
    " ".join(
        (
            "the model answers with tokens drawn from a small fixed vocabulary so that every",
            "run of the emulator gives the same text for the same prompt and model while still",
            "looking like language to a person reading a test log",
        )
    ).split()
)
NATURAL_MIN = 64  # the model "stops" (its end-of-sequence token) after 64 to 127 tokens


@dataclass(frozen=True)
class Part:
    data: bytes
    tokens: int  # tokens generated before this part can be written


@dataclass(frozen=True)
class Answer:
    parts: list[Part]
    prompt_tokens: int
    completion_tokens: int

    @property
    def body(self) -> bytes:
        return b"".join(part.data for part in self.parts)


def _seed(model_id: str, text: str) -> bytes:
    return hashlib.sha256(f"{model_id}\0{text}".encode()).digest()


def generate(model_id: str, prompt: str, max_new_tokens: int) -> list[str]:
    words = []
    seed = _seed(model_id, prompt)
    for index in range(max_new_tokens):
        if index % 32 == 0 and index:
            seed = hashlib.sha256(seed).digest()
        words.append(_WORDS[seed[index % 32] % len(_WORDS)])
    return [" " + w for w in words]


def natural_length(model_id: str, prompt: str) -> int:
    """Where the model would stop on its own: NATURAL_MIN to 2 * NATURAL_MIN - 1 tokens."""
    return NATURAL_MIN + hashlib.sha256(_seed(model_id, prompt)).digest()[0] % NATURAL_MIN


def budget(request: Request, model_id: str, room: int) -> tuple[int, str]:
    """(tokens generated, finish_reason): max_tokens, or where the model stops, or the
    context's end, whichever comes first."""
    natural = natural_length(model_id, request.seed_text)
    cap = request.max_tokens if request.max_tokens is not None else request.default_max_tokens
    cap = room if cap is None else min(cap, room)
    return (natural, "stop") if natural < cap else (cap, "length")


def _ident(model_id: str, prompt: str) -> str:
    return hashlib.sha256(f"{model_id}\0{prompt}\0id".encode()).hexdigest()[:24]


def _sse(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _paced(chunks: list[bytes]) -> list[Part]:
    """One part per generated token; the first waits for the first token."""
    return [Part(chunk, 1) for chunk in chunks]


# -- tool calls ------------------------------------------------------------------------


def _value(schema: Any, words: list[str], index: int) -> Any:
    schema = schema if isinstance(schema, dict) else {}
    word = words[index % len(words)].strip()
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][index % len(schema["enum"])]
    kind = schema.get("type")
    if kind == "integer":
        return index + 1
    if kind == "number":
        return index + 0.5
    if kind == "boolean":
        return index % 2 == 0
    if kind == "array":
        return [_value(schema.get("items"), words, index + 1)]
    if kind == "object":
        return _object(schema, words, index + 1)
    return word


def _object(schema: dict[str, Any], words: list[str], start: int = 0) -> dict[str, Any]:
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return {}
    required = [p for p in schema.get("required") or [] if p in properties]
    names = required or list(properties)
    return {name: _value(properties[name], words, start + i) for i, name in enumerate(names)}


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON, as OpenAI servers send it


def pick_tool(
    engine: Engine, request: Request, environment: dict[str, str], model_id: str
) -> tuple[dict[str, Any], bool] | None:
    """The tool the model calls, and whether the choice was `auto`; None: it answers text.

    `auto` calls a tool unless the conversation ends with a tool's result (then the
    model answers in words), so a round trip ends; `required` and a named tool always
    call. SGLang and LMI parse tool calls only with a tool-call parser configured.
    """
    choice = request.tool_choice
    if not request.tools or choice in (None, "none"):
        return None
    if isinstance(choice, dict):
        wanted = choice["function"]["name"]
        return next(t for t in request.tools if t["function"]["name"] == wanted), False
    if choice == "auto":
        if engine == "sglang" and not environment.get("SM_SGLANG_TOOL_CALL_PARSER"):
            return None
        if engine == "lmi" and not environment.get("OPTION_TOOL_CALL_PARSER"):
            return None
        if request.last_role == "tool":
            return None
    index = _seed(model_id, request.seed_text)[1] % len(request.tools)
    return request.tools[index], choice == "auto"


def tool_call(engine: Engine, tool: dict[str, Any], model_id: str, request: Request) -> ToolCall:
    function = tool["function"]
    words = generate(model_id, request.seed_text, 8)
    arguments = json.dumps(_object(function.get("parameters") or {}, words))
    ident = _ident(model_id, request.seed_text + function["name"])
    call_id = f"chatcmpl-tool-{ident}" if engine in ("vllm", "lmi") else f"call_{ident}"
    return ToolCall("0" if engine == "tgi" else call_id, function["name"], arguments)


# -- the engines' shapes -----------------------------------------------------------------


def _message(
    engine: Engine, tokens: list[str], call: tuple[ToolCall, bool] | None
) -> dict[str, Any]:
    """The assistant message of a whole answer. vLLM: `auto` answers content null, a
    named or required choice (structured output) content ""; TGI 2.x sends a call's
    arguments as an object and the call's id as "0"."""
    message: dict[str, Any] = {"role": "assistant", "content": "".join(tokens)}
    if call is None:
        return message
    tool, auto = call
    function: dict[str, Any] = {"name": tool.name, "arguments": tool.arguments}
    if engine == "tgi":
        function = {"description": None, "name": tool.name, "arguments": json.loads(tool.arguments)}
    message["content"] = "" if not auto and engine == "vllm" else None
    message["tool_calls"] = [{"id": tool.id, "type": "function", "function": function}]
    return message


def _deltas(tokens: list[str], call: tuple[ToolCall, bool] | None) -> list[dict[str, Any]]:
    """A streamed answer's deltas: the role first, then one per token (a call's head with
    its name, then its arguments piece by piece)."""
    if call is None:
        return [{"role": "assistant", "content": ""}, *({"content": t} for t in tokens)]
    tool = call[0]
    head = {"index": 0, "id": tool.id, "type": "function"}
    head["function"] = {"name": tool.name, "arguments": ""}
    pieces = tool.arguments.split(" ")
    spaces = [" "] * (len(pieces) - 1) + [""]
    return [{"role": "assistant", "content": None, "tool_calls": [head]}] + [
        {"tool_calls": [{"index": 0, "function": {"arguments": piece + space}}]}
        for piece, space in zip(pieces, spaces, strict=True)
    ]


def chat(
    engine: Engine,
    name: str,
    request: Request,
    tokens: list[str],
    finish: str,
    created: int,
    call: tuple[ToolCall, bool] | None,
) -> list[Part]:
    base = {"id": f"chatcmpl-{_ident(name, request.seed_text)}", "created": created, "model": name}
    completion = len(call[0].arguments.split(" ")) if call else len(tokens)
    usage = _usage(request.prompt_tokens, completion)
    if call is not None:  # vLLM ends a named or required call with the generation's reason
        finish = "tool_calls" if call[1] or engine != "vllm" else "stop"
    if not request.stream:
        message = _message(engine, tokens, call)
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        body = {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
        return [Part(json.dumps(body).encode(), completion)]
    deltas = _deltas(tokens, call)
    chunks = []
    for index, delta in enumerate(deltas):
        last = index == len(deltas) - 1
        item = {
            "index": 0,
            "delta": delta,
            "logprobs": None,
            "finish_reason": finish if last else None,
        }
        chunks.append({**base, "object": "chat.completion.chunk", "choices": [item]})
    # vLLM writes the role chunk with the first token: [1, 0, 1, 1, ...] tokens before each.
    costs = [1, 0] + [1] * (len(chunks) - 2)
    parts = [Part(line, cost) for line, cost in zip(_lines(engine, chunks), costs, strict=False)]
    if request.include_usage:
        final = {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}
        parts.append(Part(_lines(engine, [final])[0], 0))
    if engine != "lmi":
        parts.append(Part(b"data: [DONE]\n\n", 0))
    return parts


def _lines(engine: Engine, chunks: list[dict[str, Any]]) -> list[bytes]:
    """Server-sent events; LMI streams chat chunks as JSON lines."""
    if engine == "lmi":
        return [json.dumps(c).encode() + b"\n" for c in chunks]
    return [_sse(c) for c in chunks]


def completion(
    name: str, request: Request, tokens: list[str], finish: str, created: int
) -> list[Part]:
    base = {
        "id": f"cmpl-{_ident(name, request.seed_text)}",
        "object": "text_completion",
        "created": created,
    }
    base["model"] = name
    usage = _usage(request.prompt_tokens, len(tokens))
    if not request.stream:
        choice = {"index": 0, "text": "".join(tokens), "logprobs": None, "finish_reason": finish}
        return [
            Part(json.dumps({**base, "choices": [choice], "usage": usage}).encode(), len(tokens))
        ]
    out = []
    for index, token in enumerate(tokens):
        last = index == len(tokens) - 1
        choice = {
            "index": 0,
            "text": token,
            "logprobs": None,
            "finish_reason": finish if last else None,
        }
        out.append(_sse({**base, "choices": [choice]}))
    parts = _paced(out)
    if request.include_usage:
        parts.append(Part(_sse({**base, "choices": [], "usage": usage}), 0))
    return [*parts, Part(b"data: [DONE]\n\n", 0)]


def tgi_generate(tokens: list[str], text: str, stream: bool) -> list[Part]:
    if not stream:
        return [Part(json.dumps([{"generated_text": text}]).encode(), len(tokens))]
    out = []
    for index, token in enumerate(tokens):
        last = index == len(tokens) - 1
        event = {
            "index": index + 1,
            "token": {"id": 1000 + index, "text": token, "logprob": -0.5, "special": False},
            "generated_text": text if last else None,
            "details": None,
        }
        out.append(b"data:" + json.dumps(event).encode() + b"\n\n")
    return _paced(out)


def lmi_generate(tokens: list[str], text: str, stream: bool) -> list[Part]:
    if not stream:
        return [Part(json.dumps({"generated_text": text}).encode(), len(tokens))]
    out = []
    for index, token in enumerate(tokens):
        last = index == len(tokens) - 1
        line = {
            "token": {"id": 1000 + index, "text": token, "log_prob": -0.5},
            "generated_text": text if last else None,
            "details": None,
        }
        out.append(json.dumps(line).encode() + b"\n")
    return _paced(out)
