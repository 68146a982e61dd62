"""sagemaker-runtime InvokeEndpoint with a Text Generation Inference shaped answer.

The text comes from a tiny deterministic generator (a hash of model and prompt
picks words), so tests can assert on it and nothing downloads a model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .errors import AwsError
from .resources.common import Context

COMPONENT_HEADER = "X-Amzn-SageMaker-Inference-Component"
VARIANT_HEADER = "X-Amzn-SageMaker-Target-Variant"
_WORDS = tuple(
    " ".join(
        (
            "the model answers with tokens drawn from a small fixed vocabulary so that every",
            "run of the emulator gives the same text for the same prompt and model while still",
            "looking like language to a person reading a test log",
        )
    ).split()
)


@dataclass(frozen=True)
class Invocation:
    body: bytes
    variant: str


class NoCapacity(AwsError):
    """An invocation of a component with no copies: counted as NoCapacityInvocationFailures."""

    def __init__(self, component: str) -> None:
        super().__init__(
            "ValidationError",
            "Inference Component has no capacity to process this request. "
            "ApplicationAutoScaling may be in-progress (if configured) or try to increase "
            "the capacity by invoking UpdateInferenceComponentRuntimeConfig API.",
        )
        self.component = component


def _error(message: str) -> AwsError:
    return AwsError("ValidationError", message)


def generate(model_id: str, prompt: str, max_new_tokens: int) -> str:
    words = []
    seed = hashlib.sha256(f"{model_id}\0{prompt}".encode()).digest()
    for index in range(max_new_tokens):
        if index % 32 == 0 and index:
            seed = hashlib.sha256(seed).digest()
        words.append(_WORDS[seed[index % 32] % len(_WORDS)])
    return " " + " ".join(words) if words else ""


def _model_id(ctx: Context, model_name: str | None, env: dict[str, str] | None) -> str:
    if env and env.get("HF_MODEL_ID"):
        return env["HF_MODEL_ID"]
    model = ctx.region.models.get(model_name or "")
    if model:
        container = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
        model_env = container.get("Environment") or {}
        return str(model_env.get("HF_MODEL_ID", model_name))
    return model_name or "unknown"


def invoke(ctx: Context, endpoint_name: str, headers: dict[str, str], body: bytes) -> Invocation:
    endpoint = ctx.region.endpoints.get(endpoint_name)
    if endpoint is None:
        raise _error(f"Endpoint {endpoint_name} of account {ctx.caller.account} not found.")
    if endpoint["EndpointStatus"] not in ("InService", "Updating"):
        raise _error(
            f"Endpoint {endpoint_name} of account {ctx.caller.account} is in "
            f"{endpoint['EndpointStatus']} status and cannot serve requests."
        )
    component_name = headers.get(COMPONENT_HEADER.lower())
    if endpoint["_ComponentBased"]:
        if not component_name:
            raise _error(
                "Inference Component Name header is required for endpoints to which you plan to "
                "deploy inference components. Please include Inference Component Name header or "
                "consider using SageMaker models."
            )
        component = ctx.region.inference_components.get(component_name)
        if component is None or component["EndpointName"] != endpoint_name:
            raise _error(
                f"Inference Component {component_name} not found for endpoint {endpoint_name}."
            )
        if component["InferenceComponentStatus"] not in ("InService", "Updating"):
            raise _error(
                f"Inference Component {component_name} is in "
                f"{component['InferenceComponentStatus']} status and cannot serve requests."
            )
        spec = component["_spec"]
        base = ctx.region.inference_components.get(spec.get("BaseInferenceComponentName") or "")
        placed = base["_placement"] if base else component["_placement"]
        if not placed:
            raise NoCapacity(component_name)
        container = spec.get("Container") or {}
        model_id = _model_id(ctx, spec.get("ModelName"), container.get("Environment"))
        if spec.get("BaseInferenceComponentName"):
            model_id = f"{model_id}+{container.get('ArtifactUrl', '')}"
        variant = str(component["VariantName"])
    else:
        if component_name:
            raise _error(
                f"Endpoint {endpoint_name} does not host inference components; remove the "
                "Inference Component Name header."
            )
        wanted = headers.get(VARIANT_HEADER.lower())
        variants = endpoint["ProductionVariants"]
        chosen = (
            next((v for v in variants if v["VariantName"] == wanted), None)
            if wanted
            else variants[0]
        )
        if chosen is None:
            raise _error(f"Variant {wanted} not found for endpoint {endpoint_name}.")
        config = ctx.region.endpoint_configs.get(endpoint["EndpointConfigName"]) or {}
        spec_variant: dict[str, Any] = next(
            (
                v
                for v in config.get("ProductionVariants", [])
                if v["VariantName"] == chosen["VariantName"]
            ),
            {},
        )
        model_id = _model_id(ctx, spec_variant.get("ModelName"), None)
        variant = str(chosen["VariantName"])
    return Invocation(_answer(model_id, body), variant)


def _answer(model_id: str, body: bytes) -> bytes:
    try:
        request: Any = json.loads(body or b"{}")
        prompt = request["inputs"]
        parameters = request.get("parameters") or {}
        max_new = int(parameters.get("max_new_tokens", 20))
        if not isinstance(prompt, str) or not 0 <= max_new <= 4096:
            raise ValueError
    except (ValueError, KeyError, TypeError, AttributeError):
        detail = json.dumps(
            {
                "error": "Failed to deserialize the JSON body into the target type",
                "error_type": "validation",
            }
        )
        raise AwsError(
            "ModelError",
            f'Received client error (422) from primary with message "{detail}". See the logs '
            "for more information.",
            424,
        ) from None
    text = generate(model_id, prompt, max_new)
    if parameters.get("return_full_text"):
        text = prompt + text
    return json.dumps([{"generated_text": text}]).encode()
