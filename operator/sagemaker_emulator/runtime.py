"""sagemaker-runtime InvokeEndpoint(WithResponseStream): routing, then the container answers.

Which container serves is SageMaker's part (variant, inference component, adapter);
what it answers is the engine's (`containers`): OpenAI-compatible for vLLM and
SGLang, TGI's and LMI's own shapes, streamed or not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from . import serverless
from .answers import Answer
from .containers import Container, serving_container
from .engine_errors import EngineRefusal
from .errors import AwsError
from .inference import answer
from .resources.common import Context

COMPONENT_HEADER = "X-Amzn-SageMaker-Inference-Component"
VARIANT_HEADER = "X-Amzn-SageMaker-Target-Variant"


@dataclass(frozen=True)
class Invocation:
    answer: Answer  # one body, or the parts of a streamed answer, each with its tokens
    variant: str
    # Seconds before the container can answer: a serverless cold start, else 0.
    setup_seconds: float = 0.0


class ModelError(AwsError):
    """The container answered an error: SageMaker passes it on with its status, its body,
    and where the container's log is (CloudWatch Logs in the caller's account and region)."""

    def __init__(self, ctx: Context, log_group: str, refused: EngineRefusal) -> None:
        region, account = ctx.caller.region, ctx.caller.account
        original = refused.body.decode(errors="replace")
        side = "client" if refused.status < 500 else "server"
        console = (
            f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
            f"#logEventViewer:group={log_group}"
        )
        super().__init__(
            "ModelError",
            f'Received {side} error ({refused.status}) from primary with message "{original}". '
            f"See {console} in account {account} for more information.",
            424,
        )
        self.original_status = refused.status
        self.original_message = original
        self.log_stream_arn = f"arn:aws:logs:{region}:{account}:log-group:{log_group}"

    def body(self) -> bytes:
        return json.dumps(
            {
                "__type": self.code,
                "Message": self.message,
                "OriginalStatusCode": self.original_status,
                "OriginalMessage": self.original_message,
                "LogStreamArn": self.log_stream_arn,
            },
            separators=(",", ":"),
        ).encode()


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
        log_group = f"/aws/sagemaker/InferenceComponents/{component_name}"
        if spec.get("BaseInferenceComponentName"):
            # An adapter answers as itself: OpenAI engines name the adapter as the model.
            model_id = f"{model_id}+{own.get('ArtifactUrl', '')}"
            served = component_name
        variant = str(component["VariantName"])
        setup = 0.0
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
        setup = serverless.setup_time(ctx.store, endpoint, config, ctx.now)
        serving = Container.of(ctx.region.models.get(spec_variant.get("ModelName") or ""))
        model_id = serving.model_id or str(spec_variant.get("ModelName") or "unknown")
        served = None
        log_group = f"/aws/sagemaker/Endpoints/{endpoint_name}"
        variant = str(chosen["VariantName"])
    try:
        answered = answer(serving, model_id, body, now=ctx.now, served=served)
    except EngineRefusal as refused:
        raise ModelError(ctx, log_group, refused) from None
    return Invocation(answered, variant, setup)
