"""LLMEndpointPolicies end to end: the real API server with the chart's admission policy,
the operator under the chart's RBAC, the emulator.

- a manifest outside a policy's instance types or regions is refused by `kubectl apply`
  with the policy's message; one in an ungoverned namespace is not;
- defaults and enforced tags land on every SageMaker resource, not in the stored spec;
- ten LLMEndpoints applied at once with room for six make six; deleting one lets the
  next in, raising the budget lets the rest in; a maxCount increase beyond the budget is
  refused while the endpoint keeps serving;
- adoption is refused where no policy allows it, and nothing is tagged;
- `llm-operator plan` says what the operator does under the policies: the limit broken
  with the policy's message, BudgetExceeded with the operator's message, adoption refused.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from llm_operator.core.adoption import ADOPT_ANNOTATION
from local_cluster import chart
from local_cluster.cluster import LocalCluster
from local_cluster.llmendpoints import condition, is_ready
from local_cluster.services import Emulator, Operator
from local_cluster.waiting import wait_for
from sagemaker_emulator.admin import AdminClient
from tests.emulator import builders
from tests.plugins.cluster_fixtures import Kubectl
from tests.plugins.commands import cli
from tests.plugins.examples import llmendpoint, to_yaml
from tests.plugins.llmendpoints import get_llme, wait_gone, wait_ready
from tests.plugins.operator_fixtures import CHART, OPERATOR_NAMESPACE, RELEASE
from tests.plugins.sagemaker import SageMaker, tags_by_arn

pytestmark = pytest.mark.e2e

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
LABEL = "llmoperator.io/test-tier"


def small(name: str, **changes: Any) -> dict[str, Any]:
    """An LLMEndpoint on one ml.g5.xlarge (1.408 USD/h in the catalog)."""
    spec: dict[str, Any] = {
        "model": {"hfModelId": "mistralai/Mistral-7B-Instruct-v0.1", "maxModelLength": 4096},
        "instance": {"type": "ml.g5.xlarge", "count": 1},
        "resources": {"copies": 1, "acceleratorsPerCopy": 1, "cpusPerCopy": 1},
        "aws": {"region": "us-east-1", "executionRoleArn": ROLE},
        **changes,
    }
    return {
        "apiVersion": "llmoperator.io/v1alpha1",
        "kind": "LLMEndpoint",
        "metadata": {"name": name},
        "spec": spec,
    }


@pytest.fixture(scope="module")
def admission(cluster: LocalCluster) -> Iterator[None]:
    """The chart's ValidatingAdmissionPolicy and binding, as `helm install` makes them,
    for this module's tests only: the worker's control plane is shared with other test
    files, which may replace the CRDs the policy's parameters come from."""
    documents = chart.render(
        cluster.binaries.helm,
        CHART,
        release=RELEASE,
        namespace=OPERATOR_NAMESPACE,
        kube_version="v1.33.13",
        api_versions=[chart.ADMISSION_API],
    )
    found = chart.select(documents, chart.ADMISSION_KINDS)
    assert [d["kind"] for d in found] == list(chart.ADMISSION_KINDS)
    cluster.kubectl("apply", "-f", "-", input=chart.to_yaml(found))
    yield
    cluster.kubectl("delete", "--ignore-not-found", "-f", "-", input=chart.to_yaml(found))


Policy = Callable[..., str]


@pytest.fixture
def policy(cluster: LocalCluster, namespace: str) -> Iterator[Policy]:
    """Applies an LLMEndpointPolicy governing the test's namespace (labelled for it alone)."""
    cluster.kubectl("label", "namespace", namespace, f"{LABEL}={namespace}")
    made: list[str] = []

    def apply(suffix: str = "p", **spec: Any) -> str:
        name = f"{namespace}-{suffix}"
        body = {
            "apiVersion": "llmoperator.io/v1alpha1",
            "kind": "LLMEndpointPolicy",
            "metadata": {"name": name},
            "spec": {"namespaceSelector": {"matchLabels": {LABEL: namespace}}, **spec},
        }
        cluster.kubectl("apply", "-f", "-", input=to_yaml(body))
        made.append(name)
        return name

    yield apply
    for name in made:
        cluster.kubectl("delete", "llmpol", name, "--wait=false", check=False)


