"""The cluster id: resources made before the operator tagged its cluster get the tag once,
only when they are this LLMEndpoint's, and never ahead of a change."""

from __future__ import annotations

from dataclasses import replace

from llm_operator.core.actions import (
    AddTags,
    TagEndpoint,
    TagEndpointConfig,
    TagInferenceComponent,
    TagModel,
    UpdateInferenceComponentRuntimeConfig,
)
from llm_operator.core.attribution import Attribution, attribute, stamp
from llm_operator.core.desired import (
    CLUSTER_ID_TAG,
    CLUSTER_TAG,
    MANAGED_BY,
    MANAGED_BY_TAG,
    DesiredState,
)
from llm_operator.core.observed import ObservedResource, ObservedState
from tests.unit.planner_factory import (
    BASE,
    OTHER_UID,
    delete,
    make_desired,
    reconcile,
    running,
)

CLUSTER = "3f0a3b8e-1c1d-4f7e-9a55-0c0ffee00001"


def desired_here() -> DesiredState:
    plain = make_desired()
    return replace(plain, owner=replace(plain.owner, cluster_id=CLUSTER))


def with_arns(observed: ObservedState, cluster_id: str | None = None) -> ObservedState:
    """As the observer reports them: every resource with its ARN and cluster-id tag."""

    def arn(kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:us-east-1:111122223333:{kind}/{name}"

    assert observed.endpoint is not None
    return replace(
        observed,
        endpoint=replace(observed.endpoint, owner_cluster_id=cluster_id),
        components={
            n: replace(c, arn=arn("inference-component", n), owner_cluster_id=cluster_id)
            for n, c in observed.components.items()
        },
        models={
            n: replace(r, arn=arn("model", n), owner_cluster_id=cluster_id)
            for n, r in observed.models.items()
        },
        endpoint_configs={
            n: replace(r, arn=arn("endpoint-config", n), owner_cluster_id=cluster_id)
            for n, r in observed.endpoint_configs.items()
        },
    )


def test_resources_made_before_the_cluster_id_are_tagged_once() -> None:
    want = desired_here()
    plan = reconcile(want, with_arns(running(want)))
    kinds = [type(a) for a in plan.actions]
    assert kinds == [TagEndpoint, TagInferenceComponent, TagEndpointConfig, TagModel]
    for action in plan.actions:
        assert isinstance(action, AddTags)
        assert action.tags == {MANAGED_BY_TAG: MANAGED_BY, CLUSTER_ID_TAG: CLUSTER}
        assert action.owner_uid == want.owner.uid
    assert plan.phase == "InService"
    assert plan.ready.status

    settled = reconcile(want, with_arns(running(want), CLUSTER))
    assert settled.actions == ()
    assert settled.settled


def test_only_this_llmendpoints_resources_are_tagged() -> None:
    """An older model with our prefix but another owner's uid is not ours to tag."""
    want = desired_here()
    seen = with_arns(running(want), CLUSTER)
    stranger = ObservedResource(
        name=f"{want.endpoint_name}-mdeadbeef0",
        owner_uid=OTHER_UID,
        arn="arn:aws:sagemaker:us-east-1:111122223333:model/x",
    )
    seen = replace(seen, models={**seen.models, stranger.name: stranger})
    assert stamp(want, seen) == []


def test_a_resource_tagged_by_another_cluster_id_is_retagged_only_when_its_uid_is_ours() -> None:
    """A uid names one object of one cluster: a stale id on our own resource (a cluster
    restored from a backup under a new kube-system) is corrected, never someone else's."""
    want = desired_here()
    stale = with_arns(running(want), "an-old-cluster-id")
    assert len(stamp(want, stale)) == 4
    assert want.endpoint_config.name in {a.name for a in stamp(want, stale)}


def test_tagging_waits_behind_the_change_of_the_same_pass() -> None:
    want = desired_here()
    seen = with_arns(running(want))
    base = seen.components[BASE]
    seen = replace(seen, components={**seen.components, BASE: replace(base, desired_copies=1)})
    plan = reconcile(want, seen)
    assert isinstance(plan.actions[0], UpdateInferenceComponentRuntimeConfig)
    assert {type(a) for a in plan.actions[1:]} == {
        TagEndpoint,
        TagInferenceComponent,
        TagEndpointConfig,
        TagModel,
    }


def test_no_cluster_id_no_tagging() -> None:
    want = make_desired()
    assert reconcile(want, with_arns(running(want))).actions == ()


def test_retain_tags_what_it_keeps_with_the_cluster() -> None:
    want = desired_here()
    plan = delete(want, with_arns(running(want)), policy="Retain")
    assert plan.actions
    for action in plan.actions:
        assert isinstance(action, AddTags)
        assert action.tags[CLUSTER_ID_TAG] == CLUSTER


def test_attribution_reads_the_id_first_then_the_name() -> None:
    assert attribute({CLUSTER_ID_TAG: "a"}, "a", "east") is Attribution.THIS
    assert attribute({CLUSTER_ID_TAG: "b", CLUSTER_TAG: "east"}, "a", "east") is Attribution.OTHER
    assert attribute({CLUSTER_TAG: "east"}, "a", "east") is Attribution.THIS
    assert attribute({CLUSTER_TAG: "west"}, "a", "east") is Attribution.OTHER
    assert attribute({CLUSTER_TAG: "west"}, "a", "") is Attribution.OTHER
    assert attribute({}, "a", "east") is Attribution.UNATTRIBUTED


def test_a_name_held_by_another_clusters_llmendpoint_says_so() -> None:
    """Two clusters without names share an account and region: the second one's
    conflict names the cluster, not just an LLMEndpoint that exists here too."""
    want = desired_here()
    seen = with_arns(running(want), "the-other-cluster")
    assert seen.endpoint is not None
    seen = replace(
        seen,
        endpoint=replace(seen.endpoint, owner_uid=OTHER_UID, owner_name="apps/chat"),
    )
    plan = reconcile(want, seen)
    assert plan.actions == ()
    assert plan.failure_reason is not None
    assert "belongs to LLMEndpoint apps/chat of another cluster" in plan.failure_reason
    assert "cluster-id the-other-cluster" in plan.failure_reason
