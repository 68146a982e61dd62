"""Endpoints: Creating -> InService | Failed, Updating -> InService, Deleting -> gone."""

from __future__ import annotations

from typing import Any

from .. import containers, deployments, placement, serverless
from ..caller import Caller
from ..errors import already_exists, in_progress, not_found, resource_limit, validation
from ..state import Record, Region, Store, public
from .common import Context, page, resolved_image, tag_resource, touch
from .endpoint_configs import get_endpoint_config, is_component_based
from .models import get_model, model_images


def get_endpoint(ctx: Context, name: str) -> Record:
    record = ctx.region.endpoints.get(name)
    if record is None:
        raise not_found("endpoint", ctx.arn("endpoints", name))
    return record


def _check_models(ctx: Context, config: Record) -> None:
    for variant in config["ProductionVariants"]:
        if variant.get("ModelName"):
            get_model(ctx, variant["ModelName"])


def _check_quota(ctx: Context, config: Record, replacing: str | None = None) -> None:
    """Account-level instance quotas, counted over the live endpoints of this account and region."""
    limits = ctx.store.faults.instance_limits
    if not limits:
        return
    for variant in config["ProductionVariants"]:
        kind = variant.get("InstanceType")
        if kind not in limits:
            continue
        used = sum(
            v.get("DesiredInstanceCount", 0)
            for e in ctx.region.endpoints.values()
            if e["EndpointName"] != replacing and e["EndpointStatus"] != "Failed"
            for v in e.get("ProductionVariants", [])
            if v.get("_InstanceType") == kind
        )
        delta = int(variant.get("InitialInstanceCount", 1))
        if used + delta > limits[kind]:
            raise resource_limit(
                f"The account-level service limit '{kind} for endpoint usage' is "
                f"{limits[kind]} Instances, with current utilization of {used} Instances and a "
                f"request delta of {delta} Instances. Please use AWS Service Quotas to request "
                "an increase for this quota. If AWS Service Quotas is not available, contact "
                "AWS support to request an increase for this quota."
            )


def _variants(ctx: Context, config: Record, now: float, status: str | None) -> list[Record]:
    """The endpoint's view of a config's variants; `_InstanceType` stays internal."""
    out = []
    for spec in config["ProductionVariants"]:
        count = int(spec.get("InitialInstanceCount", 1))
        weight = float(spec.get("InitialVariantWeight", 1.0))
        variant: Record = {
            "VariantName": spec["VariantName"],
            "CurrentWeight": weight,
            "DesiredWeight": weight,
            "CurrentInstanceCount": 0 if status else count,
            "DesiredInstanceCount": count,
            "_InstanceType": spec.get("InstanceType"),
        }
        if spec.get("ModelName") and spec["ModelName"] in ctx.region.models:
            variant["DeployedImages"] = [
                {
                    "SpecifiedImage": image,
                    "ResolvedImage": resolved_image(image),
                    "ResolutionTime": now,
                }
                for image in model_images(ctx.region.models[spec["ModelName"]])
            ]
        for key in ("ManagedInstanceScaling", "RoutingConfig"):
            if key in spec:
                variant[key] = spec[key]
        if serverless.is_serverless(spec):
            # The counts stay for the state machine; DescribeEndpoint shows the configs.
            variant["DesiredServerlessConfig"] = dict(spec["ServerlessConfig"])
            variant["CurrentServerlessConfig"] = dict(spec["ServerlessConfig"])
        if status:
            variant["VariantStatus"] = [{"Status": status, "StartTime": now}]
        out.append(variant)
    return out


