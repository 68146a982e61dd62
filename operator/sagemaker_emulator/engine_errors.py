"""The engines' own error answers, as their servers write them before SageMaker wraps them.

vLLM nests the error (`{"error": {"message", "type", "param", "code"}}`, vllm
entrypoints/openai/engine/serving.py); SGLang writes it flat with `"object": "error"`
(sglang srt/entrypoints/openai/serving_base.py); TGI answers 422 with
`{"error", "error_type"}`; LMI `{"error", "code"}`. A body SGLang's request model
rejects (pydantic) is typed "Bad Request" (its FastAPI handler), a request the engine
refuses after reading it "BadRequestError". vLLM's SageMaker route (/invocations) tries
each request model in turn and answers a body none accepts with one message,
VLLM_NO_HANDLER, whatever was wrong with it.
"""

from __future__ import annotations

import json
from typing import Any, Literal

Engine = Literal["vllm", "sglang", "lmi", "tgi", "tei"]
Kind = Literal["validation", "http", "request", "not_found"]
VLLM_NO_HANDLER = (
    "Cannot find suitable handler for request. Expected one of: "
    "['ChatCompletionRequest', 'CompletionRequest']"
)


class EngineRefusal(Exception):
    """The container answered an error: its HTTP status and body, as it sent them."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(body.decode(errors="replace"))
        self.status = status
        self.body = body


def _body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def refusal(
    engine: Engine,
    message: str,
    *,
    kind: Kind = "request",
    param: str | None = None,
) -> EngineRefusal:
    """The engine's answer to a request it will not serve.

    `validation`: the body does not fit the server's request model; `http`: the server
    refused it before reading it as a request (not JSON); `request`: the engine read it
    and refuses it (context length, tool choice); `not_found`: no such served model.
    """
    status = 404 if kind == "not_found" else 400
    if engine == "vllm" and kind == "validation":
        message, kind = VLLM_NO_HANDLER, "request"
    error_type = {
        "validation": "Bad Request",
        "http": "Bad Request",
        "request": "BadRequestError",
        "not_found": "NotFoundError",
    }[kind]
    if engine == "vllm":
        error = {"message": message, "type": error_type, "param": param, "code": status}
        return EngineRefusal(status, _body({"error": error}))
    if engine == "sglang":
        flat = {"object": "error", "message": message, "type": error_type}
        return EngineRefusal(status, _body({**flat, "param": None, "code": status}))
    if engine == "lmi":
        return EngineRefusal(status, _body({"error": message, "code": status}))
    return EngineRefusal(422, _body({"error": message, "error_type": "validation"}))


def stream_error_event(engine: Engine, message: str) -> bytes:
    """An error that arrives inside a stream already answered 200 (SGLang and TGI check the
    context while generating, so a streamed request learns of it as an event)."""
    if engine == "sglang":
        error = {"object": "error", "message": message, "type": "BadRequestError"}
        return b"data: " + _body({"error": {**error, "param": None, "code": 400}}) + b"\n\n"
    return b"data:" + _body({"error": message, "error_type": "validation"}) + b"\n\n"


def validation_message(problems: list[tuple[tuple[Any, ...], str, str]]) -> str:
    """pydantic's list of errors, as vLLM and SGLang put it in the message (the
    rejected input, which pydantic also echoes, left out)."""
    rendered = [
        {"type": kind, "loc": ("body", *where), "msg": message} for where, message, kind in problems
    ]
    return repr(rendered)
