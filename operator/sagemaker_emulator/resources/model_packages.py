"""The model registry: model package groups, model packages (versioned and unversioned), and
the AWS Marketplace packages a subscriber deploys by ARN.

A versioned package lives in a group and is numbered 1, 2, 3, ... there (numbers are never
reused, as in AWS); its ARN is `model-package/GROUP/VERSION`. An unversioned package has a
name of its own. Marketplace packages live in the seller's account (seeded through the admin
API); any account in the same region may describe them by ARN and create models from them.
Models created from a package run the package's containers (models.py keeps them).
"""

from __future__ import annotations

import re
from typing import Any

from ..caller import Caller
from ..errors import AwsError, already_exists, validation
from ..state import ARN_KIND, Record, Region, arn, public
from .common import Context, forget_tags, page, tag_resource

MARKETPLACE_ACCOUNT = "865070037744"  # the AWS Marketplace sellers' account in ARNs
APPROVAL_STATUSES = ("Approved", "Rejected", "PendingManualApproval")
DEFAULT_APPROVAL = "PendingManualApproval"  # a version registered without one
_ARN = re.compile(r"arn:aws[a-z\-]*:sagemaker:([a-z0-9\-]*):([0-9]{12}):([a-z\-]*)/(.+)")
_VERSIONED_NAME = re.compile(r"([a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})/([0-9]{1,9})")
_SUMMARY = (
    "ModelPackageName",
    "ModelPackageGroupName",
    "ModelPackageVersion",
    "ModelPackageArn",
    "ModelPackageDescription",
    "CreationTime",
    "ModelPackageStatus",
    "ModelApprovalStatus",
    "ModelLifeCycle",
    "ModelPackageRegistrationType",
)
# CreateModelPackage members a package keeps as given.
_KEPT = (
    "ModelPackageDescription",
    "ModelPackageRegistrationType",
    "InferenceSpecification",
    "SourceAlgorithmSpecification",
    "ValidationSpecification",
    "MetadataProperties",
    "ModelMetrics",
    "Domain",
    "Task",
    "SamplePayloadUrl",
    "CustomerMetadataProperties",
    "DriftCheckBaselines",
    "AdditionalInferenceSpecifications",
    "SkipModelValidation",
    "SourceUri",
    "SecurityConfig",
    "ModelCard",
    "ModelLifeCycle",
)


# -- groups ------------------------------------------------------------------------


def _group_does_not_exist(ctx: Context, name: str) -> AwsError:
    return validation(f"ModelPackageGroup {ctx.arn('model_package_groups', name)} does not exist.")


def _name_of(ctx: Context, given: str, kind: str) -> str | None:
    """The name in a name-or-ARN member; None for an ARN of another account, region or kind."""
    found = _ARN.fullmatch(given)
    if found is None:
        return given
    region, account, kind_name, name = found.groups()
    if (account, region) != (ctx.caller.account, ctx.caller.region) or kind_name != ARN_KIND[kind]:
        return None
    return name


def get_group(ctx: Context, given: str) -> Record:
    """A group of the caller's by name or ARN (ARNs carry the name lowercased)."""
    name = _name_of(ctx, given, "model_package_groups")
    groups = ctx.region.model_package_groups
    if name is not None:
        record = groups.get(name)
        if record is None:
            record = next((g for g in groups.values() if g["_key"] == name.lower()), None)
        if record is not None:
            return record
    raise _group_does_not_exist(ctx, given if name is None else name)


def create_model_package_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params["ModelPackageGroupName"]
    group_arn = ctx.arn("model_package_groups", name)
    if any(g["_key"] == name.lower() for g in ctx.region.model_package_groups.values()):
        raise already_exists("model package group", group_arn)
    record: Record = {
        "ModelPackageGroupName": name,
        "ModelPackageGroupArn": group_arn,
        "CreationTime": ctx.now,
        "CreatedBy": {},
        "ModelPackageGroupStatus": "Completed",
        "_key": name.lower(),
        "_last_version": 0,
    }
    for key in ("ModelPackageGroupDescription", "ManagedConfiguration"):
        if key in params:
            record[key] = params[key]
    ctx.region.model_package_groups[name] = record
    tag_resource(ctx, group_arn, params.get("Tags", []))
    return {"ModelPackageGroupArn": group_arn}