def create_endpoint(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["EndpointName"]
    endpoint_arn = ctx.arn("endpoints", name)
    if name in ctx.region.endpoints:
        raise already_exists("endpoint", endpoint_arn)
    config = get_endpoint_config(ctx, params["EndpointConfigName"])
    _check_models(ctx, config)
    _check_quota(ctx, config)
    record: Record = {
        "EndpointName": name,
        "EndpointArn": endpoint_arn,
        "EndpointConfigName": config["EndpointConfigName"],
        "ProductionVariants": _variants(ctx, config, ctx.now, "Creating"),
        "EndpointStatus": "Creating",
        "CreationTime": ctx.now,
        "LastModifiedTime": ctx.now,
        "_ComponentBased": is_component_based(config),
    }
    if "DeploymentConfig" in params:
        record["LastDeploymentConfig"] = params["DeploymentConfig"]
    ctx.region.endpoints[name] = record
    tag_resource(ctx, endpoint_arn, params.get("Tags", []))
    ctx.store.schedule(
        ctx.caller,
        "endpoints",
        record,
        "create",
        start=ctx.now,
        stuck=ctx.store.faults.is_stuck("endpoint", name),
    )
    return {"EndpointArn": endpoint_arn}


def describe_endpoint(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return render(get_endpoint(ctx, params["EndpointName"]))


def render(record: Record) -> Record:
    out = public(record)
    out["ProductionVariants"] = [
        serverless.describe_variant(public(v)) for v in record["ProductionVariants"]
    ]
    pending = record.get("_pending") or {}
    if pending.get("op") in ("update", "deploy"):
        out["PendingDeploymentSummary"] = {
            "EndpointConfigName": pending["config"],
            "ProductionVariants": [
                serverless.describe_variant(public(v)) for v in pending["variants"]
            ],
            "StartTime": pending["started"],
        }
    return out


def _require_in_service(ctx: Context, record: Record) -> None:
    if record["EndpointStatus"] == "Failed":
        raise validation(
            f'Cannot update endpoint "{record["EndpointArn"]}" because it is in Failed status; '
            "a failed endpoint can only be deleted."
        )
    if record["EndpointStatus"] != "InService":
        raise in_progress("endpoint", record["EndpointArn"])


def update_endpoint(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    record = get_endpoint(ctx, params["EndpointName"])
    _require_in_service(ctx, record)
    config = get_endpoint_config(ctx, params["EndpointConfigName"])
    _check_models(ctx, config)
    _check_quota(ctx, config, replacing=record["EndpointName"])
    current = ctx.region.endpoint_configs.get(record["EndpointConfigName"])
    if current is not None:
        serverless.check_update(current, config)
    if is_component_based(config) != record["_ComponentBased"]:
        raise validation(
            "Cannot update an endpoint between a model-based and an inference-component-based "
            "endpoint configuration."
        )
    variants = _variants(ctx, config, ctx.now, "Updating")
    if params.get("RetainAllVariantProperties"):
        excluded = {
            p["VariantPropertyType"] for p in params.get("ExcludeRetainedVariantProperties", [])
        }
        old = {v["VariantName"]: v for v in record["ProductionVariants"]}
        for variant in variants:
            before = old.get(variant["VariantName"])
            if before is None:
                continue
            if "DesiredInstanceCount" not in excluded:
                variant["DesiredInstanceCount"] = before["DesiredInstanceCount"]
            if "DesiredWeight" not in excluded:
                variant["DesiredWeight"] = before["DesiredWeight"]
    if record["_ComponentBased"]:
        # Instances that host inference components carry over to the new variants.
        old = {v["VariantName"]: v for v in record["ProductionVariants"]}
        for variant in variants:
            if variant["VariantName"] in old:
                variant["DesiredInstanceCount"] = old[variant["VariantName"]][
                    "CurrentInstanceCount"
                ]
    deployment = params.get("DeploymentConfig")
    if deployment is None and params.get("RetainDeploymentConfig"):
        deployment = record.get("LastDeploymentConfig")
    stuck = ctx.store.faults.is_stuck("endpoint", record["EndpointName"])
    if deployment and deployments.guarded(deployment):
        deployments.start_endpoint(
            ctx.store,
            ctx.caller,
            record,
            config["EndpointConfigName"],
            variants,
            deployment,
            ctx.now,
            stuck,
        )
        return {"EndpointArn": record["EndpointArn"]}
    record["EndpointStatus"] = "Updating"
    touch(record, ctx.now)
    ctx.store.schedule(
        ctx.caller,
        "endpoints",
        record,
        "update",
        start=ctx.now,
        config=config["EndpointConfigName"],
        variants=variants,
        started=ctx.now,
        deployment=deployment,
        stuck=stuck,
    )
    return {"EndpointArn": record["EndpointArn"]}


def update_weights(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    record = get_endpoint(ctx, params["EndpointName"])
    _require_in_service(ctx, record)
    variants = {v["VariantName"]: v for v in record["ProductionVariants"]}
    missing = [
        d["VariantName"]
        for d in params["DesiredWeightsAndCapacities"]
        if d["VariantName"] not in variants
    ]
    if missing:
        raise validation(
            f'The variant(s) "[{", ".join(missing)}]" are not present in the endpoint '
            f'"{record["EndpointArn"]}".'
        )
    for desired in params["DesiredWeightsAndCapacities"]:
        variant = variants[desired["VariantName"]]
        if "DesiredWeight" in desired:
            variant["DesiredWeight"] = float(desired["DesiredWeight"])
        if "DesiredInstanceCount" in desired:
            variant["DesiredInstanceCount"] = int(desired["DesiredInstanceCount"])
    record["EndpointStatus"] = "Updating"
    touch(record, ctx.now)
    ctx.store.schedule(ctx.caller, "endpoints", record, "weights", start=ctx.now)
    return {"EndpointArn": record["EndpointArn"]}


def delete_endpoint(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    record = get_endpoint(ctx, params["EndpointName"])
    hosted = [
        c["InferenceComponentName"]
        for c in ctx.region.inference_components.values()
        if c["EndpointName"] == record["EndpointName"]
    ]
    if hosted:
        raise validation(
            f'Cannot delete endpoint "{record["EndpointArn"]}" because it has inference '
            f"components associated with it ({', '.join(sorted(hosted))}). Delete the inference "
            "components first."
        )
    if record["EndpointStatus"] == "Deleting":
        return {}
    record["EndpointStatus"] = "Deleting"
    touch(record, ctx.now)
    ctx.store.schedule(ctx.caller, "endpoints", record, "delete", start=ctx.now)
    return {}


def list_endpoints(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    items, token = page(
        ctx.region.endpoints.values(), params, name_key="EndpointName", status_key="EndpointStatus"
    )
    keys = ("EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus")
    out: dict[str, Any] = {"Endpoints": [{k: r[k] for k in keys} for r in items]}
    if token:
        out["NextToken"] = token
    return out


def complete(
    store: Store,
    caller: Caller,
    region: Region,
    record: Record,
    pending: dict[str, Any],
    now: float,
) -> None:
    """A transition of an endpoint falls due; `now` is its due time."""
    op = pending.get("op")
    name = record["EndpointName"]
    record["LastModifiedTime"] = now
    if op == "delete":
        del region.endpoints[name]
        region.tags.pop(record["EndpointArn"].lower(), None)
        return
    if op == "deploy":
        deployments.complete_endpoint(store, caller, region, record, pending, now)
        return
    if op == "create":
        reason = store.faults.take_failure("endpoint", name)
        reason = reason or containers.config_failure(region, record["EndpointConfigName"])
        if reason is not None:
            record["EndpointStatus"] = "Failed"
            record["FailureReason"] = reason
            for variant in record["ProductionVariants"]:
                variant.pop("VariantStatus", None)
            return
        for variant in record["ProductionVariants"]:
            variant.pop("VariantStatus", None)
            variant["CurrentInstanceCount"] = variant["DesiredInstanceCount"]
        record["EndpointStatus"] = "InService"
        return
    if op == "rollback":
        record["EndpointStatus"] = "InService"
        return
    if op == "update":
        reason = store.faults.take_failure("endpoint", name)
        reason = reason or containers.config_failure(region, pending["config"])
        if reason is None and record["_ComponentBased"]:
            reason = placement.redeploy(region, record, pending["variants"], apply=False)
        record["EndpointStatus"] = "InService"
        if reason is not None:
            # Roll back to the old config, which keeps serving; then InService with the reason.
            record["EndpointStatus"] = "RollingBack"
            record["FailureReason"] = reason
            store.schedule(caller, "endpoints", record, "rollback", start=now)
            return
        record.pop("FailureReason", None)
        record["EndpointConfigName"] = pending["config"]
        for variant in pending["variants"]:
            variant.pop("VariantStatus", None)
            variant["CurrentInstanceCount"] = variant["DesiredInstanceCount"]
            variant["CurrentWeight"] = variant["DesiredWeight"]
        if record["_ComponentBased"]:
            placement.redeploy(region, record, pending["variants"], apply=True)
        record["ProductionVariants"] = pending["variants"]
        if pending.get("deployment") is not None:
            record["LastDeploymentConfig"] = pending["deployment"]
        return
    if op == "weights":
        for variant in record["ProductionVariants"]:
            variant["CurrentWeight"] = variant["DesiredWeight"]
            variant["CurrentInstanceCount"] = variant["DesiredInstanceCount"]
        record["EndpointStatus"] = "InService"
