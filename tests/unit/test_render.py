"""core.render: an LLMEndpoint object to what the operator (and `plan`) acts on: names as
the cluster name derives them, adoption, the namespace's identity, what stops a pass and
what a deletion still does when the spec no longer renders."""

from __future__ import annotations

import copy
from typing import Any

from llm_operator.core import naming, render
from llm_operator.core.adoption import ADOPT_ANNOTATION
from llm_operator.core.identity import ALLOWED_ROLES_ANNOTATION, ROLE_ANNOTATION
from llm_operator.core.memory import PlanMemory
from llm_operator.core.status import MEMORY_KEY
from llm_operator.core.validation import error

TEAM_ROLE = "arn:aws:iam::111111111111:role/team"
OTHER_ROLE = "arn:aws:iam::222222222222:role/other"
SPEC: dict[str, Any] = {
    "model": {"hfModelId": "mistralai/Mistral-7B-Instruct-v0.1", "maxModelLength": 4096},
    "instance": {"type": "ml.g5.12xlarge", "count": 1},
    "resources": {"copies": 2, "acceleratorsPerCopy": 1},
    "aws": {
        "region": "us-east-1",
        "executionRoleArn": "arn:aws:iam::123456789012:role/SageMakerExecution",
    },
}


def body(spec: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    return {
        "metadata": {"namespace": "team", "name": "chat", "uid": "uid-1", **meta},
        "spec": copy.deepcopy(SPEC if spec is None else spec),
    }


def rendered(
    obj: dict[str, Any], facts: render.Facts | None = None, *, deleting: bool = False
) -> render.Rendered:
    return render.render(render.parse(obj), facts or render.Facts(), deleting=deleting)


def test_names_carry_the_operator_s_cluster_name_and_tags_its_cluster_id() -> None:
    found = rendered(body(), render.Facts(cluster_name="east", cluster_id="kube-system-uid"))
    assert found.complete and found.refusal() is None
    assert found.desired.endpoint_name == naming.endpoint_name("team", "chat", "east")
    assert found.desired.tags["llmoperator.io/cluster-id"] == "kube-system-uid"
    assert found.desired.tags["llmoperator.io/cluster"] == "east"


def test_the_adoption_annotation_names_the_endpoint_and_a_bad_one_is_refused() -> None:
    adopting = rendered(body(annotations={ADOPT_ANNOTATION: "by-hand"}))
    assert adopting.parsed.adopting == "by-hand"
    assert adopting.desired.endpoint_name == "by-hand"
    refused = rendered(body(annotations={ADOPT_ANNOTATION: "not a name!"}))
    problem = refused.refusal()
    assert problem is not None and problem.reason == "InvalidAdoption"


def test_the_namespace_role_decides_the_identity_and_a_tenant_cannot_pick_another() -> None:
    facts = render.Facts(namespace_annotations={ROLE_ANNOTATION: TEAM_ROLE})
    assert (who := rendered(body(), facts).identity) is not None and who.role_arn == TEAM_ROLE
    spec = copy.deepcopy(SPEC)
    spec["aws"]["roleArn"] = OTHER_ROLE
    refused = rendered(body(spec), facts)
    assert refused.identity is None
    problem = refused.refusal()
    assert problem is not None and problem.reason == "RoleNotAllowed"
    assert ALLOWED_ROLES_ANNOTATION in problem.message
    configured = render.Facts(namespace_roles={"team": OTHER_ROLE})
    assert (who := rendered(body(), configured).identity) and who.role_arn == OTHER_ROLE


def test_what_stops_a_pass_comes_in_the_operator_s_order() -> None:
    spec = copy.deepcopy(SPEC)
    spec["instance"]["type"] = "ml.g5.13xlarge"
    spec["aws"]["roleArn"] = OTHER_ROLE
    unreadable = error("ClusterIdentityUnreadable", "cannot get Namespace kube-system")
    first = rendered(body(spec), render.Facts(cluster_problem=unreadable))
    assert first.refusal() == unreadable
    second = rendered(body(spec))
    problem = second.refusal()
    assert problem is not None and problem.reason == "UnknownInstanceType"
    spec["instance"]["type"] = "ml.g5.12xlarge"
    third = rendered(body(spec)).refusal()
    assert third is not None and third.reason == "RoleNotAllowed"


def test_a_spec_that_no_longer_renders_is_deleted_by_names_alone() -> None:
    spec = copy.deepcopy(SPEC)
    del spec["model"]
    spec["autoscaling"] = {"maxReplicas": 2, "target": 4}
    spec["deletionPolicy"] = "Retain"
    obj = body(spec, deletionTimestamp="2026-01-01T00:00:00Z")
    obj["status"] = {
        "adopted": {"endpoint": "by-hand"},
        MEMORY_KEY: PlanMemory(alarms=("by-hand-rollback-error-rate",)).to_dict(),
    }
    alive = rendered(obj)
    assert not alive.complete and alive.refusal() is not None  # Degraded, nothing done
    dying = rendered(obj, render.Facts(cluster_name="east"), deleting=True)
    assert not dying.complete and dying.spec is None and dying.refusal() is None
    assert dying.desired.endpoint_name == "by-hand"  # what the adoption took over
    assert dying.desired.deleted_at == "2026-01-01T00:00:00Z"
    assert dying.parsed.deletion_policy == "Retain"
    looked_up = render.lookups(dying)
    assert looked_up.scaling  # the raw spec says a target may exist
    assert looked_up.extra == {"by-hand"}
    assert looked_up.alarms == {"by-hand-rollback-error-rate", "by-hand-rollback-p99-latency"}


def test_a_missing_secret_stops_a_pass_but_not_a_deletion() -> None:
    spec = copy.deepcopy(SPEC)
    spec["model"]["hfTokenSecretRef"] = {"name": "hf", "key": "token"}
    parsed = render.parse(body(spec))
    assert parsed.token_ref == ("hf", "token")
    missing = render.Facts(token_problem=error("SecretNotFound", "Secret team/hf does not exist"))
    problem = render.render(parsed, missing).refusal()
    assert problem is not None and problem.reason == "SecretNotFound"
    deleting = render.render(parsed, missing, deleting=True)
    assert deleting.complete and deleting.refusal() is None


def test_rollback_alarms_are_looked_up_while_the_spec_wants_them() -> None:
    spec = copy.deepcopy(SPEC)
    spec["rollout"] = {"autoRollback": {"maxErrorRatePercent": 5}}
    found = rendered(body(spec))
    endpoint = found.desired.endpoint_name
    assert render.lookups(found).alarms == {f"{endpoint}-rollback-error-rate"}
    assert not render.lookups(found).scaling
