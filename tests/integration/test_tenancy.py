"""Many teams, many accounts, many clusters, in-process: the real Reconciler against the
SageMaker emulator, with moto's STS (in this process, so the emulator knows the
accounts of the keys it issues) handing out the namespaces' roles.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from llm_operator.core import naming
from llm_operator.core.identity import ALLOWED_ROLES_ANNOTATION, ROLE_ANNOTATION, Identity
from llm_operator.shell.aws import SageMaker, Scope
from llm_operator.shell.reconciler import Reconciler
from sagemaker_emulator.moto_sidecar import MotoSidecar
from tests.plugins.emulator_fixtures import ACCOUNT, REGION, boto3_client
from tests.plugins.operator_fixtures import SageMakerEmulator
from tests.plugins.reconciling import (
    SPEC,
    RecordingCluster,
    aws_environment,
    body,
    ready,
    reconciler,
    until,
)

TEAM_A = "arn:aws:iam::111111111111:role/team-a"
TEAM_B = "arn:aws:iam::222222222222:role/team-b"


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoSidecar]:
    sidecar = MotoSidecar().start()
    yield sidecar
    sidecar.stop()


@pytest.fixture
def aws_env(
    emulated_sagemaker: SageMakerEmulator, moto: MotoSidecar, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    aws_environment(monkeypatch, SAGEMAKER=emulated_sagemaker.url, STS=moto.url)
    yield


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in status.get("conditions") or [] if c["type"] == kind)


def test_each_namespace_lands_in_its_roles_account(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    """team-a by its Namespace annotation, team-b by the operator's settings."""
    admin = emulated_sagemaker.admin

    async def scenario() -> None:
        a, b = RecordingCluster(), RecordingCluster()
        a.annotations["team-a"] = {ROLE_ANNOTATION: TEAM_A}
        ra = reconciler(a)
        rb = reconciler(b, namespace_roles={"team-b": TEAM_B})
        try:
            await asyncio.gather(
                _ready(ra, a, namespace="team-a", uid="uid-a"),
                _ready(rb, b, namespace="team-b", uid="uid-b"),
            )
        finally:
            ra.close()
            rb.close()
        assert ":111111111111:endpoint/" in a.status["endpointArn"]
        assert ":222222222222:endpoint/" in b.status["endpointArn"]

    asyncio.run(scenario())
    assert admin.resource_names("111111111111", REGION)["endpoints"] == [
        naming.endpoint_name("team-a", "chat")
    ]
    assert admin.resource_names("222222222222", REGION)["endpoints"] == [
        naming.endpoint_name("team-b", "chat")
    ]
    assert not any(admin.resource_names(ACCOUNT, REGION).values())


async def _ready(r: Reconciler, cluster: RecordingCluster, **meta: Any) -> None:
    for _ in range(60):
        await r.reconcile(body(cluster, **meta), deleting=False)
        if ready(None, cluster.status):  # type: ignore[arg-type]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{meta} not Ready: {cluster.status.get('conditions')}")


