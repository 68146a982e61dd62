"""The serving engine's container environment, built from the typed spec fields.

Which engine an LLMEndpoint runs is decided here too (`effective`): an explicit
spec.model.engine; else the engine recorded in status when the model was first
rendered; else tgi for an object an operator before engines already reconciled
(those only rendered TGI); else vllm. An operator upgrade therefore never changes
the container of a running endpoint.

Order of precedence: spec.model.env first, then the typed fields on top, so a
typed field always wins over the same variable in env (the operator reasons
about the typed values: validation, memory estimates). The token is only ever
placed in the returned mapping; it never reaches logs, status or exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llm_operator.api.engines import (
    ARTIFACT_MODEL_DIR,
    DEFAULT_ENGINE,
    ENGINES,
    FIXED,
    SETTINGS,
    Engine,
)
from llm_operator.api.models import LLMEndpointSpec, ModelSpec

# Variables an engine reads under an older name; dropped when the typed field sets the new one.
_LEGACY: Mapping[Engine, Mapping[str, str]] = {
    "tgi": {"MAX_INPUT_TOKENS": "MAX_INPUT_LENGTH"},
}


def effective(model: ModelSpec, status: Mapping[str, Any] | None) -> Engine:
    """The engine `model` runs, given the object's status (None or {} for a new object)."""
    if model.engine is not None:
        return model.engine
    if model.tgi_version is not None:
        return "tgi"
    status = status or {}
    recorded = status.get("engine")
    for engine in ENGINES:
        if recorded == engine:
            return engine
    if status.get("modelName"):
        return "tgi"  # rendered by an operator that knew no other engine
    return DEFAULT_ENGINE


def chosen_because(model: ModelSpec, status: Mapping[str, Any] | None) -> str | None:
    """Why `model` runs `effective`'s engine when model.engine does not say (for
    messages); None when it names it."""
    if model.engine is not None:
        return None
    engine = effective(model, status)
    if model.tgi_version is not None:
        return "model.engine is unset; model.tgiVersion means tgi"
    if (status or {}).get("engine") == engine:
        return f"model.engine is unset and status.engine records {engine}"
    if engine != DEFAULT_ENGINE:
        return f"model.engine is unset and this object predates engines, so {engine}"
    return f"model.engine is unset: {engine} is the default for new objects"


def pin(spec: LLMEndpointSpec, status: Mapping[str, Any] | None) -> LLMEndpointSpec:
    """`spec` with model.engine set to the engine it runs, so every later step agrees."""
    engine = effective(spec.model, status)
    if spec.model.engine == engine:
        return spec
    model = spec.model.model_copy(update={"engine": engine})
    return spec.model_copy(update={"model": model})


def engine_of(model: ModelSpec) -> Engine:
    """The engine of a pinned model (`pin`); for an unpinned one, as for a new object."""
    return effective(model, None)


def _opt(value: object) -> str | None:
    if value is None or value is False:
        return None
    return "true" if value is True else str(value)


def environment(
    model: ModelSpec,
    *,
    num_gpus: int,
    hf_token: str | None,
    adapters: int = 0,
    neuron: bool = False,
    prefix_caching: bool = False,
) -> dict[str, str]:
    """Container environment for `model` on its engine, sharded over `num_gpus` accelerators.

    `num_gpus` is acceleratorsPerCopy for inference-component endpoints and the
    instance's GPU count for Model endpoints; it is the tensor parallel degree
    unless model.tensorParallelDegree says otherwise; 0 (CPU instances) sets none.
    `adapters` is how many LoRA adapters the endpoint serves; `prefix_caching`: the
    endpoint routes by prefix or KV cache (spec.routing), so the engine keeps one.
    """
    engine = engine_of(model)
    env: dict[str, str] = dict(model.env)
    values: dict[str, str | None] = {name: _opt(value) for name, value in model.settings().items()}
    tp = model.tensor_parallel_degree or num_gpus
    values.update(
        model=model.hf_model_id or ARTIFACT_MODEL_DIR,
        revision=model.revision if model.hf_model_id else None,
        tensorParallelDegree=str(tp) if tp > 0 else None,
        hfToken=hf_token or None,
        enableLora="true" if adapters else None,
        maxLoras=str(adapters) if adapters else None,
        maxLoraRank=_opt(model.max_lora_rank) if adapters else None,
        prefixCaching="true" if prefix_caching else None,
    )
    typed: dict[str, str] = {} if neuron else dict(FIXED.get(engine, {}))
    for setting in SETTINGS:
        variable = setting.variables[engine]
        value = values.get(setting.name)
        if variable is None or value is None:
            continue
        translate = setting.values.get(engine)
        if translate is not None:
            value = translate.get(value)
            if value is None:
                continue
        typed[variable] = value
    for new, old in _LEGACY.get(engine, {}).items():
        if new in typed:
            env.pop(old, None)  # TGI refuses to start with both names set
    env.update(typed)
    return env


def overridden_keys(
    model: ModelSpec, *, num_gpus: int, adapters: int = 0, prefix_caching: bool = False
) -> list[str]:
    """Keys of spec.model.env that a typed field replaces or drops (for a warning)."""
    result = environment(
        model,
        num_gpus=num_gpus,
        hf_token=None,
        adapters=adapters,
        prefix_caching=prefix_caching,
    )
    return sorted(k for k, v in model.env.items() if result.get(k) != v)
