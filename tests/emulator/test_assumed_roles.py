"""Credentials moto's STS issues for an assumed role act in the role's account."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sagemaker_emulator.admin import AdminClient
from sagemaker_emulator.moto_sidecar import MotoSidecar
from sagemaker_emulator.server import EmulatorServer
from tests.emulator import builders
from tests.plugins.emulator_fixtures import REGION, boto3_client


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoSidecar]:
    sidecar = MotoSidecar().start()
    yield sidecar
    sidecar.stop()


def as_role(moto: MotoSidecar, emulator: EmulatorServer, role_arn: str) -> Any:
    sts = boto3_client(moto.url, "sts")
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="test")["Credentials"]
    return boto3_client(
        emulator.url,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def test_a_model_created_under_an_assumed_role_lives_in_the_roles_account(
    moto: MotoSidecar, sagemaker: EmulatorServer, emulator_admin: AdminClient
) -> None:
    team_a = as_role(moto, sagemaker, "arn:aws:iam::111111111111:role/team-a")
    team_b = as_role(moto, sagemaker, "arn:aws:iam::222222222222:role/team-b")
    builders.model(team_a, "shared-name")
    arn = team_a.describe_model(ModelName="shared-name")["ModelArn"]
    assert arn == f"arn:aws:sagemaker:{REGION}:111111111111:model/shared-name"
    # Another account sees nothing of it and may use the same name.
    assert team_b.list_models()["Models"] == []
    builders.model(team_b, "shared-name")
    assert emulator_admin.resource_names("111111111111", REGION)["models"] == ["shared-name"]
    assert emulator_admin.resource_names("222222222222", REGION)["models"] == ["shared-name"]
    assert emulator_admin.resource_names("123456789012", REGION)["models"] == []


def test_keys_moto_did_not_issue_keep_the_default_account(
    moto: MotoSidecar, sagemaker: EmulatorServer
) -> None:
    client = boto3_client(sagemaker.url, aws_access_key_id="AKIASOMEONEELSE")
    builders.model(client, "m")
    assert ":123456789012:model/m" in client.describe_model(ModelName="m")["ModelArn"]