def describe_model_package_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return public(get_group(ctx, params["ModelPackageGroupName"]))


def list_model_package_groups(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    items, token = page(
        ctx.region.model_package_groups.values(), params, name_key="ModelPackageGroupName"
    )
    summary = (
        "ModelPackageGroupName",
        "ModelPackageGroupArn",
        "ModelPackageGroupDescription",
        "CreationTime",
        "ModelPackageGroupStatus",
        "ManagedConfiguration",
    )
    out: dict[str, Any] = {
        "ModelPackageGroupSummaryList": [{k: r[k] for k in summary if k in r} for r in items]
    }
    if token:
        out["NextToken"] = token
    return out


def delete_model_package_group(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Refused (ConflictException) while the group still holds versions, as in AWS."""
    record = get_group(ctx, params["ModelPackageGroupName"])
    name = record["ModelPackageGroupName"]
    versions = [p for p in ctx.region.model_packages.values() if p.get("_group") == name]
    if versions:
        raise AwsError(
            "ConflictException",
            f"Model package group {record['ModelPackageGroupArn']} contains {len(versions)} "
            "model package version(s); delete them before deleting the group.",
        )
    del ctx.region.model_package_groups[name]
    forget_tags(ctx, record["ModelPackageGroupArn"])
    return {}


# -- packages ----------------------------------------------------------------------


def _package_does_not_exist(given: str) -> AwsError:
    return validation(f"ModelPackage {given} does not exist.")


def find_package(ctx: Context, given: str) -> Record:
    """A package by name, GROUP/VERSION or ARN; a Marketplace package by ARN from any account.

    Another account's package (other than a Marketplace one) or another region's does not
    exist for the caller.
    """
    found = _ARN.fullmatch(given)
    if found is None:
        record = ctx.region.model_packages.get(given)
        if record is None:
            record = next(
                (p for p in ctx.region.model_packages.values() if p["_key"] == given.lower()),
                None,
            )
        if record is None:
            raise _package_does_not_exist(ctx.arn("model_packages", given))
        return record
    region_name, account, kind_name, _ = found.groups()
    region = ctx.store.regions.get((account, region_name))
    if kind_name != ARN_KIND["model_packages"] or region is None:
        raise _package_does_not_exist(given)
    wanted = given.lower()
    record = next(
        (p for p in region.model_packages.values() if p["ModelPackageArn"] == wanted), None
    )
    if record is None or region_name != ctx.caller.region:
        raise _package_does_not_exist(given)
    if account != ctx.caller.account and not record.get("_marketplace"):
        raise _package_does_not_exist(given)
    return record


def _own_package(ctx: Context, given: str) -> Record:
    """A package the caller may change: one of its own account's."""
    record = find_package(ctx, given)
    if record.get("_account", ctx.caller.account) != ctx.caller.account:
        raise validation(
            f"ModelPackage {record['ModelPackageArn']} belongs to account {record['_account']}; "
            "only its owner can update or delete it."
        )
    return record


def create_model_package(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = params.get("ModelPackageName")
    group_given = params.get("ModelPackageGroupName")
    if name and group_given:
        raise validation(
            "Both ModelPackageName and ModelPackageGroupName are provided in the input. "
            "Cannot determine which one to use."
        )
    if not name and not group_given:
        raise validation("Missing ARN.")
    packages = ctx.region.model_packages
    record: Record = {key: params[key] for key in _KEPT if key in params}
    if group_given:
        group = get_group(ctx, group_given)
        group["_last_version"] += 1
        version = int(group["_last_version"])
        group_name = group["ModelPackageGroupName"]
        key = f"{group_name}/{version}"
        record.update(
            ModelPackageName=group_name,
            ModelPackageGroupName=group_name,
            ModelPackageVersion=version,
            ModelApprovalStatus=params.get("ModelApprovalStatus", DEFAULT_APPROVAL),
            _group=group_name,
        )
    else:
        key = str(name)
        if any(p["_key"] == key.lower() for p in packages.values()):
            raise already_exists("model package", ctx.arn("model_packages", key))
        record["ModelPackageName"] = key
    package_arn = ctx.arn("model_packages", key)
    record.update(
        ModelPackageArn=package_arn,
        CreationTime=ctx.now,
        LastModifiedTime=ctx.now,
        ModelPackageStatus="Completed",
        ModelPackageStatusDetails={"ValidationStatuses": []},
        CertifyForMarketplace=bool(params.get("CertifyForMarketplace", False)),
        CreatedBy={},
        _key=key.lower(),
        _account=ctx.caller.account,
    )
    packages[key] = record
    tag_resource(ctx, package_arn, params.get("Tags", []))
    return {"ModelPackageArn": package_arn}


def describe_model_package(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return public(find_package(ctx, params["ModelPackageName"]))


def list_model_packages(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """The caller's packages; with a group, its versions; otherwise unversioned ones unless
    ModelPackageType says Versioned or Both."""
    chosen = list(ctx.region.model_packages.values())
    group_given = params.get("ModelPackageGroupName")
    kind = params.get("ModelPackageType") or "Unversioned"
    if group_given:
        group_name = _name_of(ctx, group_given, "model_package_groups") or ""
        chosen = [p for p in chosen if str(p.get("_group", "")).lower() == group_name.lower()]
    elif kind != "Both":
        chosen = [p for p in chosen if ("_group" in p) == (kind == "Versioned")]
    if params.get("ModelApprovalStatus"):
        chosen = [
            p for p in chosen if p.get("ModelApprovalStatus") == params["ModelApprovalStatus"]
        ]
    items, token = page(chosen, params, name_key="ModelPackageName", tiebreak="ModelPackageVersion")
    out: dict[str, Any] = {
        "ModelPackageSummaryList": [{k: r[k] for k in _SUMMARY if k in r} for r in items]
    }
    if token:
        out["NextToken"] = token
    return out


def update_model_package(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    record = _own_package(ctx, params["ModelPackageArn"])
    status = params.get("ModelApprovalStatus")
    if status is not None:
        if "_group" not in record:
            raise validation(
                "ModelApprovalStatus applies to versioned model packages only; "
                f"{record['ModelPackageArn']} is not in a model package group."
            )
        record["ModelApprovalStatus"] = status
    if "ApprovalDescription" in params:
        record["ApprovalDescription"] = params["ApprovalDescription"]
    metadata = dict(record.get("CustomerMetadataProperties") or {})
    metadata.update(params.get("CustomerMetadataProperties") or {})
    for removed in params.get("CustomerMetadataPropertiesToRemove") or []:
        metadata.pop(removed, None)
    if metadata or "CustomerMetadataProperties" in record:
        record["CustomerMetadataProperties"] = metadata
    added = params.get("AdditionalInferenceSpecificationsToAdd")
    if added:
        record["AdditionalInferenceSpecifications"] = [
            *(record.get("AdditionalInferenceSpecifications") or []),
            *added,
        ]
    for key in (
        "InferenceSpecification",
        "ModelPackageRegistrationType",
        "SourceUri",
        "ModelCard",
        "ModelLifeCycle",
    ):
        if key in params:
            record[key] = params[key]
    record["LastModifiedTime"] = ctx.now
    record["LastModifiedBy"] = {}
    return {"ModelPackageArn": record["ModelPackageArn"]}


def delete_model_package(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """Models created from the package keep running, as in AWS."""
    record = _own_package(ctx, params["ModelPackageName"])
    key = next(k for k, p in ctx.region.model_packages.items() if p is record)
    del ctx.region.model_packages[key]
    forget_tags(ctx, record["ModelPackageArn"])
    return {}


# -- models from packages ------------------------------------------------------------


def _inference_specification(record: Record, wanted: str | None) -> dict[str, Any]:
    arn_ = record["ModelPackageArn"]
    if wanted:
        for spec in record.get("AdditionalInferenceSpecifications") or []:
            if spec.get("Name") == wanted:
                return dict(spec)
        raise validation(
            f"Model package {arn_} has no additional inference specification named {wanted}."
        )
    spec = record.get("InferenceSpecification")
    if not spec:
        raise validation(
            f"Model package {arn_} has no InferenceSpecification; a model cannot be created "
            "from it."
        )
    return dict(spec)


def resolve_containers(
    ctx: Context, containers: list[dict[str, Any]], isolated: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The containers a model runs, with the packages named expanded, and those packages.

    A container naming ModelPackageName runs the package's containers (image, model data,
    environment), with the request's Environment merged over the package's. SageMaker
    refuses a version that is not Approved and a Marketplace package without network
    isolation.
    """
    running: list[dict[str, Any]] = []
    used: list[dict[str, Any]] = []
    for container in containers:
        given = container.get("ModelPackageName")
        if not given:
            running.append(container)
            continue
        record = find_package(ctx, given)
        package_arn = record["ModelPackageArn"]
        status = record.get("ModelApprovalStatus")
        if "_group" in record and status != "Approved":
            raise validation(
                f"Model package {package_arn} has ModelApprovalStatus {status}; only an "
                "Approved model package version can be used to create a model."
            )
        if record.get("_network_isolation") and not isolated:
            raise validation(
                "EnableNetworkIsolation must be true for models using SageMaker Marketplace "
                f"model packages; {package_arn} is one."
            )
        spec = _inference_specification(record, container.get("InferenceSpecificationName"))
        for inner in spec["Containers"]:
            resolved = {
                k: inner[k]
                for k in ("Image", "ModelDataUrl", "ModelDataSource", "ContainerHostname")
                if k in inner
            }
            resolved["Environment"] = {
                **(inner.get("Environment") or {}),
                **(container.get("Environment") or {}),
            }
            running.append(resolved)
        used.append(
            {
                "arn": package_arn,
                "marketplace": bool(record.get("_marketplace")),
                "instance_types": list(spec.get("SupportedRealtimeInferenceInstanceTypes") or []),
            }
        )
    return running, used


def check_instance_type(model: Record, instance_type: str | None, where: str) -> None:
    """An instance type the model's packages do not list for real-time inference is refused."""
    if not instance_type:
        return
    for package in model.get("_packages") or []:
        supported = package["instance_types"]
        if supported and instance_type not in supported:
            raise validation(
                f"The instance type {instance_type} of {where} is not supported by model "
                f"package {package['arn']} (model {model['ModelName']}). Supported real-time "
                f"inference instance types: {', '.join(supported)}."
            )


def check_component_model(model: Record) -> None:
    """Inference components cannot host a model made from an AWS Marketplace package."""
    for package in model.get("_packages") or []:
        if package["marketplace"]:
            raise validation(
                f"Model {model['ModelName']} was created from AWS Marketplace model package "
                f"{package['arn']}; inference components cannot host AWS Marketplace model "
                "packages. Deploy it on an endpoint whose production variant names the model."
            )


# -- Marketplace (admin API) -------------------------------------------------------


def seed_marketplace_package(
    store_region: Region,
    caller: Caller,
    name: str,
    spec: dict[str, Any],
    now: float,
    **options: Any,
) -> Record:
    """Register (or replace) a Marketplace model package in the seller's account."""
    package_arn = arn(caller, "model_packages", name)
    record: Record = {
        "ModelPackageName": name,
        "ModelPackageArn": package_arn,
        "ModelPackageDescription": options.get("description") or f"AWS Marketplace model {name}",
        "CreationTime": now,
        "LastModifiedTime": now,
        "InferenceSpecification": spec,
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": []},
        "CertifyForMarketplace": bool(options.get("certify_for_marketplace", True)),
        "CreatedBy": {},
        "_key": name.lower(),
        "_account": caller.account,
        "_marketplace": True,
        "_network_isolation": bool(options.get("network_isolation_required", True)),
    }
    store_region.model_packages[name] = record
    return record
