"""What a Text Embeddings Inference (TEI) container answers on /invocations.

TEI's SageMaker route reads the body as one of its own requests: `{"inputs": TEXT or
[TEXT, ...]}` embeds (a list of vectors, one per input, normalized as TEI does by
default) and `{"query": TEXT, "texts": [TEXT, ...]}` reranks (a list of
`{"index", "score"}`, best first). Vectors and scores come from a hash of model and text,
so each input always gets the same answer and nothing downloads a model. A body TEI
cannot read is refused as TEI refuses it: 422 with `{"error", "error_type"}`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import struct
from typing import Any

from .answers import Answer, Part
from .engine_errors import EngineRefusal

# TEI's default --max-client-batch-size.
DEFAULT_MAX_CLIENT_BATCH_SIZE = 32


def dimensions(model_id: str) -> int:
    """The vector size, as the common embedding models of each size have it."""
    name = model_id.lower()
    if "small" in name or "minilm" in name:
        return 384
    if "large" in name:
        return 1024
    return 768


def _refuse(message: str, kind: str = "Validation") -> EngineRefusal:
    return EngineRefusal(422, json.dumps({"error": message, "error_type": kind}).encode())


def embed(model_id: str, text: str) -> list[float]:
    """A unit vector for `text`, the same every time."""
    size = dimensions(model_id)
    raw: list[float] = []
    block = 0
    while len(raw) < size:
        digest = hashlib.sha256(f"{model_id}\0{text}\0{block}".encode()).digest()
        raw.extend(v / 2**31 - 1.0 for v in struct.unpack(">8I", digest))
        block += 1
    vector = raw[:size]
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [round(v / norm, 6) for v in vector]


def score(model_id: str, query: str, text: str) -> float:
    """How well `text` answers `query`: shared words count most, the hash breaks ties."""
    asked = set(re.findall(r"\w+", query.lower()))
    words = set(re.findall(r"\w+", text.lower()))
    overlap = len(asked & words) / len(asked) if asked else 0.0
    digest = hashlib.sha256(f"{model_id}\0{query}\0{text}".encode()).digest()
    noise = int.from_bytes(digest[:4], "big") / 2**32
    return round(0.8 * overlap + 0.2 * noise, 6)


def _texts(value: Any, field: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
        raise _refuse(f"`{field}` must be a string or a list of strings")
    if not items or any(t == "" for t in items):
        raise _refuse(f"`{field}` cannot be empty")
    return items


def answer(model_id: str, environment: dict[str, str], body: bytes) -> Answer:
    """The container's answer to one invocation (raises EngineRefusal as TEI refuses)."""
    try:
        request = json.loads(body)
    except ValueError:
        raise _refuse(
            "Failed to deserialize the JSON body into the target type", "Deserialize"
        ) from None
    if not isinstance(request, dict):
        raise _refuse("the body must be a JSON object", "Deserialize")
    most = int(environment.get("MAX_CLIENT_BATCH_SIZE") or DEFAULT_MAX_CLIENT_BATCH_SIZE)
    if "query" in request or "texts" in request:
        query = request.get("query")
        if not isinstance(query, str) or not query:
            raise _refuse("`query` cannot be empty")
        texts = _texts(request.get("texts"), "texts")
        if len(texts) > most:
            raise _refuse(f"batch size {len(texts)} > maximum allowed batch size {most}")
        ranked: list[dict[str, Any]] = sorted(
            ({"index": i, "score": score(model_id, query, t)} for i, t in enumerate(texts)),
            key=lambda r: (-float(r["score"]), int(r["index"])),
        )
        if request.get("return_text"):
            for row in ranked:
                row["text"] = texts[int(row["index"])]
        tokens = len(query.split()) + sum(len(t.split()) for t in texts)
        return Answer([Part(json.dumps(ranked).encode(), 1)], tokens, 0)
    if "inputs" not in request:
        raise _refuse("missing field `inputs`", "Deserialize")
    inputs = _texts(request["inputs"], "inputs")
    if len(inputs) > most:
        raise _refuse(f"batch size {len(inputs)} > maximum allowed batch size {most}")
    vectors = [embed(model_id, text) for text in inputs]
    tokens = sum(len(t.split()) for t in inputs)
    return Answer([Part(json.dumps(vectors).encode(), 1)], tokens, 0)
