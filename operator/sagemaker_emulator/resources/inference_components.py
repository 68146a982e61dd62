"""Inference components: model copies placed on an endpoint's instances, scaled by CopyCount."""

from __future__ import annotations

from typing import Any

from .. import containers, deployments
from ..caller import Caller
from ..capacity import CapacityError, Need, never_fits, place
from ..errors import already_exists, in_progress, not_found, validation
from ..placement import endpoint_variant, settle_instances, variant_of
from ..state import Record, Region, Store, public
from .common import Context, page, resolved_image, tag_resource, touch
from .endpoints import get_endpoint
from .model_packages import check_component_model, check_instance_type
from .models import get_model

KIND = "inference component"
# With DataCacheConfig.EnableCaching, a copy placed on an instance that already holds a
# copy of the component loads the model from that instance's cache: its start-up takes
# this share of the emulator's delay.
CACHED_START = 0.25


def get_component(ctx: Context, name: str) -> Record:
    record = ctx.region.inference_components.get(name)
    if record is None:
        raise not_found(KIND, ctx.arn("inference_components", name))
    return record


def _check_spec(
    ctx: Context, endpoint: Record, variant_name: str | None, spec: dict[str, Any]
) -> str:
    """Validate a Specification against the endpoint; returns the variant it lands on."""
    base_name = spec.get("BaseInferenceComponentName")
    if base_name:
        base = get_component(ctx, base_name)
        if base["EndpointName"] != endpoint["EndpointName"]:
            raise validation(
                f'Base inference component "{base["InferenceComponentArn"]}" is not hosted on '
                f'endpoint "{endpoint["EndpointArn"]}".'
            )
        if base["_spec"].get("BaseInferenceComponentName"):
            raise validation(
                "An adapter inference component cannot be the base of another adapter."
            )
        if spec.get("ComputeResourceRequirements"):
            raise validation(
                "ComputeResourceRequirements cannot be specified for an adapter inference "
                "component; it shares the base inference component's resources."
            )
        if not (spec.get("Container") or {}).get("ArtifactUrl"):
            raise validation(
                "Container.ArtifactUrl is required for an adapter inference component."
            )
        variant: str = base["VariantName"]
        return variant
    if not variant_name:
        raise validation(
            "VariantName is required for an inference component that is not an adapter."
        )
    found = endpoint_variant(endpoint, variant_name)
    if found is None:
        raise validation(
            f'Could not find variant "{variant_name}" in endpoint "{endpoint["EndpointArn"]}".'
        )
    requirements = spec.get("ComputeResourceRequirements")
    if not requirements:
        raise validation(
            "ComputeResourceRequirements is required for an inference component that is not "
            "an adapter."
        )
    if spec.get("ModelName"):
        model = get_model(ctx, spec["ModelName"])
        check_component_model(model)
        check_instance_type(model, found["_InstanceType"], f"variant {variant_name}")
    elif not (spec.get("Container") or {}).get("Image"):
        raise validation("Specify either ModelName or Container.Image in the Specification.")
    reason = never_fits(Need.of(requirements), found["_InstanceType"])
    if reason is not None:
        raise validation(reason)
    return variant_name


def _spec_of(params: dict[str, Any]) -> dict[str, Any]:
    if "Specification" in params and "Specifications" in params:
        raise validation("Specify either Specification or Specifications, not both.")
    if "Specifications" in params:
        raise validation(
            "Specifications (several instance types per component) is not supported by this "
            "emulator; use Specification."
        )
    spec = params.get("Specification")
    if spec is None:
        raise validation("Specification is required.")
    result: dict[str, Any] = spec
    return result


