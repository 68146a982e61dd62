"""Many teams, many accounts, end to end: the operator under the chart's RBAC, the
emulator with moto's STS (`--with-moto`), namespaces annotated by the admin.

- two namespaces mapped to roles in two accounts: each one's resources land in its
  role's account (the emulator files them by the assumed role's credentials);
- a tenant naming a role the admin did not allow: a clear status, nothing created;
- a role the operator may not assume: reported with the role's ARN, and once the
  admin fixes the permission the endpoint comes up without anyone touching it;
- the annotations come from the operator's watch of Namespaces: passes cost the API
  server no read of the Namespace.

Two clusters sharing one account are in test_clusters.py, beside the other clusters.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from llm_operator.core import naming
from llm_operator.core.identity import ALLOWED_ROLES_ANNOTATION, ROLE_ANNOTATION
from local_cluster.cluster import LocalCluster
from local_cluster.llmendpoints import condition, is_ready
from local_cluster.services import Emulator, Operator
from local_cluster.waiting import wait_for
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.emulator_fixtures import ACCOUNT, REGION, boto3_client
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import get_llme, wait_gone, wait_ready
from tests.plugins.operator_fixtures import EmulatorProcesses, OperatorIdentity, started_operator

pytestmark = pytest.mark.e2e

TEAM_A = "arn:aws:iam::111111111111:role/team-a"
TEAM_B = "arn:aws:iam::222222222222:role/team-b"
EMULATOR_DELAY = 0.2


@pytest.fixture
def emulator_with_sts(emulators: EmulatorProcesses) -> Emulator:
    emulator = emulators.fresh(delay=EMULATOR_DELAY, args=["--with-moto"])
    assert emulator.moto_url is not None
    return emulator


def manifest(name: str, namespace: str, **aws: str) -> str:
    doc: dict[str, Any] = llmendpoint("mistral-7b-inference-components")
    doc["metadata"] = {"name": name, "namespace": namespace}
    doc["spec"]["aws"] = {**doc["spec"]["aws"], **aws}
    return to_yaml(doc)


def recovered(kubectl: Kubectl, name: str, op: Operator) -> None:
    """Ready after a refusal (wait_ready gives up on phase Failed), within a resync."""
    wait_for(
        lambda: is_ready(get_llme(kubectl, name)),
        timeout=60,
        what=f"{name} Ready again",
        diagnose=op.log_tail,
    )


def endpoints(emulator: Emulator, account: str) -> list[str]:
    return emulator.admin_client.resource_names(account, REGION)["endpoints"]


def test_namespaces_land_in_their_roles_accounts_and_a_tenant_cannot_pick_another_role(
    cluster: LocalCluster,
    operator_identity: OperatorIdentity,
    emulator_with_sts: Emulator,
    namespace: str,
    tmp_path: Path,
) -> None:
    team_b = f"{namespace[:50]}-b"
    cluster.kubectl("create", "namespace", team_b)
    cluster.kubectl("annotate", "namespace", namespace, f"{ROLE_ANNOTATION}={TEAM_A}")
    a, b = Kubectl(cluster, namespace), Kubectl(cluster, team_b)
    op = started_operator(
        operator_identity.kubeconfig,
        emulator_with_sts,
        [namespace, team_b],
        tmp_path / "operator.log",
        LLMOP_NAMESPACE_ROLES=f"{team_b}={TEAM_B}",
    )
    try:
        a.apply(manifest("chat", namespace))
        b.apply(manifest("chat", team_b))
        wait_ready(a, "chat", log=op.log_tail)
        wait_ready(b, "chat", log=op.log_tail)
        assert endpoints(emulator_with_sts, "111111111111") == [
            naming.endpoint_name(namespace, "chat")
        ]
        assert endpoints(emulator_with_sts, "222222222222") == [
            naming.endpoint_name(team_b, "chat")
        ]
        assert not endpoints(emulator_with_sts, ACCOUNT)
        status = get_llme(a, "chat")["status"]  # type: ignore[index]
        assert ":111111111111:endpoint/" in status["endpointArn"]

        # A tenant of team-a naming team-b's role: refused, nothing created anywhere.
        a.apply(manifest("sneaky", namespace, roleArn=TEAM_B))

        def refused() -> dict[str, Any] | None:
            found = condition(get_llme(a, "sneaky") or {}, "Degraded")
            return found if found.get("reason") == "RoleNotAllowed" else None

        degraded = wait_for(refused, timeout=60, what="RoleNotAllowed", diagnose=op.log_tail)
        assert TEAM_B in degraded["message"]
        assert ALLOWED_ROLES_ANNOTATION in degraded["message"]
        for account in ("111111111111", "222222222222", ACCOUNT):
            names = emulator_with_sts.admin_client.resource_names(account, REGION)
            assert not any("sneaky" in n for kind in names.values() for n in kind), names

        # The admin allows it: the same LLMEndpoint now lands in team-b's account.
        cluster.kubectl("annotate", "namespace", namespace, f"{ALLOWED_ROLES_ANNOTATION}={TEAM_B}")
        recovered(a, "sneaky", op)
        assert naming.endpoint_name(namespace, "sneaky") in endpoints(
            emulator_with_sts, "222222222222"
        )

        for kubectl, name in ((a, "chat"), (a, "sneaky"), (b, "chat")):
            kubectl("delete", "llmendpoint", name, "--wait=false")
        for kubectl, name in ((a, "chat"), (a, "sneaky"), (b, "chat")):
            wait_gone(kubectl, name, log=op.log_tail)
        for account in ("111111111111", "222222222222"):
            names = emulator_with_sts.admin_client.resource_names(account, REGION)
            assert not any(names.values()), names
    finally:
        op.stop()


def _moto(emulator: Emulator, service: str, key: tuple[str, str] | None = None) -> Any:
    assert emulator.moto_url
    if key is None:
        return boto3_client(emulator.moto_url, service)
    return boto3_client(
        emulator.moto_url, service, aws_access_key_id=key[0], aws_secret_access_key=key[1]
    )


def test_a_denied_role_is_reported_and_recovers_when_the_admin_fixes_it(
    cluster: LocalCluster,
    operator_identity: OperatorIdentity,
    emulator_with_sts: Emulator,
    namespace: str,
    kubectl: Kubectl,
    tmp_path: Path,
) -> None:
    iam = _moto(emulator_with_sts, "iam")

    def user(name: str, resource: str) -> tuple[str, str]:
        iam.create_user(UserName=name)
        statement = {"Effect": "Allow", "Action": "*", "Resource": resource}
        iam.put_user_policy(
            UserName=name,
            PolicyName="base",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    admin = user("admin", "*")
    operator_key = user("operator", TEAM_A)  # may assume team-a, not team-b
    # From now on moto authorizes every request by its IAM policies.
    assert emulator_with_sts.moto_url
    request = urllib.request.Request(
        f"{emulator_with_sts.moto_url}/moto-api/reset-auth",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=10):
        pass
    cluster.kubectl("annotate", "namespace", namespace, f"{ROLE_ANNOTATION}={TEAM_B}")
    op = started_operator(
        operator_identity.kubeconfig,
        emulator_with_sts,
        [namespace],
        tmp_path / "operator.log",
        AWS_ACCESS_KEY_ID=operator_key[0],
        AWS_SECRET_ACCESS_KEY=operator_key[1],
    )
    try:
        kubectl.apply(manifest("chat", namespace))

        def denied() -> dict[str, Any] | None:
            found = condition(get_llme(kubectl, "chat") or {}, "Degraded")
            return found if found.get("reason") == "AssumeRoleFailed" else None

        degraded = wait_for(denied, timeout=60, what="AssumeRoleFailed", diagnose=op.log_tail)
        assert TEAM_B in degraded["message"] and "AccessDenied" in degraded["message"]
        assert not endpoints(emulator_with_sts, "222222222222")
        events = kubectl.json("get", "events", "--field-selector", "reason=AssumeRoleFailed")
        assert len(events["items"]) == 1  # said once, not once per retry

        _moto(emulator_with_sts, "iam", admin).put_user_policy(
            UserName="operator",
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
        recovered(kubectl, "chat", op)
        assert endpoints(emulator_with_sts, "222222222222") == [
            naming.endpoint_name(namespace, "chat")
        ]
        kubectl("delete", "llmendpoint", "chat", "--wait=false")
        wait_gone(kubectl, "chat", log=op.log_tail)
    finally:
        op.stop()


def test_passes_read_the_namespace_from_a_watch_not_from_the_api_server(
    cluster: LocalCluster,
    operator_identity: OperatorIdentity,
    emulator_process: Emulator,
    namespace: str,
    kubectl: Kubectl,
    tmp_path: Path,
) -> None:
    """Every pass needs the Namespace's role annotations; a thousand LLMEndpoints
    polling it would load the API server that everything in the cluster shares."""
    user = f"system:serviceaccount:{operator_identity.namespace}:{operator_identity.name}"
    earlier = len(cluster.audit_events(user=user))  # the session's other operators
    op = started_operator(
        operator_identity.kubeconfig,
        emulator_process,
        [namespace],
        tmp_path / "operator.log",
        LLMOP_RESYNC_SECONDS="0.5",
    )
    try:
        kubectl.apply(manifest("chat", namespace))
        wait_ready(kubectl, "chat", log=op.log_tail)
        # Settled passes, one per resync: each lists SageMaker's inventory again.
        listed = emulator_process.admin_client.calls().get("ListEndpoints", 0)
        wait_for(
            lambda: emulator_process.admin_client.calls().get("ListEndpoints", 0) >= listed + 5,
            timeout=60,
            what="five more passes",
            diagnose=op.log_tail,
        )
        requests = [
            (e["verb"], e["objectRef"].get("name"))
            for e in cluster.audit_events(user=user)[earlier:]
            if (e.get("objectRef") or {}).get("resource") == "namespaces"
        ]
        assert ("get", namespace) not in requests
        assert ("get", "kube-system") not in requests  # the cluster id, from the watch too
        assert ("list", None) in requests  # the watch's (its own request is still open)
        kubectl("delete", "llmendpoint", "chat", "--wait=false")
        wait_gone(kubectl, "chat", log=op.log_tail)
    finally:
        op.stop()
