"""One invocation of a model's container: read the body as its engine does, check the
context, generate, and answer in the engine's shape (or refuse as the engine does)."""

from __future__ import annotations

from . import embeddings
from .answers import (
    Answer,
    Part,
    budget,
    chat,
    completion,
    generate,
    lmi_generate,
    pick_tool,
    tgi_generate,
    tool_call,
)
from .chat_requests import parse
from .containers import Container
from .context_limits import check, limits, overflow
from .engine_errors import refusal, stream_error_event


def _served_names(container: Container, model_id: str, served: str | None) -> set[str]:
    names = {model_id, container.environment.get("SM_VLLM_SERVED_MODEL_NAME", model_id)}
    return names | ({served} if served else set())


def answer(
    container: Container, model_id: str, body: bytes, *, now: float, served: str | None = None
) -> Answer:
    """The container's answer (raises EngineRefusal with its error answer).

    `served` is the name OpenAI-shaped answers give as the model (an adapter's own name).
    """
    engine = container.engine or "tgi"
    environment = container.environment
    if engine == "tei":  # embeddings and reranking: TEI's own request shapes
        return embeddings.answer(model_id, environment, body)
    request = parse(engine, body)
    if (
        engine == "vllm"
        and request.model
        and request.model not in _served_names(container, model_id, served)
    ):
        raise refusal(
            engine, f"The model `{request.model}` does not exist.", kind="not_found", param="model"
        )
    limit = limits(engine, environment, model_id)
    problem = overflow(engine, limit, request.prompt_tokens, request.max_tokens)
    if problem is not None and request.stream and engine in ("sglang", "tgi"):
        # These engines check while generating: a stream is answered 200 and carries it.
        event = stream_error_event(engine, problem)
        done = [Part(b"data: [DONE]\n\n", 0)] if engine == "sglang" else []
        return Answer([Part(event, 0), *done], request.prompt_tokens, 0)
    check(engine, limit, request.prompt_tokens, request.max_tokens)
    name = served or model_id
    created = int(now)
    if request.kind == "chat":
        chosen = pick_tool(engine, request, environment, model_id)
        if (
            chosen is not None
            and chosen[1]
            and engine == "vllm"
            and not (
                environment.get("SM_VLLM_ENABLE_AUTO_TOOL_CHOICE", "").lower() == "true"
                and environment.get("SM_VLLM_TOOL_CALL_PARSER")
            )
        ):
            raise refusal(
                engine,
                '"auto" tool choice requires --enable-auto-tool-choice and '
                "--tool-call-parser to be set",
            )
        call = (tool_call(engine, chosen[0], model_id, request), chosen[1]) if chosen else None
        count, finish = budget(request, model_id, limit.total - request.prompt_tokens)
        tokens = generate(model_id, request.seed_text, 0 if call else count)
        parts = chat(engine, name, request, tokens, finish, created, call)
        completion_tokens = sum(part.tokens for part in parts)
        return Answer(parts, request.prompt_tokens, completion_tokens)
    count, finish = budget(request, model_id, limit.total - request.prompt_tokens)
    tokens = generate(model_id, request.seed_text, count)
    if request.kind == "completion":
        parts = completion(name, request, tokens, finish, created)
    else:
        text = "".join(tokens)
        if request.full_text:
            text = request.seed_text + text
        make = lmi_generate if engine == "lmi" else tgi_generate
        parts = make(tokens, text, request.stream)
    return Answer(parts, request.prompt_tokens, len(tokens))
