"""sagemaker-runtime InvokeEndpoint(WithResponseStream): routing, then the container answers.

Which container serves is SageMaker's part (variant, inference component, adapter);
what it answers is the engine's (`containers`): OpenAI-compatible for vLLM and
SGLang, TGI's and LMI's own shapes, streamed or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .containers import Container, answer, serving_container
from .errors import AwsError
from .resources.common import Context

COMPONENT_HEADER = "X-Amzn-SageMaker-Inference-Component"
VARIANT_HEADER = "X-Amzn-SageMaker-Target-Variant"


@dataclass(frozen=True)
class Invocation:
    parts: list[bytes]  # one body, or the chunks of a streamed answer
    variant: str

    @property
    def body(self) -> bytes:
        return b"".join(self.parts)


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
        own = spec.get("Container") or {}
        if base is not None and spec.get("BaseInferenceComponentName"):
            serving = serving_container(ctx.region, base["_spec"])
        else:
            serving = serving_container(ctx.region, spec)
        model_id = serving.model_id or str(spec.get("ModelName") or "unknown")
        served = None
        if spec.get("BaseInferenceComponentName"):
            # An adapter answers as itself: OpenAI engines name the adapter as the model.
            model_id = f"{model_id}+{own.get('ArtifactUrl', '')}"
            served = component_name
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
        serving = Container.of(ctx.region.models.get(spec_variant.get("ModelName") or ""))
        model_id = serving.model_id or str(spec_variant.get("ModelName") or "unknown")
        served = None
        variant = str(chosen["VariantName"])
    parts = answer(serving.engine, model_id, body, now=ctx.now, served=served)
    return Invocation(parts, variant)