def refused_by_api(kubectl: Kubectl, doc: dict[str, Any]) -> str:
    """`kubectl apply`'s error for a manifest the API server must refuse."""
    result = kubectl.apply(to_yaml(doc), check=False)
    assert result.returncode != 0, result.stdout
    return result.stderr


def plan(
    kubectl: Kubectl, emulator: Emulator, doc: dict[str, Any] | list[dict[str, Any]], *args: str
) -> subprocess.CompletedProcess[str]:
    """`llm-operator plan -f -` of `doc` (or a file of several) in the test's namespace,
    as the admin runs it."""
    return cli(
        "plan",
        "-f",
        "-",
        "-n",
        kubectl.namespace,
        *args,
        input=to_yaml(*doc) if isinstance(doc, list) else to_yaml(doc),
        emulator=emulator,
        kubeconfig=kubectl.cluster.kubeconfig,
    )


def wait_admitted(kubectl: Kubectl, name: str, want: bool) -> None:
    """Until the object's budget decision is `want` (admitted, or BudgetExceeded)."""

    def decided() -> bool:
        obj = get_llme(kubectl, name) or {}
        if want:
            return bool(((obj.get("status") or {}).get("policy") or {}).get("admitted"))
        return condition(obj, "Degraded").get("reason") == "BudgetExceeded"

    wait_for(decided, timeout=90, what=f"{name} admitted={want}")


def test_limits_are_refused_at_apply_with_the_policys_message(
    admission: None,
    policy: Policy,
    kubectl: Kubectl,
    cluster: LocalCluster,
    emulator_process: Emulator,
) -> None:
    name = policy(
        limits={
            "allowedRegions": ["us-east-1", "eu-west-1"],
            "allowedInstanceTypes": ["ml.g5.*", "ml.g6.*"],
        }
    )

    def refuses() -> bool:  # admission sees a new parameter object once its informer does
        big = to_yaml(small("big", instance={"type": "ml.p5.48xlarge"}))
        result = kubectl("apply", "--dry-run=server", "-f", "-", input=big, check=False)
        return result.returncode != 0

    wait_for(refuses, timeout=30, what="the admission policy to see the new policy")
    message = refused_by_api(kubectl, small("big", instance={"type": "ml.p5.48xlarge"}))
    assert (
        f"LLMEndpointPolicy {name}: instance.type ml.p5.48xlarge is not allowed "
        "(allowed: ml.g5.*, ml.g6.*)"
    ) in message
    west = small("west", aws={"region": "us-west-2", "executionRoleArn": ROLE})
    assert (
        f"LLMEndpointPolicy {name}: aws.region us-west-2 is not allowed "
        "(allowed: us-east-1, eu-west-1)"
    ) in refused_by_api(kubectl, west)
    assert get_llme(kubectl, "big") is None and get_llme(kubectl, "west") is None
    # plan says the same before anyone applies, and lists the rule and the policy.
    result = plan(kubectl, emulator_process, small("big", instance={"type": "ml.p5.48xlarge"}))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"governed by LLMEndpointPolicy {name}" in result.stdout
    assert (
        f"limit violated: LLMEndpointPolicy {name}: instance.type ml.p5.48xlarge is not allowed"
    ) in result.stdout
    kubectl.apply(to_yaml(small("fits")))  # inside the limits: stored
    # A serverless LLMEndpoint runs on no instance type: the instance limits leave it be.
    kubectl.apply(to_yaml(llmendpoint("serverless-tei")))
    # Another namespace, not governed: the same manifest is accepted.
    cluster.kubectl("create", "namespace", f"{kubectl.namespace}-free")
    other = Kubectl(cluster, f"{kubectl.namespace}-free")
    other.apply(to_yaml(small("big", instance={"type": "ml.p5.48xlarge"})))


