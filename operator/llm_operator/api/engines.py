"""Serving engines and how each one spells the engine-neutral model settings.

One table, three readers: the CRD's CEL rules refuse a setting the chosen engine
cannot express, `core.engines` renders the container environment from it, and
`llm_operator.docs` prints it as docs/engines.md. Variable names follow each
container's documented convention:

- vLLM and SGLang Deep Learning Containers for SageMaker turn every `SM_VLLM_*` /
  `SM_SGLANG_*` variable into the server flag of the same name (lowercased,
  `_` -> `-`; `true` becomes a bare flag); aws.github.io/deep-learning-containers
  (vllm/configuration, sglang/configuration) and vLLM's sagemaker-entrypoint.sh.
- LMI (DJL Serving) reads `HF_MODEL_ID` and `OPTION_*` (djl-serving's LMI
  configuration docs); the operator selects its vLLM backend.
- TGI reads `HF_MODEL_ID`, `SM_NUM_GPUS` and its launcher variables.
- TEI (Text Embeddings Inference, embedding and reranker models) reads `HF_MODEL_ID`
  and `HF_MODEL_REVISION` in its SageMaker entrypoint, and every other launcher flag
  from the variable of the same name (`--max-batch-tokens` from `MAX_BATCH_TOKENS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

Engine = Literal["vllm", "sglang", "lmi", "tgi", "tei"]
ENGINES: tuple[Engine, ...] = get_args(Engine)
DEFAULT_ENGINE: Engine = "vllm"
# The engines with an AWS container for Inferentia/Trainium (core/images.json's "neuron"
# families; tests/unit/test_images.py keeps the two equal). The others need model.image.
NEURON_ENGINES: tuple[Engine, ...] = ("lmi", "tgi")
# The engines with an AWS container for CPUs (core/images.json's "cpu" families): the
# only ones SageMaker serverless endpoints (no GPUs) can run without model.image.
CPU_ENGINES: tuple[Engine, ...] = ("tei",)
# Engines that serve embeddings and reranking scores, not generated text: they answer
# TEI's request shapes and take no LoRA adapters.
EMBEDDING_ENGINES: tuple[Engine, ...] = ("tei",)

TITLES: Mapping[Engine, str] = {
    "vllm": "vLLM",
    "sglang": "SGLang",
    "lmi": "LMI (DJL Serving, vLLM backend)",
    "tgi": "Hugging Face TGI",
    "tei": "Hugging Face TEI (embeddings and reranking)",
}

# Said in a Warning Event whenever an LLMEndpoint runs on an archived engine.
ARCHIVED: Mapping[Engine, str] = {
    "tgi": (
        "engine tgi: Hugging Face put Text Generation Inference in maintenance mode on "
        "2025-12-11 and archived its repository on 2026-03-21; it gets no fixes. Move to "
        "model.engine vllm (see docs/engines.md, 'Moving from TGI')"
    ),
}

# Variables an engine always gets, whatever the spec says.
FIXED: Mapping[Engine, Mapping[str, str]] = {
    "lmi": {"OPTION_ROLLING_BATCH": "vllm"},
}

# --- prefix (KV) caches: which engines spec.routing PrefixAware and KVAware suit ---
# An engine that keeps the KV cache of earlier prompts reuses it for a later request that
# starts the same way; routing such requests to the same copy (PREFIX_AWARE) or to the
# copy holding the prefix (KV_AWARE) is what makes that pay. How each engine keeps it:
PREFIX_CACHE: Mapping[Engine, str] = {
    "vllm": "automatic prefix caching, switched on with the routing (`--enable-prefix-caching`)",
    "sglang": "RadixAttention's prefix cache, on unless `--disable-radix-cache` (the default)",
    "lmi": "vLLM's automatic prefix caching, switched on with the routing "
    "(`option.enable_prefix_caching`)",
}
# Why the others take neither strategy (the CRD's and the operator's refusal say it).
NO_PREFIX_CACHE: Mapping[Engine, str] = {
    "tgi": "TGI is archived and the operator does not switch its prefix cache on: use "
    "model.engine vllm",
    "tei": "an embedding model generates nothing, so it keeps no KV cache to reuse",
}
PREFIX_CACHE_ENGINES: tuple[Engine, ...] = tuple(e for e in ENGINES if e in PREFIX_CACHE)

# Where the container finds model weights copied from artifactUri.
ARTIFACT_MODEL_DIR = "/opt/ml/model"

Quantize = Literal["none", "bitsandbytes", "gptq", "awq", "eetq", "fp8"]
Dtype = Literal["auto", "float16", "bfloat16"]
Pooling = Literal["cls", "mean", "splade", "last-token"]


@dataclass(frozen=True)
class Setting:
    """One engine-neutral setting and the variable each engine reads it from.

    `path` is the spec path the value comes from. `user` settings are spec.model
    fields a person writes: an engine whose variable is None cannot express it, and
    the CRD refuses the field for that engine. Derived settings (from adapters,
    resources) are simply not rendered where an engine has no variable for them.
    `values` translates a value where an engine spells it differently; a value
    missing from a translation table is one the engine does not accept.
    """

    name: str
    path: str
    description: str
    variables: Mapping[Engine, str | None]
    user: bool = True
    values: Mapping[Engine, Mapping[str, str | None]] = field(default_factory=dict)
    # For user settings whose variables are None for some engines: what to use instead.
    instead: str = ""


def _all(
    vllm: str | None, sglang: str | None, lmi: str | None, tgi: str | None, tei: str | None = None
) -> dict[Engine, str | None]:
    return {"vllm": vllm, "sglang": sglang, "lmi": lmi, "tgi": tgi, "tei": tei}


def _tei(variable: str) -> dict[Engine, str | None]:
    """A TEI-only setting."""
    return _all(None, None, None, None, variable)


_QUANTIZE_COMMON = {"none": None, "awq": "awq", "gptq": "gptq", "fp8": "fp8"}

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "model",
        "model.hfModelId / model.artifactUri",
        f"The model: the Hub id, or {ARTIFACT_MODEL_DIR} where SageMaker puts artifactUri.",
        _all("SM_VLLM_MODEL", "SM_SGLANG_MODEL_PATH", "HF_MODEL_ID", "HF_MODEL_ID", "HF_MODEL_ID"),
        user=False,
    ),
    Setting(
        "revision",
        "model.revision",
        "Hub revision (branch, tag or commit) of hfModelId.",
        _all(
            "SM_VLLM_REVISION",
            "SM_SGLANG_REVISION",
            "OPTION_REVISION",
            "HF_MODEL_REVISION",
            "HF_MODEL_REVISION",
        ),
    ),
    Setting(
        "tensorParallelDegree",
        "model.tensorParallelDegree",
        "GPUs one copy shards the model over; default resources.acceleratorsPerCopy "
        "(the instance's GPUs for endpointType Model).",
        _all(
            "SM_VLLM_TENSOR_PARALLEL_SIZE",
            "SM_SGLANG_TP_SIZE",
            "OPTION_TENSOR_PARALLEL_DEGREE",
            "SM_NUM_GPUS",
        ),
    ),
    Setting(
        "maxModelLength",
        "model.maxModelLength",
        "Context length: prompt plus generated tokens of one request.",
        _all(
            "SM_VLLM_MAX_MODEL_LEN",
            "SM_SGLANG_CONTEXT_LENGTH",
            "OPTION_MAX_MODEL_LEN",
            "MAX_TOTAL_TOKENS",
        ),
    ),
    Setting(
        "maxConcurrentRequests",
        "model.maxConcurrentRequests",
        "Most sequences served at once (the batch size).",
        _all(
            "SM_VLLM_MAX_NUM_SEQS",
            "SM_SGLANG_MAX_RUNNING_REQUESTS",
            "OPTION_MAX_ROLLING_BATCH_SIZE",
            "MAX_CONCURRENT_REQUESTS",
            "MAX_CONCURRENT_REQUESTS",
        ),
    ),
    Setting(
        "quantize",
        "model.quantize",
        "Weight quantization; none or unset: the checkpoint's own precision.",
        _all(
            "SM_VLLM_QUANTIZATION", "SM_SGLANG_QUANTIZATION", "OPTION_QUANTIZE", "HF_MODEL_QUANTIZE"
        ),
        values={
            "vllm": {**_QUANTIZE_COMMON, "bitsandbytes": "bitsandbytes"},
            "sglang": {**_QUANTIZE_COMMON, "bitsandbytes": "bitsandbytes"},
            "lmi": dict(_QUANTIZE_COMMON),
            "tgi": {**_QUANTIZE_COMMON, "bitsandbytes": "bitsandbytes", "eetq": "eetq"},
        },
    ),
    Setting(
        "dtype",
        "model.dtype",
        "Precision of weights and activations; auto: the checkpoint's.",
        _all("SM_VLLM_DTYPE", "SM_SGLANG_DTYPE", "OPTION_DTYPE", "DTYPE", "DTYPE"),
        values={
            "vllm": {"auto": "auto", "float16": "float16", "bfloat16": "bfloat16"},
            "sglang": {"auto": "auto", "float16": "float16", "bfloat16": "bfloat16"},
            "lmi": {"auto": None, "float16": "fp16", "bfloat16": "bf16"},
            "tgi": {"auto": None, "float16": "float16", "bfloat16": "bfloat16"},
            "tei": {"auto": None, "float16": "float16"},
        },
    ),
    Setting(
        "trustRemoteCode",
        "model.trustRemoteCode",
        "Run model code from the Hub repository (true); false or unset: never.",
        _all(
            "SM_VLLM_TRUST_REMOTE_CODE",
            "SM_SGLANG_TRUST_REMOTE_CODE",
            "OPTION_TRUST_REMOTE_CODE",
            "HF_MODEL_TRUST_REMOTE_CODE",
        ),
    ),
    Setting(
        "hfToken",
        "model.hfTokenSecretRef",
        "The Hugging Face token, read from the Secret at reconcile time.",
        _all("HF_TOKEN", "HF_TOKEN", "HF_TOKEN", "HF_TOKEN", "HF_TOKEN"),
        user=False,
    ),
    Setting(
        "enableLora",
        "spec.adapters (non-empty)",
        "Serve LoRA adapters attached as inference components.",
        _all("SM_VLLM_ENABLE_LORA", "SM_SGLANG_ENABLE_LORA", "OPTION_ENABLE_LORA", None),
        user=False,
    ),
    Setting(
        "maxLoras",
        "len(spec.adapters)",
        "Adapters one batch may mix: every adapter of the endpoint.",
        _all("SM_VLLM_MAX_LORAS", "SM_SGLANG_MAX_LORAS_PER_BATCH", "OPTION_MAX_LORAS", None),
        user=False,
    ),
    Setting(
        "maxLoraRank",
        "model.maxLoraRank",
        "Highest LoRA rank among the adapters (the engine's default is 16).",
        _all("SM_VLLM_MAX_LORA_RANK", "SM_SGLANG_MAX_LORA_RANK", "OPTION_MAX_LORA_RANK", None),
        instead="remove it (TGI reads the rank from each adapter; TEI serves no adapters)",
    ),
    Setting(
        "maxInputTokens",
        "model.maxInputTokens",
        "TGI only: longest prompt in tokens.",
        _all(None, None, None, "MAX_INPUT_TOKENS"),
        instead="remove it (the engine bounds the prompt by the context, model.maxModelLength)",
    ),
    Setting(
        "maxTotalTokens",
        "model.maxTotalTokens",
        "TGI only: prompt plus generated tokens (TGI's name for maxModelLength).",
        _all(None, None, None, "MAX_TOTAL_TOKENS"),
        instead="use model.maxModelLength",
    ),
    Setting(
        "maxBatchTotalTokens",
        "model.maxBatchTotalTokens",
        "TGI only: tokens processed in parallel in one batch.",
        _all(None, None, None, "MAX_BATCH_TOTAL_TOKENS"),
        instead="use model.maxConcurrentRequests",
    ),
    Setting(
        "maxBatchPrefillTokens",
        "model.maxBatchPrefillTokens",
        "TGI only: tokens in one prefill pass.",
        _all(None, None, None, "MAX_BATCH_PREFILL_TOKENS"),
        instead="use model.maxConcurrentRequests",
    ),
    Setting(
        "prefixCaching",
        "spec.routing.strategy PrefixAware or KVAware",
        "Keep the KV cache of earlier prompts for requests that start the same way; "
        "switched on with cache-aware routing.",
        _all("SM_VLLM_ENABLE_PREFIX_CACHING", None, "OPTION_ENABLE_PREFIX_CACHING", None),
        user=False,
    ),
    # --- TEI (embedding and reranker models) ---
    Setting(
        "maxBatchTokens",
        "model.maxBatchTokens",
        "TEI only: tokens in one batch, over all the requests it holds.",
        _tei("MAX_BATCH_TOKENS"),
        instead="remove it (TEI only; generative engines batch by model.maxConcurrentRequests)",
    ),
    Setting(
        "maxBatchRequests",
        "model.maxBatchRequests",
        "TEI only: requests in one batch.",
        _tei("MAX_BATCH_REQUESTS"),
        instead="remove it (TEI only; use model.maxConcurrentRequests)",
    ),
    Setting(
        "maxClientBatchSize",
        "model.maxClientBatchSize",
        "TEI only: inputs one request may carry.",
        _tei("MAX_CLIENT_BATCH_SIZE"),
        instead="remove it (TEI only)",
    ),
    Setting(
        "pooling",
        "model.pooling",
        "TEI only: how token embeddings become one vector (cls, mean, splade, last-token); "
        "unset: the model's own configuration.",
        _tei("POOLING"),
        instead="remove it (TEI only: embedding models pool, generative models do not)",
    ),
    Setting(
        "autoTruncate",
        "model.autoTruncate",
        "TEI only: cut inputs longer than the model's maximum instead of refusing them.",
        _tei("AUTO_TRUNCATE"),
        instead="remove it (TEI only; generative engines bound the prompt by model.maxModelLength)",
    ),
)

BY_NAME: Mapping[str, Setting] = {s.name: s for s in SETTINGS}


def msg_no_prefix_cache(engine: str, strategy: str, why: str | None = None) -> str:
    """Why `strategy` (PrefixAware, KVAware) is refused for `engine`; `why`: how the
    engine was chosen when the spec does not name it."""
    chosen = f" ({why})" if why else ""
    able = ", ".join(PREFIX_CACHE_ENGINES)
    reason = next((r for e, r in NO_PREFIX_CACHE.items() if e == engine), "no prefix cache")
    return (
        f"routing.strategy {strategy} needs an engine that keeps a prefix (KV) cache "
        f"({able}); engine {engine}{chosen}: {reason}"
    )


def supports(engine: Engine, setting: str) -> bool:
    return BY_NAME[setting].variables[engine] is not None


def engines_supporting(setting: str) -> list[Engine]:
    return [e for e in ENGINES if supports(e, setting)]


def accepted_values(engine: Engine, setting: str) -> list[str] | None:
    """Values `engine` accepts for `setting`; None: any value of the field's type."""
    table = BY_NAME[setting].values.get(engine)
    return None if table is None else list(table)


