"""How many tokens one request may hold, and each engine's refusal when it holds more.

The limit is the engine's setting (SM_VLLM_MAX_MODEL_LEN, SM_SGLANG_CONTEXT_LENGTH,
OPTION_MAX_MODEL_LEN, TGI's MAX_TOTAL_TOKENS and MAX_INPUT_TOKENS); unset, what the
engine derives from the model: its max_position_embeddings (vLLM, SGLang, LMI), capped
at 4096 by TGI 2.x's launcher. The emulator has no model config, so a small table of
well-known families stands in for it, and any other model counts as 4096.

A token is a whitespace-separated word (of the prompt as the engine renders it, and of
the generated text), so a test can build a prompt of a known size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .engine_errors import Engine, EngineRefusal, refusal

UNKNOWN_MODEL_CONTEXT = 4096
TGI_DEFAULT_CAP = 4096  # TGI 2.x: min(max_position_embeddings, 4096) unless set
# max_position_embeddings of well-known families, by a fragment of the lowercased model id.
KNOWN_CONTEXT: tuple[tuple[str, int], ...] = (
    ("llama-3.1", 131072),
    ("llama-3.2", 131072),
    ("llama-3.3", 131072),
    ("llama-3", 8192),
    ("llama-2", 4096),
    ("mistral-7b", 32768),
    ("mixtral", 32768),
    ("qwen2.5", 32768),
    ("qwen3", 40960),
)
_SETTING: dict[Engine, str] = {
    "vllm": "SM_VLLM_MAX_MODEL_LEN",
    "sglang": "SM_SGLANG_CONTEXT_LENGTH",
    "lmi": "OPTION_MAX_MODEL_LEN",
    "tgi": "MAX_TOTAL_TOKENS",
}


@dataclass(frozen=True)
class Limits:
    total: int  # prompt plus generated tokens
    max_input: int  # the longest prompt (TGI's own setting; the others: total - 1)


def model_context(model_id: str) -> int:
    lowered = model_id.lower()
    for fragment, length in KNOWN_CONTEXT:
        if fragment in lowered:
            return length
    return UNKNOWN_MODEL_CONTEXT


def _int(environment: Mapping[str, str], *names: str) -> int | None:
    for name in names:
        raw = environment.get(name)
        if raw is not None and raw.strip().isdigit():
            return int(raw)
    return None


def limits(engine: Engine, environment: Mapping[str, str], model_id: str) -> Limits:
    model = model_context(model_id)
    if engine == "tgi":
        total = _int(environment, "MAX_TOTAL_TOKENS") or min(model, TGI_DEFAULT_CAP)
        max_input = _int(environment, "MAX_INPUT_TOKENS", "MAX_INPUT_LENGTH") or total - 1
        return Limits(total, max_input)
    total = _int(environment, _SETTING[engine]) or model
    return Limits(total, total - 1)


def check(engine: Engine, limit: Limits, prompt: int, max_tokens: int | None) -> None:
    """Refuse as the engine does when the prompt, or prompt plus max_tokens, does not fit."""
    problem = overflow(engine, limit, prompt, max_tokens)
    if problem is not None:
        raise refusal(engine, problem, param=_param(engine, limit, prompt))


def overflow(engine: Engine, limit: Limits, prompt: int, max_tokens: int | None) -> str | None:
    """The engine's words for a request that does not fit; None when it fits."""
    total = limit.total
    if engine in ("vllm", "lmi"):  # vllm OpenAIServing._validate_input
        if prompt >= total:
            return (
                f"This model's maximum context length is {total} tokens. However, your "
                f"request has {prompt} input tokens. Please reduce the length of the input "
                f"messages. (parameter=input_tokens, value={prompt})"
            )
        if max_tokens is not None and prompt + max_tokens > total:
            return (
                f"'max_tokens' or 'max_completion_tokens' is too large: {max_tokens}. This "
                f"model's maximum context length is {total} tokens and your request has "
                f"{prompt} input tokens ({max_tokens} > {total} - {prompt}). "
                f"(parameter=max_tokens, value={max_tokens})"
            )
        return None
    if engine == "sglang":  # sglang TokenizerManager._validate_token_len
        if prompt >= total:
            return (
                f"The input ({prompt} tokens) is longer than the model's context length "
                f"({total} tokens)."
            )
        if max_tokens is not None and prompt + max_tokens >= total:
            return (
                "Requested token count exceeds the model's maximum context length of "
                f"{total} tokens. You requested a total of {prompt + max_tokens} tokens: "
                f"{prompt} tokens from the input messages and {max_tokens} tokens for the "
                "completion. Please reduce the number of tokens in the input messages or "
                "the completion to fit within the limit."
            )
        return None
    if prompt > limit.max_input:  # TGI router validation.rs
        return (
            f"Input validation error: `inputs` must have less than {limit.max_input} tokens. "
            f"Given: {prompt}"
        )
    if max_tokens is not None and prompt + max_tokens > total:
        return (
            f"Input validation error: `inputs` tokens + `max_new_tokens` must be <= {total}. "
            f"Given: {prompt} `inputs` tokens and {max_tokens} `max_new_tokens`"
        )
    return None


def _param(engine: Engine, limit: Limits, prompt: int) -> str | None:
    if engine != "vllm":
        return None
    return "input_tokens" if prompt >= limit.total else "max_tokens"


__all__ = ["EngineRefusal", "Limits", "check", "limits", "model_context", "overflow"]