def test_defaults_and_enforced_tags_land_in_sagemaker_and_not_in_the_spec(
    operator: Operator, policy: Policy, kubectl: Kubectl, sagemaker_api: SageMaker
) -> None:
    name = policy(
        defaults={"aws": {"tags": {"team": "platform", "owner": "ml-platform"}}},
        enforcedTags={"cost-center": "1234"},
    )
    tenant = {"team": "search", "cost-center": "free"}
    kubectl.apply(
        to_yaml(
            small("chat", aws={"region": "us-east-1", "executionRoleArn": ROLE, "tags": tenant})
        )
    )
    obj = wait_ready(kubectl, "chat", log=operator.log_tail)
    assert obj["spec"]["aws"]["tags"] == tenant  # the stored spec is the tenant's
    applied = {a["field"]: a for a in obj["status"]["policy"]["applied"]}
    assert applied["aws.tags.cost-center"] == {
        "field": "aws.tags.cost-center",
        "value": "1234",
        "policy": name,
        "enforced": True,
    }
    assert applied["aws.tags.owner"]["policy"] == name
    assert "aws.tags.team" not in applied  # the tenant's value stands
    tagged = tags_by_arn(sagemaker_api.client)
    assert len(tagged) >= 4  # model, endpoint config, endpoint, inference component
    for arn, tags in tagged.items():
        assert tags["cost-center"] == "1234", arn
        assert tags["owner"] == "ml-platform", arn
        assert tags["team"] == "search", arn


def test_ten_at_once_with_room_for_six_make_six_and_room_lets_the_rest_in(
    operator: Operator,
    emulator_process: Emulator,
    policy: Policy,
    kubectl: Kubectl,
    sagemaker_api: SageMaker,
) -> None:
    # 6 x 1.408 = 8.448 fits in 8.50; a seventh does not.
    name = policy(budget={"maxCostPerHourUSD": "8.50"})
    names = [f"e{i}" for i in range(10)]
    # plan of the file first: six fit and four would be refused, in file order.
    result = plan(kubectl, emulator_process, [small(n) for n in names], "-o", "json")
    entries = json.loads(result.stdout)["llmEndpoints"]
    assert [bool(e["policy"]["budgetExceeded"]) for e in entries] == [False] * 6 + [True] * 4
    assert entries[6]["errors"][0].startswith(f"BudgetExceeded: LLMEndpointPolicy {name}")
    kubectl.apply(to_yaml(*(small(n) for n in names)))

    def decided() -> tuple[list[str], list[str]] | None:
        objs = [get_llme(kubectl, n) or {} for n in names]
        admitted = [
            o["metadata"]["name"]
            for o in objs
            if ((o.get("status") or {}).get("policy") or {}).get("admitted")
        ]
        refused = [
            o["metadata"]["name"]
            for o in objs
            if condition(o, "Degraded").get("reason") == "BudgetExceeded"
        ]
        return (admitted, refused) if len(admitted) + len(refused) == 10 else None

    admitted, refused = wait_for(decided, timeout=120, what="every LLMEndpoint decided")
    assert len(admitted) == 6 and len(refused) == 4
    for n in admitted:
        wait_ready(kubectl, n, log=operator.log_tail)
    assert len(sagemaker_api.inventory().endpoints) == 6
    message = condition(get_llme(kubectl, refused[0]), "Degraded")["message"]
    assert message.startswith(f"LLMEndpointPolicy {name} allows 8.50 USD/h in namespace")
    assert "8.46 is taken by 6 LLMEndpoints, 0.04 is left" in message
    # plan agrees: a refused one is refused with the operator's words, an admitted one
    # plans no change and shows the room left with it counted once.
    result = plan(kubectl, emulator_process, [small(refused[0]), small(admitted[0])], "-o", "json")
    assert "Traceback" not in result.stderr, result.stderr
    entry, other = json.loads(result.stdout)["llmEndpoints"]
    assert entry["errors"] == [f"BudgetExceeded: {message}"], entry
    assert entry["policy"]["budgetExceeded"] and entry["changes"] == []
    entry = other
    assert entry["errors"] == [] and entry["changes"] == [], entry
    assert entry["policy"]["budget"][0]["leftPerHourUSD"] == "0.04"  # as the operator says

    # Room made: one deleted, the next one in (woken at once, at the latest at resync).
    kubectl("delete", "llme", admitted[0])
    wait_gone(kubectl, admitted[0], log=operator.log_tail)
    wait_for(
        lambda: sum(1 for n in refused if is_ready(get_llme(kubectl, n))) == 1,
        timeout=90,
        what="one waiting LLMEndpoint Ready",
    )
    # A maxCount raised beyond the budget is refused; the endpoint keeps serving.
    grow = admitted[1]
    kubectl("patch", "llme", grow, "--type=merge", "-p", '{"spec":{"instance":{"maxCount":2}}}')
    wait_admitted(kubectl, grow, want=False)
    endpoint = get_llme(kubectl, grow)["status"]["endpointName"]  # type: ignore[index]
    assert sagemaker_api.endpoint(endpoint)["EndpointStatus"] == "InService"
    assert "MaxInstanceCount" not in str(sagemaker_api.endpoint_config(
        sagemaker_api.endpoint(endpoint)["EndpointConfigName"]))  # fmt: skip
    # The budget raised: everything goes through.
    policy(budget={"maxCostPerHourUSD": "100"})
    for n in [x for x in names if x != admitted[0]]:  # admitted[0] was deleted
        # A refused one shows phase Failed until its next pass reads the new budget.
        wait_for(
            lambda n=n: (
                condition(get_llme(kubectl, n) or {}, "Degraded").get("reason") != "BudgetExceeded"
            ),
            timeout=90,
            what=f"{n} no longer refused",
        )
        wait_ready(kubectl, n, log=operator.log_tail, timeout=120)
    assert len(sagemaker_api.inventory().endpoints) == 9
    # The maxCount increase refused before went through with the raised budget.
    record = get_llme(kubectl, grow)["status"]["policy"]  # type: ignore[index]
    assert record["admitted"] and record["ceilingCostPerHourUSD"] == "2.82"

    def grown() -> bool:
        config = sagemaker_api.endpoint(endpoint)["EndpointConfigName"]
        return "'MaxInstanceCount': 2" in str(sagemaker_api.endpoint_config(config))

    wait_for(grown, timeout=90, what=f"{grow}'s maxCount 2 in SageMaker")


