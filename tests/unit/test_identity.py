"""Which role an LLMEndpoint acts as: the cluster admin decides, the tenant only picks."""

from __future__ import annotations

import pytest

from llm_operator.core import identity
from llm_operator.core.identity import (
    ALLOWED_ROLES_ANNOTATION,
    EXTERNAL_ID_ANNOTATION,
    ROLE_ANNOTATION,
    Identity,
    IdentityError,
)

TEAM_A = "arn:aws:iam::111111111111:role/team-a"
TEAM_B = "arn:aws:iam::222222222222:role/team-b"
BATCH = "arn:aws:iam::111111111111:role/team-a-batch"


def test_no_annotation_and_no_setting_is_the_operators_own_identity() -> None:
    assert identity.resolve("team-a", {}, {}, None) == Identity()
    assert Identity().account is None


def test_the_namespace_annotation_names_the_role_and_external_id() -> None:
    annotations = {ROLE_ANNOTATION: TEAM_A, EXTERNAL_ID_ANNOTATION: "cluster-7"}
    found = identity.resolve("team-a", annotations, {"team-a": TEAM_B}, None)
    assert found == Identity(TEAM_A, "cluster-7")
    assert found.account == "111111111111"


def test_the_settings_map_namespaces_without_an_annotation() -> None:
    assert identity.resolve("team-b", {}, {"team-b": TEAM_B}, None) == Identity(TEAM_B)
    assert identity.resolve("team-c", {}, {"team-b": TEAM_B}, None) == Identity()


def test_a_tenant_picks_only_among_the_allowed_roles() -> None:
    annotations = {ROLE_ANNOTATION: TEAM_A, ALLOWED_ROLES_ANNOTATION: f"{BATCH}, {TEAM_A}"}
    assert identity.resolve("team-a", annotations, {}, BATCH) == Identity(BATCH)
    assert identity.resolve("team-a", annotations, {}, TEAM_A) == Identity(TEAM_A)
    with pytest.raises(IdentityError) as refused:
        identity.resolve("team-a", annotations, {}, TEAM_B)
    assert refused.value.reason == "RoleNotAllowed"
    assert TEAM_B in refused.value.message
    assert ALLOWED_ROLES_ANNOTATION in refused.value.message
    assert "Namespace team-a" in refused.value.message


def test_a_tenant_cannot_name_a_role_where_the_admin_set_none() -> None:
    with pytest.raises(IdentityError, match="allowed: none"):
        identity.resolve("team-a", {}, {}, TEAM_A)


def test_a_malformed_annotation_is_reported_not_assumed() -> None:
    with pytest.raises(IdentityError) as bad:
        identity.resolve("team-a", {ROLE_ANNOTATION: "team-a-role"}, {}, None)
    assert bad.value.reason == "InvalidRoleAnnotation"
    assert ROLE_ANNOTATION in bad.value.message


@pytest.mark.parametrize("partition", ["awsfoo", "aws-", "aws-cnx"])
def test_a_role_annotation_of_no_partition_is_invalid(partition: str) -> None:
    annotations = {ROLE_ANNOTATION: f"arn:{partition}:iam::111111111111:role/team-a"}
    with pytest.raises(IdentityError) as raised:
        identity.resolve("team-a", annotations, {}, None)
    assert raised.value.reason == "InvalidRoleAnnotation"


def test_every_partition_of_botocore_is_a_role_partition() -> None:
    for partition in ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"):
        arn = f"arn:{partition}:iam::111111111111:role/team-a"
        assert Identity(arn).account == "111111111111"


def test_a_namespace_role_of_another_partition_than_the_region_is_refused() -> None:
    identity.check_partition(Identity(TEAM_A), "us-east-1", "aws")
    with pytest.raises(IdentityError) as raised:
        identity.check_partition(Identity(TEAM_A), "cn-north-1", "aws-cn")
    assert raised.value.reason == "RolePartitionMismatch"
    assert "arn:aws-cn:iam::ACCOUNT:role/NAME" in raised.value.message
