"""How to talk to a serving engine: request bodies and where the text is in the answers.

One table, one entry per engine, so `llm-operator invoke` builds the request in
the shape the LLMEndpoint's container reads (which engine that is, `engines.effective`
decides). Engines that speak the OpenAI chat API (vLLM, SGLang, LMI) share one
shape: adding such an engine is one line in `ENGINES`. Embedding engines (TEI) take
no prompt: `embed_request` and `rerank_request` build their bodies, and
`decode_embeddings` / `decode_scores` read their answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class AnswerError(ValueError):
    """The container answered something that is not this engine's shape."""


@dataclass(frozen=True)
class Engine:
    """Request and answer shapes of one serving engine's HTTP API."""

    name: str
    # (prompt, max_tokens, stream) -> the JSON body to send.
    request: Callable[[str, int, bool], Mapping[str, Any]]
    # The whole JSON answer -> the generated text.
    answer: Callable[[Any], str]
    # One streamed event's JSON -> the text it adds ("" for none).
    token: Callable[[Any], str]


def _tgi_request(prompt: str, max_tokens: int, stream: bool) -> Mapping[str, Any]:
    body: dict[str, Any] = {"inputs": prompt, "parameters": {"max_new_tokens": max_tokens}}
    if stream:
        body["stream"] = True
    return body


def _tgi_answer(answer: Any) -> str:
    first = answer[0] if isinstance(answer, list) and answer else answer
    if isinstance(first, Mapping) and isinstance(first.get("generated_text"), str):
        return str(first["generated_text"])
    raise AnswerError("no generated_text in the answer")


def _tgi_token(event: Any) -> str:
    token = event.get("token") if isinstance(event, Mapping) else None
    if isinstance(token, Mapping) and not token.get("special"):
        return str(token.get("text") or "")
    return ""


def _chat_request(prompt: str, max_tokens: int, stream: bool) -> Mapping[str, Any]:
    return {
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": max_tokens,
        "stream": stream,
    }


def _chat_answer(answer: Any) -> str:
    try:
        return str(answer["choices"][0]["message"]["content"] or "")
    except (KeyError, IndexError, TypeError):
        raise AnswerError("no choices[0].message.content in the answer") from None


def _chat_token(event: Any) -> str:
    try:
        return str(event["choices"][0]["delta"].get("content") or "")
    except (KeyError, IndexError, TypeError, AttributeError):
        return ""


def _tei_request(prompt: str, max_tokens: int, stream: bool) -> Mapping[str, Any]:
    return {"inputs": prompt}


def _tei_answer(answer: Any) -> str:
    vectors = _vectors(answer)
    return "; ".join(describe_vector(v) for v in vectors)


TGI = Engine("tgi", _tgi_request, _tgi_answer, _tgi_token)
# A prompt sent to TEI is embedded; its answer is described, not generated text.
TEI = Engine("tei", _tei_request, _tei_answer, lambda event: "")
OPENAI_CHAT = Engine("openai-chat", _chat_request, _chat_answer, _chat_token)

ENGINES: Mapping[str, Engine] = {
    "tgi": TGI,
    "vllm": OPENAI_CHAT,
    "sglang": OPENAI_CHAT,
    "lmi": OPENAI_CHAT,
    "tei": TEI,
}
# Engines whose answers are vectors and scores, not text (api.engines.EMBEDDING_ENGINES).
EMBEDDING = frozenset({"tei"})


def embed_request(texts: list[str]) -> bytes:
    """TEI's embedding request: one input as a string, several as a list."""
    return json.dumps({"inputs": texts[0] if len(texts) == 1 else texts}).encode()


def rerank_request(query: str, texts: list[str]) -> bytes:
    return json.dumps({"query": query, "texts": texts}).encode()


def _vectors(answer: Any) -> list[list[float]]:
    if (
        isinstance(answer, list)
        and answer
        and all(
            isinstance(v, list) and v and all(isinstance(x, int | float) for x in v) for v in answer
        )
    ):
        return [[float(x) for x in v] for v in answer]
    raise AnswerError("no list of embedding vectors in the answer")


def decode_embeddings(body: bytes) -> list[list[float]]:
    try:
        answer = json.loads(body)
    except ValueError:
        raise AnswerError("the answer is not JSON") from None
    return _vectors(answer)


def decode_scores(body: bytes) -> list[tuple[int, float]]:
    """(index into texts, score) pairs, best first as TEI sends them."""
    try:
        answer = json.loads(body)
    except ValueError:
        raise AnswerError("the answer is not JSON") from None
    try:
        return [(int(row["index"]), float(row["score"])) for row in answer]
    except (KeyError, TypeError, ValueError):
        raise AnswerError("no list of {index, score} in the answer") from None


def describe_vector(vector: list[float], first: int = 5) -> str:
    """`384 dimensions: [0.0123, -0.0456, ...]`: the size and the first values."""
    shown = ", ".join(f"{x:.4f}" for x in vector[:first])
    more = ", ..." if len(vector) > first else ""
    return f"{len(vector)} dimensions: [{shown}{more}]"


def engine(name: str) -> Engine:
    """The request and answer shapes of an engine (`engines.effective`); chat when unknown."""
    return ENGINES.get(name, OPENAI_CHAT)


def decode_answer(engine: Engine, body: bytes) -> str:
    try:
        answer = json.loads(body)
    except ValueError:
        raise AnswerError("the answer is not JSON") from None
    return engine.answer(answer)


class EventLines:
    """Splits a streamed body into server-sent events and yields their text.

    Stream chunks (PayloadParts) do not align with events: a chunk may hold half
    an event or several, so bytes are buffered until a line ends.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[str]:
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        return [text for line in lines if (text := self._text(line))]

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer, b""
        text = self._text(rest)
        return [text] if text else []

    def _text(self, line: bytes) -> str:
        data = line.strip()
        if data.startswith(b"data:"):
            data = data[len(b"data:") :].strip()
        if not data or data == b"[DONE]" or not data.startswith(b"{"):
            return ""
        try:
            return self.engine.token(json.loads(data))
        except ValueError:
            return ""


def encode_request(engine: Engine, prompt: str, max_tokens: int, stream: bool) -> bytes:
    return json.dumps(engine.request(prompt, max_tokens, stream)).encode()