def test_adoption_is_refused_where_no_policy_allows_it(
    operator: Operator,
    emulator_process: Emulator,
    policy: Policy,
    kubectl: Kubectl,
    sagemaker_api: SageMaker,
) -> None:
    sm = sagemaker_api.client
    builders.model(sm, "hand-model")
    builders.component_config(sm, "hand-config", scaling=(1, 2))
    sm.create_endpoint(EndpointName="hand-made", EndpointConfigName="hand-config")
    before = tags_by_arn(sm)
    name = policy(limits={"allowedInstanceTypes": ["ml.g5.*"]})
    doc = small("adopter")
    doc["metadata"]["annotations"] = {ADOPT_ANNOTATION: "hand-made"}
    kubectl.apply(to_yaml(doc))
    wait_for(
        lambda: (
            condition(get_llme(kubectl, "adopter"), "Degraded").get("reason")
            == "AdoptionNotAllowed"
        ),
        timeout=60,
        what="AdoptionNotAllowed",
    )
    message = condition(get_llme(kubectl, "adopter"), "Degraded")["message"]
    assert f"LLMEndpointPolicy {name}" in message
    result = plan(kubectl, emulator_process, doc)  # plan refuses it too, in the same words
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"error: AdoptionNotAllowed: {message}" in result.stdout
    assert tags_by_arn(sm) == before  # nothing tagged
    assert sagemaker_api.inventory().endpoints == ["hand-made"]


def applied_value(obj: dict[str, Any] | None, field: str) -> str | None:
    """The value status.policy.applied shows for `field` (None: none applied)."""
    record = ((obj or {}).get("status") or {}).get("policy") or {}
    found = [a["value"] for a in record.get("applied") or [] if a["field"] == field]
    return found[0] if found else None


def wait_let_in(kubectl: Kubectl, name: str, operator: Operator) -> dict[str, Any]:
    """Until a refused LLMEndpoint is let in (it shows phase Failed until its next pass
    reads the new budget) and Ready."""
    wait_for(
        lambda: (
            condition(get_llme(kubectl, name) or {}, "Degraded").get("reason") != "BudgetExceeded"
        ),
        timeout=60,
        what=f"{name} no longer refused",
    )
    return wait_ready(kubectl, name, log=operator.log_tail)


