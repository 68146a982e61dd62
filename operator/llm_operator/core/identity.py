"""Which AWS identity an LLMEndpoint's resources are managed with, decided by the cluster admin.

A namespace's role comes from its Namespace object (annotations only a cluster
admin can write) or from the operator's settings, never from the tenant alone:
`spec.aws.roleArn` may only pick among the roles the admin allowed for that
namespace. No role means the operator's own credentials (as before roles existed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from llm_operator.api.models import ARN_PARTITION_PATTERN

ROLE_ANNOTATION = "llmoperator.io/aws-role-arn"
EXTERNAL_ID_ANNOTATION = "llmoperator.io/aws-external-id"
ALLOWED_ROLES_ANNOTATION = "llmoperator.io/aws-allowed-role-arns"
# Every Namespace annotation the operator reads (what its watch of Namespaces keeps).
NAMESPACE_ANNOTATIONS = (ROLE_ANNOTATION, EXTERNAL_ID_ANNOTATION, ALLOWED_ROLES_ANNOTATION)

# The partition exactly one of botocore's (aws, aws-cn, aws-us-gov, aws-iso, ...), never a prefix.
ROLE_ARN_RE = re.compile(
    rf"^arn:{ARN_PARTITION_PATTERN}:iam::([0-9]{{12}}):role/[\w+=,.@/-]{{1,512}}$"
)
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$")


@dataclass(frozen=True)
class Identity:
    """A role to assume (with its external id), or "" for the operator's own credentials."""

    role_arn: str = ""
    external_id: str = ""

    @property
    def account(self) -> str | None:
        """The role's account, None for the operator's own identity."""
        match = ROLE_ARN_RE.fullmatch(self.role_arn)
        return match.group(2) if match else None


class IdentityError(ValueError):
    """The namespace's identity cannot be used; `reason` is the status condition's reason."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def parse_roles(text: str) -> tuple[str, ...]:
    """A comma- or whitespace-separated list of role ARNs."""
    return tuple(part for part in re.split(r"[\s,]+", text) if part)


def resolve(
    namespace: str,
    annotations: Mapping[str, str],
    configured: Mapping[str, str],
    requested: str | None,
) -> Identity:
    """The identity for an LLMEndpoint in `namespace`.

    `annotations`: the Namespace's; `configured`: the operator's namespace-to-role
    setting (the annotation wins); `requested`: the LLMEndpoint's spec.aws.roleArn.
    """
    default = annotations.get(ROLE_ANNOTATION, "").strip() or configured.get(namespace, "")
    external_id = annotations.get(EXTERNAL_ID_ANNOTATION, "").strip()
    allowed = parse_roles(annotations.get(ALLOWED_ROLES_ANNOTATION, ""))
    for arn, source in [
        (default, ROLE_ANNOTATION),
        *((a, ALLOWED_ROLES_ANNOTATION) for a in allowed),
    ]:
        if arn and not ROLE_ARN_RE.fullmatch(arn):
            raise IdentityError(
                "InvalidRoleAnnotation",
                f"Namespace {namespace}: {arn!r} ({source}) is not an IAM role ARN; "
                "ask the cluster admin to correct it",
            )
    if external_id and not EXTERNAL_ID_RE.fullmatch(external_id):
        raise IdentityError(
            "InvalidRoleAnnotation",
            f"Namespace {namespace}: {EXTERNAL_ID_ANNOTATION} must be 2 to 1224 characters "
            "of letters, digits and +=,.@:/-",
        )
    if not requested or requested == default:
        return Identity(default, external_id if default else "")
    if requested in allowed:
        return Identity(requested, external_id)
    return _refuse(namespace, requested, default, allowed)


def _refuse(namespace: str, requested: str, default: str, allowed: tuple[str, ...]) -> Identity:
    permitted = ", ".join(r for r in (default, *allowed) if r) or "none"
    raise IdentityError(
        "RoleNotAllowed",
        f"spec.aws.roleArn {requested} is not allowed in namespace {namespace} (allowed: "
        f"{permitted}); ask the cluster admin to add it to the annotation "
        f"{ALLOWED_ROLES_ANNOTATION} on Namespace {namespace}",
    )


def check_partition(who: Identity, region: str, partition: str | None) -> None:
    """Refuses a role of another partition than the region's (`partition`, None when
    unknown): STS and SageMaker of one partition never accept another's ARNs."""
    if not who.role_arn or partition is None:
        return
    if not who.role_arn.startswith(f"arn:{partition}:"):
        raise IdentityError(
            "RolePartitionMismatch",
            f"role {who.role_arn} is not in partition {partition}, the partition of "
            f"aws.region {region}: use a role arn:{partition}:iam::ACCOUNT:role/NAME",
        )
