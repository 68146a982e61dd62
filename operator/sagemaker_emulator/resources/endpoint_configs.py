"""Endpoint configs: immutable variant layouts, model-based or for inference components."""

from __future__ import annotations

from typing import Any

from ..errors import already_exists, not_found, validation
from ..serverless import check_config
from ..state import public
from .common import Context, forget_tags, page, tag_resource
from .model_packages import check_instance_type
from .models import get_model

_KEPT = (
    "EndpointConfigName",
    "ProductionVariants",
    "DataCaptureConfig",
    "KmsKeyId",
    "AsyncInferenceConfig",
    "ExplainerConfig",
    "ShadowProductionVariants",
    "ExecutionRoleArn",
    "VpcConfig",
    "MetricsConfig",
)


def is_component_based(config: dict[str, Any]) -> bool:
    """Variants without a ModelName host inference components."""
    return all(not v.get("ModelName") for v in config["ProductionVariants"])


def _check_variants(ctx: Context, params: dict[str, Any]) -> None:
    variants = params["ProductionVariants"]
    names = [v["VariantName"] for v in variants]
    if len(set(names)) != len(names):
        raise validation("The variant names in ProductionVariants must be unique.")
    with_model = [v for v in variants if v.get("ModelName")]
    if with_model and len(with_model) != len(variants):
        raise validation(
            "All production variants must either specify a ModelName or none of them may; "
            "variants without a model host inference components."
        )
    for variant in variants:
        if variant.get("ServerlessConfig"):
            continue
        if not variant.get("InstanceType"):
            raise validation(
                f"InstanceType is required for production variant {variant['VariantName']}."
            )
        if with_model and not variant.get("InitialInstanceCount"):
            raise validation(
                f"InitialInstanceCount is required for production variant {variant['VariantName']}."
            )
        scaling = variant.get("ManagedInstanceScaling")
        if scaling and with_model:
            raise validation(
                "ManagedInstanceScaling is only supported for inference component endpoints."
            )
        if scaling and scaling.get("Status") == "ENABLED":
            low, high = scaling.get("MinInstanceCount", 1), scaling.get("MaxInstanceCount", 1)
            if low > high:
                raise validation(
                    f"MinInstanceCount ({low}) must be less than or equal to "
                    f"MaxInstanceCount ({high}) for variant {variant['VariantName']}."
                )
    for variant in variants:
        _check_routing(variant)
    for variant in with_model:
        model = get_model(ctx, variant["ModelName"])
        check_instance_type(
            model, variant.get("InstanceType"), f"production variant {variant['VariantName']}"
        )
    check_config(params, ctx.region.models)
    if params.get("AsyncInferenceConfig"):
        if not with_model:
            raise validation(
                "AsyncInferenceConfig is not supported for endpoint configurations whose "
                "production variants host inference components."
            )
        if any(v.get("ServerlessConfig") for v in variants):
            raise validation("AsyncInferenceConfig is not supported with ServerlessConfig.")
        if not (params["AsyncInferenceConfig"].get("OutputConfig") or {}).get("S3OutputPath"):
            raise validation("AsyncInferenceConfig.OutputConfig.S3OutputPath is required.")
    if not with_model and not params.get("ExecutionRoleArn"):
        raise validation(
            "ExecutionRoleArn is required for an endpoint configuration whose production "
            "variants host inference components (no ModelName)."
        )


def _check_routing(variant: dict[str, Any]) -> None:
    """PrefixAwareRoutingConfig belongs to PREFIX_AWARE, which needs both its members."""
    routing = variant.get("RoutingConfig")
    if not routing:
        return
    strategy = routing["RoutingStrategy"]
    prefix = routing.get("PrefixAwareRoutingConfig")
    if prefix is not None and strategy != "PREFIX_AWARE":
        raise validation(
            "PrefixAwareRoutingConfig can be specified only when RoutingStrategy is "
            f"PREFIX_AWARE; production variant {variant['VariantName']} has {strategy}."
        )
    if strategy == "PREFIX_AWARE":
        missing = [m for m in ("PrefixLength", "ConcurrencyThreshold") if m not in (prefix or {})]
        if missing:
            raise validation(
                f"{' and '.join(missing)} in PrefixAwareRoutingConfig "
                f"{'are' if len(missing) > 1 else 'is'} required when RoutingStrategy is "
                f"PREFIX_AWARE (production variant {variant['VariantName']})."
            )


def create_endpoint_config(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["EndpointConfigName"]
    config_arn = ctx.arn("endpoint_configs", name)
    if name in ctx.region.endpoint_configs:
        raise already_exists("endpoint configuration", config_arn)
    _check_variants(ctx, params)
    reason = ctx.store.faults.take_failure("endpoint_config", name)
    if reason is not None:
        raise validation(reason)
    for variant in params["ProductionVariants"]:
        # SageMaker describes the default weight of a variant that hosts a model; one that
        # hosts inference components (no ModelName) is described without a weight.
        if variant.get("ModelName"):
            variant.setdefault("InitialVariantWeight", 1.0)
    record = {key: params[key] for key in _KEPT if key in params}
    record.update(
        EndpointConfigArn=config_arn,
        CreationTime=ctx.now,
        EnableNetworkIsolation=bool(params.get("EnableNetworkIsolation", False)),
    )
    ctx.region.endpoint_configs[name] = record
    tag_resource(ctx, config_arn, params.get("Tags", []))
    return {"EndpointConfigArn": config_arn}


def get_endpoint_config(ctx: Context, name: str) -> dict[str, Any]:
    record = ctx.region.endpoint_configs.get(name)
    if record is None:
        raise not_found("endpoint configuration", ctx.arn("endpoint_configs", name))
    return record


def describe_endpoint_config(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return public(get_endpoint_config(ctx, params["EndpointConfigName"]))


def delete_endpoint_config(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    record = get_endpoint_config(ctx, params["EndpointConfigName"])
    del ctx.region.endpoint_configs[params["EndpointConfigName"]]
    forget_tags(ctx, record["EndpointConfigArn"])
    return {}


def list_endpoint_configs(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    items, token = page(ctx.region.endpoint_configs.values(), params, name_key="EndpointConfigName")
    out: dict[str, Any] = {
        "EndpointConfigs": [
            {
                "EndpointConfigName": r["EndpointConfigName"],
                "EndpointConfigArn": r["EndpointConfigArn"],
                "CreationTime": r["CreationTime"],
            }
            for r in items
        ]
    }
    if token:
        out["NextToken"] = token
    return out