def test_a_policy_edited_or_deleted_takes_effect_within_a_resync(
    operator: Operator, policy: Policy, kubectl: Kubectl, sagemaker_api: SageMaker
) -> None:
    name = policy(
        defaults={"aws": {"tags": {"owner": "team-a"}}},
        enforcedTags={"cost-center": "1"},
        budget={"maxEndpoints": 1},
    )
    kubectl.apply(to_yaml(small("first")))
    wait_ready(kubectl, "first", log=operator.log_tail)
    kubectl.apply(to_yaml(small("second")))
    wait_admitted(kubectl, "second", want=False)

    # Raised: the refused one goes in. Default and enforced tag changed: the status of
    # what runs shows the new values, and what is created from now on carries them.
    policy(
        defaults={"aws": {"tags": {"owner": "team-b"}}},
        enforcedTags={"cost-center": "2"},
        budget={"maxEndpoints": 2},
    )
    second = wait_let_in(kubectl, "second", operator)
    tags = tags_by_arn(sagemaker_api.client)
    assert tags[second["status"]["endpointArn"]]["cost-center"] == "2"
    assert tags[second["status"]["endpointArn"]]["owner"] == "team-b"
    wait_for(
        lambda: applied_value(get_llme(kubectl, "first"), "aws.tags.cost-center") == "2",
        timeout=30,
        what="first's status showing the edited enforced tag",
    )
    assert applied_value(get_llme(kubectl, "first"), "aws.tags.owner") == "team-b"

    # Lowered below what runs: both keep running, a third is refused.
    policy(
        defaults={"aws": {"tags": {"owner": "team-b"}}},
        enforcedTags={"cost-center": "2"},
        budget={"maxEndpoints": 1},
    )
    kubectl.apply(to_yaml(small("third")))
    wait_admitted(kubectl, "third", want=False)
    assert is_ready(get_llme(kubectl, "first")) and is_ready(get_llme(kubectl, "second"))
    message = condition(get_llme(kubectl, "third"), "Degraded")["message"]
    assert f"LLMEndpointPolicy {name} allows 1 LLMEndpoints in namespace" in message

    # Deleted: nothing governs; the refused one goes in, the others' status forgets it.
    kubectl("delete", "llmpol", name)
    third = wait_let_in(kubectl, "third", operator)
    assert "cost-center" not in tags_by_arn(sagemaker_api.client)[third["status"]["endpointArn"]]
    wait_for(
        lambda: not ((get_llme(kubectl, "first") or {}).get("status") or {}).get("policy"),
        timeout=30,
        what="first's status.policy gone with the policy",
    )
    assert len(sagemaker_api.inventory().endpoints) == 3
    assert "Traceback" not in operator.logs()


def test_an_operator_restart_in_a_budget_limited_burst_changes_nothing(
    operator: Operator,
    emulator_process: Emulator,
    policy: Policy,
    kubectl: Kubectl,
    sagemaker_api: SageMaker,
) -> None:
    # 3 x 1.408 = 4.224 fits in 4.30; a fourth does not.
    policy(budget={"maxCostPerHourUSD": "4.30"})
    names = [f"b{i}" for i in range(6)]
    kubectl.apply(to_yaml(*(small(n) for n in names)))

    def admissions() -> list[str]:
        objs = [get_llme(kubectl, n) or {} for n in names]
        return [
            o["metadata"]["name"]
            for o in objs
            if ((o.get("status") or {}).get("policy") or {}).get("admitted")
        ]

    wait_for(admissions, timeout=60, what="a first admission", diagnose=operator.log_tail)
    operator.kill()  # mid-burst: some counted, some not, creations in flight
    operator.start().wait_healthy()

    def decided() -> tuple[list[str], list[str]] | None:
        objs = [get_llme(kubectl, n) or {} for n in names]
        refused = [
            o["metadata"]["name"]
            for o in objs
            if condition(o, "Degraded").get("reason") == "BudgetExceeded"
        ]
        admitted = admissions()
        return (admitted, refused) if len(admitted) + len(refused) == len(names) else None

    admitted, refused = wait_for(decided, timeout=120, what="every LLMEndpoint decided")
    assert len(admitted) == 3 and len(refused) == 3
    for n in admitted:
        wait_ready(kubectl, n, log=operator.log_tail)
    calls = emulator_process.admin_client.call_log(operation="CreateEndpoint")
    creates = [c for c in calls if c["error"] is None]
    assert len(creates) == 3, creates
    assert len(sagemaker_api.inventory().endpoints) == 3
    assert "Traceback" not in operator.logs()


