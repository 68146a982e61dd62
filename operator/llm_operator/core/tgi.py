"""The Hugging Face TGI container environment, built from the typed spec fields.

Order of precedence: spec.model.env first, then the typed fields on top, so a
typed field always wins over the same variable in env (the operator reasons
about the typed values: validation, memory estimates). The token is only ever
placed in the returned mapping; it never reaches logs, status or exceptions.
"""

from __future__ import annotations

from llm_operator.api.models import ModelSpec

# The container's default model location; TGI loads S3 artifacts from here.
ARTIFACT_MODEL_DIR = "/opt/ml/model"


def environment(model: ModelSpec, *, num_gpus: int, hf_token: str | None) -> dict[str, str]:
    """Container environment for `model` sharded over `num_gpus` accelerators.

    `num_gpus` is acceleratorsPerCopy for inference-component endpoints and the
    instance's GPU count for Model endpoints; 0 (CPU instances) omits SM_NUM_GPUS.
    """
    env: dict[str, str] = dict(model.env)
    if model.max_input_tokens is not None:
        # TGI's legacy name of MAX_INPUT_TOKENS; setting both makes TGI refuse to start.
        env.pop("MAX_INPUT_LENGTH", None)
    typed: dict[str, str | None] = {
        "HF_MODEL_ID": model.hf_model_id if model.hf_model_id else ARTIFACT_MODEL_DIR,
        "HF_MODEL_REVISION": model.revision if model.hf_model_id else None,
        "SM_NUM_GPUS": str(num_gpus) if num_gpus > 0 else None,
        "MAX_INPUT_TOKENS": _opt(model.max_input_tokens),
        "MAX_TOTAL_TOKENS": _opt(model.max_total_tokens),
        "MAX_BATCH_TOTAL_TOKENS": _opt(model.max_batch_total_tokens),
        "MAX_BATCH_PREFILL_TOKENS": _opt(model.max_batch_prefill_tokens),
        "HF_MODEL_QUANTIZE": model.quantize if model.quantize not in (None, "none") else None,
        "HF_TOKEN": hf_token or None,
    }
    for key, value in typed.items():
        if value is not None:
            env[key] = value
    return env


def overridden_keys(model: ModelSpec, *, num_gpus: int) -> list[str]:
    """Keys of spec.model.env that a typed field replaces or drops (for a warning)."""
    result = environment(model, num_gpus=num_gpus, hf_token=None)
    return sorted(k for k, v in model.env.items() if result.get(k) != v)


def _opt(value: int | None) -> str | None:
    return None if value is None else str(value)
