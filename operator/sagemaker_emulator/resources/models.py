"""Models: immutable container definitions an endpoint config or inference component points at."""

from __future__ import annotations

from typing import Any

from ..errors import already_exists, not_found, validation
from ..state import public
from .common import Context, forget_tags, page, tag_resource
from .model_packages import resolve_containers

MAX_ENVIRONMENT_BYTES = 32 * 1024  # all Environment maps of one CreateModel, keys and values


def create_model(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["ModelName"]
    models = ctx.region.models
    model_arn = ctx.arn("models", name)
    if name in models:
        raise already_exists("model", model_arn)
    if "PrimaryContainer" in params and "Containers" in params:
        raise validation("Specify either PrimaryContainer or Containers, not both.")
    _check_environment_size(params)
    given = [params["PrimaryContainer"]] if params.get("PrimaryContainer") else []
    running, packages = resolve_containers(
        ctx, given + (params.get("Containers") or []), bool(params.get("EnableNetworkIsolation"))
    )
    reason = ctx.store.faults.take_failure("model", name)
    if reason is not None:
        raise validation(reason)
    record: dict[str, Any] = {
        key: params[key]
        for key in (
            "ModelName",
            "PrimaryContainer",
            "Containers",
            "InferenceExecutionConfig",
            "ExecutionRoleArn",
            "VpcConfig",
        )
        if key in params
    }
    record.update(
        ModelArn=model_arn,
        CreationTime=ctx.now,
        EnableNetworkIsolation=bool(params.get("EnableNetworkIsolation", False)),
    )
    if packages:  # described as requested; run as the packages say
        record.update(_containers=running, _packages=packages)
    models[name] = record
    tag_resource(ctx, model_arn, params.get("Tags", []))
    return {"ModelArn": model_arn}


def _check_environment_size(params: dict[str, Any]) -> None:
    """Keys and values of every container's Environment together: at most 32 KB (UTF-8 bytes).

    The service model bounds each key and value (1024) and each map (100 entries); the
    combined limit is only in SageMaker's documentation of ContainerDefinition.Environment.
    """
    containers = [params["PrimaryContainer"]] if params.get("PrimaryContainer") else []
    containers += params.get("Containers") or []
    total = sum(
        len(key.encode()) + len(value.encode())
        for container in containers
        for key, value in (container.get("Environment") or {}).items()
    )
    if total > MAX_ENVIRONMENT_BYTES:
        raise validation(
            "The maximum length of all keys and values in the Environment maps of a model's "
            f"containers, combined, is {MAX_ENVIRONMENT_BYTES} bytes (32 KB); this request has "
            f"{total} bytes."
        )


def describe_model(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return public(get_model(ctx, params["ModelName"]))


def get_model(ctx: Context, name: str) -> dict[str, Any]:
    record = ctx.region.models.get(name)
    if record is None:
        raise not_found("model", ctx.arn("models", name))
    return record


def delete_model(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Deleting a model still in use is allowed, as in AWS; what runs keeps running."""
    record = get_model(ctx, params["ModelName"])
    del ctx.region.models[params["ModelName"]]
    forget_tags(ctx, record["ModelArn"])
    return {}


def list_models(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    items, token = page(ctx.region.models.values(), params, name_key="ModelName")
    out: dict[str, Any] = {
        "Models": [
            {
                "ModelName": r["ModelName"],
                "ModelArn": r["ModelArn"],
                "CreationTime": r["CreationTime"],
            }
            for r in items
        ]
    }
    if token:
        out["NextToken"] = token
    return out


def model_images(record: dict[str, Any]) -> list[str]:
    containers = (
        record.get("_containers")
        or record.get("Containers")
        or [record.get("PrimaryContainer") or {}]
    )
    return [c["Image"] for c in containers if c.get("Image")]