BAD_POLICIES = [
    ({"limits": {"allowedInstanceTypes": ["ml.[g5].*"]}}, "entries are globs of lowercase"),
    ({"budget": {"maxEndpoints": -1}}, "should be greater than or equal to 0"),
    ({"budget": {"maxCostPerHourUSD": "-5"}}, "must be a non-negative amount in USD"),
    ({"limits": {"allowedEngines": ["llamacpp"]}}, 'supported values: "vllm"'),
    ({"defaults": {"engine": "llamacpp"}}, 'supported values: "vllm"'),
    ({"limits": {"maxCopiesPerEndpoint": -2}}, "should be greater than or equal to 0"),
]


def test_bad_policies_are_refused_at_apply_and_odd_ones_reported_on_their_status(
    operator: Operator, policy: Policy, kubectl: Kubectl, cluster: LocalCluster
) -> None:
    for index, (spec, words) in enumerate(BAD_POLICIES):
        body = {
            "apiVersion": "llmoperator.io/v1alpha1",
            "kind": "LLMEndpointPolicy",
            "metadata": {"name": f"{kubectl.namespace}-bad-{index}"},
            "spec": {"namespaceSelector": {}, **spec},
        }
        result = cluster.kubectl("apply", "-f", "-", input=to_yaml(body), check=False)
        assert result.returncode != 0 and words in result.stderr, (spec, result.stderr)

    # Accepted, but odd: a selector matching no namespace; two policies disagreeing.
    nowhere = f"{kubectl.namespace}-nowhere"
    cluster.kubectl(
        "apply",
        "-f",
        "-",
        input=to_yaml(
            {
                "apiVersion": "llmoperator.io/v1alpha1",
                "kind": "LLMEndpointPolicy",
                "metadata": {"name": nowhere},
                "spec": {"namespaceSelector": {"matchLabels": {LABEL: "no-such-namespace"}}},
            }
        ),
    )
    first = policy("a", defaults={"aws": {"tags": {"owner": "team-a"}}})
    second = policy("b", defaults={"aws": {"tags": {"owner": "team-b"}}})
    conflict = (
        f"namespace {kubectl.namespace}: aws.tags.owner: LLMEndpointPolicy {first} and "
        f"{second} set different values; {first} applies (the first by name)"
    )

    def problems(name: str) -> list[str]:
        found = cluster.kubectl("get", "llmpol", name, "-o", "json").stdout
        return list((json.loads(found).get("status") or {}).get("problems") or [])

    try:
        wait_for(
            lambda: problems(nowhere) == ["namespaceSelector matches no namespace"],
            timeout=30,
            what="the selector matching nothing reported",
        )
        for name in (first, second):
            wait_for(
                lambda name=name: problems(name) == [conflict],
                timeout=30,
                what=f"the conflict reported on {name}",
            )
    finally:
        cluster.kubectl("delete", "llmpol", nowhere, "--wait=false", check=False)
    # The tenant's LLMEndpoint goes on under the first policy's value.
    kubectl.apply(to_yaml(small("chat")))
    obj = wait_ready(kubectl, "chat", log=operator.log_tail)
    assert applied_value(obj, "aws.tags.owner") == "team-a"
    assert operator.running and "Traceback" not in operator.logs()