def test_a_role_the_admin_did_not_allow_is_refused_and_nothing_is_created(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    spec = {**SPEC, "aws": {**SPEC["aws"], "roleArn": TEAM_B}}

    async def scenario() -> None:
        cluster = RecordingCluster()
        cluster.annotations["team"] = {
            ROLE_ANNOTATION: TEAM_A,
            ALLOWED_ROLES_ANNOTATION: "arn:aws:iam::111111111111:role/team-a-batch",
        }
        r = reconciler(cluster)
        try:
            result = await r.reconcile(body(cluster, spec), deleting=False)
        finally:
            r.close()
        assert result.outcome == "degraded"
        degraded = condition(cluster.status, "Degraded")
        assert (degraded["status"], degraded["reason"]) == ("True", "RoleNotAllowed")
        assert TEAM_B in degraded["message"] and ALLOWED_ROLES_ANNOTATION in degraded["message"]
        assert cluster.reasons() == ["RoleNotAllowed"]

    asyncio.run(scenario())
    calls = emulated_sagemaker.admin.calls()
    assert not any(op.startswith("Create") for op in calls), calls


def test_a_namespace_role_of_another_partition_is_refused_before_any_call(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    """us-east-1 is in partition aws: a namespace role of aws-cn could never be assumed."""
    china = TEAM_A.replace("arn:aws:", "arn:aws-cn:")

    async def scenario() -> None:
        cluster = RecordingCluster()
        cluster.annotations["team"] = {ROLE_ANNOTATION: china}
        r = reconciler(cluster)
        try:
            result = await r.reconcile(body(cluster), deleting=False)
        finally:
            r.close()
        assert result.outcome == "degraded"
        degraded = condition(cluster.status, "Degraded")
        assert (degraded["status"], degraded["reason"]) == ("True", "RolePartitionMismatch")
        assert china in degraded["message"] and "arn:aws:iam::ACCOUNT" in degraded["message"]

    asyncio.run(scenario())
    assert emulated_sagemaker.admin.calls() == {}


def _moto_auth(moto: MotoSidecar, after: str) -> None:
    """moto's own switch: IAM authorization for every request after `after` more."""
    request = urllib.request.Request(
        f"{moto.url}/moto-api/reset-auth",
        data=after.encode(),
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def test_a_denied_role_is_reported_with_its_arn_and_recovers_once_allowed(
    aws_env: None,
    emulated_sagemaker: SageMakerEmulator,
    moto: MotoSidecar,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    iam = boto3_client(moto.url, "iam")
    suffix = os.urandom(3).hex()

    def user(name: str, resource: str) -> tuple[str, str]:
        iam.create_user(UserName=name)
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": resource}],
        }
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    admin_key = user(f"admin-{suffix}", "*")
    operator_key = user(f"operator-{suffix}", TEAM_A)  # may assume team-a only
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", operator_key[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", operator_key[1])
    _moto_auth(moto, "0")
    try:

        async def scenario() -> None:
            cluster = RecordingCluster()
            cluster.annotations["team"] = {ROLE_ANNOTATION: TEAM_B}
            r = reconciler(cluster)
            try:
                for _ in range(3):  # reported once, retried slowly
                    result = await r.reconcile(body(cluster), deleting=False)
                    assert result.outcome == "degraded"
                    assert result.delay == r.settings.resync_seconds
                degraded = condition(cluster.status, "Degraded")
                assert degraded["reason"] == "AssumeRoleFailed"
                assert TEAM_B in degraded["message"] and "AccessDenied" in degraded["message"]
                assert cluster.reasons() == ["AssumeRoleFailed"]
                # The admin fixes the operator's permissions: the next pass goes on.
                fixer = boto3_client(
                    moto.url,
                    "iam",
                    aws_access_key_id=admin_key[0],
                    aws_secret_access_key=admin_key[1],
                )
                fixer.put_user_policy(
                    UserName=f"operator-{suffix}",
                    PolicyName="team-b",
                    PolicyDocument=json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": TEAM_B}
                            ],
                        }
                    ),
                )
                await until(r, cluster, ready)
            finally:
                r.close()
            assert ":222222222222:endpoint/" in cluster.status["endpointArn"]

        asyncio.run(scenario())
    finally:
        _moto_auth(moto, "inf")


