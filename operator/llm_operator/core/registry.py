"""spec.model.modelPackage: which model package version to serve, decided from what the
shell read of the SageMaker model registry (no I/O here).

The shell lists a group's Approved versions (one ListModelPackages per group per resync,
shared by every LLMEndpoint of the group, or one of the whole account's Approved versions
when that is cheaper: `group_key` files them by group) and describes the package chosen
(cached by ARN). `choose` picks the ARN from the listing, `resolve` turns the chosen package's
Describe into what the model is made from, or the problem that refuses it.

The rules: `latest-approved` serves the newest Approved version that no alarm rolled
back (`PlanMemory.package_rollbacks`), so a version rolled back is not retried until a
newer one is approved; a pinned version is served while it is Approved; when no
version qualifies, what already serves keeps serving (Degraded), and nothing is
created for an LLMEndpoint that serves nothing yet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llm_operator.api.models import ModelPackageSpec

APPROVED = "Approved"
NO_APPROVED_VERSION = "NoApprovedVersion"
PACKAGE_UNAVAILABLE = "ModelPackageUnavailable"
PACKAGE_UNSUPPORTED = "ModelPackageUnsupported"
VERSION_APPROVED = "ModelVersionApproved"
VERSION_REJECTED = "ModelVersionRejected"
# A model package group's ARN (ListModelPackages takes a group by name or by ARN).
_GROUP_ARN = re.compile(r"arn:aws[a-z\-]*:sagemaker:([a-z0-9\-]*):([0-9]{12}):([a-z\-]*)/(.+)")
# Rolled-back versions remembered; older ones have long been superseded.
MAX_REMEMBERED_ROLLBACKS = 20


@dataclass(frozen=True)
class Version:
    """One version of a group as ListModelPackages reports it."""

    arn: str
    version: int
    approval: str
    created_at: str = ""


@dataclass(frozen=True)
class Listing:
    """A group's Approved versions, newest first (the shell's one List per resync)."""

    group: str
    approved: tuple[Version, ...]

    def find(self, arn: str) -> Version | None:
        return next((v for v in self.approved if v.arn == arn), None)


@dataclass(frozen=True)
class Package:
    """One model package as DescribeModelPackage reports it: what the model is made from."""

    arn: str
    group: str | None
    version: int | None
    approval: str | None  # None: a package without approval (a Marketplace one)
    changed_at: str | None  # LastModifiedTime (approval changes move it), RFC 3339
    region: str
    # InferenceSpecification.SupportedRealtimeInferenceInstanceTypes (empty: any).
    instance_types: tuple[str, ...] = ()
    # SageMaker runs the package's containers only with network isolation (Marketplace).
    isolation: bool = False


@dataclass(frozen=True)
class Served:
    """status.model: the version the endpoint was last brought to."""

    arn: str
    version: int | None
    group: str | None = None


@dataclass(frozen=True)
class Choice:
    """The ARN to serve, why, and what to tell the user about the change."""

    arn: str | None  # None: nothing to serve (`problem` says why)
    events: tuple[tuple[str, str, str], ...] = ()  # (type, reason, message)
    # Serving on although the rule found nothing (Degraded, not an error).
    notice: tuple[str, str] | None = None  # (reason, message)
    problem: tuple[str, str] | None = None  # (reason, message): refuse the spec


@dataclass(frozen=True)
class Resolved:
    """The package the model is made from, with its place in the registry."""

    package: Package
    not_retried: tuple[int, ...] = ()
    notice: tuple[str, str] | None = None
    events: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)


def region_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def group_key(group: str, *, account: str | None, region: str) -> str | None:
    """The key under which a listing of the account's versions files `group`'s (its name,
    lowercased: SageMaker's names are case-insensitive), or None when only a listing of
    the group itself answers for it: an ARN of another account or region than the
    caller's (or of an account not known yet), whose versions the caller's account-wide
    listing does not hold."""
    named = _GROUP_ARN.fullmatch(group)
    if named is None:
        return group.lower()
    in_region, in_account, kind, name = named.groups()
    if kind != "model-package-group" or in_region != region or account is None:
        return None
    return name.lower() if in_account == account else None


def by_group(summaries: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """ListModelPackages' summaries of many groups, filed by `group_key`."""
    filed: dict[str, list[Mapping[str, Any]]] = {}
    for summary in summaries:
        name = summary.get("ModelPackageGroupName")
        if isinstance(name, str) and name:
            filed.setdefault(name.lower(), []).append(summary)
    return filed


def _label(group: str, version: int | None) -> str:
    return f"version {version} of model package group {group}"


def listing(group: str, summaries: Sequence[Mapping[str, Any]]) -> Listing:
    """ListModelPackages' summaries (Approved, any order) as a listing, newest first; a
    version seen twice (pages shifted by a version registered meanwhile) counts once."""
    found = {
        str(s["ModelPackageArn"]): Version(
            arn=str(s["ModelPackageArn"]),
            version=int(s.get("ModelPackageVersion") or 0),
            approval=str(s.get("ModelApprovalStatus") or ""),
            created_at=str(s.get("CreationTime") or ""),
        )
        for s in summaries
        if s.get("ModelApprovalStatus") == APPROVED and s.get("ModelPackageArn")
    }
    return Listing(group, tuple(sorted(found.values(), key=lambda v: v.version, reverse=True)))


def package(described: Mapping[str, Any]) -> Package:
    """DescribeModelPackage's answer as a `Package`."""
    arn = str(described["ModelPackageArn"])
    inference = described.get("InferenceSpecification") or {}
    version = described.get("ModelPackageVersion")
    changed = described.get("LastModifiedTime") or described.get("CreationTime")
    return Package(
        arn=arn,
        group=described.get("ModelPackageGroupName") or None,
        version=int(version) if version else None,
        approval=described.get("ModelApprovalStatus") or None,
        changed_at=_rfc3339(changed),
        region=region_of(arn),
        instance_types=tuple(inference.get("SupportedRealtimeInferenceInstanceTypes") or ()),
        isolation=bool(described.get("CertifyForMarketplace")),
    )


def _rfc3339(value: Any) -> str | None:
    if value is None:
        return None
    iso = getattr(value, "isoformat", None)
    return str(iso()) if callable(iso) else str(value)


def choose(
    spec: ModelPackageSpec,
    found: Listing | None,
    served: Served | None,
    rolled_back: Sequence[str] = (),
) -> Choice:
    """The package to serve now: the spec's ARN, or a version of its group."""
    if spec.arn is not None:
        return Choice(spec.arn)
    group = spec.group_name or ""
    approved = found.approved if found is not None else ()
    candidates = [v for v in approved if v.arn not in rolled_back]
    pinned = spec.pinned
    if pinned is not None:
        pick = next((v for v in candidates if v.version == pinned), None)
        why = (
            f"{_label(group, pinned)} was rolled back by an alarm: pin another version"
            if any(v.version == pinned for v in approved)
            else f"{_label(group, pinned)} is not Approved (or does not exist): approve it "
            "(aws sagemaker update-model-package --model-approval-status Approved) or pin "
            "an Approved version"
        )
    else:
        pick = candidates[0] if candidates else None
        held = [v.version for v in approved if v.arn in rolled_back]
        why = (
            f"model package group {group} has no Approved version"
            + (f" but {', '.join(map(str, held))}, rolled back by an alarm" if held else "")
            + ": approve one (aws sagemaker update-model-package --model-approval-status "
            "Approved)"
        )
    if pick is None:
        if served is not None and served.group in (None, group):
            return Choice(
                served.arn,
                notice=(
                    NO_APPROVED_VERSION,
                    f"{why}; still serving {_label(group, served.version)}",
                ),
            )
        return Choice(None, problem=(NO_APPROVED_VERSION, why))
    events: list[tuple[str, str, str]] = []
    if served is not None and served.arn != pick.arn and served.group in (None, group):
        still = found is not None and found.find(served.arn) is not None
        was = _label(group, served.version)
        if not still and (served.version or 0) > pick.version:
            events.append(
                (
                    "Warning",
                    VERSION_REJECTED,
                    f"{was} is no longer Approved: rolling back to version {pick.version}, "
                    "the newest still Approved",
                )
            )
        else:
            events.append(
                (
                    "Normal",
                    VERSION_APPROVED,
                    f"{_label(group, pick.version)} is Approved: rolling it out (serving "
                    f"version {served.version})",
                )
            )
    return Choice(pick.arn, events=tuple(events))


def check(
    found: Package, *, region: str, instance_type: str, endpoint_type: str = "Model"
) -> tuple[str, str] | None:
    """What SageMaker would refuse about serving `found` here: (reason, message)."""
    name = _label(found.group, found.version) if found.group else f"model package {found.arn}"
    if found.isolation and endpoint_type == "InferenceComponent":
        return (
            PACKAGE_UNSUPPORTED,
            f"{name} is an AWS Marketplace package: SageMaker does not host it on an "
            "inference component; set endpointType: Model",
        )
    if found.isolation and endpoint_type == "Serverless":
        return (
            PACKAGE_UNSUPPORTED,
            f"{name} is an AWS Marketplace package: it runs only with network isolation, "
            "which SageMaker serverless endpoints exclude; set endpointType: Model",
        )
    if found.region and found.region != region:
        return (
            PACKAGE_UNSUPPORTED,
            f"{name} is in region {found.region}, this LLMEndpoint's aws.region is {region}: "
            "SageMaker serves a model package only in its own region",
        )
    # Serverless capacity has no instance type to check against the package's list.
    if instance_type and found.instance_types and instance_type not in found.instance_types:
        return (
            PACKAGE_UNSUPPORTED,
            f"{name} does not support instance type {instance_type} for real-time "
            f"inference; supported: {', '.join(found.instance_types)}",
        )
    return None


def not_retried(listing_: Listing | None, rolled_back: Sequence[str]) -> tuple[int, ...]:
    """Version numbers of the group an alarm rolled back (for status.model)."""
    if listing_ is None:
        return ()
    return tuple(sorted(v.version for v in listing_.approved if v.arn in rolled_back))


def remember_rollback(rolled_back: Sequence[str], arn: str) -> tuple[str, ...]:
    """`rolled_back` with `arn` added (the newest kept, at most a bounded few)."""
    kept = [a for a in rolled_back if a != arn] + [arn]
    return tuple(kept[-MAX_REMEMBERED_ROLLBACKS:])


@dataclass(frozen=True)
class Read:
    """What the shell read of the registry for one LLMEndpoint, and the choice it made
    from it (`choose`), so rendering decides nothing the shell did not read."""

    choice: Choice
    listing: Listing | None = None  # None: spec.model.modelPackage.arn (no group)
    package: Package | None = None  # the chosen ARN's Describe; None: not found
    # Why the package could not be described (not found, not subscribed, ...).
    unavailable: str | None = None


def served(status: Mapping[str, Any]) -> Served | None:
    """status.model as written by the operator."""
    model = status.get("model")
    if not isinstance(model, Mapping) or not isinstance(model.get("arn"), str):
        return None
    version = model.get("version")
    group = model.get("group")
    return Served(
        arn=str(model["arn"]),
        version=version if isinstance(version, int) and not isinstance(version, bool) else None,
        group=group if isinstance(group, str) else None,
    )


def status_of(package: Package, not_retried_: Sequence[int]) -> dict[str, Any]:
    """status.model for the package served."""
    return {
        "group": package.group,
        "version": package.version,
        "arn": package.arn,
        "approval": package.approval,
        "approvedAt": package.changed_at,
        "notRetried": list(not_retried_),
    }