def test_edited_tags_retag_every_existing_resource_within_a_resync(
    operator: Operator, policy: Policy, kubectl: Kubectl, emulator_process: Emulator
) -> None:
    """An enforced tag and a spec tag edited: every resource that exists carries the new
    values within a resync, a key taken from the spec is removed, a key added by hand
    and the ownership tags stay, nothing is created again, and once done an idle resync
    reads or writes no tag."""
    sm = SageMaker(emulator_process).client
    admin = AdminClient(emulator_process.url)
    policy(defaults={"aws": {"tags": {"owner": "team-a"}}}, enforcedTags={"cost-center": "1234"})
    aws = {"region": "us-east-1", "executionRoleArn": ROLE}
    tenant = {"team": "search", "project": "atlas"}
    kubectl.apply(to_yaml(small("chat", aws={**aws, "tags": tenant})))
    wait_ready(kubectl, "chat", log=operator.log_tail)
    before = tags_by_arn(sm)
    assert len(before) == 4  # model, endpoint config, endpoint, inference component
    for arn in before:
        sm.add_tags(ResourceArn=arn, Tags=[{"Key": "hand", "Value": "kept"}])
    creates = {k: v for k, v in admin.calls().items() if k.startswith("Create")}

    # plan of the edited spec says what the operator will send: re-tagging, nothing else.
    edited = {"team": "retrieval", "env": "prod"}  # project taken away
    doc = small("chat", aws={**aws, "tags": edited})
    planned = json.loads(plan(kubectl, emulator_process, doc, "-o", "json").stdout)
    steps = planned["llmEndpoints"][0]["changes"]
    assert {s["operation"] for s in steps} == {"AddTags", "DeleteTags"}, steps
    assert len(steps) == 2 * len(before)
    added = [f for s in steps if s["operation"] == "AddTags" for f in s["fields"]]
    assert {"field": "Tags.team", "before": None, "after": "retrieval"} in added
    assert not [f for f in added if "cost-center" in f["field"]]  # the policy not edited yet

    # DeleteTags fails for a while, as a crash between the tagging calls would stop them:
    # the record of what was applied stays the old one, so nothing reads as done.
    admin.faults(internal_error_rate=1.0, operations=["DeleteTags"])
    policy(defaults={"aws": {"tags": {"owner": "team-a"}}}, enforcedTags={"cost-center": "5678"})
    kubectl.apply(to_yaml(doc))
    wait_for(
        lambda: admin.call_log(operation="DeleteTags") or None,
        timeout=30,
        what="a DeleteTags refused",
        diagnose=operator.log_tail,
    )
    memory = (get_llme(kubectl, "chat") or {})["status"]["planMemory"]
    recorded = {t["key"]: t["value"] for t in memory["tags"]}
    # The policy edit alone may have gone through first (it removes nothing); the spec
    # edit, whose DeleteTags failed, is not recorded.
    assert {k: recorded.get(k) for k in ("team", "project", "env")} == {
        **tenant,
        "env": None,
    }
    admin.clear_faults()
    want = {"cost-center": "5678", "owner": "team-a", "team": "retrieval", "env": "prod"}

    def retagged() -> dict[str, dict[str, str]] | None:
        found = tags_by_arn(sm)
        done = all(
            {k: t.get(k) for k in [*want, "project"]} == {**want, "project": None}
            for t in found.values()
        )
        return found if done else None

    after = wait_for(
        retagged, timeout=30, what="every resource re-tagged", diagnose=operator.log_tail
    )
    assert after.keys() == before.keys()
    for arn, tags in after.items():
        assert tags["hand"] == "kept", arn
        owned = {k: v for k, v in before[arn].items() if k.startswith("llmoperator.io/")}
        assert {k: v for k, v in tags.items() if k.startswith("llmoperator.io/")} == owned
    assert {k: v for k, v in admin.calls().items() if k.startswith("Create")} == creates
    assert applied_value(get_llme(kubectl, "chat"), "aws.tags.cost-center") == "5678"

    # Settled: the next resyncs (each lists the endpoints) read and write no tag.
    seq = max((c["seq"] for c in admin.call_log()), default=0)
    lists = admin.calls().get("ListEndpoints", 0)
    wait_for(
        lambda: admin.calls().get("ListEndpoints", 0) >= lists + 2,
        timeout=30,
        what="two more resyncs",
        diagnose=operator.log_tail,
    )
    tagging = [
        c["operation"]
        for c in admin.call_log(since=seq)
        if c["operation"] in ("ListTags", "AddTags", "DeleteTags")
    ]
    assert tagging == []