def create_inference_component(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["InferenceComponentName"]
    component_arn = ctx.arn("inference_components", name)
    if name in ctx.region.inference_components:
        raise already_exists(KIND, component_arn)
    endpoint = get_endpoint(ctx, params["EndpointName"])
    if endpoint["EndpointStatus"] not in ("InService", "Updating"):
        raise validation(
            f'Cannot create inference component "{component_arn}" because endpoint '
            f'"{endpoint["EndpointArn"]}" is in {endpoint["EndpointStatus"]} status; '
            "it must be InService."
        )
    if not endpoint["_ComponentBased"]:
        raise validation(
            f'Endpoint "{endpoint["EndpointArn"]}" is not an inference component endpoint: its '
            "endpoint configuration's production variants specify a ModelName."
        )
    spec = _spec_of(params)
    adapter = bool(spec.get("BaseInferenceComponentName"))
    variant = _check_spec(ctx, endpoint, params.get("VariantName"), spec)
    copies = (params.get("RuntimeConfig") or {}).get("CopyCount")
    if copies is None and not adapter:
        raise validation(
            "RuntimeConfig.CopyCount is required for an inference component that is not an adapter."
        )
    record: Record = {
        "InferenceComponentName": name,
        "InferenceComponentArn": component_arn,
        "EndpointName": endpoint["EndpointName"],
        "EndpointArn": endpoint["EndpointArn"],
        "VariantName": variant,
        "CreationTime": ctx.now,
        "LastModifiedTime": ctx.now,
        "InferenceComponentStatus": "Creating",
        "_spec": spec,
        "_desired": copies,
        "_placement": [],
    }
    ctx.region.inference_components[name] = record
    tag_resource(ctx, component_arn, params.get("Tags", []))
    ctx.store.schedule(
        ctx.caller,
        "inference_components",
        record,
        "create",
        start=ctx.now,
        stuck=ctx.store.faults.is_stuck("inference_component", name),
    )
    return {"InferenceComponentArn": component_arn}


def render(region: Region, record: Record) -> Record:
    out = public(record)
    spec: dict[str, Any] = dict(record["_spec"])
    container = spec.get("Container")
    if container is not None:
        shown = {k: container[k] for k in ("ArtifactUrl", "Environment") if k in container}
        if container.get("Image"):
            shown["DeployedImage"] = {
                "SpecifiedImage": container["Image"],
                "ResolvedImage": resolved_image(container["Image"]),
                "ResolutionTime": record["CreationTime"],
            }
        spec["Container"] = shown
    out["Specification"] = spec
    base_name = spec.get("BaseInferenceComponentName")
    if base_name:
        base = region.inference_components.get(base_name)
        copies = len(base["_placement"]) if base else 0
        out["RuntimeConfig"] = {"DesiredCopyCount": copies, "CurrentCopyCount": copies}
    else:
        rolling_out = len((record.get("_rollout") or {}).get("placement", []))
        out["RuntimeConfig"] = {
            "DesiredCopyCount": record["_desired"],
            "CurrentCopyCount": len(record["_placement"]) + rolling_out,
        }
    return out


def describe_inference_component(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return render(ctx.region, get_component(ctx, params["InferenceComponentName"]))


def _require_in_service(record: Record) -> None:
    if record["InferenceComponentStatus"] != "InService":
        raise in_progress(KIND, record["InferenceComponentArn"])


def update_inference_component(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    record = get_component(ctx, params["InferenceComponentName"])
    _require_in_service(record)
    spec = record["_spec"]
    if "Specification" in params or "Specifications" in params:
        spec = _spec_of(params)
        if bool(spec.get("BaseInferenceComponentName")) != bool(
            record["_spec"].get("BaseInferenceComponentName")
        ):
            raise validation("An inference component cannot change between adapter and base.")
        endpoint = get_endpoint(ctx, record["EndpointName"])
        _check_spec(ctx, endpoint, record["VariantName"], spec)
    copies = (params.get("RuntimeConfig") or {}).get("CopyCount", record["_desired"])
    return _start_update(ctx, record, spec, copies, params.get("DeploymentConfig"))


def update_runtime_config(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    record = get_component(ctx, params["InferenceComponentName"])
    _require_in_service(record)
    if record["_spec"].get("BaseInferenceComponentName"):
        raise validation(
            "The runtime config of an adapter inference component cannot be updated; "
            "it follows its base inference component."
        )
    return _start_update(ctx, record, record["_spec"], params["DesiredRuntimeConfig"]["CopyCount"])


def _start_update(
    ctx: Context,
    record: Record,
    spec: dict[str, Any],
    copies: int | None,
    deployment: dict[str, Any] | None = None,
) -> dict[str, Any]:
    stuck = ctx.store.faults.is_stuck("inference_component", record["InferenceComponentName"])
    replacing = spec is not record["_spec"]  # a new specification, not only a copy count
    if (
        deployment
        and replacing
        and copies is not None
        and not spec.get("BaseInferenceComponentName")
    ):
        deployments.start_component(
            ctx.store, ctx.caller, record, spec, int(copies), deployment, ctx.now, stuck
        )
        return {"InferenceComponentArn": record["InferenceComponentArn"]}
    record["InferenceComponentStatus"] = "Updating"
    touch(record, ctx.now)
    ctx.store.schedule(
        ctx.caller,
        "inference_components",
        record,
        "update",
        start=ctx.now,
        spec=spec,
        copies=copies,
        previous=record["_desired"],
        deployment=deployment,
        stuck=stuck,
    )
    record["_desired"] = copies
    return {"InferenceComponentArn": record["InferenceComponentArn"]}


def delete_inference_component(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Refused while Creating, as SageMaker does (a component stuck there cannot be deleted)."""
    record = get_component(ctx, params["InferenceComponentName"])
    if record["InferenceComponentStatus"] == "Creating":
        raise validation(
            f'Cannot delete inference component "{record["InferenceComponentArn"]}" while it is '
            "in Creating status. Wait until it is InService or Failed, then retry."
        )
    adapters = [
        c["InferenceComponentName"]
        for c in ctx.region.inference_components.values()
        if c["_spec"].get("BaseInferenceComponentName") == record["InferenceComponentName"]
    ]
    if adapters:
        raise validation(
            f'Inference component "{record["InferenceComponentArn"]}" is a base inference '
            "component for one or more associated adapter inference components "
            f"({', '.join(sorted(adapters))}). "
            "Delete the adapter inference components first."
        )
    if record["InferenceComponentStatus"] != "Deleting":
        record["InferenceComponentStatus"] = "Deleting"
        touch(record, ctx.now)
        ctx.store.schedule(ctx.caller, "inference_components", record, "delete", start=ctx.now)
    return {}


def list_inference_components(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    items, token = page(
        ctx.region.inference_components.values(),
        params,
        name_key="InferenceComponentName",
        status_key="InferenceComponentStatus",
        equals={"EndpointNameEquals": "EndpointName", "VariantNameEquals": "VariantName"},
    )
    keys = (
        "CreationTime",
        "InferenceComponentArn",
        "InferenceComponentName",
        "EndpointArn",
        "EndpointName",
        "VariantName",
        "InferenceComponentStatus",
        "LastModifiedTime",
    )
    out: dict[str, Any] = {"InferenceComponents": [{k: r[k] for k in keys} for r in items]}
    if token:
        out["NextToken"] = token
    return out


# -- placement ------------------------------------------------------------------


def _replace(region: Region, record: Record, spec: dict[str, Any], copies: int) -> str | None:
    """Place `copies` copies of `spec`; on failure nothing changes and the reason is returned."""
    found = variant_of(region, record, exclude=record["InferenceComponentName"])
    if found is None:
        return (
            f'Request to service failed: endpoint "{record["EndpointArn"]}" no longer hosts '
            "the variant."
        )
    variant, hosting = found
    same = spec.get("ComputeResourceRequirements") == record["_spec"].get(
        "ComputeResourceRequirements"
    )
    keep = record["_placement"] if same else []
    try:
        placement = place(
            variant, Need.of(spec["ComputeResourceRequirements"]), keep, copies, spread=spread(spec)
        )
    except CapacityError as error:
        return str(error)
    record["_placement"] = placement
    record["_spec"] = spec
    settle_instances(region, record, variant, hosting)
    return None


def spread(spec: dict[str, Any]) -> bool:
    """SchedulingConfig SPREAD: new copies on the least used instance; otherwise packed."""
    return bool((spec.get("SchedulingConfig") or {}).get("PlacementStrategy") == "SPREAD")


def _cached_start(
    store: Store, region: Region, record: Record, spec: dict[str, Any]
) -> float | None:
    """The start-up of the component's next copy when it comes from an instance's data
    cache (the instance the copy lands on holds one already); None: the full delay."""
    if not (spec.get("DataCacheConfig") or {}).get("EnableCaching"):
        return None
    found = variant_of(region, record, exclude=record["InferenceComponentName"])
    held = record["_placement"]
    if found is None or not held:
        return None
    try:
        need = Need.of(spec["ComputeResourceRequirements"])
        trial = place(found[0], need, held, len(held) + 1, spread=spread(spec))
    except CapacityError:
        return None
    return store.delay * CACHED_START if trial[-1] in held else None


def _release(region: Region, record: Record) -> None:
    record["_placement"] = []
    found = variant_of(region, record, exclude=record["InferenceComponentName"])
    if found is not None:
        settle_instances(region, record, *found)


def complete(
    store: Store,
    caller: Caller,
    region: Region,
    record: Record,
    pending: dict[str, Any],
    now: float,
) -> None:
    """A transition of an inference component falls due; `now` is its due time."""
    name = record["InferenceComponentName"]
    record["LastModifiedTime"] = now
    adapter = bool(record["_spec"].get("BaseInferenceComponentName"))
    op = pending["op"]
    if op == "deploy":
        deployments.complete_component(store, caller, region, record, pending, now)
        return
    if op == "delete":
        del region.inference_components[name]
        region.tags.pop(record["InferenceComponentArn"].lower(), None)
        if not adapter:
            _release(region, record)
        return
    reason = store.faults.take_failure("inference_component", name)
    if reason is None and not adapter:
        spec = record["_spec"] if op == "create" else pending["spec"]
        reason = containers.component_failure(region, name, spec)
    if op == "create":
        target = 0 if adapter else int(record["_desired"])
        step = min(target, len(record["_placement"]) + 1)  # copies start one after another
        if reason is None and not adapter:
            reason = _replace(region, record, record["_spec"], step)
        if reason is not None:
            record["InferenceComponentStatus"] = "Failed"
            record["FailureReason"] = reason
            _release(region, record)  # a failed component holds no capacity
            return
        if step < target:
            after = _cached_start(store, region, record, record["_spec"])
            store.schedule(caller, "inference_components", record, "create", start=now, after=after)
            return
        record["InferenceComponentStatus"] = "InService"
        return
    # update: a failed update stays InService with the old specification and copies
    target = int(pending["copies"] or 0)
    if reason is None and adapter:
        record["_spec"] = pending["spec"]
    elif reason is None:
        current = len(record["_placement"])
        same = pending["spec"].get("ComputeResourceRequirements") == record["_spec"].get(
            "ComputeResourceRequirements"
        )
        step = current + 1 if same and target > current else target
        reason = _replace(region, record, pending["spec"], step)
        if reason is None and step < target:
            rest = {k: v for k, v in pending.items() if k not in ("op", "due", "seq")}
            after = _cached_start(store, region, record, pending["spec"]) if same else None
            store.schedule(
                caller, "inference_components", record, "update", start=now, after=after, **rest
            )
            return
    record["InferenceComponentStatus"] = "InService"
    if reason is not None:
        if not adapter and len(record["_placement"]) > int(pending["previous"] or 0):
            _replace(region, record, record["_spec"], int(pending["previous"] or 0))
        record["FailureReason"] = reason
        record["_desired"] = pending["previous"]
        return
    record.pop("FailureReason", None)
    if pending.get("deployment"):
        record["LastDeploymentConfig"] = pending["deployment"]