def test_two_clusters_sharing_an_account_never_touch_each_others_resources(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    async def scenario() -> None:
        east, west = RecordingCluster(), RecordingCluster()
        r_east = reconciler(east, cluster_name="east")
        r_west = reconciler(west, cluster_name="west")
        try:
            # The same namespace and name in both clusters (their uids differ).
            await asyncio.gather(
                _ready(r_east, east, uid="uid-east"), _ready(r_west, west, uid="uid-west")
            )
            assert east.status["endpointName"] != west.status["endpointName"]
            before = emulated_sagemaker.names()
            for _ in range(60):
                result = await r_east.reconcile(body(east, uid="uid-east"), deleting=True)
                if result.deleted:
                    break
                await asyncio.sleep(0.05)
            assert result.deleted
            # West's resources are all still there, its endpoint untouched and ready.
            after = emulated_sagemaker.names()
            assert after["endpoints"] == [west.status["endpointName"]]
            assert set(after["models"]) < set(before["models"])
            await r_west.reconcile(body(west, uid="uid-west"), deleting=False)
            assert ready(None, west.status)  # type: ignore[arg-type]
        finally:
            r_east.close()
            r_west.close()
        tags = boto3_client(emulated_sagemaker.url).list_tags(
            ResourceArn=west.status["endpointArn"]
        )["Tags"]
        assert {"Key": "llmoperator.io/cluster", "Value": "west"} in tags

    asyncio.run(scenario())


def test_two_clusters_without_identities_meet_as_a_name_conflict(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    async def scenario() -> None:
        first, second = RecordingCluster(), RecordingCluster()
        r_first, r_second = reconciler(first), reconciler(second)
        try:
            await _ready(r_first, first, uid="uid-first")
            for _ in range(3):
                await r_second.reconcile(body(second, uid="uid-second"), deleting=False)
            assert "NameConflict" in second.reasons()
            assert not ready(None, second.status)  # type: ignore[arg-type]
            await r_first.reconcile(body(first, uid="uid-first"), deleting=False)
            assert ready(None, first.status)  # type: ignore[arg-type]
        finally:
            r_first.close()
            r_second.close()

    asyncio.run(scenario())


def test_resources_created_without_a_cluster_identity_keep_working_after_the_upgrade(
    aws_env: None, emulated_sagemaker: SageMakerEmulator
) -> None:
    """Made the way every earlier version made them: names of "namespace/name", no
    cluster tag. The upgraded operator (no identity configured) adopts nothing new."""
    legacy = f"team-chat-{naming.short_hash('team/chat', naming.OWNER_HASH_LENGTH)}"

    async def scenario() -> None:
        cluster = RecordingCluster()
        first = reconciler(cluster)
        try:
            await until(first, cluster, ready)
        finally:
            first.close()
        assert cluster.status["endpointName"] == legacy
        calls = emulated_sagemaker.admin.calls()
        restarted = reconciler(cluster)
        try:
            result = await restarted.reconcile(body(cluster), deleting=False)
        finally:
            restarted.close()
        assert result.outcome == "settled"
        after = emulated_sagemaker.admin.calls()
        assert {op: n for op, n in after.items() if n != calls.get(op, 0)}.keys() <= {
            "ListEndpoints",
            "ListInferenceComponents",
            "ListModels",
            "ListEndpointConfigs",
            "DescribeEndpoint",
            "DescribeInferenceComponent",
            "ListTags",
        }

    asyncio.run(scenario())
    tags = boto3_client(emulated_sagemaker.url).list_tags(
        ResourceArn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{legacy}"
    )["Tags"]
    assert not any(t["Key"] == "llmoperator.io/cluster" for t in tags)


def test_every_account_shares_one_copy_of_the_service_models(aws_env: None) -> None:
    """Each assumed role gets its own session and clients, but not its own copy of
    botocore's service models (SageMaker's alone is about 17 MiB in memory): a replica
    serving many accounts holds each model once."""
    sagemaker = SageMaker(workers=2, calls_per_second=100, burst=10)
    try:
        own = sagemaker.client(REGION)
        a = sagemaker.client(Scope(REGION, Identity(role_arn=TEAM_A)))
        b = sagemaker.client(Scope(REGION, Identity(role_arn=TEAM_B)))
        assert len({id(own), id(a), id(b)}) == 3  # one client per identity
        descriptions = {id(c.meta.service_model._service_description) for c in (own, a, b)}
        assert len(descriptions) == 1
    finally:
        sagemaker.close()