def msg_unsupported(engine: str, setting: Setting, why: str | None = None) -> str:
    """`why`: how the engine was chosen when the spec does not name it; the message
    then also names the engines that keep the setting."""
    if why is None:
        return (
            f"{setting.path} cannot be expressed by engine {engine}: "
            f"{setting.instead or 'remove it'}"
        )
    keep = " or ".join(f"model.engine: {e}" for e in engines_supporting(setting.name))
    return (
        f"{setting.path} cannot be expressed by engine {engine} ({why}): set {keep} to keep "
        f"it, or {setting.instead or 'remove it'} (see docs/engines.md)"
    )


def msg_unsupported_value(engine: str, setting: Setting, value: str) -> str:
    accepted = accepted_values(engine, setting.name) or []  # type: ignore[arg-type]
    return f"{setting.path} {value} is not supported by engine {engine}; it accepts " + ", ".join(
        accepted
    )


def unsupported(engine: Engine, values: Mapping[str, object], why: str | None = None) -> list[str]:
    """Messages for settings in `values` (by setting name, set ones only) `engine` refuses;
    `why`: how the engine was chosen when the spec does not name it."""
    problems = []
    for name, value in values.items():
        setting = BY_NAME[name]
        if not setting.user or value is None:
            continue
        if setting.variables[engine] is None:
            problems.append(msg_unsupported(engine, setting, why))
            continue
        accepted = accepted_values(engine, name)
        if accepted is not None and str(value) not in accepted:
            problems.append(msg_unsupported_value(engine, setting, str(value)))
    return problems
